/**
 * The follow-up cases section of the dispatcher console (平战结合): the 数字城管 cases linked to the selected
 * incident — the case it was escalated from and the follow-up cases it sent to the case centre (road repair after
 * a burst main …) — with their stage and the department grid routes them to, and a form that reports a new one at
 * the incident's place. The console calls `setupFollowUps()` once and `showFollowUps(incidentId)` whenever the
 * selected incident changes or is updated live.
 */
import {api, showApiError} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";

const $ = byId;
const strings = () => $("follow-up-strings").dataset;
let shownFor = null;
let asked = 0;

const showError = (error) => showApiError($("follow-up-error"), error);

/** The category select: grid's GB/T 47678 table, grouped by major class. */
async function loadCategories() {
  const categories = await api("/api/grid/categories/?scheme=gbt47678");
  const groups = new Map();
  for (const category of categories) {
    const name = category.major.name;
    if (!groups.has(name)) groups.set(name, el("optgroup", {label: name}));
    groups.get(name).append(el("option", {value: category.code}, `${category.code} ${category.label}`));
  }
  $("follow-up-category").replaceChildren(el("option", {value: ""}, strings().choose), ...groups.values());
}

async function submit(event) {
  event.preventDefault();
  const id = shownFor;
  const button = $("follow-up-submit");
  button.disabled = true;
  showText($("follow-up-error"), "");
  showText($("follow-up-sent"), "");
  try {
    const answer = await api(`/api/emergency/incidents/${id}/follow-up-cases/`, {
      json: {category_code: $("follow-up-category").value, description: $("follow-up-description").value.trim()},
    });
    $("follow-up-description").value = "";
    showText($("follow-up-sent"), `${strings().sent} ${answer.case.number}`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
  if (id === shownFor) await showFollowUps(id);
}

export function setupFollowUps() {
  $("follow-up-form").addEventListener("submit", submit);
  loadCategories().catch(showError);
}

function linkItem(link) {
  const s = strings();
  const c = link.case;
  const department = c.department ? `${c.department.assigned ? s.assignedTo : s.routedTo} ${c.department.name}` : null;
  return el(
    "li",
    {dataset: {kind: link.kind, number: c.number}},
    el("span", {class: "follow-up-kind"}, link.kind === "escalation" ? s.escalation : s.followUp),
    el("b", {class: "follow-up-number"}, c.number),
    c.visible ? el("span", {class: "follow-up-stage", dataset: {stage: c.stage}}, c.stage_label) : null,
    c.visible ? el("span", {class: "follow-up-what"}, [c.category_label, department].filter(Boolean).join(" · ")) : null,
  );
}

/** The section for incident `id`; answers overtaken by a newer call are dropped. */
export async function showFollowUps(id) {
  const question = ++asked;
  if (id !== shownFor) {
    showText($("follow-up-error"), "");
    showText($("follow-up-sent"), "");
  }
  shownFor = id;
  let answer;
  try {
    answer = await api(`/api/emergency/incidents/${id}/links/`);
  } catch (error) {
    return showError(error);
  }
  if (question !== asked) return;
  $("follow-up-form").hidden = !answer.can_follow_up;
  $("follow-up-list").replaceChildren(
    ...(answer.links.length ? answer.links.map(linkItem) : [el("li", {class: "empty"}, strings().none)]),
  );
}
