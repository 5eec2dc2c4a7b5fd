/**
 * The response-plan section of the dispatcher console (应急预案): before activation, the suggested plan and level
 * with the facts behind it and a button to confirm; once active, the level in force with its history, a level
 * change that asks for the reason, and the plan's actions with owners and deadlines, each ticked off once.
 * The console calls `showPlan(incidentId)` whenever the selected incident changes or is updated live.
 */
import {formatTime} from "../dispatch/city-map.js";
import {api, showApiError} from "../lib/api.js";
import {byId, el} from "../lib/dom.js";

const $ = byId;
const strings = () => $("plan-strings").dataset;
const NUMERALS = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"};
const REFRESH_MS = 5000; // deliveries and acknowledgements move without an incident event
let shownFor = null;
let asked = 0;
let refreshTimer = null;
let surroundingsOf = ""; // "incident:level" whose resources and hazards are shown: searched again on a change

function levelOptions(select, levels, selected) {
  select.replaceChildren(
    ...levels.map((level) => {
      const option = el("option", {value: String(level)}, `${NUMERALS[level]}${strings().levelSuffix}`);
      option.selected = level === selected;
      return option;
    }),
  );
}

const showError = (error) => showApiError($("plan-error"), error);

/** The section for incident `id`: its activation, or the suggestion; answers overtaken by a newer call are dropped. */
export async function showPlan(id) {
  const question = ++asked;
  shownFor = id;
  $("plan-error").hidden = true;
  let answer;
  try {
    answer = await api(`/api/emergency/incidents/${id}/plan/`);
  } catch (error) {
    return showError(error);
  }
  if (question !== asked) return;
  const activation = answer.active ? answer : null;
  const suggestion = answer.active ? null : answer.suggestion;
  clearTimeout(refreshTimer);
  if (activation) refreshTimer = setTimeout(() => shownFor === id && showPlan(id), REFRESH_MS);
  const section = $("plan-section");
  section.dataset.state = activation ? "active" : suggestion?.plan ? "suggested" : "none";
  $("plan-suggested").hidden = !suggestion?.plan;
  $("plan-active").hidden = !activation;
  $("plan-none").hidden = Boolean(activation || suggestion?.plan);
  if (activation) renderActive(activation);
  else if (suggestion?.plan) renderSuggestion(suggestion);
  if (activation && surroundingsOf !== `${id}:${activation.level}`) showSurroundings(id, activation.level);
}

/** What the level stages and the hazards near the incident: road searches, so read when the level changes, not on
 * every refresh. */
async function showSurroundings(id, level) {
  surroundingsOf = `${id}:${level}`;
  let found;
  try {
    found = await api(`/api/emergency/incidents/${id}/plan/surroundings/`);
  } catch (error) {
    surroundingsOf = "";
    return showError(error);
  }
  if (shownFor !== id) return;
  renderStage(found.stage);
  renderHazards(found.hazards);
}

function renderSuggestion(suggestion) {
  const plan = suggestion.plan;
  $("plan-suggested").dataset.planId = plan.id;
  $("plan-suggested-name").textContent = `${plan.name} v${plan.version}`;
  $("plan-suggested-level").textContent = suggestion.level_label;
  $("plan-suggested-level").dataset.level = suggestion.level;
  const facts = suggestion.facts ?? {};
  const s = strings();
  const known = [
    [s.factCalls, facts.calls],
    [s.factCustomers, facts.customers],
    [s.factPopulation, facts.population],
  ].filter(([, value]) => value !== null && value !== undefined);
  $("plan-facts").replaceChildren(...known.map(([label, value]) => el("li", {}, `${label} ${value}`)));
  $("plan-reasons").replaceChildren(
    ...(suggestion.reasons.length ? suggestion.reasons : [s.noThreshold]).map((text) => el("li", {}, text)),
  );
  levelOptions($("plan-activate-level"), plan.levels.map((level) => level.level).sort(), suggestion.level);
}

function renderActive(activation) {
  const s = strings();
  $("plan-active-name").textContent = `${activation.plan.name} v${activation.plan.version}`;
  const badge = $("plan-level");
  badge.textContent = activation.level_label;
  badge.dataset.level = activation.level;
  $("plan-history").replaceChildren(
    ...activation.history.map((change) =>
      el(
        "li",
        {},
        el("time", {}, formatTime(change.at)),
        ` ${change.from_level ? `${NUMERALS[change.from_level]} → ` : `${strings().activated} `}${NUMERALS[change.to_level]}${strings().levelSuffix} `,
        el("span", {}, change.reason || ""),
      ),
    ),
  );
  levelOptions($("plan-change-level"), activation.levels.filter((level) => level !== activation.level), null);
  $("plan-departments").textContent = (activation.departments ?? []).map((department) => department.name).join("、") || "—";
  const list = $("plan-checklist");
  list.replaceChildren(
    ...activation.checklist.map((item) => {
      const row = el("li", {class: item.done_at ? "done" : item.overdue ? "overdue" : "open"});
      row.dataset.item = item.id;
      const button = el("button", {type: "button", class: "plan-done"}, item.done_at ? s.done : s.markDone);
      button.dataset.item = item.id;
      button.disabled = Boolean(item.done_at);
      row.append(
        el("span", {class: "plan-action"}, item.text),
        el("small", {}, `${item.owner} · ${s.due} ${formatTime(item.due_at)}${item.done_at ? ` · ${s.doneAt} ${formatTime(item.done_at)} ${item.done_by ?? ""}` : ""}`),
        button,
      );
      return row;
    }),
  );
  $("plan-report-link").href = `/emergency/incidents/${shownFor}/report/`;
  renderNotifications(activation.notifications ?? []);
  renderOutages(activation.outages ?? []);
}

function distance(result) {
  const s = strings();
  return result.eta_seconds != null
    ? `${s.eta} ${Math.round(result.eta_seconds / 60)} ${s.minutes}`
    : `${(result.straight_m / 1000).toFixed(1)} km ${s.straightLine}`;
}

/** 应急资源 to stage: each line of the level with the nearest resources that qualify, by road time. */
function renderStage(stage) {
  const s = strings();
  $("plan-stage").replaceChildren(
    ...stage.map((line) =>
      el(
        "li",
        {dataset: {kind: line.kind}},
        el("span", {class: "plan-action"}, `${s[`stage_${line.kind}`] ?? line.kind}${line.item ? ` · ${line.item_label}` : ""} ×${line.quantity}`),
        el(
          "small",
          {},
          line.results.length
            ? line.results.map((r) => el("span", {class: "plan-resource"}, `${r.name}(${distance(r)}${r.free != null ? ` · ${s.free} ${r.free}` : ""}${r.available != null ? ` · ${s.available} ${r.available}` : ""})`))
            : s.noResource,
        ),
      ),
    ),
  );
}

/** 危险源 near the incident, those whose own hazard circle holds it first. */
function renderHazards(hazards) {
  const s = strings();
  $("plan-hazards").replaceChildren(
    ...(hazards.length
      ? hazards.map((h) =>
          el(
            "li",
            {class: h.origin_inside_circle ? "overdue" : "open"},
            el("span", {class: "plan-action"}, `${h.name} · ${h.kind_label}`),
            el("small", {}, `${Math.round(h.straight_m)} m${h.origin_inside_circle ? ` · ${s.insideCircle}` : ""}`),
          ),
        )
      : [el("li", {class: "empty"}, s.noHazards)]),
  );
}

/** "短信 已送达 3 · 已确认 1": a channel's deliveries by state, in the order a delivery goes through them. */
function deliveryLine(channel, states) {
  const s = strings();
  const order = ["queued", "sending", "sent", "delivered", "acknowledged", "escalated", "failed"];
  const parts = order.filter((state) => states[state]).map((state) => `${s[`state_${state}`] ?? state} ${states[state]}`);
  return el("span", {class: "plan-delivery", dataset: {channel}}, `${s[`channel_${channel}`] ?? channel} ${parts.join(" · ")}`);
}

function renderNotifications(notifications) {
  $("plan-notifications").replaceChildren(
    ...notifications.map((n) =>
      el(
        "li",
        {dataset: {id: n.id, acknowledged: n.acknowledged_at ? "1" : ""}},
        el("span", {class: "plan-action"}, n.subject),
        el("small", {}, Object.entries(n.deliveries).map(([channel, states]) => deliveryLine(channel, states))),
      ),
    ),
  );
}

function renderOutages(outages) {
  const s = strings();
  $("plan-outages").replaceChildren(
    ...outages.map((order) => {
      const button = el("button", {type: "button", class: "plan-notify-customers"}, order.notice ? s.notifiedAgain : s.notifyCustomers);
      button.dataset.order = order.number;
      button.disabled = order.customers === 0 || order.restored;
      return el(
        "li",
        {dataset: {order: order.number}},
        el("span", {class: "plan-action"}, `${order.number} · ${s.customers} ${order.customers}${order.sensitive ? ` (${s.sensitive} ${order.sensitive})` : ""}${order.restored ? ` · ${s.restored}` : ""}`),
        el("small", {}, order.notice ? deliveryLine("sms", order.notice) : s.notNotified),
        button,
      );
    }),
  );
}

async function act(call) {
  try {
    await call();
  } catch (error) {
    return showError(error);
  }
  await showPlan(shownFor);
}

export function setupPlanPanel() {
  $("plan-activate").addEventListener("click", () =>
    act(() =>
      api(`/api/emergency/incidents/${shownFor}/plan/`, {
        json: {plan: Number($("plan-suggested").dataset.planId), level: Number($("plan-activate-level").value)},
      }),
    ),
  );
  $("plan-change").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("plan-change-reason");
    act(async () => {
      await api(`/api/emergency/incidents/${shownFor}/plan/level/`, {
        json: {level: Number($("plan-change-level").value), reason: reason.value},
      });
      reason.value = "";
    });
  });
  $("plan-outages").addEventListener("click", (event) => {
    const button = event.target.closest("button.plan-notify-customers");
    if (!button) return;
    act(() => api(`/api/pipelines/repair-orders/${encodeURIComponent(button.dataset.order)}/notify-customers/`, {json: {}}));
  });
  $("plan-checklist").addEventListener("click", (event) => {
    const button = event.target.closest("button.plan-done");
    if (!button) return;
    act(() => api(`/api/emergency/incidents/${shownFor}/plan/actions/${button.dataset.item}/done/`, {json: {}}));
  });
}
