import assert from "node:assert/strict";
import {test} from "node:test";

import {PlaybackClock, drivenPart, fixIndexAt, positionAt} from "../static/frontend/trips/replay-clock.js";

// Three fixes: north 0.01° in 60 s, then east 0.02° in 120 s.
const track = [
  [1000, 114.0, 22.5, 36, 0],
  [61000, 114.0, 22.51, 40, 0],
  [181000, 114.02, 22.51, 20, 90],
];

test("the fix index is the last fix at or before the time", () => {
  assert.equal(fixIndexAt(track, 0), -1);
  assert.equal(fixIndexAt(track, 1000), 0);
  assert.equal(fixIndexAt(track, 60999), 0);
  assert.equal(fixIndexAt(track, 61000), 1);
  assert.equal(fixIndexAt(track, 10 ** 9), 2);
  assert.equal(fixIndexAt([], 5), -1);
});

test("a position between fixes is interpolated linearly in time", () => {
  const half = positionAt(track, 31000);
  assert.equal(half.lon, 114.0);
  assert.ok(Math.abs(half.lat - 22.505) < 1e-12);
  assert.equal(half.speed, 38);
  assert.equal(half.heading, 0);
  const quarter = positionAt(track, 91000);
  assert.ok(Math.abs(quarter.lon - 114.005) < 1e-12);
  assert.equal(quarter.lat, 22.51);
  assert.ok(Math.abs(quarter.heading - 90) < 1e-9);
});

test("before the first fix and after the last the vehicle stands there", () => {
  assert.deepEqual(positionAt(track, 0), {lon: 114.0, lat: 22.5, speed: 36, heading: 0, index: 0});
  assert.deepEqual(positionAt(track, 999999), {lon: 114.02, lat: 22.51, speed: 20, heading: 90, index: 2});
  assert.equal(positionAt([], 0), null);
});

test("the driven part ends at the interpolated position", () => {
  assert.deepEqual(drivenPart(track, 0), []);
  const part = drivenPart(track, 121000);
  assert.equal(part.length, 3);
  assert.deepEqual(part[1], [114.0, 22.51]);
  assert.ok(Math.abs(part[2][0] - 114.01) < 1e-12);
});

test("the clock runs at its speed, stops at the end and seeks within the range", () => {
  const clock = new PlaybackClock(0, 600000, 60);
  assert.equal(clock.advance(1000), 0, "a paused clock does not move");
  clock.playing = true;
  assert.equal(clock.advance(1000), 60000);
  assert.equal(clock.fraction, 0.1);
  assert.equal(clock.advance(20000), 600000);
  assert.equal(clock.playing, false);
  assert.equal(clock.seek(-5), 0);
  assert.equal(clock.seek(300000), 300000);
});
