import assert from "node:assert/strict";
import {test} from "node:test";

import {bboxParam, emptySources, extentOf, labelPoint} from "../static/frontend/lib/geo.js";

const feature = (type, coordinates) => ({type: "Feature", properties: {}, geometry: {type, coordinates}});

test("extentOf covers every coordinate of any geometry and skips features without one", () => {
  const features = [
    feature("Point", [114.1, 22.5]),
    feature("MultiPolygon", [[[[113.9, 22.4], [114.0, 22.4], [114.0, 22.6], [113.9, 22.4]]]]),
    {type: "Feature", properties: {}, geometry: null},
  ];
  assert.deepEqual(extentOf(features), [113.9, 22.4, 114.1, 22.6]);
  assert.equal(extentOf([]), null);
});

test("labelPoint of an L-shaped district lies inside it, away from its edges", () => {
  // An L: the bounding box's centre (1, 1) is outside it.
  const ring = [[0, 0], [2, 0], [2, 0.5], [0.5, 0.5], [0.5, 2], [0, 2], [0, 0]];
  const [x, y] = labelPoint({type: "Polygon", coordinates: [ring]});
  const inArm = (x <= 0.5 && y <= 2) || (y <= 0.5 && x <= 2);
  assert.ok(inArm && x > 0.05 && y > 0.05, `label at ${x}, ${y}`);
});

test("labelPoint picks the largest part of a multipolygon", () => {
  const small = [[[10, 10], [10.1, 10], [10.1, 10.1], [10, 10]]];
  const large = [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]];
  const [x, y] = labelPoint({type: "MultiPolygon", coordinates: [small, large]});
  assert.ok(Math.abs(x - 2) < 0.3 && Math.abs(y - 2) < 0.3, `label at ${x}, ${y}`);
});

test("bboxParam writes west,south,east,north with six decimals", () => {
  const bounds = {getWest: () => 113.9, getSouth: () => 22.4, getEast: () => 114.1234567, getNorth: () => 22.6};
  assert.equal(bboxParam(bounds), "113.900000,22.400000,114.123457,22.600000");
});

test("emptySources gives each name its own empty collection, keyed on code where asked", () => {
  const sources = emptySources(["districts", "roads"], ["districts"]);
  assert.deepEqual(sources, {
    districts: {type: "geojson", data: {type: "FeatureCollection", features: []}, promoteId: "code"},
    roads: {type: "geojson", data: {type: "FeatureCollection", features: []}},
  });
  assert.notEqual(sources.districts.data, sources.roads.data);
});
