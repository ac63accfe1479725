"""The pure parts of the check runners: thresholds, output capture, TTLs and
interval scheduling, in virtual time."""

import random

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.checks.capture import OutputCapture, cap_update
from pyconsul.agent.checks.interval import IntervalCheck, stagger
from pyconsul.agent.checks.status import StatusHandler
from pyconsul.agent.checks.ttl import TTLCheck
from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING, CheckDefinition
from pyconsul.golang.duration import SECOND


class StatusHandlerTests(SynchronousTestCase):
    def reports(self, handler, statuses):
        return [None if o.report is None else o.report[0] for o in (handler.observe(s, "out") for s in statuses)]

    def test_without_thresholds_every_result_is_reported(self):
        handler = StatusHandler()
        self.assertEqual(self.reports(handler, [PASSING, CRITICAL, WARNING, CRITICAL]),
                         [PASSING, CRITICAL, WARNING, CRITICAL])

    def test_the_first_result_is_reported_whatever_the_thresholds(self):
        # The counters start at their thresholds, as Consul's do.
        self.assertEqual(self.reports(StatusHandler(3, 0, 3), [CRITICAL]), [CRITICAL])
        self.assertEqual(self.reports(StatusHandler(3, 0, 3), [PASSING]), [PASSING])

    def test_success_before_passing(self):
        handler = StatusHandler(success_before_passing=2)
        self.assertEqual(self.reports(handler, [PASSING, CRITICAL, PASSING, WARNING, PASSING]),
                         [PASSING, CRITICAL, None, WARNING, PASSING])

    def test_failures_before_critical(self):
        handler = StatusHandler(failures_before_critical=3)
        self.assertEqual(self.reports(handler, [PASSING, CRITICAL, CRITICAL, CRITICAL, PASSING, CRITICAL]),
                         [PASSING, None, None, CRITICAL, PASSING, None])

    def test_failures_before_warning(self):
        handler = StatusHandler(failures_before_warning=1, failures_before_critical=3)
        outcomes = [handler.observe(s, "o") for s in (PASSING, CRITICAL, CRITICAL, CRITICAL)]
        self.assertEqual([o.report for o in outcomes],
                         [(PASSING, "o"), (WARNING, "o"), (WARNING, "o"), (CRITICAL, "o")])
        self.assertEqual([o.note for o in outcomes[1:]],
                         ["Check is now warning", "Check is now warning", "Check is now critical"])

    def test_for_check(self):
        check = CheckDefinition(success_before_passing=2, failures_before_critical=4)
        handler = StatusHandler.for_check(check)
        self.assertEqual((handler.success_before_passing, handler.failures_before_warning,
                          handler.failures_before_critical), (2, 4, 4))


class CaptureTests(SynchronousTestCase):
    def test_short_output_is_kept_whole(self):
        capture = OutputCapture(10)
        capture.write(b"abc")
        capture.write(b"def")
        self.assertEqual((capture.text(), capture.script_output()), ("abcdef", "abcdef"))

    def test_the_end_is_kept(self):
        capture = OutputCapture(4)
        for chunk in (b"ab", b"cdef", b"g"):
            capture.write(chunk)
        self.assertEqual(capture.text(), "defg")
        self.assertEqual(capture.script_output(), "Captured 4 of 7 bytes\n...\ndefg")
        capture.write(b"x" * 100)
        self.assertEqual((capture.text(), capture.total), ("xxxx", 107))

    def test_bytes_that_are_not_utf8_survive(self):
        capture = OutputCapture(10)
        capture.write(b"\xff\xfeok")
        self.assertEqual(capture.text().encode("utf-8", "surrogateescape"), b"\xff\xfeok")

    def test_ttl_updates_are_cut_at_the_start(self):
        self.assertEqual(cap_update("hello", 10), "hello")
        self.assertEqual(cap_update("hello world", 5), "hello ... (captured 5 of 11 bytes)")
        self.assertEqual(cap_update("\u00e9\u00e9\u00e9", 4), "\u00e9\u00e9 ... (captured 4 of 6 bytes)")


class TTLTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.reports = []
        self.ttl = TTLCheck("mem", 30 * SECOND, lambda *r: self.reports.append(r), self.clock, 4096)
        self.ttl.start()

    def test_silence_is_critical(self):
        self.clock.advance(29.9)
        self.assertEqual(self.reports, [])
        self.clock.advance(0.1)
        self.assertEqual(self.reports, [(CRITICAL, "TTL expired")])
        self.clock.advance(100)
        self.assertEqual(len(self.reports), 1)  # it fires once, until the next update

    def test_updates_restart_the_timer_and_outputs_follow(self):
        self.clock.advance(20)
        self.ttl.set_status(PASSING, "ok")
        self.clock.advance(20)
        self.ttl.set_status(WARNING, "slow")
        self.clock.advance(29)
        self.assertEqual(self.reports, [(PASSING, "ok"), (WARNING, "slow")])
        self.clock.advance(1)
        self.assertEqual(self.reports[-1], (CRITICAL, "TTL expired (last output before timeout follows): slow"))
        self.ttl.set_status(PASSING, "")
        self.clock.advance(30)
        self.assertEqual(self.reports[-1], (CRITICAL, "TTL expired"))  # the last output was empty

    def test_long_outputs_are_cut(self):
        ttl = TTLCheck("c", SECOND, lambda *r: self.reports.append(r), self.clock, 3)
        ttl.start()
        self.assertEqual(ttl.set_status(PASSING, "abcdef"), "abc ... (captured 3 of 6 bytes)")
        self.assertEqual(self.reports, [(PASSING, "abc ... (captured 3 of 6 bytes)")])

    def test_stop(self):
        self.ttl.stop()
        self.clock.advance(60)
        self.assertEqual(self.reports, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])


class _Probe:
    """A probe whose runs the test finishes by hand."""

    def __init__(self):
        self.runs = []

    def __call__(self):
        self.runs.append(Deferred(lambda d: self.cancelled.append(d)))
        return self.runs[-1]

    cancelled = None


class IntervalTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.reports = []
        self.probe = _Probe()
        self.probe.cancelled = []

    def interval_check(self, interval=10 * SECOND, handler=None, seed=7):
        check = IntervalCheck("c", self.probe, interval, handler or StatusHandler(),
                              lambda *r: self.reports.append(r), self.clock, random.Random(seed))
        check.start()
        return check

    def test_the_first_run_is_staggered_within_the_interval(self):
        expected = random.Random(7).randrange(10 * SECOND) / SECOND
        self.interval_check()
        self.clock.advance(expected - 0.001)
        self.assertEqual(self.probe.runs, [])
        self.clock.advance(0.001)
        self.assertEqual(len(self.probe.runs), 1)

    def test_staggers_differ_and_stay_within_the_interval(self):
        rng = random.Random(1)
        delays = [stagger(rng, 10 * SECOND) for _ in range(200)]
        self.assertTrue(all(0 <= d < 10 * SECOND for d in delays))
        self.assertGreater(len(set(delays)), 150)
        self.assertEqual(stagger(rng, 0), 0)

    def test_runs_never_overlap(self):
        self.interval_check()
        self.clock.advance(10)
        self.assertEqual(len(self.probe.runs), 1)
        # A hanging run holds the next one back, however long it takes.
        self.clock.advance(1000)
        self.assertEqual(len(self.probe.runs), 1)
        self.probe.runs[0].callback((PASSING, "ok"))
        self.assertEqual(self.reports, [(PASSING, "ok")])
        self.clock.advance(9.999)
        self.assertEqual(len(self.probe.runs), 1)
        self.clock.advance(0.001)
        self.assertEqual(len(self.probe.runs), 2)

    def test_results_go_through_the_thresholds(self):
        self.interval_check(handler=StatusHandler(failures_before_critical=2))
        for status in (PASSING, CRITICAL, CRITICAL):
            self.clock.advance(10)
            self.probe.runs[-1].callback((status, status))
        self.assertEqual(self.reports, [(PASSING, PASSING), (CRITICAL, CRITICAL)])

    def test_stop_cancels_the_run_in_flight_and_reports_nothing(self):
        check = self.interval_check()
        self.clock.advance(10)
        self.assertTrue(check.running)
        check.stop()
        self.assertEqual(len(self.probe.cancelled), 1)
        self.assertFalse(check.running)
        self.clock.advance(100)
        self.assertEqual((self.reports, len(self.probe.runs)), ([], 1))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_before_the_first_run(self):
        check = self.interval_check()
        check.stop()
        self.clock.advance(100)
        self.assertEqual(self.probe.runs, [])

    def test_a_probe_that_crashes_leaves_the_check_critical(self):
        def broken():
            raise RuntimeError("boom")

        check = IntervalCheck("c", broken, SECOND, StatusHandler(), lambda *r: self.reports.append(r), self.clock,
                              random.Random(1))
        check.start()
        self.clock.advance(1)
        self.assertEqual(self.reports, [(CRITICAL, "boom")])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.clock.advance(1)  # and it keeps running
        self.assertEqual(len(self.reports), 2)
        self.flushLoggedErrors(RuntimeError)

    def test_a_probe_may_answer_at_once(self):
        check = IntervalCheck("c", lambda: succeed((WARNING, "w")), SECOND, StatusHandler(),
                              lambda *r: self.reports.append(r), self.clock, random.Random(1))
        check.start()
        self.clock.pump([1] * 3)
        self.assertEqual(self.reports, [(WARNING, "w")] * 3)
