"""translate_wan_addrs in DNS: another datacenter's nodes by their WAN address."""

import json
import random

from twisted.internet.defer import succeed
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.cache import AgentCache
from pyconsul.dns.queries import PreparedQueries
from pyconsul.dns.source import CatalogSource
from pyconsul.testing.server import InMemoryServer
from tests.http.test_translate import WEB, TwoDatacenters
from tests.vectors.targets import InMemoryAgent


class SourceTests(SynchronousTestCase):
    def setUp(self):
        self.dc1 = InMemoryServer()
        self.dc2 = InMemoryServer(datacenter="dc2", node_name="node-2", clock=self.dc1.clock)
        for server, node in ((self.dc2, "web-node"), (self.dc1, "local-web")):
            result = InMemoryAgent(server).http("PUT", "/v1/catalog/register", body=json.dumps(dict(WEB, Node=node)).encode())
            self.assertEqual(result.status, 200)
        self.rpc = TwoDatacenters(self.dc1, self.dc2)

    def source(self, translate):
        cache = AgentCache(self.rpc, self.dc1.clock, random.Random(0))
        self.addCleanup(cache.stop)
        return CatalogSource(cache, self.rpc, "dc1", translate_wan_addrs=translate)

    def read(self, d):
        self.dc1.advance()
        return self.successResultOf(d)[0]

    def test_services_and_nodes_of_dc2_by_their_wan_addresses(self):
        source = self.source(translate=True)
        [entry] = self.read(source.service("web", "dc2"))
        self.assertEqual((entry["Node"]["Address"], entry["Service"]["Address"], entry["Service"]["Port"]),
                         ("198.51.100.5", "198.51.100.6", 8080))
        self.assertEqual(self.read(source.node("web-node", "dc2"))["Address"], "198.51.100.5")
        # This datacenter's answers keep their addresses.
        [local] = self.read(source.service("web", None))
        self.assertEqual(local["Node"]["Address"], "10.2.0.5")
        self.assertEqual(self.read(source.node("local-web", "dc1"))["Address"], "10.2.0.5")

    def test_without_the_option_nothing_changes(self):
        [entry] = self.read(self.source(translate=False).service("web", "dc2"))
        self.assertEqual((entry["Node"]["Address"], entry["Service"]["Port"]), ("10.2.0.5", 80))


class PreparedQueryTests(SynchronousTestCase):
    def test_an_answer_from_another_datacenter_is_translated(self):
        entry = {"Node": {"Node": "n1", "Address": "10.9.0.1", "TaggedAddresses": {"wan": "203.0.113.1"}},
                 "Service": {"Address": "", "Port": 99, "TaggedAddresses": None}, "Checks": []}

        class RPC:
            def __init__(self, datacenter):
                self.datacenter = datacenter

            def call(self, method, args):
                return succeed({"LastContact": 0, "Datacenter": self.datacenter, "Nodes": [entry]})

        def address(datacenter, translate):
            queries = PreparedQueries(RPC(datacenter), "dc1", "a", translate_wan_addrs=translate)
            return self.successResultOf(queries.execute("db"))["Nodes"][0]["Node"]["Address"]

        self.assertEqual(address("dc2", True), "203.0.113.1")
        self.assertEqual(address("dc1", True), "10.9.0.1")  # failed over nowhere: its own
        self.assertEqual(address("dc2", False), "10.9.0.1")

