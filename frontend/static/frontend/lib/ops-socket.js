/**
 * Client side of the live feed `/ws/ops/` (ARCHITECTURE.md, "Realtime protocol"), shared by every console.
 *
 * It remembers the seq of the last event it has delivered so that, after a dropped connection, it
 * subscribes again with `since` and the server replays what was missed from the event log instead of
 * sending whole snapshots. Consoles run unattended for days, so it reconnects forever with capped,
 * jittered exponential backoff.
 *
 *   const socket = new OpsSocket({topics: ["incidents"], onSnapshot, onEvent, onStatus});
 *   socket.start();
 *
 * Callbacks:
 *   onSnapshot(topic, features)  replace everything held for `topic` with these GeoJSON features
 *                                (also after a server `reset`, which drops the client's state)
 *   onEvent(evt)                 one delta {seq, topic, type, data}, in seq order, never twice
 *   onPositions(topic, features) latest positions of moving things ("vehicles"): upsert by feature id;
 *                                not in the event log, so after a reconnect a fresh snapshot replaces them
 *   onStatus(state, detail)      "connecting" | "live" | "reconnecting" | "error" | "stopped";
 *                                `detail` is the server's message for "error" (e.g. a refused topic)
 */

const noop = () => {};

export function opsSocketUrl(path = "/ws/ops/") {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

export class OpsSocket {
  constructor({
    topics,
    bbox = null,
    url = opsSocketUrl(),
    onSnapshot = noop,
    onEvent = noop,
    onPositions = noop,
    onStatus = noop,
    minDelayMs = 1000,
    maxDelayMs = 30000,
  }) {
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new TypeError("OpsSocket needs a non-empty list of topics");
    }
    Object.assign(this, {topics, bbox, url, onSnapshot, onEvent, onPositions, onStatus, minDelayMs, maxDelayMs});
    this.lastSeq = null; // null until a subscription completed: the next subscribe asks for snapshots
    this.state = "stopped";
    this._ws = null;
    this._attempt = 0;
    this._timer = null;
    this._pages = {}; // topic → features of a paged snapshot still arriving
    // Back on the network: don't sit out the rest of the backoff.
    this._reconnectNow = () => {
      if (this._timer !== null) this._connect();
    };
  }

  start() {
    if (this._ws || this._timer !== null) return;
    window.addEventListener("online", this._reconnectNow);
    this._connect();
  }

  stop() {
    window.removeEventListener("online", this._reconnectNow);
    clearTimeout(this._timer);
    this._timer = null;
    this._attempt = 0;
    const ws = this._ws;
    this._ws = null;
    ws?.close(1000);
    this._setStatus("stopped");
  }

  _connect() {
    clearTimeout(this._timer);
    this._timer = null;
    this._setStatus(this._attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url);
    this._ws = ws;
    this._pages = {};
    ws.onopen = () => ws.send(JSON.stringify(this._subscribeMessage()));
    // Late callbacks from a socket that stop() or a reconnect already replaced are ignored.
    ws.onmessage = (message) => {
      if (this._ws === ws) this._handle(JSON.parse(message.data));
    };
    ws.onclose = () => {
      if (this._ws === ws) this._scheduleReconnect();
    };
  }

  _subscribeMessage() {
    const message = {op: "subscribe", topics: this.topics};
    if (this.bbox) message.bbox = this.bbox;
    if (this.lastSeq !== null) message.since = this.lastSeq;
    return message;
  }

  _handle(message) {
    switch (message.op) {
      case "snapshot":
        // A large snapshot comes in pages: the topic is replaced once, when its last page is in.
        if (message.page === 0 || message.pages === undefined) this._pages[message.topic] = [];
        this._pages[message.topic].push(...message.features);
        if (message.pages === undefined || message.page === message.pages - 1) {
          this.onSnapshot(message.topic, this._pages[message.topic]);
          delete this._pages[message.topic];
        }
        break;
      case "subscribed":
        // Adopted only now: a connection lost halfway through the snapshots must not skip the rest.
        this.lastSeq = message.seq;
        this._attempt = 0;
        this._setStatus("live");
        break;
      case "positions":
        this.onPositions(message.topic, message.features);
        break;
      case "reset":
        this.lastSeq = null;
        break;
      case "error":
        this._setStatus("error", message.error);
        break;
      case undefined:
        if (this.lastSeq === null || message.seq > this.lastSeq) {
          this.lastSeq = message.seq;
          this.onEvent(message);
        }
        break;
      default:
        console.warn("OpsSocket: unknown op", message.op);
    }
  }

  _scheduleReconnect() {
    this._ws = null;
    const backoff = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this._attempt);
    this._attempt += 1;
    this._setStatus("reconnecting");
    // Jitter spreads the reconnects of a whole command centre after a server restart.
    this._timer = setTimeout(() => this._connect(), backoff * (0.5 + Math.random() / 2));
  }

  _setStatus(state, detail) {
    if (state === this.state && detail === undefined) return;
    this.state = state;
    this.onStatus(state, detail);
  }
}

/** Wires an OpsSocket's status into a live pill carrying `data-label-<state>` attributes. */
export function livePill(pill) {
  const label = pill.querySelector(".live-label");
  return (state, detail) => {
    pill.dataset.state = state;
    label.textContent = pill.dataset[`label${state[0].toUpperCase()}${state.slice(1)}`] ?? state;
    pill.title = detail ?? "";
  };
}
