import assert from "node:assert/strict";
import {test} from "node:test";

import {calendarFromForm, describeCalendar, formFromCalendar} from "../static/frontend/fences/calendar.js";
import {areaSquareMetres, circlePolygon, corridorPolygon, distanceMetres, localFrame, polygonOf} from "../static/frontend/fences/shapes.js";

const CENTRE = [114.06, 22.55];
const frame = localFrame(CENTRE);
const at = (east, north) => frame.toLonLat([east, north]);
const near = (actual, expected, share) => assert.ok(Math.abs(actual - expected) <= expected * share, `${actual} is not within ${share * 100}% of ${expected}`);

test("a dragged radius is the great-circle distance", () => {
  near(distanceMetres(CENTRE, at(300, 400)), 500, 0.002);
  assert.equal(distanceMetres(CENTRE, CENTRE), 0);
  // one degree of latitude is about 111.2 km anywhere
  near(distanceMetres([114, 22], [114, 23]), 111_195, 0.001);
});

test("the clicked vertices make a closed polygon", () => {
  const polygon = polygonOf([at(0, 0), at(100, 0), at(100, 50)]);
  assert.equal(polygon.type, "Polygon");
  assert.equal(polygon.coordinates[0].length, 4);
  assert.deepEqual(polygon.coordinates[0][0], polygon.coordinates[0][3]);
  near(areaSquareMetres(polygon), 2500, 1e-6);
});

test("a circle preview has the radius and the area of the circle", () => {
  const circle = circlePolygon(CENTRE, 300);
  const ring = circle.coordinates[0];
  assert.deepEqual(ring[0], ring[ring.length - 1]);
  for (const point of ring) near(distanceMetres(CENTRE, point), 300, 0.002);
  near(areaSquareMetres(circle), Math.PI * 300 ** 2, 0.005);
});

test("a straight corridor is a stadium: 2wL + πw²", () => {
  const corridor = corridorPolygon([at(0, 0), at(1000, 0)], 50);
  near(areaSquareMetres(corridor), 2 * 50 * 1000 + Math.PI * 50 ** 2, 0.002);
  // every point of the outline lies 50 m from the line (or from its ends)
  for (const point of corridor.coordinates[0]) {
    const [x, y] = frame.toMetres(point);
    const distance = x < 0 ? Math.hypot(x, y) : x > 1000 ? Math.hypot(x - 1000, y) : Math.abs(y);
    assert.ok(Math.abs(distance - 50) < 0.01, `${x},${y} is ${distance} m from the line`);
  }
});

test("a corridor round a right-angle bend: a quarter circle outside, the square overlap inside counted once", () => {
  const w = 40;
  const expected = 2 * w * (600 + 300) + Math.PI * w ** 2 + (Math.PI / 4) * w ** 2 - w ** 2;
  for (const route of [
    [at(0, 0), at(600, 0), at(600, 300)], // left turn
    [at(0, 0), at(600, 0), at(600, -300)], // right turn
  ]) {
    near(areaSquareMetres(corridorPolygon(route, w)), expected, 0.003);
  }
});

test("a corridor drawn with a repeated click or a single point stays valid", () => {
  const corridor = corridorPolygon([at(0, 0), at(0, 0), at(500, 0)], 20);
  near(areaSquareMetres(corridor), 2 * 20 * 500 + Math.PI * 20 ** 2, 0.002);
  near(areaSquareMetres(corridorPolygon([CENTRE], 20)), Math.PI * 20 ** 2, 0.005);
});

test("time windows go from the API's JSON to the form and back", () => {
  const calendar = [
    {weekdays: [0, 1, 2, 3, 4], ranges: [["07:00", "09:00"], ["16:00", "18:00"]], dates_off: ["2026-10-01", "2026-10-02"]},
    {weekdays: [5, 6], ranges: [["22:00", "06:00"]], dates_off: []},
  ];
  const form = formFromCalendar(calendar);
  assert.equal(form[0].datesOff, "2026-10-01, 2026-10-02");
  assert.deepEqual(calendarFromForm(form), calendar);
  // what the form holds is copied, not shared with the rule it came from
  form[0].ranges[0][0] = "08:00";
  assert.equal(calendar[0].ranges[0][0], "07:00");
});

test("keys left out of the JSON read as their defaults, and the form's input is tidied", () => {
  assert.deepEqual(formFromCalendar([{}]), [{weekdays: [0, 1, 2, 3, 4, 5, 6], ranges: [["00:00", "00:00"]], datesOff: ""}]);
  assert.deepEqual(formFromCalendar(null), []);
  const json = calendarFromForm([{weekdays: ["4", 0, 4, "2"], ranges: [["07:30", "08:00"]], datesOff: " 2026-10-01，2026-10-02 、2026-10-03  "}]);
  assert.deepEqual(json, [{weekdays: [0, 2, 4], ranges: [["07:30", "08:00"]], dates_off: ["2026-10-01", "2026-10-02", "2026-10-03"]}]);
});

test("time windows read as one line", () => {
  const names = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
  const words = {always: "全时段", everyDay: "每天", allDay: "全天", datesOff: "除"};
  assert.equal(describeCalendar([], names, words), "全时段");
  assert.equal(
    describeCalendar([{weekdays: [0, 1, 2, 3, 4], ranges: [["07:00", "09:00"], ["16:00", "18:00"]]}], names, words),
    "周一–周五 07:00–09:00、16:00–18:00",
  );
  assert.equal(describeCalendar([{weekdays: [5, 6, 0], ranges: [["00:00", "00:00"]], dates_off: ["2026-10-01"]}], names, words), "周一、周六、周日 全天 (除 2026-10-01)");
  assert.equal(describeCalendar([{ranges: [["22:00", "06:00"]]}, {weekdays: [2]}], names, words), "每天 22:00–06:00；周三 全天");
});
