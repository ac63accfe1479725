"""Folding changes together into renders, one render at a time.

Both classes here collect what changed (resources to render) with
``add(items)`` and call ``action(items)`` with all of it; ``add`` returns a
Deferred that fires once an action that took those items has ended. Only one
action runs at a time: changes that come in meanwhile are collected for the
next one, which starts as soon as the running one ends (if it is due by
then). They differ in when an action is due:

* :class:`Coalescer` (the default in watch mode): at the end of the reactor
  turn in which the first change came. Changes seen in the same turn (several
  blocking queries answered together) become one action; no timer is armed,
  so nothing waits longer than the turn.
* :class:`Quiescence` (``-wait=MIN:MAX``): once nothing new has come for
  ``quiet`` seconds -- but never later than ``max_delay`` after the first
  change of a burst, so a steady stream of changes still renders regularly.
"""

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger

from pyconsul import timers

log = Logger(namespace="pyconsul.template")


class _OneAtATime:
    """Pending items and the running action; subclasses decide when it is due."""

    def __init__(self, action):
        self.action = action  # set -> Deferred (or a plain result)
        self._pending = set()
        self._running = False
        self._due = False  # the pending items are due but an action was running
        self._waiting = []  # Deferreds for the action that takes the pending items
        self._watching = []  # Deferreds for the running action

    @property
    def running(self):
        return self._running

    def add(self, items):
        """Collect ``items``: a Deferred that fires when they have been acted
        on, or None if there is nothing to do."""
        items = set(items)
        if not items:
            return None
        self._pending |= items
        done = Deferred()
        self._waiting.append(done)
        self._changed()
        return done

    def stop(self):
        """Drop what is pending (its Deferreds fire: it will not be acted on)."""
        self._pending = set()
        waiting, self._waiting = self._waiting, []
        for done in waiting:
            done.callback(None)

    def _changed(self):
        raise NotImplementedError

    def _now_due(self):
        if self._running:
            self._due = True
        elif self._pending:
            self._run()

    def _run(self):
        items, self._pending = self._pending, set()
        self._watching, self._waiting = self._waiting, []
        self._due = False
        self._running = True
        self._started()
        d = maybeDeferred(self.action, items)
        d.addErrback(lambda f: log.failure("Rendering", f))
        d.addBoth(self._finished)

    def _started(self):
        """A new action takes the pending items (a hook for subclasses)."""

    def _finished(self, _):
        self._running = False
        watching, self._watching = self._watching, []
        for done in watching:
            done.callback(None)
        if self._due and self._pending and not self._running:
            self._run()


class Coalescer(_OneAtATime):
    """Due at the end of the current reactor turn.

    ``call_soon(f)`` must run ``f`` once the reactor has dealt with the I/O at
    hand, without waiting for time to pass: the program gives
    ``reactor.callFromThread``, which queues ``f`` for the reactor's next pass
    (from the reactor thread as well as from others).
    """

    def __init__(self, call_soon, action):
        super().__init__(action)
        self.call_soon = call_soon
        self._scheduled = False

    def _changed(self):
        if not self._scheduled:
            self._scheduled = True
            self.call_soon(self._end_of_turn)

    def _end_of_turn(self):
        self._scheduled = False
        self._now_due()


class Quiescence(_OneAtATime):
    """Due after ``quiet`` seconds without a change, ``max_delay`` at most."""

    def __init__(self, clock, action, quiet, max_delay):
        super().__init__(action)
        self.clock = clock
        self.quiet = quiet
        self.max_delay = max(quiet, max_delay)
        self._burst_started = None
        self._timer = None

    def _changed(self):
        now = self.clock.seconds()
        if self._burst_started is None:
            self._burst_started = now
        delay = max(0.0, min(now + self.quiet, self._burst_started + self.max_delay) - now)
        if self._timer is not None and self._timer.active():
            self._timer.reset(delay)
        else:
            self._timer = self.clock.callLater(delay, self._quiet_time_over)

    def stop(self):
        self._timer = timers.cancel(self._timer)
        super().stop()

    def _quiet_time_over(self):
        self._timer = None
        self._now_due()

    def _started(self):
        self._burst_started = None
