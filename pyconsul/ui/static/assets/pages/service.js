// /ui/<dc>/services/<name>: the instances of one service, each with its
// node, address, tags, meta and the status, notes and output of its checks.

import {byName, details, h, metaList, replaceContent, tagList} from "../dom.js";
import {badge, checkList, counts, summary, worst} from "../health.js";
import {watch} from "../live.js";
import {href} from "../paths.js";
import {pageTitle} from "../router.js";
import {filterBar, loading, matches, plural, ready} from "./common.js";

function address(entry) {
  const host = entry.Service.Address || entry.Node.Address;
  return entry.Service.Port ? `${host}:${entry.Service.Port}` : host;
}

function instance(dc, entry) {
  const status = worst(entry.Checks);
  const id = entry.Service.ID;
  return h("li", {class: `instance status-${status}`, data: {instance: id, node: entry.Node.Node, status}},
    h("div", {class: "instance-head"},
      h("h2", {class: "instance-title"}, id),
      badge(status)),
    details([
      ["Node", h("a", {href: href.node(dc, entry.Node.Node), data: {focus: "node:" + entry.Node.Node + ":" + id}},
        entry.Node.Node)],
      ["Address", h("code", null, address(entry))],
      ["Tags", tagList(entry.Service.Tags)],
      ["Meta", metaList(entry.Service.Meta)],
    ]),
    h("h3", {class: "checks-title"}, "Checks ", summary(counts(entry.Checks))),
    checkList(entry.Checks));
}

export function render(ctx) {
  const {dc, main, signal, route} = ctx;
  const name = route.id;
  const intro = h("div", {class: "intro"});
  const count = h("p", {class: "count", role: "status"});
  const results = h("div", {class: "results"}, loading(ctx));
  let entries = null;
  const bar = filterBar(ctx, {searchLabel: "Search instances", tags: false, onChange: draw});
  main.append(
    h("nav", {class: "breadcrumbs", "aria-label": "Breadcrumb"},
      h("ol", null, h("li", null, h("a", {href: href.services(dc)}, "Services")),
        h("li", null, h("a", {href: href.service(dc, name), "aria-current": "page"}, name)))),
    pageTitle(name), intro, bar.form, count, results);

  function draw() {
    if (entries === null) return;
    if (entries.length === 0) {
      intro.replaceChildren();
      count.textContent = "";
      replaceContent(results, h("p", {class: "empty"}, `The service ${name} has no instances in ${dc}.`));
      ready(ctx, "service");
      return;
    }
    const all = [...entries].sort((a, b) => byName(a.Node.Node, b.Node.Node) || byName(a.Service.ID, b.Service.ID));
    const tags = [...new Set(all.flatMap((e) => e.Service.Tags || []))].sort();
    intro.replaceChildren(h("p", null, "Health of all instances: ", summary(counts(all.flatMap((e) => e.Checks)))),
      tags.length ? h("p", null, "Tags: ", tagList(tags)) : null);
    const {filter, status} = bar.values;
    const shown = all.filter((e) =>
      matches(filter, e.Service.ID, e.Node.Node, address(e), ...(e.Service.Tags || [])) &&
      (!status || worst(e.Checks) === status));
    count.textContent = shown.length === all.length
      ? plural(all.length, "instance")
      : `${shown.length} of ${plural(all.length, "instance")}`;
    replaceContent(results, shown.length === 0
      ? h("p", {class: "empty"}, "No instances match.")
      : h("ul", {class: "instances", "aria-label": "Instances"}, shown.map((e) => instance(dc, e))));
    ready(ctx, "service");
  }

  watch("/v1/health/service/" + encodeURIComponent(name), {dc, signal, onData(data) {
    entries = data || [];
    draw();
  }});
}
