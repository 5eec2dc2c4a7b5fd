/**
 * What the three city-management screens (/grid/, /m/, /dept/) share: the page config, case timers, case
 * details and history, the photo viewer, photo downscaling, the category picker and the workflow action forms.
 *
 * The page passes its config with json_script (grid/pages.py: page_config): translated strings, stage and
 * action labels, and which actions the user's roles allow in each stage. Text shown here comes from there.
 */

import {ApiError, api, itemsOf} from "../lib/api.js";
import {el} from "../lib/dom.js";

const SHANGHAI = "Asia/Shanghai";
// The server sends these as data; this is only the order cases are listed in.
export const TIMER_ORDER = {red: 0, yellow: 1, green: 2};

export function readConfig(id = "grid-config") {
  return JSON.parse(document.getElementById(id).textContent);
}

/** fmt("{n} left", {n: 3}) → "3 left". */
export function fmt(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

export function categoryOf(item) {
  return {
    code: String(item.code ?? ""),
    label: item.label ?? String(item.code ?? ""),
    major: item.major?.name ?? "",
  };
}

export function caseAction(caseId, action, fields) {
  return api(`/api/grid/cases/${caseId}/actions/${action}/`, fields instanceof FormData ? {form: fields} : {json: fields});
}

// --- time ---

export function formatTime(iso, lang = document.documentElement.lang) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(lang, {
    timeZone: SHANGHAI,
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(new Date(iso));
}

export function formatDuration(ms, strings) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const seconds = String(total % 60).padStart(2, "0");
  const clock = `${hours}:${minutes}:${seconds}`;
  return days > 0 ? `${fmt(strings.days, {n: days})} ${clock}` : clock;
}

/**
 * The timer of a case now: colour from the server (which knows the yellow threshold), turned red by the
 * client as soon as the deadline passes, and the time left or overdue.
 */
export function timerOf(properties, strings, now = Date.now()) {
  if (!properties.deadline_at) return {state: properties.timer_state ?? "none", text: strings.noDeadline};
  const left = new Date(properties.deadline_at).getTime() - now;
  const state = left < 0 ? "red" : (properties.timer_state ?? "green");
  const text = left < 0 ? fmt(strings.overdueBy, {time: formatDuration(-left, strings)}) : fmt(strings.left, {time: formatDuration(left, strings)});
  return {state, text};
}

export function timerBadge(properties, strings) {
  const badge = el("span", {class: "timer", dataset: {deadline: properties.deadline_at ?? ""}});
  paintTimer(badge, properties, strings);
  return badge;
}

export function paintTimer(badge, properties, strings) {
  const {state, text} = timerOf(properties, strings);
  badge.dataset.timer = state;
  badge.textContent = text;
}

/** Ticks every badge under `root` once a second; badges keep their case's properties in `badge.caseProps`. */
export function startTimerTicks(root, strings) {
  setInterval(() => {
    for (const badge of root.querySelectorAll(".timer")) {
      if (badge.caseProps) paintTimer(badge, badge.caseProps, strings);
    }
  }, 1000);
}

export function liveTimerBadge(properties, strings) {
  const badge = timerBadge(properties, strings);
  badge.caseProps = properties;
  return badge;
}

// --- case details ---

export function channelLabel(channel, strings) {
  const key = `channel${String(channel ?? "").replace(/^\w/, (c) => c.toUpperCase())}`;
  return strings[key] ?? channel ?? "—";
}

export function photoUrls(properties) {
  return (properties.photos ?? []).map((photo) => (typeof photo === "string" ? photo : photo.url));
}

export function photoStrip(urls, strings) {
  if (!urls.length) return el("p", {class: "muted"}, strings.noPhotos);
  return el(
    "div",
    {class: "photo-strip"},
    urls.map((url, index) =>
      el(
        "button",
        {type: "button", class: "photo-thumb", title: fmt(strings.photoOf, {n: index + 1, total: urls.length}), onclick: () => showPhotos(urls, index, strings)},
        el("img", {src: url, alt: fmt(strings.photoOf, {n: index + 1, total: urls.length}), loading: "lazy"}),
      ),
    ),
  );
}

export function caseFacts(feature, config) {
  const p = feature.properties;
  const S = config.strings;
  const rows = [
    [S.number, p.number],
    [S.stage, config.stageLabels[p.stage] ?? p.stage_label ?? p.stage],
    [S.category, p.category_label ? `${p.category_label} (${p.category_code})` : p.category_code],
    [S.grid, p.grid_code],
    [S.address, p.address],
    [S.description, p.description],
    [S.department, p.department?.name],
    [S.channel, channelLabel(p.channel, S)],
    [S.reporter, p.reporter?.name ?? p.reporter],
    [S.reportedAt, formatTime(p.reported_at)],
    [S.deadline, formatTime(p.deadline_at)],
  ];
  return el(
    "dl",
    {class: "case-facts"},
    rows.filter(([, value]) => value).map(([label, value]) => [el("dt", {}, label), el("dd", {}, String(value))]),
  );
}

export function historyList(history, config) {
  const S = config.strings;
  return el(
    "ol",
    {class: "case-history"},
    (history ?? []).map((step) =>
      el(
        "li",
        {dataset: {action: step.action ?? ""}},
        el("div", {class: "history-head"}, el("b", {}, config.actionLabels[step.action] ?? step.action_label ?? step.action), el("time", {datetime: step.at}, formatTime(step.at))),
        step.actor ? el("div", {class: "history-actor"}, typeof step.actor === "string" ? step.actor : (step.actor.name ?? step.actor.username ?? "")) : null,
        step.note ? el("p", {class: "history-note"}, step.note) : null,
        step.photos?.length ? photoStrip(photoUrls(step), S) : null,
      ),
    ),
  );
}

// --- photo viewer ---

let viewer = null;

/** A full-screen viewer over the page: arrows and Escape on a keyboard, buttons on a touch screen. */
export function showPhotos(urls, index, strings) {
  if (!viewer) {
    const image = el("img", {alt: ""});
    const caption = el("span", {class: "viewer-caption"});
    const dialog = el(
      "dialog",
      {class: "photo-viewer", "aria-label": strings.photos},
      image,
      el("div", {class: "viewer-bar"},
        el("button", {type: "button", class: "viewer-prev", "aria-label": strings.previousPhoto, onclick: () => step(-1)}, "‹"),
        caption,
        el("button", {type: "button", class: "viewer-next", "aria-label": strings.nextPhoto, onclick: () => step(1)}, "›"),
        el("button", {type: "button", class: "viewer-close", "aria-label": strings.close, onclick: () => dialog.close()}, "×"),
      ),
    );
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") step(-1);
      if (event.key === "ArrowRight") step(1);
    });
    dialog.addEventListener("click", (event) => event.target === dialog && dialog.close());
    document.body.append(dialog);
    viewer = {dialog, image, caption, urls: [], index: 0, strings};
    const step = (delta) => show((viewer.index + delta + viewer.urls.length) % viewer.urls.length);
    const show = (i) => {
      viewer.index = i;
      viewer.image.src = viewer.urls[i];
      viewer.caption.textContent = fmt(viewer.strings.photoOf, {n: i + 1, total: viewer.urls.length});
    };
    viewer.show = show;
  }
  viewer.urls = urls;
  viewer.show(index);
  if (!viewer.dialog.open) viewer.dialog.showModal();
}

// --- photos from the camera ---

/**
 * A camera photo is 3–12 MB; the server needs a few hundred KB. Downscaled in a canvas so that the upload
 * (and the offline queue) stays small; EXIF orientation is applied by createImageBitmap.
 */
export async function downscalePhoto(file, maxEdge = 1600, quality = 0.82) {
  const bitmap = await createImageBitmap(file, {imageOrientation: "from-image"});
  const scale = Math.min(1, maxEdge / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("photo could not be encoded"))), "image/jpeg", quality),
  );
}

// --- category picker ---

/** Matches by code prefix or by any part of the name; the caller keeps the full list (works offline). */
export function filterCategories(categories, query, limit = 40) {
  const q = query.trim().toLowerCase();
  if (!q) return categories.slice(0, limit);
  return categories
    .filter((c) => c.code.startsWith(q) || c.label.toLowerCase().includes(q) || c.major.toLowerCase().includes(q))
    .slice(0, limit);
}

export function categoryPicker({categories, strings, selected = null, onPick}) {
  const input = el("input", {type: "search", class: "category-search", placeholder: strings.searchCategory, "aria-label": strings.searchCategory, autocomplete: "off"});
  const list = el("ul", {class: "category-list", role: "listbox", "aria-label": strings.category});
  let current = selected;
  const render = () => {
    list.replaceChildren(
      ...filterCategories(categories, input.value).map((category) =>
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              role: "option",
              "aria-selected": String(category.code === current),
              dataset: {code: category.code},
              onclick: () => {
                current = category.code;
                render();
                onPick(category);
              },
            },
            el("span", {class: "category-label"}, category.label),
            el("span", {class: "category-code"}, category.code),
          ),
        ),
      ),
    );
  };
  input.addEventListener("input", render);
  render();
  return {input, list, element: el("div", {class: "category-picker"}, input, list), get value() { return current; }, set value(code) { current = code; render(); }};
}

// --- workflow action forms ---

// What each action asks for; the server checks again and refuses with a message naming the field.
const ACTION_FIELDS = {
  file: ["category", "note"],
  reject: ["note!"],
  send_confirmation: ["note"],
  submit_confirmation: ["photo!", "note"],
  dispatch: ["department", "note"],
  return_to_center: ["note!"],
  handle: ["photo!", "note"],
  request_postponement: ["hours!", "note!"],
  approve_postponement: ["hours!", "note"],
  deny_postponement: ["note!"],
  suspend: ["note!"],
  resume: ["note"],
  verify_ok: ["photo!", "note"],
  verify_fail: ["photo!", "note!"],
  close: ["note"],
};

let categoryCache = null;
let departmentCache = null;

export async function loadCategories() {
  categoryCache ??= api("/api/grid/categories/").then((data) => itemsOf(data).map(categoryOf));
  return categoryCache;
}

export async function loadDepartments() {
  departmentCache ??= api("/api/grid/departments/").then(itemsOf);
  return departmentCache;
}

/**
 * The form for one action on one case; `onDone(feature)` gets the updated case. Position for actions that
 * prove presence (verification) comes from `position()` → {lon, lat, crs} or null.
 */
export async function actionForm(action, feature, config, {onDone, onCancel, position = () => null}) {
  const S = config.strings;
  const specs = ACTION_FIELDS[action] ?? ["note"];
  const form = el("form", {class: "action-form", dataset: {action}});
  const message = el("p", {class: "form-message", role: "alert", hidden: true});
  const controls = {};
  for (const spec of specs) {
    const name = spec.replace("!", "");
    const required = spec.endsWith("!");
    if (name === "note") {
      controls.note = el("textarea", {name: "note", rows: 2, required, placeholder: required ? S.noteRequired : S.note, "aria-label": S.note});
      form.append(controls.note);
    } else if (name === "hours") {
      controls.hours = el("input", {type: "number", name: "postpone_hours", min: 1, max: 720, step: 1, value: 24, required, "aria-label": S.postponeHours});
      form.append(el("label", {class: "field"}, el("span", {}, S.postponeHours), controls.hours));
    } else if (name === "photo") {
      controls.photo = el("input", {type: "file", name: "photo", accept: "image/*", capture: "environment", required});
      form.append(el("label", {class: "field photo-field"}, el("span", {}, S.addPhoto), controls.photo));
    } else if (name === "department") {
      const departments = await loadDepartments();
      controls.department = el(
        "select",
        {name: "department_id", required, "aria-label": S.chooseDepartment},
        // Left empty, the server sends the case to the department responsible for its category there.
        el("option", {value: ""}, S.responsibleDepartment),
        departments.map((d) => el("option", {value: d.id}, d.name)),
      );
      form.append(controls.department);
    } else if (name === "category") {
      // Filing confirms the category and the unit grid the server found from the position.
      const grid = feature.properties.grid_code;
      form.append(el("p", {class: grid ? "form-fact" : "form-message"}, grid ? `${S.grid}: ${grid}` : S.noGrid));
      const categories = await loadCategories();
      controls.category = categoryPicker({categories, strings: S, selected: feature.properties.category_code, onPick: () => {}});
      controls.category.input.value = feature.properties.category_code ?? "";
      controls.category.input.dispatchEvent(new Event("input"));
      form.append(controls.category.element);
    }
  }
  const submit = el("button", {type: "submit", class: "primary action-submit", dataset: {action}}, config.actionLabels[action] ?? action);
  const cancel = el("button", {type: "button", class: "secondary", onclick: () => onCancel?.()}, S.cancel);
  form.append(message, el("div", {class: "form-buttons"}, submit, cancel));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    submit.disabled = true;
    try {
      const fields = new FormData();
      if (controls.note?.value.trim()) fields.append("note", controls.note.value.trim());
      if (controls.hours) fields.append("postpone_hours", controls.hours.value);
      if (controls.department?.value) fields.append("department_id", controls.department.value);
      if (controls.category?.value) fields.append("category_code", controls.category.value);
      if (controls.photo?.files.length) fields.append("photo", await downscalePhoto(controls.photo.files[0]), "photo.jpg");
      const where = position();
      if (where) fields.append("location", JSON.stringify({type: "Point", coordinates: [where.lon, where.lat]}));
      if (where?.crs) fields.append("crs", where.crs);
      onDone(await caseAction(feature.properties.id ?? feature.id, action, fields));
    } catch (error) {
      message.textContent = error instanceof ApiError ? fmt(S.refused, {reason: error.message}) : S.networkError;
      message.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/**
 * The buttons of the actions this user may take on the case: the server's list in a case's detail
 * (it also knows the organisation), else what the user's roles allow in the stage (page config).
 */
export function actionButtons(feature, config, onChoose, only = null) {
  const allowed = feature.properties.actions ?? config.actions[feature.properties.stage] ?? [];
  const actions = allowed.filter((a) => !only || only.includes(a));
  return el(
    "div",
    {class: "action-buttons"},
    actions.map((action) =>
      el("button", {type: "button", class: `action action-${action}`, dataset: {action}, onclick: () => onChoose(action)}, config.actionLabels[action] ?? action),
    ),
  );
}

// --- case lists and the open case (case centre, department) ---

export const caseId = (feature) => String(feature.properties.id ?? feature.id);

/** Stages after which a case is no longer worked on: the screens that list open cases drop it. */
export const CLOSED_STAGES = new Set(["closed", "invalid"]);

/** Keeps `cases` (a Map id → feature of the open cases) in step with one case feature: closed or voided cases leave. */
export function upsertCase(cases, feature) {
  const id = caseId(feature);
  if (CLOSED_STAGES.has(feature.properties.stage)) cases.delete(id);
  else cases.set(id, feature);
}

/** Most urgent first: red, yellow, green, then by deadline. */
export function byUrgency(strings, now = Date.now()) {
  return (a, b) => {
    const ta = timerOf(a.properties, strings, now).state;
    const tb = timerOf(b.properties, strings, now).state;
    if (ta !== tb) return (TIMER_ORDER[ta] ?? 3) - (TIMER_ORDER[tb] ?? 3);
    return (a.properties.deadline_at ?? "9").localeCompare(b.properties.deadline_at ?? "9");
  };
}

/** A case in a list: number, live timer, category, stage and address on one button. */
export function caseCard(feature, config, {current, onclick}) {
  const p = feature.properties;
  const id = caseId(feature);
  return el(
    "button",
    {type: "button", class: "case-card", "aria-current": current ? "true" : null, dataset: {id, number: p.number ?? "", stage: p.stage}, onclick},
    el("span", {class: "card-number"}, p.number ?? id),
    liveTimerBadge(p, config.strings),
    el("span", {class: "card-category"}, p.category_label ?? p.category_code ?? ""),
    el("span", {class: "card-stage"}, config.stageLabels[p.stage] ?? p.stage_label ?? p.stage),
    el("span", {class: "card-address"}, p.address || p.grid_code || ""),
  );
}

/** The open case: head, stage, the user's actions (their form goes into `formSlot`), photos, facts and history. */
export function caseDetail(feature, config, onChoose, formSlot) {
  const p = feature.properties;
  const S = config.strings;
  return [
    el("div", {class: "detail-head", dataset: {id: caseId(feature), stage: p.stage}}, el("h2", {}, p.number ?? caseId(feature)), liveTimerBadge(p, S)),
    el("p", {class: "detail-stage"}, config.stageLabels[p.stage] ?? p.stage_label ?? p.stage),
    actionButtons(feature, config, onChoose),
    formSlot,
    el("h3", {}, S.photos),
    photoStrip(photoUrls(p), S),
    caseFacts(feature, config),
    el("h3", {}, S.history),
    historyList(feature.history, config),
  ];
}

export function liveStatusPainter(pill, strings) {
  return (state, detail) => {
    pill.dataset.state = state;
    pill.textContent = strings[`live${state[0].toUpperCase()}${state.slice(1)}`] ?? state;
    pill.title = detail ?? "";
  };
}
