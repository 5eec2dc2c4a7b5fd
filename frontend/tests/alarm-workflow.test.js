import assert from "node:assert/strict";
import {test} from "node:test";

import {alarmActions, alarmChips, stillListed} from "../static/frontend/dispatch/alarm-workflow.js";

test("alarms stay listed until closed, ended or not; system alarms until they report open: false", () => {
  assert.equal(stillListed({properties: {state: "unacknowledged", cleared_at: "2026-12-07T10:00:00+08:00"}}), true);
  assert.equal(stillListed({properties: {state: "closed"}}), false);
  assert.equal(stillListed({properties: {kind: "system"}}), true);
  assert.equal(stillListed({properties: {kind: "system", open: false}}), false);
});

test("chips say the workflow state and whether the condition ended", () => {
  assert.deepEqual(alarmChips({state: "escalated", cleared_at: null}), ["escalated"]);
  assert.deepEqual(alarmChips({state: "acknowledged", cleared_at: "2026-12-07T10:00:00+08:00"}), ["acknowledged", "cleared"]);
  assert.deepEqual(alarmChips({kind: "system"}), []);
});

test("an unacknowledged or escalated alarm may be acknowledged or closed, an acknowledged one only closed", () => {
  assert.deepEqual(alarmActions({state: "unacknowledged"}), ["acknowledge", "close"]);
  assert.deepEqual(alarmActions({state: "escalated"}), ["acknowledge", "close"]);
  assert.deepEqual(alarmActions({state: "acknowledged"}), ["close"]);
  assert.deepEqual(alarmActions({state: "closed"}), []);
  assert.deepEqual(alarmActions({kind: "system"}), []);
});
