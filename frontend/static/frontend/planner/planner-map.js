/**
 * The planner workbench's map style: roads underneath, one source per pipe network (coloured by utility),
 * and the analysis overlays (isolation, connectivity run, clearance violations, replacement warnings).
 * No glyphs URL: MapLibre draws labels with the local fonts named in `text-font` (offline intranet).
 */
import {emptySources} from "../lib/geo.js";
import {FONTS as FONT} from "../lib/map.js";

export const UTILITY_COLORS = {
  water: "#1f6fd1",
  gas: "#e39b00",
  drainage: "#7b5a3c",
  heat: "#d2412c",
  power: "#8a3fd1",
  telecom: "#1b9e6b",
};
const OPERABILITY_COLORS = ["match", ["get", "operability"], "inoperable", "#e0413a", "unknown", "#f0a020", "#ffffff"];

export function pipeLayerId(code) {
  return `pipes-${code}`;
}

export function baseStyle() {
  return {
    version: 8,
    name: "CityOps planner",
    sources: emptySources(["roads", "isolation", "run", "clearances", "warnings", "picks"]),
    layers: [
      {id: "background", type: "background", paint: {"background-color": "#e6ebf1"}},
      {
        id: "road",
        type: "line",
        source: "roads",
        layout: {"line-cap": "round", "line-join": "round"},
        paint: {
          "line-color": "#ffffff",
          "line-width": ["interpolate", ["exponential", 1.5], ["zoom"], 11, 1, 15, 8, 18, 30],
        },
      },
      {
        id: "road-label",
        type: "symbol",
        source: "roads",
        minzoom: 14,
        layout: {
          "symbol-placement": "line",
          "text-field": ["get", "name"],
          "text-font": FONT,
          "text-size": 12,
        },
        paint: {"text-color": "#8391a7", "text-halo-color": "#ffffff", "text-halo-width": 1.4},
      },
    ],
  };
}

/** Lines, valves and sources of one network, inserted below the analysis overlays. */
export function addNetworkLayers(map, network, data) {
  const color = UTILITY_COLORS[network.utility] ?? "#555";
  const source = `net-${network.code}`;
  map.addSource(source, {type: "geojson", data});
  const before = map.getLayer("isolation-outage") ? "isolation-outage" : undefined;
  map.addLayer(
    {
      id: pipeLayerId(network.code),
      type: "line",
      source,
      filter: ["==", ["get", "kind"], "pipe"],
      layout: {"line-cap": "round", "line-join": "round"},
      paint: {
        "line-color": color,
        "line-width": [
          "interpolate", ["linear"], ["zoom"],
          12, ["interpolate", ["linear"], ["coalesce", ["get", "diameter_mm"], 200], 100, 0.8, 1000, 2.5],
          17, ["interpolate", ["linear"], ["coalesce", ["get", "diameter_mm"], 200], 100, 3, 1000, 9],
        ],
        "line-opacity": 0.85,
      },
    },
    before,
  );
  map.addLayer(
    {
      id: `valves-${network.code}`,
      type: "circle",
      source,
      minzoom: 14.5,
      filter: ["==", ["get", "kind"], "valve"],
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 14.5, 2.5, 18, 6],
        "circle-color": ["case", ["==", ["get", "normal_state"], "closed"], "#1f2d45", OPERABILITY_COLORS],
        "circle-stroke-color": color,
        "circle-stroke-width": 1.5,
      },
    },
    before,
  );
  map.addLayer(
    {
      id: `sources-${network.code}`,
      type: "circle",
      source,
      filter: ["==", ["get", "kind"], "source"],
      paint: {"circle-radius": 8, "circle-color": color, "circle-stroke-color": "#ffffff", "circle-stroke-width": 3},
    },
    before,
  );
}

export function setNetworkVisible(map, code, visible) {
  for (const prefix of ["pipes", "valves", "sources"]) {
    map.setLayoutProperty(`${prefix}-${code}`, "visibility", visible ? "visible" : "none");
  }
}

/** Overlays, above every network. */
export function addOverlayLayers(map) {
  const role = (name) => ["==", ["get", "role"], name];
  const layers = [
    {
      id: "warnings-pipes",
      type: "line",
      source: "warnings",
      filter: ["==", ["get", "kind"], "pipe"],
      layout: {"line-cap": "round", visibility: "none"},
      paint: {
        "line-color": ["match", ["get", "level"], "replace", "#c2410c", "#f0a020"],
        "line-width": ["interpolate", ["linear"], ["zoom"], 12, 3, 17, 10],
        "line-opacity": 0.55,
      },
    },
    {
      id: "warnings-valves",
      type: "circle",
      source: "warnings",
      filter: ["==", ["get", "kind"], "valve"],
      layout: {visibility: "none"},
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 3, 17, 8],
        "circle-color": ["match", ["get", "level"], "replace", "#c2410c", "#f0a020"],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1,
      },
    },
    {
      id: "clearance-points",
      type: "circle",
      source: "clearances",
      layout: {visibility: "none"},
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 4, 17, 9],
        "circle-color": ["match", ["get", "status"], "error", "#e0413a", "warning", "#f0a020", "#7a869a"],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 2,
      },
    },
    {
      id: "run-line",
      type: "line",
      source: "run",
      layout: {"line-cap": "round", "line-join": "round"},
      paint: {"line-color": "#14b8a6", "line-width": 7, "line-opacity": 0.75},
    },
    {
      id: "isolation-outage",
      type: "line",
      source: "isolation",
      filter: role("outage"),
      layout: {"line-cap": "round"},
      paint: {"line-color": "#f08c00", "line-width": 5, "line-dasharray": [2, 1.2]},
    },
    {
      id: "isolation-pipes",
      type: "line",
      source: "isolation",
      filter: role("isolated"),
      layout: {"line-cap": "round", "line-join": "round"},
      paint: {"line-color": "#d40000", "line-width": 7, "line-opacity": 0.85},
    },
    {
      id: "isolation-customers",
      type: "circle",
      source: "isolation",
      filter: role("customer"),
      paint: {
        "circle-radius": ["case", ["get", "sensitive"], 7, 3.5],
        "circle-color": ["case", ["get", "sensitive"], "#a00000", "#7a00b4"],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1,
      },
    },
    {
      id: "isolation-closed-valves",
      type: "circle",
      source: "isolation",
      filter: role("closed-valve"),
      paint: {"circle-radius": 6, "circle-color": "#1f2d45", "circle-stroke-color": "#ffffff", "circle-stroke-width": 2},
    },
    {
      id: "isolation-valves",
      type: "circle",
      source: "isolation",
      filter: ["any", role("valve"), role("failed-valve")],
      paint: {
        // Valves at one tee sit a few metres apart: smaller rings until the map is close enough to separate them.
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 14, 6, 18, 11],
        "circle-color": ["case", role("failed-valve"), "#e0413a", "#ffffff"],
        "circle-stroke-color": ["case", role("failed-valve"), "#ffffff", "#0050b4"],
        "circle-stroke-width": 3,
      },
    },
    {
      id: "isolation-valve-labels",
      type: "symbol",
      source: "isolation",
      filter: role("valve"),
      layout: {
        "text-field": ["to-string", ["get", "order"]],
        "text-font": FONT,
        "text-size": ["interpolate", ["linear"], ["zoom"], 14, 9, 18, 13],
        "text-allow-overlap": true,
        "text-ignore-placement": true,
      },
      paint: {"text-color": "#0050b4"},
    },
    {
      id: "isolation-burst",
      type: "circle",
      source: "isolation",
      filter: role("burst"),
      paint: {"circle-radius": 9, "circle-color": "#d40000", "circle-stroke-color": "#ffffff", "circle-stroke-width": 3},
    },
    {
      id: "picks",
      type: "circle",
      source: "picks",
      paint: {"circle-radius": 7, "circle-color": "#14b8a6", "circle-stroke-color": "#ffffff", "circle-stroke-width": 2},
    },
  ];
  for (const layer of layers) map.addLayer(layer);
}

/** The isolation answer as one FeatureCollection, each feature tagged with its `role` for the layers above. */
export function isolationFeatures(result, failedValves) {
  const features = [];
  for (const pipe of result.outage.pipes.features) features.push({...pipe, properties: {...pipe.properties, role: "outage"}});
  for (const pipe of result.isolated.pipes.features) {
    features.push({...pipe, properties: {...pipe.properties, role: "isolated"}});
  }
  for (const customer of result.customers.items) {
    features.push({
      type: "Feature",
      geometry: customer.geometry,
      properties: {role: "customer", name: customer.name, sensitive: customer.sensitive},
    });
  }
  for (const valve of result.closed_boundary_valves) {
    features.push({type: "Feature", geometry: valve.geometry, properties: {role: "closed-valve", code: valve.code}});
  }
  for (const valve of result.valves_to_close) {
    features.push({
      type: "Feature",
      geometry: valve.geometry,
      properties: {role: "valve", id: valve.id, code: valve.code, order: valve.order},
    });
  }
  for (const valve of failedValves.values()) {
    features.push({type: "Feature", geometry: valve.geometry, properties: {role: "failed-valve", id: valve.id, code: valve.code}});
  }
  features.push({type: "Feature", geometry: result.burst.point, properties: {role: "burst"}});
  return {type: "FeatureCollection", features};
}
