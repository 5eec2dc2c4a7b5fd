// The planner's query builder writes CQL2 text (planner-query.js): names, literals, WKT and conditions.
import assert from "node:assert/strict";
import {test} from "node:test";

import {conditionText, cqlLiteral, cqlName, wkt} from "../static/frontend/planner/planner-query.js";

test("names are bare when the grammar takes them, else quoted", () => {
  assert.equal(cqlName("diameter_mm"), "diameter_mm");
  assert.equal(cqlName("材质"), '"材质"');
  assert.equal(cqlName('a"b c'), '"ab c"');
});

test("literals follow the property's type; what is not one is null", () => {
  assert.equal(cqlLiteral("string", "O'Brien"), "'O''Brien'");
  assert.equal(cqlLiteral("integer", "3"), "3");
  assert.equal(cqlLiteral("integer", "3.5"), null);
  assert.equal(cqlLiteral("number", "abc"), null);
  assert.equal(cqlLiteral("boolean", "true"), "TRUE");
  assert.equal(cqlLiteral("datetime", "2024-05-01T00:00:00Z"), "TIMESTAMP('2024-05-01T00:00:00Z')");
  assert.equal(cqlLiteral("string", "  "), null);
});

test("geometries become WKT", () => {
  assert.equal(wkt({type: "Point", coordinates: [114, 22.5]}), "POINT(114 22.5)");
  assert.equal(wkt({type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]]}), "POLYGON((0 0, 1 0, 1 1, 0 0))");
  assert.throws(() => wkt({type: "GeometryCollection", coordinates: []}), /unsupported/);
});

test("conditions: comparison, BETWEEN and IN lists (Chinese commas too)", () => {
  const field = {name: "diameter_mm", type: "number"};
  assert.equal(conditionText(field, ">", "300"), "diameter_mm > 300");
  assert.equal(conditionText(field, "BETWEEN", "100", "200"), "diameter_mm BETWEEN 100 AND 200");
  assert.equal(conditionText(field, "BETWEEN", "100", ""), null);
  assert.equal(conditionText({name: "material", type: "string"}, "IN", "PE，钢"), "material IN ('PE', '钢')");
});
