// The case timers of the city-management screens (grid-ui.js): colour, time left or overdue, urgency order.
import assert from "node:assert/strict";
import {test} from "node:test";

import {byUrgency, filterCategories, fmt, formatDuration, timerOf} from "../static/frontend/grid/grid-ui.js";

const strings = {days: "{n} d", left: "{time} left", overdueBy: "overdue {time}", noDeadline: "no deadline"};
const NOW = Date.parse("2025-03-01T08:00:00Z");
const at = (minutes) => new Date(NOW + minutes * 60_000).toISOString();

test("fmt fills named places and leaves unknown ones", () => {
  assert.equal(fmt("{n} of {total}", {n: 2, total: 5}), "2 of 5");
  assert.equal(fmt("{n} {missing}", {n: 1}), "1 {missing}");
});

test("formatDuration shows h:mm:ss, with days beyond a day, never negative", () => {
  assert.equal(formatDuration(3_723_000, strings), "1:02:03");
  assert.equal(formatDuration(90_061_000, strings), "1 d 1:01:01");
  assert.equal(formatDuration(-5000, strings), "0:00:00");
});

test("a case keeps the server's colour until its deadline passes, then turns red", () => {
  assert.deepEqual(timerOf({deadline_at: at(90), timer_state: "yellow"}, strings, NOW), {state: "yellow", text: "1:30:00 left"});
  assert.deepEqual(timerOf({deadline_at: at(-2), timer_state: "yellow"}, strings, NOW), {state: "red", text: "overdue 0:02:00"});
  assert.deepEqual(timerOf({deadline_at: at(5)}, strings, NOW), {state: "green", text: "0:05:00 left"});
  assert.deepEqual(timerOf({timer_state: "green"}, strings, NOW), {state: "green", text: "no deadline"});
});

test("cases sort red, yellow, green, then by the nearest deadline", () => {
  const c = (number, deadline, state) => ({properties: {number, deadline_at: deadline, timer_state: state}});
  const cases = [c("g", at(600), "green"), c("y2", at(300), "yellow"), c("late", at(-1), "green"), c("y1", at(200), "yellow"), c("none", null, "none")];
  assert.deepEqual(cases.sort(byUrgency(strings, NOW)).map((x) => x.properties.number), ["late", "y1", "y2", "g", "none"]);
});

test("the category picker matches a code prefix or any part of a name", () => {
  const categories = [
    {code: "0101", label: "井盖缺失", major: "公用设施"},
    {code: "0201", label: "暴露垃圾", major: "市容环境"},
  ];
  assert.deepEqual(filterCategories(categories, "01").map((c) => c.code), ["0101"]);
  assert.deepEqual(filterCategories(categories, "环境").map((c) => c.code), ["0201"]);
  assert.equal(filterCategories(categories, "  ").length, 2);
});
