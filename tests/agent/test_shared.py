"""Identical reads in flight at the same time reach the servers once."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.shared import SharedReads
from pyconsul.server.errors import RPCError
from tests.agent.test_cache import ScriptedRPC


def blocking(index, service="web"):
    return {"ServiceName": service, "QueryOptions": {"MinQueryIndex": index, "MaxQueryTime": 60.0}}


class SharedReadsTests(SynchronousTestCase):
    def setUp(self):
        self.rpc = ScriptedRPC()
        self.shared = SharedReads(self.rpc)

    def test_many_watchers_one_upstream_query_one_reply(self):
        waiting = [self.shared.call("Health.ServiceNodes", blocking(7)) for _ in range(5000)]
        self.assertEqual(len(self.rpc.calls), 1)
        reply = {"Index": 8, "Nodes": []}
        self.rpc.calls[0][2].callback(reply)
        self.assertTrue(all(self.successResultOf(d) is reply for d in waiting))
        # Once answered, the next identical read goes upstream again.
        self.shared.call("Health.ServiceNodes", blocking(7))
        self.assertEqual(len(self.rpc.calls), 2)

    def test_different_reads_are_not_shared(self):
        self.shared.call("Health.ServiceNodes", blocking(7))
        self.shared.call("Health.ServiceNodes", blocking(8))
        self.shared.call("Health.ServiceNodes", blocking(7, service="db"))
        self.shared.call("Catalog.ServiceNodes", blocking(7))
        self.assertEqual(len(self.rpc.calls), 4)

    def test_writes_are_never_shared(self):
        self.shared.call("Catalog.Register", {"Node": "n"})
        self.shared.call("Catalog.Register", {"Node": "n"})
        self.assertEqual(len(self.rpc.calls), 2)

    def test_plain_and_consistent_reads_are_never_shared(self):
        # Each must see the writes finished before it was asked, which a
        # read already under way may not have.
        for options in ({}, {"RequireConsistent": True}, {"MinQueryIndex": 0}):
            self.shared.call("KVS.Get", {"Key": "k", "QueryOptions": options})
            self.shared.call("KVS.Get", {"Key": "k", "QueryOptions": options})
        self.shared.call("KVS.Get", {"Key": "k"})
        self.assertEqual(len(self.rpc.calls), 7)

    def test_stale_reads_are_shared(self):
        stale = {"Key": "k", "QueryOptions": {"AllowStale": True}}
        waiting = [self.shared.call("KVS.Get", stale) for _ in range(3)]
        self.assertEqual(len(self.rpc.calls), 1)
        self.rpc.calls[0][2].callback({"Index": 3, "Entries": []})
        self.assertEqual(len({id(self.successResultOf(d)) for d in waiting}), 1)

    def test_a_failure_reaches_every_caller(self):
        waiting = [self.shared.call("KVS.Get", {"Key": "k", "QueryOptions": {"MinQueryIndex": 2}})
                   for _ in range(3)]
        self.rpc.calls[0][2].errback(RPCError("No cluster leader"))
        for d in waiting:
            self.assertEqual(str(self.failureResultOf(d, RPCError).value), "No cluster leader")
