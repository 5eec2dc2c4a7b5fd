/**
 * The tablet's outbox: every report and verification is first written to IndexedDB, then sent.
 *
 * Why: an inspector walks through basements and dead zones. A report must survive no network, a closed
 * app and a flat battery, and must never be filed twice. So:
 *   - the idempotency key (a random UUID) is made once, when the inspector presses "report", and is
 *     stored with the record; every attempt sends the same key and the same body, and the server answers
 *     a repeat with the case it already made (a lost answer is simply asked again);
 *   - records are sent one at a time, oldest first, under a Web Lock so that two open tabs never send
 *     the same record at once;
 *   - a network failure, a timeout or a 5xx/429 keeps the record queued and retries with capped, jittered
 *     exponential backoff, and at once when the browser comes back online;
 *   - any other 4xx is the server refusing this record: it is marked failed with the server's reason and
 *     kept (nothing accepted is lost) until the inspector sends it again or discards it.
 *
 *   - a record belongs to the account that wrote it: on a tablet shared by a shift, records of another
 *     inspector are neither shown nor sent under this one's session; they wait for their author.
 *
 * Record: {key, user, kind, url, fields: {name: string}, photo: Blob|null, label, createdAt, status
 * ("queued" | "sending" | "failed" | "sent"), attempts, error, result: {id, number}, sentAt}.
 */

import {csrfToken, describeError, parseBody} from "../lib/api.js";

const DB_NAME = "cityops-m";
const STORE = "outbox";
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 60000;
const KEEP_SENT = 20; // sent records stay listed (with their case number) as the inspector's receipt
const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** A UUID v4; crypto.randomUUID exists only in secure contexts (HTTPS or localhost), plain-HTTP intranets too. */
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function openDatabase() {
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE, {keyPath: "key"});
  return request(req);
}

export class Outbox extends EventTarget {
  constructor(user) {
    super();
    this.user = user;
    this.db = null;
    this.sending = null; // key of the record on the wire
    this.retryAt = null; // when the next automatic attempt is due (ms), null when none is planned
    this._timer = null;
    this._attempt = 0;
    this._flushing = false;
    this._again = false;
  }

  async open() {
    this.db = await openDatabase();
    // A record left "sending" by a closed page may or may not have arrived: sending it again is safe.
    for (const record of await this.records()) {
      if (record.status === "sending") await this._put({...record, status: "queued"});
    }
    window.addEventListener("online", () => {
      this._attempt = 0;
      this.flush();
    });
    this._changed();
    this.flush();
    return this;
  }

  _store(mode) {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  /** This account's records, oldest first. */
  async records() {
    const all = await request(this._store("readonly").getAll());
    return all.filter((r) => r.user === this.user).sort((a, b) => a.createdAt - b.createdAt);
  }

  async _put(record) {
    await request(this._store("readwrite").put(record));
    return record;
  }

  _changed() {
    this.dispatchEvent(new Event("change"));
  }

  /** Stores a new record (its idempotency key is made here, once) and starts sending. */
  async add({kind, url, fields, photo = null, label}) {
    const record = {
      key: newKey(),
      user: this.user,
      kind,
      url,
      fields,
      photo,
      label,
      createdAt: Date.now(),
      status: "queued",
      attempts: 0,
      error: null,
      result: null,
      sentAt: null,
    };
    await this._put(record);
    this._changed();
    this.flush();
    return record;
  }

  async retry(key) {
    const record = await request(this._store("readonly").get(key));
    if (record?.user !== this.user || record.status !== "failed") return;
    await this._put({...record, status: "queued", error: null});
    this._attempt = 0;
    this._changed();
    this.flush();
  }

  async discard(key) {
    const record = await request(this._store("readonly").get(key));
    if (record?.user !== this.user || record.status === "sending") return;
    await request(this._store("readwrite").delete(key));
    this._changed();
  }

  /** Sends every queued record, oldest first; stops at the first that must wait for the network. */
  async flush() {
    if (!this.db) return;
    if (this._flushing) {
      this._again = true;
      return;
    }
    this._flushing = true;
    clearTimeout(this._timer);
    this._timer = null;
    this.retryAt = null;
    const run = async () => {
      do {
        this._again = false;
        for (const record of await this.records()) {
          if (record.status !== "queued") continue;
          if (!(await this._send(record))) return;
        }
      } while (this._again);
    };
    try {
      if (navigator.locks) await navigator.locks.request("cityops-m-outbox", run);
      else await run();
    } finally {
      this._flushing = false;
      this._changed();
    }
  }

  /** One attempt; false when the rest must wait (no network, server busy). */
  async _send(record) {
    this.sending = record.key;
    await this._put({...record, status: "sending"});
    this._changed();
    try {
      const body = new FormData();
      for (const [name, value] of Object.entries(record.fields)) body.append(name, value);
      if (record.photo) body.append("photo", record.photo, "photo.jpg");
      const response = await fetch(record.url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: {"Idempotency-Key": record.key, "X-CSRFToken": csrfToken(), Accept: "application/json"},
      });
      const data = await parseBody(response).catch(() => null);
      if (response.ok) {
        const properties = data?.properties ?? {};
        this._attempt = 0;
        // The photo is on the server now; the receipt keeps the case number, not the megabytes.
        await this._put({...record, status: "sent", photo: null, error: null, sentAt: Date.now(), result: {id: properties.id ?? data?.id ?? null, number: properties.number ?? null}});
        this.dispatchEvent(new CustomEvent("sent", {detail: {record, feature: data}}));
        await this._prune();
        return true;
      }
      const reason = describeError(response.status, data);
      if (RETRYABLE.has(response.status)) {
        await this._put({...record, status: "queued", attempts: record.attempts + 1, error: reason});
        this._scheduleRetry();
        return false;
      }
      await this._put({...record, status: "failed", attempts: record.attempts + 1, error: reason});
      return true;
    } catch (error) {
      // fetch rejects only when nothing came back: offline, connection reset, server down.
      await this._put({...record, status: "queued", attempts: record.attempts + 1, error: null});
      this._scheduleRetry();
      return false;
    } finally {
      this.sending = null;
      this._changed();
    }
  }

  _scheduleRetry() {
    const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this._attempt);
    this._attempt += 1;
    const delay = backoff * (0.5 + Math.random() / 2);
    this.retryAt = Date.now() + delay;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.flush(), delay);
  }

  async _prune() {
    const sent = (await this.records()).filter((r) => r.status === "sent").sort((a, b) => b.sentAt - a.sentAt);
    for (const record of sent.slice(KEEP_SENT)) await request(this._store("readwrite").delete(record.key));
  }
}

/** What the sync bar shows: "failed" beats "sending" beats "queued" beats "idle" (all sent). */
export function syncState(records, outbox) {
  const count = (status) => records.filter((r) => r.status === status).length;
  const failed = records.filter((r) => r.status === "failed");
  const waiting = count("queued") + count("sending");
  if (failed.length) return {state: "failed", n: failed.length, reason: failed[0].error ?? ""};
  if (outbox.sending) return {state: "sending", n: waiting};
  if (waiting) return {state: "queued", n: waiting, retryAt: outbox.retryAt};
  return {state: "idle", n: 0};
}
