/**
 * The situation map of one major incident (态势图): the incident, its units with their tracks, the symbols
 * operators draw (command post, cordon, evacuation route, water source, hazard area), the pipeline
 * isolation, the population inside the affected areas and the timeline — kept current from /ws/ops/.
 */
import {api} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";
import {emptySources} from "../lib/geo.js";
import {FONTS as FONT, createMap} from "../lib/map.js";
import {OpsSocket} from "../lib/ops-socket.js";
import {AGENCY_COLORS} from "../dispatch/city-map.js";
import {addResourceOverlay} from "../resources/overlay.js";
const SYMBOLS = {
  command_post: {color: "#3b82f6", draws: "Point"},
  water_source: {color: "#0ea5e9", draws: "Point"},
  evacuation_route: {color: "#22c55e", draws: "LineString"},
  cordon: {color: "#ef4444", draws: "Polygon"},
  hazard_area: {color: "#f97316", draws: "Polygon"},
};
const RELOAD_DELAY_MS = 800;

const root = document.getElementById("situation");
const incidentId = Number(root.dataset.incident);
// Who drew a symbol removes it, or an administrator (the server says the same).
const mayRemove = (feature) => Boolean(root.dataset.removesAny) || feature.properties.drawn_by_id === Number(root.dataset.user);
const strings = document.getElementById("leader-strings").dataset;
const symbolColor = ["match", ["get", "symbol"], ...Object.entries(SYMBOLS).flatMap(([k, v]) => [k, v.color]), "#aaa"];

const showMessage = (text) => showText(byId("map-message"), text);

function buildStyle() {
  return {
    version: 8,
    sources: emptySources(["districts", "roads", "pipes", "valves", "customers", "annotations", "tracks", "units", "incident", "draft"]),
    layers: [
      {id: "background", type: "background", paint: {"background-color": "#0b1526"}},
      {id: "district-fill", type: "fill", source: "districts", paint: {"fill-color": "#15233b"}},
      {
        id: "roads",
        type: "line",
        source: "roads",
        paint: {
          "line-color": ["match", ["get", "road_class"], "expressway", "#c98a4b", "arterial", "#8a7a52", "#34465f"],
          "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1, 17, 8],
        },
      },
      {
        id: "road-label",
        type: "symbol",
        source: "roads",
        minzoom: 14,
        layout: {"symbol-placement": "line", "text-field": ["get", "name"], "text-font": FONT, "text-size": 12},
        paint: {"text-color": "#9fb3d8", "text-halo-color": "#0b1526", "text-halo-width": 1.4},
      },
      {
        id: "area-fill",
        type: "fill",
        source: "annotations",
        filter: ["==", ["geometry-type"], "Polygon"],
        paint: {"fill-color": symbolColor, "fill-opacity": 0.22},
      },
      {
        id: "pipes",
        type: "line",
        source: "pipes",
        paint: {"line-color": ["match", ["get", "cause"], "isolated", "#ef4444", "#f59e0b"], "line-width": 4},
      },
      {
        id: "customers",
        type: "circle",
        source: "customers",
        paint: {
          "circle-radius": ["case", ["get", "sensitive"], 6, 3.5],
          "circle-color": "#a78bfa",
          "circle-stroke-color": ["case", ["get", "sensitive"], "#fde68a", "#0b1526"],
          "circle-stroke-width": 1.5,
        },
      },
      {
        id: "valves",
        type: "circle",
        source: "valves",
        paint: {
          "circle-radius": 7,
          "circle-color": ["case", ["get", "closed"], "#22c55e", "#facc15"],
          "circle-stroke-color": "#0b1526",
          "circle-stroke-width": 2,
        },
      },
      {
        id: "valve-label",
        type: "symbol",
        source: "valves",
        layout: {"text-field": ["to-string", ["get", "order"]], "text-font": FONT, "text-size": 11},
        paint: {"text-color": "#0b1526"},
      },
      {
        id: "area-line",
        type: "line",
        source: "annotations",
        filter: ["!=", ["geometry-type"], "Point"],
        paint: {
          "line-color": symbolColor,
          "line-width": 3,
          "line-dasharray": ["case", ["==", ["get", "symbol"], "cordon"], ["literal", [3, 2]], ["literal", [1, 0]]],
        },
      },
      {
        id: "tracks",
        type: "line",
        source: "tracks",
        paint: {
          "line-color": ["match", ["get", "agency"], ...Object.entries(AGENCY_COLORS).flat(), "#94a3b8"],
          "line-width": 2.5,
          "line-opacity": 0.85,
        },
      },
      {
        id: "symbol-points",
        type: "circle",
        source: "annotations",
        filter: ["==", ["geometry-type"], "Point"],
        paint: {"circle-radius": 9, "circle-color": symbolColor, "circle-stroke-color": "#fff", "circle-stroke-width": 2},
      },
      {
        id: "units",
        type: "circle",
        source: "units",
        paint: {
          "circle-radius": 7,
          "circle-color": ["match", ["get", "agency"], ...Object.entries(AGENCY_COLORS).flat(), "#94a3b8"],
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 2,
        },
      },
      {
        id: "unit-label",
        type: "symbol",
        source: "units",
        layout: {"text-field": ["get", "call_sign"], "text-font": FONT, "text-size": 12, "text-offset": [0, 1.3]},
        paint: {"text-color": "#fff", "text-halo-color": "#0b1526", "text-halo-width": 1.4},
      },
      {
        id: "incident",
        type: "circle",
        source: "incident",
        paint: {"circle-radius": 12, "circle-color": "#ef4444", "circle-stroke-color": "#fde68a", "circle-stroke-width": 3},
      },
      {
        id: "draft-line",
        type: "line",
        source: "draft",
        paint: {"line-color": "#fbbf24", "line-width": 2, "line-dasharray": [2, 1]},
      },
      {id: "draft-points", type: "circle", source: "draft", paint: {"circle-radius": 4, "circle-color": "#fbbf24"}},
    ],
  };
}

// --- rendering the situation ---

const units = new Map();

function unitPoints() {
  return {
    type: "FeatureCollection",
    features: [...units.values()].filter((u) => u.position).map((u) => ({
      type: "Feature",
      id: u.vehicle_id,
      geometry: {type: "Point", coordinates: u.position},
      properties: {call_sign: u.call_sign, agency: u.agency},
    })),
  };
}

function render(map, data) {
  const props = data.incident.properties;
  document.getElementById("fact-type").textContent = props.type_label;
  document.getElementById("fact-status").textContent = props.status_label;
  document.getElementById("fact-address").textContent = props.address || "—";
  const population = data.population;
  document.getElementById("fact-population").textContent = !population.available
    ? strings.notAvailable
    : `${population.total ?? 0} ${strings.people}`;
  document.getElementById("fact-isolation").textContent = data.isolation.length
    ? data.isolation
        .map(
          (o) =>
            `${o.number} ${o.status_label} · ${o.customer_count} ${strings.customers} · ` +
            `${strings.valvesClosed} ${o.closed_valve_count}/${o.valve_count}`,
        )
        .join("; ")
    : strings.none;

  map.getSource("incident").setData({type: "FeatureCollection", features: [data.incident]});
  map.getSource("annotations").setData(data.annotations);
  map.getSource("tracks").setData({
    type: "FeatureCollection",
    features: data.units.features.filter((f) => f.geometry),
  });
  document.getElementById("isolation-legend").hidden = !data.isolation.length;
  for (const part of ["pipes", "valves", "customers"]) {
    map.getSource(part).setData({type: "FeatureCollection", features: data.isolation.flatMap((o) => o[part].features)});
  }
  units.clear();
  for (const unit of data.units.features) units.set(unit.properties.vehicle_id, {...unit.properties});
  map.getSource("units").setData(unitPoints());

  const unitList = document.getElementById("unit-list");
  unitList.replaceChildren(
    ...data.units.features.map((unit) => {
      return el("li", {}, el("span", {}, `${unit.properties.call_sign} · ${unit.properties.kind_label}`), el("span", {}, unit.properties.status_label));
    }),
  );
  const annotationList = document.getElementById("annotation-list");
  annotationList.replaceChildren(
    ...data.annotations.features.map((feature) => {
      const remove = async () => {
        await api(`/api/leader/incidents/${incidentId}/annotations/${feature.id}/`, {method: "DELETE"});
        await reload(map);
      };
      return el(
        "li",
        {dataset: {symbol: feature.properties.symbol}},
        el("span", {}, `${feature.properties.symbol_label} ${feature.properties.label}`.trim()),
        mayRemove(feature) ? el("button", {type: "button", onclick: remove}, annotationList.dataset.delete) : null,
      );
    }),
  );
  const timeline = document.getElementById("timeline");
  timeline.replaceChildren(
    ...data.timeline.map((entry) => {
      return el(
        "li",
        {},
        el("time", {datetime: entry.at}, new Date(entry.at).toLocaleString()),
        entry.actor ? `${entry.text} — ${entry.actor}` : entry.text,
      );
    }),
  );
}

async function reload(map) {
  try {
    render(map, await api(`/api/leader/incidents/${incidentId}/situation/`));
    showMessage("");
  } catch (error) {
    showMessage(error.message || strings.loadFailed);
  }
}

// --- drawing ---

function setupDrawing(map) {
  const tools = document.getElementById("symbol-tools");
  const finish = document.getElementById("draw-finish");
  const cancel = document.getElementById("draw-cancel");
  let symbol = null;
  let vertices = [];

  for (const button of tools.querySelectorAll("button")) {
    button.querySelector("i").style.background = SYMBOLS[button.dataset.symbol].color;
    button.addEventListener("click", () => start(button.dataset.symbol));
  }
  const drawDraft = () => {
    const features = vertices.map((c) => ({type: "Feature", geometry: {type: "Point", coordinates: c}, properties: {}}));
    if (vertices.length > 1) {
      features.push({type: "Feature", geometry: {type: "LineString", coordinates: vertices}, properties: {}});
    }
    map.getSource("draft").setData({type: "FeatureCollection", features});
  };
  const stop = () => {
    symbol = null;
    vertices = [];
    drawDraft();
    map.getCanvas().style.cursor = "";
    for (const button of tools.querySelectorAll("button")) button.removeAttribute("aria-pressed");
    finish.disabled = cancel.disabled = true;
  };
  function start(name) {
    stop();
    symbol = name;
    tools.querySelector(`[data-symbol="${name}"]`).setAttribute("aria-pressed", "true");
    map.getCanvas().style.cursor = "crosshair";
    cancel.disabled = false;
  }
  const save = async (geometry) => {
    const label = document.getElementById("draw-label").value;
    try {
      await api(`/api/leader/incidents/${incidentId}/annotations/`, {json: {symbol, geometry, label}});
      document.getElementById("draw-label").value = "";
      stop();
      await reload(map);
    } catch (error) {
      showMessage(error.message);
    }
  };
  map.on("click", (event) => {
    if (!symbol) return;
    const point = [event.lngLat.lng, event.lngLat.lat];
    if (SYMBOLS[symbol].draws === "Point") {
      save({type: "Point", coordinates: point});
      return;
    }
    vertices.push(point);
    drawDraft();
    finish.disabled = vertices.length < (SYMBOLS[symbol].draws === "Polygon" ? 3 : 2);
  });
  finish.addEventListener("click", () => {
    if (SYMBOLS[symbol].draws === "Polygon") save({type: "Polygon", coordinates: [[...vertices, vertices[0]]]});
    else save({type: "LineString", coordinates: vertices});
  });
  cancel.addEventListener("click", stop);
}

// --- live ---

function startLive(map) {
  let timer = null;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => reload(map), RELOAD_DELAY_MS);
  };
  new OpsSocket({
    topics: ["incidents", "vehicles", "pipeline"],
    onEvent: (event) => {
      const data = event.data ?? {};
      if (event.topic === "pipeline" && data.properties?.incident_id !== incidentId) return;
      if (data.id === incidentId || data.properties?.incident_id === incidentId || data.properties?.id === incidentId) {
        later();
      }
    },
    onPositions: (_topic, features) => {
      let moved = false;
      for (const feature of features) {
        const unit = units.get(feature.id);
        if (unit && feature.geometry) {
          unit.position = feature.geometry.coordinates;
          moved = true;
        }
      }
      if (moved) map.getSource("units").setData(unitPoints());
    },
  }).start();
}

/** Emergency resources and hazard circles around the incident (resources/overlay.js), below the drawn symbols. */
async function showResources(map) {
  try {
    await addResourceOverlay(map, {below: ["annotations", "pipes", "units", "incident"]});
  } catch {
    // the situation map stands without them
  }
}

async function main() {
  const map = createMap("map", {style: buildStyle(), navigation: {visualizePitch: true}, zoom: 15, minZoom: 0, maxZoom: 22});
  try {
    const [districts, roads, data] = await Promise.all([
      api("/api/core/areas/?level=district"),
      api("/api/gis/roads/"),
      api(`/api/leader/incidents/${incidentId}/situation/`),
      map.once("load"),
    ]);
    map.getSource("districts").setData(districts);
    map.getSource("roads").setData(roads);
    render(map, data);
    await showResources(map);
    map.jumpTo({center: data.incident.geometry.coordinates, zoom: 15.5});
    await map.once("idle");
    document.body.dataset.mapReady = "1";
  } catch (error) {
    showMessage(strings.loadFailed);
    throw error;
  }
  setupDrawing(map);
  startLive(map);
}

main();
