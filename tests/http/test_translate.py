"""translate_wan_addrs through the HTTP API: an agent in dc1 asking dc2."""

import json

from treq.testing import StubTreq
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.config import build
from pyconsul.http.api import HTTPApi
from pyconsul.testing.server import NODE_ID, InMemoryServer

WEB = {
    "Node": "web-node", "Address": "10.2.0.5",
    "TaggedAddresses": {"lan": "10.2.0.5", "wan": "198.51.100.5"},
    "Service": {"Service": "web", "ID": "web1", "Port": 80, "Address": "10.2.0.6",
                "TaggedAddresses": {"wan": {"Address": "198.51.100.6", "Port": 8080}}},
    "Check": {"CheckID": "web-check", "Name": "web", "Status": "passing", "ServiceID": "web1"},
}


class TwoDatacenters:
    """dc1's RPC, with calls for dc2 answered by dc2's server (the WAN
    forwarding itself is tested in tests/server/test_federation.py)."""

    datacenter = "dc1"

    def __init__(self, dc1, dc2):
        self.dc1, self.dc2 = dc1, dc2

    def call(self, method, args):
        server = self.dc2 if args.get("Datacenter") == "dc2" else self.dc1
        return server.rpc.call(method, args)


class TranslateTests(SynchronousTestCase):
    def setUp(self):
        self.dc2 = InMemoryServer(datacenter="dc2", node_name="node-2")
        self.assertEqual(self.put(self.dc2, "/v1/catalog/register", WEB), True)

    def api(self, translate):
        config = build({"datacenter": "dc1", "node_id": NODE_ID, "translate_wan_addrs": translate},
                       dev=True, hostname="node-1")[0]
        dc1 = InMemoryServer(clock=self.dc2.clock, config=config)
        self.dc1 = dc1
        http = HTTPApi(TwoDatacenters(dc1, self.dc2), agent=dc1.agent, clock=dc1.clock, agent_cache=dc1.cache)
        return StubTreq(http.resource())

    def request(self, treq, path, method="GET", body=None):
        d = treq.request(method, "http://127.0.0.1:8500" + path,
                         data=json.dumps(body).encode() if body is not None else b"")
        self.dc2.advance()
        treq.flush()
        response = self.successResultOf(d)
        content = self.successResultOf(response.content())
        self.assertEqual(response.code, 200, content)
        return response.headers.getRawHeaders("X-Consul-Translate-Addresses"), json.loads(content)

    def put(self, server, path, body):
        return self.request(StubTreq(server.http.resource()), path, "PUT", body)[1]

    def test_every_view_of_a_remote_node_gives_its_wan_addresses(self):
        treq = self.api(translate=True)
        header, [entry] = self.request(treq, "/v1/catalog/service/web?dc=dc2")
        self.assertEqual(header, ["true"])
        self.assertEqual((entry["Address"], entry["ServiceAddress"], entry["ServicePort"]),
                         ("198.51.100.5", "198.51.100.6", 8080))
        # The tagged addresses themselves are still there to read.
        self.assertEqual(entry["TaggedAddresses"]["lan"], "10.2.0.5")
        _, [health] = self.request(treq, "/v1/health/service/web?dc=dc2")
        self.assertEqual((health["Node"]["Address"], health["Service"]["Address"], health["Service"]["Port"]),
                         ("198.51.100.5", "198.51.100.6", 8080))
        _, nodes = self.request(treq, "/v1/catalog/nodes?dc=dc2")
        self.assertEqual({n["Node"]: n["Address"] for n in nodes}["web-node"], "198.51.100.5")
        _, node = self.request(treq, "/v1/catalog/node/web-node?dc=dc2")
        self.assertEqual((node["Node"]["Address"], node["Services"]["web1"]["Port"]), ("198.51.100.5", 8080))
        _, listed = self.request(treq, "/v1/catalog/node-services/web-node?dc=dc2")
        self.assertEqual(listed["Services"][0]["Address"], "198.51.100.6")

    def test_this_datacenter_is_never_translated(self):
        treq = self.api(translate=True)
        self.assertEqual(self.put(self.dc1, "/v1/catalog/register", dict(WEB, Node="local-web")), True)
        header, [entry] = self.request(treq, "/v1/catalog/service/web")
        self.assertEqual(header, ["true"])  # on every answer, as Consul
        self.assertEqual((entry["Address"], entry["ServiceAddress"], entry["ServicePort"]), ("10.2.0.5", "10.2.0.6", 80))
        _, [entry] = self.request(treq, "/v1/catalog/service/web?dc=dc1")
        self.assertEqual(entry["Address"], "10.2.0.5")

    def test_without_the_option_remote_answers_keep_their_lan_addresses(self):
        treq = self.api(translate=False)
        header, [health] = self.request(treq, "/v1/health/service/web?dc=dc2")
        self.assertIsNone(header)
        self.assertEqual((health["Node"]["Address"], health["Service"]["Port"]), ("10.2.0.5", 80))

    def test_a_prepared_query_answered_by_dc2(self):
        treq = self.api(translate=True)
        self.request(StubTreq(self.dc2.http.resource()), "/v1/query", "POST",
                     {"Name": "web", "Service": {"Service": "web"}})
        _, answer = self.request(treq, "/v1/query/web/execute?dc=dc2")
        [entry] = answer["Nodes"]
        self.assertEqual((answer["Datacenter"], entry["Node"]["Address"], entry["Service"]["Port"]),
                         ("dc2", "198.51.100.5", 8080))
