"""The KV reader's HTTP/1.1 client: parsing answers, and reusing connections,
over fake transports."""

from twisted.internet import error as net_error
from twisted.internet.defer import CancelledError, fail, succeed
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template.consul import Node
from pyconsul.template.httpclient import (
    MAX_HEADER_BYTES,
    HTTPClient,
    HTTPProtocolError,
    Response,
    ResponseParser,
    request_bytes,
)

OK = b"HTTP/1.1 200 OK\r\nX-Consul-Index: 7\r\nContent-Length: 2\r\n\r\n[]"
CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Consul-Index: 8\r\n\r\n"
           b"3;ext=1\r\n[{}\r\nA\r\n,{},{},{},\r\n3\r\n{}]\r\n0\r\nTrailer: x\r\n\r\n")


def parse(data, one_byte_at_a_time=False):
    parser = ResponseParser()
    pieces = [data[i:i + 1] for i in range(len(data))] if one_byte_at_a_time else [data]
    done = False
    for piece in pieces:
        done = parser.feed(piece)
    return parser, done


class ResponseParserTests(SynchronousTestCase):
    def test_a_sized_answer(self):
        for bytewise in (False, True):
            parser, done = parse(OK, bytewise)
            self.assertTrue(done)
            headers = {b"x-consul-index": b"7", b"content-length": b"2"}
            self.assertEqual(parser.response(), Response(200, headers, b"[]"))
            self.assertTrue(parser.keep_alive)

    def test_a_chunked_answer(self):
        for bytewise in (False, True):
            parser, done = parse(CHUNKED, bytewise)
            self.assertTrue(done)
            response = parser.response()
            self.assertEqual((response.code, response.body), (200, b"[{},{},{},{},{}]"))
            self.assertEqual(response.header("X-Consul-Index"), b"8")
            self.assertTrue(parser.keep_alive)

    def test_an_answer_that_ends_with_the_connection(self):
        parser, done = parse(b"HTTP/1.1 200 OK\r\nX-Consul-Index: 1\r\n\r\n[1,")
        self.assertFalse(done)
        parser.feed(b"2]")
        self.assertTrue(parser.end())
        self.assertEqual(parser.response().body, b"[1,2]")
        self.assertFalse(parser.keep_alive)

    def test_answers_without_a_body(self):
        for data in (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n"):
            parser, done = parse(data)
            self.assertTrue(done, data)
            self.assertEqual(parser.response().body, b"")
            self.assertTrue(parser.keep_alive)

    def test_an_interim_answer_is_skipped(self):
        parser, done = parse(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
        self.assertTrue(done)
        self.assertEqual(parser.response().code, 200)

    def test_when_the_connection_may_be_reused(self):
        cases = [
            (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
            (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
            (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", True),
            (OK + b"HTTP/1.1", False),  # more than was asked for
        ]
        for data, reusable in cases:
            parser, done = parse(data)
            self.assertTrue(done, data)
            self.assertEqual(parser.keep_alive, reusable, data)

    def test_an_incomplete_answer_is_not_complete_at_the_end(self):
        for data in (b"", b"HTTP/1.1 200 OK\r\n", OK[:-1], CHUNKED[:-2]):
            parser, done = parse(data)
            self.assertFalse(done, data)
            self.assertFalse(parser.end(), data)

    def test_what_is_not_http(self):
        cases = [
            (b"SSH-2.0-OpenSSH_9.2\r\n", "malformed HTTP response 'SSH-2.0-OpenSSH_9.2'"),
            (b"HTTP/1.1 OK\r\n", "malformed HTTP response 'HTTP/1.1 OK'"),
            (b"HTTP/1.1 200 OK\r\nno colon here\r\n", "malformed MIME header line: no colon here"),
            (b"HTTP/1.1 200 OK\r\n X: y\r\n", "malformed MIME header line:  X: y"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length '-1'"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk length 'zz'"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "malformed chunked encoding"),
        ]
        for data, message in cases:
            with self.assertRaises(HTTPProtocolError, msg=data) as caught:
                parse(data)
            self.assertEqual(str(caught.exception), message)

    def test_headers_have_a_limit(self):
        parser = ResponseParser()
        parser.feed(b"HTTP/1.1 200 OK\r\n")
        with self.assertRaises(HTTPProtocolError) as caught:
            for _ in range(MAX_HEADER_BYTES // 1000 + 1):
                parser.feed(b"X: " + b"y" * 995 + b"\r\n")
        self.assertEqual(str(caught.exception), "server response headers exceeded 1048576 bytes; aborted")
        with self.assertRaises(HTTPProtocolError):
            ResponseParser().feed(b"x" * (MAX_HEADER_BYTES + 1))


class RequestBytesTests(SynchronousTestCase):
    def test_a_get(self):
        self.assertEqual(
            request_bytes("127.0.0.1:8500", "/v1/kv/a?recurse=", [("User-Agent", "t"), ("X-Consul-Token", "s")]),
            b"GET /v1/kv/a?recurse= HTTP/1.1\r\nHost: 127.0.0.1:8500\r\nUser-Agent: t\r\nX-Consul-Token: s\r\n\r\n",
        )

    def test_no_header_injection(self):
        self.assertEqual(request_bytes("h:1", "/", [("X-Consul-Token", "a\r\nEvil: 1")]),
                         b"GET / HTTP/1.1\r\nHost: h:1\r\nX-Consul-Token: a  Evil: 1\r\n\r\n")


class NoDelayTransport(StringTransport):
    no_delay = False

    def setTcpNoDelay(self, enabled):
        self.no_delay = enabled


class FakeEndpoint:
    """Connects protocols to string transports, or fails with ``error``."""

    def __init__(self):
        self.connections = []  # (protocol, transport)
        self.error = None

    def connect(self, factory):
        if self.error is not None:
            return fail(self.error)
        protocol = factory.buildProtocol(None)
        transport = NoDelayTransport()
        protocol.makeConnection(transport)
        self.connections.append((protocol, transport))
        return succeed(protocol)


A = Node("http", "a", 8500)
B = Node("http", "b", 8500)


class HTTPClientTests(SynchronousTestCase):
    def setUp(self):
        self.endpoints = {}
        self.client = HTTPClient(None, endpoint_for=self.endpoint)

    def endpoint(self, node):
        return self.endpoints.setdefault(node, FakeEndpoint())

    def connection(self, n=-1, node=A):
        return self.endpoints[node].connections[n]

    def answer(self, d, data=OK, n=-1, node=A):
        protocol, transport = self.connection(n, node)
        protocol.dataReceived(data)
        return self.successResultOf(d)

    def test_a_get_then_the_same_connection_again(self):
        d = self.client.get(A, "/v1/kv/x?recurse=", [("User-Agent", "t")])
        protocol, transport = self.connection()
        self.assertEqual(transport.value(), b"GET /v1/kv/x?recurse= HTTP/1.1\r\nHost: a:8500\r\nUser-Agent: t\r\n\r\n")
        self.assertTrue(transport.no_delay)
        self.assertEqual(self.answer(d).body, b"[]")
        transport.clear()
        d = self.client.get(A, "/again")
        self.assertEqual(len(self.endpoints[A].connections), 1)
        self.assertEqual(transport.value(), b"GET /again HTTP/1.1\r\nHost: a:8500\r\n\r\n")
        self.assertEqual(self.answer(d, CHUNKED).code, 200)
        self.assertFalse(transport.disconnecting)

    def test_asking_again_from_the_answer_reuses_the_connection(self):
        again = []
        d = self.client.get(A, "/first")
        d.addCallback(lambda _: again.append(self.client.get(A, "/second")))
        self.answer(d)
        self.assertEqual(len(self.endpoints[A].connections), 1)
        self.assertTrue(self.connection()[1].value().endswith(b"GET /second HTTP/1.1\r\nHost: a:8500\r\n\r\n"))

    def test_a_closing_answer_closes_the_connection(self):
        d = self.client.get(A, "/")
        self.answer(d, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        self.assertTrue(self.connection()[1].disconnecting)
        self.client.get(A, "/")
        self.assertEqual(len(self.endpoints[A].connections), 2)

    def test_an_answer_ending_with_the_connection(self):
        d = self.client.get(A, "/")
        protocol, _ = self.connection()
        protocol.dataReceived(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        self.assertNoResult(d)
        protocol.connectionLost(Failure(net_error.ConnectionDone()))
        self.assertEqual(self.successResultOf(d).body, b"all of it")
        self.client.get(A, "/")
        self.assertEqual(len(self.endpoints[A].connections), 2)

    def test_an_idle_connection_the_server_closed_is_forgotten(self):
        self.answer(self.client.get(A, "/"))
        self.connection()[0].connectionLost(Failure(net_error.ConnectionDone()))
        self.client.get(A, "/")
        self.assertEqual(len(self.endpoints[A].connections), 2)

    def test_a_reused_connection_closed_before_answering_is_retried_once(self):
        self.answer(self.client.get(A, "/"))
        d = self.client.get(A, "/retried")
        self.connection(0)[0].connectionLost(Failure(net_error.ConnectionDone()))
        self.assertEqual(len(self.endpoints[A].connections), 2)
        self.assertEqual(self.connection(1)[1].value(), b"GET /retried HTTP/1.1\r\nHost: a:8500\r\n\r\n")
        self.assertEqual(self.answer(d, n=1).code, 200)

    def test_a_new_connection_closed_before_answering_fails(self):
        d = self.client.get(A, "/")
        self.connection()[0].connectionLost(Failure(net_error.ConnectionLost()))
        self.failureResultOf(d, net_error.ConnectionLost)
        self.assertEqual(len(self.endpoints[A].connections), 1)

    def test_a_connection_lost_in_the_middle_of_an_answer_fails(self):
        self.answer(self.client.get(A, "/"))
        d = self.client.get(A, "/")
        protocol, _ = self.connection()
        protocol.dataReceived(OK[:20])
        protocol.connectionLost(Failure(net_error.ConnectionDone()))
        self.failureResultOf(d, net_error.ConnectionDone)
        self.assertEqual(len(self.endpoints[A].connections), 1)

    def test_cancelling_aborts_the_connection(self):
        d = self.client.get(A, "/")
        protocol, transport = self.connection()
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertTrue(transport.disconnecting)
        protocol.connectionLost(Failure(net_error.ConnectionAborted()))
        self.client.get(A, "/")
        self.assertEqual(len(self.endpoints[A].connections), 2)

    def test_an_answer_that_is_not_http(self):
        d = self.client.get(A, "/")
        protocol, transport = self.connection()
        protocol.dataReceived(b"SSH-2.0-OpenSSH_9.2\r\n")
        self.assertEqual(str(self.failureResultOf(d, HTTPProtocolError).value),
                         "malformed HTTP response 'SSH-2.0-OpenSSH_9.2'")
        self.assertTrue(transport.disconnecting)
        self.client.get(A, "/")
        self.assertEqual(len(self.endpoints[A].connections), 2)

    def test_bytes_nobody_asked_for_end_an_idle_connection(self):
        self.answer(self.client.get(A, "/"))
        protocol, transport = self.connection()
        protocol.dataReceived(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        self.assertTrue(transport.disconnecting)
        protocol.connectionLost(Failure(net_error.ConnectionAborted()))
        self.client.get(A, "/")
        self.assertEqual(len(self.endpoints[A].connections), 2)

    def test_a_connection_that_cannot_be_made(self):
        self.endpoint(A).error = net_error.ConnectionRefusedError()
        self.failureResultOf(self.client.get(A, "/"), net_error.ConnectionRefusedError)

    def test_connections_belong_to_their_node(self):
        self.answer(self.client.get(A, "/"))
        d = self.client.get(B, "/")
        self.assertEqual(len(self.endpoints[A].connections), 1)
        self.assertEqual(self.connection(node=B)[1].value(), b"GET / HTTP/1.1\r\nHost: b:8500\r\n\r\n")
        self.answer(d, node=B)

    def test_idle_connections_are_kept_up_to_a_limit(self):
        client = HTTPClient(None, endpoint_for=self.endpoint, max_idle=1)
        first, second = client.get(A, "/"), client.get(A, "/")
        self.answer(first, n=0)
        self.answer(second, n=1)
        self.assertEqual([t.disconnecting for _, t in self.endpoints[A].connections], [False, True])
