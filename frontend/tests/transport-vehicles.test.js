import assert from "node:assert/strict";
import {test} from "node:test";

import {applyPositions, cargoText, vehicleOrder} from "../static/frontend/transport/vehicles.js";

const coach = {id: 1, geometry: null, properties: {plate: "粤BK1001", category: "coach", carrier: "鹏程", speed_kmh: null}};
const tanker = {id: 2, geometry: null, properties: {plate: "粤BW2001", category: "dangerous_goods", cargo: "汽油", un_number: "UN1203"}};

test("a live position moves a listed vehicle and keeps its supervision fields", () => {
  const moved = {id: 1, geometry: {type: "Point", coordinates: [114, 22.5]}, properties: {speed_kmh: 40}};
  const stranger = {id: 9, geometry: {type: "Point", coordinates: [1, 1]}, properties: {}};
  const next = applyPositions(new Map([[1, coach]]), [moved, stranger]);
  assert.deepEqual(next.get(1).geometry.coordinates, [114, 22.5]);
  assert.equal(next.get(1).properties.carrier, "鹏程");
  assert.equal(next.get(1).properties.speed_kmh, 40);
  assert.equal(next.has(9), false);
});

test("dangerous goods come first and cargo shows its UN number", () => {
  assert.deepEqual([coach, tanker].sort(vehicleOrder).map((f) => f.id), [2, 1]);
  assert.equal(cargoText(tanker.properties), "汽油 UN1203");
  assert.equal(cargoText(coach.properties), "—");
});
