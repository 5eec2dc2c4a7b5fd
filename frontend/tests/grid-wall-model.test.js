import assert from "node:assert/strict";
import {test} from "node:test";

import {upsertCase} from "../static/frontend/grid/grid-ui.js";
import {tally} from "../static/frontend/grid-wall/wall-model.js";

const feature = (id, stage, timer) => ({type: "Feature", id, properties: {id, stage, timer_state: timer}});

test("a case moving through its stages is counted once, in its current stage, and leaves when closed", () => {
  const cases = new Map();
  upsertCase(cases, feature(1, "reported", null));
  upsertCase(cases, feature(2, "handling", "red"));
  upsertCase(cases, feature(1, "filed", "green"));
  assert.deepEqual(tally(cases.values()), {stages: {filed: 1, handling: 1}, timers: {green: 1, yellow: 0, red: 1}});
  upsertCase(cases, feature(2, "closed", null));
  upsertCase(cases, feature(1, "dispatched", "yellow"));
  assert.deepEqual(tally(cases.values()), {stages: {dispatched: 1}, timers: {green: 0, yellow: 1, red: 0}});
});
