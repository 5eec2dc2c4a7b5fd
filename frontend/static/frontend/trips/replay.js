/**
 * The replay screen (/replay/): pick vehicles (search by call sign or plate) and a time range, and play their
 * stored tracks on the city map — play/pause, a time slider, 1×…900× — with each vehicle's marker moving along
 * its track by time (interpolated between fixes, replay-clock.js), and the range's alarms and stops drawn on the
 * line and listed; clicking one moves the slider to its time.
 *
 * `window.cityopsReplay` ({clock, markers, seek}) is there for the browser tests.
 */
import {api, showApiError} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";
import {collection, emptyCollection, extentOf} from "../lib/geo.js";
import {maplibregl} from "../lib/map.js";
import {agencyColor, createCityMap} from "../dispatch/city-map.js";
import {PlaybackClock, drivenPart, positionAt} from "./replay-clock.js";

const strings = byId("replay-strings").dataset;
const message = byId("replay-message");
const slider = byId("slider");
const playButton = byId("play");
const MAX_VEHICLES = Number(strings.maxVehicles); // the API's limit (trips/selectors.py MAX_REPLAY_VEHICLES)
const chosen = new Map(); // id → vehicle from the search
let map = null;
let replay = null; // the API's answer
let clock = null;
let markers = new Map(); // vehicle id → maplibregl.Marker
let lastFrame = null;

const pad = (n) => String(n).padStart(2, "0");
const localInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
const clockText = (ms) => new Date(ms).toLocaleString("zh-CN", {hour12: false});

function renderChosen() {
  byId("vehicle-chosen").replaceChildren(
    ...[...chosen.values()].map((v) =>
      el(
        "li",
        {dataset: {id: v.id}, style: {"--agency": agencyColor(v.agency)}},
        el("span", {class: "call-sign"}, v.call_sign),
        el("span", {class: "plate"}, v.plate),
        el("button", {type: "button", class: "remove", title: strings.remove, onclick: () => (chosen.delete(v.id), renderChosen())}, "×"),
      ),
    ),
  );
}

async function search() {
  const text = byId("vehicle-search").value.trim();
  const hits = await api(`/api/trips/vehicles/?${new URLSearchParams({q: text})}`);
  byId("vehicle-hits").replaceChildren(
    ...hits.map((v) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            dataset: {id: v.id},
            onclick: () => {
              if (chosen.size < MAX_VEHICLES) chosen.set(v.id, v);
              renderChosen();
            },
          },
          el("span", {class: "dot", style: {"--agency": agencyColor(v.agency)}}),
          `${v.call_sign} ${v.plate}`,
        ),
      ),
    ),
  );
}

function eventItems() {
  const names = new Map(replay.vehicles.map((v) => [v.id, v.call_sign]));
  const alarms = replay.alarms.map((a) => ({kind: "alarm", t: Date.parse(a.at), lon: a.lon, lat: a.lat, vehicle: a.vehicle_id, text: `${a.kind_label} ${a.message}`}));
  const stops = replay.stops.map((s) => ({
    kind: "stop",
    t: Date.parse(s.start),
    lon: s.lon,
    lat: s.lat,
    vehicle: s.vehicle_id,
    text: `${strings.stop} ${Math.round(s.duration_s / 60)} ${strings.minutes}`,
  }));
  return [...alarms, ...stops].sort((a, b) => a.t - b.t).map((e) => ({...e, name: names.get(e.vehicle)}));
}

function drawReplay() {
  const lines = replay.vehicles
    .filter((v) => v.points.length >= 2)
    .map((v) => ({type: "Feature", properties: {color: agencyColor(v.agency)}, geometry: {type: "LineString", coordinates: v.points.map((p) => [p[1], p[2]])}}));
  map.getSource("replay-lines").setData(collection(lines));
  const events = eventItems();
  map.getSource("replay-events").setData(
    collection(events.map((e) => ({type: "Feature", properties: {kind: e.kind, t: e.t}, geometry: {type: "Point", coordinates: [e.lon, e.lat]}}))),
  );
  byId("event-list").replaceChildren(
    ...events.map((e) =>
      el(
        "li",
        {class: e.kind, dataset: {t: e.t}},
        el("button", {type: "button", onclick: () => seek(e.t)}, el("time", {}, clockText(e.t)), el("b", {}, e.name ?? ""), el("span", {}, e.text)),
      ),
    ),
  );
  markers.forEach((marker) => marker.remove());
  markers = new Map(
    replay.vehicles
      .filter((v) => v.points.length)
      .map((v) => {
        const element = el("div", {class: "replay-marker", style: {"--agency": agencyColor(v.agency)}}, el("i", {class: "arrow"}), el("span", {}, v.call_sign));
        return [v.id, new maplibregl.Marker({element}).setLngLat([v.points[0][1], v.points[0][2]]).addTo(map)];
      }),
  );
  const box = extentOf(lines);
  if (box) map.fitBounds(box, {padding: 80, maxZoom: 16, duration: 0});
}

function update() {
  const t = clock.time;
  const driven = [];
  for (const vehicle of replay.vehicles) {
    const here = positionAt(vehicle.points, t);
    if (!here) continue;
    const marker = markers.get(vehicle.id);
    marker.setLngLat([here.lon, here.lat]);
    marker.getElement().querySelector(".arrow").style.transform = `rotate(${here.heading}deg)`;
    const part = drivenPart(vehicle.points, t);
    if (part.length >= 2) driven.push({type: "Feature", properties: {color: agencyColor(vehicle.agency)}, geometry: {type: "LineString", coordinates: part}});
  }
  map.getSource("replay-driven").setData(collection(driven));
  slider.value = String(Math.round(clock.fraction * 1000));
  byId("clock-time").textContent = clockText(t);
  const first = replay.vehicles.find((v) => v.points.length);
  byId("clock-speed").textContent = first ? `${Math.round(positionAt(first.points, t).speed)} km/h` : "";
}

function seek(t) {
  clock.seek(t);
  update();
}

function frame(now) {
  if (!clock?.playing) return;
  clock.advance(lastFrame === null ? 0 : now - lastFrame);
  lastFrame = now;
  update();
  if (clock.playing) requestAnimationFrame(frame);
  else setPlaying(false);
}

function setPlaying(playing) {
  clock.playing = playing;
  playButton.setAttribute("aria-pressed", String(playing));
  playButton.textContent = playing ? strings.pause : strings.play;
  lastFrame = null;
  if (playing) requestAnimationFrame(frame);
}

async function load() {
  showText(message, "");
  if (!chosen.size) return showText(message, strings.choose);
  const from = new Date(byId("replay-from").value);
  const to = new Date(byId("replay-to").value);
  const params = new URLSearchParams({vehicles: [...chosen.keys()].join(","), from: from.toISOString(), to: to.toISOString()});
  try {
    replay = await api(`/api/trips/replay/?${params}`);
  } catch (error) {
    return showApiError(message, error);
  }
  if (clock) setPlaying(false);
  clock = new PlaybackClock(Date.parse(replay.from), Date.parse(replay.to), Number(byId("speed").value));
  const firstFix = Math.min(...replay.vehicles.filter((v) => v.points.length).map((v) => v.points[0][0]));
  if (!Number.isFinite(firstFix)) showText(message, strings.noFixes);
  else if (replay.vehicles.some((v) => v.truncated)) showText(message, strings.truncated);
  drawReplay();
  clock.seek(Number.isFinite(firstFix) ? firstFix : clock.start);
  window.cityopsReplay = {clock, markers, seek, replay};
  playButton.disabled = slider.disabled = false;
  update();
}

function replayLayers() {
  for (const name of ["replay-lines", "replay-driven", "replay-events"]) map.addSource(name, {type: "geojson", data: emptyCollection()});
  map.addLayer({id: "replay-line", type: "line", source: "replay-lines", layout: {"line-join": "round", "line-cap": "round"}, paint: {"line-color": ["get", "color"], "line-width": 3, "line-opacity": 0.35}});
  map.addLayer({id: "replay-driven", type: "line", source: "replay-driven", layout: {"line-join": "round", "line-cap": "round"}, paint: {"line-color": ["get", "color"], "line-width": 4}});
  map.addLayer({
    id: "replay-event",
    type: "circle",
    source: "replay-events",
    paint: {
      "circle-radius": 7,
      "circle-color": ["match", ["get", "kind"], "alarm", "#ef4444", "#facc15"],
      "circle-stroke-color": "#0b1220",
      "circle-stroke-width": 2,
    },
  });
  map.on("click", "replay-event", (event) => seek(event.features[0].properties.t));
  map.on("mouseenter", "replay-event", () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "replay-event", () => (map.getCanvas().style.cursor = ""));
}

async function start() {
  const now = new Date();
  byId("replay-to").value = localInput(now);
  byId("replay-from").value = localInput(new Date(now - 2 * 3600 * 1000));
  const container = byId("map");
  ({map} = await createCityMap(container, {basemap: container.dataset.basemap, navigation: true}));
  replayLayers();
  let timer = null;
  byId("vehicle-search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search().catch((error) => showApiError(message, error)), 250);
  });
  byId("replay-load").addEventListener("click", load);
  playButton.addEventListener("click", () => setPlaying(!clock.playing));
  byId("speed").addEventListener("change", (event) => clock && (clock.speed = Number(event.target.value)));
  slider.addEventListener("input", () => seek(clock.start + (Number(slider.value) / 1000) * (clock.end - clock.start)));
  await search();
  document.body.dataset.ready = "true";
}

start();
