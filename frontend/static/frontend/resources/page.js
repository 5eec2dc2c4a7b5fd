/**
 * The resources page (/resources/): the resource layers (resources/overlay.js) on the city map, and the search
 * from an open incident or a clicked point — the nearest depots holding an item, teams with a skill, shelters with
 * free places by road drive time (the server ranks with dispatch's road graph), or hazard sources within a radius.
 * The answer is listed and drawn: the origin, the candidates numbered in rank order.
 */
import {api} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";
import {collection, emptyCollection} from "../lib/geo.js";
import {maplibregl} from "../lib/map.js";
import {createCityMap} from "../dispatch/city-map.js";
import {addResourceOverlay} from "./overlay.js";

const strings = byId("resource-strings").dataset;
const form = byId("search-form");
let clicked = null; // [lon, lat] chosen on the map
let originMarker = null;

function showKindFields() {
  const kind = form.elements.kind.value;
  for (const field of form.querySelectorAll("[data-for]")) field.hidden = !field.dataset.for.split(" ").includes(kind);
  form.elements.limit.value = kind === "hazard" ? "20" : form.elements.limit.value === "20" ? "3" : form.elements.limit.value;
}

function query() {
  const data = new FormData(form);
  const params = new URLSearchParams();
  const near = data.get("near") || (clicked ? clicked.map((n) => n.toFixed(6)).join(",") : "");
  params.set("near", near);
  for (const name of ["kind", "limit"]) params.set(name, data.get(name));
  for (const field of form.querySelectorAll("[data-for]")) {
    if (!field.hidden && field.name && field.value !== "") params.set(field.name, field.value);
  }
  return params;
}

function minutes(seconds) {
  return `${(seconds / 60).toFixed(1)} ${strings.minutes}`;
}

const km = (metres) => `${(metres / 1000).toFixed(2)} km`;

function methodText(result) {
  if (result.method === "road") return strings.road;
  if (result.reason === "off_network") return strings.offNetwork;
  if (result.reason) return strings.noRoute;
  return strings.straightOnly;
}

function resultItem(result) {
  const figures = el("div", {class: "figures"});
  if (result.eta_seconds != null) figures.append(el("span", {class: "eta"}, `${strings.drive} ${minutes(result.eta_seconds)}`));
  if (result.road_distance_m != null) figures.append(el("span", {}, `${strings.road} ${km(result.road_distance_m)}`));
  figures.append(el("span", {}, `${strings.straight} ${km(result.straight_m)}`));
  if (result.available != null) figures.append(el("span", {}, `${strings.available} ${result.available} ${result.unit ?? ""}`));
  if (result.on_duty != null) figures.append(el("span", {}, `${strings.onDuty} ${result.on_duty}`));
  if (result.free != null) figures.append(el("span", {}, `${strings.free} ${result.free}`));
  if (result.radius_m != null) figures.append(el("span", {}, `${strings.radius} ${result.radius_m} m`));
  figures.append(el("span", {class: "method", dataset: {method: result.method}}, methodText(result)));
  const item = el("li", {dataset: {id: String(result.id), rank: String(result.rank)}}, el("b", {}, `${result.rank}.`), el("span", {class: "name"}, result.name), figures);
  if (result.origin_inside_circle) item.append(el("div", {class: "search-error"}, strings.inside));
  return item;
}

function drawResults(map, answer) {
  const features = answer.results.map((r) => ({type: "Feature", geometry: r.geometry, properties: {rank: String(r.rank), name: r.name}}));
  map.getSource("search-results").setData(collection(features));
  originMarker?.remove();
  originMarker = new maplibregl.Marker({color: "#f43f5e"}).setLngLat([answer.origin.lon, answer.origin.lat]).addTo(map);
  const bounds = new maplibregl.LngLatBounds([answer.origin.lon, answer.origin.lat], [answer.origin.lon, answer.origin.lat]);
  for (const feature of features) bounds.extend(feature.geometry.coordinates);
  map.fitBounds(bounds, {padding: 80, maxZoom: 15, duration: 0});
}

async function search(map) {
  const error = byId("search-error");
  showText(error, "");
  const params = query();
  if (!params.get("near")) {
    showText(error, strings.pickPoint);
    return;
  }
  let answer;
  try {
    answer = await api(`/api/resources/search/?${params}`);
  } catch (failure) {
    showText(error, failure.message);
    return;
  }
  const origin = answer.origin.incident_number ? `${strings.incident} ${answer.origin.incident_number}` : `${strings.point} ${answer.origin.lon.toFixed(5)}, ${answer.origin.lat.toFixed(5)}`;
  byId("search-origin").textContent = origin;
  byId("result-count").textContent = String(answer.results.length);
  const list = byId("search-results");
  if (answer.results.length === 0) list.replaceChildren(el("li", {class: "empty"}, strings.none));
  else list.replaceChildren(...answer.results.map(resultItem));
  drawResults(map, answer);
  window.cityopsResourceSearch = answer;
}

function addResultLayers(map) {
  map.addSource("search-results", {type: "geojson", data: emptyCollection()});
  map.addLayer({
    id: "search-results-ring",
    type: "circle",
    source: "search-results",
    paint: {"circle-radius": 13, "circle-color": "#f43f5e", "circle-opacity": 0.85, "circle-stroke-color": "#fff", "circle-stroke-width": 2},
  });
  map.addLayer({
    id: "search-results-rank",
    type: "symbol",
    source: "search-results",
    layout: {"text-field": ["get", "rank"], "text-size": 13, "text-allow-overlap": true},
    paint: {"text-color": "#fff"},
  });
}

async function listIncidents() {
  let incidents;
  try {
    incidents = await api("/api/dispatch/incidents/?status=open");
  } catch {
    return; // a role without the incident list searches from a point
  }
  const select = form.elements.near;
  for (const feature of incidents.features) {
    const p = feature.properties;
    select.append(el("option", {value: String(feature.id)}, `${p.number} ${p.type_label ?? ""} ${p.address ?? ""}`));
  }
  const wanted = new URLSearchParams(window.location.search).get("incident");
  if (wanted && [...select.options].some((option) => option.value === wanted)) select.value = wanted;
}

async function main() {
  showKindFields();
  form.elements.kind.addEventListener("change", showKindFields);
  const container = byId("map");
  let map;
  try {
    ({map} = await createCityMap(container, {basemap: container.dataset.basemap, navigation: true}));
    await Promise.all([addResourceOverlay(map), listIncidents()]);
  } catch (error) {
    showText(byId("search-error"), strings.loadFailed);
    throw error;
  }
  addResultLayers(map);
  map.on("click", (event) => {
    clicked = [event.lngLat.lng, event.lngLat.lat];
    form.elements.near.value = "";
    byId("search-origin").textContent = `${strings.point} ${clicked[0].toFixed(5)}, ${clicked[1].toFixed(5)}`;
  });
  byId("search-results").addEventListener("click", (event) => {
    const item = event.target.closest("li[data-rank]");
    const result = window.cityopsResourceSearch?.results.find((r) => String(r.rank) === item?.dataset.rank);
    if (result) map.flyTo({center: result.geometry.coordinates, zoom: Math.max(map.getZoom(), 15)});
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(map);
  });
  document.body.dataset.mapReady = "1";
}

main();
