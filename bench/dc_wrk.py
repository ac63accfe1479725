#!/usr/bin/env python3
"""Reads across datacenters against local ones, on loopback.

    python bench/dc_wrk.py [--rounds 3] [--duration 10] [--connections 16]

Two datacenters, each one server (dc1 also has a client agent, which wrk
talks to), their servers joined over the WAN. Both hold the same 1,000 KV
keys and a 3-instance service ``web``. wrk sends, to dc1's client:

- ``GET /v1/kv/bench/keyN``: the client asks its server (local);
- ``GET /v1/kv/bench/keyN?dc=dc2``: the client asks its server, which asks
  dc2's server over server RPC (one more hop, one more process);
- the same two for ``GET /v1/health/service/web``.

Prints requests/s, p50 and p99 of each (medians of the rounds) and the
cross-datacenter figures as a fraction of the local ones. On loopback the
WAN adds no latency of its own: the difference is the extra hop's work.
Needs wrk (Debian: wrk).
"""

import argparse
import json
import shutil
import statistics
import tempfile

from benchlib import KEYS, VALUE, PyconsulAgent, http, require_wrk, run_wrk, wait_for, write_script

DC1_SERVER, DC1_CLIENT, DC2_SERVER = "127.0.33.1", "127.0.33.10", "127.0.34.1"


def kv_script(suffix):
    return ("local n = 0\nrequest = function()\n  n = n + 1\n"
            '  return wrk.format("GET", "/v1/kv/bench/key" .. (n %% %d) .. "%s")\nend\n' % (KEYS, suffix))


def health_script(suffix):
    return 'request = function()\n  return wrk.format("GET", "/v1/health/service/web%s")\nend\n' % suffix


def seed(server, datacenter):
    for i in range(KEYS):
        http("PUT", "%s/v1/kv/bench/key%d" % (server.url, i), VALUE.encode())
    for n in range(3):
        registration = {"Node": "web-%d" % n, "Address": "10.0.%d.%d" % (len(datacenter), n), "Datacenter": datacenter,
                        "Service": {"Service": "web", "ID": "web", "Port": 8080},
                        "Check": {"CheckID": "web-alive", "Name": "web", "Status": "passing", "ServiceID": "web"}}
        http("PUT", server.url + "/v1/catalog/register", json.dumps(registration).encode())


def start(workdir):
    dc1 = PyconsulAgent(workdir, DC1_SERVER, ["--server", "--bootstrap", "--datacenter", "dc1"], node="s1")
    dc2 = PyconsulAgent(workdir, DC2_SERVER, ["--server", "--bootstrap", "--datacenter", "dc2",
                                              "--retry-join-wan", DC1_SERVER], node="s2")
    client = PyconsulAgent(workdir, DC1_CLIENT, ["--datacenter", "dc1", "--retry-join", DC1_SERVER], node="c1")
    agents = [dc1, dc2, client]
    for agent in agents:
        agent.start()
    try:
        wait_for(lambda: dc1.leader() and dc2.leader(), timeout=120, what="a leader in each datacenter")
        wait_for(lambda: http("GET", client.url + "/v1/catalog/datacenters")[1] == b'["dc1","dc2"]',
                 timeout=120, what="the client to see both datacenters")
    except SystemExit:
        for agent in agents:
            agent.stop()
        raise
    return agents


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    options = parser.parse_args()
    require_wrk()
    workdir = tempfile.mkdtemp(prefix="pyconsul-bench-")
    agents = []
    try:
        agents = start(workdir)
        dc1, dc2, client = agents
        seed(dc1, "dc1")
        seed(dc2, "dc2")
        wait_for(lambda: http("GET", client.url + "/v1/kv/bench/key999?dc=dc2")[0] == 200, timeout=30,
                 what="dc2's keys through dc1")
        cases = [
            ("KV GET", "local", kv_script("")),
            ("KV GET", "dc2", kv_script("?dc=dc2")),
            ("health/service", "local", health_script("")),
            ("health/service", "dc2", health_script("?dc=dc2")),
        ]
        scripts = [(read, where, write_script(workdir, "case%d" % i, source))
                   for i, (read, where, source) in enumerate(cases)]
        print("dc1 (1 server + the client wrk asks) and dc2 (1 server), WAN-joined on loopback; "
              "wrk c=%d, %d s x %d rounds (medians)" % (options.connections, options.duration, options.rounds),
              flush=True)
        results = {}
        for round_number in range(options.rounds):
            for read, where, path in scripts:
                sample = run_wrk(client.url, path, options.connections, options.duration)
                results.setdefault((read, where), []).append(sample)
                print("  round %d %-15s %-6s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms"
                      % (round_number + 1, read, where, *sample), flush=True)
        print()
        print("%-15s | %24s | %24s | %s" % ("read", "local req/s p50/p99", "?dc=dc2 req/s p50/p99",
                                             "dc2/local req/s"))
        for read in ("KV GET", "health/service"):
            (lr, l50, l99), (rr, r50, r99) = (
                tuple(statistics.median(s[i] for s in results[(read, where)]) for i in range(3))
                for where in ("local", "dc2"))
            print("%-15s | %7.0f %6.2f/%6.2f ms | %7.0f %6.2f/%6.2f ms | %.2f"
                  % (read, lr, l50, l99, rr, r50, r99, rr / lr), flush=True)
    finally:
        for agent in agents:
            agent.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
