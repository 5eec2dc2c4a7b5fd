/**
 * The MDT's status steps, without the DOM: which phase to show while presses wait in the outbox, and which
 * buttons come next. Dispatch only moves an assignment forwards (dispatched → en_route → on_scene → returning →
 * cleared); 转运 (transporting, ambulances) sits between on scene and cleared (crews/services.py).
 */

export const PHASES = ["dispatched", "en_route", "on_scene", "transporting", "returning", "cleared"];
const BUTTONS = ["en_route", "on_scene", "transporting", "cleared"];

const rank = (phase) => PHASES.indexOf(phase);

/** The phase to show: the server's, or the furthest press still waiting to be sent for this assignment. */
export function shownPhase(serverPhase, records, assignmentId) {
  let phase = serverPhase;
  for (const record of records) {
    if (record.kind !== "mdt-status" || Number(record.fields.assignment) !== assignmentId) continue;
    if (record.status !== "queued" && record.status !== "sending") continue;
    if (rank(record.fields.status) > rank(phase)) phase = record.fields.status;
  }
  return phase;
}

/** The status buttons with their state: done (behind the phase), next (the one to press), or later. */
export function statusButtons(phase, transports) {
  const buttons = BUTTONS.filter((status) => status !== "transporting" || transports);
  const next = buttons.find((status) => rank(status) > rank(phase));
  return buttons.map((status) => ({status, state: rank(status) <= rank(phase) ? "done" : status === next ? "next" : "later"}));
}
