/**
 * Leaders' decision maps (/leader/): headline indicators, thematic layers on the city map (2D and 3D),
 * weekly trends with forecast and anomalies, and offline map reports.
 *
 * Every number comes from /api/leader/ (which reads the grid and dispatch KPIs); polygons arrive with
 * their class colour, so this page and the exported report show the same classes. No glyphs, tiles or
 * fonts from outside: labels use local fonts, the population raster comes from /tiles/raster/.
 */
import {api} from "../lib/api.js";
import {byId, el, showText, svg} from "../lib/dom.js";
import {emptySources, extentOf} from "../lib/geo.js";
import {FONTS as FONT, createMap, maplibregl} from "../lib/map.js";
import {OpsSocket} from "../lib/ops-socket.js";

const EXTRUSION_MAX_M = 2500;
const LIVE_REFRESH_MS = 60000; // the server keeps each layer for a minute

const strings = document.getElementById("leader-strings").dataset;
const headlineLabels = JSON.parse(document.getElementById("headline-labels").textContent);
const state = {
  period: "month",
  from: "",
  to: "",
  area: document.getElementById("area").value,
  layer: "cases",
  by: "district",
  metric: "count",
  agency: "",
  population: false,
  is3d: false,
};

function query(extra = {}) {
  const params = new URLSearchParams();
  if (state.period === "custom") {
    params.set("from", state.from);
    params.set("to", state.to);
  } else {
    params.set("period", state.period);
  }
  if (state.area) params.set("area", state.area);
  for (const [key, value] of Object.entries(extra)) if (value) params.set(key, value);
  return params.toString();
}

function layerQuery() {
  return query({by: state.by, metric: state.metric, agency: state.agency});
}

const showMessage = (text) => showText(byId("map-message"), text);

// --- map ---

function buildStyle() {
  return {
    version: 8,
    name: "CityOps decision maps",
    sources: emptySources(["districts", "thematic", "roads", "incidents", "bursts", "pipes"], ["districts", "thematic"]),
    layers: [
      {id: "background", type: "background", paint: {"background-color": "#0b1526"}},
      {id: "district-base", type: "fill", source: "districts", paint: {"fill-color": "#15233b"}},
      {
        id: "thematic-fill",
        type: "fill",
        source: "thematic",
        paint: {"fill-color": ["get", "color"], "fill-opacity": 0.82},
      },
      {
        id: "thematic-extrusion",
        type: "fill-extrusion",
        source: "thematic",
        layout: {visibility: "none"},
        paint: {
          "fill-extrusion-color": ["get", "color"],
          "fill-extrusion-height": ["get", "height"],
          "fill-extrusion-opacity": 0.9,
        },
      },
      {
        id: "roads",
        type: "line",
        source: "roads",
        filter: ["!=", ["get", "road_class"], "branch"],
        paint: {
          "line-color": ["match", ["get", "road_class"], "expressway", "#c98a4b", "arterial", "#8a7a52", "#3b4c66"],
          "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 15, 3],
          "line-opacity": 0.7,
        },
      },
      {
        id: "incident-heat",
        type: "heatmap",
        source: "incidents",
        layout: {visibility: "none"},
        paint: {
          "heatmap-weight": ["interpolate", ["linear"], ["get", "priority"], 1, 1, 5, 0.4],
          "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 9, 8, 13, 26, 16, 50],
          "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 9, 0.6, 15, 2],
          "heatmap-color": [
            "interpolate", ["linear"], ["heatmap-density"],
            0, "rgba(0,0,0,0)", 0.2, "#1d4ed8", 0.45, "#10b981", 0.7, "#facc15", 1, "#ef4444",
          ],
        },
      },
      {
        id: "pipes",
        type: "line",
        source: "pipes",
        layout: {visibility: "none", "line-cap": "round"},
        paint: {
          "line-color": ["match", ["get", "cause"], "isolated", "#ef4444", "#f59e0b"],
          "line-width": ["interpolate", ["linear"], ["zoom"], 11, 2, 16, 6],
        },
      },
      {
        id: "bursts",
        type: "circle",
        source: "bursts",
        layout: {visibility: "none"},
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 5, 15, 10],
          "circle-color": "#ef4444",
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 2,
        },
      },
      {
        id: "district-line",
        type: "line",
        source: "districts",
        paint: {"line-color": "#9fb3d8", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 15, 2.5]},
      },
      {
        id: "district-label",
        type: "symbol",
        source: "districts",
        layout: {
          "text-field": ["get", "name"],
          "text-font": FONT,
          "text-size": ["interpolate", ["linear"], ["zoom"], 9, 12, 13, 18],
          "text-allow-overlap": true,
        },
        paint: {"text-color": "#e8eefb", "text-halo-color": "#0b1526", "text-halo-width": 1.6},
      },
    ],
  };
}

function setVisible(map, id, visible) {
  map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
}

/** The one layer on screen follows state.layer; in 3D the thematic polygons stand up as extrusions. */
function applyVisibility(map) {
  const polygons = state.layer === "cases" || state.layer === "response";
  setVisible(map, "thematic-fill", polygons && !state.is3d);
  setVisible(map, "thematic-extrusion", polygons && state.is3d);
  setVisible(map, "incident-heat", state.layer === "incidents");
  setVisible(map, "bursts", state.layer === "bursts");
  setVisible(map, "pipes", state.layer === "bursts");
  if (map.getLayer("population")) setVisible(map, "population", state.population);
}

function withHeights(collection) {
  const values = collection.features.map((f) => f.properties.value).filter((v) => typeof v === "number");
  const max = Math.max(...values, 0);
  for (const feature of collection.features) {
    const value = feature.properties.value;
    feature.properties.height = typeof value === "number" && max > 0 ? 80 + (value / max) * EXTRUSION_MAX_M : 30;
  }
  return collection;
}

function formatValue(value, kind) {
  if (value === null || value === undefined) return strings.noData;
  if (kind === "share") return `${(value * 100).toFixed(1)}%`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function renderLegend(layer) {
  const box = document.getElementById("map-legend");
  const list = el("ul");
  const row = (color, text, shape = {}) => list.append(el("li", {}, el("i", {style: {background: color, ...shape}}), text));
  if (state.layer === "incidents") {
    row("linear-gradient(90deg,#1d4ed8,#10b981,#facc15,#ef4444)", strings.densityLegend, {width: "3rem"});
  } else if (state.layer === "bursts") {
    row("#ef4444", strings.burst, {"border-radius": "50%"});
    row("#ef4444", strings.isolated, {height: "4px"});
    row("#f59e0b", strings.outage, {height: "4px"});
  } else {
    for (const entry of layer.legend) {
      const text = entry.label ?? `${formatValue(entry.from, entry.kind)} – ${formatValue(entry.to, entry.kind)}`;
      row(entry.color, text);
    }
    row("#c5ccd6", strings.noData);
  }
  if (state.population) row("linear-gradient(90deg,#fde68a,#b45309)", strings.population, {width: "3rem"});
  box.replaceChildren(el("h3", {}, layer.title), list);
}

let layerRequest = 0;

async function loadLayer(map) {
  const ticket = ++layerRequest;
  document.body.dataset.layerReady = "";
  let layer;
  try {
    layer = await api(`/api/leader/layers/${state.layer}/?${layerQuery()}`);
  } catch (error) {
    if (ticket === layerRequest) showMessage(error.message || strings.loadFailed);
    throw error;
  }
  if (ticket !== layerRequest) return;
  showMessage("");
  if (state.layer === "incidents") {
    map.getSource("incidents").setData(layer);
  } else if (state.layer === "bursts") {
    map.getSource("bursts").setData(layer);
    map.getSource("pipes").setData({type: "FeatureCollection", features: layer.pipes});
  } else {
    map.getSource("thematic").setData(withHeights(layer));
  }
  applyVisibility(map);
  renderLegend(layer);
  updateExports();
  await map.once("idle");
  if (ticket === layerRequest) document.body.dataset.layerReady = `${state.layer}:${state.period}`;
}

function setup3d(map, on) {
  state.is3d = on;
  applyVisibility(map);
  map.easeTo({pitch: on ? 58 : 0, bearing: on ? -20 : 0, duration: 800});
}

function setPopulation(map, on) {
  state.population = on;
  if (on && !map.getSource("population")) {
    map.addSource("population", {
      type: "raster",
      tiles: [`${window.location.origin}/tiles/raster/population/{z}/{x}/{y}.png`],
      tileSize: 256,
      maxzoom: 16,
    });
    map.addLayer({id: "population", type: "raster", source: "population", paint: {"raster-opacity": 0.65}}, "roads");
  }
  applyVisibility(map);
}

// --- headlines ---

function formatHeadline(unit, value) {
  if (value === null || value === undefined) return headlinesBox().dataset.unavailable;
  if (unit === "rate") return `${(value * 100).toFixed(1)}%`;
  if (unit === "seconds") return `${Math.round(value)} ${strings.seconds}`;
  return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(1);
}

const headlinesBox = () => document.getElementById("headlines");

async function loadSummary() {
  const box = headlinesBox();
  box.setAttribute("aria-busy", "true");
  const summary = await api(`/api/leader/summary/?${query()}`);
  box.replaceChildren(
    ...summary.headlines.map((headline) => {
      const value = el("p", {class: "value"}, formatHeadline(headline.unit, headline.value));
      if (headline.objective_s) {
        value.append(el("small", {}, ` / ${headline.objective_s} ${strings.seconds}`));
        if (headline.met !== null) value.dataset.met = String(headline.met);
      }
      const change = el("p", {class: "change"});
      if (headline.change !== null && headline.change !== undefined) {
        const up = headline.change > 0;
        const arrow = headline.change === 0 ? "＝" : up ? "▲" : "▼";
        const delta =
          headline.unit === "rate"
            ? `${(Math.abs(headline.change) * 100).toFixed(1)} pp`
            : formatHeadline(headline.unit, Math.abs(headline.change));
        change.textContent = `${arrow} ${delta} · ${box.dataset.previous} ${formatHeadline(headline.unit, headline.previous)}`;
        if (headline.higher_is_better !== null && headline.change !== 0) {
          change.dataset.tone = up === headline.higher_is_better ? "good" : "bad";
        }
      }
      return el(
        "article",
        {class: "headline", dataset: {key: headline.key, source: headline.source}},
        el("h3", {}, headlineLabels[headline.key] ?? headline.key),
        value,
        change,
      );
    }),
  );
  box.removeAttribute("aria-busy");
}

// --- trends ---

async function loadTrend() {
  const indicator = document.getElementById("trend-indicator").value;
  const params = new URLSearchParams();
  if (state.area) params.set("area", state.area);
  const trend = await api(`/api/leader/trends/${indicator}/?${params}`);
  const chart = document.getElementById("trend-chart");
  const points = [...trend.series.map((p) => p.value), ...trend.forecast.map((p) => p.value)];
  const max = Math.max(...points, 1);
  const width = 600;
  const height = 200;
  const step = width / Math.max(points.length - 1, 1);
  const y = (v) => height - 12 - (v / max) * (height - 24);
  const path = (values, offset) => values.map((v, i) => `${i ? "L" : "M"}${((i + offset) * step).toFixed(1)},${y(v).toFixed(1)}`).join("");
  const n = trend.series.length;
  const last = trend.series[n - 1]?.value ?? 0;
  chart.replaceChildren(
    svg("path", {d: path(trend.series.map((p) => p.value), 0), class: "series"}),
    svg("path", {d: path([last, ...trend.forecast.map((p) => p.value)], n - 1), class: "forecast"}),
    ...trend.series
      .map((p, i) => [p, i])
      .filter(([p]) => p.anomaly)
      .map(([p, i]) => {
        return svg("circle", {cx: i * step, cy: y(p.value), r: 5, class: "anomaly"}, svg("title", {}, `${p.week}: ${p.value} (z ${p.z})`));
      }),
  );
  const note = document.getElementById("trend-note");
  const mape = trend.backtest.mape === null ? "–" : `${(trend.backtest.mape * 100).toFixed(1)}%`;
  const flagged = trend.series.filter((p) => p.anomaly).map((p) => p.week);
  note.textContent =
    `${note.dataset.method} ${note.dataset.error}: MAE ${trend.backtest.mae}, MAPE ${mape}.` +
    (flagged.length ? ` ${note.dataset.anomalies}: ${flagged.join(", ")}.` : "");
  note.dataset.mae = trend.backtest.mae;
}

// --- controls ---

function updateExports() {
  const base = `/api/leader/reports/${state.layer}`;
  for (const fmt of ["html", "png", "pdf"]) {
    document.getElementById(`export-${fmt}`).href = `${base}.${fmt}?${layerQuery()}`;
  }
}

function refreshAll(map) {
  return Promise.all([loadSummary(), loadLayer(map)]).catch((error) => showMessage(error.message));
}

function setupControls(map) {
  const picker = document.getElementById("period-picker");
  const custom = document.getElementById("custom-range");
  for (const button of picker.querySelectorAll("[data-period]")) {
    button.addEventListener("click", () => {
      for (const other of picker.querySelectorAll("[data-period]")) other.removeAttribute("aria-pressed");
      button.setAttribute("aria-pressed", "true");
      custom.hidden = button.dataset.period !== "custom";
      if (button.dataset.period === "custom") return;
      state.period = button.dataset.period;
      refreshAll(map);
    });
  }
  document.getElementById("period-apply").addEventListener("click", () => {
    state.period = "custom";
    state.from = document.getElementById("period-from").value;
    state.to = document.getElementById("period-to").value;
    refreshAll(map);
  });
  document.getElementById("area").addEventListener("change", async (event) => {
    state.area = event.target.value;
    await Promise.all([refreshAll(map), loadTrend()]);
    fitScope(map);
  });
  for (const radio of document.querySelectorAll("input[name=layer]")) {
    radio.addEventListener("change", () => {
      state.layer = radio.value;
      syncOptions();
      loadLayer(map).catch(() => {});
    });
  }
  const bind = (id, key) =>
    document.getElementById(id).addEventListener("change", (event) => {
      state[key] = event.target.value;
      loadLayer(map).catch(() => {});
    });
  bind("case-by", "by");
  bind("case-metric", "metric");
  bind("agency", "agency");
  document.getElementById("view-3d").addEventListener("change", (event) => setup3d(map, event.target.checked));
  document.getElementById("population-toggle").addEventListener("change", (event) => {
    setPopulation(map, event.target.checked);
    loadLayer(map).catch(() => {});
  });
  document.getElementById("trend-indicator").addEventListener("change", () => loadTrend());
  syncOptions();
}

function syncOptions() {
  for (const box of document.querySelectorAll(".layer-options")) {
    box.hidden = !box.dataset.for.split(" ").includes(state.layer);
  }
}

let districtFeatures = [];

function fitScope(map) {
  const shown = state.area ? districtFeatures.filter((f) => f.id === state.area) : districtFeatures;
  if (shown.length) map.fitBounds(extentOf(shown), {padding: 40, duration: 0, pitch: map.getPitch()});
}

function startLive(map) {
  let timer = null;
  const later = () => {
    timer ??= setTimeout(() => {
      timer = null;
      refreshAll(map);
    }, LIVE_REFRESH_MS);
  };
  new OpsSocket({
    topics: ["incidents", "cases", "pipeline"],
    onEvent: later,
  }).start();
}

async function main() {
  const map = createMap("map", {style: buildStyle(), navigation: {visualizePitch: true}, maxPitch: 70, minZoom: 0, maxZoom: 22});
  map.on("click", "thematic-fill", (event) => popup(map, event));
  map.on("click", "thematic-extrusion", (event) => popup(map, event));
  setupControls(map);

  try {
    const [districts, roads] = await Promise.all([
      api("/api/core/areas/?level=district"),
      api("/api/gis/roads/"),
      map.once("load"),
    ]);
    for (const feature of districts.features) feature.properties.code ??= String(feature.id);
    districtFeatures = districts.features;
    map.getSource("districts").setData(districts);
    map.getSource("roads").setData(roads);
    fitScope(map);
    await Promise.all([refreshAll(map), loadTrend()]);
    document.body.dataset.mapReady = "1";
  } catch (error) {
    showMessage(strings.loadFailed);
    throw error;
  }
  startLive(map);
}

function popup(map, event) {
  const props = event.features[0].properties;
  const root = el(
    "div",
    {class: "leader-popup"},
    el("h3", {}, props.name ?? props.code),
    el("p", {}, formatValue(props.value === "null" ? null : props.value, state.metric === "count" ? "" : "share")),
  );
  new maplibregl.Popup({maxWidth: "18rem"}).setLngLat(event.lngLat).setDOMContent(root).addTo(map);
}

main();
