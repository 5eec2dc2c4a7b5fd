/**
 * 应用维护 /grid/config/: each category's time limits and settings (department type, call-back, duplicate check,
 * active) and the routing rules, edited in a draft and published as a version for the cases filed afterwards
 * (grid/config.py), with the version history and what each version changed.
 * All data comes from /api/grid/config/; districts, organisations and department types come with the page.
 */

import {ApiError, api} from "../lib/api.js";
import {byId, el, flash, showText} from "../lib/dom.js";
import {fmt, formatTime, readConfig} from "./grid-ui.js";

const config = readConfig();
const S = config.strings;
const SHOWN_ROWS = 150; // a table of 500 categories is searched, not scrolled
const NUMBER_FIELDS = ["confirmation_hours", "dispatch_hours", "handling_limit", "verification_hours", "duplicate_radius_m", "duplicate_window_hours"];
const FLAG_FIELDS = ["callback_required", "active"];
// the table's columns after code and name, in order (the handling unit shows with the handling limit)
const COLUMNS = ["department_type", "confirmation_hours", "dispatch_hours", "handling_limit", "verification_hours", "duplicate_radius_m", "duplicate_window_hours", "callback_required", "active"];
const FIELD_LABELS = {
  department_type: S.departmentType,
  confirmation_hours: S.confirmationHours,
  dispatch_hours: S.dispatchHours,
  handling_limit: S.handlingLimit,
  handling_unit: S.handlingLimit,
  verification_hours: S.verificationHours,
  duplicate_radius_m: S.duplicateRadius,
  duplicate_window_hours: S.duplicateWindow,
  callback_required: S.callbackRequired,
  active: S.active,
};
const UNITS = ["working_hours", "working_days", "natural_hours"];

let state = {categories: [], version: null, draft: null, rules: [], versions: []};
let editing = null; // the code of the category whose row is being edited

const toast = byId("toast");
const errorBox = byId("cfg-error");

function refused(error) {
  if (!(error instanceof ApiError)) throw error;
  showText(errorBox, fmt(S.refused, {reason: error.message}));
}

async function load() {
  const [table, versions] = await Promise.all([api("/api/grid/config/categories/"), api("/api/grid/config/versions/")]);
  state = {...state, ...table, versions};
  state.rules = await api(`/api/grid/config/rules/${state.draft ? "?version=draft" : ""}`);
  paint();
}

function paint() {
  showText(errorBox, "");
  byId("cfg-status").textContent = state.draft ? fmt(S.draftOpen, {time: formatTime(state.draft.created_at)}) : S.draftNone;
  byId("cfg-status").dataset.draft = state.draft ? "open" : "none";
  byId("cfg-publish-button").disabled = !state.draft;
  byId("cfg-discard").disabled = !state.draft;
  paintLimits();
  paintRules();
  paintVersions().catch(refused);
}

// --- 分类与时限 ---

const unitLabel = (unit) => S[unit] ?? unit;
const typeLabel = (type) => config.departmentTypes[type] ?? type ?? "";

/** A field's value as the page shows it: labels for a department type, a unit or a yes/no, else the number. */
function valueLabel(field, value) {
  if (value === null || value === undefined) return "—";
  if (field === "department_type") return typeLabel(value);
  if (field === "handling_unit") return unitLabel(value);
  if (typeof value === "boolean") return value ? S.yes : S.no;
  return String(value);
}

function limitCell(category, field) {
  const now = category.limits[field];
  const next = category.draft?.[field];
  const changed = next !== undefined && next !== now;
  const show = (row) => (field === "handling_limit" ? `${row[field]} ${unitLabel(row.handling_unit)}` : valueLabel(field, row[field]));
  const unitChanged = field === "handling_limit" && category.draft && category.draft.handling_unit !== category.limits.handling_unit;
  if (!changed && !unitChanged) return el("td", {}, show(category.limits));
  return el("td", {class: "changed", title: S.inDraft}, el("s", {}, show(category.limits)), " → ", show(category.draft));
}

function limitRow(category) {
  if (editing === category.code) return editRow(category);
  const active = (category.draft ?? category.limits).active;
  return el(
    "tr",
    {class: active ? "" : "inactive", dataset: {code: category.code}},
    el("td", {class: "code"}, category.code),
    el("td", {class: "name"}, category.name, el("small", {}, category.major)),
    ...COLUMNS.map((f) => limitCell(category, f)),
    el("td", {}, el("button", {type: "button", class: "cfg-edit", onclick: () => startEdit(category.code)}, S.edit)),
  );
}

function startEdit(code) {
  editing = code;
  paintLimits();
  byId("cfg-limits").querySelector("tr.editing input")?.focus();
}

function editRow(category) {
  const values = category.draft ?? category.limits;
  const number = (name, max) =>
    el("input", {type: "number", name, min: "0.1", max, step: "0.1", value: values[name], "aria-label": FIELD_LABELS[name], required: true});
  const flag = (name) => el("input", {type: "checkbox", name, checked: values[name], "aria-label": FIELD_LABELS[name]});
  const unit = el("select", {name: "handling_unit", "aria-label": S.handlingLimit}, UNITS.map((u) => el("option", {value: u, selected: u === values.handling_unit}, unitLabel(u))));
  const types = Object.entries(config.departmentTypes).map(([value, label]) => el("option", {value, selected: value === values.department_type}, label));
  const form = `limits-${category.code}`;
  return el(
    "tr",
    {class: "editing", dataset: {code: category.code}},
    el("td", {class: "code"}, category.code),
    el("td", {class: "name"}, category.name),
    el("td", {}, el("select", {name: "department_type", "aria-label": S.departmentType}, types)),
    el("td", {}, number("confirmation_hours", config.bounds.hours)),
    el("td", {}, number("dispatch_hours", config.bounds.hours)),
    el("td", {class: "handling"}, number("handling_limit"), unit),
    el("td", {}, number("verification_hours", config.bounds.hours)),
    el("td", {}, number("duplicate_radius_m", config.bounds.radius)),
    el("td", {}, number("duplicate_window_hours", config.bounds.window)),
    el("td", {}, flag("callback_required")),
    el("td", {}, flag("active")),
    el(
      "td",
      {class: "cfg-actions"},
      el("button", {type: "button", class: "cfg-primary", id: form, onclick: (event) => saveLimits(category, event.target.closest("tr"))}, S.save),
      el("button", {type: "button", onclick: () => ((editing = null), paintLimits())}, S.cancel),
    ),
  );
}

async function saveLimits(category, row) {
  const body = {handling_unit: row.querySelector("[name=handling_unit]").value, department_type: row.querySelector("[name=department_type]").value};
  for (const name of NUMBER_FIELDS) body[name] = row.querySelector(`[name=${name}]`).value;
  for (const name of FLAG_FIELDS) body[name] = row.querySelector(`[name=${name}]`).checked;
  row.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  try {
    await api(`/api/grid/config/categories/${encodeURIComponent(category.code)}/`, {method: "PATCH", json: body});
  } catch (error) {
    if (error instanceof ApiError && error.field) row.querySelector(`[name=${error.field}]`)?.setAttribute("aria-invalid", "true");
    return refused(error);
  }
  editing = null;
  flash(toast, S.saved);
  await load();
}

function paintLimits() {
  const query = byId("cfg-search").value.trim().toLowerCase();
  const matching = state.categories.filter((c) => !query || c.code.toLowerCase().includes(query) || c.name.includes(query) || c.major.includes(query));
  const head = el(
    "thead",
    {},
    el("tr", {}, [S.code, S.name, ...COLUMNS.map((f) => FIELD_LABELS[f]), ""].map((label) => el("th", {scope: "col"}, label))),
  );
  // the changed ones first, so the draft's edits are in view
  const ordered = [...matching].sort((a, b) => Number(Boolean(b.draft && differs(b))) - Number(Boolean(a.draft && differs(a))));
  byId("cfg-limits").replaceChildren(head, el("tbody", {}, ordered.slice(0, SHOWN_ROWS).map(limitRow)));
  byId("cfg-shown").textContent = matching.length > SHOWN_ROWS ? fmt(S.shownOf, {shown: SHOWN_ROWS, total: matching.length}) : "";
}

const differs = (category) => Object.keys(category.limits).some((f) => category.draft[f] !== category.limits[f]);

// --- 派遣规则 ---

const districtName = (district) => (district ? district.name : S.cityWide);
const ruleTarget = (rule) => (rule.category ? `${rule.category.code} ${rule.category.name}` : typeLabel(rule.department_type));
const ruleKey = (rule) => [rule.category?.code ?? "", rule.department_type ?? "", rule.district?.code ?? ""].join("|");

function organisationSelect(selected, attributes = {}) {
  return el("select", {name: "organisation_id", "aria-label": S.organisation, ...attributes}, config.organisations.map((o) => el("option", {value: o.id, selected: o.id === selected}, o.name)));
}

/** The draft's copy of `rule` (opening the draft first if the rules shown are the published version's). */
async function draftRule(rule) {
  if (state.draft) return rule;
  await api("/api/grid/config/draft/", {method: "POST"});
  const rules = await api("/api/grid/config/rules/?version=draft");
  return rules.find((r) => ruleKey(r) === ruleKey(rule));
}

async function changeRule(rule, organisationId) {
  try {
    const target = await draftRule(rule);
    await api(`/api/grid/config/rules/${target.id}/`, {method: "PATCH", json: {organisation_id: organisationId}});
  } catch (error) {
    return refused(error);
  }
  flash(toast, S.saved);
  await load();
}

async function removeRule(rule) {
  try {
    const target = await draftRule(rule);
    await api(`/api/grid/config/rules/${target.id}/`, {method: "DELETE"});
  } catch (error) {
    return refused(error);
  }
  flash(toast, S.saved);
  await load();
}

function paintRules() {
  const name = state.draft ? S.draftName : fmt(S.versionName, {number: state.version?.number ?? "—"});
  byId("cfg-rules-title").textContent = fmt(S.rulesOf, {version: name});
  const head = el("thead", {}, el("tr", {}, [S.ruleTarget, S.district, S.organisation, ""].map((label) => el("th", {scope: "col"}, label))));
  const rows = state.rules.map((rule) =>
    el(
      "tr",
      {dataset: {key: ruleKey(rule)}},
      el("td", {}, ruleTarget(rule)),
      el("td", {}, districtName(rule.district)),
      el("td", {}, organisationSelect(rule.organisation.id, {onchange: (event) => changeRule(rule, Number(event.target.value))})),
      el("td", {}, el("button", {type: "button", onclick: () => removeRule(rule)}, S.remove)),
    ),
  );
  const body = rows.length ? rows : [el("tr", {}, el("td", {colspan: 4, class: "muted"}, S.noRules))];
  byId("cfg-rules").replaceChildren(head, el("tbody", {}, body));
}

function paintRuleForm() {
  const form = byId("cfg-rule-form");
  const by = el("select", {name: "by", "aria-label": S.ruleTarget}, el("option", {value: "category"}, S.ruleByCategory), el("option", {value: "type"}, S.ruleByType));
  const code = el("input", {name: "category_code", list: "cfg-category-codes", placeholder: S.ruleByCategory, "aria-label": S.ruleByCategory, autocomplete: "off"});
  const codes = el("datalist", {id: "cfg-category-codes"}, state.categories.map((c) => el("option", {value: c.code}, c.name)));
  const type = el("select", {name: "department_type", "aria-label": S.ruleByType, hidden: true}, Object.entries(config.departmentTypes).map(([value, label]) => el("option", {value}, label)));
  const district = el("select", {name: "district_id", "aria-label": S.district}, el("option", {value: ""}, S.cityWide), config.districts.map((d) => el("option", {value: d.id}, d.name)));
  by.addEventListener("change", () => {
    code.hidden = by.value !== "category";
    type.hidden = by.value !== "type";
  });
  form.replaceChildren(by, code, codes, type, district, organisationSelect(null), el("button", {type: "submit", class: "cfg-primary"}, S.addRule));
}

byId("cfg-rule-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const byCategory = form.elements.by.value === "category";
  const body = {
    category_code: byCategory ? form.elements.category_code.value : "",
    department_type: byCategory ? "" : form.elements.department_type.value,
    district_id: form.elements.district_id.value,
    organisation_id: form.elements.organisation_id.value,
  };
  try {
    await api("/api/grid/config/rules/", {json: body});
  } catch (error) {
    return refused(error);
  }
  form.elements.category_code.value = "";
  flash(toast, S.saved);
  await load();
});

// --- 版本历史 ---

function changeLines(changes) {
  if (changes.baseline) return [el("li", {}, S.baseline)];
  const limits = (changes.limits ?? []).map((c) =>
    el("li", {}, fmt(S.limitChange, {code: c.code, name: c.name, field: FIELD_LABELS[c.field] ?? c.field, from: valueLabel(c.field, c.from), to: valueLabel(c.field, c.to)})),
  );
  const template = {added: S.ruleAdded, removed: S.ruleRemoved, changed: S.ruleChanged};
  const rules = (changes.rules ?? []).map((r) =>
    el("li", {}, fmt(template[r.change], {target: ruleTarget(r), district: districtName(r.district), from: r.from?.name ?? "", to: r.to?.name ?? ""})),
  );
  const lines = [...limits, ...rules];
  return lines.length ? lines : [el("li", {class: "muted"}, S.noChanges)];
}

function versionEntry(version, changes) {
  const title = version.draft ? S.unpublished : fmt(S.versionName, {number: version.number});
  return el(
    "li",
    {class: version.draft ? "draft" : "", dataset: {number: version.number ?? "draft"}},
    el(
      "header",
      {},
      el("h3", {}, title),
      version.published_at ? el("span", {}, `${S.publishedAt} ${formatTime(version.published_at)}`) : null,
      version.published_by ? el("span", {}, fmt(S.publishedBy, {name: version.published_by})) : null,
    ),
    version.note ? el("p", {class: "note"}, version.note) : null,
    el("ul", {class: "cfg-changes"}, changeLines(changes)),
  );
}

async function paintVersions() {
  const list = byId("cfg-versions");
  const entries = [];
  for (const version of state.versions) {
    let changes = version.changes;
    if (version.draft && state.version) changes = await api(`/api/grid/config/diff/?from=${state.version.number}&to=draft`);
    entries.push(versionEntry(version, changes));
  }
  list.replaceChildren(...entries);
}

// --- tabs, publish, discard ---

function showTab(tab) {
  for (const other of document.querySelectorAll(".cfg-tabs [role=tab]")) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    byId(other.getAttribute("aria-controls")).hidden = !selected;
  }
}

for (const tab of document.querySelectorAll(".cfg-tabs [role=tab]")) tab.addEventListener("click", () => showTab(tab));

byId("cfg-search").addEventListener("input", paintLimits);

byId("cfg-publish").addEventListener("submit", async (event) => {
  event.preventDefault();
  let version;
  try {
    version = await api("/api/grid/config/publish/", {json: {note: byId("cfg-note").value}});
  } catch (error) {
    return refused(error);
  }
  byId("cfg-note").value = "";
  flash(toast, fmt(S.published, {number: version.number}));
  await load();
});

byId("cfg-discard").addEventListener("click", async () => {
  if (!window.confirm(S.discardConfirm)) return;
  try {
    await api("/api/grid/config/draft/", {method: "DELETE"});
  } catch (error) {
    return refused(error);
  }
  flash(toast, S.discarded);
  await load();
});

load()
  .then(paintRuleForm)
  .then(() => (document.body.dataset.configReady = "1"))
  .catch((error) => showText(errorBox, error instanceof ApiError ? error.message : S.loadFailed));
