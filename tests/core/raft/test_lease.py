"""Reads on the leader: the lease (thesis §6.4.1) and ReadIndex (§6.4)."""

import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import RaftNode, Role
from pyconsul.storage.memory import MemoryLogStore
from pyconsul.testing.raft import CheckedRaftNetwork


def leader_with_lease(net, leader="a"):
    net.elect(leader)
    net.tick(1)  # one heartbeat round, answered by everyone
    node = net.nodes[leader]
    assert node.lease_valid()
    return node


class LeaseTests(SynchronousTestCase):
    def test_6_4_1_lease_defaults_to_half_the_election_timeout(self):
        node = RaftNode("a", MemoryLogStore(), random.Random(0), election_ticks=10)
        self.assertEqual(node.lease_ticks, 5)
        with self.assertRaises(ValueError):
            RaftNode("a", MemoryLogStore(), random.Random(0), election_ticks=10, lease_ticks=10)

    def test_6_4_1_a_leader_heard_by_a_quorum_holds_the_lease(self):
        net = CheckedRaftNetwork("abcde")
        leader = leader_with_lease(net)
        net.partition("abc", "de")  # a quorum still answers
        net.tick(net.election_ticks * 3)
        self.assertTrue(leader.lease_valid())
        net.check()

    def test_6_4_1_a_cut_off_leader_loses_the_lease_before_another_is_elected(self):
        net = CheckedRaftNetwork("abcde")
        leader = leader_with_lease(net)
        net.partition("ab", "cde")
        lost_at = elected_at = None
        for tick in range(1, 5 * net.election_ticks):
            net.tick()
            net.check()  # fails if a lease outlives the election of another leader
            if lost_at is None and not leader.lease_valid():
                lost_at = tick
            if net.leader() is not leader and net.leader() is not None:
                elected_at = tick
                break
        self.assertLessEqual(lost_at, leader.lease_ticks)
        self.assertIs(leader.role, Role.LEADER)  # still leading when the lease lapsed
        self.assertGreaterEqual(elected_at, net.election_ticks)

    def test_6_4_1_no_lease_without_check_quorum(self):
        net = CheckedRaftNetwork("abc", check_quorum=False)
        net.elect("a")
        net.tick(3)
        self.assertFalse(net.nodes["a"].lease_valid())

    def test_6_4_1_no_lease_once_leadership_is_being_handed_over(self):
        # The new leader's votes ignore our lease, so it must not be trusted
        # for the rest of the term, even if the handover fails.
        net = CheckedRaftNetwork("abc")
        leader = leader_with_lease(net)
        net.crash("b")
        leader.transfer_leadership("b")
        self.assertFalse(leader.lease_valid())
        net.tick(net.election_ticks + 1)
        self.assertIsNone(leader.transfer_target)
        self.assertIs(leader.role, Role.LEADER)
        self.assertFalse(leader.lease_valid())

    def test_6_4_1_only_leaders_hold_leases(self):
        net = CheckedRaftNetwork("abc")
        leader_with_lease(net)
        self.assertFalse(net.nodes["b"].lease_valid())

    def test_6_4_1_a_single_server_always_holds_its_lease(self):
        net = CheckedRaftNetwork("a")
        net.tick(1)
        self.assertTrue(net.nodes["a"].lease_valid())


class ReadIndexTests(SynchronousTestCase):
    def test_6_4_a_read_is_answered_at_the_commit_index_once_a_quorum_confirms(self):
        net = CheckedRaftNetwork("abc")
        leader = leader_with_lease(net)
        leader.propose(b"x")
        net.run()
        reads = []
        net.on_read = lambda node_id, request_id, index: reads.append((request_id, index))
        leader.read_index("r")
        self.assertEqual(reads, [])
        net.run()
        self.assertEqual(reads, [("r", leader.log.committed)])

    def test_6_4_a_cut_off_leader_confirms_no_read(self):
        net = CheckedRaftNetwork("abc")
        leader = leader_with_lease(net)
        reads = []
        net.on_read = lambda node_id, request_id, index: reads.append(request_id)
        net.isolate("a")
        leader.read_index("r")
        net.tick(net.election_ticks)
        self.assertEqual(reads, [])
