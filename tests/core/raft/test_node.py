"""The Raft core, one claim of the paper per test where it applies."""

import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import (
    AppendRequest,
    Configuration,
    Entry,
    EntryType,
    NotLeader,
    RaftNode,
    Role,
    Server,
)
from pyconsul.storage import Batch
from pyconsul.storage.memory import MemoryLogStore
from pyconsul.testing.raft import CheckedRaftNetwork, RaftNetwork


def drive(node, store, applied):
    """Do one node's driver work until it has none left."""
    while node.has_ready():
        ready = node.ready()
        batch = Batch(ready.hard_state, ready.entries, ready.snapshot)
        store.write(batch)
        store.written(batch)
        applied.extend(e.data for e in ready.committed_entries if e.type is EntryType.COMMAND)
        node.advance(ready)


class SingleVoterTests(SynchronousTestCase):
    def setUp(self):
        self.store = MemoryLogStore()
        self.applied = []
        self.node = RaftNode("a", self.store, random.Random(1))
        self.node.bootstrap(Configuration([Server("a", "127.0.0.1:8300")]))
        drive(self.node, self.store, self.applied)

    def test_becomes_leader_on_first_tick(self):
        self.assertEqual(self.node.role, Role.FOLLOWER)
        self.node.tick()
        self.assertEqual(self.node.role, Role.LEADER)
        self.assertEqual(self.node.term, 2)

    def test_proposal_commits_after_it_is_persisted(self):
        self.node.tick()
        drive(self.node, self.store, self.applied)
        index = self.node.propose(b"x")
        ready = self.node.ready()
        self.assertEqual([e.index for e in ready.entries], [index])
        self.assertEqual(ready.committed_entries, ())
        self.store.write(Batch(ready.hard_state, ready.entries))
        self.store.written(Batch(ready.hard_state, ready.entries))
        self.node.advance(ready)
        ready = self.node.ready()
        self.assertEqual([e.data for e in ready.committed_entries], [b"x"])

    def test_a_ready_while_persisting_holds_only_what_is_on_disk(self):
        self.node.tick()
        drive(self.node, self.store, self.applied)
        self.node.propose(b"x")
        writing = self.node.ready()
        # While that batch is being written, a second proposal waits for
        # the next one, and nothing unwritten is offered for applying.
        self.node.propose(b"y")
        meanwhile = self.node.ready(persisting=True)
        self.assertEqual(
            (meanwhile.hard_state, meanwhile.entries, meanwhile.committed_entries, meanwhile.messages),
            (None, (), (), ()),
        )
        self.node.advance(meanwhile)
        batch = Batch(writing.hard_state, writing.entries)
        self.store.write(batch)
        self.store.written(batch)
        self.node.advance(writing)
        ready = self.node.ready()
        self.assertEqual([e.data for e in ready.entries], [b"y"])
        self.assertEqual([e.data for e in ready.committed_entries], [b"x"])
        # Handed out once: a Ready taken during the next write repeats nothing.
        self.assertEqual(self.node.ready(persisting=True).committed_entries, ())

    def test_propose_on_follower_raises(self):
        with self.assertRaises(NotLeader):
            self.node.propose(b"x")

    def test_restart_keeps_term_vote_and_log(self):
        self.node.tick()
        drive(self.node, self.store, self.applied)
        for n in range(5):
            self.node.propose(b"%d" % n)
        drive(self.node, self.store, self.applied)
        self.assertEqual(self.applied, [b"0", b"1", b"2", b"3", b"4"])
        restarted = RaftNode("a", self.store, random.Random(2))
        self.assertEqual(restarted.term, self.node.term)
        self.assertEqual(restarted.vote, "a")
        replayed = []
        drive(restarted, self.store, replayed)
        # Commit index persisted with the batch: the log replays at once.
        self.assertEqual(replayed, self.applied)
        restarted.tick()
        drive(restarted, self.store, replayed)
        self.assertEqual(restarted.role, Role.LEADER)
        self.assertEqual(restarted.term, self.node.term + 1)

    def test_read_index_waits_for_an_entry_of_the_term(self):
        self.node.tick()
        self.node.read_index("r1")
        self.assertEqual(self.node.read_states, [])
        drive(self.node, self.store, self.applied)
        self.node.read_index("r2")
        ready = self.node.ready()
        self.assertEqual([r[0] for r in ready.read_states], ["r2"])

    def test_read_index_after_election(self):
        self.node.tick()
        self.node.read_index("r1")
        states = []
        while self.node.has_ready():
            ready = self.node.ready()
            states.extend(ready.read_states)
            batch = Batch(ready.hard_state, ready.entries, ready.snapshot)
            self.store.write(batch)
            self.store.written(batch)
            self.node.advance(ready)
        self.assertEqual(states, [("r1", self.node.term_start_index)])


class ElectionTests(SynchronousTestCase):
    def test_5_2_a_leader_is_elected_by_timeout(self):
        net = RaftNetwork("abc", seed=3)
        net.tick(25)
        leaders = [n for n in net.nodes.values() if n.role is Role.LEADER]
        self.assertEqual(len(leaders), 1)
        terms = {n.term for n in net.nodes.values()}
        self.assertEqual(len(terms), 1)

    def test_5_2_election_safety_one_leader_per_term(self):
        for seed in range(20):
            net = RaftNetwork("abcde", seed=seed)
            leaders_by_term = {}
            for _ in range(60):
                net.tick()
                for node in net.nodes.values():
                    if node.role is Role.LEADER:
                        leaders_by_term.setdefault(node.term, set()).add(node.id)
            for term, leaders in leaders_by_term.items():
                self.assertEqual(len(leaders), 1, "term %d had %s" % (term, leaders))

    def test_5_4_1_candidate_with_stale_log_is_refused(self):
        net = RaftNetwork("abc")
        net.elect("a")
        net.isolate("c")
        net.nodes["a"].propose(b"only-a-and-b")
        net.run()
        net.heal()
        net.nodes["c"].campaign()
        net.run()
        self.assertNotEqual(net.nodes["c"].role, Role.LEADER)


class ReplicationTests(SynchronousTestCase):
    def test_5_3_entries_replicate_and_apply_everywhere(self):
        net = RaftNetwork("abc")
        net.elect("a")
        for n in range(10):
            net.nodes["a"].propose(b"%d" % n)
        net.run()
        net.tick(2)
        expected = [b"%d" % n for n in range(10)]
        for node_id in "abc":
            self.assertEqual(net.applied[node_id], expected)

    def test_proposals_made_together_travel_together(self):
        net = RaftNetwork("abc")
        net.elect("a")
        leader = net.nodes["a"]
        for n in range(3):
            leader.propose(b"%d" % n)
        appends = [m for m in leader.ready().messages if isinstance(m, AppendRequest)]
        self.assertEqual(sorted(m.dst for m in appends), ["b", "c"])
        for m in appends:
            self.assertEqual([e.data for e in m.entries], [b"0", b"1", b"2"])

    def test_10_2_1_replication_goes_on_while_disks_are_slow(self):
        # Every write lasts a round: meanwhile a leader sends what it is
        # still writing, and every server applies what is committed.
        net = CheckedRaftNetwork("abc")
        net.elect("a")
        net.slow_disk_rate = 1.0
        for n in range(30):
            net.nodes["a"].propose(b"%d" % n)
            if n % 3 == 0:
                net.run()
        net.tick(3)
        net.check_state_machines()
        for node_id in "abc":
            self.assertEqual(net.applied[node_id], [b"%d" % n for n in range(30)])

    def test_5_3_log_matching_repairs_a_divergent_follower(self):
        net = RaftNetwork("abc")
        net.elect("a")
        net.isolate("a")
        # Leader a appends entries nobody else sees.
        net.nodes["a"].propose(b"lost-1")
        net.nodes["a"].propose(b"lost-2")
        net.run()
        net.elect("b")
        net.nodes["b"].propose(b"kept")
        net.run()
        net.heal()
        net.tick(3)
        self.assertEqual(net.nodes["a"].role, Role.FOLLOWER)
        for node_id in "abc":
            self.assertEqual(net.applied[node_id], [b"kept"])

    def test_5_4_2_old_term_entries_commit_only_with_a_current_one(self):
        net = RaftNetwork("abc")
        net.elect("a")
        leader = net.nodes["a"]
        net.cut.update({("a", "b"), ("a", "c")})
        leader.propose(b"x")
        net.run()
        self.assertEqual(leader.log.committed, leader.term_start_index)
        # The entry is not committed by anyone, and the next leader must
        # commit it through an entry of its own term.
        net.heal()
        net.elect("b")
        net.tick(2)
        self.assertEqual(net.applied["b"], [])
        self.assertEqual(net.nodes["b"].log.committed, net.nodes["b"].term_start_index)

    def test_a_follower_that_restarts_catches_up(self):
        net = RaftNetwork("abc")
        net.elect("a")
        net.isolate("c")
        for n in range(200):
            net.nodes["a"].propose(b"%d" % n)
        net.run()
        net.restart("c")
        net.heal()
        net.tick(3)
        self.assertEqual(net.applied["c"], [b"%d" % n for n in range(200)])

    def test_6_4_read_index_needs_a_quorum(self):
        net = RaftNetwork("abc")
        net.elect("a")
        leader = net.nodes["a"]
        net.isolate("a")
        leader.read_index("r")
        ready_reads = []
        while leader.has_ready():
            ready = leader.ready()
            ready_reads.extend(ready.read_states)
            leader.advance(ready)
        self.assertEqual(ready_reads, [])
        net.heal()
        leader.read_index("r2")
        ready_reads = []
        for _ in range(3):
            while leader.has_ready():
                ready = leader.ready()
                ready_reads.extend(ready.read_states)
                for msg in ready.messages:
                    net.nodes[msg.dst].step(msg)
                leader.advance(ready)
            for node_id in "bc":
                node = net.nodes[node_id]
                while node.has_ready():
                    ready = node.ready()
                    for msg in ready.messages:
                        leader.step(msg)
                    node.advance(ready)
        self.assertEqual([r[0] for r in ready_reads], ["r", "r2"])

    def test_stale_term_messages_are_answered_with_the_new_term(self):
        net = RaftNetwork("abc")
        net.elect("a")
        net.elect("b")
        b = net.nodes["b"]
        b.step(AppendRequest(1, "a", "b", 0, 0, [Entry(1, 1, EntryType.NOOP)], 0))
        replies = b.ready().messages
        self.assertEqual([type(m).__name__ for m in replies], ["AppendResponse"])
        self.assertEqual(replies[0].term, b.term)
        self.assertFalse(replies[0].success)
