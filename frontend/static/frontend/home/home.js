/**
 * The overview map: districts, sub-districts and roads drawn from our own API, with no basemap from
 * outside (the platform runs on an offline intranet), plus the state of the live feed.
 *
 * The style has no `glyphs` URL on purpose: MapLibre (since 5.11) then draws every label with the
 * local fonts named in `text-font`, so no glyph PBF is ever requested.
 */
import {api} from "../lib/api.js";
import {el} from "../lib/dom.js";
import {emptySources, extentOf, labelPoint} from "../lib/geo.js";
import {FONTS as FONT_REGULAR, FONTS_BOLD as FONT_BOLD, createMap, maplibregl} from "../lib/map.js";
import {OpsSocket, livePill} from "../lib/ops-socket.js";

// Soft fills that tell neighbouring districts apart without fighting the roads drawn over them.
const DISTRICT_COLORS = [
  "#f6e7c8", "#d9ecd4", "#d6e4f5", "#f4dada", "#e5dcf2",
  "#d3ece8", "#efe3cc", "#e2ecce", "#f3dde9", "#dce3ee",
];

// Line widths in px at ROAD_ZOOMS; rank: drawn on top of lower ranks.
const ROAD_ZOOMS = [10, 12, 15, 18];
// Unit colours by agency: 110 police blue, 119 fire red, 120 ambulance green, 122 traffic amber.
const AGENCY_COLORS = {110: "#1d4ed8", 119: "#dc2626", 120: "#059669", 122: "#d97706"};
const ROAD_CLASSES = {
  expressway: {color: "#f49a42", casing: "#c9742a", widths: [1.2, 3.2, 9, 22], rank: 4},
  arterial: {color: "#ffd773", casing: "#d3a93d", widths: [0.8, 2.4, 7, 18], rank: 3},
  secondary: {color: "#ffffff", casing: "#b4bfcf", widths: [0.5, 1.6, 5, 14], rank: 2},
  branch: {color: "#ffffff", casing: "#c9d1dd", widths: [0, 0.8, 3, 10], rank: 1},
};

const strings = document.getElementById("map-strings").dataset;

function byRoadClass(pick, fallback) {
  const match = ["match", ["get", "road_class"]];
  for (const [name, spec] of Object.entries(ROAD_CLASSES)) match.push(name, pick(spec));
  match.push(fallback);
  return match;
}

/** Line width by zoom and class; a casing is the same line drawn `extra` px wider underneath. */
function roadWidth(extra = 0) {
  const expression = ["interpolate", ["exponential", 1.5], ["zoom"]];
  ROAD_ZOOMS.forEach((zoom, i) => {
    expression.push(zoom, byRoadClass((spec) => (spec.widths[i] > 0 ? spec.widths[i] + extra : 0), 0));
  });
  return expression;
}

function buildStyle() {
  const halo = {"text-halo-color": "rgba(255,255,255,0.92)", "text-halo-width": 1.6, "text-halo-blur": 0.4};
  return {
    version: 8,
    name: "CityOps overview",
    sources: emptySources(["districts", "streets", "roads", "district-labels", "street-labels", "vehicles"], ["districts", "streets"]),
    layers: [
      {id: "background", type: "background", paint: {"background-color": "#dbe3ec"}},
      // A soft shadow lifts the city off the background; the opaque fills hide it inside the city.
      {
        id: "city-shadow",
        type: "line",
        source: "districts",
        paint: {"line-color": "rgba(24, 44, 80, 0.35)", "line-width": 16, "line-blur": 14, "line-translate": [0, 5]},
      },
      {id: "district-fill", type: "fill", source: "districts", paint: {"fill-color": ["get", "color"]}},
      // Invisible, but makes sub-districts answer queryRenderedFeatures (popup on click).
      {id: "street-fill", type: "fill", source: "streets", paint: {"fill-color": "#000", "fill-opacity": 0}},
      {
        id: "road-casing",
        type: "line",
        source: "roads",
        layout: {"line-cap": "round", "line-join": "round", "line-sort-key": byRoadClass((s) => s.rank, 0)},
        paint: {"line-color": byRoadClass((s) => s.casing, "#c9d1dd"), "line-width": roadWidth(1.5)},
      },
      {
        id: "road",
        type: "line",
        source: "roads",
        layout: {"line-cap": "round", "line-join": "round", "line-sort-key": byRoadClass((s) => s.rank, 0)},
        paint: {"line-color": byRoadClass((s) => s.color, "#ffffff"), "line-width": roadWidth()},
      },
      // Above the roads: sub-district boundaries mostly run along them.
      {
        id: "street-boundary",
        type: "line",
        source: "streets",
        minzoom: 10.5,
        paint: {
          "line-color": "#8c6cb8",
          "line-width": ["interpolate", ["linear"], ["zoom"], 11, 0.8, 15, 1.8],
          "line-dasharray": [3, 2],
          "line-opacity": 0.8,
        },
      },
      {
        id: "district-boundary-halo",
        type: "line",
        source: "districts",
        paint: {"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 3, 15, 7], "line-opacity": 0.55},
      },
      {
        id: "district-boundary",
        type: "line",
        source: "districts",
        layout: {"line-join": "round"},
        paint: {"line-color": "#5f6f89", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1.2, 15, 2.6]},
      },
      {
        id: "district-hover",
        type: "line",
        source: "districts",
        layout: {"line-join": "round"},
        paint: {
          "line-color": "#2f7cf6",
          "line-width": 3,
          "line-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 1, 0],
        },
      },
      {
        id: "road-label",
        type: "symbol",
        source: "roads",
        minzoom: 13.5,
        filter: ["!=", ["get", "road_class"], "branch"],
        layout: {
          "symbol-placement": "line",
          "symbol-spacing": 320,
          "text-field": ["get", "name"],
          "text-font": FONT_REGULAR,
          "text-size": ["interpolate", ["linear"], ["zoom"], 14, 11, 17, 14],
          "text-max-angle": 30,
        },
        paint: {"text-color": "#4d5566", ...halo},
      },
      {
        id: "street-label",
        type: "symbol",
        source: "street-labels",
        minzoom: 12.3,
        layout: {
          "text-field": ["get", "name"],
          "text-font": FONT_REGULAR,
          "text-size": ["interpolate", ["linear"], ["zoom"], 12.3, 11, 15, 14],
          "text-padding": 4,
        },
        paint: {"text-color": "#56657d", ...halo},
      },
      {
        id: "district-label",
        type: "symbol",
        source: "district-labels",
        layout: {
          "text-field": ["get", "name"],
          "text-font": FONT_BOLD,
          "text-size": ["interpolate", ["linear"], ["zoom"], 9, 12, 12, 17, 15, 24],
          "text-letter-spacing": 0.12,
          "text-allow-overlap": true,
        },
        paint: {"text-color": "#24324b", ...halo, "text-halo-width": 2},
      },
      {
        id: "vehicles",
        type: "circle",
        source: "vehicles",
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 3, 15, 7],
          "circle-color": ["match", ["get", "agency"], ...Object.entries(AGENCY_COLORS).flat(), "#64748b"],
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": 1.5,
        },
      },
    ],
  };
}

function labelCollection(areas) {
  return {
    type: "FeatureCollection",
    features: areas.features.map((area) => ({
      type: "Feature",
      properties: {code: area.properties.code, name: area.properties.name},
      geometry: {type: "Point", coordinates: labelPoint(area.geometry)},
    })),
  };
}

// --- data ---

async function loadAreas() {
  const [districts, streets] = await Promise.all([
    api("/api/core/areas/?level=district"),
    api("/api/core/areas/?level=street"),
  ]);
  // The API carries an area's code as the GeoJSON feature id; styling and lookups read it as a property.
  for (const feature of [...districts.features, ...streets.features]) feature.properties.code ??= String(feature.id);
  districts.features.sort((a, b) => a.properties.code.localeCompare(b.properties.code));
  districts.features.forEach((feature, index) => {
    feature.properties.color = DISTRICT_COLORS[index % DISTRICT_COLORS.length];
  });
  return {districts, streets};
}

function showAreas(map, {districts, streets}) {
  map.getSource("districts").setData(districts);
  map.getSource("streets").setData(streets);
  map.getSource("district-labels").setData(labelCollection(districts));
  map.getSource("street-labels").setData(labelCollection(streets));
  renderDistrictList(map, districts);
}

// --- panel ---

let hoveredDistrict = null;

function setHovered(map, code) {
  if (code === hoveredDistrict) return;
  if (hoveredDistrict !== null) map.setFeatureState({source: "districts", id: hoveredDistrict}, {hover: false});
  if (code !== null) map.setFeatureState({source: "districts", id: code}, {hover: true});
  hoveredDistrict = code;
  for (const button of document.querySelectorAll("#district-list button")) {
    button.classList.toggle("is-hovered", button.dataset.code === code);
  }
}

function renderDistrictList(map, districts) {
  const list = document.getElementById("district-list");
  list.replaceChildren(
    ...districts.features.map((feature) => {
      const {code, name, color} = feature.properties;
      const button = el(
        "button",
        {type: "button", dataset: {code}},
        el("span", {class: "swatch", style: {background: color}}),
        el("span", {class: "name"}, name),
        el("span", {class: "code"}, code),
      );
      button.addEventListener("click", () => map.fitBounds(extentOf([feature]), {padding: mapPadding(), maxZoom: 14}));
      button.addEventListener("mouseenter", () => setHovered(map, code));
      button.addEventListener("mouseleave", () => setHovered(map, null));
      return el("li", {}, button);
    }),
  );
  list.removeAttribute("aria-busy");
  document.getElementById("district-count").textContent = String(districts.features.length);
}

function paintLegend() {
  for (const item of document.querySelectorAll("#road-legend [data-road-class]")) {
    const spec = ROAD_CLASSES[item.dataset.roadClass];
    const swatch = item.querySelector("i");
    swatch.style.height = `${Math.max(3, spec.widths[2] * 0.8)}px`;
    swatch.style.background = spec.color;
    swatch.style.boxShadow = `0 0 0 1.5px ${spec.casing}`;
  }
}

function setupPanelToggle() {
  const toggle = document.getElementById("panel-toggle");
  const body = document.getElementById("panel-body");
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
  };
  // A tablet starts with the map clear; the sheet is one tap away.
  setOpen(!window.matchMedia("(max-width: 860px)").matches);
  toggle.addEventListener("click", () => setOpen(body.hidden));
}

/** Keeps fitted extents clear of the floating panel. */
function mapPadding() {
  const panel = document.getElementById("side-panel").getBoundingClientRect();
  const map = document.getElementById("map").getBoundingClientRect();
  const base = 40;
  if (panel.width > map.width / 2) return {top: base, right: base, left: base, bottom: map.bottom - panel.top + base};
  return {top: base, right: base + 40, bottom: base, left: panel.right - map.left + base};
}

// --- map interactions ---

function setupInteractions(map) {
  map.on("mousemove", "district-fill", (event) => {
    map.getCanvas().style.cursor = "pointer";
    setHovered(map, event.features[0].properties.code);
  });
  map.on("mouseleave", "district-fill", () => {
    map.getCanvas().style.cursor = "";
    setHovered(map, null);
  });
  map.on("click", "district-fill", (event) => {
    const district = event.features[0].properties;
    const street = map.queryRenderedFeatures(event.point, {layers: ["street-fill"]})[0]?.properties;
    new maplibregl.Popup({maxWidth: "18rem"})
      .setLngLat(event.lngLat)
      .setDOMContent(areaPopup(district, street))
      .addTo(map);
  });
}

function areaPopup(district, street) {
  const rows = street
    ? [[strings.district, `${district.name} (${district.code})`], [strings.code, street.code]]
    : [[strings.code, district.code]];
  return el(
    "div",
    {class: "area-popup"},
    el("h3", {}, street ? street.name : district.name),
    el("dl", {}, rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)])),
  );
}

// --- live feed ---

// Positions arrive up to once a second per unit; the source is redrawn at most once a second.
function vehicleLayer(map) {
  const units = new Map();
  let pending = null;
  const redraw = () => {
    pending = null;
    map.getSource("vehicles").setData({type: "FeatureCollection", features: [...units.values()]});
  };
  return {
    replace(features) {
      units.clear();
      this.upsert(features);
    },
    upsert(features) {
      for (const feature of features) units.set(feature.id, feature);
      pending ??= setTimeout(redraw, 1000);
    },
  };
}

function startLiveFeed(map, topics, onAreasChanged) {
  const vehicles = vehicleLayer(map);
  const total = document.getElementById("live-count");
  const topicList = document.getElementById("topic-list");
  const counters = {};
  let received = 0;

  topicList.replaceChildren(
    ...topics.map((topic) => {
      counters[topic] = el("b", {}, "0");
      return el("li", {dataset: {topic}}, topicList.dataset[topic] ?? topic, counters[topic]);
    }),
  );

  const setState = livePill(document.getElementById("live-pill"));
  if (topics.length === 0) {
    setState("stopped");
    return;
  }

  const count = (topic) => {
    received += 1;
    total.textContent = String(received);
    counters[topic].textContent = String(Number(counters[topic].textContent) + 1);
  };
  new OpsSocket({
    topics,
    onStatus: setState,
    onSnapshot: (topic, features) => topic === "vehicles" && vehicles.replace(features),
    onPositions: (topic, features) => {
      count(topic);
      vehicles.upsert(features);
    },
    onEvent: (event) => {
      count(event.topic);
      if (event.topic === "areas") onAreasChanged();
    },
  }).start();
}

function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function showError() {
  const message = document.getElementById("map-message");
  message.textContent = strings.loadFailed;
  message.hidden = false;
}

async function main() {
  setupPanelToggle();
  paintLegend();

  const map = createMap("map", {style: buildStyle(), navigation: {visualizePitch: true}});
  setupInteractions(map);

  const data = Promise.all([loadAreas(), api("/api/gis/roads/")]);
  const me = api("/api/core/me/");
  try {
    const [[areas, roads]] = await Promise.all([data, map.once("load")]);
    map.getSource("roads").setData(roads);
    showAreas(map, areas);
    map.fitBounds(extentOf(areas.districts.features), {padding: mapPadding(), duration: 0});
    await map.once("idle");
    document.body.dataset.mapReady = "1";
  } catch (error) {
    showError();
    throw error;
  }

  const reloadAreas = debounce(async () => showAreas(map, await loadAreas()), 500);
  startLiveFeed(map, (await me).topics, reloadAreas);
}

main();
