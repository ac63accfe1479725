"""The agent's watch handlers: real processes, and a real HTTP server on loopback."""

import datetime
import ipaddress
import os
import sys

from twisted.internet import reactor, ssl
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from pyconsul import logs
from pyconsul.watch.handlers import HTTPRunner, OutputTail, ScriptRunner, encode
from pyconsul.watch.spec import HTTPHandler, ScriptHandler

RESULT = [{"Key": "a<b", "Value": None}]
# What a handler gets: Go's json.Encoder output.
ENCODED = b'[{"Key":"a\\u003cb","Value":null}]\n'


class OutputTailTests(SynchronousTestCase):
    def test_keeps_the_last_bytes(self):
        tail = OutputTail(limit=4)
        tail.write(b"ab")
        self.assertEqual(tail.text(), "ab")
        tail.write(b"cdef")
        self.assertEqual(tail.text(), "Captured 4 of 6 bytes\n...\ncdef")

    def test_encoding(self):
        self.assertEqual(encode(RESULT), ENCODED)
        self.assertEqual(encode(None), b"null\n")


class LoggedTestCase(TestCase):
    """Collects what pyconsul logs, at debug level, during the test."""

    def setUp(self):
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)
        logs.set_level("debug")
        self.addCleanup(logs.set_level, "info")

    def logged(self, text):
        return [event for event in self.events if text in (event.get("log_format") or "")]


class ScriptRunnerTests(LoggedTestCase):
    def setUp(self):
        super().setUp()
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.record = os.path.join(self.directory, "record")
        self.environ = {"PATH": os.environ.get("PATH", os.defpath), "FROM_AGENT": "yes"}

    def read(self):
        with open(self.record, "rb") as f:
            return f.read()

    @inlineCallbacks
    def test_args_get_the_view_and_the_index(self):
        script = ("import os, sys; open(%r, 'wb').write(os.environ['CONSUL_INDEX'].encode() + b' ' + "
                  "os.environ['FROM_AGENT'].encode() + b' ' + sys.stdin.buffer.read())" % self.record)
        runner = ScriptRunner(ScriptHandler(args=(sys.executable, "-c", script)), reactor, self.environ)
        yield runner(42, RESULT)
        self.assertEqual(self.read(), b"42 yes " + ENCODED)
        self.assertEqual(self.logged("Failed"), [])

    @inlineCallbacks
    def test_the_deprecated_handler_runs_with_the_shell(self):
        runner = ScriptRunner(ScriptHandler(script='echo "$CONSUL_INDEX" > %s; cat >> %s; echo said so'
                                            % (self.record, self.record)), reactor, self.environ)
        yield runner(7, None)
        self.assertEqual(self.read(), b"7\nnull\n")
        [output] = self.logged("watch handler output")
        self.assertEqual(output["output"], "said so\n")

    @inlineCallbacks
    def test_shell_is_taken_from_the_environment(self):
        self.environ["SHELL"] = "/bin/echo"
        runner = ScriptRunner(ScriptHandler(script="hello"), reactor, self.environ)
        yield runner(1, None)
        self.assertEqual(self.logged("watch handler output")[0]["output"], "-c hello\n")

    @inlineCallbacks
    def test_a_failing_handler_is_logged_with_its_output(self):
        runner = ScriptRunner(ScriptHandler(script="echo broken >&2; exit 3"), reactor, self.environ)
        yield runner(1, None)
        [failed] = self.logged("Failed to run watch handler")
        self.assertEqual((failed["handler"], failed["error"]), ("echo broken >&2; exit 3", "exit status 3"))
        self.assertEqual(self.logged("watch handler output")[0]["output"], "broken\n")

    @inlineCallbacks
    def test_a_killed_handler(self):
        runner = ScriptRunner(ScriptHandler(args=("sh", "-c", "kill -KILL $$")), reactor, self.environ)
        yield runner(1, None)
        self.assertEqual(self.logged("Failed to run watch handler")[0]["error"], "signal: killed")

    def test_a_program_that_is_not_there(self):
        runner = ScriptRunner(ScriptHandler(args=("no-such-watch-handler",)), reactor, self.environ)
        self.assertIsNone(runner(1, None))
        [failed] = self.logged("Failed to setup watch")
        self.assertEqual(failed["error"], 'exec: "no-such-watch-handler": executable file not found in $PATH')

    @inlineCallbacks
    def test_only_the_last_4k_of_output_are_logged(self):
        runner = ScriptRunner(ScriptHandler(args=(sys.executable, "-c", "print('x' * 5000, end='')")),
                              reactor, self.environ)
        yield runner(1, None)
        output = self.logged("watch handler output")[0]["output"]
        self.assertEqual(output, "Captured 4096 of 5000 bytes\n...\n" + "x" * 4096)


class Hook(Resource):
    """Records the requests it gets; answers with ``status`` and ``body``."""

    isLeaf = True

    def __init__(self, status=200, body=b"ok", hang=False):
        super().__init__()
        self.status = status
        self.body = body
        self.hang = hang
        self.requests = []
        self.hanging = []

    def render(self, request):
        self.requests.append((request.method, request.uri, request.requestHeaders, request.content.read()))
        if self.hang:
            self.hanging.append(request)
            return NOT_DONE_YET
        request.setResponseCode(self.status)
        return self.body


class HTTPRunnerTests(LoggedTestCase):
    def serve(self, hook, tls=None):
        site = Site(hook)
        if tls is None:
            port = reactor.listenTCP(0, site, interface="127.0.0.1")
            scheme = "http"
        else:
            port = reactor.listenSSL(0, site, tls, interface="127.0.0.1")
            scheme = "https"
        self.addCleanup(port.stopListening)
        return "%s://127.0.0.1:%d/hook?x=1" % (scheme, port.getHost().port)

    @inlineCallbacks
    def test_posts_the_view_with_the_index(self):
        hook = Hook()
        url = self.serve(hook)
        runner = HTTPRunner(HTTPHandler(path=url, header=(("X-Token", ("a", "b")),)), reactor)
        yield runner(42, RESULT)
        [(method, uri, headers, body)] = hook.requests
        self.assertEqual((method, uri, body), (b"POST", b"/hook?x=1", ENCODED))
        self.assertEqual(headers.getRawHeaders("Content-Type"), ["application/json"])
        self.assertEqual(headers.getRawHeaders("X-Consul-Index"), ["42"])
        self.assertEqual(headers.getRawHeaders("X-Token"), ["a", "b"])
        self.assertEqual(self.logged("http watch handler output")[0]["output"], "ok")

    @inlineCallbacks
    def test_the_method_is_configurable(self):
        hook = Hook()
        yield HTTPRunner(HTTPHandler(path=self.serve(hook), method="PUT"), reactor)(1, None)
        self.assertEqual(hook.requests[0][0], b"PUT")

    @inlineCallbacks
    def test_an_error_status_is_logged_with_the_answer(self):
        hook = Hook(status=503, body=b"down for maintenance")
        yield HTTPRunner(HTTPHandler(path=self.serve(hook)), reactor)(1, None)
        [failed] = self.logged("http watch handler failed")
        self.assertEqual((failed["status"], failed["output"]), ("503 Service Unavailable", "down for maintenance"))

    @inlineCallbacks
    def test_the_timeout(self):
        hook = Hook(hang=True)
        yield HTTPRunner(HTTPHandler(path=self.serve(hook), timeout=0.2), reactor)(1, None)
        [failed] = self.logged("Failed to invoke http watch handler")
        self.assertEqual(failed["error"], "context deadline exceeded")

    @inlineCallbacks
    def test_nobody_listening(self):
        yield HTTPRunner(HTTPHandler(path="http://127.0.0.1:1/hook"), reactor)(1, None)
        [failed] = self.logged("Failed to invoke http watch handler")
        self.assertIn("refused", failed["error"])

    def test_a_path_that_is_not_a_url(self):
        self.assertIsNone(HTTPRunner(HTTPHandler(path="not a url"), reactor)(1, None))
        self.assertEqual(len(self.logged("Failed to setup http watch")), 1)

    @inlineCallbacks
    def test_tls_skip_verify(self):
        url = self.serve(Hook(), tls=_self_signed())
        yield HTTPRunner(HTTPHandler(path=url), reactor)(1, None)
        self.assertEqual(len(self.logged("Failed to invoke http watch handler")), 1)
        yield HTTPRunner(HTTPHandler(path=url, tls_skip_verify=True), reactor)(1, None)
        self.assertEqual(self.logged("http watch handler output")[0]["output"], "ok")
        yield _settle()


def _settle():
    """One more turn of the reactor, for TLS connections to finish closing."""
    d = Deferred()
    reactor.callLater(0.05, d.callback, None)
    return d


def _self_signed():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "watch-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    from OpenSSL import crypto

    return ssl.CertificateOptions(privateKey=crypto.PKey.from_cryptography_key(key),
                                  certificate=crypto.X509.from_cryptography(certificate))



