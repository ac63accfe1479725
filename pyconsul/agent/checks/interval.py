"""Running a check every interval: the part HTTP, TCP and script checks share.

As Consul does: the first run comes after a random stagger within the
interval (so that checks registered together do not run together), and each
next run one interval after the previous one finished, so that runs never
overlap. Each result goes through the StatusHandler before it is reported.

A probe is a callable returning a Deferred of ``(status, output)``; it must
cancel its work when that Deferred is cancelled, which is what ``stop`` does
to a run in flight. Nothing is reported after ``stop``.
"""

from twisted.internet.defer import CancelledError, maybeDeferred

from pyconsul.agent.definitions import CRITICAL
from pyconsul.golang.duration import SECOND
from pyconsul.logs import Logger


def stagger(rng, interval):
    """lib.RandomStagger: a uniform delay in [0, interval), in nanoseconds."""
    return rng.randrange(interval) if interval > 0 else 0


class IntervalCheck:
    log = Logger()

    def __init__(self, check_id, probe, interval, status_handler, notify, clock, rng):
        self.check_id = check_id
        self.probe = probe
        self.interval = interval  # nanoseconds
        self.status_handler = status_handler
        self.notify = notify  # (status, output) -> None
        self.clock = clock
        self.rng = rng
        self._next = None  # the delayed call of the next run
        self._running = None  # the Deferred of the run in flight
        self._stopped = True

    def start(self):
        self._stopped = False
        self._schedule(stagger(self.rng, self.interval))

    def stop(self):
        self._stopped = True
        if self._next is not None and self._next.active():
            self._next.cancel()
        self._next = None
        if self._running is not None:
            self._running.cancel()

    @property
    def running(self):
        return self._running is not None

    def _schedule(self, delay):
        self._next = self.clock.callLater(delay / SECOND, self._run)

    def _run(self):
        self._next = None
        running = self._running = maybeDeferred(self.probe)
        running.addCallbacks(self._report, self._failed)
        running.addBoth(self._finished)

    def _report(self, result):
        if self._stopped:
            return
        outcome = self.status_handler.observe(*result)
        emit = self.log.debug if outcome.level == "debug" else self.log.warn
        emit("{note}: check {check}, status {status}", note=outcome.note, check=self.check_id, status=result[0])
        if outcome.report is not None:
            self.notify(*outcome.report)

    def _failed(self, failure):
        if failure.check(CancelledError) and self._stopped:
            return
        # A probe reports its errors as results; reaching here is a bug, which
        # still leaves the check critical rather than silently stale.
        self.log.failure("check {check} crashed", failure, check=self.check_id)
        self._report((CRITICAL, failure.getErrorMessage()))

    def _finished(self, _):
        self._running = None
        if not self._stopped:
            self._schedule(self.interval)
