/**
 * The one MapLibre set-up of the consoles: the module itself (imported by its static URL, so pages need no
 * import map and no inline script), local fonts for labels (no glyph server: the style has no `glyphs` URL, and
 * MapLibre then draws every label with the fonts named in `text-font`), the controls' translated strings, the
 * navigation and scale controls, and the wall's enlargement.
 *
 * The control strings and the city's home view come from the `#map-controls` element that frontend/map_page.html
 * renders on every map page: a map starts where the city profile says, never at a place written in the code.
 */
import * as maplibregl from "../../vendor/maplibre-gl/maplibre-gl.mjs";

export {maplibregl};

export const FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC"];
export const FONTS_BOLD = ["Noto Sans CJK SC Bold", ...FONTS];
const EXTERNAL_BASE_LAYER = "external-base-layer";
// Layers the external base map is drawn above (land, water, areas); lines, symbols and points stay on top of it.
const UNDER_BASE_LAYER = new Set(["background", "fill", "fill-extrusion", "raster", "hillshade"]);

/**
 * The city profile's home view, as the server rendered it: `{center, zoom, bounds, baseLayer}`; `bounds` is the
 * city's [west, south, east, north] (null before a city is set up), `baseLayer` the optional external tile layer
 * `{url, attribution}`.
 */
export function cityHome() {
  return JSON.parse(document.getElementById("map-controls").dataset.home);
}

function controlLocale() {
  const strings = document.getElementById("map-controls")?.dataset ?? {};
  return {
    "Map.Title": strings.mapTitle,
    "NavigationControl.ZoomIn": strings.zoomIn,
    "NavigationControl.ZoomOut": strings.zoomOut,
    "NavigationControl.ResetBearing": strings.resetBearing,
    "Popup.Close": strings.closePopup,
  };
}

/**
 * A map in `container` (an element or its id) with `style`. `navigation` is the NavigationControl's options
 * (false: none), `scaleBar` adds the metric scale. `scale` draws the map as on a 1920×1080 screen enlarged
 * `scale` times (CSS zoom on the container, rendered at the screen's full resolution): a 4K wall shows what a
 * 1080p one shows, only sharper. Other options go to maplibregl.Map as they are. The map is also
 * `window.cityopsMap`, for the browser tests.
 */
export function createMap(container, {style, navigation = {}, scaleBar = true, scale = 1, ...options}) {
  const element = typeof container === "string" ? document.getElementById(container) : container;
  if (scale !== 1) element.style.zoom = String(scale);
  const home = cityHome();
  const map = new maplibregl.Map({
    container: element,
    style,
    center: home.center,
    zoom: home.zoom,
    minZoom: 8,
    maxZoom: 19,
    pixelRatio: window.devicePixelRatio * scale,
    maxCanvasSize: [8192, 8192], // a 7680×2160 wall at full resolution (MapLibre clamps to the GPU limit)
    attributionControl: false,
    localIdeographFontFamily: `${FONTS.map((name) => `"${name}"`).join(", ")}, sans-serif`,
    locale: controlLocale(),
    ...options,
  });
  window.cityopsMap = map;
  if (navigation) map.addControl(new maplibregl.NavigationControl(navigation), "top-right");
  if (scaleBar) map.addControl(new maplibregl.ScaleControl({unit: "metric"}), "bottom-right");
  if (home.baseLayer) {
    map.addControl(new BaseLayerControl(home.baseLayer), "top-right");
    map.addControl(new maplibregl.AttributionControl({compact: true}), "bottom-left");
  }
  return map;
}

/**
 * A button that lays the profile's external base map (an intranet XYZ/WMTS service) under the map's lines and
 * points, and takes it away again; the self-served base map is what a map shows until someone presses it.
 */
class BaseLayerControl {
  constructor({url, attribution}) {
    this.source = {type: "raster", tiles: [url], tileSize: 256, attribution};
  }

  onAdd(map) {
    this.map = map;
    this.container = document.createElement("div");
    this.container.className = "maplibregl-ctrl maplibregl-ctrl-group";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "base-layer-toggle";
    button.textContent = document.getElementById("map-controls").dataset.baseLayer;
    button.style.width = "auto";
    button.style.padding = "0 8px";
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => button.setAttribute("aria-pressed", String(this.toggle())));
    this.container.append(button);
    return this.container;
  }

  onRemove() {
    this.container.remove();
  }

  /** Shows or hides the external base map; true when it is now shown. */
  toggle() {
    if (this.map.getLayer(EXTERNAL_BASE_LAYER)) {
      this.map.removeLayer(EXTERNAL_BASE_LAYER);
      this.map.removeSource(EXTERNAL_BASE_LAYER);
      return false;
    }
    this.map.addSource(EXTERNAL_BASE_LAYER, this.source);
    const above = this.map.getStyle().layers.find((layer) => !UNDER_BASE_LAYER.has(layer.type));
    this.map.addLayer({id: EXTERNAL_BASE_LAYER, type: "raster", source: EXTERNAL_BASE_LAYER}, above?.id);
    return true;
  }
}
