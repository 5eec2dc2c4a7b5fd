// The tablet's patrol track queue (patrol/position-queue.js): thinning, batches, nothing lost on a failed send.
import assert from "node:assert/strict";
import {test} from "node:test";

import {BATCH, PositionQueue} from "../static/frontend/patrol/position-queue.js";

function memory() {
  const items = new Map();
  return {getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v))};
}

const fix = (seconds) => ({at: Date.UTC(2030, 0, 7, 1) + seconds * 1000, lon: 114.05, lat: 22.54, accuracy: 8, crs: "wgs84"});

test("fixes closer than the interval are thinned, the queue keeps the newest `keep`", () => {
  const queue = new PositionQueue({storage: memory(), key: "k", send: async () => {}, everyMs: 30_000, keep: 3});
  assert.deepEqual([0, 10, 30, 59, 60, 90, 120].map((s) => queue.add(fix(s))), [true, false, true, false, true, true, true]);
  assert.deepEqual(queue.fixes().map((f) => (f.at - fix(0).at) / 1000), [60, 90, 120]);
});

test("a failed send keeps every fix; a later flush sends them in batches of the server's limit, then none remain", async () => {
  const sent = [];
  let fail = true;
  const queue = new PositionQueue({
    storage: memory(),
    key: "k",
    everyMs: 1,
    send: async (batch) => {
      if (fail) throw new Error("offline");
      sent.push(batch);
    },
  });
  for (let s = 0; s < BATCH + 20; s += 1) queue.add(fix(s));
  await assert.rejects(queue.flush(), /offline/);
  assert.equal(queue.fixes().length, BATCH + 20);
  fail = false;
  await queue.flush();
  assert.deepEqual(sent.map((b) => b.length), [BATCH, 20]);
  assert.equal(sent[0][0].at, "2030-01-07T01:00:00.000Z");
  assert.equal(queue.fixes().length, 0);
});

test("a batch the server refuses is dropped, so it does not block the fixes after it", async () => {
  const queue = new PositionQueue({
    storage: memory(),
    key: "k",
    everyMs: 1,
    send: async () => {
      throw Object.assign(new Error("too old"), {status: 400});
    },
  });
  queue.add(fix(0));
  await queue.flush();
  assert.equal(queue.fixes().length, 0);
});
