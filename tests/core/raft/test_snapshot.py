"""Log compaction and snapshots sent to lagging followers (paper §7)."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import SnapshotRequest
from pyconsul.core.raft.progress import ProgressState
from pyconsul.testing.raft import CheckedRaftNetwork


def lagging_follower(trailing=0):
    """a leads; c misses 30 entries that a then compacts away."""
    net = CheckedRaftNetwork("abc")
    net.elect("a")
    net.isolate("c")
    leader = net.nodes["a"]
    for n in range(30):
        leader.propose(b"%d" % n)
    net.run()
    net.compact("a", trailing)
    return net, leader


class SnapshotTests(SynchronousTestCase):
    expected = [b"%d" % n for n in range(30)]

    def test_7_a_follower_behind_the_compacted_log_installs_the_snapshot(self):
        net, leader = lagging_follower(trailing=5)
        self.assertGreater(net.stores["a"].first_index(), 20)
        sent = []
        net.filters.append(lambda m: isinstance(m, SnapshotRequest) and sent.append(m) and False)
        net.heal()
        net.tick(3)
        self.assertEqual(len(sent), 1)
        c = net.nodes["c"]
        self.assertEqual(net.snapshots["c"][0], net.snapshots["a"][0])
        self.assertEqual(net.applied["c"], self.expected)
        self.assertEqual(c.log.last_index(), leader.log.last_index())
        self.assertEqual(leader.progress["c"].state, ProgressState.REPLICATE)
        # It goes on from the snapshot, and restarts from it too.
        leader.propose(b"after")
        net.run()
        net.restart("c")
        net.tick(2)
        self.assertEqual(net.applied["c"], self.expected + [b"after"])
        net.check_state_machines()

    def test_7_a_follower_behind_only_the_trailing_entries_gets_no_snapshot(self):
        net = CheckedRaftNetwork("abc")
        net.elect("a")
        leader = net.nodes["a"]
        for n in range(10):
            leader.propose(b"%d" % n)
            net.run()
        net.isolate("c")
        leader.propose(b"late")
        net.run()
        net.compact("a", trailing=5)
        net.heal()
        net.tick(3)
        self.assertEqual(net.snapshots["c"][0].index, 0)
        self.assertEqual(net.applied["c"][-1], b"late")

    def test_7_a_failed_transfer_is_retried_after_a_heartbeat(self):
        net, leader = lagging_follower()
        lose = [True]
        net.filters.append(lambda m: isinstance(m, SnapshotRequest) and lose[0])
        net.heal()
        net.tick(1)
        # The driver reported the failure: back to probing, not at once.
        progress = leader.progress["c"]
        self.assertEqual(progress.state, ProgressState.PROBE)
        self.assertTrue(progress.probe_sent)
        lose[0] = False
        net.tick(2)
        self.assertEqual(net.applied["c"], self.expected)

    def test_7_report_snapshot_success_probes_from_the_snapshot(self):
        net, leader = lagging_follower()
        held = []
        net.filters.append(lambda m: isinstance(m, SnapshotRequest) and not held.append(m))
        net.heal()
        net.tick(1)
        progress = leader.progress["c"]
        # The filter dropped it, so the harness reported a failure; say the
        # bytes arrived after all.
        progress.become_snapshot(net.snapshots["a"][0].index)
        leader.report_snapshot("c", True)
        self.assertEqual(progress.state, ProgressState.PROBE)
        self.assertEqual(progress.next, net.snapshots["a"][0].index + 1)

    def test_7_report_unreachable_sends_a_replicating_follower_back_to_probing(self):
        net = CheckedRaftNetwork("abc")
        net.elect("a")
        leader = net.nodes["a"]
        progress = leader.progress["b"]
        self.assertEqual(progress.state, ProgressState.REPLICATE)
        leader.report_unreachable("b")
        self.assertEqual(progress.state, ProgressState.PROBE)
        net.tick(1)  # the next heartbeat probes, and the answer resumes replication
        self.assertEqual(progress.state, ProgressState.REPLICATE)
