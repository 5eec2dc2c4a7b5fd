/**
 * 纵剖面 chart as SVG: ground elevation against the pipe's crown and invert along a run, from
 * POST /api/pipelines/profile/. Drawn with DOM calls only (no chart library: offline, and text stays escaped).
 */

import {svg as el} from "../lib/dom.js";

const MARGIN = {top: 14, right: 16, bottom: 34, left: 54};

/** "Nice" tick values covering [low, high]. */
function ticks(low, high, count) {
  const span = Math.max(high - low, 1e-6);
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * magnitude).find((k) => k >= raw);
  const values = [];
  for (let value = Math.ceil(low / step) * step; value <= high + 1e-9; value += step) values.push(+value.toFixed(6));
  return values;
}

function path(points, x, y) {
  return points.map(([d, v], i) => `${i ? "L" : "M"}${x(d).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
}

export function drawProfile(container, profile, strings) {
  const width = Math.max(container.clientWidth, 320);
  const height = Math.max(container.clientHeight, 160);
  const samples = profile.samples;
  const pick = (key) => samples.filter((s) => s[key] !== null).map((s) => [s.distance_m, s[key]]);
  const ground = pick("ground_m");
  const crown = pick("crown_m");
  const invert = pick("invert_m");
  const values = [...ground, ...crown, ...invert].map(([, v]) => v);
  const svg = el("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": strings.profile});
  if (!values.length) {
    svg.append(el("text", {x: width / 2, y: height / 2, "text-anchor": "middle"}, strings.groundFromNodes));
    container.replaceChildren(svg);
    return;
  }
  const low = Math.min(...values) - 0.5;
  const high = Math.max(...values) + 0.5;
  const total = Math.max(profile.length_m, 1);
  const x = (d) => MARGIN.left + (d / total) * (width - MARGIN.left - MARGIN.right);
  const y = (v) => MARGIN.top + ((high - v) / (high - low)) * (height - MARGIN.top - MARGIN.bottom);

  for (const value of ticks(low, high, 5)) {
    svg.append(el("line", {class: "grid", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value)}));
    svg.append(el("text", {x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end"}, value.toFixed(1)));
  }
  for (const value of ticks(0, total, 8)) {
    svg.append(el("text", {x: x(value), y: height - MARGIN.bottom + 16, "text-anchor": "middle"}, value.toFixed(0)));
  }
  for (const pipe of profile.pipes.slice(1)) {
    svg.append(el("line", {class: "joint", x1: x(pipe.from_m), x2: x(pipe.from_m), y1: MARGIN.top, y2: height - MARGIN.bottom}));
  }
  if (ground.length) {
    const area = `${path(ground, x, y)} L${x(ground.at(-1)[0]).toFixed(1)},${y(low)} L${x(ground[0][0]).toFixed(1)},${y(low)} Z`;
    svg.append(el("path", {class: "ground", d: area}));
  }
  if (crown.length) svg.append(el("path", {class: "crown", d: path(crown, x, y)}));
  if (invert.length) svg.append(el("path", {class: "invert", d: path(invert, x, y)}));
  svg.append(el("line", {class: "axis", x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: height - MARGIN.bottom}));
  svg.append(
    el("line", {class: "axis", x1: MARGIN.left, x2: width - MARGIN.right, y1: height - MARGIN.bottom, y2: height - MARGIN.bottom}),
  );
  svg.append(el("text", {x: width - MARGIN.right, y: height - 4, "text-anchor": "end"}, strings.distance));
  svg.append(el("text", {x: 4, y: 10}, strings.elevation));

  const legend = el("g", {class: "legend", transform: `translate(${MARGIN.left + 12}, ${MARGIN.top + 6})`});
  [["ground", strings.ground], ["crown", strings.crown], ["invert", strings.invert]].forEach(([css, label], i) => {
    legend.append(el("line", {class: css, x1: i * 110, x2: i * 110 + 22, y1: 0, y2: 0}));
    legend.append(el("text", {x: i * 110 + 28, y: 4}, label));
  });
  svg.append(legend);
  container.replaceChildren(svg);
}
