/**
 * 平战结合 in the case centre: the selected case's linked incidents (the incident it was escalated to, or the one
 * it follows up) and, for the roles that may, the "升级为警情" button with its dialog (incident type, priority,
 * note). The case centre calls `setupEscalation({onEscalated})` once and puts `escalationSection(feature)` into
 * the detail of the case it shows.
 */
import {ApiError, api, showApiError} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";

const $ = byId;
const strings = () => $("escalate-strings").dataset;
let dialogCase = null; // the number of the case the dialog escalates
let typesLoading = null;
let escalated = () => {};

const showError = (error) => showApiError($("escalate-message"), error);

/** The incident types, grouped by the agency that answers them (110/119/120/122). */
async function loadTypes() {
  const types = await api("/api/emergency/escalation-types/");
  const groups = new Map();
  for (const type of types) {
    if (!groups.has(type.agency)) groups.set(type.agency, el("optgroup", {label: type.agency}));
    groups.get(type.agency).append(el("option", {value: type.code}, type.label));
  }
  $("escalate-type").replaceChildren(el("option", {value: ""}, strings().chooseType), ...groups.values());
}

function openDialog(number) {
  dialogCase = number;
  $("escalate-case").textContent = number;
  $("escalate-note").value = "";
  $("escalate-priority").value = "";
  showText($("escalate-message"), "");
  typesLoading ??= loadTypes().catch((error) => {
    typesLoading = null;
    showError(error);
  });
  $("escalate-dialog").showModal();
}

async function submit(event) {
  event.preventDefault();
  const number = dialogCase;
  const priority = $("escalate-priority").value;
  const button = $("escalate-submit");
  button.disabled = true;
  try {
    const answer = await api(`/api/emergency/cases/${encodeURIComponent(number)}/escalate/`, {
      json: {incident_type: $("escalate-type").value, priority: priority ? Number(priority) : null, note: $("escalate-note").value.trim()},
    });
    $("escalate-dialog").close();
    escalated(`${strings().done} ${number} → ${answer.incident.number}`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

/** Wires the dialog; `onEscalated(message)` runs after a case became an incident. */
export function setupEscalation({onEscalated}) {
  escalated = onEscalated;
  $("escalate-form").addEventListener("submit", submit);
  $("escalate-cancel").addEventListener("click", () => $("escalate-dialog").close());
}

function linkItem(link) {
  const s = strings();
  const incident = link.incident;
  return el(
    "li",
    {dataset: {kind: link.kind}},
    el("span", {class: "case-incident-kind"}, link.kind === "escalation" ? s.escalatedTo : s.followsUp),
    el("a", {class: "case-incident-number", href: "/dispatch/"}, incident.number),
    incident.visible ? el("span", {class: "case-incident-state"}, `${incident.type_label} · ${incident.status_label}`) : null,
  );
}

async function fill(section, number) {
  let answer;
  try {
    answer = await api(`/api/emergency/cases/${encodeURIComponent(number)}/links/`);
  } catch (error) {
    if (error instanceof ApiError) return; // a role without links (inspector, department): nothing to show
    throw error;
  }
  const s = strings();
  const parts = [];
  if (answer.can_escalate) parts.push(el("button", {type: "button", class: "danger escalate-open", onclick: () => openDialog(number)}, s.button));
  if (answer.links.length) parts.push(el("h3", {}, s.linkedTitle), el("ul", {class: "case-incidents"}, answer.links.map(linkItem)));
  section.replaceChildren(...parts);
}

/** The case's links and escalation button (filled in when the links arrive). */
export function escalationSection(feature) {
  const number = feature.properties.number;
  const section = el("section", {class: "case-links", dataset: {number}});
  fill(section, number);
  return section;
}
