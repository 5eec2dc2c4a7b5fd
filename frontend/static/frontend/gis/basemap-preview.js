/**
 * A full-screen map of one CityOps base-map style, centred on the city's districts.
 * Labels use the browser's own fonts (the style has no glyphs URL), so nothing is fetched from outside.
 */
import {api} from "../lib/api.js";
import {createMap, maplibregl} from "../lib/map.js";

const container = document.getElementById("map");

async function main() {
  const style = await api(container.dataset.styleUrl);
  const districts = await api("/api/core/areas/?level=district");
  const bounds = new maplibregl.LngLatBounds();
  for (const feature of districts.features) {
    for (const polygon of feature.geometry.coordinates) for (const point of polygon[0]) bounds.extend(point);
  }
  const map = createMap(container, {
    style,
    bounds: bounds.isEmpty() ? undefined : bounds,
    fitBoundsOptions: {padding: 40},
    minZoom: 0,
    maxZoom: 22,
    scaleBar: false,
  });
  await map.once("idle");
  document.body.dataset.mapReady = "1";
}

main();
