"""/v1/query on an in-memory server, through StubTreq: Consul 1.10's
status codes, texts, JSON shapes (the QueryMeta embedded in execute and
explain answers, null tags left null) and headers."""

import json

from pyconsul.http.queries import source_address
from tests.http.test_kv import APITestCase

QUERY_FIELDS = ["ID", "Name", "Session", "Token", "Template", "Service", "DNS", "CreateIndex", "ModifyIndex"]
META = {"Index": 0, "LastContact": 0, "KnownLeader": True, "ConsistencyLevel": "leader", "NotModified": False,
        "Backend": 0}


class QueryTestCase(APITestCase):
    def setUp(self):
        super().setUp()
        body = {"Node": "n2", "Address": "10.0.0.2", "Service": {"Service": "redis", "Port": 6379},
                "Check": {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"}}
        self.put("/v1/catalog/register", json.dumps(body).encode())

    def create(self, query):
        response, content = self.request("POST", "/v1/query", json.dumps(query).encode())
        self.assertEqual(response.code, 200, content)
        self.assertEqual(self.header(response, "Content-Type"), "application/json")
        reply = json.loads(content)
        self.assertEqual(list(reply), ["ID"])
        return reply["ID"]

    def get_json(self, path):
        response, content = self.request("GET", path)
        self.assertEqual(response.code, 200, content)
        return response, json.loads(content)

    def text(self, method, path, body=b""):
        response, content = self.request(method, path, body)
        return response.code, content.decode()


class WriteTests(QueryTestCase):
    def test_create_then_read(self):
        query_id = self.create({"Name": "redis", "Service": {"Service": "redis", "Tags": ["a"]}, "DNS": {"TTL": "5s"}})
        response, [query] = self.get_json("/v1/query/" + query_id)
        self.assertEqual(list(query), QUERY_FIELDS)
        self.assertEqual(query["Service"], {
            "Service": "redis", "Failover": {"NearestN": 0, "Datacenters": None}, "OnlyPassing": False,
            "IgnoreCheckIDs": None, "Near": "", "Tags": ["a"], "NodeMeta": None, "ServiceMeta": None,
            "Connect": False})
        self.assertEqual(query["Template"], {"Type": "", "Regexp": "", "RemoveEmptyTags": False})
        self.assertEqual(query["DNS"], {"TTL": "5s"})
        self.assertEqual(self.header(response, "X-Consul-Index"), str(query["ModifyIndex"]))
        self.assertEqual(self.header(response, "X-Consul-Effective-Consistency"), "leader")

    def test_bad_bodies(self):
        self.assertEqual(self.text("POST", "/v1/query"), (400, "Request decode failed: EOF"))
        self.assertEqual(self.text("POST", "/v1/query", b'{"Name": 5}'),
                         (400, "Request decode failed: json: cannot unmarshal number into Go struct field "
                               "PreparedQuery.Name of type string"))
        self.assertEqual(self.text("POST", "/v1/query", b'{"Name": "x"}'),
                         (500, "Invalid prepared query: Must provide a Service name to query"))

    def test_update_takes_the_id_from_the_url(self):
        query_id = self.create({"Name": "redis", "Service": {"Service": "redis"}})
        body = json.dumps({"ID": "ignored", "Name": "cache", "Service": {"Service": "memcached"}}).encode()
        response, content = self.request("PUT", "/v1/query/" + query_id, body)
        self.assertEqual((response.code, content), (200, b""))
        self.assertIsNone(self.header(response, "Content-Type"))
        _, [query] = self.get_json("/v1/query/" + query_id)
        self.assertEqual((query["Name"], query["Service"]["Service"]), ("cache", "memcached"))

    def test_an_update_without_a_body_is_refused_by_the_servers(self):
        query_id = self.create({"Name": "redis", "Service": {"Service": "redis"}})
        self.assertEqual(self.text("PUT", "/v1/query/" + query_id),
                         (500, "Invalid prepared query: Must be bound to a session"))

    def test_delete(self):
        query_id = self.create({"Name": "redis", "Service": {"Service": "redis"}})
        response, content = self.request("DELETE", "/v1/query/" + query_id)
        self.assertEqual((response.code, content), (200, b""))
        self.assertEqual(self.text("GET", "/v1/query/" + query_id), (404, "Query not found"))
        self.assertEqual(self.text("DELETE", "/v1/query/" + query_id),
                         (500, "Cannot modify non-existent prepared query: '%s'" % query_id))


class ReadTests(QueryTestCase):
    def test_list_is_never_null(self):
        response, queries = self.get_json("/v1/query")
        self.assertEqual(queries, [])
        self.assertEqual(self.header(response, "X-Consul-Index"), "1")
        self.create({"Name": "b", "Service": {"Service": "redis"}})
        self.create({"Name": "a", "Service": {"Service": "redis"}})
        _, queries = self.get_json("/v1/query")
        self.assertEqual(sorted(q["Name"] for q in queries), ["a", "b"])

    def test_get_errors(self):
        self.assertEqual(self.text("GET", "/v1/query/aaaaaaaa-0000-4000-8000-000000000001"), (404, "Query not found"))
        self.assertEqual(self.text("GET", "/v1/query/redis"),
                         (500, "failed prepared query lookup: index error: UUID must be 36 characters"))

    def test_a_blocking_list(self):
        self.create({"Name": "a", "Service": {"Service": "redis"}})
        response, _ = self.get_json("/v1/query")
        index = self.header(response, "X-Consul-Index")
        d = self.started("GET", "/v1/query?index=%s&wait=1m" % index)
        self.assertNoResult(d)
        self.create({"Name": "b", "Service": {"Service": "redis"}})
        response, content = self.finished(d)
        self.assertEqual(len(json.loads(content)), 2)
        self.assertGreater(int(self.header(response, "X-Consul-Index")), int(index))


class ExecuteTests(QueryTestCase):
    def test_the_answer(self):
        self.create({"Name": "redis", "Service": {"Service": "redis"}, "DNS": {"TTL": "7s"}})
        response, reply = self.get_json("/v1/query/redis/execute")
        self.assertEqual(list(reply), ["Service", "Nodes", "DNS", "Datacenter", "Failovers"] + list(META))
        self.assertEqual({k: reply[k] for k in META}, META)
        self.assertEqual((reply["Service"], reply["DNS"], reply["Datacenter"], reply["Failovers"]),
                         ("redis", {"TTL": "7s"}, "dc1", 0))
        [entry] = reply["Nodes"]
        self.assertEqual(entry["Node"]["Node"], "n2")
        self.assertIsNone(entry["Service"]["Tags"])  # no health-endpoint fix-ups here
        self.assertEqual([c["CheckID"] for c in entry["Checks"]], ["serfHealth"])
        self.assertEqual(self.header(response, "X-Consul-Index"), "1")
        self.assertEqual(self.header(response, "X-Consul-KnownLeader"), "true")
        self.assertIsNone(self.header(response, "X-Consul-Translate-Addresses"))

    def test_no_instances_is_an_empty_list(self):
        self.create({"Name": "none", "Service": {"Service": "nothing"}})
        _, reply = self.get_json("/v1/query/none/execute?stale")
        self.assertEqual((reply["Nodes"], reply["ConsistencyLevel"]), ([], "stale"))

    def test_parameters(self):
        self.put("/v1/catalog/register", json.dumps({"Node": "n3", "Address": "10.0.0.3",
                                                     "Service": {"Service": "redis"}}).encode())
        self.create({"Name": "redis", "Service": {"Service": "redis"}})
        _, reply = self.get_json("/v1/query/redis/execute?limit=1")
        self.assertEqual(len(reply["Nodes"]), 1)
        self.assertEqual(self.text("GET", "/v1/query/redis/execute?limit=x"),
                         (500, 'Bad limit: strconv.Atoi: parsing "x": invalid syntax'))
        self.assertEqual(self.text("GET", "/v1/query/redis/execute?connect=maybe"),
                         (500, "Error parsing 'connect' value: strconv.ParseBool: parsing \"maybe\": invalid syntax"))
        _, reply = self.get_json("/v1/query/redis/execute?connect=false")
        self.assertEqual(len(reply["Nodes"]), 2)
        _, reply = self.get_json("/v1/query/redis/execute?connect=true")
        self.assertEqual(reply["Nodes"], [])
        self.assertEqual(self.text("GET", "/v1/query/redis/execute?wait=x"), (400, "Invalid wait time"))

    def test_near_and_the_source_address(self):
        sources = []
        self.agent.endpoints.sort_by_distance = lambda source, nodes: sources.append(source)
        self.create({"Name": "redis", "Service": {"Service": "redis"}})
        self.get_json("/v1/query/redis/execute?near=_agent")
        self.get_json("/v1/query/redis/execute?near=other&dc=dc1")
        self.assertEqual([(s["Node"], s["Datacenter"]) for s in sources], [("node-1", "dc1"), ("other", "dc1")])
        self.assertEqual(sources[0]["Ip"], "127.0.0.1")

    def test_unknown(self):
        self.assertEqual(self.text("GET", "/v1/query/nope/execute"), (404, "Query not found"))
        self.assertEqual(self.text("GET", "/v1/query/nope/explain"), (404, "Query not found"))

    def test_a_template_by_name(self):
        self.create({"Name": "cache-", "Template": {"Type": "name_prefix_match", "Regexp": "^cache-(.+)$"},
                     "Service": {"Service": "${match(1)}"}})
        _, reply = self.get_json("/v1/query/cache-redis/execute")
        self.assertEqual((reply["Service"], len(reply["Nodes"])), ("redis", 1))
        _, explained = self.get_json("/v1/query/cache-redis/explain")
        self.assertEqual(list(explained), ["Query"] + list(META))
        self.assertEqual(explained["Query"]["Service"]["Service"], "redis")
        self.assertEqual(explained["Query"]["Name"], "cache-")


class MethodTests(QueryTestCase):
    def test_execute_and_explain_are_get_only(self):
        for path in ("/v1/query/x/execute", "/v1/query/x/explain"):
            response, content = self.request("PUT", path)
            self.assertEqual((response.code, content), (405, b"method PUT not allowed"))
            self.assertEqual(self.header(response, "Allow"), "GET")

    def test_the_collection(self):
        response, content = self.request("DELETE", "/v1/query")
        self.assertEqual(response.code, 405)
        self.assertEqual(self.header(response, "Allow"), "OPTIONS,GET,POST")
        response, _ = self.request("OPTIONS", "/v1/query/x")
        self.assertEqual((response.code, self.header(response, "Allow")), (200, "OPTIONS,GET,PUT,DELETE"))


class HelperTests(QueryTestCase):
    def test_source_address_prefers_x_forwarded_for(self):
        class Request:
            def __init__(self, forwarded):
                self.forwarded = forwarded

            def getHeader(self, name):
                return self.forwarded

            def getClientAddress(self):
                class Address:
                    host = "192.0.2.1"
                return Address()

        self.assertEqual(source_address(Request(b"10.1.1.1, 10.2.2.2")), "10.1.1.1")
        self.assertEqual(source_address(Request(b"junk")), "192.0.2.1")
        self.assertEqual(source_address(Request(None)), "192.0.2.1")
