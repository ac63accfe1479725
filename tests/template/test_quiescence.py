"""Coalescer and Quiescence: changes become one action, one action at a time."""

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template.quiescence import Coalescer, Quiescence


class Turns:
    """The reactor's turns, for code that is given ``call_soon``: what is
    queued during a turn runs when :meth:`end` ends it; what that queues runs
    at the end of the next one."""

    def __init__(self):
        self.queued = []

    def call_soon(self, function, *args):
        self.queued.append((function, args))

    def end(self):
        calls, self.queued = self.queued, []
        for function, args in calls:
            function(*args)

    def settle(self):
        """End turns until nothing more is queued."""
        while self.queued:
            self.end()


class CoalescerTests(SynchronousTestCase):
    def setUp(self):
        self.turns = Turns()
        self.runs = []  # sorted items of each action
        self.blocking = None  # a Deferred the next action returns, if set

    def action(self, items):
        self.runs.append(sorted(items))
        return self.blocking

    def coalescer(self):
        c = Coalescer(self.turns.call_soon, self.action)
        self.addCleanup(c.stop)
        return c

    def test_a_change_runs_at_the_end_of_its_turn(self):
        c = self.coalescer()
        c.add(["a"])
        self.assertEqual(self.runs, [])
        self.turns.end()
        self.assertEqual(self.runs, [["a"]])
        self.assertEqual(self.turns.queued, [])

    def test_changes_in_one_turn_are_one_run(self):
        c = self.coalescer()
        for n in range(10):
            c.add(["r%d" % (n % 3)])
        self.assertEqual(len(self.turns.queued), 1)
        self.turns.end()
        self.assertEqual(self.runs, [["r0", "r1", "r2"]])

    def test_changes_in_separate_turns_are_separate_runs(self):
        c = self.coalescer()
        c.add(["a"])
        self.turns.end()
        c.add(["a"])
        self.turns.end()
        self.assertEqual(self.runs, [["a"], ["a"]])

    def test_nothing_to_do(self):
        c = self.coalescer()
        c.add([])
        self.assertEqual(self.turns.queued, [])

    def test_changes_during_a_run_run_once_when_it_ends(self):
        c = self.coalescer()
        self.blocking = Deferred()
        c.add(["a"])
        self.turns.end()
        first, self.blocking = self.blocking, None
        c.add(["b"])
        self.turns.end()
        c.add(["c"])
        self.turns.end()
        self.assertEqual(self.runs, [["a"]])
        self.assertTrue(c.running)
        first.callback(None)
        self.assertEqual(self.runs, [["a"], ["b", "c"]])
        self.assertFalse(c.running)

    def test_a_run_ending_within_the_turn_leaves_the_rest_for_its_end(self):
        c = self.coalescer()
        self.blocking = Deferred()
        c.add(["a"])
        self.turns.end()
        first, self.blocking = self.blocking, None
        c.add(["b"])
        first.callback(None)
        self.assertEqual(self.runs, [["a"]])
        self.turns.end()
        self.assertEqual(self.runs, [["a"], ["b"]])

    def test_a_failing_action_is_logged_and_does_not_stop_later_runs(self):
        def broken(items):
            raise RuntimeError("boom")

        c = Coalescer(self.turns.call_soon, broken)
        c.add(["a"])
        self.turns.end()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        c.action = self.action
        c.add(["b"])
        self.turns.end()
        self.assertEqual(self.runs, [["b"]])

    def test_stop_drops_what_is_pending(self):
        c = self.coalescer()
        done = c.add(["a"])
        c.stop()
        self.successResultOf(done)
        self.turns.settle()
        self.assertEqual(self.runs, [])

    def test_add_tells_when_its_items_have_been_acted_on(self):
        c = self.coalescer()
        self.assertIsNone(c.add([]))
        self.blocking = Deferred()
        first = c.add(["a"])
        also_first = c.add(["b"])
        self.turns.end()
        running, self.blocking = self.blocking, None
        second = c.add(["c"])
        self.turns.end()
        self.assertNoResult(first)
        running.callback(None)
        self.successResultOf(first)
        self.successResultOf(also_first)
        self.successResultOf(second)
        self.assertEqual(self.runs, [["a", "b"], ["c"]])

    def test_a_failed_action_still_tells(self):
        c = Coalescer(self.turns.call_soon, lambda items: 1 / 0)
        done = c.add(["a"])
        self.turns.end()
        self.successResultOf(done)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)


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
        done = q.add(["a"])
        q.stop()
        self.successResultOf(done)
        self.clock.advance(1)
        self.assertEqual(self.runs, [])

    def test_add_tells_when_its_items_have_been_acted_on(self):
        q = self.quiescence()
        done = q.add(["a"])
        self.clock.advance(0.019)
        self.assertNoResult(done)
        self.clock.advance(0.001)
        self.successResultOf(done)
