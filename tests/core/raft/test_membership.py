"""Membership changes one server at a time (thesis §4.1-§4.2)."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import (
    AppendRequest,
    Configuration,
    ConfigurationChangeInProgress,
    EntryType,
    NotLeader,
    Role,
    Server,
)
from pyconsul.testing.raft import CheckedRaftNetwork


def cluster(ids="abcd", members="abc", **options):
    net = CheckedRaftNetwork(ids, members=members, **options)
    net.elect("a")
    return net, net.nodes["a"]


def voters(node):
    return "".join(sorted(node.configuration.voters))


class AddServerTests(SynchronousTestCase):
    def test_4_1_a_new_server_catches_up_and_votes(self):
        net, leader = cluster()
        leader.propose(b"before")
        net.run()
        # Before it is added, d knows no configuration and never campaigns.
        net.tick(net.election_ticks * 3)
        self.assertEqual((net.nodes["d"].role, net.nodes["d"].term), (Role.FOLLOWER, 0))
        index = leader.add_server("d", "addr-d")
        net.tick(2)
        d = net.nodes["d"]
        self.assertGreaterEqual(leader.log.committed, index)
        self.assertEqual(voters(d), "abcd")
        self.assertEqual(net.applied["d"], [b"before"])
        # With four voters the quorum is three: a and b alone commit nothing.
        net.partition("ab", "cd")
        leader.propose(b"needs three")
        net.run()
        self.assertEqual(net.applied["b"], [b"before"])
        net.heal()
        net.tick(2)
        self.assertEqual(net.applied["d"], [b"before", b"needs three"])

    def test_4_1_a_configuration_is_in_effect_once_appended(self):
        net, leader = cluster()
        net.isolate("b")
        net.isolate("c")
        leader.add_server("d", "addr-d")
        self.assertEqual(voters(leader), "abcd")
        self.assertEqual(leader.configuration_at(leader.log.committed).voters, frozenset("abc"))

    def test_4_1_a_non_voter_replicates_but_neither_votes_nor_campaigns(self):
        net, leader = cluster()
        leader.add_server("d", "addr-d", voter=False)
        leader.propose(b"x")
        net.tick(net.election_ticks * 3)
        d = net.nodes["d"]
        self.assertEqual(net.applied["d"], [b"x"])
        self.assertEqual(leader.configuration.quorum(), 2)
        net.crash("a")
        net.tick(net.election_ticks * 3)
        self.assertIs(d.role, Role.FOLLOWER)
        self.assertIn(net.leader().id, "bc")
        # Promoting it is one change.
        net.leader().add_server("d", "addr-d", voter=True)
        net.tick(2)
        self.assertEqual(voters(d), "abcd")


class OneChangeAtATimeTests(SynchronousTestCase):
    def test_4_1_a_change_waits_for_the_previous_one_to_commit(self):
        net, leader = cluster("abcde")
        net.isolate("b")
        net.isolate("c")
        leader.add_server("d", "addr-d")
        net.run()
        with self.assertRaises(ConfigurationChangeInProgress):
            leader.add_server("e", "addr-e")
        net.heal()
        net.tick(2)
        leader.add_server("e", "addr-e")
        net.tick(2)
        self.assertEqual(voters(net.nodes["e"]), "abcde")

    def test_4_1_a_new_leader_changes_nothing_before_its_term_commits(self):
        # Ongaro's 2015 correction to single-server changes: otherwise a
        # change of a deposed leader that it never committed, and one of the
        # new leader, could together make two disjoint majorities.
        net, _ = cluster()
        net.isolate("c")
        net.filters.append(lambda m: isinstance(m, AppendRequest) and m.src == "b")
        net.elect("b")  # a votes for b, but none of b's entries get out
        b = net.nodes["b"]
        self.assertIs(b.role, Role.LEADER)
        with self.assertRaises(ConfigurationChangeInProgress):
            b.add_server("d", "addr-d")
        net.filters = []
        net.tick(2)
        self.assertGreaterEqual(b.log.committed, b.term_start_index)
        b.add_server("d", "addr-d")

    def test_4_1_two_changes_at_once_are_refused(self):
        net, leader = cluster("abcde")
        two_more = Configuration(
            leader.configuration.servers + (Server("d", "d"), Server("e", "e"))
        )
        with self.assertRaises(ValueError):
            leader.change_configuration(two_more)
        swap = Configuration([Server("a", "addr-a"), Server("b", "addr-b"), Server("d", "addr-d")])
        with self.assertRaises(ValueError):
            leader.change_configuration(swap)
        with self.assertRaises(ValueError):
            leader.change_configuration(leader.configuration)
        with self.assertRaises(ValueError):
            leader.remove_server("e")
        self.assertEqual(voters(leader), "abc")

    def test_4_1_configuration_entries_are_refused_from_propose_too(self):
        net, leader = cluster("abcde")
        two_more = Configuration(
            leader.configuration.servers + (Server("d", "d"), Server("e", "e"))
        )
        with self.assertRaises(ValueError):
            leader.propose(two_more.encode(), EntryType.CONFIGURATION)

    def test_4_1_only_the_leader_changes_the_configuration(self):
        net, _ = cluster()
        with self.assertRaises(NotLeader):
            net.nodes["b"].add_server("d", "addr-d")
        with self.assertRaises(NotLeader):
            net.nodes["b"].remove_server("c")


class RemoveServerTests(SynchronousTestCase):
    def test_4_1_a_removed_follower_is_no_longer_counted(self):
        net, leader = cluster()
        leader.remove_server("c")
        net.tick(2)
        self.assertEqual(voters(leader), "ab")
        net.crash("c")
        leader.propose(b"without c")
        net.tick(net.election_ticks * 3)
        self.assertEqual(net.applied["b"], [b"without c"])
        self.assertIs(leader.role, Role.LEADER)

    def test_4_2_2_a_removed_leader_leads_until_the_change_commits(self):
        net, leader = cluster()
        net.cut.update({("a", "b"), ("a", "c")})
        index = leader.remove_server("a")
        net.run()
        # Not committed yet: a still leads, without counting itself, and
        # still takes proposals.
        self.assertIs(leader.role, Role.LEADER)
        self.assertEqual(voters(leader), "bc")
        leader.propose(b"during")
        net.heal()
        net.tick(3)
        # Once committed, a steps down and hands over to an up-to-date voter.
        self.assertGreaterEqual(net.nodes["b"].log.committed, index)
        self.assertIs(leader.role, Role.FOLLOWER)
        new_leader = net.leader()
        self.assertIn(new_leader.id, "bc")
        self.assertEqual(net.applied[new_leader.id], [b"during"])

    def test_4_2_2_a_removed_server_never_campaigns(self):
        net, leader = cluster()
        led_in = leader.term
        leader.remove_server("a")
        net.run()
        net.tick(net.election_ticks * 10)
        self.assertIs(leader.role, Role.FOLLOWER)
        self.assertEqual([t for t, i in net.leader_of_term.items() if i == "a"], [led_in])

    def test_4_2_2_a_removed_leader_that_fails_before_committing_can_finish(self):
        # a appended the configuration without itself, then crashed before
        # anyone else stored it; when it restarts it is the only one with
        # the change, and must be able to lead again to commit it.
        net, leader = cluster(ids="abc", members="ab")
        net.isolate("b")
        leader.remove_server("a")
        net.run()
        net.crash("a")
        net.heal()
        net.start("a")
        net.tick_until(lambda: voters(net.nodes["b"]) == "b" and net.leader() is net.nodes["b"])
        self.assertIs(net.nodes["a"].role, Role.FOLLOWER)

    def test_4_2_3_a_removed_server_that_missed_its_removal_does_not_disrupt(self):
        net, leader = cluster()
        net.isolate("c")
        leader.remove_server("c")
        net.run()
        net.heal()
        term = leader.term
        # c still thinks it is a member; it times out again and again, but
        # its requests are ignored while a leads (and pre-votes fail).
        net.tick(net.election_ticks * 10)
        self.assertIs(leader.role, Role.LEADER)
        self.assertEqual((leader.term, net.nodes["b"].term), (term, term))
        self.assertNotEqual(net.nodes["c"].role, Role.LEADER)
