"""Leadership transfer (thesis §3.10)."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import LeadershipTransferInProgress, NotLeader, Role, TimeoutNow
from pyconsul.testing.raft import CheckedRaftNetwork


def cluster(ids="abc", **options):
    net = CheckedRaftNetwork(ids, **options)
    net.elect("a")
    net.tick(1)
    return net, net.nodes["a"]


class TransferTests(SynchronousTestCase):
    def test_3_10_an_up_to_date_target_takes_over_at_once(self):
        # Five servers: the target needs a vote from a follower that heard
        # from a just now, so the followers must waive a's lease.
        net, leader = cluster("abcde")
        term = leader.term
        self.assertEqual(leader.transfer_leadership("c"), "c")
        net.run()
        c = net.nodes["c"]
        self.assertIs(c.role, Role.LEADER)
        self.assertEqual(c.term, term + 1)
        self.assertIs(leader.role, Role.FOLLOWER)
        self.assertEqual(leader.leader, "c")

    def test_3_10_a_lagging_target_is_brought_up_to_date_first(self):
        net, leader = cluster()
        net.isolate("c")
        for n in range(20):
            leader.propose(b"%d" % n)
        net.run()
        net.heal()
        sent = []
        net.filters.append(lambda m: isinstance(m, TimeoutNow) and sent.append(m))
        leader.transfer_leadership("c")
        # No new entries while the target catches up.
        with self.assertRaises(LeadershipTransferInProgress):
            leader.propose(b"refused")
        with self.assertRaises(LeadershipTransferInProgress):
            leader.add_server("d", "addr-d")
        net.tick(2)
        self.assertEqual(len(sent), 1)
        c = net.nodes["c"]
        self.assertIs(c.role, Role.LEADER)
        self.assertEqual(net.applied["c"][:20], [b"%d" % n for n in range(20)])
        with self.assertRaises(NotLeader):
            leader.propose(b"too late")

    def test_3_10_without_a_target_the_most_up_to_date_voter_is_chosen(self):
        net, leader = cluster()
        net.isolate("b")
        leader.propose(b"b misses this")
        net.run()
        net.heal()
        self.assertEqual(leader.transfer_leadership(), "c")

    def test_3_10_the_transfer_is_abandoned_after_an_election_timeout(self):
        net, leader = cluster()
        net.crash("c")
        leader.transfer_leadership("c")
        net.tick(net.election_ticks - 1)
        self.assertEqual(leader.transfer_target, "c")
        net.tick(1)
        self.assertIsNone(leader.transfer_target)
        self.assertIs(leader.role, Role.LEADER)
        leader.propose(b"accepted again")

    def test_3_10_bad_targets_are_refused(self):
        net, leader = cluster("abcd")
        leader.add_server("d", "addr-d", voter=False)
        net.run()
        for target in ("a", "d", "z"):
            with self.assertRaises(ValueError):
                leader.transfer_leadership(target)
        with self.assertRaises(NotLeader):
            net.nodes["b"].transfer_leadership("c")
        lone = CheckedRaftNetwork("a")
        lone.tick(1)
        with self.assertRaises(ValueError):
            lone.nodes["a"].transfer_leadership()

    def test_3_10_timeout_now_makes_a_follower_campaign_without_pre_vote(self):
        net, leader = cluster()
        b = net.nodes["b"]
        b.step(TimeoutNow(leader.term, "a", "b"))
        self.assertIs(b.role, Role.CANDIDATE)
        requests = b.ready().messages
        self.assertEqual({m.pre_vote for m in requests}, {False})
        self.assertEqual({m.transfer_term for m in requests}, {leader.term})
