"""A server joins its datacenter's other servers to the WAN pool."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.serf.events import EventType, MemberEvent
from pyconsul.server.flood import FLOOD_INTERVAL, WANFlooder, flood_targets
from tests.server.test_federation import ALIVE, FAILED, Member


def lan_server(name, address, dc="dc1", status=ALIVE, wan_port="8302"):
    tags = {"role": "consul", "dc": dc, "port": "8300"}
    if wan_port is not None:
        tags["wan_join_port"] = wan_port
    return Member(name, address, status, tags)


class FloodTargetTests(SynchronousTestCase):
    def test_servers_of_our_datacenter_missing_from_the_wan(self):
        lan = [
            lan_server("s1", "10.0.0.1"),  # ourselves
            lan_server("s2", "10.0.0.2"),  # missing: joined
            lan_server("s3", "10.0.0.3"),  # already in the WAN pool
            lan_server("s4", "10.0.0.4", status=FAILED),
            lan_server("s5", "10.0.0.5", wan_port=None),  # its WAN pool is off
            lan_server("s6", "10.0.0.6", dc="dc2"),
            lan_server("s7", "fd00::7", wan_port="9302"),
            Member("c1", "10.0.0.9", ALIVE, {"role": "node", "dc": "dc1"}),
        ]
        targets = flood_targets(lan, {"s1.dc1", "s3.dc1"}, "dc1", "s1")
        self.assertEqual(targets, ["10.0.0.2:8302", "[fd00::7]:9302"])


class FakePool:
    def __init__(self, members):
        self.member_list = members
        self.joined = []
        self.listeners = []

    def members(self):
        return list(self.member_list)

    def subscribe(self, listener):
        self.listeners.append(listener)

    def join(self, addresses):
        self.joined.append(list(addresses))
        return defer.succeed(len(addresses))


class FlooderTests(SynchronousTestCase):
    def test_floods_on_lan_changes_and_every_minute(self):
        clock = Clock()
        lan = FakePool([lan_server("s1", "10.0.0.1")])
        wan = FakePool([Member("s1.dc1", "10.0.0.1", ALIVE, {})])
        flooder = WANFlooder(lan, wan, "dc1", "s1", clock)
        flooder.start()
        new = lan_server("s2", "10.0.0.2")
        lan.member_list.append(new)
        for listener in lan.listeners:
            listener(MemberEvent(EventType.JOIN, new))
        self.assertEqual(wan.joined, [["10.0.0.2:8302"]])
        clock.advance(FLOOD_INTERVAL)  # still missing (the join did not take): tried again
        self.assertEqual(len(wan.joined), 2)
        wan.member_list.append(Member("s2.dc1", "10.0.0.2", ALIVE, {}))
        clock.advance(FLOOD_INTERVAL)
        self.assertEqual(len(wan.joined), 2)
        flooder.stop()
