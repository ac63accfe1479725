// The whole catalog of a datacenter, live, from public endpoints only: the
// services (/v1/catalog/services), every check (/v1/health/state/any) and
// the nodes (/v1/catalog/nodes) as blocking queries; the instances of each
// service (/v1/catalog/service/<name>) fetched again whenever the services
// change. onChange(model) is called with what is known so far.

import {api} from "./api.js";
import {mapLimit, watch} from "./live.js";

export function liveCatalog({dc, signal, nodes = false, onChange}) {
  const model = {services: null, instances: new Map(), checks: null, nodes: null, instancesReady: false};
  let generation = 0;

  async function fetchInstances(names) {
    const mine = ++generation;
    const found = new Map();
    await mapLimit(names, 3, async (name) => {
      if (signal.aborted || mine !== generation) return;
      try {
        const result = await api.catalogService(name, {dc, signal});
        found.set(name, result.data || []);
      } catch {
        // Keep what was known; the next change of the services tries again.
        found.set(name, model.instances.get(name) || []);
      }
    });
    if (signal.aborted || mine !== generation) return;
    model.instances = found;
    model.instancesReady = true;
    onChange(model);
  }

  watch("/v1/catalog/services", {dc, signal, onData(data) {
    model.services = data || {};
    onChange(model);
    fetchInstances(Object.keys(model.services));
  }});
  watch("/v1/health/state/any", {dc, signal, onData(data) {
    model.checks = data || [];
    onChange(model);
  }});
  if (nodes) {
    watch("/v1/catalog/nodes", {dc, signal, onData(data) {
      model.nodes = data || [];
      onChange(model);
    }});
  }
}

/** Checks by node: {node: {node: [...node checks], services: {serviceID: [...]}}}. */
export function checksByNode(checks) {
  const result = new Map();
  for (const check of checks || []) {
    let entry = result.get(check.Node);
    if (!entry) result.set(check.Node, entry = {node: [], services: new Map(), all: []});
    entry.all.push(check);
    if (!check.ServiceID) entry.node.push(check);
    else {
      const list = entry.services.get(check.ServiceID);
      if (list) list.push(check);
      else entry.services.set(check.ServiceID, [check]);
    }
  }
  return result;
}

/** The checks that decide an instance's health: its own and its node's. */
export function instanceChecks(byNode, node, serviceID) {
  const entry = byNode.get(node);
  if (!entry) return [];
  return entry.node.concat(entry.services.get(serviceID) || []);
}
