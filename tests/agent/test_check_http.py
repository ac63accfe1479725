"""HTTP checks against a fake twisted.web agent, and against real servers
(HTTP and HTTPS) on loopback."""

from service_identity.exceptions import CertificateError
from twisted.internet import error as net
from twisted.internet import reactor, ssl
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web import resource, server
from twisted.web._newclient import ResponseNeverReceived
from twisted.web.client import ResponseDone, ResponseFailed

from pyconsul.agent.checks.http import HTTPAgents, HTTPProbe
from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING, CheckDefinition
from pyconsul.golang.duration import SECOND

from tests.agent.checkfakes import FakeAgent, FakeResponse


class _Consumer:
    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += data


class HTTPProbeTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.agent = FakeAgent()
        self.results = []

    def run_check(self, limit=4096, **fields):
        fields.setdefault("http", "http://127.0.0.1:8080/health")
        fields.setdefault("interval", 10 * SECOND)
        probe = HTTPProbe("web", CheckDefinition(**fields), self.agent, self.clock, limit)
        running = probe()
        running.addCallback(self.results.append)
        return running

    def answer(self, code, *chunks, phrase=b"OK", end=ResponseDone):
        response = FakeResponse(code, phrase)
        self.agent.requests[-1]["answer"].callback(response)
        response.send(*chunks, end=end)
        return response

    def test_passing_warning_critical(self):
        for code, phrase, status in ((200, b"OK", PASSING), (204, b"No Content", PASSING),
                                     (429, b"Too Many Requests", WARNING), (503, b"Service Unavailable", CRITICAL),
                                     (302, b"Found", CRITICAL), (199, b"Odd", CRITICAL)):
            self.run_check()
            self.answer(code, b"body", phrase=phrase)
            self.assertEqual(self.results[-1], (
                status, "HTTP GET http://127.0.0.1:8080/health: %d %s Output: body" % (code, phrase.decode())))

    def test_the_request_as_consul_sends_it(self):
        self.run_check(method="PUT", body='{"a": 1}', header=(("X-Token", ("t1", "t2")),))
        request = self.agent.requests[-1]
        self.assertEqual((request["method"], request["uri"]), (b"PUT", b"http://127.0.0.1:8080/health"))
        headers = request["headers"]
        self.assertEqual(headers.getRawHeaders(b"x-token"), [b"t1", b"t2"])
        self.assertEqual(headers.getRawHeaders(b"user-agent"), [b"Consul Health Check"])
        self.assertEqual(headers.getRawHeaders(b"accept"), [b"text/plain, text/*, */*"])
        consumer = _Consumer()
        request["body"].startProducing(consumer)
        self.assertEqual((consumer.data, request["body"].length), (b'{"a": 1}', 8))
        self.answer(200)
        self.assertEqual(self.results[-1][1], "HTTP PUT http://127.0.0.1:8080/health: 200 OK Output: ")

    def test_the_checks_own_user_agent_accept_and_host(self):
        self.run_check(header=(("user-agent", ("probe",)), ("Accept", ("*/*",)), ("Host", ("web.local",))))
        headers = self.agent.requests[-1]["headers"]
        self.assertEqual(headers.getRawHeaders(b"user-agent"), [b"probe"])
        self.assertEqual(headers.getRawHeaders(b"accept"), [b"*/*"])
        self.assertEqual(headers.getRawHeaders(b"host"), [b"web.local"])
        self.assertIsNone(self.agent.requests[-1]["body"])

    def test_the_body_kept_is_its_end(self):
        self.run_check(limit=8)
        self.answer(200, b"0123456789", b"abcdef")
        self.assertEqual(self.results[-1][1], "HTTP GET http://127.0.0.1:8080/health: 200 OK Output: 89abcdef")

    def test_a_huge_body_costs_only_the_limit(self):
        self.run_check(limit=16)
        response = self.answer(200, end=None)
        for _ in range(1000):
            response.protocol.dataReceived(b"x" * 65536)
        self.assertEqual(len(response.protocol.capture._kept), 16)
        response.protocol.connectionLost(Failure(ResponseDone()))
        self.assertEqual(self.results[-1][1][-16:], "x" * 16)

    def test_bodies_that_are_not_utf8(self):
        self.run_check()
        self.answer(200, b"\xff\xfe")
        self.assertEqual(self.results[-1][1].encode("utf-8", "surrogateescape")[-2:], b"\xff\xfe")

    def test_a_status_line_without_a_phrase(self):
        self.run_check()
        self.answer(200, b"", phrase=b"")
        self.assertEqual(self.results[-1][1], "HTTP GET http://127.0.0.1:8080/health: 200 Output: ")

    def test_no_answer_before_the_timeout(self):
        self.run_check(timeout=2 * SECOND)
        self.clock.advance(1.9)
        self.assertEqual(self.results, [])
        self.clock.advance(0.1)
        self.assertTrue(self.agent.requests[-1]["cancelled"])
        self.assertEqual(self.results, [(CRITICAL, 'Get "http://127.0.0.1:8080/health": context deadline exceeded '
                                                   "(Client.Timeout exceeded while awaiting headers)")])

    def test_the_default_timeout_is_ten_seconds(self):
        self.run_check()
        self.clock.advance(9.9)
        self.assertEqual(self.results, [])
        self.clock.advance(0.1)
        self.assertEqual(self.results[-1][0], CRITICAL)

    def test_a_body_that_never_ends(self):
        # The timeout covers the body too; what arrived is reported with the status.
        self.run_check(timeout=SECOND)
        response = self.answer(200, b"partial", end=None)
        self.clock.advance(1)
        self.assertTrue(response.transport.stopped)
        response.protocol.connectionLost(Failure(ResponseFailed([Failure(net.ConnectionLost())])))
        self.assertEqual(self.results,
                         [(PASSING, "HTTP GET http://127.0.0.1:8080/health: 200 OK Output: partial")])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_connection_errors_as_go_words_them(self):
        cases = [
            (Failure(net.ConnectionRefusedError()), "dial tcp 127.0.0.1:8080: connect: connection refused"),
            (Failure(ResponseNeverReceived([Failure(net.ConnectionLost())])), "EOF"),
        ]
        for failure, text in cases:
            self.run_check()
            self.agent.requests[-1]["answer"].errback(failure)
            self.assertEqual(self.results[-1], (CRITICAL, 'Get "http://127.0.0.1:8080/health": ' + text))
        self.run_check(http="https://nowhere.invalid/x", method="POST")
        self.agent.requests[-1]["answer"].errback(Failure(net.DNSLookupError("nowhere.invalid")))
        self.assertEqual(self.results[-1],
                         (CRITICAL, 'Post "https://nowhere.invalid/x": '
                                    "dial tcp: lookup nowhere.invalid: no such host"))

    def test_requests_go_would_not_send(self):
        cases = [
            ({"http": "ftp://x/"}, 'Get "ftp://x/": unsupported protocol scheme "ftp"'),
            ({"http": "localhost:8080/x"}, 'Get "localhost:8080/x": unsupported protocol scheme "localhost"'),
            ({"http": "http:///x"}, 'Get "http:///x": http: no Host in request URL'),
            ({"http": "http://[::1/x"}, 'parse "http://[::1/x": missing \']\' in host'),
            ({"method": "G ET"}, 'net/http: invalid method "G ET"'),
        ]
        for fields, text in cases:
            self.run_check(**fields)
            self.assertEqual(self.results[-1], (CRITICAL, text))
        self.assertEqual(self.agent.requests, [])

    def test_cancelling_abandons_the_request(self):
        running = self.run_check()
        running.cancel()
        self.assertTrue(self.agent.requests[-1]["cancelled"])
        self.assertEqual(self.results, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.failureResultOf(running)

    def test_cancelling_while_reading_the_body(self):
        running = self.run_check()
        response = self.answer(200, b"x", end=None)
        running.cancel()
        self.assertTrue(response.transport.stopped)
        response.protocol.connectionLost(Failure(ResponseFailed([Failure(net.ConnectionLost())])))
        self.assertEqual(self.results, [])
        self.failureResultOf(running)


class _Page(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setResponseCode(429, b"Too Many Requests")
        return b"slow down: " + request.getHeader(b"user-agent")


class LoopbackTests(TestCase):
    """The real agent against a real server on 127.0.0.1."""

    def test_a_real_exchange(self):
        port = reactor.listenTCP(0, server.Site(_Page()), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = "http://127.0.0.1:%d/health" % port.getHost().port
        check = CheckDefinition(http=url, interval=10 * SECOND)
        probe = HTTPProbe("web", check, HTTPAgents(reactor)(check), reactor, 4096)

        def answered(result):
            self.assertEqual(result, (WARNING, "HTTP GET %s: 429 Too Many Requests Output: slow down: "
                                               "Consul Health Check" % url))

        return probe().addCallback(answered)


class _Secret(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"tls ok"


class TLSLoopbackTests(TestCase):
    """HTTPS against a self-signed certificate: refused unless tls_skip_verify."""

    def setUp(self):
        key = ssl.KeyPair.generate(size=2048)
        certificate = key.selfSignedCert(1, commonName="localhost")
        self.port = reactor.listenSSL(0, server.Site(_Secret()), certificate.options(), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.url = "https://127.0.0.1:%d/" % self.port.getHost().port

    def probe(self, skip_verify):
        check = CheckDefinition(http=self.url, interval=10 * SECOND, tls_skip_verify=skip_verify)
        return HTTPProbe("web", check, HTTPAgents(reactor)(check), reactor, 4096)()

    def test_skip_verify(self):
        def answered(result):
            self.assertEqual(result, (PASSING, "HTTP GET %s: 200 OK Output: tls ok" % self.url))

        return self.probe(True).addCallback(answered)

    def test_verified(self):
        def answered(result):
            self.assertEqual(result, (CRITICAL, 'Get "%s": x509: certificate signed by unknown authority' % self.url))
            # Twisted logs the failed name check too (the certificate names no IP).
            self.flushLoggedErrors(CertificateError)

        return self.probe(False).addCallback(answered)
