/**
 * Pure helpers of the vehicle-command panels (no DOM): the body a form's values make for each command kind,
 * and a batch's per-state counts kept current from command.state events.
 */

export const STATES = ["queued", "sent", "answered", "failed", "expired"];
export const KINDS = ["text", "position_query", "tracking", "query_params", "set_params", "call_back", "vehicle_control"];

const integer = (value) => (value === "" || value == null ? value : Number(value));

/** The `params` of a command from the form's values (strings); the server checks them and names bad fields. */
export function paramsFor(kind, values) {
  switch (kind) {
    case "text":
      return {text: values.text ?? "", urgent: Boolean(values.urgent), tts: Boolean(values.tts)};
    case "tracking":
      return {interval_s: integer(values.interval_s), validity_s: integer(values.validity_s)};
    case "set_params":
      return {params: {[values.param_id ?? ""]: /^\d+$/.test(values.param_value ?? "") ? Number(values.param_value) : values.param_value}};
    case "query_params":
      return {ids: (values.ids ?? "").split(/[\s,，]+/).filter(Boolean)};
    case "call_back":
      return {number: values.number ?? "", monitor: Boolean(values.monitor)};
    case "vehicle_control":
      return {doors: values.doors};
    default:
      return {};
  }
}

/** {state: count} of a list of commands, every state present. */
export function countStates(commands) {
  const counts = Object.fromEntries(STATES.map((state) => [state, 0]));
  for (const command of commands) counts[command.state] = (counts[command.state] ?? 0) + 1;
  return counts;
}

/** The list with `changed` put in place of the command of the same id (appended when new), order kept. */
export function mergeCommand(commands, changed) {
  const at = commands.findIndex((command) => command.id === changed.id);
  if (at < 0) return [...commands, changed];
  const copy = commands.slice();
  copy[at] = {...commands[at], ...changed};
  return copy;
}
