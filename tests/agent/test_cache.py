"""The agent cache behind ?cached: misses, hits, background refresh, fail-static."""

import random

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.cache import LAST_GET_TTL, AgentCache
from pyconsul.server.errors import RPCError


class ScriptedRPC:
    datacenter = "dc1"

    def __init__(self):
        self.calls = []

    def call(self, method, args):
        d = Deferred()
        self.calls.append((method, args, d))
        return d

    def answer(self, index, value="x"):
        method, args, d = self.calls.pop(0)
        d.callback({"Index": index, "Nodes": [value], "KnownLeader": True, "LastContact": 0})
        return args

    def fail(self):
        _, _, d = self.calls.pop(0)
        d.errback(RPCError("No known Consul servers"))


def read(index=0, wait=60.0):
    return {"ServiceName": "web", "QueryOptions": {"MinQueryIndex": index, "MaxQueryTime": wait}}


class CacheTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.rpc = ScriptedRPC()
        self.cache = AgentCache(self.rpc, self.clock, random.Random(0))

    def get(self, index=0, **kwargs):
        return self.cache.get("Health.ServiceNodes", read(index), **kwargs)

    def test_a_miss_then_hits_refreshed_in_the_background(self):
        first = self.get()
        args = self.rpc.answer(5)
        self.assertTrue(args["QueryOptions"]["AllowStale"])  # any server may answer
        reply, hit, age = self.successResultOf(first)
        self.assertEqual((reply["Index"], hit, age), (5, False, 0))
        # The background refresh blocks on index 5.
        self.assertEqual(self.rpc.calls[0][1]["QueryOptions"]["MinQueryIndex"], 5)
        reply, hit, _ = self.successResultOf(self.get())
        self.assertEqual((reply["Index"], hit), (5, True))
        self.assertEqual(len(self.rpc.calls), 1)  # served here, not asked again

    def test_a_blocking_cached_read_waits_for_the_entry_to_change(self):
        self.get()
        self.rpc.answer(5)
        waiting = self.get(index=5)
        self.assertNoResult(waiting)
        self.rpc.answer(9, "y")
        reply, hit, _ = self.successResultOf(waiting)
        self.assertEqual((reply["Index"], reply["Nodes"], hit), (9, ["y"], True))

    def test_a_blocking_cached_read_times_out_with_the_same_answer(self):
        self.get()
        self.rpc.answer(5)
        waiting = self.get(index=5, )
        self.clock.advance(65)
        reply, _, _ = self.successResultOf(waiting)
        self.assertEqual(reply["Index"], 5)

    def test_fail_static_with_an_age(self):
        self.get()
        self.rpc.answer(5)
        self.clock.advance(10)
        self.rpc.fail()
        self.clock.advance(20)
        reply, hit, age = self.successResultOf(self.get())
        self.assertEqual((reply["Index"], hit, age), (5, True, 30))
        # Older than max-age while failing: the servers are asked, and that fails.
        late = self.get(max_age=5)
        self.rpc.calls.pop(0)  # the retry of the refresh
        self.rpc.fail()
        self.failureResultOf(late, RPCError)

    def test_a_first_fetch_that_fails_fails_its_callers_and_is_forgotten(self):
        first, second = self.get(), self.get()
        self.rpc.fail()
        self.failureResultOf(first, RPCError)
        self.failureResultOf(second, RPCError)
        self.get()
        self.assertEqual(len(self.rpc.calls), 1)

    def test_an_unused_entry_is_dropped(self):
        self.get()
        self.rpc.answer(5)
        self.clock.advance(LAST_GET_TTL + 1)
        self.rpc.answer(6)  # the refresh returns after the TTL: the entry goes
        self.assertEqual((self.cache.entries, self.rpc.calls), ({}, []))
