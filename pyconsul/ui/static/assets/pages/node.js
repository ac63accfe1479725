// /ui/<dc>/nodes/<node>: a node's checks, services, meta, round-trip times
// (where the agent has network coordinates) and sessions.

import {agent} from "../agent.js";
import {api, describeError} from "../api.js";
import {byName, cell, confirmDialog, details, h, metaList, replaceContent, table, tagList} from "../dom.js";
import {distance, formatSeconds, spread} from "../coordinates.js";
import {checkList, counts, summary} from "../health.js";
import {watch} from "../live.js";
import {href} from "../paths.js";
import {pageTitle} from "../router.js";
import {ready} from "./common.js";

/** A session's checks: Consul 1.7+ splits them, older agents say Checks. */
function sessionChecks(s) {
  if (s.NodeChecks || s.ServiceChecks) {
    return [...(s.NodeChecks || []), ...(s.ServiceChecks || []).map((c) => c.ID)];
  }
  return s.Checks || [];
}

function section(title, id, body) {
  return h("section", {class: "panel", "aria-labelledby": id}, h("h2", {id}, title), body);
}

export function render(ctx) {
  const {dc, main, signal, route} = ctx;
  const name = route.id;
  const state = {node: undefined, checks: null, sessions: null, coordinates: null, agentNode: null};
  const summaryBox = h("div", {class: "intro"});
  const checksBox = h("div", null, h("p", {class: "loading"}, "Loading…"));
  const servicesBox = h("div", null, h("p", {class: "loading"}, "Loading…"));
  const metaBox = h("div");
  const rttBox = h("div");
  const sessionsBox = h("div", null, h("p", {class: "loading"}, "Loading…"));
  const notice = h("p", {class: "notice", role: "status"});
  const rttSection = section("Round-trip time", "node-rtt", rttBox);
  rttSection.hidden = true;
  main.append(
    h("nav", {class: "breadcrumbs", "aria-label": "Breadcrumb"},
      h("ol", null, h("li", null, h("a", {href: href.nodes(dc)}, "Nodes")),
        h("li", null, h("a", {href: href.node(dc, name), "aria-current": "page"}, name)))),
    pageTitle(name), summaryBox, notice,
    section("Health checks", "node-checks", checksBox),
    section("Services", "node-services", servicesBox),
    section("Meta", "node-meta", metaBox),
    rttSection,
    section("Sessions", "node-sessions", sessionsBox));

  function drawNode() {
    const data = state.node;
    if (data === undefined) return;
    if (data === null) {
      summaryBox.replaceChildren(h("p", {class: "empty"}, `There is no node ${name} in ${dc}.`));
      servicesBox.replaceChildren();
      ready(ctx, "node");
      return;
    }
    const node = data.Node;
    const tagged = Object.entries(node.TaggedAddresses || {}).sort(([a], [b]) => byName(a, b));
    summaryBox.replaceChildren(details([
      ["Address", h("code", null, node.Address)],
      ["Health", state.checks ? summary(counts(state.checks)) : "…"],
      ["Node ID", node.ID ? h("code", null, node.ID) : null],
      ["Tagged addresses", tagged.length ? h("dl", {class: "meta"},
        tagged.map(([k, v]) => [h("dt", null, k), h("dd", null, h("code", null, v))])) : null],
    ]));
    metaBox.replaceChildren(metaList(node.Meta));
    const services = Object.values(data.Services || {}).sort((a, b) => byName(a.Service, b.Service) || byName(a.ID, b.ID));
    replaceContent(servicesBox, services.length === 0 ? h("p", {class: "muted"}, "No services on this node.") : table({
      caption: "Services on " + name,
      columns: ["Service", "ID", "Address", "Tags"],
      rows: services.map((s) => h("tr", {data: {service: s.Service}},
        cell("Service", h("a", {href: href.service(dc, s.Service), data: {focus: "svc:" + s.ID}}, s.Service)),
        cell("ID", h("code", null, s.ID)),
        cell("Address", h("code", null, (s.Address || node.Address) + (s.Port ? ":" + s.Port : ""))),
        cell("Tags", tagList(s.Tags)))),
    }));
    drawRTT();
    if (state.checks !== null) ready(ctx, "node");
  }

  function drawChecks() {
    if (state.checks === null) return;
    replaceContent(checksBox, checkList(state.checks));
    drawNode();
  }

  function drawRTT() {
    const coords = state.coordinates;
    if (!coords || !coords.some((c) => c.Node === name)) {
      rttSection.hidden = true;  // no coordinates: nothing to say
      return;
    }
    const rows = [];
    const mine = coords.find((c) => c.Node === name);
    const local = state.agentNode && state.agentNode !== name && coords.find((c) => c.Node === state.agentNode);
    if (local) {
      const d = distance(local.Coord, mine.Coord);
      if (d !== null) rows.push([`From ${state.agentNode} (this agent)`, formatSeconds(d)]);
    }
    const s = spread(coords, name);
    if (s) {
      rows.push([`To the other ${s.count === 1 ? "node" : s.count + " nodes"}`,
        `minimum ${formatSeconds(s.min)}, median ${formatSeconds(s.median)}, maximum ${formatSeconds(s.max)}`]);
    }
    rttSection.hidden = rows.length === 0;
    rttBox.replaceChildren(details(rows), h("p", {class: "muted"}, "Estimated from network coordinates."));
  }

  async function invalidate(session) {
    const ok = await confirmDialog({
      title: "Invalidate session?",
      message: `Session ${session.ID}${session.Name ? " (" + session.Name + ")" : ""} will end, and the locks it holds will be ${session.Behavior === "delete" ? "deleted" : "released"}.`,
      confirmLabel: "Invalidate",
    });
    if (!ok) return;
    try {
      await api.sessionDestroy(session.ID, {dc});
      notice.textContent = `Session ${session.ID} was invalidated.`;
    } catch (error) {
      notice.textContent = `Could not invalidate session ${session.ID}: ${describeError(error)}`;
    }
  }

  function drawSessions() {
    const sessions = state.sessions;
    if (sessions === null) return;
    replaceContent(sessionsBox, sessions.length === 0 ? h("p", {class: "muted"}, "No sessions on this node.") : table({
      caption: "Sessions on " + name,
      columns: ["Session", "Name", "Behavior", "TTL", "Lock delay", "Checks", ""],
      rows: [...sessions].sort((a, b) => byName(a.ID, b.ID)).map((s) => h("tr", {data: {session: s.ID}},
        cell("Session", h("code", null, s.ID)),
        cell("Name", s.Name || h("span", {class: "muted"}, "none")),
        cell("Behavior", s.Behavior),
        cell("TTL", s.TTL || h("span", {class: "muted"}, "none")),
        cell("Lock delay", `${(s.LockDelay || 0) / 1e9} s`),
        cell("Checks", sessionChecks(s).join(", ") || h("span", {class: "muted"}, "none")),
        cell("Actions", h("button", {type: "button", class: "button danger small", data: {focus: "invalidate:" + s.ID},
          "aria-label": `Invalidate session ${s.ID}`, on: {click: () => invalidate(s)}}, "Invalidate")))),
    }));
  }

  watch("/v1/catalog/node/" + encodeURIComponent(name), {dc, signal, accept: [404], onData(data) {
    state.node = data && data.Node ? data : null;
    drawNode();
  }});
  watch("/v1/health/node/" + encodeURIComponent(name), {dc, signal, onData(data) {
    state.checks = data || [];
    drawChecks();
  }});
  watch("/v1/session/node/" + encodeURIComponent(name), {dc, signal, onData(data) {
    state.sessions = data || [];
    drawSessions();
  }});
  // Coordinates may not be there at all (an agent without them answers 404):
  // then the page simply shows no round-trip times.
  api.coordinates({dc, signal}).then((result) => {
    state.coordinates = Array.isArray(result.data) ? result.data : null;
    return agent();
  }).then((info) => {
    state.agentNode = info && info.dc === dc ? info.node : null;
    drawRTT();
  }).catch(() => {});
}
