/**
 * The department page /dept/: the cases sent to the handler's department, most urgent first; report the
 * fix with photos and a note, ask for more time, or return a case that is not ours to the center.
 * The list follows the live feed, so a newly dispatched case appears without a reload.
 */
import {
  actionButtons,
  actionForm,
  api,
  caseFacts,
  el,
  fmt,
  historyList,
  itemsOf,
  liveStatusPainter,
  liveTimerBadge,
  photoStrip,
  photoUrls,
  readConfig,
  startTimerTicks,
  TIMER_ORDER,
  timerOf,
} from "./grid-ui.js";
import {OpsSocket} from "./ops-socket.js";

const config = readConfig();
const S = config.strings;
const $ = (id) => document.getElementById(id);
const CLOSED_STAGES = new Set(["closed", "invalid"]);
let selectedId = null;

const caseId = (feature) => String(feature.properties.id ?? feature.id);

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 4000);
}

function byUrgency(a, b) {
  const ta = timerOf(a.properties, S).state;
  const tb = timerOf(b.properties, S).state;
  if (ta !== tb) return (TIMER_ORDER[ta] ?? 3) - (TIMER_ORDER[tb] ?? 3);
  return (a.properties.deadline_at ?? "9").localeCompare(b.properties.deadline_at ?? "9");
}

async function loadList() {
  const list = $("dept-cases");
  let features;
  try {
    features = itemsOf(await api("/api/grid/cases/?mine=1")).filter((f) => !CLOSED_STAGES.has(f.properties.stage));
  } catch (error) {
    list.replaceChildren(el("li", {class: "form-message", role: "alert"}, error.message || S.loadFailed));
    return;
  }
  features.sort(byUrgency);
  $("dept-count").textContent = String(features.length);
  list.removeAttribute("aria-busy");
  list.replaceChildren(
    ...(features.length
      ? features.map((feature) => {
          const p = feature.properties;
          const id = caseId(feature);
          return el(
            "li",
            {},
            el(
              "button",
              {type: "button", class: "case-card", "aria-current": id === selectedId ? "true" : null, dataset: {id, number: p.number ?? "", stage: p.stage}, onclick: () => select(id)},
              el("span", {class: "card-number"}, p.number ?? id),
              liveTimerBadge(p, S),
              el("span", {class: "card-category"}, p.category_label ?? p.category_code ?? ""),
              el("span", {class: "card-stage"}, config.stageLabels[p.stage] ?? p.stage_label ?? p.stage),
              el("span", {class: "card-address"}, p.address || p.grid_code || ""),
            ),
          );
        })
      : [el("li", {class: "empty"}, S.noCases)]),
  );
}

async function select(id) {
  selectedId = id;
  for (const card of document.querySelectorAll(".case-card")) card.toggleAttribute("aria-current", card.dataset.id === id);
  $("dept-empty").hidden = true;
  let feature;
  try {
    feature = await api(`/api/grid/cases/${id}/`);
  } catch (error) {
    $("dept-case").replaceChildren(el("p", {class: "form-message", role: "alert"}, error.message || S.loadFailed));
    return;
  }
  if (selectedId !== id) return;
  const p = feature.properties;
  const formSlot = el("div", {class: "form-slot"});
  const onChoose = async (action) => {
    formSlot.replaceChildren(
      await actionForm(action, feature, config, {
        onDone: () => {
          toast(fmt(S.done, {action: config.actionLabels[action] ?? action}));
          loadList();
          select(id);
        },
        onCancel: () => formSlot.replaceChildren(),
      }),
    );
  };
  $("dept-case").replaceChildren(
    el("div", {class: "detail-head", dataset: {id, stage: p.stage}}, el("h2", {}, p.number ?? id), liveTimerBadge(p, S)),
    el("p", {class: "detail-stage"}, config.stageLabels[p.stage] ?? p.stage_label ?? p.stage),
    actionButtons(feature, config, onChoose),
    formSlot,
    el("h3", {}, S.photos),
    photoStrip(photoUrls(p), S),
    caseFacts(feature, config),
    el("h3", {}, S.history),
    historyList(feature.history, config),
  );
}

function main() {
  startTimerTicks(document, S);
  loadList();
  let timer = null;
  new OpsSocket({
    topics: ["cases"],
    onStatus: liveStatusPainter($("live-status"), S),
    onEvent: (event) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        loadList();
        // Refresh the open case unless the handler is filling in a form on it.
        if (caseId(event.data) === selectedId && !document.querySelector("#dept-case .action-form")) select(selectedId);
      }, 300);
    },
  }).start();
}

main();
