/**
 * Emergency resources and hazards as toggleable map layers (应急资源图层): rescue teams, supply depots, shelters
 * and hazard sources with their hazard circles (the server's buffer in the city's metric CRS, from the OGC API
 * collection "hazard_zones"). One module for every map that shows them (the command wall, the situation map, the
 * resources page); the page includes resources/overlay.html, whose panel holds the switches, the legend and the
 * Chinese labels. The rows come from /api/resources/, so each reader sees what the row rule allows; they are read
 * again every few minutes (they change rarely) or when the page calls refresh().
 */
import {api} from "../lib/api.js";
import {emptyCollection} from "../lib/geo.js";
import {FONTS} from "../lib/map.js";

export const RESOURCE_GROUPS = {
  teams: {color: "#22d3ee", sources: ["res-teams"]},
  depots: {color: "#a3e635", sources: ["res-depots"]},
  shelters: {color: "#c084fc", sources: ["res-shelters"]},
  hazards: {color: "#fb923c", sources: ["res-hazards", "res-hazard-zones"]},
};
const REFRESH_MS = 5 * 60_000;

function pointLayers(id, color, symbol) {
  return [
    {
      id: `${id}-point`,
      type: "circle",
      source: id,
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 4, 16, 9],
        "circle-color": color,
        "circle-stroke-color": "#0b1526",
        "circle-stroke-width": 2,
      },
    },
    {
      id: `${id}-label`,
      type: "symbol",
      source: id,
      minzoom: 13,
      layout: {
        "text-field": ["concat", symbol, " ", ["get", "name"]],
        "text-font": FONTS,
        "text-size": 12,
        "text-offset": [0, 1.2],
        "text-anchor": "top",
        "text-optional": true,
      },
      paint: {"text-color": color, "text-halo-color": "#0b1526", "text-halo-width": 1.4},
    },
  ];
}

function addLayers(map, symbols, below) {
  const beforeId = map.getStyle().layers.find((layer) => below.includes(layer.source))?.id;
  for (const group of Object.values(RESOURCE_GROUPS)) {
    for (const source of group.sources) if (!map.getSource(source)) map.addSource(source, {type: "geojson", data: emptyCollection()});
  }
  const hazard = RESOURCE_GROUPS.hazards.color;
  map.addLayer({id: "res-hazard-zones-fill", type: "fill", source: "res-hazard-zones", paint: {"fill-color": hazard, "fill-opacity": 0.14}}, beforeId);
  map.addLayer(
    {
    id: "res-hazard-zones-line",
    type: "line",
    source: "res-hazard-zones",
      paint: {"line-color": hazard, "line-width": 1.5, "line-dasharray": [3, 2]},
    },
    beforeId,
  );
  for (const [name, group] of Object.entries(RESOURCE_GROUPS)) {
    for (const layer of pointLayers(group.sources[0], group.color, symbols[name])) map.addLayer(layer, beforeId);
  }
}

function layerIds(map, group) {
  return map.getStyle().layers.filter((layer) => RESOURCE_GROUPS[group].sources.includes(layer.source)).map((layer) => layer.id);
}

/**
 * Adds the layers (beneath the first layer drawn from one of the sources `below`: the page's own live objects stay
 * on top) and wires the panel `#resource-overlay` (its switches carry `data-group`); resolves to `{refresh, counts}`
 * once the first rows are on the map. A reader without access to resources sees no panel.
 */
export async function addResourceOverlay(map, {below = []} = {}) {
  const panel = document.getElementById("resource-overlay");
  const symbols = panel.dataset;
  addLayers(map, {teams: symbols.symbolTeams, depots: symbols.symbolDepots, shelters: symbols.symbolShelters, hazards: symbols.symbolHazards}, below);
  const counts = {};
  for (const box of panel.querySelectorAll("input[data-group]")) {
    box.closest("label").querySelector("i").style.background = RESOURCE_GROUPS[box.dataset.group].color;
    box.addEventListener("change", () => {
      for (const id of layerIds(map, box.dataset.group)) map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
    });
  }

  async function refresh() {
    let rows;
    try {
      rows = await Promise.all([
        api("/api/resources/teams/"),
        api("/api/resources/depots/"),
        api("/api/resources/shelters/"),
        api("/api/resources/hazards/"),
        api("/ogcapi/collections/hazard_zones/items?limit=10000&f=json"),
      ]);
    } catch (error) {
      if (error.status === 403) return false; // this role does not read resources: no panel
      throw error;
    }
    const [teams, depots, shelters, hazards, zones] = rows;
    map.getSource("res-teams").setData(teams);
    map.getSource("res-depots").setData(depots);
    map.getSource("res-shelters").setData(shelters);
    map.getSource("res-hazards").setData(hazards);
    map.getSource("res-hazard-zones").setData(zones);
    Object.assign(counts, {teams: teams.features.length, depots: depots.features.length, shelters: shelters.features.length, hazards: hazards.features.length});
    for (const [group, n] of Object.entries(counts)) {
      const badge = panel.querySelector(`[data-group="${group}"]`)?.closest("label").querySelector(".count");
      if (badge) badge.textContent = String(n);
    }
    return true;
  }

  if (!(await refresh())) return {refresh, counts};
  panel.hidden = false;
  setInterval(() => refresh().catch(() => {}), REFRESH_MS); // a failed read keeps what is shown; the next one retries
  return {refresh, counts};
}
