"""Reading from a Consul agent over HTTP, on Twisted: KV prefixes and the
catalog.

Every read is one GET, plain or as a blocking query (``&index=N&wait=...``):
:meth:`ConsulKV.read` takes a dependency (:mod:`pyconsul.template.deps`:
a KV prefix, ``service "web"``, ``nodes`` ...) and returns a Deferred
:class:`Listing` (the ``X-Consul-Index`` and the answer as the dependency
parses it). :meth:`ConsulKV.list` is the KV case, ``GET
/v1/kv/<prefix>?recurse``, whose entries are key -> bytes; a prefix with no
keys is a 404 with an index, which is an empty listing, not an error. The
agent's own node (for ``node`` without a name) is asked of
``/v1/agent/self`` once and remembered.

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
from twisted.internet.defer import CancelledError, TimeoutError, succeed
from twisted.logger import Logger

from pyconsul.template.deps import KVPrefix
from pyconsul.template.httpclient import HTTPClient, HTTPProtocolError

log = Logger(namespace="pyconsul.template")

DEFAULT_PORT = 8500
REQUEST_TIMEOUT = 30.0  # seconds, for a read that does not block
# Consul holds a blocking query up to wait + wait/16; allow for that and a slow answer.
BLOCKING_SLACK = 10.0


class KVError(Exception):
    """A read failed (KV or catalog); ``str()`` is the message for the log."""


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
    """One answer: Consul's index and what came (KV entries, or the
    catalog's JSON)."""

    index: int = attr.ib()
    entries: object = attr.ib()


def request_target(path, params=(), index=0, wait=None):
    """``path?params[&index=N&wait=Xms]``, the path escaped as Go's url does."""
    query = list(params)
    if index:
        query.append(("index", str(index)))
        if wait is not None:
            query.append(("wait", "%dms" % round(wait * 1000)))
    target = urllib.parse.quote(path, safe="/$&+,:;=@")
    return target + "?" + urllib.parse.urlencode(query) if query else target


def kv_path(prefix, index=0, wait=None):
    """The request target: ``/v1/kv/<prefix>?recurse=[&index=N&wait=Xms]``."""
    return request_target(*KVPrefix(prefix).request(), index=index, wait=wait)


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
    """Reads KV prefixes and the catalog from the first reachable of ``nodes``.

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
        self._local_node = None  # the agent's node name, once known

    @property
    def node(self):
        return self.nodes[self._current]

    def _next_node(self):
        if len(self.nodes) > 1:
            self._current = (self._current + 1) % len(self.nodes)
            self._local_node = None  # "the agent's own node" is the new agent's
            log.info("Trying Consul node {node}", node=self.node.authority)

    def list(self, prefix, index=0, wait=None):
        """A Deferred Listing of KV ``prefix``; a blocking query if ``index`` > 0.

        Fails with KVError.
        """
        return self.read(KVPrefix(prefix), index, wait)

    def read(self, dep, index=0, wait=None):
        """A Deferred Listing of what ``dep`` asks for (its ``parse`` of the
        answer); a blocking query if ``index`` > 0. Fails with KVError."""
        if getattr(dep, "needs_local_node", False):
            d = self._local_node_name()
            return d.addCallback(lambda name: self._get(dep, dep.request_for(name), index, wait))
        return self._get(dep, dep.request(), index, wait)

    def _get(self, dep, request, index, wait):
        d = self._request(*request, index=index, wait=wait)
        return d.addCallback(self._listing, dep)

    def _request(self, path, params, index=0, wait=None):
        """A Deferred (response, url) for a 200 or 404; KVError otherwise."""
        node = self.node
        target = request_target(path, params, index, wait)
        url = node.base_url + target
        timeout = self.request_timeout
        if index and wait is not None:
            timeout = wait + wait / 16 + BLOCKING_SLACK
        d = self.http.get(node, target, self.headers)
        d.addTimeout(timeout, self.reactor)
        d.addCallbacks(self._answered, self._failed, callbackArgs=(url,), errbackArgs=(url, node))
        return d

    @staticmethod
    def _answered(response, url):
        if response.code not in (200, 404):
            text = response.body.decode("utf-8", "replace").strip()
            raise KVError(f"Unexpected response code: {response.code} ({text})")
        return response, url

    @staticmethod
    def _listing(answer, dep):
        response, url = answer
        try:
            index = int(response.header("X-Consul-Index", b""))
        except ValueError:
            raise KVError(f'Get "{url}": the answer has no valid X-Consul-Index header')
        if response.code == 404:
            if getattr(dep, "not_found_is_empty", False):
                return Listing(index, {})
            text = response.body.decode("utf-8", "replace").strip()
            raise KVError(f"Unexpected response code: 404 ({text})")
        try:
            return Listing(index, dep.parse(response.body))
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            what = "the KV listing" if isinstance(dep, KVPrefix) else "the answer"
            raise KVError(f'Get "{url}": cannot decode {what}: {e}')

    def _local_node_name(self):
        if self._local_node is not None:
            return succeed(self._local_node)
        return self._request("/v1/agent/self", ()).addCallback(self._node_name)

    def _node_name(self, answer):
        response, url = answer
        try:
            name = json.loads(response.body)["Config"]["NodeName"]
        except (ValueError, TypeError, KeyError) as e:
            raise KVError(f'Get "{url}": cannot read the agent\'s node name: {e!r}')
        if response.code != 200 or not isinstance(name, str) or not name:
            raise KVError(f'Get "{url}": the agent did not say its node name')
        self._local_node = name
        return name

    def _failed(self, failure, url, node):
        if _is_connection_failure(failure):
            self._next_node()
        raise KVError(f'Get "{url}": {describe_failure(failure, node)}')
