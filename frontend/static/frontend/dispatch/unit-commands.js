/**
 * Commands to vehicles in the dispatcher console: a unit's panel (文字下发, 位置查询, 临时跟踪, 参数查询/设置,
 * 回拨, 车门控制) with its commands and their states, and the group text (组呼) to a group, an agency or an area
 * with each vehicle's state. Both follow the command.state events of the live feed (`commandChanged`).
 */
import {ApiError, api, fieldErrors} from "../lib/api.js";
import {byId, el} from "../lib/dom.js";
import {KINDS, countStates, mergeCommand, paramsFor} from "./command-states.js";

const $ = byId;
let strings;
let vehicles; // the console's live Map of unit features
let unitId = null;
let unitCommands = [];
let kind = "text";
let batch = null; // {id, commands, …} of the group text on screen
let districts = null; // promise of the districts' FeatureCollection, fetched once: areas do not change under a console

const stateLabel = (state) => strings[`state-${state}`.replace(/-(\w)/g, (_, c) => c.toUpperCase())] ?? state;
const kindLabel = (value) => strings[`kind-${value}`.replace(/-(\w)/g, (_, c) => c.toUpperCase())] ?? value;

function field(name, label, control) {
  return el("label", {class: "field", "data-field": `params.${name}`}, el("span", {}, label), control, el("small", {class: "field-error", hidden: ""}));
}

function check(name, label) {
  return el("label", {class: "check"}, el("input", {type: "checkbox", name}), label);
}

const FIELDS = {
  text: () => [field("text", strings.text, el("textarea", {name: "text", rows: "3", maxlength: "1021"})), el("div", {class: "checks"}, check("urgent", strings.urgent), check("tts", strings.tts))],
  position_query: () => [],
  tracking: () => [
    field("interval_s", strings.interval, el("input", {name: "interval_s", type: "number", min: "1", value: "5"})),
    field("validity_s", strings.validity, el("input", {name: "validity_s", type: "number", min: "10", value: "600"})),
  ],
  query_params: () => [field("ids", strings.paramIds, el("input", {name: "ids", placeholder: "0x0001, 0x0029"}))],
  set_params: () => [
    field("params", strings.paramId, el("input", {name: "param_id", value: "0x0029"})),
    field("param_value", strings.paramValue, el("input", {name: "param_value", value: "30"})),
  ],
  call_back: () => [field("number", strings.number, el("input", {name: "number", inputmode: "tel"})), check("monitor", strings.monitor)],
  vehicle_control: () => [
    field("doors", strings.doors, el("select", {name: "doors"}, el("option", {value: "lock"}, strings.lock), el("option", {value: "unlock"}, strings.unlock))),
  ],
};

function showFormErrors(form, banner, error) {
  form.querySelectorAll(".field-error").forEach((slot) => (slot.hidden = true));
  const errors = error instanceof ApiError ? fieldErrors(error.data) : {"": String(error)};
  const general = [];
  for (const [name, message] of Object.entries(errors)) {
    const slot = form.querySelector(`[data-field="${CSS.escape(name)}"] .field-error`) ?? form.querySelector(`[data-field^="${CSS.escape(name)}."] .field-error`);
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
    } else {
      general.push(message);
    }
  }
  banner.textContent = general.join(" ");
  banner.hidden = !general.length;
}

function clearFormErrors(form, banner) {
  form.querySelectorAll(".field-error").forEach((slot) => (slot.hidden = true));
  banner.hidden = true;
}

function commandItem(command, withUnit) {
  const detail = [command.summary];
  if (command.error) detail.push(command.error);
  if (command.answer?.position) detail.push(`${command.answer.position.latitude.toFixed(5)}, ${command.answer.position.longitude.toFixed(5)}`);
  if (command.answer?.params) detail.push(Object.entries(command.answer.params).map(([k, v]) => `${k}=${v}`).join(" "));
  if (command.read_at) detail.push(strings.read);
  return el(
    "li",
    {class: "command", "data-id": command.id, "data-state": command.state},
    el("span", {class: "state"}, stateLabel(command.state)),
    el("b", {}, withUnit ? command.call_sign : kindLabel(command.kind)),
    el("span", {class: "summary"}, detail.filter(Boolean).join(" · ")),
  );
}

// --- one unit ---

function renderKinds() {
  $("uc-kinds").replaceChildren(
    ...KINDS.map((value) => el("button", {type: "button", role: "tab", "data-kind": value, "aria-selected": String(value === kind)}, kindLabel(value))),
  );
  $("uc-fields").replaceChildren(...FIELDS[kind]());
}

function renderUnitCommands() {
  $("uc-list").replaceChildren(...(unitCommands.length ? unitCommands.map((c) => commandItem(c, false)) : [el("li", {class: "empty"}, strings.noCommands)]));
}

async function loadUnit(id) {
  unitId = id;
  $("uc-vehicle").value = String(id);
  renderKinds();
  unitCommands = await api(`/api/dispatch/vehicles/${id}/commands/`);
  renderUnitCommands();
}

function fillVehicleSelect() {
  const select = $("uc-vehicle");
  const options = [...vehicles.entries()]
    .map(([id, f]) => [id, f.properties?.call_sign ?? String(id)])
    .sort((a, b) => a[1].localeCompare(b[1]));
  select.replaceChildren(...options.map(([id, name]) => el("option", {value: String(id)}, name)));
}

/** Opens the unit's panel (from the toolbar, or a click on the unit on the map). */
export async function openUnitCommands(id) {
  fillVehicleSelect();
  const first = id ?? Number($("uc-vehicle").value);
  $("unit-commands").show();
  if (Number.isFinite(first)) await loadUnit(first);
}

async function sendUnitCommand(event) {
  event.preventDefault();
  const form = $("uc-form");
  clearFormErrors(form, $("uc-error"));
  const values = Object.fromEntries(new FormData(form));
  try {
    const command = await api(`/api/dispatch/vehicles/${unitId}/commands/`, {json: {kind, params: paramsFor(kind, values)}});
    unitCommands = [command, ...unitCommands.filter((c) => c.id !== command.id)];
    renderUnitCommands();
  } catch (error) {
    showFormErrors(form, $("uc-error"), error);
  }
}

// --- group text ---

async function fillTargets() {
  districts ??= api("/api/core/areas/?level=district").catch(() => ({features: []}));
  const [groups, areas] = await Promise.all([api("/api/dispatch/vehicle-groups/"), districts]);
  const agencies = [...new Set([...vehicles.values()].map((f) => f.properties?.agency).filter(Boolean))].sort();
  $("gt-target").replaceChildren(
    el("optgroup", {label: strings.group}, ...groups.map((g) => el("option", {value: `group:${g.id}`}, `${g.name}（${g.vehicles.length}）`))),
    el("optgroup", {label: strings.agency}, ...agencies.map((a) => el("option", {value: `agency:${a}`}, a))),
    el("optgroup", {label: strings.area}, ...areas.features.map(({properties: a}) => el("option", {value: `area:${a.code}`}, a.name))),
  );
}

function renderBatch() {
  $("gt-batch").hidden = !batch;
  if (!batch) return;
  $("gt-batch-title").textContent = `${batch.kind_label} → ${batch.target_label}`;
  const counts = countStates(batch.commands);
  $("gt-counts").replaceChildren(
    ...Object.entries(counts).map(([state, n]) => el("span", {class: "count-chip", "data-state": state}, `${stateLabel(state)} ${n}`)),
  );
  $("gt-list").replaceChildren(...batch.commands.map((c) => commandItem(c, true)));
}

async function sendGroupText(event) {
  event.preventDefault();
  const form = $("gt-form");
  clearFormErrors(form, $("gt-error"));
  const [target, value] = $("gt-target").value.split(":");
  try {
    batch = await api("/api/dispatch/command-batches/", {
      json: {target, [target]: target === "group" ? Number(value) : value, kind: "text", params: {text: $("gt-text").value}},
    });
    renderBatch();
  } catch (error) {
    showFormErrors(form, $("gt-error"), error);
  }
}

export async function openGroupText() {
  $("group-text").show();
  await fillTargets();
}

/** A command.state event: update the unit panel and the batch on screen. */
export function commandChanged(command) {
  if (command.vehicle_id === unitId) {
    unitCommands = unitCommands.some((c) => c.id === command.id) ? mergeCommand(unitCommands, command) : [command, ...unitCommands];
    renderUnitCommands();
  }
  if (batch && command.batch_id === batch.id) {
    batch = {...batch, commands: mergeCommand(batch.commands, command)};
    renderBatch();
  }
}

export function setupCommands(vehicleMap) {
  vehicles = vehicleMap;
  strings = $("command-strings").dataset;
  for (const dialog of [$("unit-commands"), $("group-text")]) {
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }
  $("uc-kinds").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-kind]");
    if (!button) return;
    kind = button.dataset.kind;
    renderKinds();
  });
  $("uc-vehicle").addEventListener("change", () => loadUnit(Number($("uc-vehicle").value)));
  $("uc-form").addEventListener("submit", sendUnitCommand);
  $("gt-form").addEventListener("submit", sendGroupText);
  $("open-unit-commands").addEventListener("click", () => openUnitCommands(unitId));
  $("open-group-text").addEventListener("click", openGroupText);
}
