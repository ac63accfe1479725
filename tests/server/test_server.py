"""The server's leader duties and its behaviour without a leader."""

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.server.errors import NoClusterLeader
from pyconsul.server.tombstones import TombstoneGC
from pyconsul.testing.server import InMemoryServer
from pyconsul.state import commands


class TombstoneGCTests(SynchronousTestCase):
    def test_reaps_after_the_ttl_in_bins(self):
        clock = Clock()
        reaped = []
        gc = TombstoneGC(clock, lambda index: reaped.append(index) or succeed(None), ttl=60, granularity=10)
        gc.set_enabled(True)
        clock.advance(1)
        gc.hint(5)  # expires at 61, rounded up to 70
        clock.advance(2)
        gc.hint(9)  # same bin: one timer, the highest index
        self.assertEqual(gc.pending(), [9])
        clock.advance(66.9)
        self.assertEqual(reaped, [])
        clock.advance(0.2)
        self.assertEqual(reaped, [9])

    def test_only_the_leader_reaps(self):
        clock = Clock()
        reaped = []
        gc = TombstoneGC(clock, reaped.append, ttl=60, granularity=10)
        gc.hint(5)
        self.assertEqual(gc.pending(), [])
        gc.set_enabled(True)
        gc.hint(6)
        gc.set_enabled(False)
        clock.advance(100)
        self.assertEqual(reaped, [])


class ServerTests(SynchronousTestCase):
    def test_deletions_are_reaped_through_raft(self):
        agent = InMemoryServer()
        for command in (commands.kv_set("a/x", b"1"), commands.kv_delete("a/x")):
            d = agent.server.apply(command)
            agent.advance()
            self.successResultOf(d)
        self.assertIn("a/x", agent.fsm.store.kv.tombstones)
        agent.advance(15 * 60 + 31)
        self.assertNotIn("a/x", agent.fsm.store.kv.tombstones)

    def test_without_a_leader_writes_fail_after_the_hold_timeout(self):
        # Not bootstrapped: no configuration, so no election, ever.
        agent = InMemoryServer(bootstrap=False)
        self.assertFalse(agent.driver.known_leader)
        d = agent.server.apply(commands.kv_set("a", b"1"))
        agent.advance(6.9)
        self.assertNoResult(d)
        agent.advance(0.2)
        self.failureResultOf(d, NoClusterLeader)
