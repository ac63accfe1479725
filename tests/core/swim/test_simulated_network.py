"""The simulated network itself: seeded, and its faults do what they say."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.swim.effects import JoinResult
from pyconsul.core.swim.messages import Status
from pyconsul.testing.gossip import SimulatedNetwork, member_address, swim_cluster


def run(seed, loss=0.0):
    network = SimulatedNetwork(seed=seed, loss=loss)
    members = swim_cluster(20, network=network, seed=seed)
    network.run_for(30.0)
    return network, members


class SimulatedNetworkTests(SynchronousTestCase):
    def test_same_seed_same_run(self):
        first, _ = run(4, loss=0.1)
        second, _ = run(4, loss=0.1)
        self.assertEqual(
            (first.stats.packets_sent, first.stats.packets_lost, first.stats.total_bytes),
            (second.stats.packets_sent, second.stats.packets_lost, second.stats.total_bytes),
        )

    def test_loss_rate(self):
        network, _ = run(5, loss=0.2)
        rate = network.stats.packets_lost / network.stats.packets_sent
        self.assertTrue(0.15 < rate < 0.25, rate)

    def test_stalled_member_does_nothing_until_it_resumes(self):
        network, members = run(6)
        frozen = members[0]
        sent_before = network.stats.bytes_by_member[frozen.addr]
        network.stall(frozen.addr, 3.0)
        network.run_for(2.9)
        self.assertTrue(network.is_stalled(frozen.addr))
        self.assertEqual(network.stats.bytes_by_member[frozen.addr], sent_before)
        network.run_for(0.2)
        self.assertFalse(network.is_stalled(frozen.addr))
        self.assertGreater(network.stats.bytes_by_member[frozen.addr], sent_before)

    def test_streams_to_a_killed_member_are_refused(self):
        network, members = run(7)
        network.kill(members[1].addr)
        results = []
        network.listen(lambda addr, e, now: results.append(e) if isinstance(e, JoinResult) else None)
        network.call(members[0].addr, "join", [members[1].addr, member_address(999)])
        network.run_for(1.0)
        self.assertEqual(
            sorted(results), sorted([JoinResult(members[1].addr, "connection refused"),
                                     JoinResult(member_address(999), "connection refused")])
        )

    def test_streams_across_a_partition_time_out(self):
        network, members = run(8)
        network.partition([members[0].addr])
        results = []
        network.listen(lambda addr, e, now: results.append((now, e)) if isinstance(e, JoinResult) else None)
        started = network.now
        network.call(members[0].addr, "join", [members[1].addr])
        network.run_for(15.0)
        ((when, result),) = results
        self.assertEqual(result.error, "i/o timeout")
        self.assertAlmostEqual(when - started, members[0].config.tcp_timeout)

    def test_partition_blocks_both_ways_and_heal_restores(self):
        network, members = run(9)
        network.partition([m.addr for m in members[:10]], [m.addr for m in members[10:]])
        network.run_for(60.0)
        self.assertNotEqual(members[0].status_of(members[15].name), Status.ALIVE)
        self.assertTrue(network.reachable(members[0].addr, members[5].addr))
        self.assertFalse(network.reachable(members[0].addr, members[15].addr))
        network.heal()
        self.assertTrue(network.reachable(members[0].addr, members[15].addr))
