/**
 * 新建受理 in the case centre: a hotline (12345 / 12319) call filed as a case. The caller (name, phone, whether
 * they want a call-back), the category, the description and photos, and the place, found three ways: an address
 * from the geocoder, a click on the map (reverse-geocoded to its nearest address), or typed coordinates.
 *
 * As soon as category and place are known the open cases that probably report the same problem are shown, so the
 * call taker can attach the call to one of them (filed, then merged into it: one case keeps every report and the
 * service tells every reporter) instead of opening a second case; the filing's own answer is checked again.
 */
import {ApiError, api, fieldErrors} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";
import {reverseGeocode, searchAsTyped} from "../lib/geocode.js";
import {maplibregl} from "../lib/map.js";
import {categoryPicker, downscalePhoto, fmt, formatTime, loadCategories} from "./grid-ui.js";

const $ = byId;
const S = $("hotline-strings").dataset;

// The API's field names, as the form labels them (its 400 names the field).
const FIELD_LABELS = {
  category_code: S.category,
  location: S.location,
  lon: S.location,
  lat: S.location,
  crs: S.location,
  "reporter_contact.name": S.callerName,
  "reporter_contact.phone": S.callerPhone,
  "reporter_contact.callback": S.callback,
  channel: S.channel,
  description: S.description,
  address: S.address,
  photo: S.photo,
};
// What the form says about a field the server refused (its own words are English); other fields show the server's.
const FIELD_HINTS = {
  category_code: S.hintCategory,
  location: S.hintLocation,
  lon: S.hintLocation,
  lat: S.hintLocation,
  "reporter_contact.name": S.hintName,
  "reporter_contact.phone": S.hintPhone,
  description: S.hintDescription,
  address: S.hintAddress,
  photo: S.hintPhoto,
};
// The control each field's error is shown on.
const FIELD_CONTROLS = {
  category_code: "intake-category",
  location: "intake-search",
  lon: "intake-lon",
  lat: "intake-lat",
  crs: "intake-crs",
  "reporter_contact.name": "caller-name",
  "reporter_contact.phone": "caller-phone",
  channel: "intake-channel",
  description: "intake-description",
  address: "intake-address",
  photo: "intake-photos",
};

/**
 * Wires the intake form of the page to `map`. `onOpen`/`onClose` swap it with the case panel; `onFiled(feature, message)`
 * gets the case that goes on (the new one, or the one the call was merged into) and what to tell the user.
 * Returns {open, isOpen}.
 */
export function setupIntake({map, onOpen, onClose, onFiled}) {
  const form = $("intake");
  let place = null; // {point: [lon, lat] WGS84}
  let category = null;
  let marker = null;
  let idempotencyKey = crypto.randomUUID();
  let duplicateCheck = 0;
  let picker = null;

  const message = $("intake-message");

  function clearErrors() {
    showText(message, "");
    for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  }

  function showFieldErrors(errors) {
    const lines = Object.entries(errors).map(([field, reason]) => {
      $(FIELD_CONTROLS[field] ?? "")?.setAttribute("aria-invalid", "true");
      return fmt(S.fieldRefused, {field: FIELD_LABELS[field] ?? field, reason});
    });
    showText(message, lines.join("\n"));
    const first = $(FIELD_CONTROLS[Object.keys(errors)[0]] ?? "");
    first?.focus?.();
  }

  function showFailure(error) {
    if (!(error instanceof ApiError)) throw error;
    const errors = fieldErrors(error.data);
    for (const field of Object.keys(errors)) errors[field] = FIELD_HINTS[field] ?? errors[field];
    if (error.status === 400 && Object.keys(errors).length) showFieldErrors(errors);
    else showText(message, error.message);
  }

  // --- place ---

  function setPlace(point, {fly = true} = {}) {
    place = {point};
    marker ??= new maplibregl.Marker({color: "#fde047"});
    marker.setLngLat(point).addTo(map);
    if (fly) map.easeTo({center: point, zoom: Math.max(map.getZoom(), 16)});
    showText($("intake-position"), fmt(S.position, {lon: point[0].toFixed(6), lat: point[1].toFixed(6)}));
    $("intake-search").removeAttribute("aria-invalid");
    checkDuplicates();
  }

  /** Places the call at a point the user chose on the map or typed, and names its nearest address. */
  async function placeAndName(point, {fly}) {
    setPlace(point, {fly});
    let found;
    try {
      found = await reverseGeocode(point);
    } catch (error) {
      showFailure(error);
      return;
    }
    if (place?.point !== point || !found.address) return;
    $("intake-address").value = found.address.label;
    showText($("intake-position"), `${$("intake-position").textContent} · ${fmt(S.nearest, {address: found.address.label, m: Math.round(found.distance_m)})}`);
  }

  async function placeByCoordinates() {
    clearErrors();
    const [lon, lat, crs] = [$("intake-lon").value.trim(), $("intake-lat").value.trim(), $("intake-crs").value];
    try {
      // The server converts from the coordinate system the caller's app gave; the marker and the case use WGS84.
      const found = await api(`/api/core/locate/?${new URLSearchParams({lon, lat, crs})}`);
      await placeAndName(found.geometry.coordinates, {fly: true});
    } catch (error) {
      showFailure(error);
    }
  }

  function setupSearch() {
    const input = $("intake-search");
    const list = $("intake-candidates");
    searchAsTyped(input, {
      clear: () => list.replaceChildren(),
      show: (found) =>
        list.replaceChildren(
          ...(found.length
            ? found.map((candidate) =>
                el(
                  "li",
                  {},
                  el(
                    "button",
                    {
                      type: "button",
                      role: "option",
                      class: "candidate",
                      dataset: {lon: candidate.point[0], lat: candidate.point[1]},
                      onclick: () => {
                        $("intake-address").value = candidate.label;
                        list.replaceChildren();
                        setPlace(candidate.point);
                      },
                    },
                    el("span", {class: "candidate-label"}, candidate.label),
                    el("span", {class: "candidate-score"}, fmt(S.score, {score: `${Math.round(candidate.score * 100)}%`})),
                  ),
                ),
              )
            : [el("li", {class: "empty"}, S.noAddresses)]),
        ),
    });
  }

  // --- duplicates ---

  function duplicateItem(feature, buttonLabel, onChoose) {
    const p = feature.properties;
    return el(
      "li",
      {class: "duplicate", dataset: {id: p.id, number: p.number}},
      el("div", {class: "duplicate-head"}, el("b", {}, p.number), el("span", {class: "muted"}, fmt(S.distance, {m: Math.round(p.distance_m)})), el("time", {datetime: p.reported_at}, formatTime(p.reported_at))),
      el("p", {class: "duplicate-text"}, [p.address, p.description].filter(Boolean).join(" · ")),
      el("button", {type: "button", class: "secondary duplicate-attach", onclick: onChoose}, buttonLabel),
    );
  }

  function showDuplicates(features, hint, buttonLabel, onChoose) {
    const section = $("intake-duplicates");
    section.hidden = !features.length;
    $("intake-duplicates-hint").textContent = hint;
    $("intake-duplicate-list").replaceChildren(...features.map((f) => duplicateItem(f, buttonLabel, () => onChoose(f))));
    $("intake-submit").textContent = features.length && !form.dataset.filed ? S.fileAnyway : S.file;
  }

  async function checkDuplicates() {
    if (!category || !place) return showDuplicates([], "", "", null);
    const asked = ++duplicateCheck;
    const params = new URLSearchParams({category_code: category, lon: place.point[0], lat: place.point[1]});
    let found;
    try {
      found = await api(`/api/grid/cases/duplicates/?${params}`);
    } catch (error) {
      showFailure(error);
      return;
    }
    if (asked !== duplicateCheck) return; // category or place changed meanwhile
    showDuplicates(found.features, S.duplicatesFound, S.attach, (into) => file({into}));
  }

  // --- filing ---

  function missing() {
    const errors = {};
    if (!category) errors.category_code = S.needCategory;
    if (!place) errors.location = S.needLocation;
    return errors;
  }

  async function body() {
    const data = new FormData();
    data.append("category_code", category);
    data.append("location", JSON.stringify({type: "Point", coordinates: place.point}));
    data.append("channel", $("intake-channel").value);
    for (const [name, id] of [["description", "intake-description"], ["address", "intake-address"]]) {
      if ($(id).value.trim()) data.append(name, $(id).value.trim());
    }
    const caller = {name: $("caller-name").value.trim(), phone: $("caller-phone").value.trim(), callback: $("caller-callback").checked};
    data.append("reporter_contact", JSON.stringify(caller));
    for (const photo of $("intake-photos").files) data.append("photo", await downscalePhoto(photo), "photo.jpg");
    return data;
  }

  async function merge(feature, into) {
    const merged = await api(`/api/grid/cases/${feature.properties.id}/merge/`, {json: {into: into.properties.id, note: S.mergeNote}});
    close();
    onFiled(merged, fmt(S.attached, {number: merged.properties.number}));
  }

  function keep(feature) {
    close();
    onFiled(feature, fmt(S.filed, {number: feature.properties.number}));
  }

  /** Files the call; with `into`, merges the new case into that open case at once. */
  async function file({into = null} = {}) {
    clearErrors();
    const errors = missing();
    if (Object.keys(errors).length) return showFieldErrors(errors);
    const submit = $("intake-submit");
    submit.disabled = true;
    try {
      const feature = await api("/api/grid/cases/", {form: await body(), headers: {"Idempotency-Key": idempotencyKey}});
      form.dataset.filed = feature.properties.number;
      setFiled(true); // what was filed stays as filed: only the merge choice is left
      if (into) return await merge(feature, into);
      const others = feature.properties.possible_duplicates ?? [];
      if (!others.length) return keep(feature);
      // Filed: offer the merge (other cases may have come in since the check); or keep it as it is.
      showDuplicates(others, fmt(S.duplicatesAfter, {number: feature.properties.number}), S.merge, (other) => merge(feature, other).catch(showFailure));
      submit.textContent = S.keepSeparate;
      submit.onclick = (event) => (event.preventDefault(), keep(feature));
    } catch (error) {
      showFailure(error);
    } finally {
      submit.disabled = false;
    }
  }

  // --- open, close ---

  async function open() {
    reset();
    form.hidden = false;
    onOpen();
    const categories = await loadCategories();
    picker = categoryPicker({
      categories,
      strings: {searchCategory: S.category, category: S.category},
      onPick: (picked) => {
        category = picked.code;
        $("intake-category-picked").textContent = `${picked.label} (${picked.code})`;
        $("intake-category").removeAttribute("aria-invalid");
        checkDuplicates();
      },
    });
    $("intake-category").append(picker.element);
    $("caller-name").focus();
  }

  function setFiled(filed) {
    for (const fieldset of form.querySelectorAll("fieldset")) fieldset.disabled = filed;
  }

  function reset() {
    form.reset();
    setFiled(false);
    delete form.dataset.filed;
    picker?.element.remove();
    picker = null;
    category = null;
    place = null;
    marker?.remove();
    idempotencyKey = crypto.randomUUID();
    $("intake-category-picked").textContent = "";
    $("intake-candidates").replaceChildren();
    showText($("intake-position"), "");
    showDuplicates([], "", "", null);
    $("intake-submit").onclick = null;
    clearErrors();
  }

  function close() {
    reset();
    form.hidden = true;
    onClose();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    file();
  });
  $("intake-close").addEventListener("click", close);
  $("intake-coords-apply").addEventListener("click", placeByCoordinates);
  setupSearch();
  map.on("click", (event) => {
    if (!form.hidden && !form.dataset.filed) placeAndName([event.lngLat.lng, event.lngLat.lat], {fly: false});
  });
  $("intake-open").hidden = false;
  $("intake-open").addEventListener("click", open);
  return {open, isOpen: () => !form.hidden};
}
