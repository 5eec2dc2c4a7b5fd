/**
 * The repair crew's side of the crew app: its utility's repair orders, the valves to close in order with
 * 已关闭 / 关不上 for each (a valve that will not close plans the isolation again at once: new valves appear, the
 * outage and its customers change on every map), then 已隔离 → 已修复 → 已恢复供应. The server writes the repair
 * record; the app shows it. Re-planning needs the server, so these presses are sent directly, not queued.
 */
import {ApiError, api} from "../lib/api.js";
import {byId, el} from "../lib/dom.js";
import {collection, emptyCollection, extentOf} from "../lib/geo.js";

const ORDERS_URL = "/api/pipelines/repair-orders/";
// The crew's next step from each status: the button, and whether the valves must all be closed first.
const NEXT_STEP = {isolating: "isolated", repairing: "repaired", repaired: "restored"};
const VALVE_STATUSES = new Set(["open", "isolating"]);

function addLayers(map) {
  for (const id of ["pipes", "customers", "valves", "burst"]) map.addSource(id, {type: "geojson", data: emptyCollection()});
  map.addLayer({id: "pipes", type: "line", source: "pipes", paint: {"line-color": ["match", ["get", "cause"], "isolated", "#e0413a", "#f0a020"], "line-width": 5}});
  map.addLayer({id: "customers", type: "circle", source: "customers", paint: {"circle-radius": 4, "circle-color": ["case", ["boolean", ["get", "sensitive"], false], "#8b2cc9", "#f0a020"]}});
  map.addLayer({
    id: "valves",
    type: "circle",
    source: "valves",
    paint: {"circle-radius": 9, "circle-color": ["case", ["boolean", ["get", "closed"], false], "#1fb57a", "#ffffff"], "circle-stroke-color": "#12264a", "circle-stroke-width": 3},
  });
  map.addLayer({id: "burst", type: "circle", source: "burst", paint: {"circle-radius": 11, "circle-color": "#e0413a", "circle-stroke-color": "#fff", "circle-stroke-width": 3}});
}

export function startRepair(app) {
  const {S, format, map} = app;
  const pane = byId("pane-repair");
  addLayers(map);

  function refused(error) {
    if (error instanceof ApiError) app.say(format(S.refused, {reason: error.message}));
    else app.say(S.needsNetwork);
  }

  async function list() {
    let orders = [];
    try {
      orders = await api(ORDERS_URL);
    } catch (error) {
      refused(error);
    }
    draw(null);
    pane.replaceChildren(
      el("h2", {class: "crew-heading"}, S.orders),
      orders.length
        ? el(
            "ul",
            {class: "crew-list"},
            orders.map((order) =>
              el(
                "li",
                {},
                el(
                  "button",
                  {type: "button", class: "case-item", dataset: {order: order.number}, onclick: () => open(order.number)},
                  el("b", {}, order.number),
                  el("span", {class: "order-status"}, order.status_label),
                  el("span", {class: "case-address"}, `${order.address ?? ""} · ${format(S.customers, {n: order.customer_count})}`),
                ),
              ),
            ),
          )
        : el("p", {class: "hint"}, S.noOrders),
    );
  }

  async function open(number) {
    try {
      show(await api(`${ORDERS_URL}${encodeURIComponent(number)}/map/`), true);
    } catch (error) {
      refused(error);
    }
  }

  async function act(order, path, body, after) {
    try {
      const answer = await api(`${ORDERS_URL}${encodeURIComponent(order.number)}/${path}/`, {json: body});
      show(answer, false);
      after?.(answer);
    } catch (error) {
      refused(error);
    }
  }

  function valveRow(order, valve) {
    const p = valve.properties;
    const workable = VALVE_STATUSES.has(order.status) && !p.closed;
    const failed = () => {
      if (!window.confirm(format(S.confirmFailed, {code: p.code}))) return;
      act(order, "valves-failed", {valve: valve.id}, (answer) => app.toast(format(S.replanned, {code: p.code, n: answer.valve_count})));
    };
    return el(
      "li",
      {class: "valve-row", dataset: {valve: valve.id, closed: p.closed ? "1" : "0"}},
      el("span", {class: "valve-order"}, String(p.order)),
      el("b", {class: "valve-code"}, p.code),
      p.closed ? el("span", {class: "valve-done"}, `✓ ${S.valveClosed}`) : null,
      workable ? el("button", {type: "button", class: "valve-closed", onclick: () => act(order, "valves-closed", {valve: valve.id})}, S.valveClosed) : null,
      workable ? el("button", {type: "button", class: "valve-failed danger", onclick: failed}, S.valveFailed) : null,
    );
  }

  function recordBox(record) {
    const minutes = record.duration_s === null ? null : Math.round(record.duration_s / 60);
    const fact = (label, value) => (value ? [el("dt", {}, label), el("dd", {}, value)] : []);
    return el(
      "section",
      {class: "repair-record"},
      el("h3", {}, S.record),
      el(
        "dl",
        {class: "mdt-facts"},
        fact(S.crew, record.crew.join("、")),
        fact(S.duration, minutes === null ? null : `${minutes} min`),
        fact(S.valveClosed, record.valves_closed.join("、")),
        fact(S.failedValves, record.valves_failed.join("、")),
      ),
      el("ul", {class: "mdt-timeline"}, record.log.map((line) => el("li", {}, el("time", {}, line.at.slice(11, 16)), ` ${S[line.action] ?? line.action}${line.code ? ` ${line.code}` : ""}${line.by ? ` · ${line.by}` : ""}`))),
    );
  }

  function show(order, frame) {
    const valves = [...order.valves.features].sort((a, b) => a.properties.order - b.properties.order);
    const step = NEXT_STEP[order.status];
    const allClosed = valves.every((v) => v.properties.closed);
    const parts = [
      el("button", {type: "button", class: "link back", onclick: list}, `‹ ${S.back}`),
      el("h2", {class: "crew-heading"}, order.number, " ", el("span", {class: "order-status", id: "order-status", dataset: {status: order.status}}, order.status_label)),
      el("p", {class: "hint"}, order.address ?? ""),
      order.outage_ended
        ? el("p", {class: "outage-ended"}, S.outageEnded)
        : el("p", {class: "order-customers", id: "order-customers"}, format(S.customers, {n: order.customer_count})),
      el("h3", {}, S.valvesToClose),
      el("ol", {class: "valve-list", id: "valve-list"}, valves.map((valve) => valveRow(order, valve))),
      order.record.valves_failed.length ? el("p", {class: "failed-valves"}, `${S.failedValves}: ${order.record.valves_failed.join("、")}`) : null,
      step
        ? el("button", {type: "button", class: "primary big", id: "repair-step", dataset: {step}, disabled: step === "isolated" && !allClosed, onclick: () => act(order, "step", {step})}, S[step])
        : null,
      order.record.log.length ? recordBox(order.record) : null,
    ];
    pane.replaceChildren(...parts.filter(Boolean)); // replaceChildren would write a null as "null"
    draw(order, frame);
  }

  function draw(order, frame = false) {
    map.getSource("pipes").setData(order ? order.pipes : emptyCollection());
    map.getSource("customers").setData(order ? order.customers : emptyCollection());
    map.getSource("valves").setData(order ? order.valves : emptyCollection());
    map.getSource("burst").setData(order ? collection([{type: "Feature", geometry: order.burst_point, properties: {}}]) : emptyCollection());
    if (order && frame) {
      const box = extentOf([...order.pipes.features, ...order.valves.features, {geometry: order.burst_point}]);
      if (box) map.fitBounds(box, {padding: 50, maxZoom: 17, duration: 0});
    }
  }

  list();
}
