"""HTTP checks: a 2xx answer is passing, 429 warning, anything else (or none) critical.

As Consul's CheckHTTP: the method defaults to GET, ``User-Agent: Consul
Health Check`` and ``Accept: text/plain, text/*, */*`` unless the check's
headers set them, a ``Host`` header names the host; the timeout (10s by
default) covers the whole exchange, body included; redirects are followed
(up to 10); each run opens its own connection. The output is ``HTTP GET
<url>: 200 OK Output: <body>``, where the body is its *last*
``output_max_size`` bytes (Consul reads the body into a circular buffer).
"""

from urllib.parse import quote as percent_quote, urlsplit

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred, succeed
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import CertificateOptions, optionsForClientTLS
from twisted.web.client import Agent, BrowserLikeRedirectAgent, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer, IPolicyForHTTPS
from zope.interface import implementer

from pyconsul.agent.checks.capture import OutputCapture
from pyconsul.agent.checks.goerrors import request_error, url_error
from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING
from pyconsul.golang.duration import SECOND
from pyconsul.golang.strconv import quote
from pyconsul.logs import Logger

DEFAULT_TIMEOUT = 10 * SECOND
USER_AGENT = "Consul Health Check"
ACCEPT = "text/plain, text/*, */*"
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
HEADERS_TIMEOUT = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
BODY_TIMEOUT = "context deadline exceeded (Client.Timeout or context cancellation while reading body)"


def classify(code):
    if 200 <= code <= 299:
        return PASSING
    if code == 429:  # Too Many Requests: the service is up but asks for patience
        return WARNING
    return CRITICAL


@implementer(IPolicyForHTTPS)
class _CheckTLS:
    """TLS as a check asks: verified against tls_server_name (or the URL's
    host), or not verified at all with tls_skip_verify."""

    def __init__(self, skip_verify, server_name):
        self.skip_verify = skip_verify
        self.server_name = server_name

    def creatorForNetloc(self, hostname, port):
        if self.skip_verify:
            return CertificateOptions(verify=False)
        return optionsForClientTLS(self.server_name or hostname.decode("ascii"))


class HTTPAgents:
    """The Twisted agent for a check: ``agents(check)``. No connection is kept
    between runs (Consul's checks disable keep-alive)."""

    def __init__(self, reactor):
        self.reactor = reactor

    def __call__(self, check):
        pool = HTTPConnectionPool(self.reactor, persistent=False)
        tls = _CheckTLS(check.tls_skip_verify, check.tls_server_name)
        agent = Agent(self.reactor, contextFactory=tls, pool=pool)
        return BrowserLikeRedirectAgent(agent, redirectLimit=10)


@implementer(IBodyProducer)
class _Body:
    """A request body, written at once (it is the check's short ``body``)."""

    def __init__(self, data):
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer):
        consumer.write(self.data)
        return succeed(None)

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


class _Unsent(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.text = text


class _BodyReader(Protocol):
    def __init__(self, capture, done):
        self.capture = capture
        self.done = done

    def dataReceived(self, data):
        self.capture.write(data)

    def connectionLost(self, reason):
        self.done(reason)


class HTTPProbe:
    log = Logger()

    def __init__(self, check_id, check, agent, clock, output_limit):
        self.check_id = check_id
        self.url = check.http
        self.method = check.method or "GET"
        self.header = check.header
        self.body = check.body
        self.timeout = check.timeout or DEFAULT_TIMEOUT
        self.agent = agent
        self.clock = clock
        self.output_limit = output_limit

    def _target(self):
        """(uri bytes, host:port, host); raises _Unsent for a request Go would not send."""
        if not self.method or not set(self.method) <= _TOKEN:
            raise _Unsent("net/http: invalid method %s" % quote(self.method))
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as problem:
            reason = "missing ']' in host" if "IPv6" in str(problem) else "invalid URL"
            raise _Unsent("parse %s: %s" % (quote(self.url), reason)) from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _Unsent(url_error(self.method, self.url, "unsupported protocol scheme %s" % quote(scheme)))
        host = parts.hostname or ""
        if not host:
            raise _Unsent(url_error(self.method, self.url, "http: no Host in request URL"))
        port = port or (443 if scheme == "https" else 80)
        address = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
        # Bytes beyond ASCII go out percent-encoded, as Go's URL writes them.
        uri = percent_quote(self.url, safe="".join(chr(c) for c in range(0x21, 0x7F)), errors="surrogateescape")
        return uri.encode("ascii"), address, host

    def _headers(self):
        headers = Headers()
        given = set()
        for name, values in self.header:
            given.add(name.lower())
            headers.setRawHeaders(name.encode("utf-8", "surrogateescape"),
                                  [value.encode("utf-8", "surrogateescape") for value in values])
        if "user-agent" not in given:
            headers.setRawHeaders(b"User-Agent", [USER_AGENT.encode()])
        if "accept" not in given:
            headers.setRawHeaders(b"Accept", [ACCEPT.encode()])
        return headers

    def __call__(self):
        try:
            target = self._target()
        except _Unsent as unsent:
            return succeed((CRITICAL, unsent.text))
        return _Exchange(self, *target).start()

    def output(self, status_line, capture):
        return "HTTP %s %s: %s Output: %s" % (self.method, self.url, status_line, capture.text())


class _Exchange:
    """One run: the request, the timeout, the body."""

    def __init__(self, probe, uri, address, host):
        self.probe = probe
        self.uri = uri
        self.address = address
        self.host = host
        self.timed_out = False
        self.reader = None
        self.result = Deferred(self._cancel)

    def start(self):
        probe = self.probe
        body = _Body(probe.body.encode("utf-8", "surrogateescape")) if probe.body else None
        self.request = maybeDeferred(probe.agent.request, probe.method.encode("ascii"), self.uri,
                                     probe._headers(), body)
        self.timer = probe.clock.callLater(probe.timeout / SECOND, self._expire)
        # _failed also takes whatever goes wrong in _answered, so that a run always ends.
        self.request.addCallback(self._answered)
        self.request.addErrback(self._failed)
        return self.result

    def _finish(self, status, output):
        if self.timer.active():
            self.timer.cancel()
        if not self.result.called:
            self.result.callback((status, output))

    def _expire(self):
        self.timed_out = True
        if self.reader is None:
            self.request.cancel()
        else:
            self.reader.transport.stopProducing()

    def _cancel(self, _):
        # Stopped: abandon the exchange; the result errbacks with CancelledError.
        if self.timer.active():
            self.timer.cancel()
        if self.reader is None:
            self.request.cancel()
        elif self.reader.transport is not None:
            self.reader.transport.stopProducing()

    def _answered(self, response):
        phrase = response.phrase.decode("latin-1")
        status_line = "%d %s" % (response.code, phrase) if phrase else str(response.code)
        capture = OutputCapture(self.probe.output_limit)

        def read(reason):
            if not reason.check(ResponseDone, PotentialDataLoss):
                error = BODY_TIMEOUT if self.timed_out else reason.getErrorMessage()
                self.probe.log.warn("Check error while reading body: check {check}, error {error}",
                                    check=self.probe.check_id, error=error)
            self._finish(classify(response.code), self.probe.output(status_line, capture))

        self.reader = _BodyReader(capture, read)
        response.deliverBody(self.reader)

    def _failed(self, failure):
        if self.result.called:
            return None
        if failure.check(CancelledError) and not self.timed_out:
            return None
        text = HEADERS_TIMEOUT if self.timed_out else request_error(failure, self.address, self.host)
        self._finish(CRITICAL, url_error(self.probe.method, self.probe.url, text))
        return None
