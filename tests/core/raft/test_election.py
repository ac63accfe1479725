"""Elections without disruptions: pre-vote (thesis §9.6), check-quorum
(thesis §6.2) and leader stickiness (thesis §4.2.3)."""

import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import (
    AppendRequest,
    Configuration,
    HardState,
    RaftNode,
    Role,
    Server,
    VoteRequest,
    VoteResponse,
)
from pyconsul.storage import Batch
from pyconsul.storage.memory import MemoryLogStore
from pyconsul.testing.raft import CheckedRaftNetwork


def settled(net, leader="a"):
    net.elect(leader)
    net.tick(2)
    return net.nodes[leader]


class PreVoteTests(SynchronousTestCase):
    def test_9_6_a_partitioned_server_does_not_raise_its_term(self):
        net = CheckedRaftNetwork("abc")
        leader = settled(net)
        term = leader.term
        net.isolate("c")
        net.tick(net.election_ticks * 10)
        c = net.nodes["c"]
        # It kept asking, and never found a quorum that would vote for it.
        self.assertIs(c.role, Role.PRE_CANDIDATE)
        self.assertEqual(c.term, term)

    def test_9_6_a_server_that_rejoins_does_not_disrupt_the_leader(self):
        net = CheckedRaftNetwork("abc")
        leader = settled(net)
        term = leader.term
        net.isolate("c")
        net.tick(net.election_ticks * 10)
        net.heal()
        net.tick(net.election_ticks * 3)
        self.assertEqual(net.leader_of_term, {term: "a"})
        self.assertIs(leader.role, Role.LEADER)
        self.assertEqual(net.nodes["c"].leader, "a")
        self.assertEqual([n.term for n in net.nodes.values()], [term] * 3)

    def test_9_6_without_pre_vote_the_rejoining_server_forces_an_election(self):
        # The problem pre-vote solves: c's term grew while it was cut off,
        # and when it rejoins, the leader hears of it and steps down.
        net = CheckedRaftNetwork("abc", pre_vote=False, check_quorum=False)
        leader = settled(net)
        term = leader.term
        net.isolate("c")
        net.tick(net.election_ticks * 10)
        self.assertGreater(net.nodes["c"].term, term + 3)
        net.heal()
        net.tick(net.election_ticks * 3)
        self.assertGreater(max(net.leader_of_term), term)

    def test_9_6_a_pre_vote_changes_no_term_and_no_vote(self):
        net = CheckedRaftNetwork("abc")
        net.tick_until(lambda: net.leader() is not None)
        net.crash(net.leader().id)
        for node in net.nodes.values():
            node.randomized_election_timeout = 1000  # nobody campaigns
        voter = net.nodes[sorted(net.nodes)[0]]
        net.tick(net.election_ticks)  # the leader's lease is over
        before = voter.hard_state
        voter.step(VoteRequest(voter.term + 1, "x", voter.id, 100, voter.term, pre_vote=True))
        (answer,) = voter.ready().messages
        self.assertEqual(
            answer, VoteResponse(voter.term + 1, voter.id, "x", True, pre_vote=True)
        )
        self.assertEqual(voter.hard_state, before)

    def test_9_6_a_pre_vote_is_refused_to_a_stale_log(self):
        net = CheckedRaftNetwork("abc")
        leader = settled(net)
        net.isolate("c")
        leader.propose(b"c misses this")
        net.run()
        net.crash("a")
        net.heal()
        b, c = net.nodes["b"], net.nodes["c"]
        for node in (b, c):
            node.randomized_election_timeout = 1000  # we say who campaigns
        net.tick(net.election_ticks)  # a's lease is over
        term = c.term
        c.campaign()
        net.run()
        # b refused: c never became a candidate, and b's term is unchanged.
        self.assertIs(c.role, Role.PRE_CANDIDATE)
        self.assertEqual(c.votes, {"b": False, "c": True})
        self.assertEqual((c.term, b.term), (term, term))
        b.campaign()
        net.run()
        self.assertIs(b.role, Role.LEADER)


class CheckQuorumTests(SynchronousTestCase):
    def test_6_2_a_leader_cut_off_from_a_majority_steps_down(self):
        net = CheckedRaftNetwork("abcde")
        leader = settled(net)
        net.partition("ab", "cde")
        # The check runs every election timeout; the first one may still
        # count messages from before the partition.
        for _ in range(2 * net.election_ticks):
            net.tick()
            if leader.role is not Role.LEADER:
                break
        self.assertIs(leader.role, Role.FOLLOWER)
        self.assertIsNone(leader.leader)
        # The majority side elects its own leader.
        net.tick_until(lambda: net.leader() is not None and net.leader().id in "cde")

    def test_6_2_a_leader_that_hears_from_a_majority_stays(self):
        net = CheckedRaftNetwork("abcde")
        leader = settled(net)
        net.partition("abc", "de")
        net.tick(net.election_ticks * 10)
        self.assertIs(leader.role, Role.LEADER)
        self.assertEqual(list(net.leader_of_term.values()), ["a"])

    def test_6_2_without_check_quorum_a_cut_off_leader_stays(self):
        net = CheckedRaftNetwork("abcde", check_quorum=False)
        leader = settled(net)
        net.partition("ab", "cde")
        net.tick(net.election_ticks * 10)
        self.assertIs(leader.role, Role.LEADER)


class LeaderStickinessTests(SynchronousTestCase):
    def test_4_2_3_a_follower_that_hears_from_its_leader_ignores_vote_requests(self):
        net = CheckedRaftNetwork("abc")
        settled(net)
        b = net.nodes["b"]
        term = b.term
        for pre_vote in (False, True):
            b.step(VoteRequest(term + 1, "c", "b", 100, term, pre_vote=pre_vote))
            self.assertEqual(b.ready().messages, ())
            self.assertEqual((b.term, b.leader), (term, "a"))

    def test_4_2_3_once_the_leader_is_silent_for_an_election_timeout_it_votes(self):
        net = CheckedRaftNetwork("abc")
        settled(net)
        net.crash("a")
        b = net.nodes["b"]
        term = b.term
        b.randomized_election_timeout = 1000  # so that b does not campaign itself
        net.tick(net.election_ticks)
        b.step(VoteRequest(term + 1, "c", "b", 100, term))
        (answer,) = b.ready().messages
        self.assertTrue(answer.granted)
        self.assertEqual(b.term, term + 1)

    def test_4_2_3_a_server_with_a_higher_term_rejoins_without_pre_vote(self):
        # c cannot win votes (they are ignored), but the leader learns of c's
        # term from c's answer to its heartbeat, steps down, and the cluster
        # elects a leader again, at a term c can follow.
        net = CheckedRaftNetwork("abc", pre_vote=False)
        settled(net)
        net.isolate("c")
        net.tick(net.election_ticks * 5)
        c_term = net.nodes["c"].term
        net.heal()
        net.tick(net.election_ticks * 6)
        leader = net.leader()
        self.assertIsNotNone(leader)
        self.assertGreater(leader.term, c_term)
        self.assertEqual({n.term for n in net.nodes.values()}, {leader.term})

    def test_4_2_3_a_server_refuses_votes_for_an_election_timeout_after_restarting(self):
        # Before it crashed it may have promised a leader not to vote for a
        # while (the lease); it cannot remember, so it assumes it did.
        store = MemoryLogStore()
        configuration = Configuration(Server(i, i) for i in "abc")
        first = RaftNode("b", store, random.Random(1))
        first.bootstrap(configuration)
        ready = first.ready()
        store.written(Batch(HardState(2, None, 1), ready.entries))
        node = RaftNode("b", store, random.Random(1))
        request = VoteRequest(3, "c", "b", 1, 1)
        node.step(request)
        self.assertEqual(node.ready().messages, ())
        node.randomized_election_timeout = 1000
        for _ in range(node.election_ticks):
            node.tick()
        node.step(request)
        (answer,) = node.ready().messages
        self.assertTrue(answer.granted)

    def test_4_2_3_a_follower_answers_a_stale_leader_with_its_term(self):
        net = CheckedRaftNetwork("abc")
        settled(net)
        b = net.nodes["b"]
        b.step(AppendRequest(b.term - 1, "x", "b", 0, 0, (), 0))
        (answer,) = b.ready().messages
        self.assertEqual((answer.term, answer.success), (b.term, False))
