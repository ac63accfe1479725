#!/usr/bin/env python3
"""WAN pool convergence, in virtual time: 10 datacenters x 5 servers.

Runs the real Serf and membership cores (pyconsul.core.serf) with memberlist's
WAN timings on the simulated network (pyconsul.testing.gossip). Links inside
a datacenter take 0.5 ms one way; between two datacenters a fixed delay drawn
once per pair from 5 to 75 ms (10-150 ms round trips), with 1 ms of jitter.

    python bench/wan_sim.py [--datacenters 10] [--servers 5] [--joins 10] [--seed 1]

Prints, from a pool that has converged without one server:

  (a) a server joins through one server of another datacenter: time until
      every other server sees it alive, and until it knows all of them;
  (b) a whole pool forming at once, each server joining the first server of
      the first datacenter (as -retry-join-wan does): time until every
      server knows every other alive.

Virtual time is exact, read every 50 ms of it; the wall figures say how long
the simulation took.
"""

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pyconsul.core.serf import tags as serf_tags  # noqa: E402
from pyconsul.core.serf.member import MemberStatus  # noqa: E402
from pyconsul.core.swim.config import SwimConfig  # noqa: E402
from pyconsul.testing.gossip import SimulatedNetwork, member_address, serf_cluster  # noqa: E402

ALIVE = MemberStatus.ALIVE


def topology(datacenters, servers, seed):
    """(datacenter of member i, link delay function) for the pool."""
    rng = random.Random(seed)
    one_way = {}
    for a in range(datacenters):
        for b in range(a + 1, datacenters):
            one_way[(a, b)] = one_way[(b, a)] = rng.uniform(0.005, 0.075)
    datacenter_of = {member_address(i): i // servers for i in range(datacenters * servers + 1000)}

    def link_delay(source, destination):
        a, b = datacenter_of.get(source, 0), datacenter_of.get(destination, 0)
        return 0.0005 if a == b else one_way[(a, b)]

    return link_delay


def wan_tags(servers):
    def tags(index):
        return serf_tags.consul_tags(server=True, datacenter="dc%d" % (index // servers + 1), node_id=str(index),
                                     build="bench", server_port=8300)
    return tags


def all_know(nodes, names):
    return all(node.status_of(name) == ALIVE for node in nodes for name in names if name != node.name)


def one_join(datacenters, servers, seed):
    """(seconds until all others see the newcomer, seconds until it knows all).
    The newcomer is the last server of the last datacenter."""
    size = datacenters * servers
    network = SimulatedNetwork(seed=seed, delay=(0.0, 0.001), link_delay=topology(datacenters, servers, seed))
    config, tags = SwimConfig.wan(), wan_tags(servers)
    others = serf_cluster(size - 1, network=network, seed=seed, swim_config=config, tags=tags)
    network.run_for(30.0)
    (newcomer,) = serf_cluster(1, network=network, seed=seed, swim_config=config, tags=tags, joined=False,
                               first_index=size - 1)
    through = random.Random(seed).choice(others[: size - servers])  # a server of another datacenter
    network.call(newcomer.addr, "join", [through.addr])
    started = network.now
    seen_by_all = knows_all = None
    deadline = started + 600.0
    while network.now < deadline and (seen_by_all is None or knows_all is None):
        network.run_for(0.05)
        if seen_by_all is None and all(n.status_of(newcomer.name) == ALIVE for n in others):
            seen_by_all = network.now - started
        if knows_all is None and all(newcomer.status_of(n.name) == ALIVE for n in others):
            knows_all = network.now - started
    return seen_by_all, knows_all


def formation(datacenters, servers, seed):
    size = datacenters * servers
    network = SimulatedNetwork(seed=seed, delay=(0.0, 0.001), link_delay=topology(datacenters, servers, seed))
    nodes = serf_cluster(size, network=network, seed=seed, swim_config=SwimConfig.wan(), tags=wan_tags(servers),
                         joined=False)
    for node in nodes[1:]:
        network.call(node.addr, "join", [nodes[0].addr])
    names = [n.name for n in nodes]
    started = network.now
    if network.run_until_true(lambda: all_know(nodes, names), 600.0, step=0.05):
        return network.now - started
    return None


def show(value):
    return "never (600 s)" if value is None else "%.2f s" % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datacenters", type=int, default=10)
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--joins", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    size = options.datacenters * options.servers
    config = SwimConfig.wan()
    print("WAN pool: %d datacenters x %d servers = %d; memberlist WAN timings (probe %.0f s, gossip %.1f s to %d, "
          "push-pull %.0f s)" % (options.datacenters, options.servers, size, config.probe_interval,
                                 config.gossip_interval, config.gossip_nodes, config.push_pull_interval))
    started = time.perf_counter()
    joins = [one_join(options.datacenters, options.servers, options.seed + n) for n in range(options.joins)]
    seen = [s for s, _ in joins if s is not None]
    known = [k for _, k in joins if k is not None]
    print("(a) one server joins (%d runs, wall %.1f s):" % (options.joins, time.perf_counter() - started))
    print("    seen alive by all %d others: median %s, max %s%s" % (
        size - 1, show(statistics.median(seen)) if seen else "-", show(max(seen)) if seen else "-",
        "" if len(seen) == len(joins) else " (%d runs never)" % (len(joins) - len(seen))))
    print("    the newcomer knows all of them: median %s, max %s" % (
        show(statistics.median(known)) if known else "-", show(max(known)) if known else "-"))
    started = time.perf_counter()
    formed = formation(options.datacenters, options.servers, options.seed)
    print("(b) the whole pool forms through one server: every server knows all %d others alive after %s "
          "(wall %.1f s)" % (size - 1, show(formed), time.perf_counter() - started))


if __name__ == "__main__":
    main()
