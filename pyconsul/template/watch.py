"""Following one dependency -- a KV prefix, ``service "web"``, ``nodes``
... -- with blocking queries.

A :class:`Watch` keeps exactly one request open for its dependency: it asks
with the last ``X-Consul-Index`` it saw, the agent answers when the answer
changes (or when ``wait`` runs out), and the watch asks again at once. When
the answer differs from the last one, ``on_change`` is called; the answer
(KV entries, or the catalog's JSON) is then in ``watch.entries``. If it
returns a Deferred,
the watch asks again once that fires: the renderer uses this to take the
answer's render first, and the next question after it (whatever changes
meanwhile comes back at once, in one answer).

Consul's advice for blocking-query clients is followed: an index that goes
backwards (the agent's data was reset) starts over without blocking, and an
index of 0 counts as 1 so that the next query does block. While the agent
cannot be reached the watch backs off (:class:`Backoff`: 0.25 s doubling up
to 10 s, with jitter) and logs each failure; a server that answers at once
without blocking is asked again only after a back-off too, so a watch never
polls in a busy loop.

Time comes from an ``IReactorTime`` (``task.Clock`` in tests), the answers
from an object with ``read(dep, index, wait) -> Deferred[Listing]``
(:class:`~pyconsul.template.consul.ConsulKV`). :class:`PrefixWatch` is the
KV case.
"""

import random

from twisted.logger import Logger

from pyconsul import timers
from pyconsul.template.deps import KVPrefix

log = Logger(namespace="pyconsul.template")

DEFAULT_WAIT = 300.0  # Consul's default for a blocking query
# An unchanged answer quicker than this means the server did not block.
MIN_BLOCK = 1.0


class Backoff:
    """Growing delays between retries: initial, initial*factor, ... up to
    ``maximum``, each stretched by up to ``jitter`` (a fraction) so that
    many watchers do not retry in step."""

    def __init__(self, initial=0.25, maximum=10.0, factor=2.0, jitter=0.2, rng=None):
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.rng = rng if rng is not None else random.Random()
        self.failures = 0

    def next_delay(self):
        base = min(self.maximum, self.initial * self.factor ** self.failures)
        self.failures += 1
        return base * (1 + self.jitter * self.rng.random())

    def reset(self):
        self.failures = 0


def describe(dep):
    """How logs name a dependency: a KV prefix quoted ('nginx'), the rest as
    consul-template names them (health.service(web|passing))."""
    return repr(dep.prefix) if isinstance(dep, KVPrefix) and not dep.dc else str(dep)


class Watch:
    """One blocking query at a time for ``dep``; see the module docstring."""

    def __init__(self, dep, source, clock, on_change, wait=DEFAULT_WAIT, backoff=None,
                 idle_backoff=None, logger=None):
        self.dep = dep
        self.source = source
        self.clock = clock
        self.on_change = on_change
        self.wait = wait
        self.backoff = backoff if backoff is not None else Backoff()
        self.idle_backoff = idle_backoff if idle_backoff is not None else Backoff(initial=MIN_BLOCK)
        self.log = logger if logger is not None else log
        self.index = 0
        self.entries = None  # None until the first answer
        self._request = None
        self._timer = None
        self._failing = False
        self._stopped = True

    @property
    def name(self):
        return describe(self.dep)

    @property
    def ready(self):
        """Whether the dependency has been read at least once."""
        return self.entries is not None

    def start(self):
        self._stopped = False
        self._ask()

    def stop(self):
        self._stopped = True
        self._timer = timers.cancel(self._timer)
        if self._request is not None:
            request, self._request = self._request, None
            request.cancel()

    def _ask(self):
        self._timer = None
        if self._stopped:
            return
        asked_with, started = self.index, self.clock.seconds()
        d = self.source.read(self.dep, index=asked_with, wait=self.wait)
        self._request = d
        d.addCallbacks(self._answered, self._failed, callbackArgs=(asked_with, started),
                       errbackArgs=(asked_with, started))
        d.addErrback(lambda f: self.log.failure("Watching {what}", f, what=self.name))

    def _later(self, delay):
        self._timer = self.clock.callLater(delay, self._ask)

    def _answered(self, listing, asked_with, started):
        self._request = None
        if self._stopped:
            return
        if self._failing:
            self._failing = False
            self.log.info("Watching {what} again", what=self.name)
        self.backoff.reset()
        index = max(listing.index, 1)
        if index < asked_with:
            index = 0  # the agent's data went back in time: read afresh
        held = None
        if self.entries is None or listing.entries != self.entries:
            self.entries = listing.entries
            held = self.on_change(self)
        self.index = index
        unchanged_at_once = (
            asked_with and index == asked_with and self.clock.seconds() - started < MIN_BLOCK
        )
        if unchanged_at_once:
            self._later(self.idle_backoff.next_delay())
            return
        self.idle_backoff.reset()
        if held is None:
            self._ask()
        else:
            held.addBoth(lambda _: self._ask())

    def _failed(self, failure, asked_with, started):
        self._request = None
        if self._stopped:
            return
        self._failing = True
        delay = self.backoff.next_delay()
        self.log.error(
            "{error} (retrying in {delay:.1f}s)",
            error=str(failure.value) or failure.getErrorMessage(),
            delay=delay,
            dependency=self.name,
        )
        self._later(delay)


class PrefixWatch(Watch):
    """A Watch of everything under a KV prefix."""

    def __init__(self, prefix, kv, clock, on_change, **kwargs):
        super().__init__(KVPrefix(prefix), kv, clock, on_change, **kwargs)
        self.prefix = prefix
