"""The Raft core under thousands of seeded random fault schedules.

A schedule is a seed. It picks a cluster (three or five voters and one spare
server that configuration changes can add), the nodes' options, and a
sequence of steps: ticks, proposals, crashes (some right after a proposal,
before it was persisted) and restarts, partitions, isolated nodes, random
loss, delay, reordering and duplication, snapshots, configuration changes,
leadership transfers and ReadIndex requests. The network checks Raft's safety
properties on every message, tick and write, and the lease after every step
(see :class:`CheckedRaftNetwork`). Then every fault heals, and the cluster
must make progress: a leader commits a new entry and every server of its
configuration applies it.

More schedules can be run by hand, for instance::

    RAFT_SIMULATION_SCHEDULES=20000 RAFT_SIMULATION_FIRST_SEED=1000 \
        trial tests.core.raft.test_simulation
"""

import collections
import os
import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import (
    ConfigurationChangeInProgress,
    EntryType,
    LeadershipTransferInProgress,
    NotLeader,
    Role,
    TimeoutNow,
)
from pyconsul.testing.raft import CheckedRaftNetwork

SCHEDULES = int(os.environ.get("RAFT_SIMULATION_SCHEDULES", "3000"))
FIRST_SEED = int(os.environ.get("RAFT_SIMULATION_FIRST_SEED", "0"))
STEPS = 60
# Once healed, a cluster must have made progress within this many election
# timeouts (it needs a handful; the rest is margin for unlucky timers).
PROGRESS_TIMEOUTS = 60

REFUSALS = (NotLeader, LeadershipTransferInProgress, ConfigurationChangeInProgress, ValueError)


class SimulatedNetwork(CheckedRaftNetwork):
    """Counts what happened, to show the schedules reach every feature."""

    def __init__(self, *args, **kwargs):
        self.events = collections.Counter()
        self.leading = set()
        super().__init__(*args, **kwargs)

    def on_snapshot_installed(self, node_id, meta):
        super().on_snapshot_installed(node_id, meta)
        self.events["snapshot installed"] += 1

    def on_applied(self, node_id, entry):
        super().on_applied(node_id, entry)
        if entry.type is EntryType.CONFIGURATION and entry.index > 1:
            self.events["configuration change applied"] += 1

    def on_read(self, node_id, request_id, index):
        super().on_read(node_id, request_id, index)
        self.events["read confirmed"] += 1

    def on_input(self, node_id, node):
        super().on_input(node_id, node)
        if node.role is Role.LEADER:
            self.leading.add(node_id)
        elif node_id in self.leading:
            self.leading.discard(node_id)
            self.events["leader stepped down"] += 1

    def _deliver(self, msg, payload):
        if isinstance(msg, TimeoutNow):
            self.events["TimeoutNow sent"] += 1
        super()._deliver(msg, payload)

    def check(self):
        super().check()
        self.events["lease held"] += sum(1 for n in self.nodes.values() if n.lease_valid())


class Schedule:
    def __init__(self, seed):
        self.seed = seed
        self.rng = rng = random.Random(seed)
        voters = rng.choice((3, 3, 5))
        ids = "abcdef"[: voters + 1]
        self.election_ticks = rng.choice((4, 6, 10))
        self.net = SimulatedNetwork(
            ids,
            seed=seed,
            members=ids[:voters],
            election_ticks=self.election_ticks,
            max_append_entries=rng.choice((1, 4, 64)),
            max_inflight=rng.choice((1, 3, 256)),
            pre_vote=rng.random() < 0.8,
            check_quorum=rng.random() < 0.8,
        )
        self.counter = 0
        self.history = []

    def unique(self, kind):
        self.counter += 1
        return b"%s/%d/%d" % (kind, self.seed, self.counter)

    def run(self):
        for _ in range(STEPS):
            action = self.rng.choices(ACTIONS, WEIGHTS)[0]
            self.history.append(action(self))
            self.net.check()
        self.history.append("heal everything")
        self.make_progress()
        self.net.check_state_machines()

    def make_progress(self):
        net = self.net
        net.heal()
        net.calm()
        for node_id in net.crashed:
            net.start(node_id)
        net.run()
        marker = self.unique(b"final")
        proposed_in = None
        for _ in range(PROGRESS_TIMEOUTS * self.election_ticks):
            leader = net.leader()
            if leader is not None:
                members = [s.id for s in leader.configuration.servers]
                if all(marker in net.applied[i] for i in members):
                    return
                if proposed_in != leader.term:
                    try:
                        leader.propose(marker)
                        proposed_in = leader.term
                    except REFUSALS:
                        pass
            net.tick()
            net.check()
        raise AssertionError("no progress after healing")

    # -- actions: each does one thing and says what -------------------------

    def leader(self):
        return self.net.leader()

    def tick(self):
        times = self.rng.randint(1, 4)
        self.net.tick(times)
        return "tick %d" % times

    def propose(self):
        leader = self.leader()
        if leader is None:
            return "propose: no leader"
        count = self.rng.randint(1, 3)
        try:
            for _ in range(count):
                leader.propose(self.unique(b"cmd"))
        except REFUSALS as e:
            return "propose on %s: %r" % (leader.id, e)
        finally:
            self.net.run()
        return "propose %d on %s" % (count, leader.id)

    def propose_then_crash(self):
        # The leader goes down before persisting (or sending) the entries.
        leader = self.leader()
        if leader is None:
            return "propose and crash: no leader"
        try:
            leader.propose(self.unique(b"lost"))
        except REFUSALS:
            pass
        self.net.crash(leader.id)
        self.net.run()
        return "propose on %s and crash it" % leader.id

    def crash(self):
        running = sorted(self.net.nodes)
        if len(self.net.crashed) >= 2:
            return "crash: enough are down"
        node_id = self.rng.choice(running)
        self.net.crash(node_id)
        return "crash %s" % node_id

    def restart(self):
        crashed = self.net.crashed
        if not crashed:
            return "restart: none down"
        node_id = self.rng.choice(crashed)
        self.net.start(node_id)
        self.net.run()
        return "restart %s" % node_id

    def partition(self):
        ids = list(self.net.ids)
        self.rng.shuffle(ids)
        split = self.rng.randint(1, len(ids) - 1)
        self.net.partition(ids[:split], ids[split:])
        return "partition %s | %s" % ("".join(sorted(ids[:split])), "".join(sorted(ids[split:])))

    def isolate(self):
        node_id = self.rng.choice(self.net.ids)
        self.net.isolate(node_id)
        return "isolate %s" % node_id

    def heal(self):
        self.net.heal()
        return "heal"

    def network_faults(self):
        net, rng = self.net, self.rng
        net.drop_rate = rng.choice((0, 0, 0.05, 0.2, 0.5))
        net.duplicate_rate = rng.choice((0, 0, 0.05, 0.2))
        net.max_delay = rng.choice((0, 0, 1, 2, 4))
        net.slow_disk_rate = rng.choice((0, 0, 0.3, 0.8))
        return "drop %s duplicate %s delay %d slow disk %s" % (
            net.drop_rate, net.duplicate_rate, net.max_delay, net.slow_disk_rate
        )

    def compact(self):
        node_id = self.rng.choice(sorted(self.net.nodes))
        trailing = self.rng.choice((0, 1, 5))
        self.net.compact(node_id, trailing)
        return "compact %s keeping %d" % (node_id, trailing)

    def change_configuration(self):
        leader = self.leader()
        if leader is None:
            return "configuration change: no leader"
        configuration = leader.configuration
        present = [s.id for s in configuration.servers]
        absent = [i for i in self.net.ids if i not in present]
        non_voters = [s.id for s in configuration.servers if not s.voter]
        choices = ["remove"]
        if absent:
            choices.append("add")
        if non_voters:
            choices.append("promote")
        what = self.rng.choice(choices)
        try:
            if what == "add":
                node_id = self.rng.choice(absent)
                voter = self.rng.random() < 0.7
                leader.add_server(node_id, "addr-" + node_id, voter)
            elif what == "promote":
                node_id = self.rng.choice(non_voters)
                leader.add_server(node_id, "addr-" + node_id, True)
            else:
                node_id = self.rng.choice(present)
                leader.remove_server(node_id)
        except REFUSALS as e:
            return "%s: refused, %r" % (what, e)
        finally:
            self.net.run()
        return "%s %s on %s" % (what, node_id, leader.id)

    def transfer(self):
        leader = self.leader()
        if leader is None:
            return "transfer: no leader"
        others = sorted(leader.configuration.voters - {leader.id})
        target = self.rng.choice(others + [None])
        try:
            chosen = leader.transfer_leadership(target)
        except REFUSALS as e:
            return "transfer to %s: refused, %r" % (target, e)
        finally:
            self.net.run()
        return "transfer from %s to %s" % (leader.id, chosen)

    def read(self):
        leader = self.leader()
        if leader is None:
            return "read: no leader"
        request_id = self.unique(b"read")
        try:
            self.net.read_index(leader.id, request_id)
        except REFUSALS as e:
            return "read: refused, %r" % (e,)
        finally:
            self.net.run()
        return "read on %s" % leader.id


_WEIGHTED = [
    (Schedule.tick, 40),
    (Schedule.propose, 20),
    (Schedule.propose_then_crash, 2),
    (Schedule.crash, 4),
    (Schedule.restart, 6),
    (Schedule.partition, 3),
    (Schedule.isolate, 3),
    (Schedule.heal, 6),
    (Schedule.network_faults, 3),
    (Schedule.compact, 5),
    (Schedule.change_configuration, 5),
    (Schedule.transfer, 2),
    (Schedule.read, 4),
]
ACTIONS = [action for action, _ in _WEIGHTED]
WEIGHTS = [weight for _, weight in _WEIGHTED]


class SimulationTests(SynchronousTestCase):
    def test_safety_and_progress_under_random_faults(self):
        events = collections.Counter()
        for seed in range(FIRST_SEED, FIRST_SEED + SCHEDULES):
            schedule = Schedule(seed)
            try:
                schedule.run()
            except AssertionError as e:
                steps = "\n  ".join(schedule.history[-25:])
                self.fail("seed %d: %s\nlast steps:\n  %s" % (seed, e, steps))
            events.update(schedule.net.events)
        # The schedules are only worth something if they reach every feature.
        for event in (
            "snapshot installed",
            "configuration change applied",
            "read confirmed",
            "leader stepped down",
            "TimeoutNow sent",
            "lease held",
        ):
            self.assertGreater(events[event], 0, event)
