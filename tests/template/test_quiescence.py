"""Quiescence: bursts of changes become one action, one action at a time."""

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template.quiescence import Quiescence


class QuiescenceTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.runs = []  # (time, sorted items)
        self.blocking = None  # a Deferred the next action returns, if set

    def action(self, items):
        self.runs.append((round(self.clock.seconds(), 3), sorted(items)))
        return self.blocking

    def quiescence(self, quiet=0.02, max_delay=0.08):
        q = Quiescence(self.clock, self.action, quiet, max_delay)
        self.addCleanup(q.stop)
        return q

    def test_one_change_runs_after_the_quiet_time(self):
        q = self.quiescence()
        q.add(["a"])
        self.clock.advance(0.019)
        self.assertEqual(self.runs, [])
        self.clock.advance(0.001)
        self.assertEqual(self.runs, [(0.02, ["a"])])

    def test_a_burst_is_one_run(self):
        q = self.quiescence()
        for n in range(5):
            q.add(["r%d" % (n % 2)])
            self.clock.advance(0.005)
        self.assertEqual(self.runs, [])
        self.clock.advance(0.015)
        self.assertEqual(self.runs, [(0.04, ["r0", "r1"])])

    def test_a_steady_stream_still_runs_every_max_delay(self):
        q = self.quiescence(quiet=0.02, max_delay=0.08)
        for _ in range(40):  # a change every 10 ms for 400 ms
            q.add(["a"])
            self.clock.advance(0.01)
        self.assertEqual([t for t, _ in self.runs], [0.08, 0.16, 0.24, 0.32, 0.4])

    def test_nothing_to_do(self):
        q = self.quiescence()
        q.add([])
        self.clock.advance(1)
        self.assertEqual(self.runs, [])

    def test_changes_during_a_run_wait_for_it_then_run_at_once(self):
        q = self.quiescence()
        self.blocking = Deferred()
        q.add(["a"])
        self.clock.advance(0.02)
        first = self.blocking
        self.blocking = None
        q.add(["b"])
        q.add(["c"])
        self.clock.advance(0.5)
        self.assertEqual(len(self.runs), 1)
        self.assertTrue(q.running)
        first.callback(None)
        self.assertEqual(self.runs, [(0.02, ["a"]), (0.52, ["b", "c"])])

    def test_a_run_ending_before_the_quiet_time_leaves_the_timer(self):
        q = self.quiescence()
        self.blocking = Deferred()
        q.add(["a"])
        self.clock.advance(0.02)
        first = self.blocking
        self.blocking = None
        q.add(["b"])
        first.callback(None)
        self.assertEqual(len(self.runs), 1)
        self.clock.advance(0.02)
        self.assertEqual(self.runs[-1], (0.04, ["b"]))

    def test_a_failing_action_is_logged_and_does_not_stop_later_runs(self):
        def broken(items):
            raise RuntimeError("boom")

        q = Quiescence(self.clock, broken, 0.02, 0.08)
        q.add(["a"])
        self.clock.advance(0.02)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        q.action = self.action
        q.add(["b"])
        self.clock.advance(0.02)
        self.assertEqual(self.runs, [(0.04, ["b"])])

    def test_stop_drops_what_is_pending(self):
        q = self.quiescence()
        q.add(["a"])
        q.stop()
        self.clock.advance(1)
        self.assertEqual(self.runs, [])
