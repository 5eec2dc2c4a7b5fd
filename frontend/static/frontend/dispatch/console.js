/**
 * The dispatcher console (/dispatch/): take a call, place it, catch a repeat call, see the recommended
 * units with their road-network ETAs, dispatch them with one click, link other agencies, and follow the
 * incident's units and timeline. Open incidents and vehicles stay current over /ws/ops/.
 *
 * Every API error is shown next to the input it names (`field` of the 400 body); other errors above
 * the form or the incident detail.
 */
import {COMMAND_STATE, INCIDENT_RESPONSE_CHANGED, SYSTEM_COMPONENT_DOWN, SYSTEM_COMPONENT_UP, UNIT_STATUS} from "/events.js";

import {setupFollowUps, showFollowUps} from "../emergency/follow-up.js";
import {setupPlanPanel, showPlan} from "../emergency/plan-panel.js";
import {ApiError, api, fieldErrors} from "../lib/api.js";
import {byId, el} from "../lib/dom.js";
import {searchAsTyped} from "../lib/geocode.js";
import {maplibregl} from "../lib/map.js";
import {OpsSocket, livePill} from "../lib/ops-socket.js";
import {AGENCIES, agencyColor, createCityMap, formatDuration, formatTime, INCIDENT_CHANGES, incidentForMap, incidentFromEvent, incidentListItem, incidentOrder, throttledSource} from "./city-map.js";
import {watchHealth} from "./system-health.js";
import {commandChanged, openUnitCommands, setupCommands} from "./unit-commands.js";

const strings = document.getElementById("map-strings").dataset;
const statusStrings = document.getElementById("status-strings").dataset;
const labels = JSON.parse(document.getElementById("console-labels").textContent);
const ASSIGNMENT_NEXT = {dispatched: ["en_route", "on_scene"], en_route: ["on_scene"], on_scene: ["returning"], returning: ["cleared"]};
const INCIDENT_NEXT = ["under_control", "closed"];

const incidents = new Map();
const vehicles = new Map();
let map;
let selectedId = null;
let pickedLocation = null; // {coordinates: [x, y], crs} as it will be sent
let pendingLocate = null; // typed coordinates being checked: a submit waits for them
let marker = null;
let incidentTypes = [];

const $ = byId;

// --- errors next to fields ---

function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  $("intake-error").hidden = true;
}

/** Puts each message beside the field it names; what names no field goes above the form. */
function showErrors(form, errors, banner) {
  const general = [];
  for (const [field, message] of Object.entries(errors)) {
    const box = form.querySelector(`[data-field="${CSS.escape(field === "crs" ? "location" : field)}"]`);
    if (!box) {
      general.push(message);
      continue;
    }
    const slot = box.querySelector(".field-error");
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    slot.hidden = false;
    box.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
  }
  if (general.length) {
    banner.textContent = general.join(" ");
    banner.hidden = false;
  }
}

function showBanner(banner, error) {
  banner.textContent = error instanceof ApiError ? Object.values(fieldErrors(error.data)).join(" ") || error.message : String(error);
  banner.hidden = false;
}

// --- intake: type picker ---

async function loadTypes() {
  incidentTypes = await api("/api/dispatch/incident-types/");
  const select = $("type-code");
  for (const agency of AGENCIES) {
    const group = document.createElement("optgroup");
    group.label = labels.agency[agency];
    for (const type of incidentTypes.filter((t) => t.agency === agency)) {
      const option = el("option", {}, type.label);
      option.value = type.code;
      group.append(option);
    }
    if (group.children.length) select.append(group);
  }
  select.addEventListener("change", () => {
    const type = incidentTypes.find((t) => t.code === select.value);
    if (!type) return;
    $("priority").value = String(type.default_priority);
    $("plan-hint").textContent = (type.plan ?? [])
      .map((line) => `${line.agency} ${labels.vehicle_kind[line.unit_kind] ?? line.unit_kind}×${line.count}`)
      .join("  ");
  });
}

// --- intake: location ---

function setLocation(coordinates, crs, wgs84 = crs === "wgs84" ? coordinates : null) {
  pickedLocation = {coordinates, crs};
  const picked = $("location-picked");
  const shown = wgs84 ?? coordinates;
  picked.textContent = `${shown[0].toFixed(6)}, ${shown[1].toFixed(6)}${wgs84 ? "" : ` (${crs})`}`;
  picked.dataset.set = "1";
  if (wgs84) {
    marker ??= new maplibregl.Marker({color: "#fde047"});
    marker.setLngLat(wgs84).addTo(map);
  }
}

function setupLocationModes() {
  const tabs = document.querySelectorAll(".location-modes [data-mode]");
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) other.setAttribute("aria-selected", String(other === tab));
      for (const pane of document.querySelectorAll(".location [data-pane]")) pane.hidden = pane.dataset.pane !== tab.dataset.mode;
    });
  }
  map.on("click", (event) => {
    // A click on an incident selects it; anywhere else places the new call.
    if (map.queryRenderedFeatures(event.point, {layers: ["incident"]}).length) return;
    setLocation([event.lngLat.lng, event.lngLat.lat], "wgs84");
  });
  $("coord-apply").addEventListener("click", () => {
    pendingLocate = locateTyped();
  });
  setupSearch();
}

async function locateTyped() {
  const form = $("intake");
  clearErrors(form);
  const crs = $("coord-crs").value;
  const [x, y] = [$("coord-lon").value.trim(), $("coord-lat").value.trim()];
  try {
    const found = await api(`/api/core/locate/?${new URLSearchParams({lon: x, lat: y, crs})}`);
    setLocation([Number(x), Number(y)], crs, found.geometry.coordinates);
    map.flyTo({center: found.geometry.coordinates, zoom: Math.max(map.getZoom(), 14)});
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    clearLocation(); // never send an earlier place for coordinates that were refused
    // lon/lat/crs of the locate API are all about this one field of the form.
    showErrors(form, {location: Object.values(fieldErrors(error.data)).join(" ")}, $("intake-error"));
  }
}

function setupSearch() {
  const input = $("address-search");
  const list = $("search-results");
  let shown = [];
  searchAsTyped(input, {
    clear: () => list.replaceChildren(),
    show: (found) => {
      shown = found;
      list.replaceChildren(
        ...(shown.length
          ? shown.map((result, index) => {
              const item = el("li", {}, result.label);
              item.setAttribute("role", "option");
              item.dataset.index = index;
              return item;
            })
          : [el("li", {class: "empty"}, strings.noResults)]),
      );
    },
  });
  list.addEventListener("click", (event) => {
    const result = shown[Number(event.target.closest("li[data-index]")?.dataset.index)];
    if (!result) return;
    setLocation(result.point, "wgs84");
    $("address").value = result.label;
    list.replaceChildren();
    map.flyTo({center: result.point, zoom: Math.max(map.getZoom(), 15)});
  });
}

// --- intake: submit, duplicate prompt ---

function intakeBody(extra = {}) {
  const body = {
    caller_number: $("caller-number").value.trim(),
    type_code: $("type-code").value,
    priority: Number($("priority").value),
    description: $("description").value.trim(),
    address: $("address").value.trim(),
    ...extra,
  };
  if (pickedLocation) {
    body.location = {type: "Point", coordinates: pickedLocation.coordinates};
    body.crs = pickedLocation.crs;
  }
  return body;
}

async function submitIntake(extra = {}) {
  const form = $("intake");
  await pendingLocate;
  clearErrors(form);
  const missing = {};
  if (!$("type-code").value) missing.type_code = strings.required;
  if (!pickedLocation) missing.location = strings.needLocation;
  if (Object.keys(missing).length) {
    showErrors(form, missing, $("intake-error"));
    return;
  }
  const submit = $("intake-submit");
  submit.disabled = true;
  try {
    const feature = await api("/api/dispatch/incidents/", {json: intakeBody(extra)});
    putIncident(feature);
    resetIntake();
    await select(feature.id);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 409 && error.data?.error === "possible_duplicate") askDuplicate(error.data.duplicates);
    else if (error.status === 400) showErrors(form, fieldErrors(error.data), $("intake-error"));
    else showBanner($("intake-error"), error);
  } finally {
    submit.disabled = false;
  }
}

function clearLocation() {
  pickedLocation = null;
  marker?.remove();
  const picked = $("location-picked");
  picked.textContent = picked.dataset.empty;
  delete picked.dataset.set;
}

function resetIntake() {
  $("intake").reset();
  $("plan-hint").textContent = "";
  clearLocation();
}

function askDuplicate(duplicates) {
  const dialog = $("duplicate-dialog");
  $("duplicates").replaceChildren(
    ...duplicates.map((feature) => {
      const p = feature.properties ?? feature;
      const item = el("li");
      const text = el("div", {class: "duplicate-text"});
      text.append(
        el("b", {}, `${p.number} ${p.type_label ?? ""}`),
        el("span", {}, `${p.address || ""} · ${formatTime(p.times?.call_received)} · ${p.status_label ?? p.status}`),
      );
      const attach = el("button", {class: "primary"}, strings.attach);
      attach.type = "button";
      attach.dataset.sameAs = feature.id ?? p.id;
      item.append(text, attach);
      return item;
    }),
  );
  dialog.showModal();
}

function setupDuplicateDialog() {
  const dialog = $("duplicate-dialog");
  $("duplicates").addEventListener("click", (event) => {
    const id = event.target.closest("button[data-same-as]")?.dataset.sameAs;
    if (!id) return;
    dialog.close();
    submitIntake({same_as: Number(id)});
  });
  $("duplicate-new").addEventListener("click", () => {
    dialog.close();
    submitIntake({confirm_new: true});
  });
  $("duplicate-cancel").addEventListener("click", () => dialog.close());
}

// --- incident list ---

function putIncident(feature) {
  if (feature.properties.status === "closed") incidents.delete(feature.id);
  else incidents.set(feature.id, feature);
  incidentLayer.schedule();
  listDirty();
}

let listTimer = null;
function listDirty() {
  listTimer ??= setTimeout(renderList, 200);
}

function renderList() {
  listTimer = null;
  const list = $("incident-list");
  const sorted = [...incidents.values()].sort(incidentOrder);
  list.replaceChildren(
    ...(sorted.length
      ? sorted.map((feature) => {
          const p = feature.properties;
          const type = el("b", {class: "type"}, p.type_label);
          const item = incidentListItem(feature, strings.priority, type, el("span", {class: "status"}, p.status_label ?? p.status));
          if (feature.id === selectedId) item.setAttribute("aria-current", "true");
          item.append(el("div", {class: "incident-line"}, `${p.number} · ${p.address || p.district || ""}`));
          return item;
        })
      : [el("li", {class: "empty"}, strings.noIncidents)]),
  );
  $("incident-count").textContent = String(incidents.size);
}

// --- the selected incident ---

async function select(id) {
  selectedId = id;
  map.setFilter("incident-selected", ["==", ["id"], id ?? -1]);
  renderList();
  $("detail-empty").hidden = id !== null;
  $("detail-body").hidden = id === null;
  if (id === null) return;
  $("detail-body").dataset.id = id;
  $("detail-error").hidden = true;
  const feature = incidents.get(id);
  if (feature) map.easeTo({center: feature.geometry.coordinates, zoom: Math.max(map.getZoom(), 13.5)});
  await Promise.all([refreshDetail(), refreshRecommendation()]);
}

async function refreshDetail() {
  const id = selectedId;
  const detail = await api(`/api/dispatch/incidents/${id}/`);
  if (id !== selectedId) return;
  renderDetail(detail);
  showPlan(id);
  showFollowUps(id);
}

function renderDetail(feature) {
  const p = feature.properties;
  $("detail-body").dataset.id = feature.id;
  $("detail-body").dataset.status = p.status;
  $("d-type").textContent = p.exercise ? `【演练】${p.type_label}` : p.type_label;
  $("d-priority").textContent = `${strings.priority}${p.priority}`;
  $("d-number").textContent = p.number;
  $("d-status").textContent = p.status_label ?? p.status;
  $("d-address").textContent = [p.address, p.district].filter(Boolean).join(" · ");
  $("d-caller").textContent = `${strings.caller} ${p.caller_number || "—"} · ${formatTime(p.times?.call_received)}${p.calls > 1 ? ` · ${p.calls} ${strings.calls}` : ""}`;

  $("agency-toggles").replaceChildren(
    ...AGENCIES.map((agency) => {
      const linked = (p.agencies ?? []).includes(agency);
      const button = el("button", {class: linked ? "agency-toggle linked" : "agency-toggle"}, labels.agency[agency]);
      button.type = "button";
      button.dataset.agency = agency;
      button.setAttribute("aria-pressed", String(linked));
      button.title = linked ? strings.unlink : strings.link;
      button.style.setProperty("--agency", agencyColor(agency));
      button.disabled = linked && agency === p.type_agency; // the incident type's own agency stays
      return button;
    }),
  );

  const assignments = p.assignments ?? [];
  $("assignments").replaceChildren(
    ...(assignments.length
      ? assignments.map((a) => {
          const item = el("li", {class: "assignment"});
          item.dataset.id = a.id;
          item.dataset.vehicle = a.vehicle_id;
          item.dataset.status = a.status;
          item.style.setProperty("--agency", agencyColor(a.agency));
          const text = el("div");
          text.append(el("b", {}, a.call_sign), el("span", {}, ` ${a.kind_label} · `), el("span", {class: "status"}, a.status_label ?? a.status));
          const buttons = el("div", {class: "status-buttons"});
          for (const next of ASSIGNMENT_NEXT[a.status] ?? []) {
            const button = el("button", {}, statusStrings[next]);
            button.type = "button";
            button.dataset.assignment = a.id;
            button.dataset.status = next;
            buttons.append(button);
          }
          item.append(text, buttons);
          return item;
        })
      : [el("li", {class: "empty"}, strings.noAssignments)]),
  );

  $("incident-status-buttons").replaceChildren(
    ...INCIDENT_NEXT.map((status) => {
      const button = el("button", {}, statusStrings[status]);
      button.type = "button";
      button.dataset.status = status;
      button.disabled = p.status === "closed" || (status === "under_control" && p.status === "under_control");
      return button;
    }),
  );

  $("timeline").replaceChildren(
    ...(feature.timeline ?? []).map((entry) => {
      const item = el("li");
      item.dataset.type = entry.type;
      item.append(el("time", {}, formatTime(entry.at)), el("span", {}, entry.text), el("small", {}, entry.actor ?? ""));
      return item;
    }),
  );
}

async function refreshRecommendation() {
  const id = selectedId;
  const list = $("recommendations");
  const button = $("dispatch-button");
  let proposal;
  try {
    proposal = await api(`/api/dispatch/incidents/${id}/recommendation/`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    list.replaceChildren();
    showBanner($("detail-error"), error);
    return;
  }
  if (id !== selectedId) return;
  $("needs").textContent = (proposal.needs ?? [])
    .map((n) => `${n.agency ?? ""} ${labels.vehicle_kind[n.unit_kind ?? n.kind] ?? n.unit_kind ?? n.kind}×${n.count}`)
    .join("  ");
  const units = proposal.units ?? [];
  const apart = proposal.unroutable ?? [];
  const snap = proposal.incident ?? {};
  const note = $("incident-snap");
  note.hidden = snap.snap_m == null;
  note.classList.toggle("warning", Boolean(snap.off_network));
  note.textContent =
    snap.snap_m == null ? "" : `${snap.off_network ? strings.incidentOffNetwork : strings.incidentSnap} ${formatMetres(snap.snap_m)}`;
  list.replaceChildren(
    ...(units.length
      ? units.map((unit) =>
          unitItem(unit, `${strings.eta} ${formatDuration(unit.eta_s)}`, `${(unit.distance_m / 1000).toFixed(1)} km`),
        )
      : [el("li", {class: "empty"}, apart.length ? strings.noRoutableUnits : strings.noUnits)]),
  );
  $("unroutable-title").hidden = apart.length === 0;
  $("unroutable").replaceChildren(
    ...apart.map((unit) =>
      unitItem(unit, reasonText(unit.reason), `${(unit.straight_m / 1000).toFixed(1)} km ${strings.straightLine}`),
    ),
  );
  button.disabled = !units.some((unit) => unit.recommended);
}

/** One proposed unit: a checkbox (ticked when recommended), its headline figure and how far it is, with its
 * distance to the road it starts from and the off-network flag. */
function unitItem(unit, headline, distance) {
  const item = el("li", {class: unit.recommended ? "unit recommended" : "unit"});
  item.dataset.vehicle = unit.vehicle_id;
  item.dataset.kind = unit.kind;
  item.style.setProperty("--agency", agencyColor(unit.agency));
  const label = el("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.value = unit.vehicle_id;
  box.checked = Boolean(unit.recommended);
  const snap = unit.snap_m == null ? "" : ` · ${formatMetres(unit.snap_m)} ${strings.toRoad}`;
  label.append(
    box,
    el("b", {}, unit.call_sign),
    el("span", {class: "kind"}, labels.vehicle_kind[unit.kind] ?? unit.kind),
    el("span", {class: "eta"}, headline),
    el("span", {class: "distance"}, `${distance}${snap}`),
  );
  if (unit.off_network) label.append(el("span", {class: "off-network"}, strings.offNetwork));
  item.append(label);
  return item;
}

function reasonText(reason) {
  return reason === "no_road_network" ? strings.noRoadNetwork : strings.noRoute;
}

function formatMetres(metres) {
  return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(1)} km`;
}

function checkedVehicles() {
  return [...document.querySelectorAll("#recommendations input:checked, #unroutable input:checked")].map((box) =>
    Number(box.value),
  );
}

async function act(request) {
  $("detail-error").hidden = true;
  try {
    await request();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showBanner($("detail-error"), error);
  }
  await Promise.all([refreshDetail(), refreshRecommendation()]);
}

function setupDetailActions() {
  const base = () => `/api/dispatch/incidents/${selectedId}`;
  for (const list of [$("recommendations"), $("unroutable")]) {
    list.addEventListener("change", () => {
      $("dispatch-button").disabled = checkedVehicles().length === 0;
    });
  }
  $("dispatch-button").addEventListener("click", (event) => {
    event.currentTarget.disabled = true;
    act(() => api(`${base()}/dispatch/`, {json: {vehicle_ids: checkedVehicles()}}));
  });
  $("assignments").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-assignment]");
    if (!button) return;
    act(() => api(`/api/dispatch/assignments/${button.dataset.assignment}/status/`, {json: {status: button.dataset.status}}));
  });
  $("incident-status-buttons").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-status]");
    if (button) act(() => api(`${base()}/status/`, {json: {status: button.dataset.status}}));
  });
  $("agency-toggles").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-agency]");
    if (!button) return;
    const key = button.getAttribute("aria-pressed") === "true" ? "unlink" : "link";
    act(() => api(`${base()}/agencies/`, {json: {[key]: button.dataset.agency}}));
  });
  $("incident-list").addEventListener("click", (event) => {
    const item = event.target.closest("li[data-id]");
    if (item) select(Number(item.dataset.id));
  });
  map.on("click", "incident", (event) => select(Number(event.features[0].id)));
  map.on("mouseenter", "incident", () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "incident", () => (map.getCanvas().style.cursor = ""));
}

// --- live feed ---

let incidentLayer;
let detailTimer = null;

function selectedChanged() {
  // Several deltas about one incident arrive together (dispatch: incident + units): refresh once.
  detailTimer ??= setTimeout(() => {
    detailTimer = null;
    if (selectedId !== null) refreshDetail();
  }, 300);
}

/** The header's health dot: the summary in words, every component's state in its tooltip. */
function showHealth(view) {
  const indicator = $("health-indicator");
  indicator.hidden = false;
  indicator.dataset.status = view.status;
  indicator.title = view.tooltip;
  $("health-text").textContent = view.summary;
}

function startLiveFeed(topics, refreshHealth) {
  const vehicleLayer = throttledSource(map, "vehicles", vehicles, 1000);
  const putVehicle = (feature) => {
    const known = vehicles.get(feature.id);
    if (!feature.geometry && !known) return;
    vehicles.set(feature.id, {...feature, geometry: feature.geometry ?? known.geometry, properties: {...known?.properties, ...feature.properties}});
  };
  new OpsSocket({
    topics,
    onStatus: livePill($("live-pill")),
    onSnapshot(topic, features) {
      if (topic === "incidents") {
        incidents.clear();
        features.forEach(putIncident);
      } else if (topic === "vehicles") {
        vehicles.clear();
        features.forEach(putVehicle);
        vehicleLayer.schedule();
      }
    },
    onPositions(topic, features) {
      features.forEach(putVehicle);
      vehicleLayer.schedule();
    },
    onEvent({type, data}) {
      if (INCIDENT_CHANGES.has(type)) {
        putIncident(incidentFromEvent(type, data));
        if (data.id === selectedId) selectedChanged();
        // A plan level put in force brings its own run card: the recommended units change with it.
        if (data.id === selectedId && type === INCIDENT_RESPONSE_CHANGED) refreshRecommendation();
      } else if (type === UNIT_STATUS) {
        putVehicle(data);
        vehicleLayer.schedule();
      } else if (type === COMMAND_STATE) {
        commandChanged(data.properties);
      } else if (type === SYSTEM_COMPONENT_DOWN || type === SYSTEM_COMPONENT_UP) {
        refreshHealth();
      }
    },
  }).start();
}

async function main() {
  const container = $("map");
  try {
    ({map} = await createCityMap(container, {basemap: "", navigation: {}}));
  } catch (error) {
    showBanner($("intake-error"), strings.loadFailed);
    throw error;
  }
  incidentLayer = throttledSource(map, "incidents", incidents, 200, incidentForMap);
  $("intake").addEventListener("submit", (event) => {
    event.preventDefault();
    submitIntake();
  });
  setupLocationModes();
  setupDuplicateDialog();
  setupDetailActions();
  setupPlanPanel();
  setupFollowUps();
  setupCommands(vehicles);
  map.on("click", "vehicle", (event) => openUnitCommands(event.features[0].id));
  renderList();
  // The health dot is on the page for the roles the health API answers.
  const refreshHealth = $("health-indicator") ? watchHealth($("health-strings").dataset, showHealth) : () => {};
  const [me] = await Promise.all([api("/api/core/me/"), loadTypes()]);
  // alarms: for the trouble alarm (system.component_*), which refreshes the health dot at once
  startLiveFeed(["incidents", "vehicles", "alarms"].filter((topic) => me.topics.includes(topic)), refreshHealth);
  window.cityopsConsole = {incidents, vehicles, select};
  document.body.dataset.mapReady = "1";
}

main();

