"""The KV reader's HTTP side: addresses, URLs, answers and failures, with an
in-memory HTTP client (no sockets)."""

import base64
import json

from twisted.internet import error as net_error
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import deps
from pyconsul.template.consul import (
    ConsulKV,
    KVError,
    Listing,
    Node,
    NodeAddressError,
    describe_failure,
    kv_path,
    parse_node,
)
from pyconsul.template.httpclient import HTTPProtocolError, Response


class ParseNodeTests(SynchronousTestCase):
    def test_forms_confd_accepts(self):
        self.assertEqual(parse_node("localhost:8500"), Node("http", "localhost", 8500))
        self.assertEqual(parse_node("127.0.0.1:8501"), Node("http", "127.0.0.1", 8501))
        self.assertEqual(parse_node("http://10.0.0.1:8500"), Node("http", "10.0.0.1", 8500))
        self.assertEqual(parse_node("http://10.0.0.1:8500/"), Node("http", "10.0.0.1", 8500))
        self.assertEqual(parse_node("https://consul.example:8501"), Node("https", "consul.example", 8501))
        self.assertEqual(parse_node("[::1]:8500"), Node("http", "::1", 8500))
        self.assertEqual(parse_node("consul"), Node("http", "consul", 8500))
        self.assertEqual(parse_node("consul:8501", scheme="https"), Node("https", "consul", 8501))

    def test_urls(self):
        self.assertEqual(parse_node("[::1]:8500").base_url, "http://[::1]:8500")
        self.assertEqual(parse_node("https://a:1").base_url, "https://a:1")

    def test_bad_addresses(self):
        for text in ("ftp://a:1", "a:notaport", "a:99999", "http://a:1/v1", "", ":8500", "user@a:1", "bücher:1"):
            with self.assertRaises(NodeAddressError, msg=text):
                parse_node(text)


class KVPathTests(SynchronousTestCase):
    def test_plain_and_blocking(self):
        self.assertEqual(kv_path("nginx"), "/v1/kv/nginx?recurse=")
        self.assertEqual(kv_path("nginx", index=7, wait=300), "/v1/kv/nginx?recurse=&index=7&wait=300000ms")
        self.assertEqual(kv_path(""), "/v1/kv/?recurse=")

    def test_escaping_as_go(self):
        self.assertEqual(kv_path("a b/c?d#e%f"), "/v1/kv/a%20b/c%3Fd%23e%25f?recurse=")
        self.assertEqual(kv_path("k=v:x@y"), "/v1/kv/k=v:x@y?recurse=")


def entry(key, value):
    encoded = base64.b64encode(value).decode() if value is not None else None
    return {"Key": key, "Value": encoded, "Flags": 0, "CreateIndex": 1, "ModifyIndex": 1, "LockIndex": 0}


class FakeHTTP:
    """Answers every GET with the next (status, headers, body) and records
    (node, target, headers) of each."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def get(self, node, target, headers=()):
        self.requests.append((node, target, dict(headers)))
        status, headers, body = self.answers.pop(0)
        encoded = {name.lower().encode(): value.encode() for name, value in headers.items()}
        return succeed(Response(status, encoded, body))


def json_answer(index, entries, status=200):
    return status, {"X-Consul-Index": str(index)}, json.dumps(entries).encode()


class ConsulKVTests(SynchronousTestCase):
    def kv(self, answers, nodes=("127.0.0.1:8500",), **kwargs):
        self.consul = FakeHTTP(answers)
        return ConsulKV(Clock(), [parse_node(n) for n in nodes], http=self.consul, **kwargs)

    def result(self, d):
        return self.successResultOf(d)

    def failure(self, d):
        return self.failureResultOf(d, KVError)

    def test_a_listing(self):
        kv = self.kv([json_answer(12, [entry("nginx/a", b"1"), entry("nginx/dir/", None)])])
        listing = self.result(kv.list("nginx"))
        self.assertEqual(listing, Listing(12, {"nginx/a": b"1", "nginx/dir/": None}))
        node, target, headers = self.consul.requests[0]
        self.assertEqual((node, target), (Node("http", "127.0.0.1", 8500), "/v1/kv/nginx?recurse="))
        self.assertEqual(headers, {"User-Agent": "pyconsul-template"})

    def test_a_blocking_query(self):
        kv = self.kv([json_answer(13, [])])
        self.result(kv.list("nginx", index=12, wait=300))
        self.assertEqual(self.consul.requests[0][1], "/v1/kv/nginx?recurse=&index=12&wait=300000ms")

    def test_token(self):
        kv = self.kv([json_answer(1, [])], token="secret")
        self.result(kv.list("x"))
        self.assertEqual(self.consul.requests[0][2]["X-Consul-Token"], "secret")

    def test_an_empty_prefix_is_404_with_an_index(self):
        kv = self.kv([(404, {"X-Consul-Index": "9"}, b"")])
        self.assertEqual(self.result(kv.list("nothing")), Listing(9, {}))

    def test_other_statuses_are_errors(self):
        kv = self.kv([(500, {}, b"No cluster leader")])
        self.assertEqual(str(self.failure(kv.list("x")).value),
                         "Unexpected response code: 500 (No cluster leader)")

    def test_missing_index(self):
        kv = self.kv([(200, {}, b"[]")])
        self.assertIn("no valid X-Consul-Index", str(self.failure(kv.list("x")).value))

    def test_undecodable_body(self):
        for body in (b"not json", b'[{"Key": "a", "Value": "abc"}]', b'{"Key": "a"}', b"[1]"):
            kv = self.kv([(200, {"X-Consul-Index": "1"}, body)])
            self.assertIn("cannot decode the KV listing", str(self.failure(kv.list("x")).value), body)


class FailingHTTP:
    """An HTTP client whose requests fail with ``error``, or never answer."""

    def __init__(self, error=None):
        self.error = error
        self.urls = []

    def get(self, node, target, headers=()):
        self.urls.append(node.base_url + target)
        if self.error is None:
            return Deferred()
        return fail(self.error)


class FailureTests(SynchronousTestCase):
    def test_connection_refused_in_gos_words(self):
        kv = ConsulKV(Clock(), [parse_node("127.0.0.1:8500")],
                      http=FailingHTTP(net_error.ConnectionRefusedError()))
        error = self.failureResultOf(kv.list("nginx"), KVError).value
        self.assertEqual(str(error), 'Get "http://127.0.0.1:8500/v1/kv/nginx?recurse=": '
                                     'dial tcp 127.0.0.1:8500: connect: connection refused')

    def test_other_failures(self):
        node = parse_node("consul.example:8500")
        cases = [
            (net_error.DNSLookupError("x"), "dial tcp: lookup consul.example: no such host"),
            (net_error.ConnectionLost(), "EOF"),
            (net_error.ConnectionDone(), "EOF"),
            (HTTPProtocolError("malformed HTTP response 'SSH-2.0'"), "malformed HTTP response 'SSH-2.0'"),
            (net_error.TimeoutError(), "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
        ]
        for error, text in cases:
            self.assertEqual(describe_failure(Failure(error), node), text)

    def test_a_request_that_never_answers_times_out(self):
        clock = Clock()
        kv = ConsulKV(clock, [parse_node("a:8500")], http=FailingHTTP(None), request_timeout=30)
        d = kv.list("x")
        clock.advance(29)
        self.assertNoResult(d)
        clock.advance(1)
        self.assertIn("context deadline exceeded", str(self.failureResultOf(d, KVError).value))

    def test_a_blocking_query_may_take_its_wait_and_the_agents_jitter(self):
        clock = Clock()
        kv = ConsulKV(clock, [parse_node("a:8500")], http=FailingHTTP(None))
        d = kv.list("x", index=5, wait=300)
        clock.advance(300 + 300 / 16)
        self.assertNoResult(d)
        clock.advance(60)
        self.failureResultOf(d, KVError)

    def test_the_next_node_after_a_connection_failure(self):
        http = FailingHTTP(net_error.ConnectionRefusedError())
        kv = ConsulKV(Clock(), [parse_node(n) for n in ("a:1", "b:2")], http=http)
        for _ in range(3):
            self.failureResultOf(kv.list("x"), KVError)
        self.assertEqual([u.split("/v1")[0] for u in http.urls], ["http://a:1", "http://b:2", "http://a:1"])

    def test_no_nodes(self):
        with self.assertRaises(ValueError):
            ConsulKV(Clock(), [])

    def test_the_next_node_after_a_lost_or_garbled_answer(self):
        for error in (net_error.ConnectionLost(), HTTPProtocolError("malformed HTTP response 'x'")):
            http = FailingHTTP(error)
            kv = ConsulKV(Clock(), [parse_node(n) for n in ("a:1", "b:2")], http=http)
            self.failureResultOf(kv.list("x"), KVError)
            self.failureResultOf(kv.list("x"), KVError)
            self.assertEqual([u.split("/v1")[0] for u in http.urls], ["http://a:1", "http://b:2"])

    def test_an_error_answer_keeps_the_node(self):
        http = FakeHTTP([(500, {}, b"No cluster leader"), json_answer(3, [])])
        kv = ConsulKV(Clock(), [parse_node(n) for n in ("a:1", "b:2")], http=http)
        self.failureResultOf(kv.list("x"), KVError)
        self.successResultOf(kv.list("x"))
        self.assertEqual([node.authority for node, _, _ in http.requests], ["a:1", "a:1"])


class CatalogReadTests(SynchronousTestCase):
    """The discovery functions' reads: the same client, paths and errors as KV's."""

    def kv(self, answers, nodes=("127.0.0.1:8500",)):
        self.consul = FakeHTTP(answers)
        return ConsulKV(Clock(), [parse_node(n) for n in nodes], http=self.consul)

    def targets(self):
        return [target for _, target, _ in self.consul.requests]

    def test_a_health_query(self):
        entries = [{"Node": {"Node": "n1"}, "Service": {"ID": "web1"}, "Checks": []}]
        kv = self.kv([json_answer(7, entries), json_answer(8, [])])
        self.assertEqual(self.successResultOf(kv.read(deps.parse_health_service("web"))), Listing(7, entries))
        self.successResultOf(kv.read(deps.parse_health_service("v=1:x.web@dc2~_agent|any"), index=7, wait=300))
        self.assertEqual(self.targets(), [
            "/v1/health/service/web?passing=1",
            "/v1/health/service/web?dc=dc2&near=_agent&tag=v%3D1%3Ax&index=7&wait=300000ms",
        ])

    def test_the_catalog_queries(self):
        kv = self.kv([json_answer(3, {"web": ["a"]}), json_answer(4, []), json_answer(5, None)])
        self.assertEqual(self.successResultOf(kv.read(deps.CatalogServicesQuery("dc2"))), Listing(3, {"web": ["a"]}))
        self.assertEqual(self.successResultOf(kv.read(deps.CatalogNodesQuery(near="_agent"))), Listing(4, []))
        self.assertEqual(self.successResultOf(kv.read(deps.CatalogNodeQuery("n1"))), Listing(5, None))
        self.assertEqual(self.targets(), ["/v1/catalog/services?dc=dc2", "/v1/catalog/nodes?near=_agent",
                                          "/v1/catalog/node/n1"])

    def test_the_agents_own_node_is_asked_once(self):
        self_answer = (200, {}, json.dumps({"Config": {"NodeName": "agent-1", "Datacenter": "dc1"}}).encode())
        kv = self.kv([self_answer, json_answer(5, None), json_answer(6, None)])
        self.successResultOf(kv.read(deps.CatalogNodeQuery()))
        self.successResultOf(kv.read(deps.CatalogNodeQuery(dc="dc2"), index=5, wait=60))
        self.assertEqual(self.targets(), ["/v1/agent/self", "/v1/catalog/node/agent-1",
                                          "/v1/catalog/node/agent-1?dc=dc2&index=5&wait=60000ms"])

    def test_the_next_agent_is_asked_its_own_node(self):
        http = FailingHTTP(net_error.ConnectionRefusedError())
        kv = ConsulKV(Clock(), [parse_node(n) for n in ("a:1", "b:2")], http=http)
        kv._local_node = "node-a"
        self.failureResultOf(kv.read(deps.CatalogNodeQuery()), KVError)
        self.failureResultOf(kv.read(deps.CatalogNodeQuery()), KVError)
        self.assertEqual(http.urls, ["http://a:1/v1/catalog/node/node-a", "http://b:2/v1/agent/self"])

    def test_errors(self):
        cases = [
            ((404, {"X-Consul-Index": "1"}, b"no such endpoint"), "Unexpected response code: 404 (no such endpoint)"),
            ((500, {}, b"No cluster leader"), "Unexpected response code: 500 (No cluster leader)"),
            ((200, {"X-Consul-Index": "1"}, b"[not json"),
             'Get "http://127.0.0.1:8500/v1/catalog/nodes": cannot decode the answer'),
            ((200, {}, b"[]"), "no valid X-Consul-Index"),
        ]
        for answer, text in cases:
            kv = self.kv([answer])
            self.assertIn(text, str(self.failureResultOf(kv.read(deps.CatalogNodesQuery()), KVError).value))
        for body in (b"{}", b"not json", b'{"Config": {"NodeName": ""}}'):
            kv = self.kv([(200, {}, body)])
            error = self.failureResultOf(kv.read(deps.CatalogNodeQuery()), KVError).value
            self.assertIn('Get "http://127.0.0.1:8500/v1/agent/self": ', str(error))
