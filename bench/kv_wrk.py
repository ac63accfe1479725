#!/usr/bin/env python3
"""KV throughput and latency: a durable single-server pyconsul against a
single-node etcd, both on loopback, under the same wrk load.

    python bench/kv_wrk.py [--rounds 3] [--duration 10] [--keys 100000] [--footprint-only]

Prints, for PUT and GET at 16 and 64 connections, requests/s with p50 and
p99 latency for each system (the median of the rounds) and the ratio
pyconsul/etcd; then pyconsul's peak RSS with --keys keys stored and the time
it takes to restart with them. Needs wrk and etcd (Debian: wrk, etcd-server).
"""

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import EtcdMember, PyconsulAgent, http, run_wrk, wait_for, write_script

PYCONSUL_ADDR = "127.0.3.1"
ETCD_ADDR = "127.0.3.2"


def compare(pyconsul, etcd, workdir, options):
    etcd.start()
    wait_for(etcd.healthy, what="etcd")
    pyconsul.seed()
    etcd.seed()
    print("KV benchmark: 1,000 keys, 100-byte values, wrk %d s x %d rounds (medians)"
          % (options.duration, options.rounds), flush=True)
    targets = {
        system.name: (system.url, {op: write_script(workdir, system.name + op, source)
                                   for op, source in system.scripts().items()})
        for system in (pyconsul, etcd)
    }
    results = {}
    for round_number in range(options.rounds):
        for op in ("PUT", "GET"):
            for connections in (16, 64):
                for name, (url, scripts) in targets.items():
                    sample = run_wrk(url, scripts[op], connections, options.duration)
                    results.setdefault((name, op, connections), []).append(sample)
                    print("  round %d %-8s %s c=%-3d %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms"
                          % (round_number + 1, name, op, connections, *sample), flush=True)
    etcd.stop()
    print()
    print("%-4s %4s | %21s | %21s | %6s"
          % ("op", "conn", "pyconsul req/s p50/p99", "etcd req/s p50/p99", "ratio"))
    for op in ("PUT", "GET"):
        for connections in (16, 64):
            (pr, p50, p99), (er, e50, e99) = (
                tuple(statistics.median(s[i] for s in results[(name, op, connections)]) for i in range(3))
                for name in ("pyconsul", "etcd")
            )
            print("%-4s %4d | %7.0f %5.1f/%5.1f ms | %7.0f %5.1f/%5.1f ms | %5.2fx"
                  % (op, connections, pr, p50, p99, er, e50, e99, pr / er), flush=True)


def load_keys(pyconsul, workdir, count):
    """Write ``count`` distinct keys with wrk, pass after pass, each pass
    starting where the last one's keys ended."""
    script = write_script(
        workdir,
        "load",
        'local n = 0\nlocal value = string.rep("x", 100)\n'
        "init = function(args) n = tonumber(args[1]) end\n"
        'request = function()\n  n = n + 1\n'
        '  return wrk.format("PUT", "/v1/kv/load/" .. (n %% %d), nil, value)\nend\n' % count,
    )
    stored = 0
    while stored < count:
        # One wrk thread, so n counts every request once.
        subprocess.run(["wrk", "-t1", "-c64", "-d10s", "-s", script, pyconsul.url, "--", str(stored)],
                       capture_output=True, check=True)
        status, body = http("GET", pyconsul.url + "/v1/kv/load/?keys")
        stored = len(json.loads(body)) if status == 200 else 0
    return stored


def footprint(pyconsul, workdir, keys):
    stored = load_keys(pyconsul, workdir, keys)
    rss = pyconsul.peak_rss_mib()
    pyconsul.stop()
    started = time.monotonic()
    pyconsul.start()
    wait_for(lambda: http("GET", pyconsul.url + "/v1/kv/load/1?raw")[0] == 200, what="a key")
    restart = time.monotonic() - started
    print()
    print("pyconsul with %d keys: peak RSS %.0f MiB; restart to first answer %.2f s"
          % (stored, rss, restart))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--keys", type=int, default=100000)
    parser.add_argument("--footprint-only", action="store_true",
                        help="only measure RSS and restart time with --keys keys")
    options = parser.parse_args()
    for tool in ("wrk", "etcd"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is not installed (Debian: apt-get install wrk etcd-server)" % tool)

    workdir = tempfile.mkdtemp(prefix="pyconsul-bench-")
    pyconsul = PyconsulAgent(workdir, PYCONSUL_ADDR, ["--server", "--bootstrap"])
    etcd = EtcdMember(workdir, "bench", ETCD_ADDR, {"bench": ETCD_ADDR})
    try:
        pyconsul.start()
        wait_for(pyconsul.leader, what="pyconsul to elect itself")
        if not options.footprint_only:
            compare(pyconsul, etcd, workdir, options)
        footprint(pyconsul, workdir, options.keys)
    finally:
        pyconsul.stop()
        etcd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
