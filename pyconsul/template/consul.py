"""Reading KV prefixes from a Consul agent over HTTP, on Twisted.

The one call the renderer needs is ``GET /v1/kv/<prefix>?recurse``, plain
or as a blocking query (``&index=N&wait=...``): :meth:`ConsulKV.list`
returns a Deferred :class:`Listing` (the ``X-Consul-Index`` and the entries,
key -> bytes). A prefix with no keys is a 404 with an index, which is an empty
listing, not an error.

Failures become :class:`KVError` with a message in the words of Go's HTTP
client, which is what confd users see from confd: ``Get
"http://127.0.0.1:8500/v1/kv/nginx?recurse=": dial tcp 127.0.0.1:8500:
connect: connection refused``. With several nodes, a node that cannot be
reached is left for the next one.

The HTTP client (:class:`~pyconsul.template.httpclient.HTTPClient` by
default: kept-alive connections, little work per request) is injectable, so
tests need no sockets.
"""

import json
import urllib.parse

import attr
from twisted.internet import error as net_error
from twisted.internet.defer import CancelledError, TimeoutError
from twisted.logger import Logger

from pyconsul.template.httpclient import HTTPClient, HTTPProtocolError
from pyconsul.template.memkv import entries_from_consul

log = Logger(namespace="pyconsul.template")

DEFAULT_PORT = 8500
REQUEST_TIMEOUT = 30.0  # seconds, for a read that does not block
# Consul holds a blocking query up to wait + wait/16; allow for that and a slow answer.
BLOCKING_SLACK = 10.0


class KVError(Exception):
    """A listing could not be read; ``str()`` is the message for the log."""


class NodeAddressError(ValueError):
    """A -node / nodes value that is not an address."""


@attr.s(frozen=True, slots=True)
class Node:
    """One agent's HTTP address."""

    scheme: str = attr.ib()
    host: str = attr.ib()
    port: int = attr.ib()

    @property
    def authority(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self):
        return f"{self.scheme}://{self.authority}"


def parse_node(text, scheme="http"):
    """A node as confd takes it: ``host:port``, ``http://host:port`` or
    ``https://host:port`` (``[::1]:8500`` for IPv6). Without a port, Consul's
    HTTP port 8500."""
    original = text
    if "://" in text:
        scheme, text = text.split("://", 1)
        if scheme not in ("http", "https"):
            raise NodeAddressError(f"node {original!r}: unknown scheme {scheme!r} (http or https)")
        if text.endswith("/"):
            text = text[:-1]
        if "/" in text:
            raise NodeAddressError(f"node {original!r}: give only scheme, host and port")
    parsed = urllib.parse.urlsplit("//" + text)
    try:
        port = parsed.port
    except ValueError:
        raise NodeAddressError(f"node {original!r}: bad port")
    host = parsed.hostname
    if not host or not host.isascii() or parsed.username or parsed.path or parsed.query:
        raise NodeAddressError(f"node {original!r}: expected host:port")
    return Node(scheme, host, port if port is not None else DEFAULT_PORT)


@attr.s(frozen=True, slots=True)
class Listing:
    """One answer: Consul's index for the prefix and its entries."""

    index: int = attr.ib()
    entries: dict = attr.ib()


def kv_path(prefix, index=0, wait=None):
    """The request target: ``/v1/kv/<prefix>?recurse=[&index=N&wait=Xms]``."""
    path = "/v1/kv/" + urllib.parse.quote(prefix, safe="/$&+,:;=@")
    query = [("recurse", "")]
    if index:
        query.append(("index", str(index)))
        if wait is not None:
            query.append(("wait", "%dms" % round(wait * 1000)))
    return path + "?" + urllib.parse.urlencode(query)


def describe_failure(failure, node):
    """What went wrong, in the words of Go's net/http."""
    error = failure.value
    if isinstance(error, net_error.ConnectionRefusedError):
        return f"dial tcp {node.authority}: connect: connection refused"
    if isinstance(error, net_error.DNSLookupError):
        return f"dial tcp: lookup {node.host}: no such host"
    if isinstance(error, (TimeoutError, CancelledError, net_error.TimeoutError)):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    if isinstance(error, net_error.ConnectionClosed):
        return "EOF"
    if isinstance(error, net_error.ConnectError):
        return f"dial tcp {node.authority}: connect: {error.osError or error}"
    return str(error) or type(error).__name__


def _is_connection_failure(failure):
    return failure.check(net_error.ConnectError, net_error.ConnectionClosed, HTTPProtocolError,
                         TimeoutError, CancelledError) is not None


class ConsulKV:
    """Lists KV prefixes from the first reachable of ``nodes``.

    ``http`` is the HTTP client: ``get(node, target, headers)`` -> Deferred
    :class:`~pyconsul.template.httpclient.Response`; by default an
    HTTPClient, which keeps connections open since a watcher asks again
    straight away.
    """

    def __init__(self, reactor, nodes, token="", http=None, request_timeout=REQUEST_TIMEOUT):
        if not nodes:
            raise ValueError("at least one node is needed")
        self.reactor = reactor
        self.nodes = list(nodes)
        self.request_timeout = request_timeout
        self.http = http if http is not None else HTTPClient(reactor)
        self.headers = [("User-Agent", "pyconsul-template")]
        if token:
            self.headers.append(("X-Consul-Token", token))
        self._current = 0

    @property
    def node(self):
        return self.nodes[self._current]

    def _next_node(self):
        if len(self.nodes) > 1:
            self._current = (self._current + 1) % len(self.nodes)
            log.info("Trying Consul node {node}", node=self.node.authority)

    def list(self, prefix, index=0, wait=None):
        """A Deferred Listing of ``prefix``; a blocking query if ``index`` > 0.

        Fails with KVError.
        """
        node = self.node
        target = kv_path(prefix, index, wait)
        url = node.base_url + target
        timeout = self.request_timeout
        if index and wait is not None:
            timeout = wait + wait / 16 + BLOCKING_SLACK
        d = self.http.get(node, target, self.headers)
        d.addTimeout(timeout, self.reactor)
        d.addCallbacks(self._listing, self._failed, callbackArgs=(url,), errbackArgs=(url, node))
        return d

    @staticmethod
    def _listing(response, url):
        index_text = response.header("X-Consul-Index", b"")
        body = response.body
        if response.code not in (200, 404):
            text = body.decode("utf-8", "replace").strip()
            raise KVError(f"Unexpected response code: {response.code} ({text})")
        try:
            index = int(index_text)
        except ValueError:
            raise KVError(f'Get "{url}": the answer has no valid X-Consul-Index header')
        if response.code == 404:
            return Listing(index, {})
        try:
            return Listing(index, entries_from_consul(json.loads(body)))
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise KVError(f'Get "{url}": cannot decode the KV listing: {e}')

    def _failed(self, failure, url, node):
        if _is_connection_failure(failure):
            self._next_node()
        raise KVError(f'Get "{url}": {describe_failure(failure, node)}')
