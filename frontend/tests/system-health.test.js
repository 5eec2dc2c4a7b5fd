// The system-health panel's logic (dispatch/system-health.js): an API reading → chips, summary, figures, alarms.
import assert from "node:assert/strict";
import {test} from "node:test";

import {HEALTH_POLL_MS, componentAlarm, componentAlarmId, healthView, readHealth, watchHealth} from "../static/frontend/dispatch/system-health.js";

const strings = {
  component_database: "数据库",
  component_redis: "Redis",
  component_gps_ingest: "GPS接入",
  component_case_timers: "案件计时",
  state_up: "正常",
  state_degraded: "降级",
  state_down: "故障",
  state_unknown: "未知",
  summary_up: "系统正常",
  summary_degraded: "部分降级",
  summary_down: "故障",
  summary_unreachable: "无法读取系统状态",
  unreachable: "服务器无响应",
  figure_gps_rate: "GPS 接入速率",
  unit_gps_rate: "{n} 点/秒",
  figure_consoles: "在线控制台",
  unit_consoles: "{n}",
  figure_lag: "复制延迟",
  unit_lag: "{n} 秒",
  tooltip_row: "{label}：{state}",
  component_down: "{component}故障",
  alarm_kind: "系统",
};

function reading(overrides = {}) {
  return {
    status: "down",
    components: [
      {name: "database", status: "up", detail: "", label: "Database (PostgreSQL)"},
      {name: "redis", status: "up", detail: "", label: "Redis"},
      {name: "gps_ingest", status: "down", detail: "no heartbeat for 15 s", label: "GPS ingest (JT/T 808)"},
      {name: "case_timers", status: "unknown", detail: "", label: "Case timers"},
    ],
    standbys: [],
    replication_lag_seconds: null,
    gps_fixes_per_second: 12.345,
    consoles_connected: 3,
    ...overrides,
  };
}

test("one chip per component, in the API's order, with the page's label, state text and symbol", () => {
  const view = healthView(reading(), strings);
  assert.deepEqual(
    view.chips.map((chip) => [chip.name, chip.label, chip.status, chip.state, chip.symbol]),
    [
      ["database", "数据库", "up", "正常", "✓"],
      ["redis", "Redis", "up", "正常", "✓"],
      ["gps_ingest", "GPS接入", "down", "故障", "✕"],
      ["case_timers", "案件计时", "unknown", "未知", "?"],
    ],
  );
  assert.equal(view.status, "down");
  assert.equal(view.summary, "故障");
  assert.deepEqual(view.down.map((chip) => chip.name), ["gps_ingest"]);
});

test("the summary follows the API's overall status", () => {
  assert.equal(healthView(reading({status: "up"}), strings).summary, "系统正常");
  assert.equal(healthView(reading({status: "degraded"}), strings).summary, "部分降级");
});

test("a component the page has no label for keeps the API's label", () => {
  const view = healthView(reading({components: [{name: "web", status: "degraded", detail: "", label: "Web"}]}), strings);
  assert.deepEqual([view.chips[0].label, view.chips[0].symbol], ["Web", "!"]);
});

test("figures: fixes per second to one decimal, consoles; no replication lag without replication", () => {
  const view = healthView(reading(), strings);
  assert.deepEqual(view.figures.map((f) => [f.label, f.value]), [["GPS 接入速率", "12.3 点/秒"], ["在线控制台", "3"]]);
});

test("replication lag is shown when there is a standby, as a dash while PostgreSQL reports none", () => {
  const standby = {name: "node2", state: "streaming", sync_state: "sync", lag_seconds: null};
  assert.deepEqual(healthView(reading({standbys: [standby], replication_lag_seconds: 0.25}), strings).figures[2], {name: "lag", label: "复制延迟", value: "0.3 秒"});
  assert.equal(healthView(reading({standbys: [standby]}), strings).figures[2].value, "—");
  assert.equal(healthView(reading({replication_lag_seconds: 2}), strings).figures[2].value, "2.0 秒"); // this server is a standby
});

test("figures whose store is down are dashes", () => {
  const view = healthView(reading({gps_fixes_per_second: null, consoles_connected: null}), strings);
  assert.deepEqual(view.figures.map((f) => f.value), ["—", "—"]);
});

test("the tooltip lists every component with its state and detail", () => {
  assert.equal(healthView(reading(), strings).tooltip, "数据库：正常\nRedis：正常\nGPS接入：故障 · no heartbeat for 15 s\n案件计时：未知");
});

test("an unreachable API is a state of its own, with no chips", () => {
  const view = healthView(null, strings);
  assert.deepEqual([view.status, view.summary, view.chips, view.tooltip], ["unreachable", "无法读取系统状态", [], "服务器无响应"]);
});

test("a down component's alarm names it, once per component", () => {
  const chip = healthView(reading(), strings).down[0];
  const alarm = componentAlarm(chip, "2026-01-01T00:00:00Z", strings);
  assert.equal(alarm.id, componentAlarmId("gps_ingest"));
  assert.deepEqual(alarm.properties, {kind: "system", kind_label: "系统", message: "GPS接入故障 · no heartbeat for 15 s", at: "2026-01-01T00:00:00Z"});
});

test("readHealth: the reading, null when the server fails or is away, undefined when refused", async (t) => {
  const answers = [
    () => new Response(JSON.stringify(reading()), {status: 200, headers: {"Content-Type": "application/json"}}),
    () => new Response("<h1>Bad gateway</h1>", {status: 502, headers: {"Content-Type": "text/html"}}),
    () => Promise.reject(new TypeError("Failed to fetch")),
    () => new Response(JSON.stringify({detail: "forbidden"}), {status: 403, headers: {"Content-Type": "application/json"}}),
  ];
  t.mock.method(globalThis, "fetch", () => answers.shift()());
  assert.equal((await readHealth()).consoles_connected, 3);
  assert.equal(await readHealth(), null);
  assert.equal(await readHealth(), null);
  assert.equal(await readHealth(), undefined);
});

const answer = (status, body) => new Response(JSON.stringify(body), {status, headers: {"Content-Type": "application/json"}});
const settle = () => new Promise((done) => setImmediate(done));

test("watchHealth: a late answer to an older question is dropped; it polls, and stops when refused", async (t) => {
  t.mock.timers.enable({apis: ["setTimeout"]});
  const asked = [];
  t.mock.method(globalThis, "fetch", () => new Promise((resolve) => asked.push(resolve)));
  const shown = [];
  const refresh = watchHealth(strings, (view) => shown.push(view.summary));
  refresh(); // a system.component_* event while the first reading is on its way
  asked[1](answer(200, reading({status: "up"})));
  await settle();
  asked[0](answer(200, reading({status: "down"})));
  await settle();
  assert.deepEqual(shown, ["系统正常"]);

  t.mock.timers.tick(HEALTH_POLL_MS);
  assert.equal(asked.length, 3);
  asked[2](answer(403, {detail: "forbidden"}));
  await settle();
  t.mock.timers.tick(3 * HEALTH_POLL_MS);
  assert.deepEqual([asked.length, shown], [3, ["系统正常"]]);
});
