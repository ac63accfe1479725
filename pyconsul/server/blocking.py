"""Blocking queries: hold a read until what it covers changes, or time runs out.

A query function runs against the state store and returns ``(index, result)``;
it also says what it read (``watch.key(k)``, ``watch.prefix(p)``), so that only
writes to those keys wake it. Consul's rules: no wait unless ``index`` > 0;
``wait`` defaults to 5 minutes and is capped at 10; a random jitter of up to
wait/16 spreads out clients that started together.

Beyond Consul: a query woken by a write that left its answer as it was (a
filtered listing, a tag the write did not touch) goes back to waiting, so
its client is not sent the same answer again.
"""

import attr
from twisted.internet.defer import Deferred, inlineCallbacks, returnValue, succeed

DEFAULT_WAIT = 300.0
MAX_WAIT = 600.0
JITTER_FRACTION = 16


@attr.s
class WatchSet:
    """What a query read, as watch registrations on the store's registry."""

    keys: list = attr.ib(factory=list)
    prefixes: list = attr.ib(factory=list)

    def key(self, key):
        self.keys.append(key)

    def prefix(self, prefix):
        self.prefixes.append(prefix)

    def wait(self, registry):
        """A Deferred that fires on the first change to anything watched."""
        fired = Deferred()
        cancels = []

        def wake():
            for cancel in cancels:
                cancel()
            if not fired.called:
                fired.callback(None)

        cancels.extend(registry.watch_key(k, wake) for k in self.keys)
        cancels.extend(registry.watch_prefix(p, wake) for p in self.prefixes)
        fired.cancel_watches = wake
        return fired


def consistency_of(options):
    """A read's QueryOptions as the name of its consistency mode."""
    if options.get("RequireConsistent"):
        return "consistent"
    if options.get("AllowStale"):
        return "stale"
    return "default"


def query_timeout_bound(wait):
    """The longest a blocking query with this ``wait`` may hold."""
    if wait is None or wait <= 0:
        wait = DEFAULT_WAIT
    wait = min(wait, MAX_WAIT)
    return wait + wait / JITTER_FRACTION


def query_timeout(wait, rng):
    """The time a blocking query may hold, jitter included."""
    if wait is None or wait <= 0:
        wait = DEFAULT_WAIT
    wait = min(wait, MAX_WAIT)
    return wait + rng.uniform(0, wait / JITTER_FRACTION)


class _NoWatch:
    """What a query that will not block records its reads in: nothing."""

    def key(self, key):
        pass

    def prefix(self, prefix):
        pass


NO_WATCH = _NoWatch()


def blocking_query(clock, rng, registry, min_index, wait, run, before_each=None):
    """Run ``run(watch_set)`` until its index passes ``min_index``.

    ``before_each`` (optional) returns None when the store may be read now,
    or a Deferred that fires when it may: a consistent read re-confirms
    leadership before every run. Returns a Deferred of ``(index, result)``.
    """
    if not min_index:
        # The common case, kept free of generator machinery.
        ready = before_each() if before_each is not None else None
        if ready is None:
            return succeed(run(NO_WATCH))
        return ready.addCallback(lambda _: run(NO_WATCH))
    deadline = clock.seconds() + query_timeout(wait, rng)
    return _block(clock, registry, min_index, deadline, run, before_each)


@inlineCallbacks
def _block(clock, registry, min_index, deadline, run, before_each):
    first = None  # (index, result) of the first run: what the client has
    while True:
        if before_each is not None:
            ready = before_each()
            if ready is not None:
                yield ready
        watches = WatchSet()
        index, result = run(watches)
        if first is None:
            if index > min_index:
                returnValue((index, result))
            first = (index, result)
        elif index < first[0] or (index > min_index and result != first[1]):
            # Changed, or gone (a deleted node answers a lower index):
            # either way the client's copy is out of date.
            returnValue((index, result))
        remaining = deadline - clock.seconds()
        if remaining <= 0:
            returnValue((index, result))
        changed = watches.wait(registry)
        timer = clock.callLater(remaining, changed.cancel_watches)
        try:
            yield changed
        finally:
            if timer.active():
                timer.cancel()
