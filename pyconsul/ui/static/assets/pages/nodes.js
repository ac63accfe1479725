// /ui/<dc>/nodes: every node with its address, health and services.

import {byName, cell, h, replaceContent, table} from "../dom.js";
import {checksByNode, liveCatalog} from "../catalog.js";
import {counts, summary, worstOfCounts} from "../health.js";
import {href} from "../paths.js";
import {pageTitle} from "../router.js";
import {filterBar, loading, matches, plural, ready} from "./common.js";

/** The services on each node, from the instances of every service. */
function servicesByNode(model) {
  const result = new Map();
  for (const [name, instances] of model.instances) {
    for (const instance of instances) {
      let names = result.get(instance.Node);
      if (!names) result.set(instance.Node, names = new Set());
      names.add(name);
    }
  }
  return result;
}

export function render(ctx) {
  const {dc, main, signal} = ctx;
  const count = h("p", {class: "count", role: "status"});
  const results = h("div", {class: "results"}, loading(ctx));
  let model = null;
  const bar = filterBar(ctx, {searchLabel: "Search nodes", tags: false, onChange: draw});
  main.append(pageTitle("Nodes"), bar.form, count, results);

  function draw() {
    if (!model || model.nodes === null || model.checks === null) return;
    const byNode = checksByNode(model.checks);
    const services = servicesByNode(model);
    const {filter, status} = bar.values;
    const all = [...model.nodes].sort((a, b) => byName(a.Node, b.Node)).map((node) => {
      const entry = byNode.get(node.Node);
      return {node, counts: counts(entry ? entry.all : []), services: [...(services.get(node.Node) || [])].sort()};
    });
    const shown = all.filter((row) =>
      matches(filter, row.node.Node, row.node.Address, ...row.services) &&
      (!status || worstOfCounts(row.counts) === status));
    count.textContent = shown.length === all.length
      ? plural(all.length, "node")
      : `${shown.length} of ${plural(all.length, "node")}`;
    replaceContent(results, shown.length === 0
      ? h("p", {class: "empty"}, all.length ? "No nodes match." : "No nodes are registered.")
      : table({
        caption: "Nodes",
        className: "nodes",
        columns: ["Node", "Address", "Health", "Services"],
        rows: shown.map((row) => h("tr", {data: {node: row.node.Node, status: worstOfCounts(row.counts)}},
          cell("Node", h("a", {href: href.node(dc, row.node.Node), data: {focus: "node:" + row.node.Node}},
            row.node.Node)),
          cell("Address", h("code", null, row.node.Address)),
          cell("Health", summary(row.counts)),
          cell("Services", !model.instancesReady ? "…" : row.services.length === 0
            ? h("span", {class: "muted"}, "none")
            : h("ul", {class: "inline-list"}, row.services.map((s) =>
              h("li", null, h("a", {href: href.service(dc, s)}, s))))))),
      }));
    if (model.instancesReady) ready(ctx, "nodes");
  }

  liveCatalog({dc, signal, nodes: true, onChange(m) { model = m; draw(); }});
}
