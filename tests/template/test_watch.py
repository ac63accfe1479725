"""PrefixWatch and Backoff on a fake clock and an in-memory KV API."""

import random

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template.consul import Listing
from pyconsul.template.watch import DEFAULT_WAIT, Backoff, PrefixWatch
from tests.template.fakekv import FakeKV


class Events(list):
    """Collects log events; ``texts`` are their messages."""

    def logger(self):
        return Logger(observer=self.append)

    @property
    def texts(self):
        return [formatEvent(e) for e in self]


def run_until(clock, moment):
    """Advance ``clock`` to ``moment``, running each call at its own time."""
    while True:
        due = [c.getTime() for c in clock.getDelayedCalls() if c.getTime() <= moment]
        if not due:
            break
        clock.advance(max(0, min(due) - clock.seconds()))
    clock.advance(moment - clock.seconds())


class BackoffTests(SynchronousTestCase):
    def test_doubles_up_to_the_maximum(self):
        backoff = Backoff(initial=0.25, maximum=10, jitter=0)
        delays = [backoff.next_delay() for _ in range(9)]
        self.assertEqual(delays, [0.25, 0.5, 1, 2, 4, 8, 10, 10, 10])

    def test_reset_starts_again(self):
        backoff = Backoff(initial=1, maximum=10, jitter=0)
        backoff.next_delay(), backoff.next_delay()
        backoff.reset()
        self.assertEqual(backoff.next_delay(), 1)

    def test_jitter_only_stretches(self):
        backoff = Backoff(initial=1, maximum=1, jitter=0.2, rng=random.Random(7))
        delays = [backoff.next_delay() for _ in range(100)]
        self.assertTrue(all(1 <= d <= 1.2 for d in delays), delays)
        self.assertGreater(len(set(delays)), 50)


class PrefixWatchTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.kv = FakeKV(self.clock)
        self.changes = []
        self.events = Events()

    def watch(self, prefix="nginx", **kwargs):
        kwargs.setdefault("backoff", Backoff(jitter=0))
        kwargs.setdefault("idle_backoff", Backoff(initial=1, jitter=0))
        watch = PrefixWatch(prefix, self.kv, self.clock, lambda w: self.changes.append(dict(w.entries)),
                            logger=self.events.logger(), **kwargs)
        watch.start()
        self.addCleanup(watch.stop)
        return watch

    def test_first_read_then_blocking_queries_with_the_index(self):
        self.kv.put("nginx/a", "1")
        watch = self.watch()
        self.assertEqual(self.kv.requests, [("nginx", 0, DEFAULT_WAIT), ("nginx", 2, DEFAULT_WAIT)])
        self.assertEqual(self.changes, [{"nginx/a": b"1"}])
        self.assertTrue(watch.ready)
        self.assertEqual(self.kv.blocked("nginx"), 1)

    def test_a_change_wakes_the_query_and_calls_on_change(self):
        self.watch()
        self.kv.put("nginx/a", "1")
        self.kv.put("nginx/b", "2")
        self.assertEqual(self.changes, [{}, {"nginx/a": b"1"}, {"nginx/a": b"1", "nginx/b": b"2"}])
        self.kv.delete("nginx/a")
        self.assertEqual(self.changes[-1], {"nginx/b": b"2"})
        self.assertEqual(self.kv.blocked(), 1)

    def test_a_deferred_from_on_change_holds_the_next_query(self):
        renders = []

        def on_change(watch):
            renders.append(Deferred())
            return renders[-1]

        watch = PrefixWatch("nginx", self.kv, self.clock, on_change, logger=self.events.logger())
        watch.start()
        self.addCleanup(watch.stop)
        self.assertEqual((self.kv.requests, len(renders)), ([("nginx", 0, DEFAULT_WAIT)], 1))
        self.kv.put("nginx/a", "1")
        self.clock.advance(10)
        self.assertEqual(len(self.kv.requests), 1)
        renders[0].callback(None)
        # What changed meanwhile is answered at once, and held in its turn.
        self.assertEqual(self.kv.requests, [("nginx", 0, DEFAULT_WAIT), ("nginx", 1, DEFAULT_WAIT)])
        self.assertEqual((watch.entries, len(renders)), ({"nginx/a": b"1"}, 2))
        renders[1].callback(None)
        self.assertEqual(self.kv.requests[-1], ("nginx", 2, DEFAULT_WAIT))
        self.assertEqual(self.kv.blocked(), 1)

    def test_a_watch_stopped_while_held_asks_nothing(self):
        rendered = Deferred()
        watch = PrefixWatch("nginx", self.kv, self.clock, lambda w: rendered, logger=self.events.logger())
        watch.start()
        watch.stop()
        rendered.callback(None)
        self.assertEqual(len(self.kv.requests), 1)

    def test_changes_elsewhere_do_not_wake_it(self):
        self.watch()
        self.kv.put("other/a", "1")
        self.assertEqual(len(self.kv.requests), 2)
        self.assertEqual(self.changes, [{}])

    def test_a_wait_that_runs_out_asks_again_without_a_change(self):
        self.watch()
        self.clock.advance(DEFAULT_WAIT)
        self.assertEqual(len(self.kv.requests), 3)
        self.assertEqual(self.changes, [{}])
        self.assertEqual(self.kv.blocked(), 1)

    def test_no_request_while_one_is_open(self):
        self.watch()
        for _ in range(10):
            self.clock.advance(10)
        self.assertEqual(len(self.kv.requests), 2)

    def test_backs_off_while_the_agent_is_down(self):
        self.kv.put("nginx/a", "1")
        self.watch()
        self.clock.advance(1)
        self.kv.go_down()
        asked = len(self.kv.requests)
        run_until(self.clock, 61)
        retries = self.kv.request_times[asked:]
        gaps = [b - a for a, b in zip([1] + retries, retries)]
        self.assertEqual(gaps, [0.25, 0.5, 1, 2, 4, 8, 10, 10, 10, 10])
        errors = [t for t in self.events.texts if "retrying" in t]
        self.assertEqual(len(errors), 11)
        self.assertIn("EOF (retrying in 0.2s)", errors[0])
        self.assertIn("connection refused (retrying in 0.5s)", errors[1])
        self.assertIn("connection refused (retrying in 10.0s)", errors[-1])

    def test_reconnects_and_renders_what_changed_meanwhile(self):
        self.watch()
        self.kv.go_down()
        run_until(self.clock, 5)
        self.kv.come_back()
        self.kv.put("nginx/a", "new")
        run_until(self.clock, 15)
        self.assertEqual(self.changes[-1], {"nginx/a": b"new"})
        self.assertEqual(self.kv.blocked(), 1)
        self.assertIn("Watching 'nginx' again", self.events.texts)

    def test_backoff_starts_small_again_after_recovery(self):
        backoff = Backoff(jitter=0)
        self.watch(backoff=backoff)
        self.kv.go_down()
        run_until(self.clock, 20)
        self.assertEqual(backoff.failures, 7)
        self.kv.come_back()
        run_until(self.clock, 30)
        self.kv.put("nginx/a", "1")
        self.assertEqual(backoff.failures, 0)

    def test_an_index_going_back_reads_afresh(self):
        for n in range(5):
            self.kv.put("nginx/%d" % n, "x")
        watch = self.watch()
        self.assertEqual(watch.index, 6)
        self.kv.reset({"nginx/0": "fresh"})
        self.assertEqual(self.changes[-1], {"nginx/0": b"fresh"})
        # The answer's index (1) is below ours (6): the next request does not block.
        self.assertEqual(self.kv.requests[-2:], [("nginx", 0, DEFAULT_WAIT), ("nginx", 1, DEFAULT_WAIT)])

    def test_an_index_of_zero_counts_as_one(self):
        kv = ScriptedKV([Listing(0, {}), Listing(0, {})])
        watch = PrefixWatch("p", kv, self.clock, lambda w: None, idle_backoff=Backoff(initial=1, jitter=0))
        watch.start()
        self.addCleanup(watch.stop)
        self.assertEqual(kv.requests[:2], [("p", 0), ("p", 1)])

    def test_a_server_that_does_not_block_is_not_polled_in_a_loop(self):
        kv = ScriptedKV([Listing(5, {})] * 1000)
        watch = PrefixWatch("p", kv, self.clock, lambda w: None, idle_backoff=Backoff(initial=1, jitter=0))
        watch.start()
        self.addCleanup(watch.stop)
        self.assertEqual(len(kv.requests), 2)
        self.clock.advance(1)
        self.assertEqual(len(kv.requests), 3)
        self.clock.advance(2)
        self.assertEqual(len(kv.requests), 4)
        run_until(self.clock, 63)
        self.assertLess(len(kv.requests), 12)

    def test_stop_cancels_the_open_query(self):
        watch = self.watch()
        watch.stop()
        self.assertEqual(self.kv.blocked(), 0)
        self.kv.put("nginx/a", "1")
        self.clock.advance(DEFAULT_WAIT * 2)
        self.assertEqual(len(self.kv.requests), 2)
        self.assertEqual(self.events.texts, [])

    def test_stop_while_backing_off(self):
        watch = self.watch()
        self.kv.go_down()
        watch.stop()
        asked = len(self.kv.requests)
        self.clock.advance(100)
        self.assertEqual(len(self.kv.requests), asked)


class ScriptedKV:
    """Gives the listed answers in turn, at once."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def read(self, dep, index=0, wait=None):
        self.requests.append((dep.prefix, index))
        return succeed(self.answers.pop(0))
