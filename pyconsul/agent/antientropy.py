"""When the agent's local state is synced with the catalog (Consul's agent/ae).

- A full sync (read the catalog's copy, then push what differs) at start,
  then every minute, scaled up with the size of the cluster (twice as long
  for every doubling beyond 128 nodes) and staggered, so that a large
  cluster does not sync all at once.
- A push of local changes as soon as they are made; changes made while one
  is under way are pushed right after it, together.
- A full sync soon after a server joins: it may be one that lost its data.
- A sync that fails (no servers, no leader) is tried again after 15 s.
"""

import math

from twisted.internet.defer import inlineCallbacks
from twisted.python.failure import Failure

from pyconsul.logs import Logger

BASE_INTERVAL = 60.0
RETRY_INTERVAL = 15.0
SERVER_UP_DELAY = 3.0  # a joining server needs a moment to find its leader


def scale_factor(nodes):
    """Consul's: 1 up to 128 nodes, then one more per doubling."""
    threshold = 128
    if nodes <= threshold:
        return 1
    return int(math.ceil(math.log2(nodes) - math.log2(threshold))) + 1


class AntiEntropy:
    log = Logger()

    def __init__(self, local, clock, rng, cluster_size=lambda: 1):
        self.local = local
        self.clock = clock
        self.rng = rng
        self.cluster_size = cluster_size
        self.running = False
        self._busy = False  # a sync is under way
        self._want_push = False
        self._want_full = False
        self._timer = None

    def start(self):
        self.running = True
        self.full_sync_soon(0)

    def stop(self):
        self.running = False
        if self._timer is not None and self._timer.active():
            self._timer.cancel()

    def changed(self):
        """Local state changed: push it."""
        self._want_push = True
        self._go()

    def full_sync_soon(self, delay):
        self._schedule(delay)

    def _schedule(self, delay):
        if not self.running:
            return
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= self.clock.seconds() + delay:
                return
            self._timer.cancel()
        self._timer = self.clock.callLater(delay, self._full_due)

    def _full_due(self):
        self._want_full = True
        self._go()

    def _interval(self):
        interval = BASE_INTERVAL * scale_factor(self.cluster_size())
        return interval + self.rng.uniform(0, interval / 2)

    def _go(self):
        if not self.running or self._busy:
            return
        if not (self._want_full or self._want_push):
            return
        full, self._want_full, self._want_push = self._want_full, False, False
        self._busy = True
        d = self._sync(full)
        d.addBoth(self._done, full)

    @inlineCallbacks
    def _sync(self, full):
        if full:
            yield self.local.refresh()
        yield self.local.push()

    def _done(self, result, full):
        self._busy = False
        if isinstance(result, Failure):
            self.log.warn("Syncing the node's services and checks failed: {error}; retrying in {delay:.0f} s",
                          error=result.value, delay=RETRY_INTERVAL)
            # A failed push may have left anything half done: the retry
            # reads the catalog again.
            self._schedule(RETRY_INTERVAL)
        elif full:
            self.log.debug("Node info in sync")
            self._schedule(self._interval())
        self._go()
