// The MDT's status steps (crews/mdt-steps.js): the phase shown while presses wait offline, and the next button.
import assert from "node:assert/strict";
import {test} from "node:test";

import {shownPhase, statusButtons} from "../static/frontend/crews/mdt-steps.js";

const press = (status, assignment = 7, state = "queued") => ({kind: "mdt-status", status: state, fields: {assignment: String(assignment), status}});

test("a press waiting offline is shown as done", () => {
  assert.equal(shownPhase("en_route", [press("on_scene")], 7), "on_scene");
});

test("presses for another assignment, sent or refused ones do not count", () => {
  const records = [press("cleared", 8), press("cleared", 7, "failed"), press("on_scene", 7, "sent")];
  assert.equal(shownPhase("en_route", records, 7), "en_route");
});

test("the server's phase wins when it is further", () => {
  assert.equal(shownPhase("cleared", [press("on_scene")], 7), "cleared");
});

test("an ambulance has 转运 between on scene and cleared; others go straight to cleared", () => {
  assert.deepEqual(
    statusButtons("on_scene", true).map((b) => [b.status, b.state]),
    [["en_route", "done"], ["on_scene", "done"], ["transporting", "next"], ["cleared", "later"]],
  );
  assert.deepEqual(
    statusButtons("on_scene", false).map((b) => [b.status, b.state]),
    [["en_route", "done"], ["on_scene", "done"], ["cleared", "next"]],
  );
});

test("after transporting the next press is cleared", () => {
  assert.equal(statusButtons("transporting", true).find((b) => b.state === "next").status, "cleared");
});
