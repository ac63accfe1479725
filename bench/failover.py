#!/usr/bin/env python3
"""Leader failover: time from ``kill -9`` of the leader to a new leader
accepting writes, for a 3-server pyconsul cluster.

    python bench/failover.py [--trials 20] [--multipliers 1,5]

For each performance.raft_multiplier, runs the trials (kill the leader,
write through a survivor until a write succeeds, restart the killed server
and let it catch up) and prints the median and maximum.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import tempfile
import time

from benchlib import PyconsulAgent, http, wait_for

ADDRESSES = ["127.0.3.31", "127.0.3.32", "127.0.3.33"]


def start_cluster(workdir, multiplier):
    config = os.path.join(workdir, "config.json")
    with open(config, "w") as f:
        json.dump({"performance": {"raft_multiplier": multiplier}}, f)
    servers = [
        PyconsulAgent(workdir, address,
                      ["--server", "--bootstrap-expect", "3", "--retry-join", ADDRESSES[0],
                       "--config-file", config], node="s%d" % n)
        for n, address in enumerate(ADDRESSES, 1)
    ]
    for server in servers:
        server.start()
    return servers


def agreed_leader(servers):
    leaders = {s.leader() for s in servers}
    if len(leaders) == 1 and "" not in leaders:
        return leaders.pop()
    return None


def trial(servers, number):
    leader_address = wait_for_value(lambda: agreed_leader(servers), "a leader")
    leader = next(s for s in servers if "%s:8300" % s.address == leader_address)
    survivor = next(s for s in servers if s is not leader)
    leader.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    while True:
        status, body = http("PUT", "%s/v1/kv/failover/%d" % (survivor.url, number), b"x", timeout=1)
        if status == 200 and body == b"true":
            elapsed = time.monotonic() - killed_at
            break
        time.sleep(0.01)
    leader.start()
    wait_for(lambda: http("GET", "%s/v1/kv/failover/%d?stale" % (leader.url, number))[0] == 200,
             timeout=120, what="the old leader to catch up")
    wait_for(lambda: agreed_leader(servers), timeout=120, what="a settled cluster")
    return elapsed


def wait_for_value(function, what, timeout=120):
    found = []
    wait_for(lambda: found.append(function()) or found[-1], timeout=timeout, what=what)
    return found[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--multipliers", default="1,5")
    options = parser.parse_args()
    summary = []
    for multiplier in [int(m) for m in options.multipliers.split(",")]:
        workdir = tempfile.mkdtemp(prefix="pyconsul-failover-")
        servers = start_cluster(workdir, multiplier)
        try:
            times = []
            for number in range(options.trials):
                elapsed = trial(servers, number)
                times.append(elapsed)
                print("raft_multiplier %d trial %2d: %.2f s" % (multiplier, number + 1, elapsed), flush=True)
            summary.append((multiplier, statistics.median(times), max(times)))
        finally:
            for server in servers:
                server.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("raft_multiplier | median s | max s   (kill -9 of the leader -> a write accepted)")
    for multiplier, median, worst in summary:
        print("%15d | %8.2f | %5.2f" % (multiplier, median, worst))


if __name__ == "__main__":
    main()
