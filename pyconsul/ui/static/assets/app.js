// The app: finds the agent's datacenter, draws the navigation and the
// datacenter switcher, and hands each address to its page.

import {agent, knownAgent} from "./agent.js";
import {api} from "./api.js";
import {h} from "./dom.js";
import {href} from "./paths.js";
import {Router} from "./router.js";

async function resolve(route) {
  const found = agent();
  if (route.name === "root" || route.name === "dc") {
    const dc = route.dc || (await found).dc;
    return href.services(dc) + location.search;
  }
  return null;
}

const SECTIONS = [
  ["services", "Services", (dc) => href.services(dc), ["services", "service"]],
  ["nodes", "Nodes", (dc) => href.nodes(dc), ["nodes", "node"]],
  ["kv", "Key/Value", (dc) => href.kvFolder(dc, ""), ["kv", "kv-edit", "kv-create"]],
];

function sectionOf(route) {
  for (const [id, , , names] of SECTIONS) if (names.includes(route.name)) return id;
  return route.name === "settings" ? "settings" : null;
}

function drawNav(route) {
  const dc = route.dc || (knownAgent() && knownAgent().dc);
  const current = sectionOf(route);
  const items = [];
  for (const [id, label, link] of SECTIONS) {
    if (!dc) continue;
    items.push(h("li", null, h("a", {href: link(dc), "aria-current": id === current ? "page" : null}, label)));
  }
  items.push(h("li", null, h("a", {href: href.settings(), "aria-current": current === "settings" ? "page" : null}, "Settings")));
  document.getElementById("nav").replaceChildren(...items);
}

let datacenters = null;

async function drawDatacenters(route) {
  const box = document.getElementById("dc-switcher");
  if (datacenters === null) {
    try {
      datacenters = (await api.datacenters()).data || [];
    } catch {
      datacenters = null;  // try again on the next page
      return;
    }
  }
  const dc = route.dc || (knownAgent() && knownAgent().dc);
  if (!dc || datacenters.length < 2) {
    box.replaceChildren();
    return;
  }
  const section = sectionOf(route);
  const target = (other) => section === "nodes" ? href.nodes(other)
    : section === "kv" ? href.kvFolder(other, "") : href.services(other);
  box.replaceChildren(h("details", {class: "dc-menu"},
    h("summary", null, "Datacenter: ", h("strong", null, dc)),
    h("ul", {"aria-label": "Datacenters"}, datacenters.map((name) => h("li", null,
      h("a", {href: target(name), "aria-current": name === dc ? "true" : null}, name))))));
}

const router = new Router({
  main: document.getElementById("main"),
  resolve,
  onNavigate(route) {
    drawNav(route);
    if (!route.dc) agent().then(() => drawNav(route));
    drawDatacenters(route);
  },
});
router.show();
