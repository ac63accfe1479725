"""How fast a user event spreads, in virtual time.

Runs the real Serf core (pyconsul.core.serf) for N agents on the simulated
network (pyconsul.testing.gossip, every datagram through the real codec) with
the default LAN gossip settings (memberlist's DefaultLANConfig, as Consul's
LAN pool: gossip every 200 ms to 3 members, retransmit mult 4), fires user
events one at a time from random members, each with a Consul-sized payload
(the msgpack of a UserEvent: about 80 bytes), and prints per event the time
until 99% and until 100% of the agents have reported it (the sender counts at
time 0), as the median and p99 (nearest rank) over all events, next to
Serf's epidemic model for the same settings.

Usage:
    python bench/event_propagation.py                     # N = 100, 50 events
    python bench/event_propagation.py --sizes 500 --events 50 --loss 0.05
    python bench/event_propagation.py --sizes 100,500 --jobs 2

Events are fired ``--spacing`` seconds apart (10 s by default), after a
warm-up, so each spreads on its own; an event that has not reached everyone
within the spacing counts as "never". Virtual time is exact; the wall-clock
figure only says how long the simulation took.
"""

import argparse
import math
import multiprocessing
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pyconsul.agent import events as consul_events  # noqa: E402
from pyconsul.core.serf import events  # noqa: E402
from pyconsul.core.swim.config import SwimConfig  # noqa: E402
from pyconsul.testing.gossip import SimulatedNetwork, serf_cluster  # noqa: E402

WARM_UP = 5.0


def rounds_to_reach(size: int, fraction: float, fanout: int, loss: float = 0.0) -> float:
    """Serf's convergence model (a logistic epidemic, beta = fanout/N *
    (1 - loss) * 0.5): gossip rounds until ``fraction`` of ``size`` have heard."""
    beta_n = fanout * (1 - loss) * 0.5
    remaining = max(1 - fraction, 0.5 / size)  # "everyone" as all but half a member
    return math.log((size + 1) * (1 - remaining) / remaining) / beta_n


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run(size: int, count: int, spacing: float, loss: float, seed: int) -> dict:
    started = time.perf_counter()
    network = SimulatedNetwork(seed=seed, loss=loss, wire=True)
    nodes = serf_cluster(size, network=network, seed=seed, swim_config=SwimConfig.lan())
    heard: dict[str, list[float]] = {}
    network.listen(lambda addr, e, now: heard.setdefault(e.name, []).append(now)
                   if type(e) is events.UserEvent else None)
    network.run_for(WARM_UP)
    rng = random.Random(seed)
    need_99 = math.ceil(0.99 * size)
    t99, t100 = [], []
    for number in range(count):
        name = "consul:event:bench-%d" % number
        payload = consul_events.encode(consul_events.UserEvent(
            id=consul_events.new_id(rng), name="bench-%d" % number, payload=b"deploy v1.2.3", version=1))
        fired_at = network.now
        network.call(rng.choice(nodes).addr, "user_event", name, payload)
        network.run_until_true(lambda: len(heard.get(name, ())) >= size, spacing, step=0.01)
        times = sorted(t - fired_at for t in heard.get(name, ()))
        t99.append(times[need_99 - 1] if len(times) >= need_99 else math.inf)
        t100.append(times[size - 1] if len(times) >= size else math.inf)
        network.run_until(fired_at + spacing)
    return {
        "size": size, "loss": loss, "events": count, "t99": t99, "t100": t100,
        "payload": len(payload), "packets": network.stats.packets_sent, "wall": time.perf_counter() - started,
    }


def _run(kwargs: dict) -> dict:
    return run(**kwargs)


def _seconds(value: float) -> str:
    return "never" if math.isinf(value) else "%.2f" % value


def report(results: list[dict], command: str) -> None:
    config = SwimConfig.lan()
    print("# event_propagation: %s" % command)
    print("# LAN profile: gossip_interval %.1f s, gossip_nodes %d, retransmit_mult %d; Consul payload %d bytes"
          % (config.gossip_interval, config.gossip_nodes, config.retransmit_mult, results[0]["payload"]))
    print()
    header = ("%6s | %5s | %6s | %10s | %7s | %11s | %8s | %9s | %10s | %6s"
              % ("N", "loss", "events", "99% median", "99% p99", "100% median", "100% p99",
                 "model 99%", "model 100%", "wall s"))
    print(header)
    print("-" * len(header))
    for r in results:
        rounds99 = rounds_to_reach(r["size"], 0.99, config.gossip_nodes, r["loss"]) * config.gossip_interval
        rounds100 = rounds_to_reach(r["size"], 1.0, config.gossip_nodes, r["loss"]) * config.gossip_interval
        print("%6d | %4.0f%% | %6d | %10s | %7s | %11s | %8s | %9.2f | %10.2f | %6.1f" % (
            r["size"], 100 * r["loss"], r["events"],
            _seconds(percentile(r["t99"], 0.5)), _seconds(percentile(r["t99"], 0.99)),
            _seconds(percentile(r["t100"], 0.5)), _seconds(percentile(r["t100"], 0.99)),
            rounds99, rounds100, r["wall"]))
    print()
    print("Times in virtual seconds from the fire to the 99th / 100th percent of agents reporting it.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100", help="comma-separated numbers of agents")
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--spacing", type=float, default=10.0, help="virtual seconds between events")
    parser.add_argument("--loss", type=float, default=0.0, help="share of datagrams dropped")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    jobs = [dict(size=int(size), count=args.events, spacing=args.spacing, loss=args.loss, seed=args.seed)
            for size in args.sizes.split(",")]
    with multiprocessing.Pool(min(args.jobs, len(jobs))) as pool:
        results = pool.map(_run, jobs, chunksize=1)
    report(results, " ".join(["python bench/event_propagation.py"] + sys.argv[1:]))


if __name__ == "__main__":
    main()
