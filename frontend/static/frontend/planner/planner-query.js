/**
 * The planner workbench's query tab: a catalog of the layers the user may read, a builder that writes CQL2
 * text (attribute conditions; inside / intersecting / within a distance of a drawn polygon, a district, a unit
 * grid or a selected feature), the result as a paged table and on the map (from the OGC API items endpoint),
 * statistics by district or unit grid, export, and saved queries. The CQL2 text is the query: the builder only
 * writes it, the user may edit it, and every request sends it as it stands.
 */
import {api} from "../lib/api.js";
import {el} from "../lib/dom.js";
import {emptyCollection, extentOf} from "../lib/geo.js";

const PAGE_SIZE = 20;
const MAP_LIMIT = 5000;
const TABLE_COLUMNS = 6;
const GRID_HITS = 20;
const COLOR = "#c2185b";

const OPERATORS = {
  string: ["=", "<>", "LIKE", "IN"],
  number: ["=", "<>", "<", ">", "BETWEEN", "IN"],
  integer: ["=", "<>", "<", ">", "BETWEEN", "IN"],
  boolean: ["="],
  datetime: ["=", "<", ">", "BETWEEN"],
};

/** A property name as CQL2 text: bare when the grammar takes it, otherwise double-quoted. */
export function cqlName(name) {
  return /^[A-Za-z][A-Za-z0-9_]+$/.test(name) ? name : `"${name.replaceAll('"', "")}"`;
}

/** A literal of a property's type as CQL2 text; null when the input is not one. */
export function cqlLiteral(type, raw) {
  const text = String(raw ?? "").trim();
  if (text === "") return null;
  if (type === "string") return `'${text.replaceAll("'", "''")}'`;
  if (type === "boolean") return text === "true" ? "TRUE" : "FALSE";
  if (type === "number" || type === "integer") {
    const value = Number(text);
    if (!Number.isFinite(value) || (type === "integer" && !Number.isInteger(value))) return null;
    return String(value);
  }
  const instant = new Date(text);
  return Number.isNaN(instant.getTime()) ? null : `TIMESTAMP('${instant.toISOString().replace(".000Z", "Z")}')`;
}

/** A GeoJSON geometry as WKT (CQL2 text geometry literals). */
export function wkt(geometry) {
  const point = (c) => `${c[0]} ${c[1]}`;
  const line = (cs) => `(${cs.map(point).join(", ")})`;
  const polygon = (rings) => `(${rings.map(line).join(", ")})`;
  const c = geometry.coordinates;
  switch (geometry.type) {
    case "Point": return `POINT(${point(c)})`;
    case "LineString": return `LINESTRING${line(c)}`;
    case "Polygon": return `POLYGON${polygon(c)}`;
    case "MultiPoint": return `MULTIPOINT(${c.map((p) => `(${point(p)})`).join(", ")})`;
    case "MultiLineString": return `MULTILINESTRING(${c.map(line).join(", ")})`;
    case "MultiPolygon": return `MULTIPOLYGON(${c.map(polygon).join(", ")})`;
    default: throw new Error(`unsupported geometry ${geometry.type}`);
  }
}

export function conditionText(field, op, value, value2) {
  const name = cqlName(field.name);
  if (op === "IN") {
    const items = String(value ?? "").split(/[,，]/).map((item) => cqlLiteral(field.type, item)).filter(Boolean);
    return items.length ? `${name} IN (${items.join(", ")})` : null;
  }
  const low = cqlLiteral(field.type, value);
  if (low === null) return null;
  if (op === "BETWEEN") {
    const high = cqlLiteral(field.type, value2);
    return high === null ? null : `${name} BETWEEN ${low} AND ${high}`;
  }
  return `${name} ${op} ${low}`;
}

export function setupQuery(map, {showMessage, failure, format, panelPadding, isActive}) {
  const config = JSON.parse(document.getElementById("planner-config").textContent).query;
  const strings = config.strings;
  const $ = (id) => document.getElementById(id);
  const state = {
    layer: null,
    conditions: [],
    polygon: [],
    drawing: false,
    zone: null,
    feature: null,
    offset: 0,
    matched: 0,
    runs: 0,
    features: new Map(), // id -> feature of the result on the map
    districts: null,
  };

  // --- map layers ---
  const kind = (types) => ["match", ["geometry-type"], types, true, false];
  map.addSource("query-results", {type: "geojson", data: emptyCollection()});
  map.addSource("query-selected", {type: "geojson", data: emptyCollection()});
  map.addSource("query-shape", {type: "geojson", data: emptyCollection()});
  for (const layer of [
    {id: "query-shape-fill", type: "fill", source: "query-shape", filter: kind(["Polygon", "MultiPolygon"]),
      paint: {"fill-color": "#5b3cc4", "fill-opacity": 0.08}},
    {id: "query-shape-line", type: "line", source: "query-shape",
      paint: {"line-color": "#5b3cc4", "line-width": 2.5, "line-dasharray": [2, 1]}},
    {id: "query-shape-points", type: "circle", source: "query-shape", filter: kind(["Point"]),
      paint: {"circle-radius": 4, "circle-color": "#5b3cc4"}},
    {id: "query-result-fill", type: "fill", source: "query-results", filter: kind(["Polygon", "MultiPolygon"]),
      paint: {"fill-color": COLOR, "fill-opacity": 0.25}},
    {id: "query-result-lines", type: "line", source: "query-results",
      filter: kind(["LineString", "MultiLineString", "Polygon", "MultiPolygon"]),
      layout: {"line-cap": "round", "line-join": "round"},
      paint: {"line-color": COLOR, "line-width": ["interpolate", ["linear"], ["zoom"], 11, 2.5, 17, 7], "line-opacity": 0.85}},
    {id: "query-result-points", type: "circle", source: "query-results", filter: kind(["Point", "MultiPoint"]),
      paint: {"circle-radius": ["interpolate", ["linear"], ["zoom"], 11, 3, 17, 7], "circle-color": COLOR,
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.2}},
    {id: "query-selected-lines", type: "line", source: "query-selected", filter: kind(["LineString", "MultiLineString", "Polygon", "MultiPolygon"]),
      paint: {"line-color": "#ffd400", "line-width": 6}},
    {id: "query-selected-points", type: "circle", source: "query-selected", filter: kind(["Point", "MultiPoint"]),
      paint: {"circle-radius": 9, "circle-color": "#ffd400", "circle-stroke-color": COLOR, "circle-stroke-width": 3}},
  ]) {
    map.addLayer(layer);
  }
  const RESULT_LAYERS = ["query-result-fill", "query-result-lines", "query-result-points"];

  function setShape(features) {
    map.getSource("query-shape").setData({type: "FeatureCollection", features});
  }

  // --- layer catalog ---
  const fieldOf = (name) => state.layer.fields.find((f) => f.name === name);

  function renderCatalog() {
    $("query-catalog").replaceChildren(
      ...config.layers.map((layer) =>
        el(
          "li",
          {},
          el(
            "button",
            {type: "button", class: "query-layer", dataset: {layer: layer.id}, "aria-pressed": "false", onclick: () => selectLayer(layer.id)},
            layer.title,
            el("small", {}, `${strings.geometryTypes[layer.geometryType] ?? layer.geometryType} · ${layer.fields.length} ${strings.fields}`),
          ),
        ),
      ),
    );
  }

  function selectLayer(layerId, {keepText = false} = {}) {
    state.layer = config.layers.find((layer) => layer.id === layerId);
    if (!state.layer) return false;
    for (const button of document.querySelectorAll(".query-layer")) {
      button.setAttribute("aria-pressed", String(button.dataset.layer === layerId));
    }
    const fields = $("query-fields");
    fields.hidden = false;
    fields.replaceChildren(
      el("h3", {}, `${state.layer.title} · ${strings.fields}`),
      el("ul", {id: "query-field-list"}, ...state.layer.fields.map((f) => el("li", {}, el("code", {}, f.name), ` ${f.title}`, el("small", {}, f.type)))),
    );
    state.conditions = [];
    renderConditions();
    const numeric = state.layer.fields.filter((f) => f.type === "number" || f.type === "integer");
    $("query-stats-field").replaceChildren(
      el("option", {value: ""}, strings.statsNone),
      ...numeric.map((f) => el("option", {value: f.name}, `${strings.statsField} ${f.title}`)),
    );
    $("query-builder").hidden = false;
    for (const id of ["query-results", "query-stats", "query-export"]) $(id).hidden = true;
    map.getSource("query-results").setData(emptyCollection());
    if (!keepText) writeText();
    return true;
  }

  // --- attribute conditions ---
  function renderConditions() {
    $("query-conditions").replaceChildren(...state.conditions.map((condition, index) => conditionRow(condition, index)));
  }

  function valueInput(field, value, onInput, label) {
    if (field.type === "boolean") {
      return el(
        "select",
        {class: "query-value", "aria-label": label, onchange: (e) => onInput(e.target.value)},
        el("option", {value: "true", selected: value !== "false"}, strings.yes),
        el("option", {value: "false", selected: value === "false"}, strings.no),
      );
    }
    const type = {number: "number", integer: "number", datetime: "datetime-local"}[field.type] ?? "text";
    return el("input", {class: "query-value", type, value: value ?? "", "aria-label": label, step: field.type === "integer" ? "1" : "any",
      oninput: (e) => onInput(e.target.value)});
  }

  function conditionRow(condition, index) {
    const field = fieldOf(condition.field);
    const changed = () => writeText();
    const row = el(
      "div",
      {class: "query-condition", dataset: {index}},
      el(
        "select",
        {class: "query-field", "aria-label": strings.fields, onchange: (e) => {
          condition.field = e.target.value;
          condition.op = OPERATORS[fieldOf(condition.field).type][0];
          condition.value = fieldOf(condition.field).type === "boolean" ? "true" : "";
          condition.value2 = "";
          renderConditions();
          writeText();
        }},
        ...state.layer.fields.map((f) => el("option", {value: f.name, selected: f.name === condition.field}, f.title)),
      ),
      el(
        "select",
        {class: "query-op", "aria-label": strings.operator, onchange: (e) => {
          condition.op = e.target.value;
          renderConditions();
          writeText();
        }},
        ...OPERATORS[field.type].map((op) => el("option", {value: op, selected: op === condition.op}, op)),
      ),
      valueInput(field, condition.value, (v) => { condition.value = v; changed(); }, condition.op === "BETWEEN" ? strings.from : strings.value),
      condition.op === "BETWEEN" ? valueInput(field, condition.value2, (v) => { condition.value2 = v; changed(); }, strings.to) : null,
      condition.op === "IN" ? el("small", {}, strings.listHint) : null,
      el("button", {type: "button", class: "query-remove", "aria-label": strings.removeCondition, title: strings.removeCondition, onclick: () => {
        state.conditions.splice(index, 1);
        renderConditions();
        writeText();
      }}, "×"),
    );
    return row;
  }

  $("query-add-condition").addEventListener("click", () => {
    if (!state.layer || !state.layer.fields.length) return;
    const field = state.layer.fields[0];
    state.conditions.push({field: field.name, op: OPERATORS[field.type][0], value: field.type === "boolean" ? "true" : "", value2: ""});
    renderConditions();
    writeText();
  });

  // --- spatial condition ---
  const spatialOp = $("query-spatial-op");
  const shapeSelect = $("query-shape");
  spatialOp.replaceChildren(
    el("option", {value: ""}, strings.spatialNone),
    ...Object.entries(strings.spatialOps).map(([op, label]) => el("option", {value: op}, label)),
  );
  shapeSelect.replaceChildren(...Object.entries(strings.shapes).map(([shape, label]) => el("option", {value: shape}, label)));
  $("query-draw").textContent = strings.drawPolygon;

  function shapeGeometry() {
    switch (shapeSelect.value) {
      case "drawn": return state.polygon.length >= 3 && !state.drawing
        ? {type: "Polygon", coordinates: [[...state.polygon, state.polygon[0]]]} : null;
      case "district":
      case "grid": return state.zone?.by === shapeSelect.value ? state.zone.geometry : null;
      case "feature": return state.feature?.geometry ?? null;
      default: return null;
    }
  }

  function showShape() {
    const op = spatialOp.value;
    shapeSelect.hidden = !op;
    $("query-distance-field").hidden = op !== "S_DWITHIN";
    for (const shape of Object.keys(strings.shapes)) $(`query-shape-${shape}`).hidden = !op || shapeSelect.value !== shape;
    const geometry = op ? shapeGeometry() : null;
    if (state.drawing) return;
    setShape(geometry ? [{type: "Feature", geometry, properties: {}}] : []);
  }

  function spatialText() {
    const op = spatialOp.value;
    if (!op) return null;
    const geometry = shapeGeometry();
    if (!geometry) return null;
    if (op === "S_DWITHIN") {
      const metres = Number($("query-distance").value);
      return Number.isFinite(metres) && metres >= 0 ? `S_DWITHIN(geometry, ${wkt(geometry)}, ${metres}, meters)` : null;
    }
    return `${op}(geometry, ${wkt(geometry)})`;
  }

  function missingShape() {
    if (!spatialOp.value || shapeGeometry()) return null;
    return {drawn: strings.noPolygon, district: strings.noZone, grid: strings.noZone, feature: strings.noFeature}[shapeSelect.value];
  }

  for (const input of [spatialOp, shapeSelect]) {
    input.addEventListener("change", async () => {
      if (spatialOp.value && shapeSelect.value === "district") await loadDistricts();
      showShape();
      writeText();
    });
  }
  $("query-distance").addEventListener("input", () => writeText());

  // Drawing: clicks add corners; a double click or the button closes the ring.
  function drawProgress() {
    const ring = state.polygon.length >= 3 ? [...state.polygon, state.polygon[0]] : state.polygon;
    setShape([
      ...state.polygon.map((c) => ({type: "Feature", geometry: {type: "Point", coordinates: c}, properties: {}})),
      ...(ring.length >= 2 ? [{type: "Feature", geometry: {type: "LineString", coordinates: ring}, properties: {}}] : []),
    ]);
  }

  function setDrawing(on) {
    state.drawing = on;
    $("query-draw").textContent = on ? strings.finishPolygon : strings.drawPolygon;
    $("query-draw").classList.toggle("primary", on);
    $("query-draw-hint").textContent = on ? strings.drawHint : "";
    if (on) map.doubleClickZoom.disable();
    else map.doubleClickZoom.enable();
    map.getCanvas().style.cursor = on ? "crosshair" : "";
  }

  $("query-draw").addEventListener("click", () => {
    if (!state.drawing) {
      state.polygon = [];
      setDrawing(true);
      drawProgress();
      return;
    }
    setDrawing(false);
    showShape();
    writeText();
  });

  // Districts (a short list) and unit grids (searched: a city has tens of thousands).
  async function loadDistricts() {
    if (state.districts) return;
    try {
      state.districts = (await api("/api/gis/zones/?by=district")).features;
    } catch (error) {
      showMessage(failure(error));
      return;
    }
    $("query-district").replaceChildren(
      el("option", {value: ""}, "—"),
      ...state.districts.map((d) => el("option", {value: d.properties.code}, `${d.properties.name} (${d.properties.code})`)),
    );
  }

  $("query-district").addEventListener("change", (event) => {
    const district = state.districts.find((d) => d.properties.code === event.target.value);
    state.zone = district ? {by: "district", ...district.properties, geometry: district.geometry} : null;
    showShape();
    writeText();
    if (district) map.fitBounds(extentOf([district]), {padding: panelPadding(), duration: 300});
  });

  let gridTimer = null;
  $("query-grid-search").addEventListener("input", (event) => {
    clearTimeout(gridTimer);
    gridTimer = setTimeout(async () => {
      const text = event.target.value.trim();
      if (!text) return $("query-grid-hits").replaceChildren();
      let hits;
      try {
        hits = await api(`/api/gis/zones/?by=grid&q=${encodeURIComponent(text)}`);
      } catch (error) {
        return showMessage(failure(error));
      }
      $("query-grid-hits").replaceChildren(
        ...hits.features.slice(0, GRID_HITS).map((grid) =>
          el("li", {}, el("button", {type: "button", class: "item-button", onclick: () => pickGrid(grid)}, grid.properties.code, el("small", {}, grid.properties.name))),
        ),
      );
    }, 250);
  });

  function pickGrid(grid) {
    state.zone = {by: "grid", ...grid.properties, geometry: grid.geometry};
    $("query-grid-picked").textContent = `${grid.properties.code} · ${grid.properties.name}`;
    $("query-grid-hits").replaceChildren();
    showShape();
    writeText();
    map.fitBounds(extentOf([grid]), {padding: panelPadding(), maxZoom: 18, duration: 300});
  }

  // --- the CQL2 text ---
  function writeText() {
    if (!state.layer) return;
    const parts = state.conditions
      .map((c) => conditionText(fieldOf(c.field), c.op, c.value, c.value2))
      .filter(Boolean);
    const spatial = spatialText();
    if (spatial) parts.push(spatial);
    $("query-cql2").value = parts.join(" AND ");
    $("query-error").hidden = true;
  }

  const currentText = () => $("query-cql2").value.trim();

  function queryParams(extra = {}) {
    const params = new URLSearchParams(extra);
    const text = currentText();
    if (text) {
      params.set("filter", text);
      params.set("filter-lang", "cql2-text");
    }
    return params;
  }

  function showError(error) {
    $("query-error").textContent = failure(error);
    $("query-error").hidden = false;
  }

  // --- running: the table (paged) and the map ---
  const itemsUrl = (params) => `/ogcapi/collections/${encodeURIComponent(state.layer.id)}/items?${params}`;

  async function run() {
    if (!state.layer) return showMessage(strings.chooseLayer);
    const missing = missingShape();
    if (missing) return showMessage(missing);
    $("query-error").hidden = true;
    state.offset = 0;
    try {
      const [, all] = await Promise.all([
        loadPage(),
        api(itemsUrl(queryParams({limit: MAP_LIMIT, properties: ""}))),
      ]);
      state.features = new Map(all.features.map((f) => [f.id, f]));
      $("query-map-limited").textContent =
        all.numberMatched > all.numberReturned ? format(strings.mapLimited, {shown: all.numberReturned}) : "";
      map.getSource("query-results").setData({type: "FeatureCollection", features: all.features.map((f) => ({...f, properties: {fid: f.id}}))});
      map.getSource("query-selected").setData(emptyCollection());
      if (all.features.length) {
        map.fitBounds(extentOf(all.features), {padding: panelPadding(), maxZoom: 17, duration: 0});
      }
    } catch (error) {
      showError(error);
      return;
    }
    for (const id of ["query-stats", "query-export"]) $(id).hidden = false;
    $("query-stats-table").replaceChildren();
    updateExportLink();
    await map.once("idle");
    state.runs += 1;
    document.body.dataset.queryRuns = String(state.runs);
  }

  async function loadPage() {
    const page = await api(itemsUrl(queryParams({limit: PAGE_SIZE, offset: state.offset})));
    state.matched = page.numberMatched;
    renderTable(page);
  }

  function renderTable(page) {
    const columns = state.layer.fields.slice(0, TABLE_COLUMNS);
    const root = $("query-results");
    root.hidden = false;
    $("query-matched").textContent = format(strings.matched, {count: page.numberMatched});
    const table = $("query-table");
    if (!page.features.length) {
      table.replaceChildren(el("caption", {}, strings.noResults));
    } else {
      table.replaceChildren(
        el("thead", {}, el("tr", {}, el("th", {}, "id"), ...columns.map((c) => el("th", {title: c.name}, c.title)), el("th", {}, ""))),
        el(
          "tbody",
          {},
          ...page.features.map((feature) =>
            el(
              "tr",
              {dataset: {fid: feature.id}},
              el("td", {}, String(feature.id)),
              ...columns.map((c) => el("td", {}, cell(feature.properties[c.name]))),
              el("td", {}, el("button", {type: "button", class: "query-select", onclick: () => selectFeature(feature, true)}, strings.useAsReference)),
            ),
          ),
        ),
      );
    }
    const pages = Math.max(1, Math.ceil(page.numberMatched / PAGE_SIZE));
    $("query-page").textContent = format(strings.page, {page: Math.floor(state.offset / PAGE_SIZE) + 1, pages});
    $("query-prev").disabled = state.offset === 0;
    $("query-next").disabled = state.offset + PAGE_SIZE >= page.numberMatched;
  }

  function cell(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "boolean") return value ? strings.yes : strings.no;
    if (typeof value === "number") return value.toLocaleString(document.documentElement.lang, {maximumFractionDigits: 2});
    return String(value);
  }

  for (const [id, step] of [["query-prev", -PAGE_SIZE], ["query-next", PAGE_SIZE]]) {
    $(id).addEventListener("click", async () => {
      state.offset = Math.max(0, state.offset + step);
      try {
        await loadPage();
      } catch (error) {
        showError(error);
      }
    });
  }

  /** A result feature becomes the selected one: highlighted, and the geometry "the selected feature" compares with. */
  function selectFeature(feature, fly) {
    state.feature = {id: feature.id, layer: state.layer.id, geometry: feature.geometry};
    map.getSource("query-selected").setData({type: "FeatureCollection", features: [{type: "Feature", geometry: feature.geometry, properties: {}}]});
    $("query-feature-picked").textContent = `${strings.selectedFeature}: ${state.layer.title} #${feature.id}`;
    for (const row of document.querySelectorAll("#query-table tbody tr")) row.classList.toggle("selected", row.dataset.fid === String(feature.id));
    if (fly && feature.geometry) map.fitBounds(extentOf([feature]), {padding: panelPadding(), maxZoom: 17, duration: 300});
    if (shapeSelect.value === "feature") writeText();
  }

  $("query-run").addEventListener("click", run);

  // --- statistics ---
  $("query-stats-by").replaceChildren(...Object.entries(strings.statsBy).map(([by, label]) => el("option", {value: by}, label)));
  $("query-stats-run").addEventListener("click", async () => {
    const params = queryParams({by: $("query-stats-by").value});
    if ($("query-stats-field").value) params.set("field", $("query-stats-field").value);
    let stats;
    try {
      stats = await api(`/api/gis/layers/${encodeURIComponent(state.layer.id)}/stats/?${params}`);
    } catch (error) {
      return showError(error);
    }
    const table = $("query-stats-table");
    $("query-stats-note").textContent = format(strings.statsNote, {matched: stats.matched});
    if (!stats.zones.length) return table.replaceChildren(el("caption", {}, strings.noStats));
    const extra = [...(stats.field ? ["sum", "avg"] : []), ...(stats.measure ? [stats.measure] : [])];
    table.replaceChildren(
      el("thead", {}, el("tr", {}, el("th", {}, strings.code), el("th", {}, strings.zone), el("th", {}, strings.count), ...extra.map((k) => el("th", {}, strings[k])))),
      el("tbody", {}, ...stats.zones.map((z) =>
        el("tr", {dataset: {code: z.code}}, el("td", {}, z.code), el("td", {}, z.name ?? ""), el("td", {class: "count"}, String(z.count)), ...extra.map((k) => el("td", {}, cell(z[k])))),
      )),
    );
    document.body.dataset.queryStats = String(Number(document.body.dataset.queryStats ?? 0) + 1);
  });

  // --- export ---
  $("query-export-format").replaceChildren(...config.exportFormats.map((f) => el("option", {value: f}, strings.formats[f] ?? f)));
  function updateExportLink() {
    const params = queryParams({f: $("query-export-format").value});
    $("query-export-link").href = `/api/gis/layers/${encodeURIComponent(state.layer.id)}/export/?${params}`;
  }
  $("query-export-format").addEventListener("change", updateExportLink);

  // --- saved queries ---
  async function loadSaved() {
    let queries;
    try {
      queries = await api("/api/gis/saved-queries/");
    } catch (error) {
      return showMessage(failure(error));
    }
    const titles = Object.fromEntries(config.layers.map((l) => [l.id, l.title]));
    $("query-saved-list").replaceChildren(
      ...(queries.length
        ? queries.map((q) =>
            el(
              "li",
              {dataset: {query: q.id}},
              el("span", {class: "what"}, q.name, el("small", {}, `${titles[q.layer] ?? q.layer}${q.mine ? "" : ` · ${format(strings.sharedBy, {owner: q.owner})}`}`)),
              el("button", {type: "button", class: "query-load", onclick: () => loadQuery(q)}, strings.load),
              q.mine ? el("button", {type: "button", class: "query-delete", onclick: () => deleteQuery(q)}, strings.delete) : null,
            ),
          )
        : [el("li", {class: "planner-empty"}, strings.noSaved)]),
    );
  }

  async function loadQuery(query) {
    if (!selectLayer(query.layer, {keepText: true})) return;
    spatialOp.value = "";
    showShape();
    $("query-cql2").value = query.cql2;
    $("query-save-name").value = query.name;
    await run();
  }

  async function deleteQuery(query) {
    try {
      await api(`/api/gis/saved-queries/${query.id}/`, {method: "DELETE"});
    } catch (error) {
      return showMessage(failure(error));
    }
    await loadSaved();
  }

  $("query-save").addEventListener("click", async () => {
    if (!state.layer) return showMessage(strings.chooseLayer);
    try {
      await api("/api/gis/saved-queries/", {
        json: {
          name: $("query-save-name").value,
          layer: state.layer.id,
          cql2: currentText(),
          shared: $("query-save-shared").checked,
        },
      });
    } catch (error) {
      return showError(error);
    }
    $("query-error").hidden = true;
    showMessage("");
    await loadSaved();
  });

  // --- map clicks while the query tab is open ---
  map.on("click", (event) => {
    if (!isActive()) return;
    if (state.drawing) {
      state.polygon.push([event.lngLat.lng, event.lngLat.lat]);
      drawProgress();
      return;
    }
    const box = [[event.point.x - 5, event.point.y - 5], [event.point.x + 5, event.point.y + 5]];
    const hit = map.queryRenderedFeatures(box, {layers: RESULT_LAYERS})[0];
    const feature = hit && state.features.get(hit.properties.fid);
    if (feature) selectFeature(feature, false);
  });
  map.on("dblclick", (event) => {
    if (!isActive() || !state.drawing) return;
    event.preventDefault();
    // The two clicks of the double click added the same corner twice: keep one.
    state.polygon.pop();
    if (state.polygon.length >= 3) $("query-draw").click();
  });

  renderCatalog();
  loadSaved();
  return {
    leave() {
      if (state.drawing) setDrawing(false);
    },
  };
}
