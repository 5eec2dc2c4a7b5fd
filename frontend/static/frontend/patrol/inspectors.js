/**
 * Inspectors on shift on a city-management map (/grid/ case centre, /grid/wall/): their last position coloured
 * by attendance state (patrol/attendance.py), named with their state. Kept from the live feed's "inspectors" topic
 * (nothing polls): its snapshot, and every 30 s the whole roster, replace them; a batch from an inspector's tablet
 * moves that one at once; one whose shift ended comes as state "off" and is dropped.
 */
import {collection, emptyCollection} from "../lib/geo.js";
import {FONTS} from "../lib/map.js";

export const STATE_COLORS = {on_duty: "#1fb57a", away: "#f0a020", silent: "#e0413a", not_started: "#7d8aa3"};
export const OFF_DUTY = "off";

/** The roster held from the live feed: features by inspector id, listed by name. */
export class InspectorRoster {
  constructor() {
    this.byId = new Map();
  }

  replace(features) {
    this.byId.clear();
    this.upsert(features);
  }

  upsert(features) {
    for (const feature of features) {
      if (feature.properties.state === OFF_DUTY) this.byId.delete(feature.id);
      else this.byId.set(feature.id, feature);
    }
  }

  list() {
    return [...this.byId.values()].sort((a, b) => a.properties.name.localeCompare(b.properties.name, "zh-CN"));
  }
}

/** The inspectors with a position, labelled with name and state, for the map. */
export function inspectorFeatures(roster) {
  return collection(
    roster
      .list()
      .filter((f) => f.geometry !== null)
      .map((f) => ({...f, properties: {...f.properties, label: `${f.properties.name} ${f.properties.state_label}`}})),
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

export function paintInspectorLayer(map, roster) {
  map?.getSource("inspectors")?.setData(inspectorFeatures(roster));
}
