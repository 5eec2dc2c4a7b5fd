/**
 * The command wall (/wall/): every live incident and vehicle on a dark city map, the unit status board,
 * alarms and headline KPIs, kept current from /ws/ops/ (snapshot, then deltas; OpsSocket reconnects and
 * catches up with `since`).
 *
 * It runs unattended for days, so its memory is bounded by what is live, never by what happened: one store
 * per kind (closed incidents are dropped, alarms are capped), GeoJSON sources replaced in place on a
 * throttle, panels redrawn on a timer with one delegated listener each, no per-event listeners or timers.
 */
import {
  ALARM_ACKNOWLEDGED,
  ALARM_CLEARED,
  ALARM_CLOSED,
  ALARM_ESCALATED,
  ALARM_RAISED,
  SYSTEM_COMPONENT_DOWN,
  SYSTEM_COMPONENT_UP,
  UNIT_STATUS,
} from "/events.js";

import {api, showApiError} from "../lib/api.js";
import {el} from "../lib/dom.js";
import {OpsSocket, livePill} from "../lib/ops-socket.js";
import {
  AGENCIES,
  VEHICLE_STATUSES,
  agencyColor,
  createCityMap,
  formatDuration,
  formatTime,
  INCIDENT_CHANGES,
  incidentForMap,
  incidentFromEvent,
  incidentListItem,
  incidentOrder,
  throttledSource,
} from "./city-map.js";
import {UNREACHABLE, componentAlarm, componentAlarmId, watchHealth} from "./system-health.js";
import {alarmActions, alarmChips, stillListed} from "./alarm-workflow.js";
import {addResourceOverlay} from "../resources/overlay.js";

const MAX_ALARMS = 50;
const MAX_LISTED_INCIDENTS = 40;
const PANEL_REFRESH_MS = 1000;
const KPI_REFRESH_MS = 60_000;
const COMMITTED = new Set(["dispatched", "en_route", "on_scene"]);
const WANTED_TOPICS = ["incidents", "vehicles", "alarms"];
const ALARM_CHANGES = new Set([ALARM_RAISED, ALARM_CLEARED, ALARM_ACKNOWLEDGED, ALARM_CLOSED, ALARM_ESCALATED]);
const ALARM_HANDLERS = ["operator", "call_taker", "transport", "admin"]; // the roles the alarm API lets acknowledge and close
// The wall is laid out for 1920×1080; a larger screen shows the same picture enlarged (rem in wall.css, zoom on
// the map), so labels keep their share of the screen and stay readable from the operators' desks.
const WALL_SCALE = Math.max(1, Math.min(window.innerWidth / 1920, window.innerHeight / 1080));

const strings = document.getElementById("map-strings").dataset;
const labels = JSON.parse(document.getElementById("wall-labels").textContent);
const healthStrings = document.getElementById("health-strings").dataset;
const alarmStrings = document.getElementById("alarm-strings").dataset;

const incidents = new Map(); // id → Incident Feature, open incidents only
const vehicles = new Map(); // id → vehicle Feature
let alarms = []; // newest first, at most MAX_ALARMS
let panelsDirty = true;
const flashing = new Set(); // components announced down on the live feed: their chips flash until they are back
let refreshHealth = () => {};
let handlesAlarms = false; // the signed-in user may acknowledge and close (else the list is read-only)

// --- stores ---

function isClosed(feature) {
  return feature.properties.status === "closed";
}

function putIncident(feature) {
  if (isClosed(feature)) incidents.delete(feature.id);
  else incidents.set(feature.id, feature);
}

function putVehicle(feature) {
  const known = vehicles.get(feature.id);
  // A status change may come without a position (unit never reported): keep the one we have.
  if (!feature.geometry && known) feature = {...feature, geometry: known.geometry};
  if (!feature.geometry) return;
  vehicles.set(feature.id, known ? {...feature, properties: {...known.properties, ...feature.properties}} : feature);
}

function putAlarm(feature) {
  if (!stillListed(feature)) {
    alarms = alarms.filter((alarm) => alarm.id !== feature.id);
    return;
  }
  alarms = [feature, ...alarms.filter((alarm) => alarm.id !== feature.id)].slice(0, MAX_ALARMS);
}

// --- the alarm workflow: 确认 / 关闭 with a note, in one dialog for the whole list ---

function watchAlarmActions(changed) {
  const dialog = document.getElementById("alarm-dialog");
  const form = dialog.querySelector("form");
  const note = form.elements.note;
  const error = dialog.querySelector(".dialog-error");
  let target = null; // {id, action}
  document.getElementById("alarm-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const alarm = button && alarms.find((a) => String(a.id) === button.closest("li.alarm").dataset.id);
    if (!alarm) return;
    target = {id: alarm.id, action: button.dataset.action};
    dialog.querySelector("h2").textContent = `${alarmStrings[target.action]} · ${alarm.properties.call_sign ?? ""}`;
    dialog.querySelector(".dialog-alarm").textContent = alarm.properties.message ?? "";
    note.value = "";
    note.required = target.action === "close";
    note.placeholder = alarmStrings[`${target.action}_hint`];
    form.elements.confirm.textContent = alarmStrings[target.action];
    error.hidden = true;
    dialog.showModal();
    note.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (event.submitter?.value === "cancel") {
      dialog.close();
      return;
    }
    try {
      const feature = await api(`/api/dispatch/alarms/${target.id}/${target.action}/`, {json: {note: note.value}});
      putAlarm(feature);
      changed();
      dialog.close();
    } catch (failure) {
      showApiError(error, failure);
    }
  });
}

// --- panels ---

function sinceCall(properties, now) {
  const start = Date.parse(properties.times?.call_received ?? properties.times?.created ?? "");
  return Number.isNaN(start) ? null : (now - start) / 1000;
}

function incidentItem(feature, now) {
  const p = feature.properties;
  const elapsed = el("span", {class: "elapsed"}, formatDuration(sinceCall(p, now)));
  const item = incidentListItem(feature, strings.priority, el("span", {class: "type"}, p.type_label), elapsed);
  const line = el("div", {class: "incident-line"});
  line.append(
    el("span", {class: "status"}, p.status_label ?? labels.incident_status[p.status] ?? p.status),
    el("span", {class: "number"}, p.number),
    el("span", {class: "address"}, p.address || p.district || ""),
  );
  item.append(line);
  if (p.assignments?.length) {
    const units = el("ul", {class: "units"});
    for (const assignment of p.assignments) {
      const unit = el("li", {class: "unit"});
      unit.dataset.vehicle = assignment.vehicle_id;
      unit.dataset.status = assignment.status;
      unit.style.setProperty("--agency", agencyColor(assignment.agency));
      unit.append(
        el("b", {}, assignment.call_sign),
        el("span", {}, assignment.status_label ?? labels.vehicle_status[assignment.status] ?? assignment.status),
      );
      units.append(unit);
    }
    item.append(units);
  }
  return item;
}

function renderIncidents(now) {
  const list = document.getElementById("incident-list");
  const sorted = [...incidents.values()].sort(incidentOrder).slice(0, MAX_LISTED_INCIDENTS);
  if (sorted.length === 0) list.replaceChildren(el("li", {class: "empty"}, strings.noIncidents));
  else list.replaceChildren(...sorted.map((feature) => incidentItem(feature, now)));
  document.getElementById("incident-count").textContent = String(incidents.size);
}

function buildBoard() {
  const table = document.getElementById("status-board");
  const headRow = table.tHead.rows[0];
  for (const status of VEHICLE_STATUSES) {
    const th = el("th", {}, labels.vehicle_status[status] ?? status);
    th.scope = "col";
    th.dataset.status = status;
    headRow.append(th);
  }
  const cells = {};
  for (const agency of [...AGENCIES, "other"]) {
    const row = table.tBodies[0].insertRow();
    row.dataset.agency = agency;
    const th = el("th", {}, agency === "other" ? strings.other : labels.agency[agency]);
    th.scope = "row";
    th.style.setProperty("--agency", agencyColor(agency));
    row.append(th);
    cells[agency] = {};
    for (const status of VEHICLE_STATUSES) {
      const td = row.insertCell();
      td.dataset.status = status;
      td.textContent = "0";
      cells[agency][status] = td;
    }
  }
  return cells;
}

function renderBoard(cells) {
  const counts = {};
  for (const agency of Object.keys(cells)) counts[agency] = Object.fromEntries(VEHICLE_STATUSES.map((s) => [s, 0]));
  for (const {properties} of vehicles.values()) {
    const row = counts[properties.agency] ?? counts.other;
    if (properties.status in row) row[properties.status] += 1;
  }
  for (const [agency, row] of Object.entries(counts)) {
    for (const [status, n] of Object.entries(row)) {
      const cell = cells[agency][status];
      const text = String(n);
      if (cell.textContent !== text) cell.textContent = text;
      cell.classList.toggle("zero", n === 0);
    }
  }
}

function renderAlarms() {
  const list = document.getElementById("alarm-list");
  if (alarms.length === 0) list.replaceChildren(el("li", {class: "empty"}, strings.noAlarms));
  else {
    list.replaceChildren(
      ...alarms.map((alarm) => {
        const p = alarm.properties ?? {};
        const item = el("li", {class: `alarm kind-${p.kind ?? "other"}`});
        item.dataset.id = alarm.id;
        item.dataset.state = p.state ?? "";
        item.append(
          el("time", {}, formatTime(p.at)),
          el("b", {}, p.kind_label ?? p.kind ?? ""),
          el("span", {}, [p.call_sign, p.message ?? p.detail].filter(Boolean).join(" · ")),
        );
        const chips = alarmChips(p);
        const actions = handlesAlarms ? alarmActions(p) : [];
        if (chips.length || actions.length) {
          const line = el("div", {class: "alarm-workflow"});
          line.append(
            ...chips.map((chip) => el("em", {class: `alarm-state state-${chip}`}, alarmStrings[`state_${chip}`])),
            ...actions.map((action) => el("button", {type: "button", "data-action": action}, alarmStrings[action])),
          );
          item.append(line);
        }
        return item;
      }),
    );
  }
  document.getElementById("alarm-count").textContent = String(alarms.length);
}

function setText(id, value) {
  const node = document.getElementById(id);
  const text = String(value);
  if (node.textContent !== text) node.textContent = text;
}

function renderCounts() {
  let urgent = 0;
  let waiting = 0;
  for (const {properties} of incidents.values()) {
    if (properties.priority <= 2) urgent += 1;
    if (properties.status === "received") waiting += 1;
  }
  let busy = 0;
  for (const {properties} of vehicles.values()) if (COMMITTED.has(properties.status)) busy += 1;
  setText("kpi-open", incidents.size);
  setText("kpi-urgent", urgent);
  setText("kpi-waiting", waiting);
  setText("kpi-busy", busy);
  setText("kpi-alarms", alarms.length);
}

// --- system health ---

function healthChip(chip) {
  const item = el(
    "li",
    {class: "health-chip", dataset: {component: chip.name, status: chip.status}, title: chip.detail || null},
    el("span", {class: "symbol", "aria-hidden": "true"}, chip.symbol),
    el("span", {class: "label"}, chip.label),
    el("b", {class: "state"}, chip.state),
  );
  item.classList.toggle("flash", flashing.has(chip.name));
  return item;
}

function renderHealth(view) {
  const panel = document.getElementById("health-panel");
  panel.hidden = false;
  panel.dataset.status = view.status;
  panel.title = view.tooltip;
  setText("health-summary", view.summary);
  const chips = document.getElementById("health-chips");
  if (view.status === UNREACHABLE) chips.replaceChildren(el("li", {class: "empty"}, healthStrings.unreachable));
  else chips.replaceChildren(...view.chips.map(healthChip));
  document.getElementById("health-figures").replaceChildren(
    ...view.figures.map(({name, label, value}) => el("div", {dataset: {figure: name}}, el("dt", {}, label), el("dd", {}, value))),
  );
}

/** A component that is down is one of the wall's alarms until it is back (an unreadable API changes nothing). */
function raiseHealthAlarms(view) {
  for (const chip of view.chips) {
    const id = componentAlarmId(chip.name);
    const known = alarms.find((alarm) => alarm.id === id);
    if (chip.status !== "down") {
      if (known) putAlarm({id, properties: {open: false}});
    } else if (known) {
      known.properties.message = componentAlarm(chip, known.properties.at, healthStrings).properties.message;
    } else {
      putAlarm(componentAlarm(chip, new Date().toISOString(), healthStrings));
    }
  }
}

function showHealth(view) {
  for (const name of flashing) if (!view.down.some((chip) => chip.name === name)) flashing.delete(name);
  renderHealth(view);
  raiseHealthAlarms(view);
  panelsDirty = true;
}

/** system.component_down / _up on the live feed: the alarm at once (dated by the event), then a fresh reading. */
function onComponentEvent(type, {properties}) {
  const name = properties.component;
  if (type === SYSTEM_COMPONENT_DOWN) {
    flashing.add(name);
    const chip = {name, label: healthStrings[`component_${name}`] ?? properties.component_label, detail: ""};
    if (!alarms.some((alarm) => alarm.id === componentAlarmId(name))) putAlarm(componentAlarm(chip, properties.at, healthStrings));
  } else {
    flashing.delete(name);
    putAlarm({id: componentAlarmId(name), properties: {open: false}});
  }
  refreshHealth();
}

/**
 * Total response time at the 90th percentile per agency, from the KPI API (rows per agency and district):
 * the headline is the agency's worst district, marked against the agency's objective.
 */
async function refreshKpis() {
  let kpis;
  try {
    kpis = await api("/api/dispatch/kpis/");
  } catch {
    return; // not fatal on a wall: the live part keeps running and the next refresh tries again
  }
  for (const tile of document.querySelectorAll(".kpi-p90")) {
    const rows = kpis.rows.filter((row) => row.agency === tile.dataset.agency && row.total_response?.p90_s != null);
    const worst = rows.reduce((a, b) => (b.total_response.p90_s > (a?.total_response.p90_s ?? -1) ? b : a), null);
    tile.querySelector("b").textContent = worst ? formatDuration(worst.total_response.p90_s) : "—";
    tile.dataset.met = worst ? String(worst.total_response.met) : "";
  }
}

function startClock() {
  const clock = document.getElementById("wall-clock");
  const tick = () => {
    const now = new Date();
    clock.dateTime = now.toISOString();
    clock.textContent = now.toLocaleString("zh-CN", {hour12: false});
  };
  tick();
  setInterval(tick, 1000);
}

/**
 * A soft pulse on priority 1–2 incidents: one paint property, a few frames a second, and none while no such
 * incident is open (each change repaints the whole map; a wall with nothing urgent stays still and idle).
 */
function startPulse(map) {
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
  let phase = 0;
  setInterval(() => {
    if (document.hidden || ![...incidents.values()].some((feature) => feature.properties.priority <= 2)) return;
    phase = (phase + 1) % 12;
    map.setPaintProperty("incident-pulse", "circle-opacity", 0.08 + 0.3 * Math.abs(Math.sin((phase * Math.PI) / 12)));
  }, 160);
}

/** The part of the screen the floating panels leave to the city, in the map's (unscaled) pixels. */
function panelPadding(scale) {
  const left = document.querySelector(".wall-incidents").getBoundingClientRect();
  const right = document.querySelector(".wall-side").getBoundingClientRect();
  const head = document.querySelector(".wall-head").getBoundingClientRect();
  const px = (value) => value / scale;
  return {top: px(head.bottom) + 10, bottom: 60, left: px(left.right) + 20, right: px(window.innerWidth - right.left) + 20};
}

function paintLegend() {
  for (const item of document.querySelectorAll(".wall-legend [data-agency]")) {
    item.querySelector("i").style.background = agencyColor(item.dataset.agency);
  }
}

/** Emergency resources and hazard circles (resources/overlay.js), switched on and off from their own panel. */
function showResources(map) {
  addResourceOverlay(map, {below: ["incidents", "vehicles"]}).catch(() => {}); // optional on a wall: the live picture runs without it
}

async function main() {
  paintLegend();
  startClock();
  if (document.getElementById("health-panel")) refreshHealth = watchHealth(healthStrings, showHealth); // not for all roles
  const boardCells = buildBoard();
  const container = document.getElementById("map");
  let map;
  try {
    ({map} = await createCityMap(container, {
      basemap: container.dataset.basemap,
      padding: panelPadding(WALL_SCALE),
      scale: WALL_SCALE,
    }));
  } catch (error) {
    const message = document.getElementById("map-message");
    message.textContent = strings.loadFailed;
    message.hidden = false;
    throw error;
  }
  window.cityopsWall = {incidents, vehicles, alarms: () => alarms};
  startPulse(map);
  showResources(map);

  const incidentLayer = throttledSource(map, "incidents", incidents, 250, incidentForMap);
  const vehicleLayer = throttledSource(map, "vehicles", vehicles, 1000);
  const changed = () => {
    panelsDirty = true;
  };

  // Click an incident in the list: the map flies to it (one listener for the whole list).
  document.getElementById("incident-list").addEventListener("click", (event) => {
    const item = event.target.closest("li.incident");
    const feature = item && incidents.get(Number(item.dataset.id));
    if (feature) map.flyTo({center: feature.geometry.coordinates, zoom: Math.max(map.getZoom(), 14)});
  });

  setInterval(() => {
    if (!panelsDirty) {
      // Elapsed times still move: redraw the list each second while there is something to list.
      if (incidents.size) renderIncidents(Date.now());
      return;
    }
    panelsDirty = false;
    renderIncidents(Date.now());
    renderBoard(boardCells);
    renderAlarms();
    renderCounts();
  }, PANEL_REFRESH_MS);
  refreshKpis();
  setInterval(refreshKpis, KPI_REFRESH_MS);

  const me = await api("/api/core/me/");
  handlesAlarms = me.roles.some((role) => ALARM_HANDLERS.includes(role));
  watchAlarmActions(changed);
  const topics = WANTED_TOPICS.filter((topic) => me.topics.includes(topic));
  const socket = new OpsSocket({
    topics,
    onStatus: livePill(document.getElementById("live-pill")),
    onSnapshot(topic, features) {
      if (topic === "incidents") {
        incidents.clear();
        features.forEach(putIncident);
        incidentLayer.schedule();
      } else if (topic === "vehicles") {
        vehicles.clear();
        features.forEach(putVehicle);
        vehicleLayer.schedule();
      } else if (topic === "alarms") {
        // The AVL alarms the server holds open, and the system alarms this wall raised from the health reading.
        alarms = alarms.filter((alarm) => alarm.properties.kind === "system");
        features.slice(0, MAX_ALARMS).reverse().forEach(putAlarm);
      }
      changed();
    },
    onPositions(topic, features) {
      features.forEach(putVehicle);
      vehicleLayer.schedule();
      changed();
    },
    onEvent({type, data}) {
      if (INCIDENT_CHANGES.has(type)) {
        putIncident(incidentFromEvent(type, data));
        incidentLayer.schedule();
      } else if (type === UNIT_STATUS) {
        putVehicle(data);
        vehicleLayer.schedule();
      } else if (ALARM_CHANGES.has(type)) {
        putAlarm(data);
      } else if (type === SYSTEM_COMPONENT_DOWN || type === SYSTEM_COMPONENT_UP) {
        onComponentEvent(type, data);
      }
      changed();
    },
  });
  window.cityopsWall.socket = socket;
  socket.start();
  document.body.dataset.mapReady = "1";
}

main();
