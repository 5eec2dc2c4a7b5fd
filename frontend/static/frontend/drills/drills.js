/**
 * The drills page (/drills/): the scenarios with a button to start one, and the drills with each scripted step
 * (due, done, what it did), the exercise incident they opened and its after-action report. Re-read every 5 s
 * while a drill runs: its steps are run by the jobs worker on their clock.
 */
import {ApiError, api} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";

const strings = byId("drill-strings").dataset;
const starts = byId("drills").dataset.starts === "1";
const REFRESH_MS = 5000;
let timer = null;

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString("zh-CN", {timeZone: "Asia/Shanghai"}) : "";
}

async function act(call) {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showText(byId("drills-error"), error.message);
  }
  await refresh();
}

function scenarioItem(scenario) {
  const steps = scenario.steps.map((step) => `${step.at_s}${strings.seconds} ${strings[`kind_${step.kind}`] ?? step.kind}`).join(" → ");
  const item = el("li", {class: "scenario", dataset: {code: scenario.code}}, el("b", {}, scenario.name), el("p", {}, scenario.description), el("small", {}, steps));
  if (starts) {
    item.append(el("button", {type: "button", class: "primary", onclick: () => act(() => api("/api/drills/", {json: {scenario: scenario.code}}))}, strings.start));
  }
  return item;
}

function drillItem(drill) {
  const incident = drill.incident;
  const head = el("div", {class: "drill-head"}, el("b", {}, drill.scenario.name), el("span", {class: `drill-status ${drill.status}`}, drill.status_label), el("time", {}, clock(drill.started_at)));
  const links = incident
    ? el(
        "p",
        {class: "drill-incident"},
        `${strings.incident} ${incident.number} · ${incident.status_label} · `,
        el("a", {href: "/dispatch/"}, strings.console),
        " · ",
        el("a", {href: `/emergency/incidents/${incident.id}/report/`, target: "_blank", rel: "noopener"}, strings.report),
      )
    : null;
  const steps = el(
    "ol",
    {class: "drill-steps"},
    drill.steps.map((step) =>
      el(
        "li",
        {class: step.done_at ? "done" : "pending", dataset: {index: step.index, kind: step.kind}},
        el("time", {}, `${strings.due} ${clock(step.due_at)}`),
        el("span", {}, strings[`kind_${step.kind}`] ?? step.kind),
        el("small", {}, step.done_at ? step.result : strings.pending),
      ),
    ),
  );
  const item = el("li", {class: "drill", dataset: {id: drill.id, status: drill.status}}, head, links, steps);
  if (starts && drill.status === "running") {
    item.append(el("button", {type: "button", class: "drill-finish", onclick: () => act(() => api(`/api/drills/${drill.id}/finish/`, {json: {}}))}, strings.finish));
  }
  return item;
}

async function refresh() {
  clearTimeout(timer);
  const [scenarios, drills] = await Promise.all([api("/api/drills/scenarios/"), api("/api/drills/")]);
  byId("scenario-list").replaceChildren(...scenarios.map(scenarioItem));
  byId("drill-list").replaceChildren(...(drills.length ? drills.map(drillItem) : [el("li", {class: "empty"}, strings.none)]));
  if (drills.some((drill) => drill.status === "running")) timer = setTimeout(refresh, REFRESH_MS);
  document.body.dataset.ready = "1";
}

refresh();
