/**
 * The one MapLibre set-up of the consoles: the module itself (imported by its static URL, so pages need no
 * import map and no inline script), local fonts for labels (no glyph server: the style has no `glyphs` URL, and
 * MapLibre then draws every label with the fonts named in `text-font`), the controls' translated strings, the
 * navigation and scale controls, and the wall's enlargement.
 *
 * The control strings come from the `#map-controls` element that frontend/map_page.html renders on every map page.
 */
import * as maplibregl from "../../vendor/maplibre-gl/maplibre-gl.mjs";

export {maplibregl};

export const FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC"];
export const FONTS_BOLD = ["Noto Sans CJK SC Bold", ...FONTS];
export const CITY_CENTER = [114.05, 22.54];

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
  const map = new maplibregl.Map({
    container: element,
    style,
    center: CITY_CENTER,
    zoom: 12,
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
  return map;
}
