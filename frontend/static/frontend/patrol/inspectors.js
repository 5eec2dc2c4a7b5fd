/**
 * Inspectors on shift on a city-management map (/grid/ case centre, /grid/wall/): their last position coloured
 * by attendance state (patrol/attendance.py), named with their state. Read from /api/patrol/on-duty/.
 */
import {api} from "../lib/api.js";
import {collection, emptyCollection} from "../lib/geo.js";
import {FONTS} from "../lib/map.js";

export const STATE_COLORS = {on_duty: "#1fb57a", away: "#f0a020", silent: "#e0413a", not_started: "#7d8aa3"};

export async function inspectorsOnDuty() {
  return (await api("/api/patrol/on-duty/")).inspectors;
}

/** The inspectors with a position as GeoJSON points. */
export function inspectorFeatures(inspectors) {
  return collection(
    inspectors
      .filter((i) => i.lon !== null && i.lat !== null)
      .map((i) => ({type: "Feature", id: i.id, geometry: {type: "Point", coordinates: [i.lon, i.lat]}, properties: {name: i.name, state: i.state, label: `${i.name} ${i.state_label}`}})),
  );
}

/** Adds the "inspectors" source and its layers (a square marker, a label from zoom 13) to a loaded map. */
export function addInspectorLayer(map) {
  map.addSource("inspectors", {type: "geojson", data: emptyCollection()});
  const color = ["match", ["get", "state"], ...Object.entries(STATE_COLORS).flat(), "#7d8aa3"];
  map.addLayer({id: "inspectors", type: "circle", source: "inspectors", paint: {"circle-radius": 7, "circle-color": "#0a1424", "circle-stroke-color": color, "circle-stroke-width": 3}});
  map.addLayer({
    id: "inspector-labels",
    type: "symbol",
    source: "inspectors",
    minzoom: 13,
    layout: {"text-field": ["get", "label"], "text-font": FONTS, "text-size": 12, "text-offset": [0, 1.3], "text-anchor": "top"},
    paint: {"text-color": color, "text-halo-color": "#0a1424", "text-halo-width": 1.2},
  });
}

export function paintInspectorLayer(map, inspectors) {
  map?.getSource("inspectors")?.setData(inspectorFeatures(inspectors));
}
