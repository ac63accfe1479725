"""The leader keeps the Raft configuration in step with gossip."""

import attr
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import Configuration, Server
from pyconsul.core.serf.member import MemberStatus
from pyconsul.server.membership import STABILIZATION_TIME, ServerMembership

ALIVE, FAILED, LEFT = MemberStatus.ALIVE, MemberStatus.FAILED, MemberStatus.LEFT


@attr.s
class Member:
    name = attr.ib()
    addr = attr.ib()
    status = attr.ib(default=ALIVE)
    tags = attr.ib(factory=dict)


def server(n, status=ALIVE, expect="3"):
    tags = {"role": "consul", "dc": "dc1", "id": "id%d" % n, "port": "8300", "expect": expect}
    return Member("s%d" % n, "127.0.0.%d" % n, status, tags)


class FakeLAN:
    def __init__(self, members):
        self.members_list = members
        self.subscribers = []

    def members(self):
        return list(self.members_list)

    def subscribe(self, callback):
        self.subscribers.append(callback)


class FakeDriver:
    """The Raft driver as membership sees it: a configuration it changes
    one server at a time, each change a Deferred the test completes."""

    def __init__(self, servers, leader=True):
        self.node_id = "id1"
        self.is_leader = leader
        self.current = Configuration(Server("id%d" % n, "127.0.0.%d:8300" % n) for n in servers)
        self.changes = []
        self.bootstrapped = None
        self.addresses = {}

    def configuration(self):
        return self.current

    def add_server(self, node_id, address):
        self.changes.append(("add", node_id))
        self.current = self.current.with_server(node_id, address, True)
        return Deferred()

    def remove_server(self, node_id):
        self.changes.append(("remove", node_id))
        self.current = Configuration(s for s in self.current.servers if s.id != node_id)
        return Deferred()

    def can_bootstrap(self):
        return self.bootstrapped is None and not self.current.servers

    def bootstrap_cluster(self, configuration):
        self.bootstrapped = configuration

    def learn_address(self, node_id, address):
        self.addresses[node_id] = address


@attr.s
class Config:
    datacenter = attr.ib(default="dc1")
    bootstrap_expect = attr.ib(default=0)


class MembershipTests(SynchronousTestCase):
    def make(self, members, raft_servers, expect=0, leader=True):
        self.clock = Clock()
        self.lan = FakeLAN(members)
        self.driver = FakeDriver(raft_servers, leader)
        self.membership = ServerMembership(Config(bootstrap_expect=expect), self.driver, self.lan, self.clock)
        return self.membership

    def test_bootstraps_once_the_expected_servers_are_alive(self):
        membership = self.make([server(1), server(2)], [], expect=3)
        membership.maybe_bootstrap()
        self.assertIsNone(self.driver.bootstrapped)
        self.lan.members_list.append(server(3))
        membership.maybe_bootstrap()
        self.assertEqual([s.id for s in self.driver.bootstrapped.servers], ["id1", "id2", "id3"])

    def test_servers_that_disagree_on_expect_do_not_bootstrap(self):
        membership = self.make([server(1), server(2), server(3, expect="5")], [], expect=3)
        membership.maybe_bootstrap()
        self.assertIsNone(self.driver.bootstrapped)

    def test_the_leader_adds_a_server_that_joins(self):
        membership = self.make([server(1), server(2), server(3)], [1, 2])
        membership.reconcile()
        self.assertEqual(self.driver.changes, [("add", "id3")])

    def test_one_change_at_a_time(self):
        membership = self.make([server(1), server(2), server(3), server(4)], [1, 2])
        d = membership.reconcile()
        membership.reconcile()
        self.assertEqual(self.driver.changes, [("add", "id3")])
        d.callback(None)
        membership.reconcile()
        self.assertEqual(self.driver.changes, [("add", "id3"), ("add", "id4")])

    def test_a_server_that_left_is_removed_at_once(self):
        membership = self.make([server(1), server(2), server(3), server(4, LEFT)], [1, 2, 3, 4])
        membership.reconcile()
        self.assertEqual(self.driver.changes, [("remove", "id4")])

    def test_a_failed_server_is_removed_after_the_stabilization_time(self):
        membership = self.make([server(1), server(2), server(3), server(4, FAILED)], [1, 2, 3, 4])
        membership.reconcile()
        self.clock.advance(STABILIZATION_TIME - 1)
        membership.reconcile()
        self.assertEqual(self.driver.changes, [])
        self.clock.advance(1)
        membership.reconcile()
        self.assertEqual(self.driver.changes, [("remove", "id4")])

    def test_a_server_gossip_does_not_know_yet_is_not_removed(self):
        # A leader that just restarted has heard from only some servers.
        membership = self.make([server(1), server(2)], [1, 2, 3])
        membership.reconcile()
        self.clock.advance(STABILIZATION_TIME / 2)
        self.lan.members_list.append(server(3))
        membership.reconcile()
        self.clock.advance(STABILIZATION_TIME)
        membership.reconcile()
        self.assertEqual(self.driver.changes, [])

    def test_a_server_unknown_for_the_stabilization_time_is_removed(self):
        membership = self.make([server(1), server(2), server(3)], [1, 2, 3, 4])
        membership.reconcile()
        self.clock.advance(STABILIZATION_TIME)
        membership.reconcile()
        self.assertEqual(self.driver.changes, [("remove", "id4")])

    def test_failures_seen_in_an_earlier_leadership_do_not_count(self):
        membership = self.make([server(1), server(2), server(3), server(4, FAILED)], [1, 2, 3, 4])
        membership.reconcile()
        self.driver.is_leader = False
        self.clock.advance(STABILIZATION_TIME * 3)
        membership.reconcile()
        self.driver.is_leader = True
        membership.reconcile()
        self.assertEqual(self.driver.changes, [])

    def test_never_removes_what_the_quorum_needs(self):
        # Of 3 voters, 2 failed: removing one would leave 2 voters with
        # only 1 alive, no quorum.
        membership = self.make([server(1), server(2, FAILED), server(3, FAILED)], [1, 2, 3])
        membership.reconcile()
        self.clock.advance(STABILIZATION_TIME * 2)
        membership.reconcile()
        self.assertEqual(self.driver.changes, [])

    def test_followers_change_nothing(self):
        membership = self.make([server(1), server(2), server(3)], [1, 2], leader=False)
        membership.reconcile()
        self.assertEqual(self.driver.changes, [])
