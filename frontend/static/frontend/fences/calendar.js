/**
 * A rule's time windows (Rule.calendar) between the API's JSON and the editor's form, and as one line of text.
 * JSON: [{"weekdays": [0..6], "ranges": [["07:00", "09:00"]], "dates_off": ["2026-10-01"]}], 0 = Monday, an
 * empty list = always (fences/engine.py parse_calendars checks it; the editor sends what the operator typed and
 * shows the API's answer when it is wrong).
 */

const ALL_DAY = ["00:00", "00:00"];
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];

/** The form's windows: {weekdays: [0..6], ranges: [[from, to]], datesOff: "2026-10-01, 2026-10-02"}. */
export function formFromCalendar(calendar) {
  return (calendar ?? []).map((window) => ({
    weekdays: [...(window.weekdays ?? EVERY_DAY)],
    ranges: (window.ranges ?? [ALL_DAY]).map(([from, to]) => [from, to]),
    datesOff: (window.dates_off ?? []).join(", "),
  }));
}

/** The API's JSON of the form's windows: weekdays sorted once each, dates off split at commas or spaces. */
export function calendarFromForm(windows) {
  return windows.map((window) => ({
    weekdays: [...new Set(window.weekdays.map(Number))].sort((a, b) => a - b),
    ranges: window.ranges.map(([from, to]) => [from, to]),
    dates_off: window.datesOff.split(/[\s,，、;；]+/).filter(Boolean),
  }));
}

/**
 * The windows as one line: `names` are the weekdays' short names Monday first; runs of three or more days read
 * "周一–周五". `words` = {always, everyDay, allDay, datesOff}.
 */
export function describeCalendar(calendar, names, words) {
  if (!calendar?.length) return words.always;
  return calendar
    .map((window) => {
      const days = [...new Set(window.weekdays ?? EVERY_DAY)].sort((a, b) => a - b);
      const dayText = days.length === 7 ? words.everyDay : dayRuns(days).map(([a, b]) => (a === b ? names[a] : b - a === 1 ? `${names[a]}、${names[b]}` : `${names[a]}–${names[b]}`)).join("、");
      const ranges = (window.ranges ?? [ALL_DAY]).map(([from, to]) => (from === to ? words.allDay : `${from}–${to}`)).join("、");
      const off = window.dates_off?.length ? ` (${words.datesOff} ${window.dates_off.join("、")})` : "";
      return `${dayText} ${ranges}${off}`;
    })
    .join("；");
}

/** Consecutive weekdays as [first, last] pairs. */
function dayRuns(days) {
  const runs = [];
  for (const day of days) {
    const last = runs[runs.length - 1];
    if (last && day === last[1] + 1) last[1] = day;
    else runs.push([day, day]);
  }
  return runs;
}
