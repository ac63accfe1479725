"""Reaping KV tombstones once they are old enough (Consul's tombstone GC).

Deleted keys leave tombstones so that listings and blocking queries notice
deletions. They are kept for ``ttl`` (15 minutes), long enough for every
blocking client to see them, then the leader replicates a reap command. To
bound the number of timers, expiry times are rounded up to ``granularity``
(30 seconds) and each bin reaps everything up to the highest index in it.
"""

import math

from pyconsul.logs import Logger

TOMBSTONE_TTL = 15 * 60.0
GRANULARITY = 30.0


class TombstoneGC:
    log = Logger()

    def __init__(self, clock, reap, ttl=TOMBSTONE_TTL, granularity=GRANULARITY):
        self.clock = clock
        self.reap = reap
        self.ttl = ttl
        self.granularity = granularity
        self.enabled = False
        self._bins = {}  # expiry time -> (highest index, timer)

    def set_enabled(self, enabled):
        """Only the leader reaps; a server that stops leading forgets its bins."""
        self.enabled = enabled
        if not enabled:
            for _, timer in self._bins.values():
                if timer.active():
                    timer.cancel()
            self._bins = {}

    def hint(self, index):
        """A tombstone was created at ``index``."""
        if not self.enabled:
            return
        expiry = math.ceil((self.clock.seconds() + self.ttl) / self.granularity) * self.granularity
        current = self._bins.get(expiry)
        if current is not None:
            self._bins[expiry] = (max(current[0], index), current[1])
            return
        delay = max(0.0, expiry - self.clock.seconds())
        timer = self.clock.callLater(delay, self._expire, expiry)
        self._bins[expiry] = (index, timer)

    def pending(self):
        return sorted(index for index, _ in self._bins.values())

    def _expire(self, expiry):
        index, _ = self._bins.pop(expiry)
        d = self.reap(index)
        if d is not None:
            d.addErrback(
                lambda f: self.log.warn("Tombstone reap up to {index} failed: {f.value}", index=index, f=f)
            )
