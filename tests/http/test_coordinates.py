"""/v1/coordinate on an in-memory server, through StubTreq: bodies byte for
byte as Consul 1.10 writes them (Go's float formatting), headers, blocking,
404s, decode errors, ?segment, a disabled agent, and ``?near`` on the
catalog and health endpoints."""

import json

from pyconsul.config import build
from pyconsul.testing.server import NODE_ID, InMemoryServer
from tests.http.test_kv import APITestCase
from treq.testing import StubTreq

ORIGIN = b'{"Vec":[0,0,0,0,0,0,0,0],"Error":1.5,"Adjustment":0,"Height":0.00001}'


def coord(x=0.0):
    return {"Vec": [x] + [0.0] * 7, "Error": 1.5, "Adjustment": 0.0, "Height": 1e-5}


class CoordinateAPITestCase(APITestCase):
    def send(self, node, x=0.0, status=200, segment=None, raw=None):
        body = {"Node": node, "Coord": coord(x)}
        if segment is not None:
            body["Segment"] = segment
        response, content = self.request("PUT", "/v1/coordinate/update",
                                          raw if raw is not None else json.dumps(body).encode())
        self.assertEqual(response.code, status, content)
        return response, content

    def settle(self):
        self.agent.advance(self.agent.config.coordinate_update_period)
        self.agent.advance()

    def register(self, node, service="web"):
        body = {"Node": node, "Address": "10.0.0.%d" % (len(node) + 10), "Service": {"Service": service}}
        response, content = self.request("PUT", "/v1/catalog/register", json.dumps(body).encode())
        self.assertEqual(response.code, 200, content)


class UpdateAndListTests(CoordinateAPITestCase):
    def test_update_then_nodes(self):
        response, content = self.send("node-1")
        self.assertEqual(content, b"")
        self.settle()
        response, content = self.request("GET", "/v1/coordinate/nodes")
        self.assertEqual(response.code, 200)
        self.assertEqual(self.header(response, "Content-Type"), "application/json")
        self.assertEqual(content, b'[{"Node":"node-1","Segment":"","Coord":' + ORIGIN + b"}]")
        self.assertEqual(int(self.header(response, "X-Consul-Index")), self.agent.fsm.store.coordinates.index)
        self.assertEqual(self.header(response, "X-Consul-KnownLeader"), "true")

    def test_no_coordinates_is_an_empty_list(self):
        response, content = self.request("GET", "/v1/coordinate/nodes")
        self.assertEqual((response.code, content), (200, b"[]"))
        self.assertEqual(self.header(response, "X-Consul-Index"), "1")

    def test_pretty(self):
        self.send("node-1", 0.25)
        self.settle()
        response, content = self.request("GET", "/v1/coordinate/nodes?pretty")
        self.assertEqual(json.loads(content)[0]["Coord"]["Vec"][0], 0.25)
        self.assertIn(b'\n    {\n        "Node": "node-1",\n        "Segment": "",\n        "Coord": {\n'
                      b'            "Vec": [\n                0.25,\n', content)
        self.assertIn(b'"Height": 0.00001\n        }\n    }\n]', content)

    def test_node(self):
        self.register("web-1")
        self.send("web-1", 0.5)
        self.settle()
        response, content = self.request("GET", "/v1/coordinate/node/web-1")
        self.assertEqual(response.code, 200, content)
        self.assertEqual(json.loads(content), [{"Node": "web-1", "Segment": "", "Coord": coord(0.5)}])
        response, content = self.request("GET", "/v1/coordinate/node/nobody")
        self.assertEqual((response.code, content), (404, b""))
        self.assertIsNotNone(self.header(response, "X-Consul-Index"))

    def test_segment_filter(self):
        self.send("node-1")
        self.settle()
        self.assertEqual(len(json.loads(self.request("GET", "/v1/coordinate/nodes?segment=")[1])), 1)
        self.assertEqual(json.loads(self.request("GET", "/v1/coordinate/nodes?segment=alpha")[1]), [])
        response, _ = self.request("GET", "/v1/coordinate/node/node-1?segment=alpha")
        self.assertEqual(response.code, 404)

    def test_blocking_nodes(self):
        response, _ = self.request("GET", "/v1/coordinate/nodes")
        index = self.header(response, "X-Consul-Index")
        d = self.started("GET", "/v1/coordinate/nodes?index=%s&wait=1m" % index)
        self.agent.advance(1.0)
        self.assertNoResult(d)
        self.send("node-1")
        self.settle()
        response, content = self.finished(d)
        self.assertEqual([c["Node"] for c in json.loads(content)], ["node-1"])

    def test_datacenters(self):
        response, content = self.request("GET", "/v1/coordinate/datacenters")
        self.assertEqual((response.code, content), (200, b'[{"Datacenter":"dc1","AreaID":"wan","Coordinates":[]}]'))

    def test_bad_updates(self):
        response, content = self.send("node-1", status=400, raw=b"{")
        self.assertEqual(content, b"Request decode failed: unexpected EOF")
        response, content = self.send("node-1", status=400, raw=b'{"Coord": {"Vec": "x"}}')
        self.assertTrue(content.startswith(b"Request decode failed: json: cannot unmarshal string"), content)
        response, content = self.send("node-1", status=500, raw=b'{"Node": "node-1", "Coord": {"Vec": [1, 2]}}')
        self.assertEqual(content, b"incompatible coordinate")
        response, content = self.send("node-1", status=500, raw=b'{"Node": "node-1"}')
        self.assertEqual(content, b"invalid coordinate")

    def test_agent_self_shows_the_lan_coordinate(self):
        response, content = self.request("GET", "/v1/agent/self")
        self.assertEqual(json.loads(content)["Coord"], json.loads(ORIGIN))
        self.assertIn(b'"Coord":' + ORIGIN, content)  # as Go writes the numbers

    def test_methods(self):
        response, _ = self.request("GET", "/v1/coordinate/update")
        self.assertEqual(response.code, 405)
        response, _ = self.request("PUT", "/v1/coordinate/nodes")
        self.assertEqual(response.code, 405)


class DisabledTests(APITestCase):
    def setUp(self):
        config = build({"datacenter": "dc1", "node_id": NODE_ID, "disable_coordinates": True}, dev=True,
                       hostname="node-1")[0]
        self.agent = InMemoryServer(config=config)
        self.treq = StubTreq(self.agent.http.resource())

    def test_every_endpoint_says_so(self):
        for method, path in (("GET", "/v1/coordinate/datacenters"), ("GET", "/v1/coordinate/nodes"),
                             ("GET", "/v1/coordinate/node/node-1"), ("PUT", "/v1/coordinate/update")):
            response, content = self.request(method, path, b"{}")
            self.assertEqual((response.code, content), (401, b"Coordinate support disabled"), path)

    def test_agent_self_has_no_coordinate(self):
        response, content = self.request("GET", "/v1/agent/self")
        self.assertIsNone(json.loads(content)["Coord"])


class NearTests(CoordinateAPITestCase):
    def setUp(self):
        super().setUp()
        for name in ("a", "b", "c"):
            self.register(name)
        self.register("node-1")
        for name, x in (("node-1", 0.0), ("a", 0.030), ("b", 0.010)):
            self.send(name, x)
        self.settle()

    def names(self, path):
        response, content = self.request("GET", path)
        self.assertEqual(response.code, 200, content)
        out = []
        for entry in json.loads(content):
            name = entry["Node"]["Node"] if isinstance(entry["Node"], dict) else entry["Node"]
            if name not in out:
                out.append(name)
        return out

    def test_near_the_agent_and_near_a_node(self):
        self.assertEqual(self.names("/v1/catalog/nodes"), ["a", "b", "c", "node-1"])
        self.assertEqual(self.names("/v1/catalog/nodes?near=_agent"), ["node-1", "b", "a", "c"])
        self.assertEqual(self.names("/v1/catalog/nodes?near=a"), ["a", "b", "node-1", "c"])
        self.assertEqual(self.names("/v1/catalog/service/web?near=_agent"), ["node-1", "b", "a", "c"])
        self.assertEqual(self.names("/v1/health/service/web?near=_agent"), ["node-1", "b", "a", "c"])
        self.assertEqual(self.names("/v1/catalog/nodes?near=nobody"), ["a", "b", "c", "node-1"])
