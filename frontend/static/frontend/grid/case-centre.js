/**
 * The case center /grid/: queues of open cases by stage with live timers, the map of open cases and unit
 * grids, the selected case (photos, history, the actions the user's roles allow), and the evaluation tables.
 *
 * Open cases come from the live feed's snapshot (topic "cases") and stay current through its deltas, so a
 * report from a tablet appears here without a reload; details and history are read when a case is opened.
 */
import {CASE_OVERDUE, CASE_REPORTED} from "/events.js";

import {escalationSection, setupEscalation} from "../emergency/case-escalation.js";
import {api} from "../lib/api.js";
import {byId, el, flash} from "../lib/dom.js";
import {bboxParam} from "../lib/geo.js";
import {OpsSocket} from "../lib/ops-socket.js";
import {InspectorRoster, addInspectorLayer, paintInspectorLayer} from "../patrol/inspectors.js";
import {callbackSection} from "./callback.js";
import {addCaseLayer, createMap} from "./grid-map.js";
import {actionForm, byUrgency, caseCard, caseDetail, caseId, fmt, liveStatusPainter, readConfig, startTimerTicks, upsertCase} from "./grid-ui.js";
import {setupIntake} from "./intake.js";

const config = readConfig();
const S = config.strings;
const $ = byId;

const QUEUES = [
  {key: "reported", label: S.queueReported, stages: ["reported", "confirming"]},
  {key: "filed", label: S.queueFiled, stages: ["filed"]},
  {key: "handling", label: S.queueHandling, stages: ["dispatched", "rework", "postponement_requested", "postponed"]},
  {key: "handled", label: S.queueHandled, stages: ["handled"]},
  {key: "verified", label: S.queueVerified, stages: ["verified"]},
  {key: "hold", label: S.queueOnHold, stages: ["suspended"]},
];
const GRID_MIN_ZOOM = 14;

const cases = new Map(); // id → Case Feature (open cases only)
const inspectors = new InspectorRoster(); // on shift, from the live feed
let currentQueue = "reported";
let selectedId = null;
let map = null;
let intake = null;

const toast = (text) => flash($("toast"), text, 5000);

// --- queues ---

function queueOf(feature) {
  return QUEUES.find((queue) => queue.stages.includes(feature.properties.stage))?.key ?? null;
}

function paintQueues(highlight = null) {
  const counts = Object.fromEntries(QUEUES.map((queue) => [queue.key, 0]));
  for (const feature of cases.values()) {
    const queue = queueOf(feature);
    if (queue) counts[queue] += 1;
  }
  $("queue-tabs").replaceChildren(
    ...QUEUES.map((queue) =>
      el(
        "button",
        {type: "button", role: "tab", "aria-selected": String(queue.key === currentQueue), dataset: {queue: queue.key}, onclick: () => ((currentQueue = queue.key), paintQueues())},
        queue.label,
        el("b", {class: "count"}, String(counts[queue.key])),
      ),
    ),
  );
  $("open-total").textContent = String(cases.size);
  const shown = [...cases.values()].filter((feature) => queueOf(feature) === currentQueue).sort(byUrgency(S));
  $("queue").replaceChildren(
    ...(shown.length
      ? shown.map((feature) => {
          const id = caseId(feature);
          return el("li", {class: id === highlight ? "is-new" : null}, caseCard(feature, config, {current: id === selectedId, onclick: () => select(id)}));
        })
      : [el("li", {class: "empty"}, S.noCases)]),
  );
}

// --- map ---

function paintMap() {
  map?.getSource("cases")?.setData({type: "FeatureCollection", features: [...cases.values()].filter((f) => f.geometry)});
  paintGridCounts();
}

let grids = {type: "FeatureCollection", features: []};

/** Unit grids in view, shaded by how many open cases they hold. */
function paintGridCounts() {
  if (!map?.getSource("grids")) return;
  const counts = {};
  for (const feature of cases.values()) {
    const code = feature.properties.grid_code;
    if (code) counts[code] = (counts[code] ?? 0) + 1;
  }
  for (const grid of grids.features) {
    grid.properties.code ??= String(grid.id);
    grid.properties.open_cases = counts[grid.properties.code] ?? 0;
  }
  map.getSource("grids").setData(grids);
}

async function loadGrids() {
  const hint = $("grids-hint");
  if (map.getZoom() < GRID_MIN_ZOOM) {
    hint.textContent = S.gridsHint;
    hint.hidden = false;
    grids = {type: "FeatureCollection", features: []};
    paintGridCounts();
    return;
  }
  hint.hidden = true;
  const data = await api(`/api/grid/grids/?bbox=${bboxParam(map.getBounds())}`).catch(() => null);
  if (data) {
    grids = data;
    paintGridCounts();
  }
}

function setSelectedOnMap(id) {
  if (!map?.getSource("cases")) return;
  map.removeFeatureState({source: "cases"});
  // promoteId keeps the API's type: numeric ids are numbers on the map.
  if (id !== null) map.setFeatureState({source: "cases", id: /^\d+$/.test(id) ? Number(id) : id}, {selected: true});
}

// --- the selected case ---

async function select(id, {fly = true} = {}) {
  selectedId = id;
  paintQueues();
  setSelectedOnMap(id);
  $("case-empty").hidden = true;
  const panel = $("case-detail");
  let feature;
  try {
    feature = await api(`/api/grid/cases/${id}/`);
  } catch (error) {
    panel.replaceChildren(el("p", {class: "form-message", role: "alert"}, error.message || S.loadFailed));
    return;
  }
  if (selectedId !== id) return;
  if (fly && feature.geometry) map.easeTo({center: feature.geometry.coordinates, zoom: Math.max(map.getZoom(), 15)});
  renderDetail(feature);
}

function renderDetail(feature) {
  const formSlot = el("div", {class: "form-slot"});
  const onChoose = async (action) => {
    formSlot.replaceChildren(
      await actionForm(action, feature, config, {
        onDone: (updated) => {
          toast(fmt(S.done, {action: config.actionLabels[action] ?? action}));
          upsertCase(cases, updated);
          select(caseId(updated), {fly: false});
        },
        onCancel: () => formSlot.replaceChildren(),
      }),
    );
    formSlot.querySelector("textarea, select, input")?.focus();
  };
  $("case-detail").replaceChildren(...caseDetail(feature, config, onChoose, formSlot));
  formSlot.before(escalationSection(feature)); // 平战结合: under the workflow's actions
  const callback = config.mayCallBack ? callbackSection(feature, $("case-detail"), {onRecorded: () => select(caseId(feature), {fly: false})}) : null;
  if (callback) formSlot.before(callback);
}

// --- 新建受理 ---

function showIntake(open) {
  $("case-empty").hidden = open || selectedId !== null;
  $("case-detail").hidden = open;
  $("intake-open").disabled = open;
}

function showFiled(feature, text) {
  toast(text);
  upsertCase(cases, feature);
  currentQueue = queueOf(feature) ?? currentQueue;
  paintQueues(caseId(feature));
  paintMap();
  select(caseId(feature));
}

// --- live ---

function onEvent(event) {
  if (event.topic !== "cases") return;
  const feature = event.data;
  const id = caseId(feature);
  upsertCase(cases, feature);
  // New and newly overdue cases flash in their queue.
  const highlight = event.type === CASE_REPORTED || event.type === CASE_OVERDUE ? id : null;
  if (event.type === CASE_REPORTED) toast(fmt(S.newCase, {number: feature.properties.number ?? id}));
  paintQueues(highlight);
  paintMap();
  // The open case changed under the user's eyes (another console acted on it): show its new state.
  if (id === selectedId && !document.querySelector("#case-detail .action-form")) select(id, {fly: false});
}

// --- evaluation (KPIs) ---

// The indicators shown, in the API's keys (grid/selectors.py KPI_FIELDS); the API has more.
const KPI_COLUMNS = {
  reports: S.kpiReports,
  valid_report_rate: S.kpiValidReportRate,
  filed: S.kpiFiled,
  accurate_filing_rate: S.kpiAccurateFilingRate,
  on_time_dispatch_rate: S.kpiOnTimeDispatchRate,
  handling_rate: S.kpiHandlingRate,
  on_time_handling_rate: S.kpiOnTimeHandlingRate,
  overdue: S.kpiOverdue,
  closure_rate: S.kpiClosureRate,
  rework_rate: S.kpiReworkRate,
  postponement_rate: S.kpiPostponementRate,
  missed_rate: S.kpiMissedRate,
  on_time_confirmation_rate: S.kpiOnTimeConfirmationRate,
  on_time_check_rate: S.kpiOnTimeCheckRate,
  composite_score: S.kpiScore,
  // patrol effort (by inspector only), named by the API's labels
  patrol_hours: null,
  in_grid_rate: null,
  patrol_km: null,
};

function formatKpi(key, value) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "number") return String(value);
  if (key.endsWith("_rate")) return `${(value * 100).toFixed(1)}%`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function kpiRow(header, row, columns, scope) {
  return el(
    "tr",
    {},
    el("th", {scope}, header),
    columns.map((key) => el("td", {dataset: {key}}, formatKpi(key, row.values?.[key]))),
    el("td", {class: "grade", dataset: {grade: row.grade ?? ""}}, row.grade ?? "—"),
  );
}

async function loadKpis(event) {
  event?.preventDefault();
  const message = $("kpi-message");
  message.hidden = true;
  // The API's `to` is exclusive; the form's is the last day shown.
  const to = new Date(`${$("kpi-to").value}T00:00:00`);
  to.setDate(to.getDate() + 1);
  const params = new URLSearchParams({from: $("kpi-from").value, to: isoDate(to), group_by: $("kpi-group").value});
  let data;
  try {
    data = await api(`/api/grid/kpis/?${params}`);
  } catch (error) {
    message.textContent = fmt(S.refused, {reason: error.message});
    message.hidden = false;
    return;
  }
  const table = $("kpi-table");
  if (!data.rows.length) {
    table.replaceChildren(el("caption", {}, S.kpiEmpty));
    return;
  }
  const columns = Object.keys(KPI_COLUMNS).filter((key) => key in (data.labels ?? data.rows[0].values));
  table.replaceChildren(
    el("thead", {}, el("tr", {}, el("th", {scope: "col"}, S.kpiName), columns.map((key) => el("th", {scope: "col"}, KPI_COLUMNS[key] ?? data.labels[key])), el("th", {scope: "col"}, S.kpiGrade))),
    el("tbody", {}, data.rows.map((row) => kpiRow(row.name ?? row.code ?? "—", row, columns, "row"))),
    data.total ? el("tfoot", {}, kpiRow(S.kpiTotal, data.total, columns, "row")) : null,
  );
}

function isoDate(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function setupViews() {
  const views = [["view-cases", "cases-view"], ["view-kpis", "kpi-view"]];
  for (const [tabId] of views) {
    $(tabId).addEventListener("click", () => {
      for (const [otherTab, otherPane] of views) {
        $(otherTab).setAttribute("aria-selected", String(otherTab === tabId));
        $(otherPane).hidden = otherTab !== tabId;
      }
      if (tabId === "view-kpis" && !$("kpi-table").childElementCount) loadKpis();
      else map?.resize();
    });
  }
  // The last 30 days, as the API's default.
  const today = new Date();
  const start = new Date(today);
  start.setDate(start.getDate() - 30);
  $("kpi-from").value = isoDate(start);
  $("kpi-to").value = isoDate(today);
  $("kpi-form").addEventListener("submit", loadKpis);
}

// --- start ---

async function main() {
  setupViews();
  setupEscalation({onEscalated: (message) => (toast(message), selectedId && select(selectedId, {fly: false}))});
  paintQueues();
  startTimerTicks(document, S);
  // Timers change colour and order as deadlines pass.
  setInterval(() => paintQueues(), 60_000);

  const created = createMap("map", {theme: "dark", strings: S});
  map = created.map;
  map.once("load", () => {
    addCaseLayer(map, "cases", "dark");
    // While a call is taken, a click on the map places it (intake.js), also on a case.
    map.on("click", "cases", (event) => intake?.isOpen() || select(String(event.features[0].id), {fly: false}));
    map.on("mouseenter", "cases", () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", "cases", () => (map.getCanvas().style.cursor = ""));
    map.on("moveend", loadGrids);
    paintMap();
    loadGrids();
    // Who patrols where: the inspectors on shift, from the live feed.
    addInspectorLayer(map);
    paintInspectorLayer(map, inspectors);
  });

  if (config.mayReport) {
    intake = setupIntake({
      map,
      onOpen: () => showIntake(true),
      onClose: () => showIntake(false),
      onFiled: showFiled,
    });
  }

  new OpsSocket({
    topics: ["cases", "inspectors"],
    onStatus: liveStatusPainter($("live-status"), S),
    onSnapshot: (topic, features) => {
      if (topic === "inspectors") {
        inspectors.replace(features);
        paintInspectorLayer(map, inspectors);
        return;
      }
      if (topic !== "cases") return;
      cases.clear();
      features.forEach((f) => upsertCase(cases, f));
      paintQueues();
      paintMap();
    },
    onPositions: (topic, features) => {
      if (topic !== "inspectors") return;
      inspectors.upsert(features);
      paintInspectorLayer(map, inspectors);
    },
    onEvent,
  }).start();

  await created.ready;
}

main();
