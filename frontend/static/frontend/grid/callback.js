/**
 * 回访 in the case centre: a case a citizen reported (hotline, Open311) or of a category that requires it closes
 * only after the reporter was called back (grid/services.py needs_callback; the server refuses the close). The
 * case panel shows whom to call, the call-backs made, a form for the next one while the case waits for closing,
 * and keeps the close button disabled, saying why, until one is recorded.
 */
import {ApiError, api} from "../lib/api.js";
import {byId, el, showText} from "../lib/dom.js";
import {formatTime} from "./grid-ui.js";

const S = byId("hotline-strings").dataset;
// The stages a call-back is recorded in: after the department's feedback, before closing (services.CALLBACK_STAGES).
const CALLBACK_STAGES = new Set(["handled", "verified"]);

function callerLine(caller) {
  if (!caller || !(caller.name || caller.phone)) return null;
  const parts = [caller.name, caller.phone, caller.callback ? S.callbackWanted : null].filter(Boolean);
  return el("p", {class: "caller"}, `${S.caller}: ${parts.join(" · ")}`);
}

function callbackList(callbacks) {
  return el(
    "ol",
    {class: "callback-list"},
    callbacks.map((c) =>
      el("li", {}, el("b", {}, [c.result_label, c.satisfaction_label].filter(Boolean).join(" · ")), " ", el("time", {datetime: c.at}, formatTime(c.at)), c.by ? ` ${c.by}` : "", c.note ? el("p", {class: "history-note"}, c.note) : null),
    ),
  );
}

function callbackForm(feature, onRecorded) {
  const form = byId("callback-template").content.firstElementChild.cloneNode(true);
  const message = form.querySelector(".form-message");
  const satisfaction = form.elements.satisfaction;
  const onResult = () => (satisfaction.disabled = form.elements.result.value !== "reached");
  form.elements.result.addEventListener("change", onResult);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {result: form.elements.result.value, note: form.elements.note.value.trim()};
    if (!satisfaction.disabled) body.satisfaction = satisfaction.value;
    try {
      await api(`/api/grid/cases/${feature.properties.id}/callbacks/`, {json: body});
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showText(message, error.message);
      return;
    }
    onRecorded();
  });
  return form;
}

/** The 回访 part of the case panel (null when the case needs none); disables the panel's close button until done. */
export function callbackSection(feature, detail, {onRecorded}) {
  if (!feature.properties.needs_callback) return null;
  const callbacks = feature.callbacks ?? [];
  const waiting = !callbacks.length;
  const close = detail.querySelector('.action-buttons [data-action="close"]');
  if (close && waiting) {
    close.disabled = true;
    close.title = S.callbackNeeded;
  }
  return el(
    "section",
    {class: "callback", dataset: {done: String(!waiting)}},
    el("h3", {}, S.callbackTitle),
    callerLine(feature.caller),
    waiting ? el("p", {class: "callback-needed", role: "note"}, S.callbackNeeded) : callbackList(callbacks),
    CALLBACK_STAGES.has(feature.properties.stage) ? callbackForm(feature, onRecorded) : null,
  );
}
