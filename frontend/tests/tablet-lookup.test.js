// The tablet's address and duplicate rules: the address text of a reverse-geocoded point
// (lib/address-lookup.js) and what the duplicate warning lists (grid/tablet-duplicates.js).
import assert from "node:assert/strict";
import {test} from "node:test";

import {AT_ADDRESS_M, NEAR_ADDRESS_M, addressText} from "../static/frontend/lib/address-lookup.js";
import {ageText, duplicatesOf} from "../static/frontend/grid/tablet-duplicates.js";

const NEAR = "{address}附近";
const answer = (distance, label = "福华一路12号") => ({
  address: label ? {label} : null,
  distance_m: distance,
  street: {name: "福保街道"},
  community: {name: "莲花社区"},
});

test("a point at an address is that address", () => {
  assert.equal(addressText(answer(3.2), NEAR), "福华一路12号");
  assert.equal(addressText(answer(AT_ADDRESS_M), NEAR), "福华一路12号");
});

test("a point a little off the nearest address is near it", () => {
  assert.equal(addressText(answer(AT_ADDRESS_M + 1), NEAR), "福华一路12号附近");
  assert.equal(addressText(answer(NEAR_ADDRESS_M), NEAR), "福华一路12号附近");
});

test("far from any address, the sub-district and community name the place", () => {
  assert.equal(addressText(answer(NEAR_ADDRESS_M + 1), NEAR), "福保街道莲花社区");
  assert.equal(addressText(answer(null, null), NEAR), "福保街道莲花社区");
});

test("outside the city, or without an answer, the field stays empty", () => {
  assert.equal(addressText({address: null, distance_m: null, street: null, community: null}, NEAR), "");
  assert.equal(addressText(null, NEAR), "");
});

const AGO = {justNow: "刚刚", minutesAgo: "{n} 分钟前", hoursAgo: "{n} 小时前", daysAgo: "{n} 天前"};

test("the age of a case in minutes, hours or days, rounded down", () => {
  assert.equal(ageText(59_000, AGO), "刚刚");
  assert.equal(ageText(60_000, AGO), "1 分钟前");
  assert.equal(ageText(59 * 60_000 + 59_000, AGO), "59 分钟前");
  assert.equal(ageText(3 * 3600_000 + 1, AGO), "3 小时前");
  assert.equal(ageText(49 * 3600_000, AGO), "2 天前");
});

test("duplicates keep the server's order with rounded distance, age, text and photos", () => {
  const now = Date.parse("2026-12-07T10:00:00Z");
  const feature = (id, distance, reportedAt, extra = {}) => ({
    type: "Feature",
    id,
    properties: {id, number: `2026${id}`, stage_label: "已立案", distance_m: distance, reported_at: reportedAt, ...extra},
  });
  const found = duplicatesOf(
    {
      features: [
        feature(7, 12.4, "2026-12-07T08:30:00Z", {description: "井盖破损", address: "福华一路12号", photos: ["/api/grid/photos/3/"]}),
        feature(5, 40.6, "2026-12-07T10:00:05Z"),
      ],
    },
    now,
  );
  assert.deepEqual(found, [
    {id: 7, number: "20267", stageLabel: "已立案", distanceM: 12, ageMs: 90 * 60_000, description: "井盖破损", address: "福华一路12号", photos: ["/api/grid/photos/3/"]},
    {id: 5, number: "20265", stageLabel: "已立案", distanceM: 41, ageMs: 0, description: "", address: "", photos: []},
  ]);
  assert.deepEqual(duplicatesOf({type: "FeatureCollection", features: []}, now), []);
});
