"""The agent's watch handlers, as Consul's agent runs them.

* :class:`ScriptRunner` -- ``args`` (a program and its arguments) or the
  deprecated ``handler`` (a shell command, ``$SHELL -c``): the view's JSON
  on stdin, ``CONSUL_INDEX`` added to the agent's environment, its output
  (stdout and stderr, the last 4 KiB) logged at debug level, a failure
  logged as an error. The Deferred it returns fires when the process ends.
* :class:`HTTPRunner` -- ``http_handler_config``: the view's JSON as the
  body of a request (POST by default) with ``Content-Type:
  application/json``, ``X-Consul-Index`` and the configured headers, given
  up after ``timeout`` (10 s by default); an answer outside 2xx is logged
  as an error with what it said.

Both encode the view as Go's json.Encoder does (compact, a newline after).
"""

import io
import os

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.defer import CancelledError, Deferred, TimeoutError
from twisted.internet.error import ProcessDone
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.protocol import ProcessProtocol, Protocol
from twisted.web.client import (Agent, BrowserLikePolicyForHTTPS, BrowserLikeRedirectAgent, FileBodyProducer,
                                RequestTransmissionFailed, ResponseNeverReceived)
from twisted.web.http_headers import Headers
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from pyconsul.golang import json as go_json
from pyconsul.logs import Logger
from pyconsul.watch.goexec import exit_text, look_path, not_found, shell_argv
from pyconsul.watch.spec import HTTPHandler, ScriptHandler

log = Logger(namespace="pyconsul.watch")

OUTPUT_LIMIT = 4 * 1024  # Consul's WatchBufSize: the last 4 KiB of output are kept


def encode(result):
    """The view as a handler gets it: Go's json.Encoder output."""
    return (go_json.marshal(result) + "\n").encode("utf-8", "surrogateescape")


class OutputTail:
    """The last ``limit`` bytes written, and how many were written in all."""

    def __init__(self, limit=OUTPUT_LIMIT):
        self.limit = limit
        self.total = 0
        self._data = bytearray()

    def write(self, data):
        self.total += len(data)
        self._data += data
        del self._data[:-self.limit]

    def text(self):
        output = bytes(self._data).decode("utf-8", "replace")
        if self.total > self.limit:
            output = "Captured %d of %d bytes\n...\n%s" % (self.limit, self.total, output)
        return output


def make_runner(handler, reactor, environ=None):
    """The runner for a spec's handler (ScriptHandler or HTTPHandler)."""
    if isinstance(handler, ScriptHandler):
        return ScriptRunner(handler, reactor, environ)
    if isinstance(handler, HTTPHandler):
        return HTTPRunner(handler, reactor)
    raise TypeError("unknown watch handler %r" % (handler,))


def ended_text(reason):
    """Go's ExitError text for how a process ended (a ProcessTerminated)."""
    value = reason.value
    if getattr(value, "signal", None):
        return exit_text(-value.signal)
    return exit_text(value.exitCode or 0)


class _HandlerProcess(ProcessProtocol):
    def __init__(self, stdin):
        self.stdin = stdin
        self.output = OutputTail()
        self.done = Deferred()
        self.ended = None

    def connectionMade(self):
        self.transport.write(self.stdin)
        self.transport.closeStdin()

    def outReceived(self, data):
        self.output.write(data)

    errReceived = outReceived

    def processEnded(self, reason):
        self.ended = reason  # a Failure: kept aside, not passed on as an error
        self.done.callback(None)


class ScriptRunner:
    """Runs a ScriptHandler for each change."""

    def __init__(self, handler, reactor, environ=None):
        self.handler = handler
        self.reactor = reactor
        self.environ = environ if environ is not None else os.environ
        self.shown = handler.script if handler.script is not None else list(handler.args)

    def argv(self):
        if self.handler.args is not None:
            return list(self.handler.args)
        return shell_argv(self.handler.script, self.environ)

    def __call__(self, index, result):
        argv = self.argv()
        program = look_path(argv[0], self.environ)
        if program is None:
            log.error("Failed to setup watch: error={error!r}", error=not_found(argv[0]))
            return None
        environment = dict(self.environ)
        environment["CONSUL_INDEX"] = str(index)
        process = _HandlerProcess(encode(result))
        try:
            self.reactor.spawnProcess(process, program, argv, env=environment)
        except OSError as error:
            log.error("Failed to run watch handler: watch_handler={handler!r} error={error!r}",
                      handler=self.shown, error=str(error))
            return None
        return process.done.addCallback(self._ended, process)

    def _ended(self, _, process):
        reason = process.ended
        if not reason.check(ProcessDone):
            log.error("Failed to run watch handler: watch_handler={handler!r} error={error!r}",
                      handler=self.shown, error=ended_text(reason))
        log.debug("watch handler output: watch_handler={handler!r} output={output!r}",
                  handler=self.shown, output=process.output.text())


@implementer(IPolicyForHTTPS)
class _NoVerification:
    """tls_skip_verify: TLS without checking the server's certificate."""

    def creatorForNetloc(self, hostname, port):
        return _UnverifiedCreator(hostname.decode("ascii", "replace"))


@implementer(IOpenSSLClientConnectionCreator)
class _UnverifiedCreator:
    def __init__(self, hostname):
        self.hostname = hostname
        self.context = ssl.CertificateOptions(verify=False).getContext()

    def clientConnectionForTLS(self, tls_protocol):
        connection = SSL.Connection(self.context, None)
        connection.set_app_data(tls_protocol)
        if self.hostname and not self.hostname.replace(".", "").isdigit():
            connection.set_tlsext_host_name(self.hostname.encode("idna"))
        connection.set_connect_state()
        return connection


class _Collect(Protocol):
    """Keeps the tail of a response body; ``done`` fires at its end."""

    def __init__(self):
        self.output = OutputTail()
        self.done = Deferred(lambda d: self.transport.stopProducing())  # given up: stop reading

    def dataReceived(self, data):
        self.output.write(data)

    def connectionLost(self, reason=None):
        if not self.done.called:
            self.done.callback(self.output)


class HTTPRunner:
    """Sends each change to an HTTPHandler's URL (redirects followed as Go
    follows them: a POST answered with 301, 302 or 303 becomes a GET)."""

    def __init__(self, handler, reactor):
        self.handler = handler
        self.reactor = reactor
        policy = _NoVerification() if handler.tls_skip_verify else BrowserLikePolicyForHTTPS()
        self.agent = BrowserLikeRedirectAgent(Agent(reactor, contextFactory=policy))

    def headers(self, index):
        headers = Headers({"Content-Type": ["application/json"], "X-Consul-Index": [str(index)]})
        for name, values in self.handler.header:
            for value in values:
                headers.addRawHeader(name, value)
        return headers

    def __call__(self, index, result):
        path = self.handler.path
        try:
            d = self.agent.request(self.handler.method.encode("ascii"), path.encode("ascii"), self.headers(index),
                                   FileBodyProducer(io.BytesIO(encode(result))))
        except Exception as error:  # a URL or method that cannot be sent
            log.error("Failed to setup http watch: error={error!r}", error=str(error))
            return None
        d.addCallback(self._answered)
        d.addTimeout(self.handler.timeout, self.reactor)
        d.addErrback(lambda failure: log.error("Failed to invoke http watch handler: watch={watch!r} error={error!r}",
                                               watch=path, error=_failure_text(failure)))
        return d

    def _answered(self, response):
        collect = _Collect()
        response.deliverBody(collect)
        return collect.done.addCallback(self._log, response)

    def _log(self, output, response):
        if 200 <= response.code <= 299:
            log.debug("http watch handler output: watch={watch!r} output={output!r}",
                      watch=self.handler.path, output=output.text())
        else:
            log.error("http watch handler failed with output: watch={watch!r} status={status!r} output={output!r}",
                      watch=self.handler.path, status="%d %s" % (response.code, response.phrase.decode("latin-1")),
                      output=output.text())


def _failure_text(failure):
    """Why a request failed; a cancellation is the timeout's (Go's words)."""
    reasons = [failure]
    if failure.check(ResponseNeverReceived, RequestTransmissionFailed):
        reasons = getattr(failure.value, "reasons", None) or reasons
    if any(reason.check(TimeoutError, CancelledError) for reason in reasons):
        return "context deadline exceeded"
    return reasons[0].getErrorMessage() or repr(reasons[0].value)
