/**
 * Planner workbench (/planner/): the pipe networks on the map by utility; click a pipe or a point to plan
 * the isolation of a burst (valves to close in order, shut-in pipes, secondary outage, customers with the
 * sensitive ones first), mark a valve that will not close and re-plan, open the repair order; trace the
 * run between two points and draw its longitudinal profile; show clearance violations and replacement
 * warnings. Everything comes from /api/pipelines/; every text from the page (translated server-side).
 * The second tab is the layer query builder (planner-query.js); map clicks go to the open tab.
 */
import {api} from "../lib/api.js";
import {el, flash} from "../lib/dom.js";
import {emptyCollection, extentOf} from "../lib/geo.js";
import {createMap} from "../lib/map.js";
import {addNetworkLayers, addOverlayLayers, baseStyle, isolationFeatures, pipeLayerId, setNetworkVisible} from "./planner-map.js";
import {drawProfile} from "./planner-profile.js";
import {setupQuery} from "./planner-query.js";

const config = JSON.parse(document.getElementById("planner-config").textContent);
const strings = config.strings;
const CUSTOMERS_LISTED = 40;
const LIST_LIMIT = 60;
const CLICK_SLOP_PX = 6;

const state = {
  tab: "network",
  mode: "burst",
  burst: null, // {network, pipe} or {network, point}
  failedValves: new Map(), // id -> valve (from the plan where it was marked)
  result: null,
  picks: [],
  run: null,
  isolationCount: 0,
};

// --- small helpers ---

function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

function metres(value) {
  return `${Number(value).toLocaleString(document.documentElement.lang, {maximumFractionDigits: 1})} ${strings.metres}`;
}

/** The API names the problem in English (as every CityOps API does); the prefix says it in the page's language. */
function failure(error) {
  return `${strings.requestFailed}: ${error.message}`;
}

function showMessage(text) {
  flash(document.getElementById("planner-message"), text, 8000);
}

function setHint(text) {
  document.getElementById("planner-hint").textContent = text;
}

function panelPadding() {
  const panel = document.getElementById("planner-panel").getBoundingClientRect();
  const mapBox = document.getElementById("planner-map").getBoundingClientRect();
  if (panel.width > mapBox.width / 2) return {top: 40, right: 40, left: 40, bottom: mapBox.bottom - panel.top + 40};
  return {top: 40, right: 60, bottom: 40, left: panel.right - mapBox.left + 40};
}

// --- burst isolation ---

async function runIsolation(map) {
  const result = document.getElementById("planner-result");
  result.hidden = false;
  result.setAttribute("aria-busy", "true");
  setHint(strings.working);
  const request = {...state.burst, failed_valves: [...state.failedValves.keys()]};
  try {
    state.result = await api("/api/pipelines/isolation/", {json: request});
  } catch (error) {
    showMessage(failure(error));
    setHint(strings.clickPipe);
    result.removeAttribute("aria-busy");
    if (!state.result) result.hidden = true;
    return;
  }
  state.burst = {network: state.result.network.code, pipe: state.result.burst.pipe.id};
  map.getSource("isolation").setData(isolationFeatures(state.result, state.failedValves));
  renderIsolation(map);
  result.removeAttribute("aria-busy");
  setHint(strings.clickPipe);
  const box = extentOf([
    ...state.result.isolated.pipes.features,
    ...state.result.valves_to_close.map((v) => ({geometry: v.geometry})),
    {geometry: state.result.burst.point},
  ]);
  map.fitBounds(box, {padding: panelPadding(), maxZoom: 17.5, duration: 400});
  await map.once("idle");
  state.isolationCount += 1;
  document.body.dataset.isolation = String(state.isolationCount);
}

function valveItem(map, valve) {
  const side = strings.farSide[valve.far_side] ?? valve.far_side;
  return el(
    "li",
    {class: "valve-item", dataset: {valve: valve.id, order: valve.order}},
    el("span", {class: "order"}, String(valve.order)),
    el(
      "span",
      {class: "what"},
      valve.code,
      valve.unverified ? el("span", {class: "flag"}, ` · ${strings.unverified}`) : null,
      el("small", {}, `${side} · ${metres(valve.distance_m)}`),
    ),
    el(
      "button",
      {
        type: "button",
        class: "mark-failed",
        onclick: () => {
          state.failedValves.set(valve.id, {id: valve.id, code: valve.code, geometry: valve.geometry});
          runIsolation(map);
        },
      },
      strings.markFailed,
    ),
  );
}

function renderIsolation(map) {
  const r = state.result;
  const pipe = r.burst.pipe;
  const root = document.getElementById("planner-result");
  const summary = el(
    "dl",
    {class: "summary"},
    el("dt", {}, strings.burstPipe),
    el("dd", {id: "planner-burst-pipe"}, `${pipe.code}${pipe.diameter_mm ? ` · DN${Math.round(pipe.diameter_mm)}` : ""}`),
    el("dt", {}, strings.isolatedArea),
    el("dd", {}, `${r.isolated.pipe_count} ${strings.pipes} · ${metres(r.isolated.length_m)}`),
    el("dt", {}, strings.outageArea),
    el("dd", {}, `${r.outage.pipe_count} ${strings.pipes} · ${metres(r.outage.length_m)}`),
    el("dt", {}, strings.customers),
    el("dd", {}, `${r.customers.count} (${strings.sensitive} ${r.customers.sensitive_count})`),
  );
  const valves = r.valves_to_close.length
    ? el("ol", {id: "planner-valves"}, ...r.valves_to_close.map((valve) => valveItem(map, valve)))
    : el("p", {id: "planner-valves-none"}, strings.noValves);
  const failed = state.failedValves.size
    ? [
        el("h3", {}, strings.failedValves),
        el(
          "ul",
          {id: "planner-failed"},
          ...[...state.failedValves.values()].map((valve) =>
            el(
              "li",
              {class: "valve-item failed", dataset: {valve: valve.id}},
              el("span", {class: "order"}, "×"),
              el("span", {class: "what"}, valve.code),
              el(
                "button",
                {
                  type: "button",
                  onclick: () => {
                    state.failedValves.delete(valve.id);
                    runIsolation(map);
                  },
                },
                strings.undoFailed,
              ),
            ),
          ),
        ),
      ]
    : [];
  const closed = r.closed_boundary_valves.length
    ? [el("h3", {}, strings.closedBoundary), el("p", {}, r.closed_boundary_valves.map((v) => v.code).join("、"))]
    : [];
  const customers = r.customers.items.slice(0, CUSTOMERS_LISTED).map((c) =>
    el(
      "li",
      {class: `customer-item${c.sensitive ? " sensitive" : ""}`},
      c.name,
      c.sensitive ? el("span", {class: "tag sensitive"}, strings.sensitive) : null,
      el("small", {}, `${c.address ?? ""} · ${c.cause === "isolated" ? strings.causeIsolated : strings.causeOutage}`),
    ),
  );
  if (r.customers.count > CUSTOMERS_LISTED) {
    customers.push(el("li", {}, format(strings.moreCustomers, {count: r.customers.count - CUSTOMERS_LISTED})));
  }
  const actions = el(
    "div",
    {class: "planner-actions", id: "planner-order-actions"},
    el("button", {type: "button", onclick: () => showProfile(map, r.network.code, [pipe.id], pipe.code)}, strings.profileOfPipe),
    config.canOpenRepairOrders
      ? el("button", {type: "button", class: "primary", id: "planner-open-order", onclick: () => openRepairOrder()}, strings.openRepairOrder)
      : null,
  );
  root.replaceChildren(
    el("h2", {}, `${r.network.name} · ${pipe.code}`),
    summary,
    el("h3", {}, strings.valvesToClose),
    valves,
    ...failed,
    ...closed,
    el("h3", {}, strings.customers),
    customers.length ? el("ul", {id: "planner-customers"}, ...customers) : el("p", {}, strings.noCustomers),
    actions,
  );
}

async function openRepairOrder() {
  const button = document.getElementById("planner-open-order");
  button.disabled = true;
  try {
    const order = await api("/api/pipelines/repair-orders/", {json: {...state.burst, failed_valves: [...state.failedValves.keys()]}});
    button.replaceWith(
      el(
        "span",
        {class: "done", id: "planner-order-number", dataset: {number: order.number}},
        format(strings.repairOrderOpened, {number: order.number}),
      ),
      el("a", {href: order.print_url, target: "_blank", rel: "noopener", id: "planner-order-print"}, strings.printOrder),
      el("a", {href: order.pdf_url, target: "_blank", rel: "noopener", id: "planner-order-pdf"}, strings.pdfOrder),
    );
  } catch (error) {
    button.disabled = false;
    showMessage(failure(error));
  }
}

// --- connectivity and profile ---

async function pickRunPoint(map, lngLat) {
  state.picks = state.picks.length >= 2 ? [] : state.picks;
  state.picks.push([lngLat.lng, lngLat.lat]);
  map.getSource("picks").setData({
    type: "FeatureCollection",
    features: state.picks.map((coordinates) => ({type: "Feature", geometry: {type: "Point", coordinates}, properties: {}})),
  });
  if (state.picks.length < 2) {
    map.getSource("run").setData(emptyCollection());
    setHint(strings.clickEnd);
    return;
  }
  const network = document.getElementById("planner-network").value;
  const root = document.getElementById("planner-result");
  try {
    state.run = await api("/api/pipelines/connectivity/", {
      json: {
        network,
        start: {type: "Point", coordinates: state.picks[0]},
        end: {type: "Point", coordinates: state.picks[1]},
      },
    });
  } catch (error) {
    showMessage(failure(error));
    state.picks = [];
    setHint(strings.clickStart);
    return;
  }
  const run = state.run;
  map.getSource("run").setData(run.run);
  const verdict = run.in_service ? strings.connected : run.physically ? strings.connectedPhysically : strings.notConnected;
  root.hidden = false;
  root.replaceChildren(
    el("h2", {}, verdict),
    el(
      "dl",
      {class: "summary"},
      el("dt", {}, strings.runLength),
      el("dd", {}, `${run.pipes.length} ${strings.pipes} · ${metres(run.length_m)}`),
    ),
    run.pipes.length
      ? el(
          "div",
          {class: "planner-actions"},
          el("button", {type: "button", onclick: () => showProfile(map, run.network, run.pipes, `${run.start.code} → ${run.end.code}`)}, strings.profileOfRun),
        )
      : null,
  );
  setHint(strings.clickStart);
}

async function showProfile(map, network, pipes, title) {
  const drawer = document.getElementById("planner-profile");
  try {
    const profile = await api("/api/pipelines/profile/", {json: {network, pipes}});
    drawer.hidden = false;
    document.getElementById("planner-profile-title").textContent = `${strings.profile} · ${title}`;
    document.getElementById("planner-profile-note").textContent =
      `${metres(profile.length_m)} · ${profile.ground_source === "dem" ? strings.groundFromDem : strings.groundFromNodes}`;
    drawProfile(document.getElementById("planner-profile-chart"), profile, strings);
  } catch (error) {
    showMessage(failure(error));
  }
}

// --- clearance violations and replacement warnings ---

function listFeatures(map, rootId, title, collection, describe) {
  const root = document.getElementById(rootId);
  const items = collection.features.slice(0, LIST_LIMIT).map((feature) => {
    const [label, detail, tag, tagText] = describe(feature.properties);
    const point = feature.geometry.type === "Point" ? feature.geometry.coordinates : null;
    return el(
      "li",
      {},
      el(
        "button",
        {
          type: "button",
          class: "item-button",
          onclick: () => (point ? map.flyTo({center: point, zoom: 18}) : map.fitBounds(extentOf([feature]), {padding: panelPadding(), maxZoom: 18})),
        },
        label,
        el("span", {class: `tag ${tag}`}, tagText),
        el("small", {}, detail),
      ),
    );
  });
  root.hidden = false;
  root.replaceChildren(
    el("h2", {}, `${title} (${collection.features.length})`),
    items.length ? el("ul", {}, ...items) : el("p", {}, title === strings.warnings ? strings.noWarnings : strings.noViolations),
    collection.features.length > LIST_LIMIT
      ? el("p", {class: "planner-hint"}, format(strings.shown, {shown: LIST_LIMIT, total: collection.features.length}))
      : null,
  );
}

function setupOverlayToggle(map, checkboxId, layers, listId, load) {
  let loaded = false;
  document.getElementById(checkboxId).addEventListener("change", async (event) => {
    const on = event.target.checked;
    for (const layer of layers) map.setLayoutProperty(layer, "visibility", on ? "visible" : "none");
    if (on && !loaded) {
      try {
        await load();
        loaded = true;
      } catch (error) {
        showMessage(failure(error));
      }
    }
    document.getElementById(listId).hidden = !on || !loaded;
  });
}

async function loadClearances(map) {
  const data = await api("/api/pipelines/clearances/");
  map.getSource("clearances").setData(data);
  listFeatures(map, "planner-clearance-list", strings.violations, data, (p) => {
    const pair = p.pipe_b ? `${p.pipe_a.code} ↔ ${p.pipe_b.code}` : p.pipe_a.code;
    const measured = p.measured_m === null ? "—" : metres(p.measured_m);
    return [
      `${strings.checks[p.check]} · ${pair}`,
      `${strings.required} ${metres(p.required_m)} · ${strings.measured} ${measured} · ${p.clause}`,
      p.status,
      strings.status[p.status],
    ];
  });
}

async function loadWarnings(map) {
  const data = await api("/api/pipelines/maintenance-warnings/");
  map.getSource("warnings").setData(data);
  listFeatures(map, "planner-warning-list", strings.warnings, data, (p) => [
    `${p.kind === "pipe" ? strings.pipe : strings.valve} ${p.code}`,
    `${p.install_year ? `${p.install_year} ${strings.installed} · ` : ""}${p.reasons.join("；")}`,
    p.level,
    strings.levels[p.level],
  ]);
}

// --- map clicks ---

function pipeAt(map, point) {
  const layers = config.networks.map((n) => pipeLayerId(n.code)).filter((id) => map.getLayer(id));
  const box = [
    [point.x - CLICK_SLOP_PX, point.y - CLICK_SLOP_PX],
    [point.x + CLICK_SLOP_PX, point.y + CLICK_SLOP_PX],
  ];
  return map.queryRenderedFeatures(box, {layers})[0] ?? null;
}

function setupClicks(map) {
  map.on("click", (event) => {
    if (state.tab !== "network") return;
    if (state.mode === "connectivity") {
      pickRunPoint(map, event.lngLat);
      return;
    }
    const pipe = pipeAt(map, event.point);
    state.failedValves.clear();
    state.burst = pipe
      ? {network: pipe.properties.network, pipe: pipe.properties.pipe_id}
      : {
          network: document.getElementById("planner-network").value,
          point: {type: "Point", coordinates: [event.lngLat.lng, event.lngLat.lat]},
        };
    runIsolation(map);
  });
  map.on("mousemove", (event) => {
    if (state.tab !== "network") return;
    map.getCanvas().style.cursor = state.mode === "connectivity" || pipeAt(map, event.point) ? "pointer" : "";
  });
  for (const radio of document.querySelectorAll("input[name=planner-mode]")) {
    radio.addEventListener("change", () => {
      state.mode = radio.value;
      state.picks = [];
      map.getSource("picks").setData(emptyCollection());
      setHint(state.mode === "burst" ? strings.clickPipe : strings.clickStart);
    });
  }
  document.getElementById("planner-profile-close").addEventListener("click", () => {
    document.getElementById("planner-profile").hidden = true;
  });
}

// --- tabs ---

function setupTabs(query) {
  const tabs = [...document.querySelectorAll(".planner-tabs [role=tab]")];
  const open = (tab) => {
    if (state.tab === "query" && tab.dataset.tab !== "query") query.leave();
    state.tab = tab.dataset.tab;
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    document.getElementById("planner-panel").dataset.tab = state.tab;
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => open(tab));
    tab.addEventListener("keydown", (event) => {
      const step = {ArrowRight: 1, ArrowLeft: -1}[event.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      open(next);
    });
  });
}

async function main() {
  setHint(strings.clickPipe);
  const map = createMap("planner-map", {style: baseStyle(), navigation: {visualizePitch: false}, maxZoom: 20});

  try {
    const networkData = Promise.all(config.networks.map((n) => api(`/api/pipelines/networks/${n.code}/features/`)));
    const roads = api("/api/gis/roads/").catch(() => emptyCollection());
    await map.once("load");
    addOverlayLayers(map);
    const collections = await networkData;
    config.networks.forEach((network, i) => addNetworkLayers(map, network, collections[i]));
    map.getSource("roads").setData(await roads);
    const all = {type: "FeatureCollection", features: collections.flatMap((c) => c.features)};
    if (all.features.length) map.fitBounds(extentOf(all.features), {padding: panelPadding(), duration: 0});
    await map.once("idle");
    document.body.dataset.mapReady = "1";
  } catch (error) {
    showMessage(strings.loadFailed);
    throw error;
  }

  for (const checkbox of document.querySelectorAll("#planner-networks input[data-network]")) {
    checkbox.addEventListener("change", () => setNetworkVisible(map, checkbox.dataset.network, checkbox.checked));
  }
  setupOverlayToggle(map, "planner-layer-clearances", ["clearance-points"], "planner-clearance-list", () =>
    loadClearances(map),
  );
  setupOverlayToggle(map, "planner-layer-warnings", ["warnings-pipes", "warnings-valves"], "planner-warning-list", () =>
    loadWarnings(map),
  );
  setupClicks(map);
  const query = setupQuery(map, {showMessage, failure, format, panelPadding, isActive: () => state.tab === "query"});
  setupTabs(query);
}

main();
