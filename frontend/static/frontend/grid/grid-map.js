/**
 * The map of the city-management screens: districts and roads from our own API (no outside tiles, no
 * glyph server: labels use local fonts), unit grids, and cases coloured by their timer.
 */
import {api} from "../lib/api.js";
import {emptyCollection as empty, emptySources} from "../lib/geo.js";
import {FONTS, createMap as createBaseMap} from "../lib/map.js";

export const TIMER_COLORS = {green: "#1fb57a", yellow: "#f0a020", red: "#e0413a"};

const THEMES = {
  light: {background: "#dbe3ec", district: "#f3f1ea", districtLine: "#7d8aa3", road: "#ffffff", roadCasing: "#c3ccd9", grid: "#6b7fa8", label: "#24324b", halo: "#ffffff"},
  dark: {background: "#0a1424", district: "#13223a", districtLine: "#3d5680", road: "#2a3c5a", roadCasing: "#1a2a44", grid: "#5d86c9", label: "#c4d3ee", halo: "#0a1424"},
};

function style(theme) {
  const t = THEMES[theme];
  return {
    version: 8,
    sources: emptySources(["districts", "roads", "grids"], ["grids"]),
    layers: [
      {id: "background", type: "background", paint: {"background-color": t.background}},
      {id: "district-fill", type: "fill", source: "districts", paint: {"fill-color": t.district}},
      {id: "road-casing", type: "line", source: "roads", minzoom: 11, paint: {"line-color": t.roadCasing, "line-width": ["interpolate", ["exponential", 1.5], ["zoom"], 11, 1.5, 18, 14]}},
      {id: "road", type: "line", source: "roads", paint: {"line-color": t.road, "line-width": ["interpolate", ["exponential", 1.5], ["zoom"], 10, 0.5, 18, 11]}},
      {id: "district-line", type: "line", source: "districts", paint: {"line-color": t.districtLine, "line-width": 1.4}},
      {id: "grid-fill", type: "fill", source: "grids", paint: {"fill-color": ["case", [">", ["coalesce", ["get", "open_cases"], 0], 0], TIMER_COLORS.yellow, t.grid], "fill-opacity": ["case", [">", ["coalesce", ["get", "open_cases"], 0], 0], 0.22, ["case", ["boolean", ["get", "mine"], false], 0.18, 0.04]]}},
      {id: "grid-line", type: "line", source: "grids", paint: {"line-color": t.grid, "line-width": ["case", ["boolean", ["get", "mine"], false], 2, 0.6], "line-opacity": 0.8}},
      {id: "grid-label", type: "symbol", source: "grids", minzoom: 15, layout: {"text-field": ["get", "code"], "text-font": FONTS, "text-size": 10}, paint: {"text-color": t.label, "text-halo-color": t.halo, "text-halo-width": 1.2}},
    ],
  };
}

/** Adds a circle layer of cases from GeoJSON source `id`, coloured by timer_state, the selected one ringed. */
export function addCaseLayer(map, id, theme = "light") {
  map.addSource(id, {type: "geojson", data: empty(), promoteId: "id"});
  map.addLayer({
    id,
    type: "circle",
    source: id,
    paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 5, 16, 10],
      "circle-color": ["match", ["get", "timer_state"], "red", TIMER_COLORS.red, "yellow", TIMER_COLORS.yellow, "green", TIMER_COLORS.green, "#7d8aa3"],
      "circle-stroke-color": ["case", ["boolean", ["feature-state", "selected"], false], theme === "dark" ? "#ffffff" : "#12264a", theme === "dark" ? "#0a1424" : "#ffffff"],
      "circle-stroke-width": ["case", ["boolean", ["feature-state", "selected"], false], 4, 1.5],
    },
  });
}

/**
 * A map in `container` with districts and roads; `ready` resolves once they are drawn (map `idle`), and
 * sets `document.body.dataset.mapReady` for the browser tests.
 */
export function createMap(container, {theme = "light"} = {}) {
  const map = createBaseMap(container, {style: style(theme), navigation: {showCompass: false}});
  const ready = (async () => {
    const [districts, roads] = await Promise.all([
      api("/api/core/areas/?level=district"),
      api("/api/gis/roads/"),
      map.once("load"),
    ]);
    map.getSource("districts").setData(districts);
    map.getSource("roads").setData(roads);
    await map.once("idle");
    document.body.dataset.mapReady = "1";
    return map;
  })();
  return {map, ready};
}
