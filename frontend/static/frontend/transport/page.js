/**
 * The transport bureau's console (/transport/): key vehicles on the map and in a table (REST list, then the live
 * feed `/ws/ops/` moves them: the server sends only the vehicles the user may see), their open alarms with
 * acknowledge/close (dispatch's alarm API and workflow rules, with a note), and the JT/T 809 links of the platforms
 * below the city.
 */
import {api, showApiError} from "../lib/api.js";
import {byId, el} from "../lib/dom.js";
import {collection} from "../lib/geo.js";
import {FONTS} from "../lib/map.js";
import {livePill, OpsSocket} from "../lib/ops-socket.js";
import {alarmActions, stillListed} from "../dispatch/alarm-workflow.js";
import {createCityMap, formatTime} from "../dispatch/city-map.js";
import {applyPositions, cargoText, vehicleOrder} from "./vehicles.js";

const strings = byId("transport-strings").dataset;
const CATEGORY_COLORS = {coach: "#38bdf8", tour_bus: "#a78bfa", dangerous_goods: "#f97316", cash_van: "#facc15"};
let vehicles = new Map();
let alarms = new Map();
let map = null;

const time = (iso) => (iso ? formatTime(iso) : strings.never);

function drawVehicles() {
  const rows = [...vehicles.values()].sort(vehicleOrder);
  byId("vehicle-count").textContent = String(rows.length);
  byId("vehicle-rows").replaceChildren(
    ...rows.map((f) => {
      const p = f.properties;
      return el(
        "tr",
        {dataset: {id: String(f.id), category: p.category}},
        el("td", {class: "plate"}, p.plate),
        el("td", {}, p.category_label),
        el("td", {}, p.carrier),
        el("td", {}, cargoText(p)),
        el("td", {}, p.speed_kmh == null ? "—" : `${Math.round(p.speed_kmh)} km/h`),
        el("td", {}, time(p.fix_time)),
      );
    }),
  );
  map?.getSource("key-vehicles")?.setData(collection(rows.filter((f) => f.geometry)));
}

async function alarmAction(alarm, action, form) {
  const note = form.elements.note.value.trim();
  try {
    await api(`/api/dispatch/alarms/${alarm.id}/${action}/`, {method: "POST", json: {note}});
    await loadAlarms();
  } catch (error) {
    showApiError(byId("alarm-error"), error);
  }
}

function alarmItem(feature) {
  const p = feature.properties;
  const form = el("form", {class: "alarm-actions"}, el("input", {name: "note", placeholder: strings.note, "aria-label": strings.note}));
  for (const action of alarmActions(p)) {
    const button = el("button", {type: "button", class: action}, strings[action]);
    button.addEventListener("click", () => alarmAction(p, action, form));
    form.append(button);
  }
  return el(
    "li",
    {dataset: {id: String(p.id), kind: p.kind, state: p.state ?? ""}},
    el("div", {class: "alarm-head"}, el("b", {}, p.kind_label), el("time", {}, time(p.at))),
    el("div", {class: "alarm-message"}, p.message),
    p.acknowledged_at ? el("div", {class: "alarm-acknowledged"}, `${strings.acknowledged} ${p.acknowledged_by ?? ""} ${p.acknowledge_note ?? ""}`) : "",
    el("a", {class: "replay", href: `/trips/?vehicle=${p.vehicle_id}`}, strings.replay),
    form,
  );
}

function drawAlarms() {
  const open = [...alarms.values()].filter((f) => stillListed(f) && vehicles.has(f.properties.vehicle_id));
  open.sort((a, b) => b.properties.at.localeCompare(a.properties.at));
  byId("alarm-count").textContent = String(open.length);
  byId("alarm-list").replaceChildren(...(open.length ? open.map(alarmItem) : [el("li", {class: "empty"}, strings.none)]));
}

async function loadAlarms() {
  const data = await api("/api/transport/alarms/");
  alarms = new Map(data.features.map((f) => [f.id, f]));
  drawAlarms();
}

async function loadPlatforms() {
  const data = await api("/api/transport/platforms/");
  byId("platform-list").replaceChildren(
    ...data.platforms.map((p) =>
      el(
        "li",
        {dataset: {state: p.link_state, accessCode: String(p.access_code)}},
        el("span", {class: "dot", "aria-hidden": "true"}),
        el("span", {class: "name"}, p.name),
        el("span", {class: "state"}, p.link_state_label),
        el("time", {}, time(p.last_seen_at)),
      ),
    ),
  );
}

function addLayers() {
  map.addSource("key-vehicles", {type: "geojson", data: collection([])});
  const color = ["match", ["get", "category"], ...Object.entries(CATEGORY_COLORS).flat(), "#94a3b8"];
  map.addLayer({
    id: "key-vehicles",
    type: "circle",
    source: "key-vehicles",
    paint: {"circle-radius": 7, "circle-color": color, "circle-stroke-width": 2, "circle-stroke-color": "#0f172a"},
  });
  map.addLayer({
    id: "key-vehicle-labels",
    type: "symbol",
    source: "key-vehicles",
    layout: {"text-field": ["get", "plate"], "text-font": FONTS, "text-size": 12, "text-offset": [0, 1.3], "text-anchor": "top"},
    paint: {"text-color": "#e2e8f0", "text-halo-color": "#0f172a", "text-halo-width": 1.5},
  });
}

function onEvent(event) {
  if (event.topic !== "alarms") return;
  alarms.set(event.data.id, event.data);
  drawAlarms();
}

async function start() {
  const list = await api("/api/transport/vehicles/");
  vehicles = new Map(list.features.map((f) => [f.id, f]));
  ({map} = await createCityMap("map", {basemap: byId("map").dataset.basemap, navigation: true}));
  addLayers();
  drawVehicles();
  await Promise.all([loadAlarms(), loadPlatforms()]);
  setInterval(() => loadPlatforms().catch(() => {}), 15000);
  const socket = new OpsSocket({
    topics: ["vehicles", "alarms"],
    onPositions: (topic, features) => {
      vehicles = applyPositions(vehicles, features);
      drawVehicles();
    },
    onSnapshot: (topic, features) => {
      if (topic === "vehicles") vehicles = applyPositions(vehicles, features);
      else alarms = new Map(features.map((f) => [f.id, f]));
      drawVehicles();
      drawAlarms();
    },
    onEvent,
    onStatus: livePill(byId("live-pill")),
  });
  socket.start();
}

start().catch((error) => showApiError(byId("alarm-error"), error));
