/**
 * City-management wall /grid/wall/ (大屏监督指挥) for a 1920×1080 or 3840×2160 screen: open cases by stage and
 * timer colour, their hot-spot density (heatmap) and positions, the district and department league tables, and
 * the inspectors on shift with their attendance. The live feed drives it: each case event repaints the counts and
 * the map at once and re-reads the league tables (debounced); the "inspectors" topic moves the inspectors and their
 * states — nothing polls.
 */
import {api, showApiError} from "../lib/api.js";
import {el} from "../lib/dom.js";
import {OpsSocket} from "../lib/ops-socket.js";
import {TIMER_COLORS, addCaseLayer, createMap} from "../grid/grid-map.js";
import {CLOSED_STAGES, byUrgency, liveStatusPainter, readConfig, upsertCase} from "../grid/grid-ui.js";
import {InspectorRoster, addInspectorLayer, paintInspectorLayer} from "../patrol/inspectors.js";
import {tally} from "./wall-model.js";

const config = readConfig();
const S = config.strings;
const $ = (id) => document.getElementById(id);
const cases = new Map();
const inspectors = new InspectorRoster(); // on shift, from the live feed
const LATEST = 12;
const LEAGUE_ROWS = 8;
let map = null;
let refreshTimer = null;
let fitted = false;

function paintCounts() {
  const features = [...cases.values()];
  const {stages, timers} = tally(features);
  $("open-total").textContent = String(features.length);
  for (const [timer, n] of Object.entries(timers)) document.querySelector(`[data-count="${timer}"]`).textContent = String(n);
  const open = Object.keys(config.stageLabels).filter((stage) => !CLOSED_STAGES.has(stage));
  $("stages").replaceChildren(
    ...open.map((stage) =>
      el("li", {dataset: {stage}}, el("span", {class: "stage-name"}, config.stageLabels[stage]), el("b", {class: "stage-count"}, String(stages[stage] ?? 0))),
    ),
  );
  const latest = features.sort((a, b) => b.properties.reported_at.localeCompare(a.properties.reported_at)).slice(0, LATEST).sort(byUrgency(S));
  $("latest").replaceChildren(
    ...latest.map((f) => {
      const p = f.properties;
      return el(
        "li",
        {dataset: {number: p.number, stage: p.stage, timer: p.timer_state ?? "none"}},
        el("span", {class: "dot", style: `background:${TIMER_COLORS[p.timer_state] ?? "#7d8aa3"}`}),
        el("span", {class: "latest-number"}, p.number),
        el("span", {class: "latest-stage"}, config.stageLabels[p.stage] ?? p.stage),
        el("span", {class: "latest-category"}, p.category_label ?? ""),
      );
    }),
  );
}

function paintMap() {
  const data = {type: "FeatureCollection", features: [...cases.values()].filter((f) => f.geometry)};
  map?.getSource("wall-cases")?.setData(data);
  map?.getSource("hotspots")?.setData(data);
}

/** The first time cases are known, frame them: a wall shows the city's cases, not the profile's home view. */
function frameCases() {
  const points = [...cases.values()].filter((f) => f.geometry).map((f) => f.geometry.coordinates);
  if (fitted || !map?.getSource("wall-cases") || points.length === 0) return;
  const lons = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], {padding: 80, maxZoom: 15, duration: 0});
  fitted = true;
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

async function paintLeague(groupBy) {
  const data = await api(`/api/grid/kpis/?group_by=${groupBy}`);
  const rows = data.rows.filter((r) => r.name).sort((a, b) => (b.values.composite_score ?? -1) - (a.values.composite_score ?? -1));
  $(`league-${groupBy}`).replaceChildren(
    el("tr", {}, el("th", {}, "#"), el("th", {}, groupBy === "district" ? S.wallDistricts : S.wallDepartments), el("th", {}, S.wallScore), el("th", {}, S.wallHandlingRate), el("th", {}, S.wallOverdue)),
    ...rows.slice(0, LEAGUE_ROWS).map((r, i) =>
      el(
        "tr",
        {},
        el("td", {}, String(i + 1)),
        el("td", {}, r.name),
        el("td", {}, r.values.composite_score === null ? "—" : `${r.values.composite_score.toFixed(1)} ${r.grade ?? ""}`),
        el("td", {}, percent(r.values.handling_rate)),
        el("td", {}, String(r.values.overdue ?? 0)),
      ),
    ),
  );
}

function paintInspectors() {
  const listed = inspectors.list();
  $("inspectors").replaceChildren(
    ...(listed.length
      ? listed.map(({properties: p}) => el("li", {dataset: {state: p.state}}, el("span", {}, p.name), el("b", {}, p.state_label)))
      : [el("li", {class: "muted"}, S.wallNoInspectors)]),
  );
  paintInspectorLayer(map, inspectors);
}

function refreshTables() {
  Promise.all([paintLeague("district"), paintLeague("department")]).catch((error) => showApiError(error));
}

function refreshTablesSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshTables, 2000);
}

function addLayers() {
  map.addSource("hotspots", {type: "geojson", data: {type: "FeatureCollection", features: []}});
  map.addLayer({
    id: "hotspots",
    type: "heatmap",
    source: "hotspots",
    paint: {
      "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 9, 18, 15, 40],
      "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 9, 0.8, 15, 2],
      "heatmap-opacity": 0.75,
      "heatmap-color": ["interpolate", ["linear"], ["heatmap-density"], 0, "rgba(0,0,0,0)", 0.2, "#1b4f8a", 0.45, "#1fb57a", 0.7, "#f0a020", 1, "#e0413a"],
    },
  });
  addCaseLayer(map, "wall-cases", "dark");
  addInspectorLayer(map);
}

async function main() {
  paintCounts();
  const created = createMap("map", {theme: "dark"});
  map = created.map;
  map.once("load", () => {
    addLayers();
    paintMap();
    paintInspectorLayer(map, inspectors);
    frameCases();
  });
  refreshTables();
  new OpsSocket({
    topics: ["cases", "inspectors"],
    onStatus: liveStatusPainter($("live-status"), S),
    onSnapshot: (topic, features) => {
      if (topic === "inspectors") {
        inspectors.replace(features);
        paintInspectors();
        return;
      }
      if (topic !== "cases") return;
      cases.clear();
      features.forEach((f) => upsertCase(cases, f));
      paintCounts();
      paintMap();
      frameCases();
    },
    onPositions: (topic, features) => {
      if (topic !== "inspectors") return;
      inspectors.upsert(features);
      paintInspectors();
    },
    onEvent: (event) => {
      if (event.topic !== "cases") return;
      upsertCase(cases, event.data);
      paintCounts();
      paintMap();
      refreshTablesSoon();
    },
  }).start();
  await created.ready;
}

main();
