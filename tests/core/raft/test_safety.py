"""Raft's safety properties (paper §5.2-§5.4, Figure 3), one test per claim.

The tests run on :class:`CheckedRaftNetwork`, which also checks every
property on each message, tick and write, so each scenario is verified
throughout and not only at its end.
"""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import AppendRequest, EntryType, Role
from pyconsul.testing.raft import CheckedRaftNetwork


def log_of(node):
    entries = node.log.entries(node.log.first_index(), node.log.last_index() + 1)
    return [(e.index, e.term, e.data) for e in entries]


def propose_on_leader(net, data):
    leader = net.leader()
    leader.propose(data)
    net.run()
    return leader


class ElectionSafetyTests(SynchronousTestCase):
    def test_5_2_at_most_one_leader_per_term_under_partitions(self):
        # Elections under changing partitions and message loss; the network
        # fails the test if two servers ever lead the same term.
        for seed in range(10):
            net = CheckedRaftNetwork("abcde", seed=seed)
            net.drop_rate = 0.1
            for round_ in range(8):
                ids = list("abcde")
                net.rng.shuffle(ids)
                net.heal()
                net.partition(ids[:2], ids[2:])
                net.tick(net.election_ticks * 2)
                net.check()
            self.assertGreater(len(net.leader_of_term), 1)


class LogMatchingTests(SynchronousTestCase):
    def test_5_3_same_index_and_term_means_same_log_up_to_there(self):
        net = CheckedRaftNetwork("abcde", seed=4)
        net.elect("a")
        # Leaders of several terms leave different suffixes on different
        # servers: a's term-2 entries reach only b; c's term-3 ones only d.
        net.partition("ab", "cde")
        propose_on_leader(net, b"a1")
        propose_on_leader(net, b"a2")
        net.heal()
        net.partition("ab", "cde")
        net.elect("c")
        net.partition("ab", "cd", "e")
        net.nodes["c"].propose(b"c1")
        net.run()
        net.heal()
        net.partition("ab", "cd", "e")
        logs = {i: log_of(n) for i, n in net.nodes.items()}
        self.assertNotEqual(logs["b"], logs["d"])
        for x in logs.values():
            for y in logs.values():
                common = {(i, t) for i, t, _ in x} & {(i, t) for i, t, _ in y}
                for index, _ in common:
                    self.assertEqual(x[:index], y[:index])
        # Once healed, the leader's log replaces every conflicting suffix.
        net.heal()
        net.tick(net.election_ticks * 3)
        leader_log = log_of(net.leader())
        for node in net.nodes.values():
            self.assertEqual(log_of(node), leader_log)

    def test_5_3_a_follower_refuses_entries_that_do_not_follow_its_log(self):
        net = CheckedRaftNetwork("abc")
        net.elect("a")
        b = net.nodes["b"]
        last = b.log.last_index()
        b.step(AppendRequest(b.term, "a", "b", last + 3, b.term, (), 0))
        (answer,) = b.ready().messages
        self.assertFalse(answer.success)
        self.assertEqual(answer.hint, last)
        self.assertEqual(b.log.last_index(), last)


class LeaderCompletenessTests(SynchronousTestCase):
    def test_5_4_every_later_leader_holds_the_committed_entries(self):
        for seed in range(5):
            net = CheckedRaftNetwork("abcde", seed=seed)
            net.elect("a")
            # d and e miss the entry; it commits on a, b and c.
            net.isolate("d")
            net.isolate("e")
            propose_on_leader(net, b"committed")
            self.assertEqual(net.applied["b"], [b"committed"])
            net.crash("a")
            net.heal()
            net.tick_until(lambda: net.leader() is not None and net.leader().id != "a")
            leader = net.leader()
            # Only b or c can win: d and e lack a committed entry (§5.4.1).
            self.assertIn(leader.id, "bc")
            self.assertIn(b"committed", [data for _, _, data in log_of(leader)])

    def test_5_4_1_a_candidate_with_a_stale_log_gets_no_votes(self):
        net = CheckedRaftNetwork("abc", pre_vote=False)
        net.elect("a")
        net.isolate("c")
        propose_on_leader(net, b"x")
        net.crash("a")
        net.heal()
        net.elect("c")
        self.assertIs(net.nodes["c"].role, Role.CANDIDATE)
        self.assertFalse(net.nodes["c"].votes["b"])


class CommitRuleTests(SynchronousTestCase):
    """Paper §5.4.2 and its Figure 8, with servers a-e for S1-S5.

    Every new leader appends a no-op, so the figure's indexes are shifted by
    the configuration entry and a's first no-op; the scenario is the same.
    """

    def figure_8_until_c(self):
        net = CheckedRaftNetwork("abcde", seed=8, max_append_entries=1)
        net.elect("a")  # term 2; its no-op commits everywhere (index 2)
        # (a) a replicates an entry of term 2 to b only.
        net.partition("ab", "cde")
        propose_on_leader(net, b"term 2")
        # (b) a crashes; e wins term 3 with c and d, and appends its no-op,
        # which reaches nobody.
        net.crash("a")
        net.heal()
        net.filters.append(lambda m: isinstance(m, AppendRequest) and m.src == "e")
        net.elect("e")
        self.assertIs(net.nodes["e"].role, Role.LEADER)
        self.assertEqual(net.nodes["e"].term, 3)
        # (c) e crashes; a restarts and wins term 4 with b, c and d, then
        # copies its term-2 entry to c, but not yet its term-4 no-op.
        net.crash("e")
        net.filters = [
            lambda m: isinstance(m, AppendRequest) and any(x.term == 4 for x in m.entries)
        ]
        net.start("a")
        net.elect("a")  # term 3 is lost: c and d voted for e in it
        net.elect("a")
        a = net.nodes["a"]
        self.assertEqual(a.term, 4)
        old_entry = a.log.entries(3, 4)[0]
        self.assertEqual((old_entry.term, old_entry.data), (2, b"term 2"))
        for node_id, prev_index, entries in (("b", 3, ()), ("c", 2, (old_entry,))):
            net.nodes[node_id].step(AppendRequest(4, "a", node_id, prev_index, 2, entries, 2))
        net.run()
        return net, a

    def test_5_4_2_an_old_term_entry_on_a_majority_is_not_committed(self):
        net, a = self.figure_8_until_c()
        holders = [i for i in "abcd" if net.nodes[i].log.term(3) == 2]
        self.assertEqual(holders, ["a", "b", "c"])  # three of five
        self.assertEqual([a.progress[i].match for i in "bc"], [3, 3])  # and a knows it
        self.assertEqual(a.log.committed, 2)
        # (d) And rightly so: a crashes, e wins term 5 (its last term, 3,
        # beats their 2) and replaces the entry everywhere.
        net.crash("a")
        net.filters = []
        net.start("e")
        net.elect("e")  # term 4 is a's
        net.elect("e")
        net.tick(3)
        e = net.nodes["e"]
        self.assertIs(e.role, Role.LEADER)
        self.assertEqual(e.term, 5)
        for node_id in "bcd":
            self.assertEqual(net.nodes[node_id].log.term(3), 3)
            self.assertEqual(net.applied[node_id], [])

    def test_5_4_2_it_commits_once_an_entry_of_the_current_term_does(self):
        net, a = self.figure_8_until_c()
        # (e) a's term-4 no-op reaches a majority: both entries commit, and
        # e can no longer win an election.
        net.filters = []
        net.tick(3)  # the lost no-op is sent again
        self.assertGreaterEqual(a.log.committed, 4)
        self.assertEqual(net.applied["a"], [b"term 2"])
        net.crash("a")
        net.start("e")
        for _ in range(3):
            net.elect("e")
            self.assertIsNot(net.nodes["e"].role, Role.LEADER)


class StateMachineSafetyTests(SynchronousTestCase):
    def test_5_4_3_servers_apply_the_same_entries_in_the_same_order(self):
        for seed in range(5):
            net = CheckedRaftNetwork("abcde", seed=seed)
            counter = 0
            for round_ in range(10):
                net.tick_until(lambda: net.leader() is not None)
                leader = net.leader()
                for _ in range(5):
                    counter += 1
                    leader.propose(b"%d" % counter)
                net.run()
                # Crash the leader and one more at random, restart the last
                # ones: leaders change with entries in flight.
                net.crash(leader.id)
                others = sorted(net.nodes)
                net.crash(net.rng.choice(others))
                for node_id in net.crashed:
                    if node_id != leader.id:
                        net.start(node_id)
                net.tick(2)
                net.start(leader.id)
            net.tick(net.election_ticks * 3)
            net.check_state_machines()
            longest = max(net.applied.values(), key=len)
            self.assertGreater(len(longest), 20)
            for applied in net.applied.values():
                self.assertEqual(applied, longest[: len(applied)])
            commands = [e for e in net.committed.values() if e.type is EntryType.COMMAND]
            self.assertEqual(len(commands), len(longest))
