/**
 * A full-screen map of one CityOps base-map style, showing the whole city (the city profile's boundary).
 * Labels use the browser's own fonts (the style has no glyphs URL), so nothing is fetched from outside.
 */
import {api} from "../lib/api.js";
import {cityHome, createMap} from "../lib/map.js";

const container = document.getElementById("map");

async function main() {
  const style = await api(container.dataset.styleUrl);
  const map = createMap(container, {
    style,
    bounds: cityHome().bounds ?? undefined,
    fitBoundsOptions: {padding: 40},
    minZoom: 0,
    maxZoom: 22,
    scaleBar: false,
  });
  await map.once("idle");
  document.body.dataset.mapReady = "1";
}

main();
