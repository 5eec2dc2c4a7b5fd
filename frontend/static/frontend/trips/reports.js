/**
 * The fleet reports (/trips/): a report of the chosen vehicles (an agency, a group, ids, or every vehicle the
 * reader may see) over a range of days — a bar chart per day (drawn as the leader's trend chart is, in SVG), the
 * summary per vehicle and the rows — and the same rows as CSV or XLSX from the API.
 */
import {api, showApiError} from "../lib/api.js";
import {byId, el, showText, svg} from "../lib/dom.js";

const strings = byId("report-strings").dataset;
const COLUMNS = JSON.parse(strings.columns);
const form = byId("report-form");
const message = byId("report-message");
const pad = (n) => String(n).padStart(2, "0");
const dateInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const clock = (iso) => new Date(iso).toLocaleString("zh-CN", {hour12: false});
const VALUE = {trips: "count", stops: "count", speeding: "count", mileage: "distance_km"};

function query(format) {
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const name of ["agency", "group", "vehicles"]) if (data.get(name)) params.set(name, data.get(name));
  const from = new Date(`${data.get("from")}T00:00`);
  const to = new Date(`${data.get("to")}T00:00`);
  to.setDate(to.getDate() + 1);
  params.set("from", from.toISOString());
  params.set("to", to.toISOString());
  if (format) params.set("format", format);
  return params;
}

function cell(name, value) {
  if (name === "duration_s") return (value / 60).toFixed(1);
  if (name === "start" || name === "end") return clock(value);
  return value ?? "";
}

function table(id, rows, names) {
  const shown = names.filter((name) => rows.some((row) => name in row));
  byId(id).replaceChildren(
    el("thead", {}, el("tr", {}, shown.map((name) => el("th", {}, COLUMNS[name] ?? name)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, shown.map((name) => el("td", {}, cell(name, row[name])))))),
  );
}

function chart(daily, kind) {
  const key = VALUE[kind] ?? "count";
  const values = daily.map((d) => d[key]);
  const max = Math.max(...values, 1);
  const width = 600;
  const height = 160;
  const step = width / Math.max(values.length, 1);
  byId("report-chart").replaceChildren(
    ...daily.map((d, i) => {
      const h = (d[key] / max) * (height - 24);
      return svg("rect", {x: i * step + 1, y: height - 16 - h, width: Math.min(Math.max(step - 2, 1), 40), height: h}, svg("title", {}, `${d.day}: ${d[key]}`));
    }),
    ...daily.filter((_, i) => i % Math.ceil(daily.length / 8 || 1) === 0).map((d) => svg("text", {x: daily.indexOf(d) * step + 2, y: height - 3}, d.day.slice(5))),
  );
  byId("chart-caption").textContent = COLUMNS[key];
}

async function run(event) {
  event?.preventDefault();
  showText(message, "");
  const kind = form.elements.kind.value;
  for (const format of ["csv", "xlsx"]) byId(`export-${format}`).href = `/api/trips/reports/${kind}/?${query(format)}`;
  try {
    const report = await api(`/api/trips/reports/${kind}/?${query()}`);
    chart(report.daily, kind);
    table("summary-table", report.summary, ["call_sign", "fence", "count", "distance_km", "duration_s", "max_speed_kmh"]);
    table("rows-table", report.rows, ["call_sign", "plate", "fence", "day", "start", "end", "duration_s", "distance_km", "max_speed_kmh", "avg_speed_kmh", "limit_kmh", "fixes"]);
    byId("rows-note").textContent = report.truncated ? strings.truncated : `${report.rows.length}`;
  } catch (error) {
    showApiError(message, error);
  }
  document.body.dataset.ready = "true";
}

async function start() {
  const today = new Date();
  byId("report-to").value = dateInput(today);
  byId("report-from").value = dateInput(new Date(today - 6 * 86400000));
  const groups = await api("/api/trips/groups/");
  byId("report-group").append(...groups.map((g) => el("option", {value: g.id}, g.name)));
  form.addEventListener("submit", run);
  await run();
}

start();
