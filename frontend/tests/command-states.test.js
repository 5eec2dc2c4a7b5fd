import assert from "node:assert/strict";
import {test} from "node:test";

import {countStates, mergeCommand, paramsFor} from "../static/frontend/dispatch/command-states.js";

test("form values become each kind's params", () => {
  assert.deepEqual(paramsFor("text", {text: "集合", urgent: true}), {text: "集合", urgent: true, tts: false});
  assert.deepEqual(paramsFor("tracking", {interval_s: "5", validity_s: ""}), {interval_s: 5, validity_s: ""});
  assert.deepEqual(paramsFor("set_params", {param_id: "0x0029", param_value: "30"}), {params: {"0x0029": 30}});
  assert.deepEqual(paramsFor("set_params", {param_id: "0x0083", param_value: "粤B1"}), {params: {"0x0083": "粤B1"}});
  assert.deepEqual(paramsFor("query_params", {ids: "0x0001, 0x0029，0x0055"}), {ids: ["0x0001", "0x0029", "0x0055"]});
  assert.deepEqual(paramsFor("query_params", {ids: ""}), {ids: []});
  assert.deepEqual(paramsFor("vehicle_control", {doors: "lock"}), {doors: "lock"});
  assert.deepEqual(paramsFor("position_query", {text: "ignored"}), {});
});

test("a batch's counts follow its commands' events", () => {
  let commands = [{id: 1, state: "queued"}, {id: 2, state: "queued"}];
  commands = mergeCommand(commands, {id: 2, state: "answered"});
  commands = mergeCommand(commands, {id: 3, state: "sent"});
  assert.deepEqual(commands.map((c) => c.id), [1, 2, 3]);
  assert.deepEqual(countStates(commands), {queued: 1, sent: 1, answered: 1, failed: 0, expired: 0});
});
