/**
 * The inspector tablet app /m/: report a problem in a few taps (photo, category, position), verify
 * handled cases on site, and keep working without a network.
 *
 * Offline: the service worker (/m/sw.js) serves the page, scripts, map data, categories and tasks from
 * its cache; every report and verification goes to the IndexedDB outbox (tablet-outbox.js) and is sent
 * with its idempotency key when the network returns. The sync bar always says where things stand.
 *
 * Online, the app also helps with what is slow to do by hand: the address is filled in from the position
 * (reverse geocoding) and a typed address can place the problem (the geocoder), and before a report is sent
 * the open cases it probably repeats are shown (tablet-duplicates.js). None of it is needed to file: offline
 * the address stays free text and the report goes straight to the outbox.
 */
import {distanceMetres} from "../fences/shapes.js";
import {addressText} from "../lib/address-lookup.js";
import {api, itemsOf} from "../lib/api.js";
import {byId, el, flash} from "../lib/dom.js";
import {reverseGeocode, searchAddresses} from "../lib/geocode.js";
import {extentOf} from "../lib/geo.js";
import {maplibregl} from "../lib/map.js";
import {OpsSocket} from "../lib/ops-socket.js";
import {PositionQueue} from "../patrol/position-queue.js";
import {
  actionButtons,
  caseFacts,
  downscalePhoto,
  fmt,
  formatTime,
  historyList,
  liveTimerBadge,
  loadCategories,
  categoryPicker,
  photoStrip,
  photoUrls,
  readConfig,
  startTimerTicks,
} from "./grid-ui.js";
import {addCaseLayer, createMap} from "./grid-map.js";
import {askAboutDuplicates, findDuplicates} from "./tablet-duplicates.js";
import {Outbox, syncState} from "./tablet-outbox.js";

const config = readConfig();
const S = config.strings;
const RECENT_KEY = "cityops-m-recent-categories";
const GCJ_KEY = "cityops-m-gcj02";
const USER_KEY = "cityops-m-user";
// What an inspector does at the place: confirm a public report (核实), check a fix (核查).
const FIELD_ACTIONS = ["submit_confirmation", "verify_ok", "verify_fail"];

const state = {
  photo: null, // the downscaled Blob of the report being written (a Promise while it is being made)
  category: null,
  gps: null, // last device fix {lon, lat, accuracy, crs}
  manual: null, // a position tapped on the map or found by address {lon, lat, crs: "wgs84", from: "map" | "address"}; wins over GPS until the report is saved
  gpsError: null,
  tasks: [],
};

const $ = byId;

// --- coordinates: the device may report GCJ-02 (Chinese map SDKs); the server converts, the map needs WGS84 ---

const GCJ_A = 6378245.0;
const GCJ_EE = 0.006693421622965943;

function gcjOffset(lon, lat) {
  const x = lon - 105;
  const y = lat - 35;
  const s = (a) => Math.sin(a * Math.PI);
  let dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dLat += ((20 * s(6 * x) + 20 * s(2 * x)) * 2) / 3 + ((20 * s(y) + 40 * s(y / 3)) * 2) / 3 + ((160 * s(y / 12) + 320 * s(y / 30)) * 2) / 3;
  let dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dLon += ((20 * s(6 * x) + 20 * s(2 * x)) * 2) / 3 + ((20 * s(x) + 40 * s(x / 3)) * 2) / 3 + ((150 * s(x / 12) + 300 * s(x / 30)) * 2) / 3;
  const radLat = (lat / 180) * Math.PI;
  const magic = 1 - GCJ_EE * Math.sin(radLat) ** 2;
  dLat = (dLat * 180) / (((GCJ_A * (1 - GCJ_EE)) / (magic * Math.sqrt(magic))) * Math.PI);
  dLon = (dLon * 180) / ((GCJ_A / Math.sqrt(magic)) * Math.cos(radLat) * Math.PI);
  return [dLon, dLat];
}

/** GCJ-02 → WGS84 to draw the marker (about a metre off; the server does the exact conversion). */
function gcjToWgs(lon, lat) {
  let [x, y] = [lon, lat];
  for (let i = 0; i < 3; i++) {
    const [dx, dy] = gcjOffset(x, y);
    [x, y] = [lon - dx, lat - dy];
  }
  return [x, y];
}

function reportPosition() {
  return state.manual ?? state.gps;
}

function displayPoint(position) {
  return position.crs === "gcj02" ? gcjToWgs(position.lon, position.lat) : [position.lon, position.lat];
}

// --- tabs ---

function showTab(name) {
  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(selected));
    $(tab.getAttribute("aria-controls")).hidden = !selected;
  }
}

const toast = (text) => flash($("toast"), text, 4000);

// --- outbox and the sync bar ---

const outbox = new Outbox(config.user);
// An inspector's track for patrol (attendance, time and distance in own grids): every GPS fix, thinned to 30 s.
const track = config.roles.includes("inspector")
  ? new PositionQueue({storage: localStorage, key: `cityops.patrol.${config.user}`, send: (positions) => api("/api/patrol/positions/", {json: {positions}})})
  : null;

function trackFix(gps, at = Date.now()) {
  if (track?.add({at, lon: gps.lon, lat: gps.lat, accuracy: gps.accuracy, crs: gps.crs}) && navigator.onLine) track.flush().catch(() => {});
}

function paintNet() {
  const net = $("net-state");
  net.dataset.online = navigator.onLine ? "1" : "0";
  net.textContent = navigator.onLine ? S.online : S.offline;
}

function syncText(summary) {
  if (summary.state === "failed") return fmt(S.failed, {n: summary.n, reason: summary.reason});
  if (summary.state === "sending") return S.sending;
  if (summary.state === "queued") {
    if (!navigator.onLine) return fmt(S.queuedOffline, {n: summary.n});
    const wait = summary.retryAt ? Math.max(0, Math.ceil((summary.retryAt - Date.now()) / 1000)) : 0;
    return wait ? `${fmt(S.queued, {n: summary.n})} · ${fmt(S.retryIn, {s: wait})}` : fmt(S.queued, {n: summary.n});
  }
  return S.allSent;
}

let shownOutbox = ""; // what the list shows, so that the once-a-second repaint leaves it alone

async function paintOutbox() {
  const records = await outbox.records();
  const summary = syncState(records, outbox);
  const bar = $("sync-state");
  bar.dataset.state = summary.state;
  bar.dataset.count = String(summary.n);
  $("sync-text").textContent = syncText(summary);
  $("outbox-count").textContent = String(records.filter((r) => r.status !== "sent").length);
  const signature = JSON.stringify(records.map((r) => [r.key, r.status, r.error, r.result?.number]));
  if (signature === shownOutbox) return;
  shownOutbox = signature;
  const statusLabel = {queued: S.statusQueued, sending: S.statusSending, failed: S.statusFailed, sent: S.statusSent};
  const list = $("outbox-list");
  if (!records.length) {
    list.replaceChildren(el("li", {class: "empty"}, S.outboxEmpty));
    return;
  }
  list.replaceChildren(
    ...records
      .slice()
      .reverse()
      .map((record) =>
        el(
          "li",
          {dataset: {key: record.key, status: record.status, kind: record.kind}},
          el("div", {class: "outbox-head"}, el("b", {}, record.label), el("span", {class: "status-chip"}, statusLabel[record.status])),
          el("time", {}, formatTime(new Date(record.createdAt).toISOString())),
          record.result?.number ? el("span", {class: "case-number"}, fmt(S.sentAs, {number: record.result.number})) : null,
          record.error && record.status === "failed" ? el("p", {class: "outbox-error"}, record.error) : null,
          record.status === "failed"
            ? el(
                "div",
                {class: "outbox-buttons"},
                el("button", {type: "button", class: "secondary", onclick: () => outbox.retry(record.key)}, S.retry),
                el("button", {type: "button", class: "danger", onclick: () => confirm(S.confirmDiscard) && outbox.discard(record.key)}, S.discard),
              )
            : null,
        ),
      ),
  );
}

// --- the report form ---

let marker = null;

function paintPosition(map) {
  const status = $("position-status");
  const position = reportPosition();
  if (state.manual) {
    status.dataset.source = state.manual.from;
    status.textContent = state.manual.from === "address" ? S.addressPosition : S.mapPosition;
  } else if (state.gps) {
    status.dataset.source = "gps";
    status.textContent = `${fmt(S.gpsFix, {m: Math.round(state.gps.accuracy)})}${state.gps.crs === "gcj02" ? " · GCJ-02" : ""}`;
  } else {
    status.dataset.source = "none";
    status.textContent = state.gpsError ?? S.gpsWaiting;
  }
  if (state.manual && state.gps) {
    const useGps = () => {
      state.manual = null;
      paintPosition(map);
      map.easeTo({center: displayPoint(state.gps)}); // back from a searched address that may be far away
    };
    status.append(" ", el("button", {type: "button", class: "link", onclick: useGps}, S.useGps));
  }
  if (!position) return;
  Object.assign(status.dataset, {lon: position.lon.toFixed(7), lat: position.lat.toFixed(7), crs: position.crs});
  const point = displayPoint(position);
  if (!marker) marker = new maplibregl.Marker({color: "#ff6b4a"}).setLngLat(point).addTo(map);
  else marker.setLngLat(point);
  fillAddress(point);
}

// --- the address: filled in from the position until the inspector types one, or found by typing it ---

// A GPS fix that moved less than this keeps the address already looked up (a fix every few seconds otherwise).
const REVERSE_AGAIN_M = 25;
const ADDRESS_CHOICES = 5; // search results that fit beside the map without scrolling
// The address field's data-source: "none" (empty), "reverse" (from the position), "address" (a search result),
// "typed" (the inspector's own words, never overwritten until the report is saved).
const addressLookup = {at: null, seq: 0}; // the WGS84 point the field's address is for; the newest lookup

async function fillAddress(point) {
  const field = $("report-address");
  if (field.dataset.source === "typed") return;
  if (addressLookup.at && distanceMetres(addressLookup.at, point) < REVERSE_AGAIN_M) return;
  if (!navigator.onLine) {
    // The new position cannot be looked up: no address is better than the previous position's.
    if (field.dataset.source !== "none") [field.value, field.dataset.source] = ["", "none"];
    addressLookup.at = null;
    return;
  }
  addressLookup.at = point;
  const seq = ++addressLookup.seq;
  const answer = await reverseGeocode(point).catch(() => null);
  if (seq !== addressLookup.seq || field.dataset.source === "typed") return; // a newer position, or typed meanwhile
  if (!answer) {
    addressLookup.at = null; // no answer (the network dropped): the next position asks again
    return;
  }
  field.value = addressText(answer, S.nearAddress);
  field.dataset.source = field.value ? "reverse" : "none";
}

function forgetAddress() {
  addressLookup.at = null;
  addressLookup.seq += 1; // an answer still under way is for the report just saved
  $("report-address").dataset.source = "none";
}

function setupAddress(map) {
  const field = $("report-address");
  field.addEventListener("input", () => {
    field.dataset.source = field.value.trim() ? "typed" : "none";
    if (field.dataset.source === "none") addressLookup.at = null; // cleared: the position's address may come back
  });
  // Positions set offline got no address: the network is back, look the current one up.
  window.addEventListener("online", () => reportPosition() && fillAddress(displayPoint(reportPosition())));

  const input = $("address-search");
  const results = $("address-results");
  const placeholder = input.placeholder;
  const paintNetwork = () => {
    input.disabled = !navigator.onLine;
    input.placeholder = navigator.onLine ? placeholder : S.searchOffline;
    if (!navigator.onLine) results.replaceChildren();
  };
  paintNetwork();
  window.addEventListener("online", paintNetwork);
  window.addEventListener("offline", paintNetwork);

  const pick = (candidate) => {
    const [lon, lat] = candidate.point;
    state.manual = {lon, lat, crs: "wgs84", from: "address"};
    field.value = candidate.label;
    field.dataset.source = "address";
    addressLookup.at = candidate.point;
    addressLookup.seq += 1;
    input.value = "";
    results.replaceChildren();
    paintPosition(map);
    map.easeTo({center: candidate.point, zoom: Math.max(map.getZoom(), 17)});
  };
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) {
      results.replaceChildren();
      return;
    }
    timer = setTimeout(async () => {
      const found = await searchAddresses(text, ADDRESS_CHOICES).catch(() => []); // a refused or lost query finds nothing
      if (input.value.trim() !== text) return; // typed on meanwhile
      results.replaceChildren(
        ...(found.length
          ? found.map((candidate) =>
              el("li", {role: "option"}, el("button", {type: "button", class: "address-result", onclick: () => pick(candidate)}, candidate.label)),
            )
          : [el("li", {class: "empty"}, S.noAddressFound)]),
      );
    }, 300);
  });
}

function watchGps(map) {
  if (!navigator.geolocation) {
    state.gpsError = S.gpsUnavailable;
    paintPosition(map);
    return;
  }
  let centered = false;
  navigator.geolocation.watchPosition(
    (fix) => {
      state.gpsError = null;
      state.gps = {
        lon: fix.coords.longitude,
        lat: fix.coords.latitude,
        accuracy: fix.coords.accuracy,
        crs: $("gcj02").checked ? "gcj02" : "wgs84",
      };
      trackFix(state.gps, fix.timestamp);
      paintPosition(map);
      if (!centered && !state.manual) {
        centered = true;
        map.easeTo({center: displayPoint(state.gps), zoom: Math.max(map.getZoom(), 16)});
      }
    },
    (error) => {
      state.gpsError = error.code === error.PERMISSION_DENIED ? S.gpsDenied : S.gpsUnavailable;
      paintPosition(map);
    },
    {enableHighAccuracy: true, maximumAge: 10000, timeout: 30000},
  );
}

function recentCategories() {
  try {
    return JSON.parse(localStorage.getItem(RECENT_KEY)) ?? [];
  } catch {
    return [];
  }
}

function pickCategory(category, picker) {
  state.category = category;
  $("category-chosen").textContent = `${category.label} · ${category.code}`;
  const recent = [category, ...recentCategories().filter((c) => c.code !== category.code)].slice(0, 6);
  localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  picker.value = category.code;
  paintRecent(picker);
}

function paintRecent(picker) {
  $("recent-categories").replaceChildren(
    ...recentCategories().map((category) =>
      el(
        "button",
        {type: "button", class: "chip", "aria-pressed": String(state.category?.code === category.code), dataset: {code: category.code}, onclick: () => pickCategory(category, picker)},
        category.label,
      ),
    ),
  );
}

async function setupReportForm(map) {
  const photoInput = $("report-photo");
  photoInput.addEventListener("change", async () => {
    const file = photoInput.files[0];
    if (!file) return;
    state.photo = downscalePhoto(file);
    state.photo = await state.photo;
    const preview = $("report-preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(state.photo);
    preview.hidden = false;
    $("photo-button").classList.add("has-photo");
  });

  const gcj = $("gcj02");
  gcj.checked = localStorage.getItem(GCJ_KEY) === "1";
  gcj.addEventListener("change", () => {
    localStorage.setItem(GCJ_KEY, gcj.checked ? "1" : "0");
    if (state.gps) state.gps.crs = gcj.checked ? "gcj02" : "wgs84";
    paintPosition(map);
  });

  map.on("click", (event) => {
    if ($("pane-report").hidden) return;
    state.manual = {lon: event.lngLat.lng, lat: event.lngLat.lat, crs: "wgs84", from: "map"};
    paintPosition(map);
  });
  setupAddress(map);
  watchGps(map);

  const categories = await loadCategories().catch(() => []);
  const picker = categoryPicker({categories, strings: S, onPick: (category) => pickCategory(category, picker)});
  $("category-picker").replaceChildren(picker.element);
  paintRecent(picker);

  const message = $("report-message");
  const submit = $("report-submit");
  // Ready for the next problem: the position follows GPS again, the category stays in the recent chips.
  const clearReport = () => {
    state.photo = null;
    state.manual = null;
    $("report-form").reset();
    forgetAddress();
    gcj.checked = localStorage.getItem(GCJ_KEY) === "1";
    $("report-preview").hidden = true;
    $("photo-button").classList.remove("has-photo");
    paintPosition(map);
  };
  $("report-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return; // the duplicate check of this report is under way
    state.photo = await state.photo; // a photo taken a moment ago may still be being downscaled
    const position = reportPosition();
    const missing = !state.photo ? S.needPhoto : !state.category ? S.needCategory : !position ? S.needPosition : null;
    message.hidden = !missing;
    if (missing) {
      message.textContent = missing;
      return;
    }
    const [photo, category] = [state.photo, state.category];
    const fields = {
      category_code: state.category.code,
      description: $("report-description").value.trim(),
      address: $("report-address").value.trim(),
      channel: "inspector",
      lon: position.lon.toFixed(7),
      lat: position.lat.toFixed(7),
      crs: position.crs,
    };
    submit.disabled = true;
    try {
      const duplicates = await findDuplicates(fields);
      if (duplicates?.length) {
        submit.hidden = true;
        const {same} = await askAboutDuplicates($("duplicate-warning"), duplicates, S);
        submit.hidden = false;
        if (same) {
          clearReport();
          toast(fmt(S.notFiled, {number: same.number}));
          return;
        }
      }
      await outbox.add({kind: "report", url: "/api/grid/cases/", fields, photo, label: `${S.kindReport} · ${category.label}`});
    } finally {
      submit.disabled = false;
    }
    clearReport();
    toast(S.saved);
  });
}

// --- tasks: handled cases in my grids, verified on site ---

const pendingVerification = new Set(); // case ids with a verification in the outbox

async function loadTasks(map) {
  const data = await api("/api/grid/my-tasks/").catch(() => null);
  if (!data) return;
  state.tasks = itemsOf(data);
  const visible = state.tasks.filter((f) => !pendingVerification.has(f.properties.id ?? f.id));
  map.getSource("tasks")?.setData({type: "FeatureCollection", features: visible});
  $("task-count").textContent = String(visible.length);
  $("task-list").replaceChildren(
    ...(visible.length
      ? visible.map((feature) =>
          el(
            "li",
            {},
            el(
              "button",
              {type: "button", class: "case-item", dataset: {id: feature.properties.id ?? feature.id, number: feature.properties.number}, onclick: () => openTask(map, feature)},
              el("b", {}, feature.properties.number),
              el("span", {class: "case-category"}, feature.properties.category_label ?? feature.properties.category_code),
              el("span", {class: "case-address"}, feature.properties.address ?? ""),
              liveTimerBadge(feature.properties, S),
            ),
          ),
        )
      : [el("li", {class: "empty"}, S.noTasks)]),
  );
}

async function openTask(map, feature) {
  const id = feature.properties.id ?? feature.id;
  const detail = $("task-detail");
  const full = await api(`/api/grid/cases/${id}/`).catch(() => feature);
  if (feature.geometry) map.easeTo({center: feature.geometry.coordinates, zoom: Math.max(map.getZoom(), 17)});
  let photo = null;
  const note = el("textarea", {rows: 2, placeholder: S.note, "aria-label": S.note});
  const preview = el("img", {class: "photo-preview", hidden: true, alt: ""});
  const input = el("input", {type: "file", accept: "image/*", capture: "environment", class: "verify-photo"});
  input.addEventListener("change", async () => {
    if (!input.files[0]) return;
    photo = downscalePhoto(input.files[0]);
    photo = await photo;
    preview.src = URL.createObjectURL(photo);
    preview.hidden = false;
  });
  const message = el("p", {class: "form-message", role: "alert", hidden: true});
  const verify = async (action) => {
    photo = await photo;
    const position = reportPosition();
    const missing = !photo ? S.needPhoto : !position ? S.needPosition : null;
    message.hidden = !missing;
    if (missing) {
      message.textContent = missing;
      return;
    }
    const fields = {location: JSON.stringify({type: "Point", coordinates: [position.lon, position.lat]}), crs: position.crs};
    if (note.value.trim()) fields.note = note.value.trim();
    await outbox.add({kind: "action", url: `/api/grid/cases/${id}/actions/${action}/`, fields, photo, label: `${config.actionLabels[action]} · ${feature.properties.number}`});
    pendingVerification.add(id);
    detail.hidden = true;
    $("task-list").hidden = false;
    toast(S.saved);
    loadTasks(map);
  };
  detail.replaceChildren(
    el("button", {type: "button", class: "link back", onclick: () => ((detail.hidden = true), ($("task-list").hidden = false))}, "‹ ", S.close),
    caseFacts(full, config),
    photoStrip(photoUrls(full.properties), S),
    full.history ? historyList(full.history, config) : null,
    el("p", {class: "hint"}, S.verifyAt),
    el("label", {class: "photo-button small"}, input, el("span", {}, S.addPhoto)),
    preview,
    note,
    message,
    actionButtons(full, config, verify, FIELD_ACTIONS),
  );
  $("task-list").hidden = true;
  detail.hidden = false;
}

// --- start ---

/** Another inspector signed in on this tablet: the previous one's cached tasks and grids are not theirs. */
async function forgetPreviousAccount() {
  const previous = localStorage.getItem(USER_KEY);
  if (previous !== null && previous !== String(config.user)) await window.caches?.delete("cityops-m-data");
  localStorage.setItem(USER_KEY, String(config.user));
}

async function main() {
  await forgetPreviousAccount();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", {scope: "/m/"}).catch((error) => console.warn("service worker", error));
  }
  for (const tab of document.querySelectorAll(".tabs [role=tab]")) tab.addEventListener("click", () => showTab(tab.id.slice(4)));
  paintNet();
  window.addEventListener("online", paintNet);
  // What the track gathered offline goes when the network is back; the minute timer retries after a failure.
  window.addEventListener("online", () => track?.flush().catch(() => {}));
  setInterval(() => navigator.onLine && track?.flush().catch(() => {}), 60_000);
  window.addEventListener("offline", () => (paintNet(), paintOutbox()));

  outbox.addEventListener("change", paintOutbox);
  await outbox.open();
  setInterval(paintOutbox, 1000); // the retry countdown
  startTimerTicks(document, S);

  const {map, ready} = createMap("map", {theme: "light"});
  window.cityopsTablet = {
    outbox,
    // For a native wrapper that gets positions from a Chinese map SDK: setPosition(lon, lat, "gcj02").
    setPosition(lon, lat, crs = "wgs84", accuracy = 10) {
      state.gps = {lon, lat, crs, accuracy};
      trackFix(state.gps);
      paintPosition(map);
    },
  };
  map.once("load", () => addCaseLayer(map, "tasks"));
  await setupReportForm(map);
  await ready.catch(() => {
    $("report-message").textContent = S.loadFailed;
    $("report-message").hidden = false;
  });

  const grids = await api("/api/grid/my-grids/").catch(() => null);
  if (grids) {
    for (const feature of grids.features ?? []) feature.properties = {...feature.properties, mine: true, code: feature.properties.code ?? String(feature.id)};
    map.getSource("grids").setData(grids);
    const box = extentOf(grids.features ?? []);
    if (box && !state.gps) map.fitBounds(box, {padding: 40, maxZoom: 16, duration: 0});
  }
  await loadTasks(map);
  document.body.dataset.appReady = "1";

  outbox.addEventListener("sent", (event) => {
    if (event.detail.record.kind === "action") loadTasks(map);
  });
  let timer = null;
  new OpsSocket({
    topics: ["cases"],
    onEvent: () => {
      // A case entering or leaving "handled" changes what is to verify.
      clearTimeout(timer);
      timer = setTimeout(() => loadTasks(map), 500);
    },
  }).start();
}

main();
