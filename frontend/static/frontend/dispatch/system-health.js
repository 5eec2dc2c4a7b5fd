/**
 * The platform's health as the wall and the dispatch console show it: GET /api/core/health/ read into chips
 * (one per component), a one-line summary and the figures behind it. No DOM here: the pages draw what these
 * functions return, and node tests check them (frontend/tests/system-health.test.js).
 *
 * `strings` are the page's translations (data-* attributes of the panel, as the wall's other strings):
 * component_<name>, state_<status>, summary_<status>, figure_<name>, unit_<name>, tooltip_row, unreachable,
 * component_down and alarm_kind.
 */
import {api} from "../lib/api.js";

export const HEALTH_URL = "/api/core/health/";
export const HEALTH_POLL_MS = 10_000;
export const UNREACHABLE = "unreachable";
/** A glyph beside the colour, so that the state does not rest on colour alone. */
export const STATE_SYMBOLS = {up: "✓", degraded: "!", down: "✕", unknown: "?"};

/**
 * The reading, `null` when the server does not answer or fails (the panel then says so), or `undefined` when
 * this user may not read it (a call taker): the page then leaves the panel hidden. Never throws: a wall runs
 * unattended and its other panels keep going.
 */
export async function readHealth() {
  try {
    return await api(HEALTH_URL);
  } catch (error) {
    return error.status === 403 ? undefined : null;
  }
}

/**
 * Shows the platform's health: `show(view)` (see healthView) now, every HEALTH_POLL_MS, and at once when the
 * returned `refresh` is called (on a system.component_* event); an answer overtaken by a later question is
 * dropped. For a user who may not read the API it never calls `show` and stops.
 */
export function watchHealth(strings, show) {
  let asked = 0;
  let timer = null;
  async function refresh() {
    const question = ++asked;
    const reading = await readHealth();
    if (question !== asked) return;
    clearTimeout(timer);
    if (reading === undefined) return;
    show(healthView(reading, strings));
    timer = setTimeout(refresh, HEALTH_POLL_MS);
  }
  refresh();
  return refresh;
}

export function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

function figure(name, value, strings) {
  return {name, label: strings[`figure_${name}`], value: value === null ? "—" : fmt(strings[`unit_${name}`], {n: value})};
}

/**
 * What to show for one reading (or for `null`, the API unreachable):
 * {status: up|degraded|down|unreachable, summary, chips: [{name, label, status, state, symbol, detail}],
 *  figures: [{name, label, value}], down: [chip], tooltip}. Replication lag is a figure only where there is
 * replication (a standby, or this server being one).
 */
export function healthView(reading, strings) {
  if (!reading) {
    return {status: UNREACHABLE, summary: strings[`summary_${UNREACHABLE}`], chips: [], figures: [], down: [], tooltip: strings.unreachable};
  }
  const chips = reading.components.map(({name, status, label, detail}) => ({
    name,
    label: strings[`component_${name}`] ?? label,
    status,
    state: strings[`state_${status}`] ?? status,
    symbol: STATE_SYMBOLS[status] ?? "?",
    detail: detail ?? "",
  }));
  const rate = reading.gps_fixes_per_second;
  const figures = [
    figure("gps_rate", rate === null ? null : rate.toFixed(1), strings),
    figure("consoles", reading.consoles_connected, strings),
  ];
  if (reading.standbys?.length || reading.replication_lag_seconds !== null) {
    const lag = reading.replication_lag_seconds;
    figures.push(figure("lag", lag === null ? null : lag.toFixed(1), strings));
  }
  return {
    status: reading.status,
    summary: strings[`summary_${reading.status}`] ?? reading.status,
    chips,
    figures,
    down: chips.filter((chip) => chip.status === "down"),
    tooltip: chips.map((chip) => [fmt(strings.tooltip_row, chip), chip.detail].filter(Boolean).join(" · ")).join("\n"),
  };
}

/**
 * The wall's alarm (an alarms-list Feature) for a component that is down: one per component (its id), dated
 * from `at` (the event's, or when the panel first saw it down), with a message naming the component.
 */
export function componentAlarm(chip, at, strings) {
  const message = fmt(strings.component_down, {component: chip.label});
  return {
    type: "Feature",
    id: componentAlarmId(chip.name),
    geometry: null,
    properties: {kind: "system", kind_label: strings.alarm_kind, message: [message, chip.detail].filter(Boolean).join(" · "), at},
  };
}

export function componentAlarmId(name) {
  return `system:${name}`;
}
