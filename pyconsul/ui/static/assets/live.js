// Live data: Consul's blocking queries (?index=&wait=). Each watch asks again
// as soon as an answer comes, so a change shows within a moment; when the
// agent cannot be reached it backs off (1 s, 2 s, 4 s ... 30 s) and says so.

import {APIError, describeError, request} from "./api.js";
import {forget, reportFailure, reportOk} from "./connection.js";

const WAIT = "60s";
const MAX_BACKOFF_MS = 30000;

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, {once: true});
  });
}

export function backoff(failures) {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, failures - 1));
}

/**
 * Call onData(data, result) with the first answer of `path` and then after
 * every change, until `signal` aborts. `accept` lists statuses that are an
 * answer rather than an error (404 for an empty KV folder: data is then
 * `emptyValue`). Answers with no X-Consul-Index are polled every `pollMs`.
 */
export function watch(path, {dc, query, signal, onData, accept = [], emptyValue = null, pollMs = 10000}) {
  const watcher = {};
  (async () => {
    let index = 0;
    let failures = 0;
    while (!signal.aborted) {
      let result;
      try {
        result = await request(path, {dc, signal, accept, query: {...query, index: index || undefined, wait: index ? WAIT : undefined}});
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        const delay = backoff(failures);
        const what = error instanceof APIError && error.status === 0
          ? "Cannot reach the agent; the page is not up to date."
          : describeError(error);
        reportFailure(watcher, `${what} Trying again in ${Math.round(delay / 1000)} s.`);
        index = 0;  // start over: the next answer comes at once
        await sleep(delay, signal);
        continue;
      }
      failures = 0;
      reportOk(watcher);
      const data = result.status >= 200 && result.status < 300 ? result.data : emptyValue;
      if (result.index === null) {
        onData(data, result);
        await sleep(pollMs, signal);
        continue;
      }
      // An index that goes back (a restored snapshot, another server) means
      // start again from the answer; an unchanged one is a timed-out wait.
      if (result.index !== index) onData(data, result);
      index = result.index > 0 ? result.index : 1;
    }
    forget(watcher);
  })();
}

/** Run `task(item)` for every item, at most `limit` at a time; results in order. */
export async function mapLimit(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
  return results;
}
