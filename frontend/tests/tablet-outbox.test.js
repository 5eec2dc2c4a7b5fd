// What the tablet's sync bar says about the outbox (tablet-outbox.js syncState).
import assert from "node:assert/strict";
import {test} from "node:test";

import {syncState} from "../static/frontend/grid/tablet-outbox.js";

const record = (status, error = null) => ({status, error});

test("all sent is idle", () => {
  assert.deepEqual(syncState([record("sent")], {sending: null, retryAt: null}), {state: "idle", n: 0});
});

test("queued records wait with the time of the next attempt", () => {
  assert.deepEqual(syncState([record("queued"), record("queued"), record("sent")], {sending: null, retryAt: 1234}), {
    state: "queued",
    n: 2,
    retryAt: 1234,
  });
});

test("a record on the wire makes it sending, counting everything still to send", () => {
  assert.deepEqual(syncState([record("sending"), record("queued")], {sending: "k1", retryAt: null}), {state: "sending", n: 2});
});

test("a refused record beats everything, with the server's reason", () => {
  const records = [record("queued"), record("failed", "category: unknown"), record("failed", "x")];
  assert.deepEqual(syncState(records, {sending: "k", retryAt: null}), {state: "failed", n: 2, reason: "category: unknown"});
});
