"""The KV and status HTTP API on an in-memory server, through StubTreq."""

import base64
import json

from treq.testing import StubTreq
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.testing.server import InMemoryServer


class APITestCase(SynchronousTestCase):
    def setUp(self):
        self.agent = InMemoryServer()
        self.treq = StubTreq(self.agent.http.resource())

    def request(self, method, path, body=b"", headers=None):
        d = self.treq.request(
            method, "http://127.0.0.1:8500" + path, data=body, headers=headers, allow_redirects=False
        )
        self.agent.advance()
        self.treq.flush()
        response = self.successResultOf(d)
        content = self.successResultOf(response.content())
        return response, content

    def started(self, method, path):
        """A request whose answer is still pending (a blocking query)."""
        d = self.treq.request(method, "http://127.0.0.1:8500" + path)
        self.agent.advance()
        return d

    def finished(self, d):
        self.treq.flush()
        response = self.successResultOf(d)
        return response, self.successResultOf(response.content())

    def header(self, response, name):
        values = response.headers.getRawHeaders(name)
        return values[0] if values else None

    def put(self, path, body=b""):
        response, content = self.request("PUT", path, body)
        self.assertEqual(response.code, 200, content)
        return json.loads(content)


class KVTests(APITestCase):
    def test_put_then_get(self):
        self.assertIs(self.put("/v1/kv/foo", b"bar"), True)
        response, content = self.request("GET", "/v1/kv/foo")
        [entry] = json.loads(content)
        self.assertEqual(base64.b64decode(entry["Value"]), b"bar")
        self.assertEqual(entry["Key"], "foo")
        self.assertEqual(self.header(response, "X-Consul-Index"), str(entry["ModifyIndex"]))
        self.assertEqual(self.header(response, "X-Consul-KnownLeader"), "true")
        self.assertEqual(self.header(response, "X-Consul-LastContact"), "0")
        self.assertNotIn("Session", entry)

    def test_empty_body_is_a_null_value(self):
        self.put("/v1/kv/empty")
        _, content = self.request("GET", "/v1/kv/empty")
        self.assertIsNone(json.loads(content)[0]["Value"])

    def test_missing_key_is_404_with_an_index(self):
        self.put("/v1/kv/other", b"x")
        response, content = self.request("GET", "/v1/kv/nope")
        self.assertEqual((response.code, content), (404, b""))
        self.assertIsNotNone(self.header(response, "X-Consul-Index"))

    def test_raw(self):
        self.put("/v1/kv/r", b"\x00\xffraw")
        response, content = self.request("GET", "/v1/kv/r?raw=false")
        self.assertEqual(content, b"\x00\xffraw")
        self.assertEqual(self.header(response, "Content-Type"), "text/plain")
        self.assertEqual(self.header(response, "Content-Security-Policy"), "sandbox")

    def test_recurse_and_keys(self):
        for key in ("a", "a/b", "a/b/c", "ab", "b/c"):
            self.put("/v1/kv/" + key, key.encode())
        _, content = self.request("GET", "/v1/kv/a?recurse")
        self.assertEqual([e["Key"] for e in json.loads(content)], ["a", "a/b", "a/b/c", "ab"])
        _, content = self.request("GET", "/v1/kv/a?keys&separator=/")
        self.assertEqual(json.loads(content), ["a", "a/", "ab"])
        response, _ = self.request("GET", "/v1/kv/zzz/?recurse")
        self.assertEqual(response.code, 404)
        response, content = self.request("GET", "/v1/kv/?keys")
        self.assertEqual(json.loads(content), ["a", "a/b", "a/b/c", "ab", "b/c"])

    def test_keys_on_an_empty_root_is_200(self):
        response, content = self.request("GET", "/v1/kv/?keys")
        self.assertEqual((response.code, json.loads(content)), (200, []))
        response, _ = self.request("GET", "/v1/kv/x/?keys")
        self.assertEqual(response.code, 404)

    def test_cas(self):
        self.assertIs(self.put("/v1/kv/c?cas=0", b"1"), True)
        self.assertIs(self.put("/v1/kv/c?cas=0", b"2"), False)
        _, content = self.request("GET", "/v1/kv/c")
        index = json.loads(content)[0]["ModifyIndex"]
        self.assertIs(self.put("/v1/kv/c?cas=%d" % index, b"3"), True)
        self.assertIs(self.put("/v1/kv/c?cas=%d" % index, b"4"), False)

    def test_flags_first_value_wins(self):
        self.put("/v1/kv/f?flags=42&flags=7", b"v")
        _, content = self.request("GET", "/v1/kv/f")
        self.assertEqual(json.loads(content)[0]["Flags"], 42)

    def test_malformed_numbers_are_400_and_write_nothing(self):
        for query in ("flags=abc", "flags=-1", "flags=", "cas=1e3", "flags=18446744073709551616"):
            response, content = self.request("PUT", "/v1/kv/f?" + query, b"v")
            self.assertEqual(response.code, 400, query)
            self.assertIn(b"expected a decimal integer", content)
        response, _ = self.request("GET", "/v1/kv/f")
        self.assertEqual(response.code, 404)

    def test_value_too_large(self):
        self.put("/v1/kv/k", b"small")
        response, content = self.request("PUT", "/v1/kv/k", b"x" * (512 * 1024 + 1))
        self.assertEqual(response.code, 413)
        self.assertTrue(content.startswith(b"Request body(524289 bytes) too large"))
        self.assertIs(self.put("/v1/kv/k", b"x" * (512 * 1024)), True)

    def test_delete(self):
        for key in ("a", "a/b", "ab", "b"):
            self.put("/v1/kv/" + key, b"v")
        response, content = self.request("DELETE", "/v1/kv/a/?recurse")
        self.assertEqual(json.loads(content), True)
        _, content = self.request("GET", "/v1/kv/?keys")
        self.assertEqual(json.loads(content), ["a", "ab", "b"])
        self.request("DELETE", "/v1/kv/a?recurse")
        _, content = self.request("GET", "/v1/kv/?keys")
        self.assertEqual(json.loads(content), ["b"])

    def test_delete_conflicting_flags(self):
        response, content = self.request("DELETE", "/v1/kv/p?recurse&cas=0")
        self.assertEqual((response.code, content), (400, b"Conflicting flags: cas=0&recurse="))

    def test_missing_key_name(self):
        for method in ("GET", "PUT", "DELETE"):
            response, content = self.request(method, "/v1/kv/")
            self.assertEqual((response.code, content), (400, b"Missing key name"), method)

    def test_methods(self):
        response, content = self.request("POST", "/v1/kv/k", b"v")
        self.assertEqual((response.code, content), (405, b"method POST not allowed"))
        self.assertEqual(self.header(response, "Allow"), "OPTIONS,GET,PUT,DELETE")
        response, _ = self.request("OPTIONS", "/v1/kv/k")
        self.assertEqual(response.code, 200)
        response, _ = self.request("PUT", "/v1/status/leader")
        self.assertEqual(self.header(response, "Allow"), "OPTIONS,GET")

    def test_unclean_paths_redirect_and_write_nothing(self):
        response, _ = self.request("PUT", "/v1/kv//lead", b"x")
        self.assertEqual((response.code, self.header(response, "Location")), (301, "/v1/kv/lead"))
        response, _ = self.request("GET", "/v1/kv/a/./b?raw&x=1")
        self.assertEqual(self.header(response, "Location"), "/v1/kv/a/b?raw&x=1")
        response, _ = self.request("PUT", "/v1/kv/%2Flead", b"x")
        self.assertEqual(response.code, 301)
        response, _ = self.request("GET", "/v1/kv?keys")
        self.assertEqual((response.code, self.header(response, "Location")), (301, "/v1/kv/?keys"))
        _, content = self.request("GET", "/v1/kv/?keys")
        self.assertEqual(json.loads(content), [])

    def test_encoded_slash_and_plus_in_keys(self):
        self.put("/v1/kv/s%2Ft", b"slash")
        self.put("/v1/kv/p+q", b"plus")
        _, content = self.request("GET", "/v1/kv/?keys")
        self.assertEqual(json.loads(content), ["p+q", "s/t"])

    def test_bad_escapes_are_400(self):
        response, _ = self.request("GET", "/v1/kv/k?raw=%zz")
        self.assertEqual(response.code, 400)
        response, _ = self.request("GET", "/v1/kv/%zz")
        self.assertEqual(response.code, 400)

    def test_read_parameter_errors(self):
        cases = {
            "index=abc": b"Invalid index",
            "index=-1": b"Invalid index",
            "wait=1": b"Invalid wait time",
            "stale&consistent": b"Cannot specify ?stale with ?consistent, conflicting semantics.",
        }
        for query, message in cases.items():
            response, content = self.request("GET", "/v1/kv/k?" + query)
            self.assertEqual((response.code, content), (400, message), query)

    def test_unknown_datacenter(self):
        for method in ("GET", "PUT", "DELETE"):
            response, content = self.request(method, "/v1/kv/k?dc=nope")
            self.assertEqual((response.code, content), (500, b"No path to datacenter"))

    def test_consistency_modes(self):
        self.put("/v1/kv/k", b"v")
        for query in ("stale", "consistent", "stale=false", "consistent=0"):
            response, _ = self.request("GET", "/v1/kv/k?" + query)
            self.assertEqual(response.code, 200, query)


class BlockingQueryTests(APITestCase):
    def index_of(self, path):
        response, _ = self.request("GET", path)
        return int(self.header(response, "X-Consul-Index"))

    def test_wakes_on_write_to_the_key(self):
        self.put("/v1/kv/k", b"v1")
        index = self.index_of("/v1/kv/k")
        d = self.started("GET", "/v1/kv/k?index=%d&wait=10s" % index)
        self.assertNoResult(d)
        self.put("/v1/kv/other", b"x")
        self.assertNoResult(d)
        self.put("/v1/kv/k", b"v2")
        response, content = self.finished(d)
        self.assertEqual(base64.b64decode(json.loads(content)[0]["Value"]), b"v2")
        self.assertGreater(int(self.header(response, "X-Consul-Index")), index)

    def test_wakes_on_delete(self):
        self.put("/v1/kv/k", b"v1")
        index = self.index_of("/v1/kv/k")
        d = self.started("GET", "/v1/kv/k?index=%d&wait=10s" % index)
        self.request("DELETE", "/v1/kv/k")
        response, _ = self.finished(d)
        self.assertEqual(response.code, 404)

    def test_times_out_by_the_clock(self):
        self.put("/v1/kv/k", b"v1")
        index = self.index_of("/v1/kv/k")
        d = self.started("GET", "/v1/kv/k?index=%d&wait=2s" % index)
        self.agent.advance(1.9)
        self.assertNoResult(d)
        # wait + up to wait/16 of jitter
        self.agent.advance(0.2 + 2 / 16)
        response, _ = self.finished(d)
        self.assertEqual(self.header(response, "X-Consul-Index"), str(index))

    def test_prefix_ignores_writes_elsewhere(self):
        self.put("/v1/kv/p/a", b"1")
        index = self.index_of("/v1/kv/p/?recurse")
        d = self.started("GET", "/v1/kv/p/?recurse&index=%d&wait=1m" % index)
        self.put("/v1/kv/q", b"x")
        self.assertNoResult(d)
        self.put("/v1/kv/p/b", b"2")
        _, content = self.finished(d)
        self.assertEqual([e["Key"] for e in json.loads(content)], ["p/a", "p/b"])

    def test_default_and_maximum_wait(self):
        self.put("/v1/kv/k", b"v")
        index = self.index_of("/v1/kv/k")
        d = self.started("GET", "/v1/kv/k?index=%d" % index)
        self.agent.advance(299)
        self.assertNoResult(d)
        self.agent.advance(300 / 16 + 1)
        self.finished(d)
        d = self.started("GET", "/v1/kv/k?index=%d&wait=1h" % index)
        self.agent.advance(599)
        self.assertNoResult(d)
        self.agent.advance(600 / 16 + 1)
        self.finished(d)

    def test_index_from_the_future_waits(self):
        self.put("/v1/kv/k", b"v")
        d = self.started("GET", "/v1/kv/k?index=999999&wait=1s")
        self.agent.advance(0.9)
        self.assertNoResult(d)
        self.agent.advance(0.2)
        self.finished(d)


class StatusTests(APITestCase):
    def test_leader_and_peers(self):
        _, content = self.request("GET", "/v1/status/leader")
        self.assertEqual(json.loads(content), "127.0.0.1:8300")
        _, content = self.request("GET", "/v1/status/peers?stale")
        self.assertEqual(json.loads(content), ["127.0.0.1:8300"])
        response, content = self.request("GET", "/v1/status/leader?dc=nope")
        self.assertEqual((response.code, content), (500, b"No path to datacenter"))
