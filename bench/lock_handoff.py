#!/usr/bin/env python3
"""Lock hand-off: how long from one ``pyconsul lock`` holder letting go to
the next holder's command running, on a 3-server pyconsul cluster.

    python bench/lock_handoff.py [--handoffs 100] [--contenders 4] [--multiplier 1]

``--contenders`` ``pyconsul lock`` processes wait on one prefix, spread
over the three servers' HTTP APIs. Each holder's command logs its start
and exits at once, which releases the lock; whenever a ``pyconsul lock``
process ends, a new one takes its place, so there are always contenders
waiting. The figure is, for each pair of consecutive holders, the time
from the first command's exit to the next command's start, both stamped
by the commands themselves (the same clock): the release, the waiter's
blocking read waking, its acquire through Raft, and starting the child.
Prints the median, p99 and extremes; never passes or fails.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import REPO, PyconsulAgent, http, wait_for

ADDRESSES = ["127.0.11.31", "127.0.11.32", "127.0.11.33"]
PREFIX = "bench/handoff"
# The holder's command: stamp the start, then the end, and exit.
COMMAND = 'echo "start $(date +%s.%N)" >> {log}; echo "end $(date +%s.%N)" >> {log}'


def start_cluster(workdir, multiplier):
    config = os.path.join(workdir, "config.json")
    with open(config, "w") as f:
        json.dump({"performance": {"raft_multiplier": multiplier}}, f)
    servers = [
        PyconsulAgent(workdir, address, ["--server", "--bootstrap-expect", "3", "--retry-join", ADDRESSES[0],
                                         "--config-file", config], node="s%d" % n)
        for n, address in enumerate(ADDRESSES, 1)
    ]
    for server in servers:
        server.start()
    wait_for(lambda: all(s.leader() for s in servers) and len({s.leader() for s in servers}) == 1,
             timeout=120, what="a leader")
    # Every server answers KV reads (and so has caught up with the leader).
    wait_for(lambda: all(http("GET", s.url + "/v1/kv/none")[0] == 404 for s in servers), timeout=60,
             what="every server to serve reads")
    return servers


def contender(server, log, out):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               CONSUL_HTTP_ADDR="%s:8500" % server.address)
    return subprocess.Popen([sys.executable, "-m", "pyconsul", "lock", PREFIX, COMMAND.format(log=log)],
                            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def read_stamps(log):
    """[(start, end)] of every command that finished, in start order."""
    starts, ends = [], []
    with open(log) as f:
        for line in f:
            kind, _, stamp = line.partition(" ")
            (starts if kind == "start" else ends).append(float(stamp))
    return list(zip(starts, ends))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered))) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=100)
    parser.add_argument("--contenders", type=int, default=4)
    parser.add_argument("--multiplier", type=int, default=1, help="performance.raft_multiplier")
    options = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pyconsul-lock-handoff-")
    log = os.path.join(workdir, "holders.log")
    open(log, "w").close()
    out = open(os.path.join(workdir, "contenders.out"), "wb")
    servers = start_cluster(workdir, options.multiplier)
    running = []
    started = 0
    try:
        deadline = time.monotonic() + 60 + 10 * options.handoffs
        while len(read_stamps(log)) < options.handoffs + 1:
            running = [p for p in running if p.poll() is None]
            while len(running) < options.contenders:
                running.append(contender(servers[started % len(servers)], log, out))
                started += 1
            if time.monotonic() > deadline:
                raise SystemExit("only %d holders in time; see %s" % (len(read_stamps(log)), workdir))
            time.sleep(0.01)
        holds = read_stamps(log)[:options.handoffs + 1]
    finally:
        for process in running:
            if process.poll() is None:
                process.terminate()
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for server in servers:
            server.stop()
        out.close()
    with open(os.path.join(workdir, "contenders.out"), "rb") as f:
        messages = f.read().decode("utf-8", "replace").splitlines()
    gaps = [(holds[i + 1][0] - holds[i][1]) * 1000 for i in range(len(holds) - 1)]
    overlaps = sum(1 for gap in gaps if gap < 0)
    print("command: python bench/lock_handoff.py --handoffs %d --contenders %d --multiplier %d"
          % (options.handoffs, options.contenders, options.multiplier))
    print("3 servers (%s), %d contenders waiting on %s, %d pyconsul lock processes started"
          % (", ".join(ADDRESSES), options.contenders, PREFIX, started))
    print("hand-offs: %d (overlapping holders: %d)" % (len(gaps), overlaps))
    if messages:
        print("the contenders said %d lines, e.g. %r" % (len(messages), messages[0]))
    print("release -> next command running, ms: median %.1f | p99 %.1f | min %.1f | max %.1f | mean %.1f"
          % (statistics.median(gaps), percentile(gaps, 0.99), min(gaps), max(gaps), statistics.mean(gaps)))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
