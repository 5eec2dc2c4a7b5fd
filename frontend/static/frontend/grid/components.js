/**
 * Component survey /grid/components/ (部件普查 and 变更): the components in view on the map, coloured by major
 * class and filtered by class; tap one to edit its attributes, drag its marker to move it (after a confirmation),
 * retire it, and read its history (who changed what, when); "add" places a new one where the map is tapped.
 *
 * Everything goes through /api/grid/components/: the server works out the identifier and the unit grid and
 * records every change, so the panel always shows what the server answered.
 */
import {api, showApiError} from "../lib/api.js";
import {byId, el, flash, showText} from "../lib/dom.js";
import {bboxParam} from "../lib/geo.js";
import {maplibregl} from "../lib/map.js";
import {createMap} from "./grid-map.js";
import {fmt, historyList, loadDepartments, readConfig} from "./grid-ui.js";

const config = readConfig();
const S = config.strings;
const $ = byId;
const MIN_ZOOM = 15; // as the components' map layer (grid/layers.py): below it a city is too many points
const MAJOR_COLORS = {"01": "#2f7cf6", "02": "#f08c00", "03": "#8a4fd8", "04": "#2e9e4f", "05": "#8a6d3b"};
const TAP_SLOP = 12; // pixels around a tap that count as on a component (a finger, not a mouse pointer)

let map = null;
let marker = null; // the selected component's (draggable) or the new one's
let selected = null; // the selected component's Feature, with its history
let adding = false;
let loadSeq = 0;
let owners = [];

const toast = (text) => flash($("toast"), text, 4000);
const lonLat = ([lon, lat]) => `${lon.toFixed(6)}, ${lat.toFixed(6)}`;

// --- map ---

function addComponentLayer() {
  map.addSource("components", {type: "geojson", data: {type: "FeatureCollection", features: []}});
  const retired = ["in", ["get", "status"], ["literal", config.retiredStatuses]];
  map.addLayer({
    id: "components",
    type: "circle",
    source: "components",
    paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 15, 4, 19, 9],
      "circle-color": ["match", ["slice", ["get", "class_code"], 0, 2], ...Object.entries(MAJOR_COLORS).flat(), "#5a6a82"],
      "circle-opacity": ["case", retired, 0.35, 0.95],
      "circle-stroke-color": ["case", ["boolean", ["feature-state", "selected"], false], "#12264a", ["in", ["get", "status"], ["literal", ["damaged", "lost"]]], "#e0413a", "#ffffff"],
      "circle-stroke-width": ["case", ["boolean", ["feature-state", "selected"], false], 4, ["in", ["get", "status"], ["literal", ["damaged", "lost"]]], 2.5, 1.2],
    },
  });
}

function hint(text) {
  showText($("map-hint"), text);
}

async function loadComponents() {
  const seq = ++loadSeq;
  if (map.getZoom() < MIN_ZOOM) {
    map.getSource("components").setData({type: "FeatureCollection", features: []});
    hint(adding ? S.addMode : S.zoomInComponents);
    return;
  }
  const params = new URLSearchParams({bbox: bboxParam(map.getBounds())});
  if ($("class-filter").value) params.set("class", $("class-filter").value);
  const data = await api(`/api/grid/components/?${params}`);
  if (seq !== loadSeq) return; // a later view's answer is on its way
  map.getSource("components").setData(data);
  if (selected) map.setFeatureState({source: "components", id: selected.id}, {selected: true});
  hint(adding ? S.addMode : data.truncated ? fmt(S.tooMany, {n: data.features.length}) : "");
  document.body.dataset.componentsShown = String(data.features.length);
}

function placeMarker(position, {onDragEnd}) {
  marker?.remove();
  marker = new maplibregl.Marker({draggable: true, color: adding ? "#1fb57a" : "#12264a"}).setLngLat(position).addTo(map);
  marker.getElement().classList.add("survey-marker");
  marker.on("dragend", () => onDragEnd(marker.getLngLat().toArray()));
}

function clearSelection() {
  if (selected) map.setFeatureState({source: "components", id: selected.id}, {selected: false});
  selected = null;
  marker?.remove();
  marker = null;
}

function onMapClick(event) {
  if (adding) {
    startAdd(event.lngLat.toArray());
    return;
  }
  const {x, y} = event.point;
  const hits = map.queryRenderedFeatures(
    [
      [x - TAP_SLOP, y - TAP_SLOP],
      [x + TAP_SLOP, y + TAP_SLOP],
    ],
    {layers: ["components"]},
  );
  if (hits.length) select(hits[0].id);
}

// --- the panel ---

function panel(...children) {
  $("survey-panel").replaceChildren(...children);
}

function showEmpty() {
  panel(el("p", {class: "muted"}, S.selectComponent));
}

function statusOptions(current, statuses = Object.keys(config.statuses)) {
  return statuses.map((value) => el("option", {value, selected: value === current}, config.statuses[value]));
}

function ownerOptions(currentId, emptyLabel) {
  return [
    el("option", {value: ""}, emptyLabel),
    ...owners.map((o) => el("option", {value: String(o.id), selected: o.id === currentId}, o.name)),
  ];
}

function field(label, control) {
  return el("label", {class: "field"}, label, control);
}

/** The attribute fields of the edit and add forms, filled from `props`. */
function attributeFields(props, ownerEmptyLabel) {
  const L = config.fieldLabels;
  return [
    field(L.name, el("input", {type: "text", name: "name", maxlength: 64, value: props.name ?? ""})),
    field(L.status, el("select", {name: "status"}, statusOptions(props.status ?? "intact"))),
    field(L.owner, el("select", {name: "owner"}, ownerOptions(props.owner?.id ?? null, ownerEmptyLabel))),
    field(L.maintainer, el("input", {type: "text", name: "maintainer", maxlength: 100, value: props.maintainer ?? ""})),
    field(L.note, el("textarea", {name: "note", rows: 2, maxlength: 200}, props.note ?? "")),
  ];
}

function formValues(form) {
  const data = Object.fromEntries(new FormData(form));
  data.owner = data.owner ? Number(data.owner) : null;
  return data;
}

function valueText(fieldName, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (fieldName === "status") return config.statuses[value] ?? value;
  if (fieldName === "location") return lonLat(value);
  if (fieldName === "owner") return value.name;
  if (fieldName === "component_class") return className(value);
  return String(value);
}

function className(code) {
  const found = config.classes.find((c) => c.code === code);
  return found ? `${found.code} ${found.name}` : code;
}

/** The component's audited changes as the history list of the case screens: one line per changed field, in the
 * order of config.fieldLabels (the stored changes are JSON objects, whose keys keep no order). */
function componentHistory(history) {
  if (!history.length) return el("p", {class: "muted"}, S.noHistory);
  const steps = history.map((entry) => ({
    action: entry.action,
    at: entry.at,
    actor: entry.actor,
    note: Object.keys(config.fieldLabels)
      .filter((name) => name in entry.changes)
      .map((name) => [name, entry.changes[name]])
      .map(([name, {before, after}]) => `${config.fieldLabels[name] ?? name}：${before === null && entry.action === "component.add" ? "" : `${valueText(name, before)} → `}${valueText(name, after)}`)
      .join("\n"),
  }));
  return historyList(steps, config);
}

function facts(props, geometry) {
  const rows = [
    [config.fieldLabels.component_class, `${props.class_code} ${props.class_name}`],
    [config.fieldLabels.grid, props.grid_code],
    [config.fieldLabels.location, lonLat(geometry.coordinates)],
    [S.surveyedOn, props.surveyed_on],
    [S.changedOn, props.changed_on],
    [S.source, props.source],
  ];
  return el(
    "dl",
    {class: "case-facts"},
    rows.filter(([, value]) => value).map(([label, value]) => [el("dt", {}, label), el("dd", {}, String(value))]),
  );
}

function showDetail(feature) {
  const props = feature.properties;
  const message = el("p", {class: "form-message", role: "alert", hidden: true});
  const moveSlot = el("div", {class: "move-confirm", hidden: true});
  const retired = config.retiredStatuses.includes(props.status);

  const form = el(
    "form",
    {class: "action-form", id: "edit-form", novalidate: true},
    attributeFields(props, S.noOwner),
    message,
    el("div", {class: "form-buttons"}, el("button", {type: "submit", class: "primary"}, S.save)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const updated = await api(`/api/grid/components/${feature.id}/`, {method: "PATCH", json: formValues(form)});
      toast(S.saved);
      show(updated);
      await loadComponents();
    } catch (error) {
      showApiError(message, error);
    }
  });

  panel(
    el("div", {class: "detail-head"}, el("h2", {}, props.ident), el("span", {class: "status-pill", dataset: {status: props.status}}, config.statuses[props.status])),
    el("p", {class: "detail-class"}, props.class_name),
    facts(props, feature.geometry),
    retired ? null : el("p", {class: "muted move-hint"}, S.moveHint),
    moveSlot,
    form,
    retired ? null : retireSection(feature),
    el("h3", {}, S.history),
    componentHistory(props.history ?? []),
  );
  if (retired) {
    marker?.remove(); // a retired component stays where it was: nothing to drag
    marker = null;
  } else placeMarker(feature.geometry.coordinates, {onDragEnd: (position) => confirmMove(feature, position, moveSlot)});
}

function confirmMove(feature, position, slot) {
  const message = el("p", {class: "form-message", role: "alert", hidden: true});
  const cancel = () => {
    marker.setLngLat(feature.geometry.coordinates);
    slot.hidden = true;
  };
  const move = async () => {
    try {
      const updated = await api(`/api/grid/components/${feature.id}/`, {method: "PATCH", json: {location: {type: "Point", coordinates: position}}});
      toast(fmt(S.moved, {ident: updated.properties.ident}));
      show(updated);
      await loadComponents();
    } catch (error) {
      showApiError(message, error);
    }
  };
  slot.replaceChildren(
    el("p", {}, el("b", {}, S.confirmMove), " ", lonLat(position)),
    message,
    el(
      "div",
      {class: "form-buttons"},
      el("button", {type: "button", class: "secondary", onclick: cancel}, S.cancel),
      el("button", {type: "button", class: "primary", id: "confirm-move", onclick: move}, S.confirmMoveButton),
    ),
  );
  slot.hidden = false;
}

function retireSection(feature) {
  const message = el("p", {class: "form-message", role: "alert", hidden: true});
  const form = el(
    "form",
    {class: "action-form retire-form", hidden: true, novalidate: true},
    field(config.fieldLabels.status, el("select", {name: "status"}, statusOptions("removed", config.retiredStatuses))),
    field(S.retireReason, el("textarea", {name: "note", rows: 2, maxlength: 200})),
    message,
    el("div", {class: "form-buttons"}, el("button", {type: "button", class: "secondary", onclick: () => (form.hidden = true)}, S.cancel), el("button", {type: "submit", class: "danger"}, S.confirmRetire)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const updated = await api(`/api/grid/components/${feature.id}/retire/`, {json: Object.fromEntries(new FormData(form))});
      toast(fmt(S.retired, {ident: updated.properties.ident}));
      show(updated);
      await loadComponents();
    } catch (error) {
      showApiError(message, error);
    }
  });
  return el("div", {class: "retire"}, el("button", {type: "button", class: "danger", id: "retire-open", onclick: () => (form.hidden = false)}, S.retire), form);
}

/** Shows a component the server answered with (its detail, with history) and marks it on the map. */
function show(feature) {
  if (selected && selected.id !== feature.id) map.setFeatureState({source: "components", id: selected.id}, {selected: false});
  selected = feature;
  map.setFeatureState({source: "components", id: feature.id}, {selected: true});
  showDetail(feature);
}

async function select(id) {
  setAdding(false);
  try {
    show(await api(`/api/grid/components/${id}/`));
  } catch (error) {
    toast(error.message);
  }
}

// --- adding ---

function setAdding(on) {
  if (adding === on) return;
  adding = on;
  $("add-toggle").setAttribute("aria-pressed", String(on));
  document.body.dataset.adding = on ? "1" : "";
  clearSelection();
  if (on) {
    hint(S.addMode);
    panel(el("p", {class: "muted"}, S.addMode));
  } else {
    hint("");
    showEmpty();
    loadComponents();
  }
}

function classSelect() {
  const majors = new Map();
  for (const c of config.classes) {
    if (!majors.has(c.major.code)) majors.set(c.major.code, el("optgroup", {label: `${c.major.code} ${c.major.name}`}));
    majors.get(c.major.code).append(el("option", {value: c.code}, `${c.code} ${c.name}`));
  }
  const filtered = $("class-filter").value;
  const select = el("select", {name: "component_class", required: true}, el("option", {value: ""}, S.chooseClass), ...majors.values());
  select.value = filtered;
  return select;
}

function startAdd(position) {
  const positionText = el("span", {class: "form-fact", id: "new-position"}, lonLat(position));
  let current = position;
  placeMarker(position, {
    onDragEnd: (moved) => {
      current = moved;
      positionText.textContent = lonLat(moved);
    },
  });
  const message = el("p", {class: "form-message", role: "alert", hidden: true});
  const form = el(
    "form",
    {class: "action-form", id: "add-form", novalidate: true},
    el("h2", {}, S.newComponent),
    el("p", {}, `${S.position}：`, positionText),
    field(config.fieldLabels.component_class, classSelect()),
    attributeFields({}, S.ownerDefault),
    message,
    el("div", {class: "form-buttons"}, el("button", {type: "button", class: "secondary", onclick: () => setAdding(false)}, S.cancel), el("button", {type: "submit", class: "primary"}, S.submit)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formValues(form);
    if (data.owner === null) delete data.owner; // the server takes the class's responsible department
    try {
      const made = await api("/api/grid/components/", {json: {...data, location: {type: "Point", coordinates: current}}});
      toast(fmt(S.added, {ident: made.properties.ident}));
      setAdding(false);
      show(made);
    } catch (error) {
      showApiError(message, error);
    }
  });
  panel(form);
}

// --- start ---

function fillClassFilter() {
  const present = config.classes.filter((c) => c.count > 0);
  $("class-filter").replaceChildren(el("option", {value: ""}, S.allClasses), ...present.map((c) => el("option", {value: c.code}, `${c.code} ${c.name}（${c.count}）`)));
  const majors = new Map(present.map((c) => [c.major.code, c.major.name]));
  $("class-legend").replaceChildren(...[...majors].map(([code, name]) => el("li", {style: {"--major": MAJOR_COLORS[code] ?? "#5a6a82"}}, name)));
}

async function start() {
  fillClassFilter();
  showEmpty();
  const created = createMap("map");
  map = created.map;
  map.on("load", addComponentLayer);
  [owners] = await Promise.all([loadDepartments(), created.ready]);
  map.on("moveend", () => loadComponents().catch((error) => hint(error.message)));
  map.on("click", onMapClick);
  map.on("mouseenter", "components", () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "components", () => (map.getCanvas().style.cursor = ""));
  $("class-filter").addEventListener("change", () => loadComponents());
  $("add-toggle").addEventListener("click", () => setAdding(!adding));
  await loadComponents();
  document.body.dataset.surveyReady = "1";
}

start();
