// lib/ops-socket.js message handling: a paged snapshot replaces a topic once, with every page, and events after the
// subscription move lastSeq forward in order only.
import assert from "node:assert/strict";
import {test} from "node:test";

import {OpsSocket} from "../static/frontend/lib/ops-socket.js";

function socketRecording() {
  const seen = {snapshots: [], events: []};
  const socket = new OpsSocket({
    topics: ["cases"],
    url: "ws://127.0.0.1:9/ws/ops/",
    onSnapshot: (topic, features) => seen.snapshots.push({topic, ids: features.map((f) => f.id)}),
    onEvent: (message) => seen.events.push(message.seq),
  });
  return {socket, seen};
}

test("a paged snapshot is handed over once, when its last page is in", () => {
  const {socket, seen} = socketRecording();
  socket._handle({op: "snapshot", topic: "cases", seq: 7, page: 0, pages: 3, features: [{id: 1}, {id: 2}]});
  socket._handle({op: "snapshot", topic: "cases", seq: 7, page: 1, pages: 3, features: [{id: 3}]});
  assert.deepEqual(seen.snapshots, []);
  socket._handle({op: "snapshot", topic: "cases", seq: 7, page: 2, pages: 3, features: [{id: 4}]});
  assert.deepEqual(seen.snapshots, [{topic: "cases", ids: [1, 2, 3, 4]}]);
});

test("a new snapshot starts over instead of adding to a half-received one", () => {
  const {socket, seen} = socketRecording();
  socket._handle({op: "snapshot", topic: "cases", seq: 7, page: 0, pages: 2, features: [{id: 1}]});
  socket._handle({op: "snapshot", topic: "cases", seq: 9, page: 0, pages: 1, features: [{id: 5}]});
  assert.deepEqual(seen.snapshots, [{topic: "cases", ids: [5]}]);
});

test("an unpaged snapshot (an older server) is handed over as it is", () => {
  const {socket, seen} = socketRecording();
  socket._handle({op: "snapshot", topic: "cases", seq: 7, features: [{id: 8}]});
  assert.deepEqual(seen.snapshots, [{topic: "cases", ids: [8]}]);
});

test("events after the subscription arrive once, in order", () => {
  const {socket, seen} = socketRecording();
  socket._handle({op: "subscribed", seq: 10});
  for (const seq of [11, 12, 12, 11, 13]) socket._handle({seq, topic: "cases", type: "case.updated", data: {}});
  assert.deepEqual(seen.events, [11, 12, 13]);
});
