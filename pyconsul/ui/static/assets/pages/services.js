// /ui/<dc>/services: every service with its instances, tags and health.

import {cell, h, replaceContent, table, tagList} from "../dom.js";
import {checksByNode, instanceChecks, liveCatalog} from "../catalog.js";
import {counts, summary, worstOfCounts} from "../health.js";
import {href} from "../paths.js";
import {pageTitle} from "../router.js";
import {filterBar, loading, matches, plural, ready} from "./common.js";

/** Rows of the list: {name, tags, instances (or null), counts}. */
export function serviceRows(model) {
  const byNode = checksByNode(model.checks);
  const rows = [];
  for (const name of Object.keys(model.services).sort()) {
    const instances = model.instancesReady ? model.instances.get(name) || [] : null;
    const c = {passing: 0, warning: 0, critical: 0};
    if (instances) {
      for (const instance of instances) {
        const checks = counts(instanceChecks(byNode, instance.Node, instance.ServiceID));
        c.passing += checks.passing;
        c.warning += checks.warning;
        c.critical += checks.critical;
      }
    } else {
      // Until the instances are known: the service's own checks.
      for (const check of model.checks) if (check.ServiceName === name && check.Status in c) c[check.Status] += 1;
    }
    rows.push({name, tags: model.services[name] || [], instances, counts: c});
  }
  return rows;
}

export function render(ctx) {
  const {dc, main, signal} = ctx;
  const results = h("div", {class: "results"}, loading(ctx));
  const count = h("p", {class: "count", role: "status"});
  let model = null;
  const bar = filterBar(ctx, {searchLabel: "Search services", tags: true, onChange: draw});
  main.append(pageTitle("Services"), bar.form, count, results);

  function draw() {
    if (!model || model.services === null || model.checks === null) return;
    const {filter, status, tag} = bar.values;
    const all = serviceRows(model);
    bar.setTags(all.flatMap((row) => row.tags));
    const shown = all.filter((row) =>
      matches(filter, row.name, ...row.tags) &&
      (!status || worstOfCounts(row.counts) === status) &&
      (!tag || row.tags.includes(tag)));
    count.textContent = shown.length === all.length
      ? plural(all.length, "service")
      : `${shown.length} of ${plural(all.length, "service")}`;
    replaceContent(results, shown.length === 0
      ? h("p", {class: "empty"}, all.length ? "No services match." : "No services are registered.")
      : table({
        caption: "Services",
        className: "services",
        columns: ["Service", "Health", "Instances", "Tags"],
        rows: shown.map((row) => h("tr", {data: {service: row.name, status: worstOfCounts(row.counts)}},
          cell("Service", h("a", {href: href.service(dc, row.name), data: {focus: "service:" + row.name}}, row.name)),
          cell("Health", summary(row.counts)),
          cell("Instances", row.instances === null ? "…" : plural(row.instances.length, "instance")),
          cell("Tags", tagList(row.tags)))),
      }));
    if (model.instancesReady) ready(ctx, "services");
  }

  liveCatalog({dc, signal, onChange(m) { model = m; draw(); }});
}
