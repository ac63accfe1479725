"""Coalescing bursts of changes into one render.

Ten keys written one after another should give one render, not ten. A
:class:`Quiescence` collects what changed (resources to render) and calls
``action`` with all of it once nothing new has come for ``quiet`` seconds --
but never later than ``max_delay`` after the first change of a burst, so a
steady stream of changes still renders regularly. Only one action runs at a
time: changes that come in meanwhile are collected for the next one, which
starts as soon as the running one ends (if their quiet time is over).
"""

from twisted.internet.defer import maybeDeferred
from twisted.logger import Logger

log = Logger(namespace="pyconsul.template")


class Quiescence:
    def __init__(self, clock, action, quiet, max_delay):
        self.clock = clock
        self.action = action  # set -> Deferred (or a plain result)
        self.quiet = quiet
        self.max_delay = max(quiet, max_delay)
        self._pending = set()
        self._burst_started = None
        self._timer = None
        self._running = False
        self._due = False  # the quiet time ran out while an action was running

    @property
    def running(self):
        return self._running

    def add(self, items):
        items = set(items)
        if not items:
            return
        self._pending |= items
        now = self.clock.seconds()
        if self._burst_started is None:
            self._burst_started = now
        delay = max(0.0, min(now + self.quiet, self._burst_started + self.max_delay) - now)
        if self._timer is not None and self._timer.active():
            self._timer.reset(delay)
        else:
            self._timer = self.clock.callLater(delay, self._quiet_time_over)

    def stop(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._pending = set()

    def _quiet_time_over(self):
        self._timer = None
        if self._running:
            self._due = True
        else:
            self._run()

    def _run(self):
        items, self._pending = self._pending, set()
        self._burst_started = None
        self._due = False
        self._running = True
        d = maybeDeferred(self.action, items)
        d.addErrback(lambda f: log.failure("Rendering", f))
        d.addBoth(self._finished)

    def _finished(self, _):
        self._running = False
        if self._due and self._pending:
            self._run()
