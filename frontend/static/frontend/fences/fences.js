/**
 * The fence editor (/fences/): the fences on the city map (their tested area, with the drawn centre or route),
 * tools to draw a polygon, a circle or a corridor along a route, the fence list (select to zoom, rename, delete)
 * and the selected fence's rules (target, trigger, threshold, severity, time windows, active) — all through
 * /api/fences/; the API's refusals are shown as it words them.
 */
import {api, showApiError} from "../lib/api.js";
import {byId, el, flash, showText} from "../lib/dom.js";
import {collection, emptyCollection, extentOf, labelPoint} from "../lib/geo.js";
import {FONTS} from "../lib/map.js";
import {createCityMap} from "../dispatch/city-map.js";
import {calendarFromForm, describeCalendar, formFromCalendar} from "./calendar.js";
import {circlePolygon, corridorPolygon, distanceMetres, polygonOf} from "./shapes.js";

const strings = byId("fence-strings").dataset;
const WEEKDAYS = strings.weekdays.split(" ");
const CALENDAR_WORDS = {always: strings.always, everyDay: strings.everyDay, allDay: strings.allDay, datesOff: strings.datesOff};
const SHAPE_COLORS = {polygon: "#f59e0b", circle: "#38bdf8", corridor: "#a78bfa"};
const INACTIVE_COLOR = "#64748b";
const THRESHOLD_UNITS = {dwell: strings.minutes, speed: strings.kmh};
const SAME_CLICK_PX = 4; // a second click this close to the last vertex is the double-click's, not a new corner
const DEFAULT_RADIUS_M = {circle: 200, corridor: 50};

const message = byId("fence-message");
let map = null;
let options = null; // /api/fences/options/
let fences = []; // the API's features
let selectedId = null;

const fenceById = (id) => fences.find((f) => f.id === id);
const labelOf = (list, code) => options[list].find((o) => o.code === code)?.label ?? code;
const hasActiveRule = (fence) => fence.properties.rules.some((rule) => rule.active);

// --- the map ---

function addLayers() {
  for (const name of ["fences", "fence-drawn", "fence-labels", "draft"]) {
    map.addSource(name, {type: "geojson", data: emptyCollection()});
  }
  const color = ["case", ["get", "active"], ["match", ["get", "shape"], ...Object.entries(SHAPE_COLORS).flat(), INACTIVE_COLOR], INACTIVE_COLOR];
  const selected = ["boolean", ["feature-state", "selected"], false];
  map.addLayer({id: "fence-fill", type: "fill", source: "fences", paint: {"fill-color": color, "fill-opacity": ["case", selected, 0.38, 0.18]}});
  map.addLayer({id: "fence-line", type: "line", source: "fences", paint: {"line-color": ["case", selected, "#ffffff", color], "line-width": ["case", selected, 3, 1.6]}});
  map.addLayer({
    id: "fence-route",
    type: "line",
    source: "fence-drawn",
    filter: ["==", ["geometry-type"], "LineString"],
    paint: {"line-color": "#ede9fe", "line-width": 1.5, "line-dasharray": [3, 2]},
  });
  map.addLayer({
    id: "fence-centre",
    type: "circle",
    source: "fence-drawn",
    filter: ["==", ["geometry-type"], "Point"],
    paint: {"circle-radius": 3.5, "circle-color": "#e0f2fe", "circle-stroke-color": "#0b1220", "circle-stroke-width": 1},
  });
  map.addLayer({
    id: "fence-label",
    type: "symbol",
    source: "fence-labels",
    layout: {"text-field": ["get", "name"], "text-font": FONTS, "text-size": 13, "text-max-width": 10},
    paint: {"text-color": "#ffffff", "text-halo-color": "#0b1220", "text-halo-width": 1.6},
  });
  map.addLayer({id: "draft-fill", type: "fill", source: "draft", filter: ["==", ["get", "part"], "area"], paint: {"fill-color": "#fbbf24", "fill-opacity": 0.25}});
  map.addLayer({
    id: "draft-line",
    type: "line",
    source: "draft",
    filter: ["!=", ["geometry-type"], "Point"],
    paint: {"line-color": "#fbbf24", "line-width": 2, "line-dasharray": [2, 1]},
  });
  map.addLayer({
    id: "draft-points",
    type: "circle",
    source: "draft",
    filter: ["==", ["geometry-type"], "Point"],
    paint: {"circle-radius": 5, "circle-color": "#fbbf24", "circle-stroke-color": "#0b1220", "circle-stroke-width": 1.5},
  });
  map.on("click", "fence-fill", (event) => {
    if (!drawing.shape) select(event.features[0].id, {zoom: false});
  });
  map.on("mouseenter", "fence-fill", () => !drawing.shape && (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "fence-fill", () => !drawing.shape && (map.getCanvas().style.cursor = ""));
}

function drawFences() {
  const active = (f) => ({...f, properties: {id: f.id, name: f.properties.name, shape: f.properties.shape, active: hasActiveRule(f)}});
  map.getSource("fences").setData(collection(fences.map(active)));
  map.getSource("fence-drawn").setData(
    collection(fences.filter((f) => f.properties.shape !== "polygon").map((f) => ({type: "Feature", properties: {}, geometry: f.properties.drawn}))),
  );
  map.getSource("fence-labels").setData(
    collection(fences.map((f) => ({type: "Feature", properties: {name: f.properties.name}, geometry: {type: "Point", coordinates: labelPoint(f.geometry)}}))),
  );
  map.removeFeatureState({source: "fences"});
  if (selectedId !== null) map.setFeatureState({source: "fences", id: selectedId}, {selected: true});
}

// --- the fence list and the selected fence ---

function renderList() {
  byId("fence-count").textContent = fences.length ? `(${fences.length})` : "";
  byId("fence-empty").hidden = fences.length > 0;
  byId("fence-list").replaceChildren(
    ...fences.map((fence) => {
      const p = fence.properties;
      const active = hasActiveRule(fence);
      return el(
        "li",
        {dataset: {id: fence.id}, "aria-current": fence.id === selectedId ? "true" : null},
        el(
          "button",
          {type: "button", onclick: () => select(fence.id, {zoom: true})},
          el("span", {class: "swatch", style: {"--shape": SHAPE_COLORS[p.shape]}}),
          el("span", {class: "name"}, p.name),
          el("span", {class: "meta"}, `${p.shape_label} · ${p.rules.length} ${strings.rules}`),
          el("span", {class: `state ${active ? "on" : "off"}`}, active ? strings.active : strings.inactive),
        ),
      );
    }),
  );
}

function render() {
  drawFences();
  renderList();
  const fence = fenceById(selectedId);
  byId("fence-detail").hidden = !fence;
  if (!fence) return;
  const p = fence.properties;
  byId("fence-shape").textContent = p.shape_label;
  byId("fence-name").value = p.name;
  byId("fence-note").value = p.note;
  const radiusLabel = byId("fence-radius-label");
  radiusLabel.hidden = p.shape === "polygon";
  radiusLabel.querySelector("span").textContent = p.shape === "circle" ? strings.radius : strings.halfWidth;
  byId("fence-radius").value = p.radius_m ?? "";
  renderRules(fence);
}

function targetText(rule) {
  const target = labelOf("targets", rule.target);
  if (rule.target === "vehicle") return `${target} ${rule.vehicle ?? ""}`;
  if (rule.target === "kind") return `${target} ${labelOf("kinds", rule.vehicle_kind)}`;
  if (rule.target === "group") return `${target} ${rule.group ?? ""}`;
  return target;
}

function renderRules(fence) {
  const rules = fence.properties.rules;
  byId("rule-empty").hidden = rules.length > 0;
  byId("rule-list").replaceChildren(
    ...rules.map((rule) => {
      const threshold = rule.threshold !== null && THRESHOLD_UNITS[rule.trigger] ? ` > ${rule.threshold} ${THRESHOLD_UNITS[rule.trigger]}` : "";
      return el(
        "li",
        {class: rule.active ? "rule" : "rule off", dataset: {id: rule.id, severity: rule.severity}},
        el(
          "div",
          {class: "rule-head"},
          el("b", {}, `${rule.trigger_label}${threshold}`),
          el("span", {class: "severity"}, labelOf("severities", rule.severity)),
          rule.active ? null : el("span", {class: "rule-off"}, strings.ruleOff),
        ),
        el("div", {class: "rule-target"}, targetText(rule)),
        el("div", {class: "rule-calendar"}, describeCalendar(rule.calendar, WEEKDAYS, CALENDAR_WORDS)),
        el(
          "div",
          {class: "rule-actions"},
          el("button", {type: "button", class: "link", onclick: () => openRule(rule)}, strings.edit),
          el("button", {type: "button", class: "link danger", onclick: () => deleteRule(rule)}, strings.delete),
        ),
      );
    }),
  );
}

function select(id, {zoom}) {
  selectedId = id;
  showText(message, "");
  render();
  const fence = fenceById(id);
  if (zoom && fence) map.fitBounds(extentOf([fence]), {padding: 80, maxZoom: 17, duration: 300});
}

/** The fence as the API answered it (after a write), kept in the list in place. */
function replaceFence(feature) {
  const index = fences.findIndex((f) => f.id === feature.id);
  if (index < 0) fences.push(feature);
  else fences[index] = feature;
  render();
}

async function reload() {
  fences = (await api("/api/fences/")).features;
  if (!fenceById(selectedId)) selectedId = null;
  render();
}

async function saveFence(event) {
  event.preventDefault();
  const fence = fenceById(selectedId);
  const p = fence.properties;
  const radius = byId("fence-radius").value;
  const body = {
    name: byId("fence-name").value.trim(),
    note: byId("fence-note").value.trim(),
    shape: p.shape,
    geometry: p.drawn,
    radius_m: p.shape === "polygon" || radius === "" ? null : Number(radius),
    organisation_id: p.organisation_id,
  };
  try {
    replaceFence(await api(`/api/fences/${fence.id}/`, {method: "PUT", json: body}));
    flash(message, strings.saved, 3000);
  } catch (error) {
    showApiError(message, error);
  }
}

/** The confirm dialog: resolves true when the operator presses 删除. */
function confirmed(text) {
  const dialog = byId("confirm-dialog");
  byId("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), {once: true}));
}

async function deleteFence() {
  const fence = fenceById(selectedId);
  if (!(await confirmed(strings.confirmFence.replace("{name}", fence.properties.name)))) return;
  try {
    await api(`/api/fences/${fence.id}/`, {method: "DELETE"});
    selectedId = null;
    await reload();
  } catch (error) {
    showApiError(message, error);
  }
}

async function deleteRule(rule) {
  if (!(await confirmed(strings.confirmRule))) return;
  try {
    replaceFence(await api(`/api/fences/rules/${rule.id}/`, {method: "DELETE"}));
  } catch (error) {
    showApiError(message, error);
  }
}

// --- the rule dialog ---

let editedRule = null; // the rule being edited, null for a new one

const choices = (select, items, value = "code", label = "label") =>
  select.replaceChildren(...items.map((item) => el("option", {value: item[value]}, item[label])));

function fillRuleChoices() {
  choices(byId("rule-target"), options.targets);
  choices(byId("rule-kind"), options.kinds);
  choices(byId("rule-group"), options.groups, "id", "name");
  choices(byId("rule-trigger"), options.triggers);
  choices(byId("rule-severity"), options.severities);
  byId("vehicle-options").replaceChildren(...options.vehicles.map((v) => el("option", {value: v.call_sign}, labelOf("kinds", v.kind))));
}

function showRuleFields() {
  const target = byId("rule-target").value;
  for (const label of byId("rule-form").querySelectorAll("[data-target]")) label.hidden = label.dataset.target !== target;
  const unit = THRESHOLD_UNITS[byId("rule-trigger").value];
  byId("rule-threshold-label").hidden = !unit;
  byId("rule-threshold-unit").textContent = unit ?? "";
}

function rangeRow([from, to]) {
  const row = byId("range-template").content.firstElementChild.cloneNode(true);
  row.querySelector(".range-from").value = from;
  row.querySelector(".range-to").value = to;
  row.querySelector(".remove-range").addEventListener("click", () => row.remove());
  return row;
}

function windowRow({weekdays, ranges, datesOff}) {
  const row = byId("window-template").content.firstElementChild.cloneNode(true);
  row.querySelector(".weekdays").replaceChildren(
    ...WEEKDAYS.map((name, day) => el("label", {class: "day"}, el("input", {type: "checkbox", value: day, checked: weekdays.includes(day)}), name)),
  );
  row.querySelector(".ranges").replaceChildren(...ranges.map(rangeRow));
  row.querySelector(".dates-off-input").value = datesOff;
  row.querySelector(".add-range").addEventListener("click", () => row.querySelector(".ranges").append(rangeRow(["08:00", "18:00"])));
  row.querySelector(".remove-window").addEventListener("click", () => row.remove());
  return row;
}

function windowsOfForm() {
  return [...byId("window-list").children].map((row) => ({
    weekdays: [...row.querySelectorAll(".weekdays input:checked")].map((box) => Number(box.value)),
    ranges: [...row.querySelectorAll(".range")].map((range) => [range.querySelector(".range-from").value, range.querySelector(".range-to").value]),
    datesOff: row.querySelector(".dates-off-input").value,
  }));
}

function openRule(rule) {
  editedRule = rule;
  byId("rule-dialog-title").textContent = rule ? strings.editRule : strings.newRule;
  byId("rule-target").value = rule?.target ?? "all";
  byId("rule-vehicle").value = rule?.vehicle ?? "";
  byId("rule-kind").value = rule?.vehicle_kind || options.kinds[0]?.code;
  byId("rule-group").value = rule?.group_id ?? options.groups[0]?.id ?? "";
  byId("rule-trigger").value = rule?.trigger ?? "enter";
  byId("rule-threshold").value = rule?.threshold ?? "";
  byId("rule-severity").value = rule?.severity ?? "warning";
  byId("rule-active").checked = rule?.active ?? true;
  byId("window-list").replaceChildren(...formFromCalendar(rule?.calendar).map(windowRow));
  showText(byId("rule-message"), "");
  showRuleFields();
  byId("rule-dialog").showModal();
}

async function saveRule(event) {
  event.preventDefault();
  const target = byId("rule-target").value;
  const callSign = byId("rule-vehicle").value.trim();
  const threshold = byId("rule-threshold").value;
  const body = {
    target,
    vehicle_id: target === "vehicle" ? (options.vehicles.find((v) => v.call_sign === callSign)?.id ?? null) : null,
    vehicle_kind: target === "kind" ? byId("rule-kind").value : "",
    group_id: target === "group" && byId("rule-group").value ? Number(byId("rule-group").value) : null,
    trigger: byId("rule-trigger").value,
    threshold: threshold === "" || byId("rule-threshold-label").hidden ? null : Number(threshold),
    severity: byId("rule-severity").value,
    active: byId("rule-active").checked,
    calendar: calendarFromForm(windowsOfForm()),
  };
  const url = editedRule ? `/api/fences/rules/${editedRule.id}/` : `/api/fences/${selectedId}/rules/`;
  try {
    replaceFence(await api(url, {method: editedRule ? "PUT" : "POST", json: body}));
    byId("rule-dialog").close();
  } catch (error) {
    showApiError(byId("rule-message"), error);
  }
}

function setupRuleDialog() {
  fillRuleChoices();
  byId("rule-target").addEventListener("change", showRuleFields);
  byId("rule-trigger").addEventListener("change", showRuleFields);
  byId("rule-add").addEventListener("click", () => openRule(null));
  byId("rule-cancel").addEventListener("click", () => byId("rule-dialog").close());
  byId("window-add").addEventListener("click", () => byId("window-list").append(windowRow({weekdays: [0, 1, 2, 3, 4], ranges: [["07:00", "09:00"]], datesOff: ""})));
  // The time inputs are checked by the API (its message names the window), not held back by the browser.
  byId("rule-form").noValidate = true;
  byId("rule-form").addEventListener("submit", saveRule);
}

// --- drawing ---

const drawing = {shape: null, vertices: [], centre: null, finished: false, dragging: false, cursor: null};
const draftRadius = () => Number(byId("draft-radius").value);

function draftGeometry() {
  const {shape, vertices, centre} = drawing;
  if (shape === "polygon" && vertices.length >= 3) return polygonOf(vertices);
  if (shape === "corridor" && vertices.length >= 2) return {type: "LineString", coordinates: vertices};
  if (shape === "circle" && centre) return {type: "Point", coordinates: centre};
  return null;
}

function drawDraft() {
  const {shape, vertices, centre, finished, cursor} = drawing;
  const radius = draftRadius();
  const features = [];
  const feature = (geometry, part) => features.push({type: "Feature", properties: {part}, geometry});
  const points = shape === "circle" ? (centre ? [centre] : []) : vertices;
  points.forEach((point) => feature({type: "Point", coordinates: point}, "vertex"));
  if (shape === "polygon" && vertices.length >= 3) feature(polygonOf(vertices), "area");
  if (shape === "corridor" && vertices.length >= 2 && radius > 0) feature(corridorPolygon(vertices, radius), "area");
  if (shape === "circle" && centre && radius > 0) feature(circlePolygon(centre, radius), "area");
  const line = !finished && cursor && vertices.length ? [...vertices, cursor] : vertices;
  if (shape !== "circle" && line.length >= 2) feature({type: "LineString", coordinates: line}, "route");
  map.getSource("draft").setData(collection(features));
  const ready = draftGeometry() !== null;
  byId("draft-finish").hidden = shape === "circle"; // a circle is done once it has its centre
  byId("draft-finish").disabled = finished || !ready;
  byId("draft-save").disabled = !ready;
}

function startDrawing(shape) {
  stopDrawing();
  Object.assign(drawing, {shape, vertices: [], centre: null, finished: false, dragging: false, cursor: null});
  byId("draw-tools").querySelector(`[data-shape="${shape}"]`).setAttribute("aria-pressed", "true");
  byId("draft-hint").textContent = strings[`hint${shape[0].toUpperCase()}${shape.slice(1)}`];
  const radiusLabel = byId("draft-radius-label");
  radiusLabel.hidden = shape === "polygon";
  radiusLabel.querySelector("span").textContent = shape === "circle" ? strings.radius : strings.halfWidth;
  byId("draft-radius").value = DEFAULT_RADIUS_M[shape] ?? "";
  showText(byId("draft-message"), "");
  byId("draft-panel").hidden = false;
  map.getCanvas().style.cursor = "crosshair";
  map.doubleClickZoom.disable();
  if (shape === "circle") map.dragPan.disable(); // a drag sets the radius
  drawDraft();
}

function stopDrawing() {
  Object.assign(drawing, {shape: null, vertices: [], centre: null, finished: false, dragging: false, cursor: null});
  for (const button of byId("draw-tools").querySelectorAll("button")) button.removeAttribute("aria-pressed");
  byId("draft-panel").hidden = true;
  byId("draft-name").value = byId("draft-note").value = "";
  map.getCanvas().style.cursor = "";
  map.doubleClickZoom.enable();
  map.dragPan.enable();
  map.getSource("draft").setData(emptyCollection());
}

const lngLat = (event) => [event.lngLat.lng, event.lngLat.lat];

function setupDrawing() {
  for (const button of byId("draw-tools").querySelectorAll("button")) {
    button.addEventListener("click", () => startDrawing(button.dataset.shape));
  }
  map.on("click", (event) => {
    const {shape, vertices, finished} = drawing;
    if (shape === "circle") {
      // a tap (touch screens have no drag to give a radius); a mouse click set the same centre on mousedown
      drawing.centre = lngLat(event);
      drawDraft();
      return;
    }
    if (!shape || finished) return;
    const last = vertices[vertices.length - 1];
    if (last) {
      const at = map.project(last);
      if (Math.hypot(at.x - event.point.x, at.y - event.point.y) < SAME_CLICK_PX) return;
    }
    vertices.push(lngLat(event));
    drawDraft();
  });
  map.on("dblclick", () => {
    if (drawing.shape && drawing.shape !== "circle" && draftGeometry()) finishDrawing();
  });
  map.on("mousedown", (event) => {
    if (drawing.shape !== "circle") return;
    Object.assign(drawing, {centre: lngLat(event), dragging: true});
    drawDraft();
  });
  map.on("mousemove", (event) => {
    if (drawing.shape === "circle" && drawing.dragging) {
      const metres = Math.round(distanceMetres(drawing.centre, lngLat(event)));
      if (metres >= 1) byId("draft-radius").value = metres;
    } else if (drawing.shape && !drawing.finished) {
      drawing.cursor = lngLat(event);
    } else return;
    drawDraft();
  });
  window.addEventListener("mouseup", () => (drawing.dragging = false)); // also when released off the map
  byId("draft-radius").addEventListener("input", () => drawing.shape && drawDraft());
  byId("draft-finish").addEventListener("click", finishDrawing);
  byId("draft-cancel").addEventListener("click", stopDrawing);
  byId("draft-panel").addEventListener("submit", saveDraft);
}

function finishDrawing() {
  drawing.finished = true;
  drawing.cursor = null;
  map.getCanvas().style.cursor = "";
  drawDraft();
  byId("draft-name").focus();
}

async function saveDraft(event) {
  event.preventDefault();
  const shape = drawing.shape;
  const radius = byId("draft-radius").value;
  const body = {
    name: byId("draft-name").value.trim(),
    note: byId("draft-note").value.trim(),
    shape,
    geometry: draftGeometry(),
    radius_m: shape === "polygon" || radius === "" ? null : Number(radius),
  };
  try {
    const feature = await api("/api/fences/", {json: body});
    stopDrawing();
    await reload();
    select(feature.id, {zoom: true});
  } catch (error) {
    showApiError(byId("draft-message"), error);
  }
}

async function start() {
  const container = byId("map");
  try {
    [{map}, options] = await Promise.all([createCityMap(container, {basemap: container.dataset.basemap, navigation: true}), api("/api/fences/options/")]);
    addLayers();
    await reload();
  } catch (error) {
    showText(message, strings.loadFailed);
    throw error;
  }
  const shown = fences.length ? extentOf(fences) : null;
  if (shown) map.fitBounds(shown, {padding: 100, maxZoom: 15, duration: 0});
  setupDrawing();
  setupRuleDialog();
  byId("fence-form").addEventListener("submit", saveFence);
  byId("fence-delete").addEventListener("click", deleteFence);
  document.body.dataset.ready = "true";
}

start();
