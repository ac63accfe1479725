"""/v1/txn on an in-memory server, through StubTreq.

The reference is Consul 1.10: agent/txn_endpoint.go (convertOps: the body
limits, base64 values, defaults filled in from the agent, which operations
count as writes; Txn: read-only transactions answered by Txn.Read with
their query metadata and headers, everything else by Txn.Apply; any error
is a 409) and agent/consul/txn_endpoint.go (preCheck: nodePreApply,
servicePreApply, checkPreApply, kvsPreApply with the lock-delay).
"""

import base64
import json

from treq.testing import StubTreq

from pyconsul.http.api import HTTPApi
from tests.http.test_kv import APITestCase

WRITE_FIELDS = ["Errors", "Results"]
READ_FIELDS = ["Backend", "ConsistencyLevel", "Errors", "Index", "KnownLeader", "LastContact", "NotModified",
               "Results"]
READ_META = {"Index": 0, "LastContact": 0, "KnownLeader": True, "ConsistencyLevel": "", "NotModified": False,
             "Backend": 0}
DOCS = "https://www.consul.io/docs/agent/options.html#txn_max_req_len"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def kv(verb, key, **fields):
    return {"KV": dict(fields, Verb=verb, Key=key)}


class TxnTestCase(APITestCase):
    def txn(self, ops, path="/v1/txn", treq=None):
        """(response, decoded JSON or the raw body)."""
        body = ops if isinstance(ops, bytes) else json.dumps(ops).encode()
        response, content = self.call("PUT", path, body, treq)
        if (self.header(response, "Content-Type") or "").startswith("application/json"):
            return response, json.loads(content)
        return response, content

    def call(self, method, path, body=b"", treq=None):
        if treq is None:
            return self.request(method, path, body)
        d = treq.request(method, "http://127.0.0.1:8500" + path, data=body, allow_redirects=False)
        self.agent.advance()
        treq.flush()
        response = self.successResultOf(d)
        return response, self.successResultOf(response.content())

    def ok(self, ops, **kwargs):
        response, body = self.txn(ops, **kwargs)
        self.assertEqual(response.code, 200, body)
        return response, body

    def conflict(self, ops, **kwargs):
        response, body = self.txn(ops, **kwargs)
        self.assertEqual(response.code, 409, body)
        self.assertEqual(body["Results"], None)
        return response, body

    def refused(self, ops, status, message, **kwargs):
        response, content = self.txn(ops, **kwargs)
        self.assertEqual((response.code, content), (status, message.encode()))
        self.assertEqual(self.header(response, "Content-Type"), "text/plain; charset=utf-8")

    def assert_write_answer(self, response, body):
        self.assertEqual(sorted(body), WRITE_FIELDS)
        self.assertEqual(self.header(response, "Content-Type"), "application/json")
        self.assertIsNone(self.header(response, "X-Consul-KnownLeader"))
        self.assertIsNone(self.header(response, "X-Consul-Index"))

    def assert_read_answer(self, response, body):
        self.assertEqual(sorted(body), READ_FIELDS)
        self.assertEqual({k: body[k] for k in READ_META}, READ_META)
        self.assertEqual(self.header(response, "Content-Type"), "application/json")
        self.assertEqual(self.header(response, "X-Consul-KnownLeader"), "true")
        self.assertEqual(self.header(response, "X-Consul-LastContact"), "0")
        self.assertIsNone(self.header(response, "X-Consul-Index"))

    def kv_get(self, key):
        response, content = self.request("GET", "/v1/kv/" + key)
        return json.loads(content)[0] if response.code == 200 else None

    def session(self, body=None):
        response, content = self.request("PUT", "/v1/session/create", json.dumps(body or {}).encode())
        self.assertEqual(response.code, 200, content)
        return json.loads(content)["ID"]

    def api(self, **kwargs):
        """A StubTreq on an HTTPApi of this server built with ``kwargs``."""
        server = self.agent
        return StubTreq(HTTPApi(server.rpc, agent=server.agent, clock=server.clock, **kwargs).resource())


class WriteTests(TxnTestCase):
    def test_a_write_transaction(self):
        raw = b"\x00\xff binary \x80"
        response, body = self.ok([kv("set", "a", Value=b64(raw)), kv("set", "b", Value=b64(b"2"), Flags=7)])
        self.assert_write_answer(response, body)
        [a, b] = body["Results"]
        index = a["KV"]["ModifyIndex"]
        self.assertEqual(body, {"Results": [
            {"KV": {"LockIndex": 0, "Key": "a", "Flags": 0, "Value": None, "CreateIndex": index, "ModifyIndex": index}},
            {"KV": {"LockIndex": 0, "Key": "b", "Flags": 7, "Value": None, "CreateIndex": index, "ModifyIndex": index}},
        ], "Errors": None})
        stored = self.kv_get("a")
        self.assertEqual((base64.b64decode(stored["Value"]), stored["ModifyIndex"]), (raw, index))

    def test_values_round_trip_through_a_read_transaction(self):
        raw = bytes(range(256))
        self.ok([kv("set", "v/bin", Value=b64(raw)), kv("set", "v/null", Value=None), kv("set", "v/none")])
        response, body = self.ok([kv("get", "v/bin"), kv("get", "v/null"), kv("get", "v/none"), kv("get-tree", "v/")])
        self.assert_read_answer(response, body)
        values = [r["KV"]["Value"] for r in body["Results"]]
        self.assertEqual(values[0], b64(raw))
        self.assertEqual(base64.b64decode(values[0]), raw)
        # JSON null, or no Value at all, is no value.
        self.assertEqual(values[1:3], [None, None])
        self.assertEqual([r["KV"]["Key"] for r in body["Results"][3:]], ["v/bin", "v/none", "v/null"])

    def test_a_failed_write_is_a_409_and_changes_nothing(self):
        self.ok([kv("set", "a", Value=b64(b"1"))])
        response, body = self.conflict([kv("set", "z", Value=b64(b"z")), kv("cas", "a", Value=b64(b"2"), Index=1),
                                        kv("delete", "a"), kv("get", "missing")])
        self.assert_write_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 1, "What": 'failed to set key "a", index is stale'},
                                          {"OpIndex": 3, "What": 'key "missing" doesn\'t exist'}])
        self.assertIsNone(self.kv_get("z"))
        self.assertEqual(base64.b64decode(self.kv_get("a")["Value"]), b"1")

    def test_a_write_needs_keys(self):
        response, body = self.conflict([kv("set", "", Value=b64(b"1")), kv("delete", "")])
        self.assert_write_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": "Must provide key"},
                                          {"OpIndex": 1, "What": "Must provide key"}])
        # Only delete-tree may go without one: it empties the store.
        self.ok([kv("set", "a", Value=b64(b"1"))])
        self.ok([kv("delete-tree", "")])
        self.assertIsNone(self.kv_get("a"))


class ReadTests(TxnTestCase):
    def setUp(self):
        super().setUp()
        _, body = self.ok([kv("set", "a", Value=b64(b"1"), Flags=3)])
        self.index = body["Results"][0]["KV"]["ModifyIndex"]

    def test_a_read_only_transaction(self):
        response, body = self.ok([kv("get", "a"), kv("check-index", "a", Index=self.index),
                                  kv("check-not-exists", "b")])
        self.assert_read_answer(response, body)
        entry = {"LockIndex": 0, "Key": "a", "Flags": 3, "CreateIndex": self.index, "ModifyIndex": self.index}
        self.assertEqual(body["Results"], [{"KV": dict(entry, Value=b64(b"1"))}, {"KV": dict(entry, Value=None)}])
        self.assertEqual(body["Errors"], None)

    def test_the_empty_transaction_is_a_read(self):
        response, body = self.ok([])
        self.assert_read_answer(response, body)
        self.assertEqual((body["Results"], body["Errors"]), ([], None))

    def test_a_failed_read_is_a_409_with_the_read_metadata(self):
        response, body = self.conflict([kv("get", "a"), kv("get", "missing"), kv("check-not-exists", "a")])
        self.assert_read_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 1, "What": 'key "missing" doesn\'t exist'},
                                          {"OpIndex": 2, "What": 'key "a" exists'}])

    def test_stale_and_consistent_reads(self):
        for query in ("?stale", "?consistent", "?stale=true&dc=dc1"):
            response, body = self.ok([kv("get", "a")], path="/v1/txn" + query)
            self.assert_read_answer(response, body)
            self.assertEqual(body["Results"][0]["KV"]["Value"], b64(b"1"), query)
            # Txn sets only LastContact and KnownLeader, not the consistency.
            self.assertIsNone(self.header(response, "X-Consul-Effective-Consistency"), query)
        response, body = self.conflict([kv("get", "missing")], path="/v1/txn?stale")
        self.assert_read_answer(response, body)

    def test_get_is_only_a_put(self):
        response, content = self.request("GET", "/v1/txn")
        self.assertEqual((response.code, content), (405, b"method GET not allowed"))
        self.assertEqual(self.header(response, "Allow"), "OPTIONS,PUT")

    def test_an_unknown_kv_verb_is_read_and_refused(self):
        response, body = self.conflict([kv("bogus", "a")])
        self.assert_read_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": 'unknown KV verb "bogus"'}])


class BodyTests(TxnTestCase):
    def test_bad_json(self):
        self.refused(b"nope", 400, "Failed to parse body: invalid character 'o' in literal null (expecting 'u')")
        self.refused(b"{}", 400, "Failed to parse body: json: cannot unmarshal object into Go value of type api.TxnOps")
        self.refused(b'[{"KV": {"Verb": "set", "Key": "a", "Flags": -1}}]', 400,
                     "Failed to parse body: json: cannot unmarshal number -1 into Go struct field KVTxnOp.KV.Flags "
                     "of type uint64")

    def test_a_value_that_is_not_base64(self):
        self.refused(b'[{"KV": {"Verb": "set", "Key": "a", "Value": "!!!!"}}]', 400,
                     "Failed to parse body: illegal base64 data at input byte 0")
        self.assertIsNone(self.kv_get("a"))

    def test_a_value_that_is_not_a_string(self):
        # api.KVTxnOp.Value is a []byte.
        self.refused(b'[{"KV": {"Verb": "set", "Key": "a", "Value": 5}}]', 400,
                     "Failed to parse body: json: cannot unmarshal number into Go struct field KVTxnOp.KV.Value "
                     "of type []uint8")

    def test_null_is_no_operations(self):
        response, body = self.ok(b"null")
        self.assert_read_answer(response, body)
        self.assertEqual(body["Results"], [])

    def test_at_most_64_operations(self):
        response, body = self.ok([kv("check-not-exists", "k%d" % i) for i in range(64)])
        self.assertEqual(body["Results"], [])
        self.refused([kv("set", "k%d" % i, Value=b64(b"v")) for i in range(65)], 413,
                     "Transaction contains too many operations (65 > 64)")
        self.assertIsNone(self.kv_get("k0"))

    def test_a_body_over_txn_max_req_len(self):
        body = b"[" + b" " * 600000 + b"]"
        self.refused(body, 413, "Request body(600002 bytes) too large, max size: 524288 bytes. See %s." % DOCS)

    def test_a_value_over_kv_max_value_size(self):
        treq = self.api(max_value_size=10)
        self.ok([kv("set", "fits", Value=b64(b"x" * 10))], treq=treq)
        self.refused([kv("set", "ok", Value=b64(b"1")), kv("set", "big", Value=b64(b"x" * 11))], 413,
                     'Value for key "big" is too large (11 > 10 bytes)', treq=treq)
        self.assertIsNone(self.kv_get("ok"))
        self.assertEqual(base64.b64decode(self.kv_get("fits")["Value"]), b"x" * 10)

    def test_max_txn_size_is_honoured(self):
        treq = self.api(max_value_size=10, max_txn_size=100)
        small = json.dumps([kv("set", "a", Value=b64(b"1"))]).encode()
        self.assertLess(len(small), 100)
        self.ok(small, treq=treq)
        big = json.dumps([kv("set", "a%d" % i, Value=b64(b"1")) for i in range(4)]).encode()
        self.assertGreater(len(big), 100)
        self.refused(big, 413, "Request body(%d bytes) too large, max size: 100 bytes. See %s." % (len(big), DOCS),
                     treq=treq)
        self.assertIsNone(self.kv_get("a0"))

    def test_a_larger_kv_max_value_size_raises_the_body_limit(self):
        # convertOps: "For backward compatibility, KVMaxValueSize is used as
        # the max txn request length if it is configured greater than
        # TxnMaxReqLen".
        body = json.dumps([kv("set", "a%d" % i, Value=b64(b"1")) for i in range(5)]).encode()
        self.assertTrue(100 < len(body) < 300)
        self.ok(body, treq=self.api(max_txn_size=100))
        treq = self.api(max_value_size=300, max_txn_size=100)
        self.ok(body, treq=treq)
        bigger = json.dumps([kv("set", "b%d" % i, Value=b64(b"1")) for i in range(12)]).encode()
        self.assertGreater(len(bigger), 300)
        self.refused(bigger, 413,
                     "Request body(%d bytes) too large, max size: 300 bytes. See %s." % (len(bigger), DOCS), treq=treq)

    def test_an_empty_operation_is_dropped(self):
        # convertOps converts only operations with KV, Node, Service or
        # Check set: an empty one is left out, and positions count without it.
        response, body = self.ok([{}])
        self.assert_read_answer(response, body)
        self.assertEqual(body["Results"], [])
        response, body = self.conflict([{}, kv("get", "missing")])
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": 'key "missing" doesn\'t exist'}])


class LockDelayTests(TxnTestCase):
    def test_a_lock_inside_the_lock_delay_is_refused_before_the_log(self):
        first = self.session({"LockDelay": "10s"})
        _, body = self.ok([kv("lock", "k", Value=b64(b"mine"), Session=first)])
        self.assertEqual((body["Results"][0]["KV"]["Session"], body["Results"][0]["KV"]["LockIndex"]), (first, 1))
        response, content = self.request("PUT", "/v1/session/destroy/" + first)
        self.assertEqual((response.code, content), (200, b"true"))
        self.assertNotIn("Session", self.kv_get("k"))
        second = self.session()
        response, body = self.conflict([kv("set", "x", Value=b64(b"1")),
                                        kv("lock", "k", Value=b64(b"2"), Session=second)])
        self.assert_write_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 1, "What": 'failed to lock key "k" due to lock delay'}])
        self.assertIsNone(self.kv_get("x"))
        self.agent.advance(5)
        _, body = self.conflict([kv("lock", "k", Session=second)])
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": 'failed to lock key "k" due to lock delay'}])
        self.agent.advance(5)
        _, body = self.ok([kv("lock", "k", Value=b64(b"2"), Session=second)])
        self.assertEqual((body["Results"][0]["KV"]["Session"], body["Results"][0]["KV"]["LockIndex"]), (second, 2))

    def test_lock_and_unlock_results(self):
        session = self.session()
        _, body = self.ok([kv("lock", "k", Value=b64(b"v"), Session=session), kv("check-session", "k", Session=session),
                           kv("unlock", "k", Session=session)])
        self.assertEqual([r["KV"].get("Session") for r in body["Results"]], [session, session, None])
        self.assertEqual([r["KV"]["Value"] for r in body["Results"]], [None, None, None])
        _, body = self.conflict([kv("lock", "k", Value=b64(b"v"))])
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": "missing session"}])


class CatalogTests(TxnTestCase):
    def node(self, name="ext", **fields):
        return {"Node": {"Verb": "set", "Node": dict({"Node": name, "Address": "10.1.1.1"}, **fields)}}

    def test_node_set_takes_the_agents_datacenter(self):
        response, body = self.ok([self.node()])
        self.assert_write_answer(response, body)
        [result] = body["Results"]
        index = result["Node"]["CreateIndex"]
        self.assertEqual(result, {"Node": {"ID": "", "Node": "ext", "Address": "10.1.1.1", "Datacenter": "dc1",
                                           "TaggedAddresses": None, "Meta": None, "CreateIndex": index,
                                           "ModifyIndex": index}})

    def test_node_results_and_reads(self):
        _, body = self.ok([self.node(Datacenter="dc1", Meta={"rack": "r1"})])
        [written] = body["Results"]
        response, read = self.ok([{"Node": {"Verb": "get", "Node": {"Node": "ext"}}}])
        self.assert_read_answer(response, read)
        self.assertEqual(read["Results"], [written])
        nodes = json.loads(self.request("GET", "/v1/catalog/nodes")[1])
        [listed] = [n for n in nodes if n["Node"] == "ext"]
        self.assertEqual(listed, written["Node"])
        _, body = self.conflict([{"Node": {"Verb": "get", "Node": {"Node": "ghost"}}}])
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": 'node "ghost" doesn\'t exist'}])

    def test_node_pre_checks(self):
        response, body = self.conflict([{"Node": {"Verb": "set", "Node": {"Address": "1"}}},
                                        self.node(ID="nope"), kv("set", "", Value=None)])
        self.assert_write_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": "Must provide node"},
                                          {"OpIndex": 1, "What": "Bad node ID: uuid string is wrong length"},
                                          {"OpIndex": 2, "What": "Must provide key"}])

    def test_service_results_have_the_catalogs_shape(self):
        _, body = self.ok([self.node(Datacenter="dc1"),
                           {"Service": {"Verb": "set", "Node": "ext",
                                        "Service": {"ID": "web1", "Service": "web", "Tags": ["a"], "Port": 80,
                                                    "Weights": {"Passing": 3, "Warning": 1}}}}])
        service = body["Results"][1]["Service"]
        shown = json.loads(self.request("GET", "/v1/catalog/node/ext")[1])["Services"]["web1"]
        self.assertEqual(service, shown)
        _, read = self.ok([{"Service": {"Verb": "get", "Node": "ext", "Service": {"ID": "web1"}}}])
        self.assertEqual(read["Results"], [{"Service": shown}])

    def test_service_weights_are_the_requests(self):
        # convertOps copies the api.AgentService's Weights, zero if not given.
        _, body = self.ok([self.node(Datacenter="dc1"),
                           {"Service": {"Verb": "set", "Node": "ext", "Service": {"Service": "web"}}}])
        service = body["Results"][1]["Service"]
        self.assertEqual((service["ID"], service["Weights"]), ("web", {"Passing": 0, "Warning": 0}))

    def test_service_pre_checks(self):
        self.ok([self.node(Datacenter="dc1")])
        response, body = self.conflict([
            {"Service": {"Verb": "set", "Node": "ext", "Service": {"ID": "web1"}}},
            {"Service": {"Verb": "set", "Node": "ext", "Service": {"Service": "web", "Address": "0.0.0.0"}}},
            {"Service": {"Verb": "delete", "Node": "ext", "Service": {"ID": "web1"}}},
        ])
        self.assert_write_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": "Must provide service name with ID"},
                                          {"OpIndex": 1, "What": "Invalid service address"},
                                          {"OpIndex": 2, "What": "Must provide service name with ID"}])

    def test_service_get_uses_the_id_as_given(self):
        # Only writes go through servicePreApply, which fills in the ID.
        self.ok([self.node(Datacenter="dc1"),
                 {"Service": {"Verb": "set", "Node": "ext", "Service": {"Service": "web"}}}])
        _, body = self.ok([{"Service": {"Verb": "get", "Node": "ext", "Service": {"ID": "web"}}}])
        self.assertEqual(body["Results"][0]["Service"]["ID"], "web")
        response, body = self.conflict([{"Service": {"Verb": "get", "Node": "ext", "Service": {"Service": "web"}}}])
        self.assert_read_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 0, "What": 'service "" on node "ext" doesn\'t exist'}])

    def test_check_results_and_reads(self):
        _, body = self.ok([
            self.node(Datacenter="dc1"),
            {"Service": {"Verb": "set", "Node": "ext", "Service": {"ID": "web1", "Service": "web", "Tags": ["a"]}}},
            {"Check": {"Verb": "set", "Check": {"Node": "ext", "CheckID": "web-check", "Name": "Web",
                                                "Status": "passing", "ServiceID": "web1"}}},
        ])
        check = body["Results"][2]["Check"]
        self.assertEqual((check["ServiceName"], check["ServiceTags"], check["Status"]), ("web", ["a"], "passing"))
        [shown] = [c for c in json.loads(self.request("GET", "/v1/health/node/ext")[1]) if c["CheckID"] == "web-check"]
        self.assertEqual(check, shown)
        _, read = self.ok([{"Check": {"Verb": "get", "Check": {"Node": "ext", "CheckID": "web-check"}}}])
        self.assertEqual(read["Results"], [{"Check": shown}])

    def test_a_check_is_named_by_its_name_without_an_id(self):
        # checkPreApply: a check without CheckID takes its Name.
        _, body = self.ok([self.node(Datacenter="dc1"),
                           {"Check": {"Verb": "set", "Check": {"Node": "ext", "Name": "disk", "Status": "passing"}}}])
        self.assertEqual(body["Results"][1]["Check"]["CheckID"], "disk")

    def test_an_unknown_node_verb_is_a_write(self):
        # convertOps counts every Node verb but "get" as a write: the answer
        # comes from Txn.Apply, without the read metadata.
        response, body = self.conflict([self.node(), {"Node": {"Verb": "bogus", "Node": {"Node": "ext"}}}])
        self.assert_write_answer(response, body)
        self.assertEqual(body["Errors"], [{"OpIndex": 1, "What": 'unknown Node verb "bogus"'}])

    def test_a_catalog_failure_undoes_the_kv_operations(self):
        response, body = self.conflict([kv("set", "x", Value=b64(b"1")), self.node(Datacenter="dc1"),
                                        {"Service": {"Verb": "set", "Node": "ghost", "Service": {"Service": "web"}}}])
        self.assertEqual(body["Errors"], [{"OpIndex": 2, "What": "Missing node registration"}])
        self.assertIsNone(self.kv_get("x"))
        self.assertEqual(self.request("GET", "/v1/catalog/node/ext")[1], b"null")

    def test_a_critical_check_ends_the_session_and_releases_its_lock(self):
        session = self.session({"LockDelay": "0s"})
        self.ok([kv("lock", "k", Value=b64(b"v"), Session=session)])
        self.ok([{"Check": {"Verb": "set", "Check": {"Node": "node-1", "CheckID": "serfHealth",
                                                    "Name": "Serf Health Status", "Status": "critical"}}}])
        response, content = self.request("GET", "/v1/session/info/" + session)
        self.assertEqual((response.code, json.loads(content)), (200, []))
        self.assertNotIn("Session", self.kv_get("k"))
