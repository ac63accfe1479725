#!/usr/bin/env python3
"""Replicated KV throughput: a 3-server pyconsul cluster against a 3-member
etcd cluster, all on this machine, under the same wrk load.

    python bench/cluster_wrk.py [--rounds 3] [--duration 10]

For PUT at 16 and 64 connections sent to a follower and to the leader, and
GET (default consistency) through a follower: requests/s, p50 and p99 of
each system (medians of the rounds) and the ratio pyconsul/etcd. Needs wrk
and etcd (Debian: wrk, etcd-server).
"""

import argparse
import json
import shutil
import statistics
import tempfile

from benchlib import EtcdMember, PyconsulAgent, http, run_wrk, wait_for, write_script

PYCONSUL = ["127.0.3.11", "127.0.3.12", "127.0.3.13"]
ETCD = {"e1": "127.0.3.21", "e2": "127.0.3.22", "e3": "127.0.3.23"}


def pyconsul_cluster(workdir):
    servers = [
        PyconsulAgent(workdir, address, ["--server", "--bootstrap-expect", "3", "--retry-join", PYCONSUL[0]],
                      node="s%d" % n)
        for n, address in enumerate(PYCONSUL, 1)
    ]
    for server in servers:
        server.start()

    def agreed():
        leaders = {s.leader() for s in servers}
        return len(leaders) == 1 and "" not in leaders

    try:
        wait_for(agreed, timeout=120, what="the pyconsul cluster to elect a leader")
    except SystemExit:
        for server in servers:
            server.stop()
        raise
    leader_host = servers[0].leader().rpartition(":")[0]
    leader = next(s for s in servers if s.address == leader_host)
    follower = next(s for s in servers if s is not leader)
    return servers, leader, follower


def etcd_cluster(workdir):
    members = [EtcdMember(workdir, name, address, ETCD) for name, address in ETCD.items()]
    for member in members:
        member.start()
    try:
        wait_for(lambda: all(m.healthy() for m in members), timeout=120, what="the etcd cluster")
    except SystemExit:
        for member in members:
            member.stop()
        raise
    status, body = http("POST", members[0].url + "/v3/maintenance/status", b"{}")
    leader_id = json.loads(body)["leader"]
    leader = follower = None
    for member in members:
        _, body = http("POST", member.url + "/v3/maintenance/status", b"{}")
        if json.loads(body)["header"]["member_id"] == leader_id:
            leader = member
        else:
            follower = member
    return members, leader, follower


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    options = parser.parse_args()
    for tool in ("wrk", "etcd"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is not installed (Debian: apt-get install wrk etcd-server)" % tool)
    workdir = tempfile.mkdtemp(prefix="pyconsul-bench-")
    processes = []
    try:
        servers, p_leader, p_follower = pyconsul_cluster(workdir)
        processes += servers
        members, e_leader, e_follower = etcd_cluster(workdir)
        processes += members
        p_follower.seed()
        e_follower.seed()
        scripts = {
            name: {op: write_script(workdir, name + op, source) for op, source in cls.scripts().items()}
            for name, cls in (("pyconsul", PyconsulAgent), ("etcd", EtcdMember))
        }
        cases = [
            ("PUT", "follower", {"pyconsul": p_follower, "etcd": e_follower}),
            ("PUT", "leader", {"pyconsul": p_leader, "etcd": e_leader}),
            ("GET", "follower", {"pyconsul": p_follower, "etcd": e_follower}),
        ]
        print("3-server clusters: 1,000 keys, 100-byte values, wrk %d s x %d rounds (medians)"
              % (options.duration, options.rounds), flush=True)
        results = {}
        for round_number in range(options.rounds):
            for op, role, targets in cases:
                for connections in (16, 64):
                    for name, target in targets.items():
                        sample = run_wrk(target.url, scripts[name][op], connections, options.duration)
                        results.setdefault((op, role, connections, name), []).append(sample)
                        print("  round %d %-8s %s to %-8s c=%-3d %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms"
                              % (round_number + 1, name, op, role, connections, *sample), flush=True)
        print()
        print("%-4s %-8s %4s | %21s | %21s | %6s"
              % ("op", "to", "conn", "pyconsul req/s p50/p99", "etcd req/s p50/p99", "ratio"))
        for op, role, _ in cases:
            for connections in (16, 64):
                (pr, p50, p99), (er, e50, e99) = (
                    tuple(statistics.median(s[i] for s in results[(op, role, connections, name)])
                          for i in range(3))
                    for name in ("pyconsul", "etcd")
                )
                print("%-4s %-8s %4d | %7.0f %5.1f/%5.1f ms | %7.0f %5.1f/%5.1f ms | %5.2fx"
                      % (op, role, connections, pr, p50, p99, er, e50, e99, pr / er), flush=True)
    finally:
        for process in processes:
            process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
