// Who answers: the agent's own datacenter and node name, asked once and
// retried (with the page saying so) until the agent answers.

import {api} from "./api.js";
import {backoff, sleep} from "./live.js";
import {reportFailure, reportOk} from "./connection.js";

let info = null;
let pending = null;

async function load() {
  const watcher = {};
  for (let failures = 1; ; failures += 1) {
    try {
      const self = (await api.agentSelf()).data;
      reportOk(watcher);
      return {dc: self.Config.Datacenter, node: self.Config.NodeName};
    } catch {
      // Without agent:read (ACLs) the first datacenter will do.
      try {
        const dcs = (await api.datacenters()).data;
        if (dcs && dcs.length) {
          reportOk(watcher);
          return {dc: dcs[0], node: null};
        }
      } catch { /* unreachable: below */ }
    }
    const delay = backoff(failures);
    reportFailure(watcher, `Cannot reach the agent. Trying again in ${Math.round(delay / 1000)} s.`);
    await sleep(delay);
  }
}

/** {dc, node} of the agent serving the UI. */
export function agent() {
  if (!pending) pending = load().then((found) => (info = found));
  return pending;
}

/** What is known already (null before the first answer). */
export function knownAgent() {
  return info;
}
