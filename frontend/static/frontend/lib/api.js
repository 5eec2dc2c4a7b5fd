/**
 * The one way the consoles talk to the CityOps API: JSON in and out, the session's CSRF token on every write,
 * and one error shape. A refusal (4xx/5xx) throws ApiError carrying the server's own message (`detail`, or the
 * `field: detail` of an input error) and the parsed body; a network failure stays the browser's TypeError.
 */
import {showText} from "./dom.js";

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : (document.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "");
}

/** The server's message in an error body: CityOps' {error, field, detail}, DRF's {detail} or {message}. */
export function describeError(status, data) {
  if (data && typeof data === "object") {
    const text = [data.detail, data.message, data.error].find((value) => typeof value === "string" && value);
    if (text) return data.field ? `${data.field}: ${text}` : text;
  }
  return `HTTP ${status}`;
}

export class ApiError extends Error {
  constructor(status, data) {
    super(describeError(status, data));
    this.name = "ApiError";
    this.status = status;
    this.data = data;
    this.field = data?.field ?? null;
  }
}

/**
 * The API's 400 bodies as {field: message}: `{"error": "invalid_input", "field", "detail"}` from InputError,
 * or DRF's `{"detail": {field: [messages]}}` / `{field: [messages]}` from serializer validation.
 */
export function fieldErrors(data) {
  if (!data || typeof data !== "object") return {};
  if (typeof data.field === "string") return {[data.field]: String(data.detail)};
  const source = data.detail && typeof data.detail === "object" ? data.detail : data;
  const errors = {};
  for (const [field, value] of Object.entries(source)) {
    if (field === "error") continue;
    errors[field] = Array.isArray(value) ? value.map(String).join(" ") : typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return errors;
}

/** The JSON of a response, or null when it has none (204, an HTML error page). */
export async function parseBody(response) {
  if (!(response.headers.get("Content-Type") ?? "").includes("json")) return null;
  return response.json().catch(() => null);
}

/**
 * GET unless `json` or `form` (FormData, sent as multipart) is given, then POST; `method` overrides. Answers
 * the parsed JSON (null for an empty answer) and throws ApiError for a refusal.
 */
export async function api(url, {method, json, form, headers = {}} = {}) {
  const init = {
    method: method ?? (json !== undefined || form ? "POST" : "GET"),
    headers: {Accept: "application/json", ...headers},
    credentials: "same-origin",
  };
  if (init.method !== "GET") init.headers["X-CSRFToken"] = csrfToken();
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  const response = await fetch(url, init);
  const data = await parseBody(response);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The server's refusal in `box` (its own words); anything else is not ours to explain, so it is thrown on. */
export function showApiError(box, error) {
  if (!(error instanceof ApiError)) throw error;
  showText(box, error.message);
}

/** Lists come as arrays, as DRF pages ({results}) or as GeoJSON collections ({features}). */
export function itemsOf(data) {
  if (Array.isArray(data)) return data;
  return data?.results ?? data?.features ?? [];
}
