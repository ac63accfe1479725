"""The agent's two pools: a server's WAN pool beside the LAN, and a client
that has none."""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.agent import Agent, NotAServer, UnknownMember
from pyconsul.config import build


class FakePool:
    def __init__(self, names):
        self.names = list(names)
        self.log = []

    def members(self):
        return [type("Member", (), {"name": name})() for name in self.names]

    def join(self, addresses):
        self.log.append(("join", tuple(addresses)))
        return defer.succeed(len(addresses))

    def force_leave(self, name, prune=False):
        if name not in self.names:
            raise KeyError(name)
        self.log.append(("force-leave", name, prune))

    def leave(self):
        self.log.append(("leave",))
        return defer.succeed(None)


class AgentWANTests(SynchronousTestCase):
    def setUp(self):
        self.config, _ = build({"server": True, "data_dir": self.mktemp(), "node_name": "s1"})
        self.lan = FakePool(["s1", "c1"])
        self.wan = FakePool(["s1.dc1", "s2.dc2"])
        self.agent = Agent(self.config, self.lan, wan=self.wan)

    def test_members_of_each_pool(self):
        self.assertEqual([m.name for m in self.agent.members()], ["c1", "s1"])
        self.assertEqual([m.name for m in self.agent.members(wan=True)], ["s1.dc1", "s2.dc2"])

    def test_join_goes_to_the_pool_asked(self):
        self.successResultOf(self.agent.join(["10.0.0.2"]))
        self.successResultOf(self.agent.join(["10.1.0.2"], wan=True))
        self.assertEqual(self.lan.log, [("join", ("10.0.0.2",))])
        self.assertEqual(self.wan.log, [("join", ("10.1.0.2",))])

    def test_force_leave_removes_a_server_from_both_pools(self):
        self.lan.names.append("s2")
        self.wan.names.append("s2.dc1")
        self.agent.force_leave("s2", prune=True)
        self.assertEqual(self.lan.log, [("force-leave", "s2", True)])
        self.assertEqual(self.wan.log, [("force-leave", "s2.dc1", True)])
        self.agent.force_leave("c1")  # a client: never in the WAN pool
        self.assertEqual(len(self.wan.log), 1)

    def test_force_leave_wan_alone_takes_the_wan_name(self):
        self.agent.force_leave("s2.dc2", wan=True)
        self.assertEqual((self.lan.log, self.wan.log), ([], [("force-leave", "s2.dc2", False)]))
        self.assertRaises(UnknownMember, self.agent.force_leave, "nobody.dc2", wan=True)

    def test_a_leave_goes_out_in_both_pools(self):
        self.successResultOf(self.agent.leave())
        self.assertEqual((self.wan.log, self.lan.log), ([("leave",)], [("leave",)]))


class ClientWANTests(SynchronousTestCase):
    def setUp(self):
        config, _ = build({"data_dir": self.mktemp(), "node_name": "c1"})
        self.agent = Agent(config, FakePool(["c1"]))

    def test_a_client_has_no_wan_pool(self):
        self.assertEqual(self.agent.members(wan=True), [])
        failure = self.failureResultOf(self.agent.join(["10.1.0.2"], wan=True), NotAServer)
        self.assertEqual(str(failure.value), "Must be a server to join WAN cluster")
        self.assertRaises(NotAServer, self.agent.force_leave, "s2.dc2", wan=True)
