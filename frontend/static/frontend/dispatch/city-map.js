/**
 * What the command wall and the dispatcher console share: the dark city map (the vector-tile basemap when
 * the server has one, otherwise districts and roads from our own API), agency colours, the heading arrow
 * drawn in the page, and the incident and vehicle layers.
 *
 * Nothing here is fetched from outside the intranet: no glyph server (labels use local fonts, lib/map.js),
 * no sprite (vehicle arrows are drawn on a canvas and added with map.addImage).
 */
import {INCIDENT_CLOSED, INCIDENT_CREATED, INCIDENT_RESPONSE_CHANGED, INCIDENT_UPDATED} from "/events.js";

import {api} from "../lib/api.js";
import {el} from "../lib/dom.js";
import {collection, emptySources, extentOf} from "../lib/geo.js";
import {FONTS, cityHome, createMap} from "../lib/map.js";

export const AGENCIES = ["110", "119", "120", "122"];
// 110 police blue, 119 fire red, 120 ambulance green (drawn with white), 122 traffic police amber.
export const AGENCY_COLORS = {110: "#3b82f6", 119: "#ef4444", 120: "#10b981", 122: "#f59e0b"};
const OTHER_COLOR = "#94a3b8";
export const VEHICLE_STATUSES = ["available", "dispatched", "en_route", "on_scene", "returning", "out_of_service"];
const STATUS_RING = {dispatched: "#facc15", en_route: "#38bdf8", on_scene: "#f472b6", out_of_service: "#475569"};

// --- styling helpers ---

export const agencyColor = (agency) => AGENCY_COLORS[agency] ?? OTHER_COLOR;

/** A MapLibre expression picking the agency colour of property `prop`. */
export function byAgency(prop = "agency") {
  return ["match", ["to-string", ["get", prop]], ...Object.entries(AGENCY_COLORS).flat(), OTHER_COLOR];
}

/**
 * A heading arrow per agency colour, drawn once on a canvas. Pointing north at rotation 0, so that
 * `icon-rotate: heading` (degrees clockwise from north, as GPS reports it) turns it the right way.
 */
export function addVehicleImages(map) {
  const size = 48;
  const ratio = 2;
  for (const [agency, color] of [...Object.entries(AGENCY_COLORS), ["other", OTHER_COLOR]]) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = size;
    const g = canvas.getContext("2d");
    g.translate(size / 2, size / 2);
    g.beginPath();
    g.moveTo(0, -20);
    g.lineTo(14, 16);
    g.lineTo(0, 8);
    g.lineTo(-14, 16);
    g.closePath();
    g.lineJoin = "round";
    g.lineWidth = 4;
    g.strokeStyle = agency === "120" ? "#ffffff" : "#0b1220";
    g.stroke();
    g.fillStyle = color;
    g.fill();
    if (agency === "120") {
      // The ambulance's white cross, so that 120 reads as green-and-white.
      g.fillStyle = "#ffffff";
      g.fillRect(-2, -4, 4, 12);
      g.fillRect(-6, 0, 12, 4);
    }
    map.addImage(`vehicle-${agency}`, g.getImageData(0, 0, size, size), {pixelRatio: ratio});
  }
}

export function vehicleIcon() {
  return ["match", ["to-string", ["get", "agency"]], ...AGENCIES.flatMap((a) => [a, `vehicle-${a}`]), "vehicle-other"];
}

// --- the map ---

const DARK = {
  background: "#0a1322",
  district: "#101d33",
  districtLine: "#3b5b8c",
  road: {expressway: "#7c5a2a", arterial: "#5d5a3c", secondary: "#34465f", branch: "#26354b"},
};

function ownBaseLayers() {
  const roadWidth = (scale) => [
    "interpolate",
    ["exponential", 1.5],
    ["zoom"],
    10,
    ["*", scale, ["match", ["get", "road_class"], "expressway", 1.4, "arterial", 1, "secondary", 0.6, 0.3]],
    16,
    ["*", scale, ["match", ["get", "road_class"], "expressway", 12, "arterial", 9, "secondary", 6, 3]],
  ];
  return [
    {id: "background", type: "background", paint: {"background-color": DARK.background}},
    {id: "district-fill", type: "fill", source: "districts", paint: {"fill-color": DARK.district}},
    {
      id: "road",
      type: "line",
      source: "roads",
      layout: {"line-cap": "round", "line-join": "round"},
      paint: {
        "line-color": ["match", ["get", "road_class"], ...Object.entries(DARK.road).flat(), DARK.road.branch],
        "line-width": roadWidth(1),
      },
    },
    {
      id: "district-boundary",
      type: "line",
      source: "districts",
      paint: {"line-color": DARK.districtLine, "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 15, 2.4]},
    },
    {
      id: "district-label",
      type: "symbol",
      source: "district-labels",
      layout: {
        "text-field": ["get", "name"],
        "text-font": FONTS,
        "text-size": ["interpolate", ["linear"], ["zoom"], 9, 12, 13, 18],
        "text-letter-spacing": 0.2,
      },
      paint: {"text-color": "rgba(150, 180, 225, 0.55)"},
    },
  ];
}

/**
 * Property `field` written under each point of `source` (`offset` ems down, `halo` px of the map's dark outline),
 * from `minzoom` on; where labels collide the point is still drawn without its label.
 */
function labelBelow(id, source, {minzoom, field, size, offset, color, halo}) {
  return {
    id,
    type: "symbol",
    source,
    minzoom,
    layout: {
      "text-field": ["get", field],
      "text-font": FONTS,
      "text-size": size,
      "text-offset": [0, offset],
      "text-anchor": "top",
      "text-optional": true,
    },
    paint: {"text-color": color, "text-halo-color": "#0a1322", "text-halo-width": halo},
  };
}

/** Incident circles (size by priority, fill by the lead agency, ring by a joined one) and their labels. */
function incidentLayers() {
  const radius = (scale) => [
    "interpolate",
    ["linear"],
    ["zoom"],
    10,
    ["*", scale, ["match", ["get", "priority"], 1, 11, 2, 8.5, 3, 6.5, 5]],
    16,
    ["*", scale, ["match", ["get", "priority"], 1, 22, 2, 17, 3, 13, 10]],
  ];
  return [
    {
      id: "incident-pulse",
      type: "circle",
      source: "incidents",
      filter: ["<=", ["get", "priority"], 2],
      paint: {
        "circle-radius": radius(2),
        "circle-color": byAgency("lead_agency"),
        "circle-opacity": 0.25,
        "circle-blur": 0.4,
      },
    },
    {
      id: "incident",
      type: "circle",
      source: "incidents",
      paint: {
        "circle-radius": radius(1),
        "circle-color": byAgency("lead_agency"),
        "circle-stroke-color": ["case", ["has", "joint_agency"], byAgency("joint_agency"), "#ffffff"],
        "circle-stroke-width": ["case", ["has", "joint_agency"], 4, 2],
      },
    },
    {
      id: "incident-selected",
      type: "circle",
      source: "incidents",
      filter: ["==", ["id"], -1],
      paint: {
        "circle-radius": radius(1.6),
        "circle-color": "rgba(0,0,0,0)",
        "circle-stroke-color": "#fde047",
        "circle-stroke-width": 3,
      },
    },
    labelBelow("incident-label", "incidents", {minzoom: 11, field: "type_label", size: 13, offset: 1.6, color: "#e2e8f0", halo: 1.5}),
  ];
}

function vehicleLayers() {
  return [
    {
      id: "vehicle-status",
      type: "circle",
      source: "vehicles",
      filter: ["match", ["get", "status"], Object.keys(STATUS_RING), true, false],
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 8, 16, 16],
        "circle-color": "rgba(0,0,0,0)",
        "circle-stroke-width": 2,
        "circle-stroke-color": ["match", ["get", "status"], ...Object.entries(STATUS_RING).flat(), "#ffffff"],
      },
    },
    {
      id: "vehicle",
      type: "symbol",
      source: "vehicles",
      layout: {
        "icon-image": vehicleIcon(),
        "icon-rotate": ["coalesce", ["get", "heading"], 0],
        "icon-rotation-alignment": "map",
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
        "icon-size": ["interpolate", ["linear"], ["zoom"], 10, 0.55, 16, 1],
      },
    },
    labelBelow("vehicle-label", "vehicles", {minzoom: 13.5, field: "call_sign", size: 11, offset: 1.5, color: "#cbd5e1", halo: 1.2}),
  ];
}

const OVERLAY_SOURCES = emptySources(["incidents", "vehicles", "pick"]);

function ownStyle() {
  return {
    version: 8,
    name: "CityOps dark",
    sources: {...emptySources(["districts", "roads", "district-labels"]), ...OVERLAY_SOURCES},
    layers: [...ownBaseLayers(), ...incidentLayers(), ...vehicleLayers()],
  };
}

/** The tile server's style with our overlay sources and layers appended (same-origin, so offline-safe). */
async function tileStyle(url) {
  const style = await api(url);
  style.sources = {...style.sources, ...OVERLAY_SOURCES};
  style.layers = [...style.layers, ...incidentLayers(), ...vehicleLayers()];
  return style;
}

function centerLabels(districts) {
  // The centre of each district's bounding box: good enough for a faint background label.
  return collection(
    districts.features.map((feature) => {
      const [a, b, c, d] = extentOf([feature]);
      return {
        type: "Feature",
        properties: {name: feature.properties.name},
        geometry: {type: "Point", coordinates: [(a + c) / 2, (b + d) / 2]},
      };
    }),
  );
}

/**
 * Creates the map in `container` and resolves once it has drawn the city (the profile's boundary fitted in
 * view): `{map, cityBounds}`.
 * `basemap` is the tile style URL when the server has one, else "" (districts and roads from our API);
 * `padding` keeps the fitted city clear of panels floating over the map (px or {top, right, bottom, left});
 * `scale` enlarges it for a wall larger than 1920×1080 and `navigation` adds zoom buttons (lib/map.js createMap).
 */
export async function createCityMap(container, {basemap, padding = 40, scale = 1, navigation = false}) {
  const districts = api("/api/core/areas/?level=district");
  const style = basemap ? await tileStyle(basemap) : ownStyle();
  const map = createMap(container, {style, navigation, scaleBar: false, scale});
  await map.once("load");
  addVehicleImages(map);
  const areas = await districts;
  if (!basemap) {
    const roads = await api("/api/gis/roads/");
    map.getSource("districts").setData(areas);
    map.getSource("district-labels").setData(centerLabels(areas));
    map.getSource("roads").setData(roads);
  }
  const cityBounds = cityHome().bounds;
  if (cityBounds) map.fitBounds(cityBounds, {padding, duration: 0});
  await map.once("idle");
  return {map, cityBounds};
}

// --- incident lists ---

/** Most urgent first, then the latest call: the order of the console's and the wall's incident lists. */
export function incidentOrder(a, b) {
  const pa = a.properties;
  const pb = b.properties;
  return pa.priority - pb.priority || String(pb.times?.call_received).localeCompare(String(pa.times?.call_received));
}

/**
 * An incident's list item, classed by priority and carrying its id and status as data; its head shows
 * `priorityText` and the priority, a chip per agency, then `headEnd`.
 */
export function incidentListItem(feature, priorityText, ...headEnd) {
  const p = feature.properties;
  const chips = (p.agencies ?? []).map((agency) => el("span", {class: "agency-chip", style: {"--agency": agencyColor(agency)}}, agency));
  // The response level of an activated plan (分级响应), as the plans write it: Ⅲ级.
  const level = p.response_level ? el("span", {class: "response-level", dataset: {level: p.response_level}}, `${LEVEL_NUMERALS[p.response_level]}级`) : [];
  // A drill's incident (预案推演) is marked as one wherever it is listed.
  const exercise = p.exercise ? el("span", {class: "exercise-chip"}, "演练") : [];
  const head = el("div", {class: "incident-head"}, el("span", {class: "priority"}, `${priorityText}${p.priority}`), exercise, level, chips, headEnd);
  return el("li", {class: `incident priority-${p.priority}`, dataset: {id: feature.id, status: p.status}}, head);
}

// The events that carry an incident's new state.
export const INCIDENT_CHANGES = new Set([INCIDENT_CREATED, INCIDENT_UPDATED, INCIDENT_CLOSED, INCIDENT_RESPONSE_CHANGED]);
const LEVEL_NUMERALS = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"};

/** The incident an incident event carries, marked closed when the event closed it. */
export function incidentFromEvent(type, data) {
  return type === INCIDENT_CLOSED ? {...data, properties: {...data.properties, status: "closed"}} : data;
}

/** Incident Features as the layers draw them: lead agency (the type's) and a joined agency as flat properties. */
export function incidentForMap(feature) {
  const [lead, joint] = feature.properties.agencies ?? [];
  const properties = {...feature.properties, lead_agency: lead ?? ""};
  if (joint) properties.joint_agency = joint;
  return {type: "Feature", id: feature.id, geometry: feature.geometry, properties};
}

/**
 * Redraws a GeoJSON source from a Map of features at most once per `ms`: many deltas, one setData.
 * The Map is the only store; the source is replaced in place, never re-added.
 */
export function throttledSource(map, sourceId, features, ms, transform = (f) => f) {
  let timer = null;
  const draw = () => {
    timer = null;
    map.getSource(sourceId).setData(collection(Array.from(features.values(), transform)));
  };
  return {
    schedule() {
      timer ??= setTimeout(draw, ms);
    },
    now() {
      clearTimeout(timer);
      draw();
    },
  };
}

// --- formatting ---

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}` : `${m}:${String(s % 60).padStart(2, "0")}`;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleTimeString("zh-CN", {hour12: false});
}
