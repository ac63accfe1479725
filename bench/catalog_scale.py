"""Catalog scale on one durable server: 10,000 services x 3 instances.

Registers the instances through /v1/catalog/register (each with a passing
check), then prints the peak RSS, the time to restart with them (until a
health read answers with the data), and, with wrk at 16 connections in the
same run, the throughput and p99 of

- GET /v1/health/service/<svc>?passing for a 3-instance service,
- the same for a 1,000-instance service,
- a KV GET on the same agent (the reference: target ratio >= 0.9).

    python bench/catalog_scale.py [--services 10000] [--duration 10]
"""

import argparse
import http.client
import json
import os
import tempfile
import threading
import time

from benchlib import PyconsulAgent, http as request, run_wrk, wait_for, write_script

ADDRESS = "127.0.77.1"
NODES = 1000


def register_all(address, services, threads=16):
    """Every instance through catalog/register; returns the registrations per second."""
    jobs = [(s, i) for s in range(services) for i in range(3)]
    jobs += [("big", n) for n in range(NODES)]
    lock = threading.Lock()

    def work():
        connection = http.client.HTTPConnection(address, 8500, timeout=60)
        while True:
            with lock:
                if not jobs:
                    break
                name, instance = jobs.pop()
            number = (instance if name == "big" else name + instance) % NODES
            service = "big" if name == "big" else "svc%05d" % name
            body = json.dumps({
                "Node": "node%04d" % number, "Address": "10.0.%d.%d" % (number // 250, number % 250 + 1),
                "Service": {"Service": service, "ID": "%s-%d" % (service, instance), "Port": 8000 + instance % 1000},
                "Check": {"CheckID": "%s-%d-check" % (service, instance), "Name": "alive", "Status": "passing",
                          "ServiceID": "%s-%d" % (service, instance)},
                "SkipNodeUpdate": False,
            })
            connection.request("PUT", "/v1/catalog/register", body=body)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit("register failed: %d" % response.status)
        connection.close()

    total = len(jobs)
    started = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return total, total / (time.monotonic() - started)


def health_script(service):
    return 'request = function()\n  return wrk.format("GET", "/v1/health/service/%s?passing")\nend\n' % service


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pyconsul-bench-")
    agent = PyconsulAgent(workdir, ADDRESS, ["--server", "--bootstrap"], node="bench").start()
    wait_for(lambda: agent.leader(), what="a leader")
    try:
        total, rate = register_all(ADDRESS, args.services)
        print("registered %d instances (%d services x 3, and a %d-instance one) at %.0f/s"
              % (total, args.services, NODES, rate))
        agent.seed()
        print("peak RSS after registering: %.0f MiB" % agent.peak_rss_mib())
        agent.stop()
        started = time.monotonic()
        agent.start()

        def answers():
            status, body = request("GET", agent.url + "/v1/health/service/big?passing", timeout=5)
            return status == 200 and len(json.loads(body)) == NODES

        wait_for(answers, timeout=300, what="the restarted agent")
        print("restart until the catalog answers: %.1f s (peak RSS %.0f MiB)"
              % (time.monotonic() - started, agent.peak_rss_mib()))
        kv = write_script(workdir, "kv", agent.scripts()["GET"])
        small = write_script(workdir, "small", health_script("svc00001"))
        big = write_script(workdir, "big", health_script("big"))
        results = {}
        for name, script in (("kv GET", kv), ("health 3 instances", small), ("health 1000 instances", big)):
            results[name] = run_wrk(agent.url, script, 16, args.duration)
            print("%-22s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms" % ((name,) + results[name]))
        print("health 3-instance / kv GET: %.2fx" % (results["health 3 instances"][0] / results["kv GET"][0]))
        print("peak RSS: %.0f MiB" % agent.peak_rss_mib())
    finally:
        agent.stop()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
