/**
 * The tablet's duplicate warning: before a report is sent, the open cases it probably repeats (same category,
 * within the category's radius and time window: GET /api/grid/cases/duplicates/), and the inspector's answer.
 *
 * What "这是同一问题" does: the report is NOT filed. In 数字城管 the 监督员 reports a problem once; a second report
 * of a problem already in the system is voided by the centre as 重复上报 (merged into the first case), counts
 * against the inspector's 有效上报率 (40 % of the 监督员 score, grid/kpi.py) and costs the 受理员 a merge, which
 * only the centre may do (services.merge_case). So seeing the case already reported, the inspector drops the
 * report and goes on patrolling. When the problem is really another one (another pothole ten metres on), "不是，
 * 继续上报" files it as usual, and the centre still sees the candidates on the new case (possible_duplicates).
 *
 * The check never stands in the way of a report: offline, or when the server does not answer in time, there is
 * no check and the report goes to the outbox as before.
 */
import {api} from "../lib/api.js";
import {el} from "../lib/dom.js";
import {fmt, photoUrls, showPhotos} from "./grid-ui.js";

const CHECK_TIMEOUT_MS = 5000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** How long ago a case was reported, in the words of `strings` (justNow, minutesAgo, hoursAgo, daysAgo with {n}). */
export function ageText(ms, strings) {
  if (ms < MINUTE) return strings.justNow;
  if (ms < HOUR) return fmt(strings.minutesAgo, {n: Math.floor(ms / MINUTE)});
  if (ms < DAY) return fmt(strings.hoursAgo, {n: Math.floor(ms / HOUR)});
  return fmt(strings.daysAgo, {n: Math.floor(ms / DAY)});
}

/** The duplicates answer as what the warning lists, nearest first as the server ranked them. */
export function duplicatesOf(answer, now = Date.now()) {
  return (answer?.features ?? []).map((feature) => {
    const p = feature.properties;
    return {
      id: p.id ?? feature.id,
      number: p.number,
      stageLabel: p.stage_label,
      distanceM: Math.round(p.distance_m),
      ageMs: Math.max(0, now - new Date(p.reported_at).getTime()),
      description: p.description ?? "",
      address: p.address ?? "",
      photos: photoUrls(p),
    };
  });
}

/**
 * The open cases a report of `fields` (category_code, lon, lat, crs) probably repeats; null when they cannot be
 * known now (offline, no answer within CHECK_TIMEOUT_MS, a refusal): the report then goes without the check.
 */
export async function findDuplicates(fields) {
  if (!navigator.onLine) return null;
  const params = new URLSearchParams({category_code: fields.category_code, lon: fields.lon, lat: fields.lat, crs: fields.crs});
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(null), CHECK_TIMEOUT_MS)));
  const answer = api(`/api/grid/cases/duplicates/?${params}`).catch(() => null);
  try {
    const found = await Promise.race([answer, late]);
    return found && duplicatesOf(found);
  } finally {
    clearTimeout(timer);
  }
}

function duplicateItem(found, strings, choose) {
  return el(
    "li",
    {class: "duplicate", dataset: {id: found.id, number: found.number}},
    found.photos.length
      ? el(
          "button",
          {type: "button", class: "duplicate-photo", title: strings.duplicatePhoto, onclick: () => showPhotos(found.photos, 0, strings)},
          el("img", {src: found.photos[0], alt: strings.duplicatePhoto}),
        )
      : null,
    el(
      "div",
      {class: "duplicate-facts"},
      el("b", {class: "duplicate-number"}, found.number),
      el("span", {class: "duplicate-meta"}, fmt(strings.duplicateDistance, {m: found.distanceM}), " · ", ageText(found.ageMs, strings), found.stageLabel ? ` · ${found.stageLabel}` : ""),
      found.address ? el("span", {class: "duplicate-address"}, found.address) : null,
      found.description ? el("p", {class: "duplicate-description"}, found.description) : null,
    ),
    el("button", {type: "button", class: "primary same-problem", onclick: () => choose({same: found})}, strings.sameProblem),
  );
}

/**
 * Shows the warning for `duplicates` in `box` and waits for the inspector: resolves {same: duplicate} for
 * "这是同一问题" on one of them, {same: null} for "不是，继续上报". The box is emptied and hidden again.
 */
export function askAboutDuplicates(box, duplicates, strings) {
  return new Promise((resolve) => {
    const choose = (answer) => {
      box.replaceChildren();
      box.hidden = true;
      resolve(answer);
    };
    box.replaceChildren(
      el("h3", {}, fmt(strings.duplicatesFound, {n: duplicates.length})),
      el("p", {class: "hint"}, strings.duplicatesHint),
      el("ul", {class: "duplicate-list"}, duplicates.map((found) => duplicateItem(found, strings, choose))),
      el("button", {type: "button", class: "secondary big not-same", onclick: () => choose({same: null})}, strings.notSameProblem),
    );
    box.hidden = false;
    box.scrollIntoView({block: "nearest"});
  });
}
