/**
 * The operator's alarm workflow as the consoles show it: which alarms stay listed (until an operator closes
 * them, ended or not), the state chip of each (未确认 / 已确认 / 已升级, and 已解除 when its condition ended),
 * and which actions it offers. Pure functions: the wall draws with them and node --test checks them.
 */

/** Whether an alarm Feature stays in the list: not closed (a system alarm until it reports open: false). */
export function stillListed(feature) {
  const p = feature.properties ?? {};
  return p.open !== false && p.state !== "closed";
}

/** The chips of an alarm: its workflow state, and "cleared" when the condition is over. */
export function alarmChips(properties) {
  if (!properties.state) return [];
  const chips = [properties.state];
  if (properties.cleared_at && properties.state !== "closed") chips.push("cleared");
  return chips;
}

/** The actions an operator may take on it: acknowledge until acknowledged, close until closed. */
export function alarmActions(properties) {
  if (!properties.state || properties.state === "closed") return [];
  return properties.state === "acknowledged" ? ["close"] : ["acknowledge", "close"];
}
