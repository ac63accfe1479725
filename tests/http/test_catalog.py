"""/v1/catalog and /v1/health on an in-memory server, through StubTreq."""

import json

from pyconsul.http import shapes
from tests.http.test_kv import APITestCase

REDIS = {
    "Node": "ext1", "Address": "10.9.9.9", "NodeMeta": {"rack": "r1"},
    "Service": {"Service": "redis", "ID": "redis1", "Tags": ["Primary"], "Port": 6379, "Address": "10.9.9.10"},
    "Check": {"CheckID": "redis-check", "Name": "Redis", "Status": "passing", "ServiceID": "redis1"},
}


class CatalogTestCase(APITestCase):
    def register(self, body, status=200):
        response, content = self.request("PUT", "/v1/catalog/register", json.dumps(body).encode())
        self.assertEqual(response.code, status, content)
        return content

    def get(self, path):
        response, content = self.request("GET", path)
        self.assertEqual(response.code, 200, content)
        return json.loads(content), int(self.header(response, "X-Consul-Index"))

    def set_check(self, node, check_id, status, output="", service_id="", address="10.9.9.9"):
        self.register({"Node": node, "Address": address, "SkipNodeUpdate": True,
                       "Check": {"CheckID": check_id, "Name": check_id, "Status": status, "Output": output,
                                 "ServiceID": service_id}})


class RegisterTests(CatalogTestCase):
    def test_register_then_read_every_view(self):
        self.assertEqual(self.register(REDIS), b"true")
        services, _ = self.get("/v1/catalog/services")
        self.assertEqual(services, {"consul": [], "redis": ["Primary"]})
        [entry], index = self.get("/v1/catalog/service/REDIS")
        self.assertEqual((entry["ServiceAddress"], entry["NodeMeta"], entry["ServiceMeta"]), ("10.9.9.10", {"rack": "r1"}, {}))
        self.assertEqual(index, entry["ModifyIndex"])
        node, _ = self.get("/v1/catalog/node/ext1")
        self.assertEqual(list(node["Services"]), ["redis1"])
        self.assertEqual(node["Services"]["redis1"]["Proxy"], {"Mode": "", "MeshGateway": {}, "Expose": {}})
        listed, _ = self.get("/v1/catalog/node-services/ext1")
        self.assertEqual([s["ID"] for s in listed["Services"]], ["redis1"])
        [health], _ = self.get("/v1/health/service/redis")
        self.assertEqual([c["CheckID"] for c in health["Checks"]], ["redis-check"])
        checks, _ = self.get("/v1/health/checks/redis")
        self.assertEqual(checks[0]["ServiceTags"], ["Primary"])

    def test_the_servers_own_node_comes_from_gossip(self):
        nodes, _ = self.get("/v1/catalog/nodes")
        self.assertEqual([n["Node"] for n in nodes], ["node-1"])
        checks, _ = self.get("/v1/health/node/node-1")
        self.assertEqual([(c["CheckID"], c["Status"], c["Output"]) for c in checks],
                         [("serfHealth", "passing", "Agent alive and reachable")])
        node, _ = self.get("/v1/catalog/node/node-1")
        self.assertEqual(node["Services"]["consul"]["Port"], 8300)

    def test_missing_things(self):
        self.assertEqual(self.get("/v1/catalog/node/ghost")[0], None)
        self.assertEqual(self.get("/v1/catalog/node-services/ghost")[0], {"Node": None, "Services": []})
        self.assertEqual(self.get("/v1/catalog/service/ghost")[0], [])
        self.assertEqual(self.get("/v1/health/node/ghost")[0], [])
        self.assertEqual(self.get("/v1/health/state/bogus")[0], [])
        for path, message in (("/v1/catalog/service/", b"Missing service name"),
                              ("/v1/catalog/node/", b"Missing node name"),
                              ("/v1/health/service/", b"Missing service name"),
                              ("/v1/health/state/", b"Missing check state")):
            response, content = self.request("GET", path)
            self.assertEqual((response.code, content), (400, message), path)

    def test_refused_registrations(self):
        cases = [
            ({"Address": "10.0.0.1"}, 500, b"Must provide node"),
            ({"Node": "x"}, 500, b"Must provide address if SkipNodeUpdate is not set"),
            ({"Node": "x", "Address": "1", "ID": "nope"}, 500, b"Bad node ID: uuid string is wrong length"),
            ({"Node": "x", "Address": "1", "Service": {"Service": "s", "Address": "0.0.0.0"}}, 500,
             b"Invalid service address"),
            ({"Node": "x", "Address": "1", "Service": {"ID": "s"}}, 500, b"Must provide service name with ID"),
            ({"Node": "x", "Address": "1", "Check": {"Name": "c", "ServiceID": "none"}}, 500,
             b'failed inserting check on node "x": Missing service registration'),
            ({"Node": "x", "Address": "1", "Service": {"Service": "s", "Port": "80"}}, 400,
             b"Request decode failed: json: cannot unmarshal string into Go struct field "
             b"NodeService.Service.Port of type int"),
        ]
        for body, status, message in cases:
            response, content = self.request("PUT", "/v1/catalog/register", json.dumps(body).encode())
            self.assertEqual((response.code, content), (status, message), body)
        response, content = self.request("PUT", "/v1/catalog/register", b"")
        self.assertEqual((response.code, content), (400, b"Request decode failed: EOF"))
        nodes, _ = self.get("/v1/catalog/nodes")
        self.assertEqual([n["Node"] for n in nodes], ["node-1"])

    def test_deregister_a_check_a_service_a_node(self):
        self.register(REDIS)
        response, content = self.request("PUT", "/v1/catalog/deregister",
                                         json.dumps({"Node": "ext1", "CheckID": "redis-check"}).encode())
        self.assertEqual((response.code, content), (200, b"true"))
        self.assertEqual(self.get("/v1/health/checks/redis")[0], [])
        self.request("PUT", "/v1/catalog/deregister", json.dumps({"Node": "ext1", "ServiceID": "redis1"}).encode())
        self.assertEqual(self.get("/v1/catalog/service/redis")[0], [])
        self.request("PUT", "/v1/catalog/deregister", json.dumps({"Node": "ext1"}).encode())
        self.assertIsNone(self.get("/v1/catalog/node/ext1")[0])
        response, content = self.request("PUT", "/v1/catalog/deregister", b"{}")
        self.assertEqual((response.code, content), (500, b"Must provide node"))


class QueryTests(CatalogTestCase):
    def setUp(self):
        super().setUp()
        self.register(REDIS)
        self.register({"Node": "ext2", "Address": "10.9.9.11", "NodeMeta": {"rack": "r2"},
                       "Service": {"Service": "redis", "ID": "redis2", "Tags": ["replica", "primary"], "Port": 6380},
                       "Check": {"CheckID": "r2", "Name": "R2", "Status": "critical", "ServiceID": "redis2"}})

    def nodes_of(self, path):
        found, _ = self.get(path)
        return [entry["Node"]["Node"] if isinstance(entry.get("Node"), dict) else entry["Node"] for entry in found]

    def test_tags_match_without_case_and_all_must_match(self):
        self.assertEqual(self.nodes_of("/v1/catalog/service/redis?tag=primary"), ["ext1", "ext2"])
        self.assertEqual(self.nodes_of("/v1/catalog/service/redis?tag=primary&tag=replica"), ["ext2"])
        self.assertEqual(self.nodes_of("/v1/health/service/redis?tag=REPLICA"), ["ext2"])
        self.assertEqual(self.nodes_of("/v1/catalog/service/redis?tag=none"), [])

    def test_node_meta(self):
        self.assertEqual(self.nodes_of("/v1/catalog/service/redis?node-meta=rack:r2"), ["ext2"])
        self.assertEqual(self.nodes_of("/v1/catalog/nodes?node-meta=rack:r1"), ["ext1"])
        self.assertEqual(self.get("/v1/catalog/services?node-meta=rack:r2")[0], {"redis": ["primary", "replica"]})
        self.assertEqual(self.nodes_of("/v1/health/checks/redis?node-meta=rack:r1"), ["ext1"])

    def test_passing(self):
        self.assertEqual(self.nodes_of("/v1/health/service/redis?passing"), ["ext1"])
        self.assertEqual(self.nodes_of("/v1/health/service/redis?passing=1"), ["ext1"])
        self.assertEqual(self.nodes_of("/v1/health/service/redis?passing=false"), ["ext1", "ext2"])
        response, content = self.request("GET", "/v1/health/service/redis?passing=maybe")
        self.assertEqual((response.code, content), (400, b"Invalid value for ?passing"))

    def test_health_states(self):
        self.assertEqual(self.nodes_of("/v1/health/state/critical"), ["ext2"])
        self.assertEqual(self.nodes_of("/v1/health/state/passing"), ["ext1", "node-1"])
        self.assertEqual(len(self.get("/v1/health/state/any")[0]), 3)

    def test_read_headers(self):
        for query, mode in (("", "leader"), ("?stale", "stale"), ("?consistent", "consistent")):
            response, _ = self.request("GET", "/v1/catalog/nodes" + query)
            self.assertEqual(self.header(response, "X-Consul-Effective-Consistency"), mode)
            self.assertEqual(self.header(response, "X-Consul-KnownLeader"), "true")

    def test_datacenters(self):
        self.assertEqual(self.get_plain("/v1/catalog/datacenters"), ["dc1"])

    def get_plain(self, path):
        response, content = self.request("GET", path)
        self.assertEqual(response.code, 200)
        return json.loads(content)


class BlockingTests(CatalogTestCase):
    """Blocking queries wake for their own answer only."""

    def setUp(self):
        super().setUp()
        self.register(REDIS)
        self.register({"Node": "db1", "Address": "10.0.0.5", "Service": {"Service": "db", "Port": 5432}})

    def blocking(self, path):
        _, index = self.get(path)
        separator = "&" if "?" in path else "?"
        return self.started("GET", "%s%sindex=%d&wait=1m" % (path, separator, index))

    def test_another_service_does_not_wake_a_watcher(self):
        waiting = self.blocking("/v1/catalog/service/redis")
        self.register({"Node": "db1", "Address": "10.0.0.5", "Service": {"Service": "db", "Port": 6543}})
        self.assertNoResult(waiting)
        self.register(dict(REDIS, Service=dict(REDIS["Service"], Port=7000)))
        response, content = self.finished(waiting)
        self.assertEqual(json.loads(content)[0]["ServicePort"], 7000)

    def test_a_check_output_wakes_health_not_catalog(self):
        catalog = self.blocking("/v1/catalog/service/redis")
        health = self.blocking("/v1/health/service/redis")
        self.set_check("ext1", "redis-check", "passing", output="all good", service_id="redis1")
        _, content = self.finished(health)
        self.assertEqual(json.loads(content)[0]["Checks"][0]["Output"], "all good")
        self.assertNoResult(catalog)
        self.agent.advance(70)
        response, _ = self.finished(catalog)  # answered when its wait runs out
        self.assertEqual(response.code, 200)

    def test_a_filtered_answer_that_did_not_change_keeps_waiting(self):
        waiting = self.blocking("/v1/health/service/redis?passing")
        self.register({"Node": "ext9", "Address": "10.9.9.99", "Service": {"Service": "redis", "ID": "r9"},
                       "Check": {"CheckID": "r9", "Name": "r9", "Status": "critical", "ServiceID": "r9"}})
        self.assertNoResult(waiting)  # the new instance is critical: ?passing reads the same
        self.set_check("ext9", "r9", "passing", service_id="r9", address="10.9.9.99")
        _, content = self.finished(waiting)
        self.assertEqual([e["Node"]["Node"] for e in json.loads(content)], ["ext1", "ext9"])

    def test_a_deleted_node_answers_at_once(self):
        waiting = self.blocking("/v1/catalog/node/db1")
        self.request("PUT", "/v1/catalog/deregister", json.dumps({"Node": "db1"}).encode())
        response, content = self.finished(waiting)
        self.assertEqual(content, b"null")
        self.assertEqual(self.header(response, "X-Consul-Index"), "1")


class RenderOnceTests(CatalogTestCase):
    def test_a_repeated_read_is_rendered_once_per_change(self):
        self.register(REDIS)
        rendered = []

        def counting(entry):
            rendered.append(entry["Service"]["ID"])
            return original(entry)

        original = shapes.check_service_node
        self.patch(shapes, "check_service_node", counting)
        first, _ = self.get("/v1/health/service/redis")
        second, _ = self.get("/v1/health/service/redis")
        self.assertEqual((first, rendered), (second, ["redis1"]))
        self.get("/v1/health/service/redis?pretty")  # another rendering of the same answer
        self.register({"Node": "db1", "Address": "10.0.0.5", "Service": {"Service": "db"}})
        self.get("/v1/health/service/redis")  # another service changed: still the same answer
        self.assertEqual(rendered, ["redis1", "redis1"])
        self.set_check("ext1", "redis-check", "warning", service_id="redis1")
        third, _ = self.get("/v1/health/service/redis")
        self.assertEqual((third[0]["Checks"][0]["Status"], rendered), ("warning", ["redis1", "redis1", "redis1"]))


class FilterTests(CatalogTestCase):
    def setUp(self):
        super().setUp()
        self.register(REDIS)
        self.register({"Node": "ext2", "Address": "10.9.9.11", "Service": {
            "Service": "redis", "ID": "redis2", "Tags": ["replica"], "Port": 6380, "Meta": {"env": "test"}}})

    def ids(self, path):
        found, _ = self.get(path)
        return found

    def test_every_listing_takes_a_filter(self):
        quote = lambda text: text.replace(" ", "%20").replace('"', "%22").replace("=", "%3D")
        entries, _ = self.get("/v1/catalog/service/redis?filter=" + quote('ServiceMeta.env == "test"'))
        self.assertEqual([e["ServiceID"] for e in entries], ["redis2"])
        entries, _ = self.get("/v1/health/service/redis?filter=" + quote('"replica" in Service.Tags'))
        self.assertEqual([e["Service"]["ID"] for e in entries], ["redis2"])
        nodes, _ = self.get("/v1/catalog/nodes?filter=" + quote("Meta.rack == r1"))
        self.assertEqual([n["Node"] for n in nodes], ["ext1"])
        checks, _ = self.get("/v1/health/state/any?filter=" + quote("CheckID == serfHealth"))
        self.assertEqual([c["Node"] for c in checks], ["node-1"])
        node, _ = self.get("/v1/catalog/node/ext2?filter=" + quote("Port == 6380"))
        self.assertEqual(list(node["Services"]), ["redis2"])

    def test_a_bad_filter_is_a_400_naming_the_problem(self):
        response, content = self.request("GET", "/v1/catalog/service/redis?filter=Nope%20%3D%3D%201")
        self.assertEqual(response.code, 400)
        self.assertTrue(content.startswith(b"Failed to create boolean expression evaluator: "), content)
        self.assertIn(b"Nope", content)
        response, content = self.request("GET", "/v1/health/service/redis?filter=%28")
        self.assertEqual(response.code, 400)


class CachedTests(CatalogTestCase):
    def test_cached_reads_say_hit_or_miss(self):
        self.register(REDIS)
        response, _ = self.request("GET", "/v1/health/service/redis?cached")
        self.assertEqual((self.header(response, "X-Cache"), self.header(response, "Age")), ("MISS", "0"))
        response, content = self.request("GET", "/v1/health/service/redis?cached")
        self.assertEqual(self.header(response, "X-Cache"), "HIT")
        self.assertEqual(json.loads(content)[0]["Service"]["ID"], "redis1")
        response, _ = self.request("GET", "/v1/catalog/nodes?cached")  # not a cached endpoint
        self.assertIsNone(self.header(response, "X-Cache"))

    def test_cached_and_consistent_conflict(self):
        response, content = self.request("GET", "/v1/catalog/service/redis?cached&consistent")
        self.assertEqual((response.code, content),
                         (400, b"Cannot specify ?cached with ?consistent, conflicting semantics."))
