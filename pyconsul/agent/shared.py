"""One upstream read for many identical local ones.

Applications often watch the same thing many times over (every worker of a
service watching its upstreams, every template watching one prefix). The
agent sends identical reads that are under way at the same time to the
servers once, and gives every caller the same answer: 5,000 blocking
watchers of one service cost the servers one query, and their answer is
rendered once (the HTTP layer recognises the shared reply).

Only blocking and stale reads are shared. A read that joins one already
under way may get an answer from before it was asked: a blocking read
promises no more than an index past its own, and a stale read no freshness
at all, but a plain or ``?consistent`` read must see every write that
finished before it started (a client that writes and then reads expects its
write back).
"""

from twisted.internet.defer import Deferred

# Reads whose answers depend only on their arguments.
SHAREABLE = frozenset({
    "KVS.Get", "KVS.List", "KVS.ListKeys",
    "Catalog.ListNodes", "Catalog.ListServices", "Catalog.ServiceNodes", "Catalog.NodeServices",
    "Catalog.NodeServiceList", "Health.ChecksInState", "Health.NodeChecks", "Health.ServiceChecks",
    "Health.ServiceNodes",
})


def _key(method, args):
    # repr, not a canonical encoding: identical reads are built by the same
    # code, so their arguments come in the same order (and repr is cheap).
    return method, repr(args)


def _may_be_older(args):
    """Whether the caller accepts an answer older than its question."""
    options = args.get("QueryOptions") or {}
    return bool(options.get("MinQueryIndex") or options.get("AllowStale"))


class SharedReads:
    """Wraps an RPC router: same interface, identical reads in flight shared."""

    def __init__(self, rpc):
        self.rpc = rpc
        self.datacenter = rpc.datacenter
        self._in_flight = {}  # key -> [waiting Deferreds]
        self.upstream_calls = 0  # for tests and benchmarks

    def call(self, method, args):
        if method not in SHAREABLE or not _may_be_older(args):
            return self.rpc.call(method, args)
        key = _key(method, args)
        waiting = Deferred()
        if key in self._in_flight:
            self._in_flight[key].append(waiting)
            return waiting
        self._in_flight[key] = [waiting]
        self.upstream_calls += 1
        self.rpc.call(method, args).addBoth(self._answer, key)
        return waiting

    def _answer(self, result, key):
        for waiting in self._in_flight.pop(key):
            waiting.callback(result)
        return None  # a failure has been handed to every caller
