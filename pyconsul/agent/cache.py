"""The agent cache behind ``?cached`` (Consul's "background refresh" kind).

The first ``?cached`` read of a query fetches it from the servers (a miss)
and keeps it; from then on a blocking query per entry keeps it up to date
in the background, and every ``?cached`` read of it is answered here (a
hit), blocking ones included: they wait for the entry to pass their index.
If the servers cannot be reached the entry keeps its last answer (Consul's
"fail static") and ``Age`` says how old it is; while refreshes succeed
``Age`` is 0. A ``Cache-Control: max-age`` older than that asks the servers
instead. An entry nobody has asked for in 72 hours is dropped.

Cached reads are always stale reads: any server may answer them, as in
Consul, since the cache is at least as stale anyway.
"""

import json

from twisted.internet.defer import Deferred

from pyconsul.logs import Logger
from pyconsul.server.blocking import query_timeout

# The reads ?cached applies to, as in Consul. The agent's own readers (DNS)
# may cache others.
CACHEABLE = frozenset({"Catalog.ListServices", "Catalog.ServiceNodes", "Health.ServiceNodes"})
LAST_GET_TTL = 72 * 3600.0
REFRESH_WAIT = 600.0  # each background blocking query's wait
RETRY_MIN, RETRY_MAX = 1.0, 60.0


class Entry:
    def __init__(self, key, method, args):
        self.key = key
        self.method = method
        self.args = args
        self.reply = None
        self.fetched_at = None  # when the servers last answered
        self.failing = False
        self.last_get = None
        self.first_waiters = []  # callers waiting for the first answer
        self.waiters = []  # (minimum index, Deferred, timer) of blocked reads
        self.retry = RETRY_MIN

    @property
    def index(self):
        return self.reply["Index"] if self.reply is not None else 0


class AgentCache:
    log = Logger()

    def __init__(self, rpc, clock, rng):
        self.rpc = rpc
        self.clock = clock
        self.rng = rng
        self.entries = {}
        self.running = True

    def stop(self):
        self.running = False

    def get(self, method, args, max_age=None):
        """A Deferred of (reply, hit, age in seconds) for a ?cached read."""
        return self._get(method, args, max_age).addCallback(lambda found: found[:3])

    def read(self, method, args, max_age=None):
        """A Deferred of (reply, entry): ``entry.reply`` stays that same
        object until the answer changes (or the entry is dropped), so a
        reader can keep what it made of a reply while it does."""
        return self._get(method, args, max_age).addCallback(lambda found: (found[0], found[3]))

    def _get(self, method, args, max_age):
        options = args.get("QueryOptions") or {}
        min_index = options.get("MinQueryIndex") or 0
        query = dict(args, QueryOptions={"AllowStale": True})
        key = method + json.dumps(query, sort_keys=True, default=repr)
        entry = self.entries.get(key)
        hit = entry is not None
        if entry is None:
            entry = self.entries[key] = Entry(key, method, query)
        entry.last_get = self.clock.seconds()
        d = Deferred()
        if entry.reply is None:
            entry.first_waiters.append((min_index, options, d, hit))
            if not hit:
                self._fetch(entry)
        elif max_age is not None and entry.failing and self.clock.seconds() - entry.fetched_at > max_age:
            # Too old for this caller while the servers are not answering:
            # ask them, and fail as an uncached read would.
            self.rpc.call(method, query).addCallbacks(lambda reply: d.callback((reply, False, 0, None)), d.errback)
        else:
            self._answer(entry, min_index, options, d, hit)
        return d

    def _answer(self, entry, min_index, options, d, hit):
        if not min_index or entry.index > min_index:
            d.callback((entry.reply, hit, self._age(entry), entry))
            return
        wait = query_timeout(options.get("MaxQueryTime"), self.rng)
        timer = self.clock.callLater(wait, self._release, entry, d)
        entry.waiters.append((min_index, d, timer))

    def _release(self, entry, d):
        entry.waiters = [w for w in entry.waiters if w[1] is not d]
        d.callback((entry.reply, True, self._age(entry), entry))

    def _age(self, entry):
        return int(self.clock.seconds() - entry.fetched_at) if entry.failing else 0

    def _fetch(self, entry):
        if not self.running:
            return
        if entry.reply is not None and self.clock.seconds() - entry.last_get > LAST_GET_TTL:
            del self.entries[entry.key]
            entry.reply = None  # no longer kept up to date: readers must ask again
            return
        options = {"AllowStale": True, "MinQueryIndex": entry.index, "MaxQueryTime": REFRESH_WAIT}
        d = self.rpc.call(entry.method, dict(entry.args, QueryOptions=options))
        d.addCallbacks(self._fetched, self._failed, callbackArgs=(entry,), errbackArgs=(entry,))

    def _fetched(self, reply, entry):
        entry.fetched_at = self.clock.seconds()
        entry.failing = False
        entry.retry = RETRY_MIN
        changed = entry.reply is None or reply["Index"] != entry.index
        entry.reply = reply
        first, entry.first_waiters = entry.first_waiters, []
        for min_index, options, d, hit in first:
            self._answer(entry, min_index, options, d, hit)
        if changed:
            ready = [w for w in entry.waiters if entry.index > w[0]]
            entry.waiters = [w for w in entry.waiters if entry.index <= w[0]]
            for _, d, timer in ready:
                timer.cancel()
                d.callback((reply, True, 0, entry))
        self._fetch(entry)

    def _failed(self, failure, entry):
        if entry.reply is None:
            # Nothing to serve yet: the callers get the error, and the entry
            # goes so that the next read tries afresh.
            self.entries.pop(entry.key, None)
            first, entry.first_waiters = entry.first_waiters, []
            for _, _, d, _ in first:
                d.errback(failure)
            return
        entry.failing = True
        self.log.debug("Refreshing a cached {method} failed: {error}", method=entry.method, error=failure.value)
        delay, entry.retry = entry.retry, min(entry.retry * 2, RETRY_MAX)
        if self.running:
            self.clock.callLater(delay, self._fetch, entry)
