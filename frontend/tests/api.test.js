// lib/api.js against a real HTTP server on the loopback: JSON answers, the server's message in ApiError, 204.
import assert from "node:assert/strict";
import {createServer} from "node:http";
import {after, before, test} from "node:test";

import {ApiError, api, describeError, fieldErrors, itemsOf} from "../static/frontend/lib/api.js";

let server;
let base;

before(async () => {
  server = createServer((request, response) => {
    const send = (status, body) => {
      response.writeHead(status, body === undefined ? {} : {"Content-Type": "application/json"});
      response.end(body === undefined ? "" : JSON.stringify(body));
    };
    if (request.url === "/ok") send(200, {accept: request.headers.accept, method: request.method});
    else if (request.url === "/refused") send(400, {error: "invalid_input", field: "priority", detail: "must be 1-5"});
    else if (request.url === "/empty") send(204);
    else {
      response.writeHead(500, {"Content-Type": "text/html"});
      response.end("<h1>Server Error</h1>");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

test("a GET answers the parsed JSON and asks for JSON", async () => {
  assert.deepEqual(await api(`${base}/ok`), {accept: "application/json", method: "GET"});
});

test("a refusal throws ApiError with the server's message, field and body", async () => {
  const error = await api(`${base}/refused`).catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 400);
  assert.equal(error.message, "priority: must be 1-5");
  assert.equal(error.field, "priority");
  assert.deepEqual(fieldErrors(error.data), {priority: "must be 1-5"});
});

test("an empty answer is null, and an HTML error page still gives an ApiError", async () => {
  assert.equal(await api(`${base}/empty`), null);
  const error = await api(`${base}/broken`).catch((e) => e);
  assert.equal(error.message, "HTTP 500");
  assert.equal(error.data, null);
});

test("describeError reads CityOps' and DRF's bodies, never an object as text", () => {
  assert.equal(describeError(403, {detail: "no"}), "no");
  assert.equal(describeError(400, {detail: {name: ["required"]}}), "HTTP 400");
  assert.equal(describeError(502, null), "HTTP 502");
});

test("fieldErrors flattens DRF's serializer errors", () => {
  assert.deepEqual(fieldErrors({detail: {name: ["required", "too short"], error: "x"}}), {name: "required too short"});
  assert.deepEqual(fieldErrors({address: ["blank"]}), {address: "blank"});
});

test("itemsOf reads arrays, DRF pages and GeoJSON collections", () => {
  assert.deepEqual(itemsOf([1]), [1]);
  assert.deepEqual(itemsOf({results: [2]}), [2]);
  assert.deepEqual(itemsOf({type: "FeatureCollection", features: [3]}), [3]);
  assert.deepEqual(itemsOf(null), []);
});
