/**
 * The department page /dept/: the cases sent to the handler's department, most urgent first; report the
 * fix with photos and a note, ask for more time, or return a case that is not ours to the center.
 * The list follows the live feed, so a newly dispatched case appears without a reload.
 */
import {api, itemsOf} from "../lib/api.js";
import {byId, el, flash} from "../lib/dom.js";
import {OpsSocket} from "../lib/ops-socket.js";
import {CLOSED_STAGES, actionForm, byUrgency, caseCard, caseDetail, caseId, fmt, liveStatusPainter, readConfig, startTimerTicks} from "./grid-ui.js";

const config = readConfig();
const S = config.strings;
const $ = byId;
let selectedId = null;

const toast = (text) => flash($("toast"), text, 4000);

async function loadList() {
  const list = $("dept-cases");
  let features;
  try {
    features = itemsOf(await api("/api/grid/cases/?mine=1")).filter((f) => !CLOSED_STAGES.has(f.properties.stage));
  } catch (error) {
    list.replaceChildren(el("li", {class: "form-message", role: "alert"}, error.message || S.loadFailed));
    return;
  }
  features.sort(byUrgency(S));
  $("dept-count").textContent = String(features.length);
  list.removeAttribute("aria-busy");
  list.replaceChildren(
    ...(features.length
      ? features.map((feature) => {
          const id = caseId(feature);
          return el("li", {}, caseCard(feature, config, {current: id === selectedId, onclick: () => select(id)}));
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
  $("dept-case").replaceChildren(...caseDetail(feature, config, onChoose, formSlot));
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
