"""Whole clusters of membership cores on the simulated network.

Bounds are derived from the configuration, not measured: the first probe of
a dead member fails within about two probe intervals, its suspicion runs at
most the maximum suspicion timeout, and the news then spreads in a few
gossip rounds.
"""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.codec.gossip import Keyring
from pyconsul.core.swim import effects
from pyconsul.core.swim.config import SwimConfig
from pyconsul.core.swim.messages import Status
from pyconsul.core.swim.timing import suspicion_timeout
from pyconsul.testing.gossip import SimulatedNetwork, swim_cluster


def everyone_sees(members, name, status, exclude=()):
    return all(
        m.status_of(name) == status for m in members if m.name != name and m.addr not in exclude
    )


def nobody_knows(members, name):
    return all(m.status_of(name) is None for m in members if m.name != name)


def detection_bound(config, size):
    """Two probe rounds to notice, the longest suspicion, and ten gossip
    rounds to spread the verdict."""
    longest = suspicion_timeout(config.suspicion_mult, size, config.probe_interval) * (
        config.suspicion_max_timeout_mult
    )
    return 2 * config.probe_interval + longest + 10 * config.gossip_interval


class FailureDetectionTests(SynchronousTestCase):
    def check_killed_member_declared_dead(self, size, config, loss=0.0, wire=False, seed=3):
        network = SimulatedNetwork(seed=seed, loss=loss, wire=wire)
        members = swim_cluster(size, network=network, seed=seed, config=config)
        network.run_for(5.0)
        victim = members[size // 2]
        network.kill(victim.addr)
        died_at = network.now
        others = [m for m in members if m is not victim]
        bound = detection_bound(config, size)
        self.assertTrue(
            network.run_until_true(lambda: everyone_sees(others, victim.name, Status.DEAD), bound)
        )
        # Everyone got there through suspicion, and no one else was blamed.
        self.assertTrue(all(m.status_of(o.name) == Status.ALIVE for m in others for o in others))
        return network.now - died_at

    def test_five_members_lan(self):
        self.check_killed_member_declared_dead(5, SwimConfig.lan(), wire=True)

    def test_fifty_members_with_five_percent_loss(self):
        self.check_killed_member_declared_dead(50, SwimConfig.lan(), loss=0.05)

    def test_five_hundred_members(self):
        elapsed = self.check_killed_member_declared_dead(500, SwimConfig.lan())
        # With timely confirmations the suspicion runs near its minimum.
        self.assertLess(elapsed, 2 * 1.0 + suspicion_timeout(4, 500, 1.0) + 3.0)

    def test_wan_profile(self):
        self.check_killed_member_declared_dead(20, SwimConfig.wan())

    def test_local_profile(self):
        self.check_killed_member_declared_dead(10, SwimConfig.local())

    def test_encrypted_cluster(self):
        network = SimulatedNetwork(seed=5, wire=True, keyring=Keyring([bytes(range(32))]))
        members = swim_cluster(8, network=network, seed=5)
        network.run_for(3.0)
        network.kill(members[0].addr)
        self.assertTrue(
            network.run_until_true(
                lambda: everyone_sees(members[1:], members[0].name, Status.DEAD), 40.0
            )
        )
        self.assertEqual(network.stats.packets_undecodable, 0)


class PartitionTests(SynchronousTestCase):
    def test_isolated_member_is_suspected_then_declared_dead(self):
        network = SimulatedNetwork(seed=11)
        members = swim_cluster(30, network=network, seed=11)
        lonely = members[0]
        seen = []
        blamed_by_lonely = set()

        def record(addr, event, now):
            if isinstance(event, effects.MemberEvent):
                seen.append((event.kind, event.member.name))
                if addr == lonely.addr and event.kind == effects.DEAD:
                    blamed_by_lonely.add(event.member.name)

        network.listen(record)
        network.run_for(2.0)
        network.partition([lonely.addr])
        self.assertTrue(
            network.run_until_true(
                lambda: everyone_sees(members[1:], lonely.name, Status.DEAD), 60.0
            )
        )
        self.assertIn((effects.SUSPECT, lonely.name), seen)
        # From its side everyone else went away, but no relay even nacked, so
        # Lifeguard's awareness makes it slow to blame them.
        self.assertGreaterEqual(lonely.health_score, 3)
        self.assertLess(len(blamed_by_lonely), len(members) - 1)
        network.run_for(400.0)
        self.assertEqual(blamed_by_lonely, {m.name for m in members[1:]})

    def test_short_partition_heals_by_refutation(self):
        """Healed before the suspicion runs out: nobody is declared dead."""
        network = SimulatedNetwork(seed=12)
        members = swim_cluster(20, network=network, seed=12)
        deaths = []
        network.listen(
            lambda addr, e, now: deaths.append(e)
            if isinstance(e, effects.MemberEvent) and e.kind == effects.DEAD
            else None
        )
        network.run_for(2.0)
        network.partition([members[0].addr])
        network.run_for(4.0)
        network.heal()
        network.run_for(60.0)
        self.assertEqual(deaths, [])
        self.assertTrue(all(m.status_of(o.name) == Status.ALIVE for m in members for o in members))

    def test_long_partition_merges_through_push_pull(self):
        network = SimulatedNetwork(seed=13)
        members = swim_cluster(24, network=network, seed=13)
        left, right = members[:12], members[12:]
        network.run_for(2.0)
        network.partition([m.addr for m in left], [m.addr for m in right])
        # Long enough for each side to declare the other dead and forget it.
        network.run_for(150.0)
        self.assertTrue(all(nobody_knows(left, m.name) for m in right))
        network.heal()
        network.call(left[0].addr, "join", [right[0].addr])
        self.assertTrue(
            network.run_until_true(
                lambda: all(m.status_of(o.name) == Status.ALIVE for m in members for o in members),
                30.0,
            )
        )


class SlowMemberTests(SynchronousTestCase):
    def test_stalled_member_refutes_its_suspicion(self):
        network = SimulatedNetwork(seed=21)
        members = swim_cluster(40, network=network, seed=21)
        events = []
        network.listen(
            lambda addr, e, now: events.append((addr, e))
            if isinstance(e, effects.MemberEvent)
            else None
        )
        network.run_for(3.0)
        slow = members[5]
        network.stall(slow.addr, 5.0)
        network.run_for(60.0)
        suspected = [e for _, e in events if e.kind == effects.SUSPECT and e.member.name == slow.name]
        declared = [e for _, e in events if e.kind == effects.DEAD]
        self.assertTrue(suspected)
        self.assertEqual(declared, [])
        self.assertGreater(slow.incarnation, 1)
        self.assertTrue(everyone_sees(members, slow.name, Status.ALIVE))

    def test_stalled_members_do_not_get_healthy_ones_declared_dead(self):
        """Lifeguard: timeouts that expire while a member is frozen are its
        own fault. Frozen for longer than the suspicion timeout it may be
        declared dead itself (and then refutes), but it never gets a healthy
        member declared dead."""
        network = SimulatedNetwork(seed=22)
        members = swim_cluster(40, network=network, seed=22)
        stalled = {m.name for m in members[:4]}
        wrongly_dead = []
        network.listen(
            lambda addr, e, now: wrongly_dead.append(e)
            if isinstance(e, effects.MemberEvent)
            and e.kind == effects.DEAD
            and e.member.name not in stalled
            else None
        )
        network.run_for(3.0)
        for member in members[:4]:
            network.stall(member.addr, 10.0)
        network.run_for(120.0)
        self.assertEqual(wrongly_dead, [])
        network.run_for(200.0)  # and they come back through push-pull
        self.assertTrue(all(m.status_of(o.name) == Status.ALIVE for m in members for o in members))


class JoinTests(SynchronousTestCase):
    def test_new_member_joins_through_one_address_and_everyone_learns_it(self):
        network = SimulatedNetwork(seed=31, wire=True)
        members = swim_cluster(40, network=network, seed=31)
        network.run_for(2.0)
        (newcomer,) = swim_cluster(1, network=network, seed=31, joined=False, first_index=40)
        network.call(newcomer.addr, "join", [members[7].addr])
        everyone = members + [newcomer]
        self.assertTrue(
            network.run_until_true(
                lambda: all(m.status_of(o.name) == Status.ALIVE for m in everyone for o in everyone),
                10.0,
            )
        )

    def test_cluster_forms_from_nothing(self):
        network = SimulatedNetwork(seed=32)
        members = swim_cluster(30, network=network, seed=32, joined=False)
        for member in members[1:]:
            network.call(member.addr, "join", [members[0].addr])
        self.assertTrue(
            network.run_until_true(
                lambda: all(m.status_of(o.name) == Status.ALIVE for m in members for o in members),
                30.0,
            )
        )

    def test_leaving_member_is_seen_as_left_by_everyone(self):
        network = SimulatedNetwork(seed=33)
        members = swim_cluster(30, network=network, seed=33)
        finished = []
        network.listen(
            lambda addr, e, now: finished.append(addr) if isinstance(e, effects.LeaveFinished) else None
        )
        network.run_for(2.0)
        leaver = members[3]
        network.call(leaver.addr, "leave")
        self.assertTrue(network.run_until_true(lambda: finished == [leaver.addr], 10.0))
        network.kill(leaver.addr)
        self.assertTrue(
            network.run_until_true(lambda: everyone_sees(members, leaver.name, Status.LEFT), 10.0)
        )
        network.run_for(20.0)
        self.assertTrue(everyone_sees(members, leaver.name, Status.LEFT))
