/**
 * A full-screen map of one CityOps base-map style, centred on the city's districts.
 * Labels use the browser's own fonts (the style has no glyphs URL), so nothing is fetched from outside.
 */
import * as maplibregl from "maplibre-gl";

const container = document.getElementById("map");
const labels = container.dataset;

async function main() {
  const style = await (await fetch(labels.styleUrl, {credentials: "same-origin"})).json();
  const districts = await (await fetch("/api/core/areas/?level=district", {credentials: "same-origin"})).json();
  const bounds = new maplibregl.LngLatBounds();
  for (const feature of districts.features) {
    for (const polygon of feature.geometry.coordinates) for (const point of polygon[0]) bounds.extend(point);
  }
  const map = new maplibregl.Map({
    container,
    style,
    bounds: bounds.isEmpty() ? undefined : bounds,
    fitBoundsOptions: {padding: 40},
    attributionControl: false,
    localIdeographFontFamily: labels.fontFamily,
    locale: {
      "NavigationControl.ZoomIn": labels.zoomIn,
      "NavigationControl.ZoomOut": labels.zoomOut,
      "NavigationControl.ResetBearing": labels.resetBearing,
    },
  });
  window.cityopsMap = map;
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  await map.once("idle");
  document.body.dataset.mapReady = "1";
}

main();
