// The inbox widget's reading of the inbox (notify/inbox-items.js).
import assert from "node:assert/strict";
import {test} from "node:test";

import {arrived, unacknowledged} from "../static/frontend/notify/inbox-items.js";

const item = (id, acknowledged = false) => ({id, acknowledged, subject: `通知${id}`});

test("only unacknowledged notices are shown, in the server's order", () => {
  assert.deepEqual(unacknowledged({items: [item(3), item(2, true), item(1)]}).map((i) => i.id), [3, 1]);
  assert.deepEqual(unacknowledged(null), []);
  assert.deepEqual(unacknowledged({}), []);
});

test("what arrived is what was not shown before", () => {
  assert.deepEqual(arrived([item(1)], [item(2), item(1)]), [2]);
  assert.deepEqual(arrived([item(1), item(2)], [item(1)]), []);
  assert.deepEqual(arrived([], [item(5)]), [5]);
});
