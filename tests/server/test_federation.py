"""Other datacenters through the WAN pool: which server a call goes to, what
happens when it cannot be reached, and the datacenters by distance."""

import random

from twisted.internet.defer import Deferred, fail, succeed
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.coordinate.coordinate import Coordinate
from pyconsul.server.endpoints import resendable_error
from pyconsul.server.errors import NoPathToDatacenter, RPCNotSent, RPCUnavailable
from pyconsul.server.federation import Federation, datacenters_by_distance
from tests.server.test_membership import ALIVE, FAILED, LEFT, Member



def server(node, dc, address, status=ALIVE, port="8300"):
    return Member("%s.%s" % (node, dc), address, status, {"role": "consul", "dc": dc, "id": node, "port": port})


class FakeWAN:
    def __init__(self, members):
        self.member_list = members

    def members(self):
        return list(self.member_list)


class FakePool:
    """Answers each call with what ``answer(address)`` gives."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def call(self, address, method, args, timeout=None):
        self.calls.append((address, method, timeout))
        return self.answer(address)


def coordinate(x):
    """A coordinate ``x`` seconds along the first axis, no height."""
    return Coordinate(vec=(x,) + (0.0,) * 7, error=1.5, adjustment=0.0, height=0.0)


class ForwardTests(SynchronousTestCase):
    def federation(self, members, answer):
        self.pool = FakePool(answer)
        return Federation("dc1", FakeWAN(members), self.pool, random.Random(3), lambda args: 42.0)

    def test_a_live_server_of_that_datacenter_answers(self):
        members = [server("a", "dc1", "10.0.1.1"), server("b", "dc2", "10.0.2.1"),
                   server("c", "dc2", "10.0.2.2", status=FAILED)]
        federation = self.federation(members, lambda address: succeed({"Index": 7, "From": address}))
        reply = self.successResultOf(federation.forward("dc2", "KVS.Get", {}, resendable_error("KVS.Get")))
        self.assertEqual(reply, {"Index": 7, "From": "10.0.2.1:8300"})
        self.assertEqual(self.pool.calls, [("10.0.2.1:8300", "KVS.Get", 42.0)])

    def test_no_live_server_and_no_such_datacenter_are_no_path_at_once(self):
        members = [server("b", "dc2", "10.0.2.1", status=FAILED), server("c", "dc3", "10.0.3.1", status=LEFT)]
        federation = self.federation(members, lambda address: self.fail("nothing to call"))
        for datacenter in ("dc2", "dc3", "dc9"):
            failure = self.failureResultOf(federation.forward(datacenter, "KVS.Get", {}, RPCUnavailable))
            self.assertIsInstance(failure.value, NoPathToDatacenter)
            self.assertEqual(str(failure.value), "No path to datacenter")

    def test_a_read_goes_to_one_other_server_when_the_first_cannot_answer(self):
        members = [server(n, "dc2", "10.0.2.%d" % i) for i, n in enumerate("bcd", 1)]
        federation = self.federation(members, lambda address: fail(RPCUnavailable("connection lost")))
        failure = self.failureResultOf(federation.forward("dc2", "KVS.Get", {}, resendable_error("KVS.Get")))
        self.assertEqual(str(failure.value), "connection lost")
        tried = [address for address, _, _ in self.pool.calls]
        self.assertEqual(len(tried), 2)  # one at random, then one other: bounded
        self.assertEqual(len(set(tried)), 2)

    def test_a_write_that_may_have_arrived_is_not_sent_again(self):
        members = [server(n, "dc2", "10.0.2.%d" % i) for i, n in enumerate("bc", 1)]
        federation = self.federation(members, lambda address: fail(RPCUnavailable("connection lost")))
        d = federation.forward("dc2", "KVS.Apply", {}, resendable_error("KVS.Apply"))
        self.failureResultOf(d, RPCUnavailable)
        self.assertEqual(len(self.pool.calls), 1)

    def test_a_write_that_never_left_goes_to_another(self):
        members = [server(n, "dc2", "10.0.2.%d" % i) for i, n in enumerate("bc", 1)]
        answers = {}

        def answer(address):
            if not answers:
                answers[address] = "refused"
                return fail(RPCNotSent("cannot reach server"))
            return succeed(True)

        federation = self.federation(members, answer)
        self.assertIs(self.successResultOf(
            federation.forward("dc2", "KVS.Apply", {}, resendable_error("KVS.Apply"))), True)
        self.assertEqual(len({address for address, _, _ in self.pool.calls}), 2)

    def test_a_blocking_call_may_take_its_whole_wait(self):
        pending = Deferred()
        federation = self.federation([server("b", "dc2", "10.0.2.1")], lambda address: pending)
        d = federation.forward("dc2", "KVS.Get", {}, RPCUnavailable)
        self.assertNoResult(d)
        self.assertEqual(self.pool.calls[0][2], 42.0)  # from timeout_of(args)
        pending.callback({"Index": 9})
        self.assertEqual(self.successResultOf(d), {"Index": 9})

    def test_ipv6_servers_are_bracketed(self):
        federation = self.federation([server("b", "dc2", "fd00::2")], lambda address: succeed(address))
        self.assertEqual(self.successResultOf(federation.forward("dc2", "Status.Leader", {}, RPCUnavailable)),
                         "[fd00::2]:8300")

    def test_without_a_wan_pool_only_this_datacenter(self):
        federation = Federation("dc1", None, FakePool(succeed), random.Random(), lambda args: 1.0)
        self.assertEqual(federation.datacenters(), ["dc1"])
        self.failureResultOf(federation.forward("dc2", "KVS.Get", {}, RPCUnavailable), NoPathToDatacenter)


class DistanceTests(SynchronousTestCase):
    def test_nearest_first_by_the_median_of_each_datacenters_servers(self):
        members = [
            server("a", "dc1", "10.0.1.1"),
            # dc2: 10, 20, 90 ms away; median 20 ms.
            server("b1", "dc2", "10.0.2.1"), server("b2", "dc2", "10.0.2.2"), server("b3", "dc2", "10.0.2.3"),
            # dc3: 15 ms away, a single server.
            server("c1", "dc3", "10.0.3.1"),
            # dc4: no coordinate: infinitely far, still listed (by name among equals).
            server("d1", "dc4", "10.0.4.1", status=FAILED),
            server("e1", "dc0", "10.0.0.1"),
            # Not listed: a server that left, and a member that is not a server.
            server("f1", "dc5", "10.0.5.1", status=LEFT),
            Member("x.dc6", "10.0.6.1", ALIVE, {"role": "node", "dc": "dc6"}),
        ]
        coordinates = {"b1.dc2": coordinate(0.010), "b2.dc2": coordinate(0.020), "b3.dc2": coordinate(0.090),
                       "c1.dc3": coordinate(0.015)}
        order = datacenters_by_distance(members, "dc1", coordinate(0.0), coordinates.get)
        self.assertEqual(order, ["dc1", "dc3", "dc2", "dc0", "dc4"])

    def test_without_our_own_coordinate_by_name(self):
        members = [server("b", "dc2", "10.0.2.1"), server("c", "dc0", "10.0.0.1")]
        self.assertEqual(datacenters_by_distance(members, "dc1", None, lambda name: coordinate(0.01)),
                         ["dc1", "dc0", "dc2"])
