/**
 * The unit's MDT: sign on to a vehicle of the agency, then its assignment — the incident, the road route on the
 * map, the status buttons (出发 / 到场 / 转运 / 完成) and the dispatcher's messages with 已读. A press is queued
 * in the outbox first, so it counts at once on the screen and reaches dispatch (set_assignment_status, or the
 * message's read mark) when the network allows, in the order pressed.
 */
import {ApiError, api} from "../lib/api.js";
import {byId, el} from "../lib/dom.js";
import {collection, emptyCollection, extentOf} from "../lib/geo.js";
import {shownPhase, statusButtons} from "./mdt-steps.js";

const REFRESH_MS = 10_000;
const STATUS_URL = "/api/crews/mdt/status/";

function addLayers(map) {
  for (const id of ["route", "incident", "unit"]) map.addSource(id, {type: "geojson", data: emptyCollection()});
  map.addLayer({id: "route-casing", type: "line", source: "route", layout: {"line-cap": "round", "line-join": "round"}, paint: {"line-color": "#ffffff", "line-width": 9}});
  map.addLayer({id: "route", type: "line", source: "route", layout: {"line-cap": "round", "line-join": "round"}, paint: {"line-color": "#2f7cf6", "line-width": 5}});
  map.addLayer({id: "incident", type: "circle", source: "incident", paint: {"circle-radius": 11, "circle-color": "#e0413a", "circle-stroke-color": "#fff", "circle-stroke-width": 3}});
  map.addLayer({id: "unit", type: "circle", source: "unit", paint: {"circle-radius": 9, "circle-color": "#12264a", "circle-stroke-color": "#fff", "circle-stroke-width": 3}});
}

export function startMdt(app) {
  const {S, format, map} = app;
  const pane = byId("pane-unit");
  let view; // the last /api/crews/mdt/ answer (its sign_on null: not signed on); undefined: not known yet
  let framedJob = null;
  let messages = []; // the dispatcher's texts to the vehicle, newest first (dispatch's MDT messages API)
  addLayers(map);
  const messagesUrl = () => `/api/dispatch/vehicles/${view.vehicle.id}/messages/`;

  async function load() {
    try {
      view = await api("/api/crews/mdt/");
      messages = view.sign_on ? await api(messagesUrl()) : [];
    } catch (error) {
      if (error instanceof ApiError) app.say(error.message);
      // offline (no cached answer either): keep what is shown
    }
    render();
  }

  /** 已读 goes through the outbox too: read in a dead zone, reported when the network is back (idempotent). */
  async function markRead(message) {
    await app.outbox.add({kind: "mdt-read", url: `${messagesUrl()}${message.id}/read/`, fields: {}, label: `${S.markRead} · ${message.text.slice(0, 20)}`});
  }

  function messagesSection() {
    const waiting = new Set(app.records.filter((r) => r.kind === "mdt-read" && r.status !== "sent").map((r) => r.url));
    const item = (message) => {
      const read = message.read_at !== null || waiting.has(`${messagesUrl()}${message.id}/read/`);
      return el(
        "li",
        {class: "mdt-message", dataset: {message: message.id, read: read ? "1" : "0"}},
        el("p", {}, message.text),
        el("small", {}, `${message.sent_by} · ${message.created_at.slice(11, 16)}`),
        read
          ? el("small", {class: "read-mark"}, message.read_at ? format(S.readAt, {time: message.read_at.slice(11, 16)}) : S.pending)
          : el("button", {type: "button", class: "mark-read", onclick: () => markRead(message)}, S.markRead),
      );
    };
    return el(
      "section",
      {class: "mdt-messages", id: "mdt-messages"},
      el("h3", {}, S.messages),
      messages.length ? el("ul", {class: "crew-list"}, messages.map(item)) : el("p", {class: "hint"}, S.noMessages),
    );
  }

  function messageOf(error) {
    return error instanceof ApiError ? format(S.refused, {reason: error.message}) : S.needsNetwork;
  }

  async function renderVehicles() {
    let vehicles = [];
    try {
      vehicles = await api("/api/crews/vehicles/");
    } catch (error) {
      app.say(messageOf(error));
    }
    const list = el("ul", {class: "crew-list"});
    for (const vehicle of vehicles) {
      list.append(
        el(
          "li",
          {},
          el(
            "button",
            {type: "button", class: "case-item", dataset: {vehicle: vehicle.id}, onclick: () => signOn(vehicle)},
            el("b", {}, vehicle.call_sign),
            el("span", {class: "case-category"}, `${vehicle.kind_label} · ${vehicle.plate} · ${vehicle.status_label}`),
          ),
        ),
      );
    }
    pane.replaceChildren(el("h2", {class: "crew-heading"}, S.chooseVehicle), vehicles.length ? list : el("p", {class: "hint"}, S.noVehicles));
  }

  async function signOn(vehicle) {
    try {
      await api("/api/crews/mdt/", {json: {vehicle: vehicle.id}});
    } catch (error) {
      app.say(messageOf(error));
      return;
    }
    await load();
  }

  async function signOff() {
    if (!window.confirm(format(S.confirmSignOff, {unit: view.vehicle.properties.call_sign}))) return;
    try {
      await api("/api/crews/mdt/", {method: "DELETE"});
    } catch (error) {
      app.say(messageOf(error));
      return;
    }
    view = {sign_on: null, vehicle: null, job: null};
    render();
  }

  async function press(job, status) {
    const props = job.incident.properties;
    await app.outbox.add({
      kind: "mdt-status",
      url: STATUS_URL,
      fields: {assignment: String(job.assignment.id), status},
      label: `${S[status]} · ${props.number}`,
    });
  }

  // 转运 is the crew app's own timeline line (crews/services.py): dispatch's labels do not name it.

  function statusBar(job) {
    const phase = shownPhase(job.assignment.phase, app.records, job.assignment.id);
    const waiting = phase !== job.assignment.phase;
    const buttons = statusButtons(phase, view.vehicle.properties.transports).map(({status, state}) =>
      el(
        "button",
        {type: "button", class: `status-button ${state}`, dataset: {status, state}, disabled: state !== "next", onclick: () => press(job, status)},
        S[status],
      ),
    );
    return el(
      "div",
      {class: "mdt-status"},
      el("p", {class: "mdt-phase", dataset: {phase, waiting: waiting ? "1" : "0"}}, `${S.status}: ${S[phase] ?? phase}`, waiting ? el("small", {}, ` (${S.pending})`) : null),
      el("div", {class: "status-buttons"}, buttons),
    );
  }

  function jobCard(job) {
    const p = job.incident.properties;
    const fact = (label, value) => (value ? [el("dt", {}, label), el("dd", {}, value)] : []);
    return el(
      "article",
      {class: "mdt-job", dataset: {incident: p.id, assignment: job.assignment.id}},
      el("h2", {class: "crew-heading"}, el("span", {class: `priority p${p.priority}`}, format(S.priority, {p: p.priority})), ` ${p.type_label}`),
      el("p", {class: "mdt-number"}, p.number, job.eta_s ? el("b", {class: "mdt-eta"}, ` · ${format(S.eta, {min: Math.max(1, Math.round(job.eta_s / 60))})}`) : null),
      el("dl", {class: "mdt-facts"}, fact(S.address, p.address), fact(S.description, p.description), fact(S.caller, p.caller_number)),
      statusBar(job),
      el("h3", {}, S.timeline),
      el(
        "ul",
        {class: "mdt-timeline"},
        [...job.timeline].reverse().map((line) => el("li", {}, el("time", {}, line.at.slice(11, 16)), ` ${line.text}`)),
      ),
    );
  }

  function render() {
    if (view === undefined) return;
    if (view.sign_on === null) {
      draw(null);
      renderVehicles();
      return;
    }
    const unit = view.vehicle.properties;
    pane.replaceChildren(
      el(
        "div",
        {class: "mdt-unit"},
        el("b", {}, unit.call_sign),
        el("span", {}, `${unit.kind_label} · ${unit.plate}`),
        el("button", {type: "button", class: "link", id: "sign-off", onclick: signOff}, S.signOff),
      ),
      view.job ? jobCard(view.job) : el("p", {class: "hint mdt-idle"}, S.noJob),
      messagesSection(),
    );
    draw(view);
  }

  function draw(current) {
    const job = current?.job;
    map.getSource("unit").setData(current?.vehicle?.geometry ? collection([current.vehicle]) : emptyCollection());
    map.getSource("incident").setData(job ? collection([job.incident]) : emptyCollection());
    const route = job?.route ? {type: "Feature", geometry: job.route, properties: {}} : null;
    map.getSource("route").setData(route ? collection([route]) : emptyCollection());
    const key = job ? job.assignment.id : null;
    if (key !== framedJob && job) {
      const shown = [job.incident, ...(route ? [route] : []), ...(current.vehicle.geometry ? [current.vehicle] : [])];
      map.fitBounds(extentOf(shown), {padding: 60, maxZoom: 16, duration: 0});
    }
    framedJob = key;
  }

  app.outbox.addEventListener("sent", (event) => {
    if (event.detail.record.kind.startsWith("mdt-")) load();
  });
  const previous = app.onRecords;
  app.onRecords = () => {
    previous?.();
    render();
  };
  setInterval(() => navigator.onLine && load(), REFRESH_MS);
  window.addEventListener("online", load);
  load();
}
