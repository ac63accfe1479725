// The one way the UI talks to the agent: Consul's public HTTP API (/v1/),
// so the pages work against any Consul-compatible agent. Every request goes
// through request(), which adds the headers (the ACL token) in one place.

const TOKEN_KEY = "pyconsul-ui:token";

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";  // storage disabled
  }
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** A failed request: status 0 when the agent could not be reached at all. */
export class APIError extends Error {
  constructor(status, message, response) {
    super(message);
    this.name = "APIError";
    this.status = status;
    this.response = response;
  }
}

/** The headers every request carries. The single hook for ACL tokens. */
export function requestHeaders() {
  const headers = {};
  const token = getToken();
  if (token) headers["X-Consul-Token"] = token;
  return headers;
}

/** A path of encoded segments: "/v1/kv/" + encodePath("a b/c") keeps the slashes. */
export function encodePath(text) {
  return text.split("/").map(encodeURIComponent).join("/");
}

function queryString(query) {
  const parts = [];
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === false) continue;
    // true is a presence flag (?keys, ?recurse), as Consul reads them.
    parts.push(value === true ? encodeURIComponent(name) : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  }
  return parts.length ? "?" + parts.join("&") : "";
}

/**
 * request("/v1/health/service/web", {dc: "dc1", query: {index: 12, wait: "60s"}})
 * resolves to {status, index, data, headers}; data is parsed JSON for a
 * JSON answer, else text. Rejects with APIError for anything but 2xx, except
 * statuses listed in `accept` (such as 404 for an empty KV folder).
 */
export async function request(path, {method = "GET", dc, query, body, signal, accept = []} = {}) {
  const url = path + queryString({...query, dc});
  let response;
  try {
    response = await fetch(url, {method, body, signal, headers: requestHeaders(), cache: "no-store"});
  } catch (error) {
    if (signal && signal.aborted) throw error;
    throw new APIError(0, "the agent cannot be reached", null);
  }
  const type = response.headers.get("Content-Type") || "";
  let data;
  try {
    data = type.startsWith("application/json") ? await response.json() : await response.text();
  } catch (error) {
    if (signal && signal.aborted) throw error;
    throw new APIError(0, "the answer was cut off", response);
  }
  const index = response.headers.has("X-Consul-Index") ? Number(response.headers.get("X-Consul-Index")) : null;
  const result = {status: response.status, index, data, headers: response.headers};
  if (!response.ok && !accept.includes(response.status)) {
    const message = typeof data === "string" && data ? data.trim() : `${response.status} ${response.statusText}`;
    throw new APIError(response.status, message, result);
  }
  return result;
}

// -- the endpoints the pages use ---------------------------------------------

export const api = {
  agentSelf: (opts) => request("/v1/agent/self", opts),
  datacenters: (opts) => request("/v1/catalog/datacenters", opts),
  catalogService: (name, opts) => request("/v1/catalog/service/" + encodeURIComponent(name), opts),
  kvGet: (key, opts) => request("/v1/kv/" + encodePath(key), {...opts, accept: [404]}),
  kvPut: (key, value, {cas, flags, ...opts} = {}) =>
    request("/v1/kv/" + encodePath(key), {...opts, method: "PUT", body: value, query: {cas, flags}}),
  kvDelete: (key, {recurse, ...opts} = {}) =>
    request("/v1/kv/" + encodePath(key), {...opts, method: "DELETE", query: {recurse: recurse || undefined}}),
  sessionDestroy: (id, opts) =>
    request("/v1/session/destroy/" + encodeURIComponent(id), {...opts, method: "PUT"}),
  coordinates: (opts) => request("/v1/coordinate/nodes", opts),
};

/** What a person should read for a failed request. */
export function describeError(error) {
  if (!(error instanceof APIError)) return String(error && error.message ? error.message : error);
  if (error.status === 0) return "Cannot reach the agent.";
  if (error.status === 403) return "Permission denied (403). Set an ACL token in Settings.";
  return `The agent answered ${error.status}: ${error.message}`;
}
