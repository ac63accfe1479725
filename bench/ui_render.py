"""The web UI's rendering of big lists, in Debian's headless Chromium.

Starts a ``-dev`` agent (which serves the UI), registers one service with
1,000 instances (each on a node of its own, with a passing check) and puts
1,000 keys in one folder, then prints for each page, over several cold loads
(a new browser context each: nothing cached) and warm loads (reloads, the
static files answered 304):

- load: from the start of navigation to the page saying it shows its data
  (the ``ui:ready:*`` performance mark, set after the rows are in the DOM),
- data: when the page's API answer had arrived (Resource Timing), and
  render: load minus data, the time to build and insert the rows,
- bytes: bytes transferred (HTML, modules, CSS and API answers; Resource Timing),

and the delay from a check turning critical through the API to the
instance changing colour on the open 1,000-instance page.

    python bench/ui_render.py [--instances 1000] [--keys 1000] [--runs 5]
"""

import argparse
import http.client
import json
import os
import statistics
import tempfile
import threading
import time

from benchlib import PyconsulAgent, http as request, wait_for

ADDRESS = "127.0.14.200"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def put_all(paths_and_bodies, threads=8):
    """PUT each (path, body) over keep-alive connections, several at a time."""
    jobs = list(paths_and_bodies)
    lock = threading.Lock()

    def work():
        connection = http.client.HTTPConnection(ADDRESS, 8500, timeout=60)
        while True:
            with lock:
                if not jobs:
                    break
                path, body = jobs.pop()
            connection.request("PUT", path, body=body)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit("PUT %s: %s" % (path, response.status))
        connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def registration(i, status="passing"):
    # Catalog data only: these addresses are never contacted.
    node = "big-node-%04d" % i
    return {
        "Node": node,
        "Address": "127.1.%d.%d" % (i // 250, i % 250 + 1),
        "Service": {"ID": "big-%04d" % i, "Service": "big", "Port": 8000 + i % 1000,
                    "Tags": ["v%d" % (i % 3), "bench"], "Meta": {"index": str(i)}},
        "Check": {"Node": node, "CheckID": "big-check-%04d" % i, "Name": "HTTP on %d" % (8000 + i % 1000),
                  "Status": status, "ServiceID": "big-%04d" % i,
                  "Output": "HTTP GET http://127.1.0.1:%d/health: 200 OK Output: ok" % (8000 + i % 1000)},
    }


def seed(instances, keys):
    started = time.monotonic()
    put_all(("/v1/catalog/register", json.dumps(registration(i)).encode()) for i in range(instances))
    put_all(("/v1/kv/bench/folder/key-%04d" % i, b'{"value": %d}' % i) for i in range(keys))
    return time.monotonic() - started


TIMING = """(mark) => {
  const ready = performance.getEntriesByName(mark)[0];
  const entries = [performance.getEntriesByType("navigation")[0], ...performance.getEntriesByType("resource")];
  const api = performance.getEntriesByType("resource").filter((e) => e.name.includes("/v1/"));
  const inserted = performance.getEntriesByName(mark.replace("ready", "inserted"))[0];
  return {
    ready: ready ? ready.startTime : null,
    inserted: inserted ? inserted.startTime : null,
    dataEnd: Math.max(0, ...api.filter((e) => e.responseEnd <= (ready ? ready.startTime : Infinity)).map((e) => e.responseEnd)),
    transfer: entries.reduce((sum, e) => sum + (e.transferSize || 0), 0),
    body: entries.reduce((sum, e) => sum + (e.encodedBodySize || 0), 0),
    apiBody: api.reduce((sum, e) => sum + (e.encodedBodySize || 0), 0),
  };
}"""


def measure(browser, url, mark, rows_selector, rows, runs):
    cold, warm = [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        for kind in (cold, warm):
            if kind is cold:
                page.goto(url)
            else:
                page.reload()
            page.wait_for_function("(m) => performance.getEntriesByName(m).length > 0", arg=mark, timeout=60000)
            count = page.locator(rows_selector).count()
            if count != rows:
                raise SystemExit("%s shows %d rows, not %d" % (url, count, rows))
            kind.append(page.evaluate(TIMING, mark))
        context.close()
    return cold, warm


def report(title, cold, warm):
    def med(values):
        return statistics.median(values)

    print("%s" % title)
    for name, samples in (("cold", cold), ("warm", warm)):
        load = [s["ready"] for s in samples]
        render = [s["ready"] - s["dataEnd"] for s in samples]
        build = [s["inserted"] - s["dataEnd"] for s in samples]
        print("  %-4s load %5.0f ms median (min %4.0f, max %4.0f)   data %4.0f ms   render %4.0f ms (DOM built %3.0f ms)"
              "   transferred %6.1f KiB (API bodies %6.1f KiB)"
              % (name, med(load), min(load), max(load), med([s["dataEnd"] for s in samples]), med(render), med(build),
                 med([s["transfer"] for s in samples]) / 1024, med([s["apiBody"] for s in samples]) / 1024))


def live_update(browser, base, runs):
    """Seconds from a check turning critical (PUT) to the instance's colour changing."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/ui/dc1/services/big")
    page.wait_for_function("() => performance.getEntriesByName('ui:ready:service').length > 0", timeout=60000)
    delays = []
    for run in range(runs):
        i = 500 + run
        selector = 'li.instance[data-instance="big-%04d"]' % i
        page.wait_for_selector(selector + '[data-status="passing"]')
        # Watch in the page for the change; the page's clock and ours are the machine's.
        page.evaluate("""(sel) => { window.changedAt = null;
          new MutationObserver((_, obs) => {
            const el = document.querySelector(sel);
            if (el && el.dataset.status === "critical") { window.changedAt = Date.now(); obs.disconnect(); }
          }).observe(document.querySelector(".results"), {childList: true, subtree: true, attributes: true}); }""",
                      selector)
        sent = time.time()
        status, body = request("PUT", base + "/v1/catalog/register", json.dumps(registration(i, "critical")).encode())
        assert status == 200, body
        page.wait_for_function("() => window.changedAt !== null", timeout=60000)
        delays.append(page.evaluate("window.changedAt") / 1000.0 - sent)
        request("PUT", base + "/v1/catalog/register", json.dumps(registration(i)).encode())
    page.close()
    return delays


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    workdir = tempfile.mkdtemp(prefix="ui-bench-")
    agent = PyconsulAgent(workdir, ADDRESS, ["--dev"], node="ui-bench")
    agent.start()
    try:
        wait_for(lambda: agent.leader() != "", what="a leader")
        seconds = seed(args.instances, args.keys)
        print("seeded %d instances of 'big' and %d keys in %.1f s" % (args.instances, args.keys, seconds))
        base = agent.url
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            print("Chromium %s, %d loads each (median; cold = new context, warm = reload)" % (browser.version, args.runs))
            cold, warm = measure(browser, base + "/ui/dc1/services/big", "ui:ready:service",
                                 "li.instance", args.instances, args.runs)
            report("service with %d instances (/ui/dc1/services/big)" % args.instances, cold, warm)
            cold, warm = measure(browser, base + "/ui/dc1/kv/bench/folder/", "ui:ready:kv",
                                 "tr[data-key]", args.keys, args.runs)
            report("folder with %d keys (/ui/dc1/kv/bench/folder/)" % args.keys, cold, warm)
            delays = live_update(browser, base, args.runs)
            print("check turned critical -> instance critical on the open %d-instance page: median %.0f ms "
                  "(min %.0f, max %.0f)" % (args.instances, statistics.median(delays) * 1000,
                                            min(delays) * 1000, max(delays) * 1000))
            browser.close()
    finally:
        agent.stop()
        print("(agent log: %s)" % os.path.join(agent.workdir, "agent.log"))


if __name__ == "__main__":
    main()
