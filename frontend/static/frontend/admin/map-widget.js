/**
 * The admin's map widget (core/offline_map_widget.html): Django's MapWidget (gis/js/OLMapWidget.js) with the
 * city's street boundaries as base map, set up from the data on this script's own tag. A classic script, run
 * where the widget stands, after OpenLayers and MapWidget (the widget's media, in the page head).
 */
/* global ol, MapWidget */
{
  const options = document.currentScript.dataset;
  const baseLayer = new ol.layer.Vector({
    source: new ol.source.Vector({url: "/api/core/areas/?level=street", format: new ol.format.GeoJSON()}),
    style: new ol.style.Style({
      stroke: new ol.style.Stroke({color: "#6b7f99", width: 1}),
      fill: new ol.style.Fill({color: "rgba(107, 127, 153, 0.06)"}),
    }),
  });
  // Django's own template names the widget as a global (`geodjango_<field>`); scripts and tests reach it there.
  window[options.module] = new MapWidget({
    base_layer: baseLayer,
    geom_name: options.geomName,
    id: options.id,
    map_id: `${options.id}_map`,
    map_srid: Number(options.mapSrid),
    name: options.name,
    default_lon: Number(options.defaultLon),
    default_lat: Number(options.defaultLat),
    default_zoom: Number(options.defaultZoom),
  });
}
