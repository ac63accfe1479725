"""A small HTTP/1.1 client for the KV reader: GETs over kept-alive connections.

The renderer asks one thing again and again -- ``GET /v1/kv/<prefix>?recurse``
-- and its reaction time is mostly what each answer costs to take apart and
each new question costs to send. twisted.web's ``Agent`` is general (proxies,
redirects, streaming bodies through IResponse) and spends a few hundred
microseconds per request on that generality; this client does only what the
renderer needs:

* :class:`ResponseParser` reads one response from bytes as they arrive:
  status line, headers, and a body sized by ``Content-Length``, chunked, or
  ending with the connection. Interim (1xx) responses are skipped.
* :class:`HTTPConnection` is the protocol: one request at a time, the answer
  as a Deferred :class:`Response`; cancelling it aborts the connection.
* :class:`HTTPClient` keeps idle connections per node and reuses them. A GET
  sent on a reused connection that the server had already closed (nothing
  came back) is sent once more on a new connection, as browsers and Go do.

Failures are Twisted's own exceptions (``ConnectError`` and its kinds while
connecting, ``ConnectionDone``/``ConnectionLost`` when the connection ends
early) or :class:`HTTPProtocolError` for an answer that is not HTTP.
"""

import attr
from twisted.internet import endpoints
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionClosed
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

MAX_HEADER_BYTES = 1 << 20  # as Go's http.Transport
MAX_IDLE_PER_NODE = 64


class HTTPProtocolError(Exception):
    """The server's answer is not valid HTTP/1.x."""


@attr.s(frozen=True, slots=True)
class Response:
    code: int = attr.ib()
    headers: dict = attr.ib()  # lower-case name (bytes) -> value (bytes)
    body: bytes = attr.ib()

    def header(self, name, default=None):
        return self.headers.get(name.lower().encode("ascii"), default)


def request_bytes(authority, target, headers=()):
    """A GET request: ``target`` is the path and query; ``headers`` are
    (name, value) strings. CR and LF in values become spaces."""
    lines = [f"GET {target} HTTP/1.1", f"Host: {authority}"]
    for name, value in headers:
        lines.append(f"{name}: " + value.replace("\r", " ").replace("\n", " "))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class ResponseParser:
    """Reads one response. :meth:`feed` says whether it is complete;
    :meth:`end` is for the connection closing. Raises HTTPProtocolError."""

    def __init__(self):
        self._buffer = bytearray()
        self._state = self._status_line
        self._header_bytes = 0
        self._remaining = 0
        self._body = []
        self._until_close = False  # a body without a length ends with the connection
        self.version = None
        self.code = None
        self.headers = {}

    @property
    def keep_alive(self):
        """Whether the connection may carry another request after this
        (complete) response: nothing more came, and the server did not say
        it would close."""
        if self._state is not None or self._until_close or self._buffer:
            return False
        connection = self.headers.get(b"connection", b"").lower()
        if self.version == b"HTTP/1.0":
            return connection == b"keep-alive"
        return connection != b"close"

    def response(self):
        return Response(self.code, self.headers, b"".join(self._body))

    def feed(self, data):
        self._buffer += data
        while self._state is not None and self._state():
            pass
        return self._state is None

    def end(self):
        """The connection closed: complete if the body ran to the end of it."""
        if self._state == self._until_closed:
            self._body.append(bytes(self._buffer))
            self._buffer.clear()
            self._state = None
        return self._state is None

    # -- states: each consumes what it can and says whether it made progress --

    def _line(self):
        index = self._buffer.find(b"\r\n")
        if index < 0:
            if self._header_bytes + len(self._buffer) > MAX_HEADER_BYTES:
                raise HTTPProtocolError(f"server response headers exceeded {MAX_HEADER_BYTES} bytes; aborted")
            return None
        line = bytes(self._buffer[:index])
        del self._buffer[:index + 2]
        return line

    def _head_line(self):
        line = self._line()
        if line is not None:
            self._header_bytes += len(line) + 2
            if self._header_bytes > MAX_HEADER_BYTES:
                raise HTTPProtocolError(f"server response headers exceeded {MAX_HEADER_BYTES} bytes; aborted")
        return line

    def _status_line(self):
        line = self._head_line()
        if line is None:
            return False
        version, _, rest = line.partition(b" ")
        code = rest[:3]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or not (code.isdigit() and len(code) == 3):
            raise HTTPProtocolError(f"malformed HTTP response {line.decode('latin-1')!r}")
        self.version, self.code, self.headers = version, int(code), {}
        self._state = self._header_line
        return True

    def _header_line(self):
        line = self._head_line()
        if line is None:
            return False
        if line:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise HTTPProtocolError(f"malformed MIME header line: {line.decode('latin-1')}")
            self.headers[name.lower()] = value.strip()
            return True
        if 100 <= self.code < 200:  # interim: the real answer follows
            self._header_bytes = 0
            self._state = self._status_line
        else:
            self._start_body()
        return True

    def _start_body(self):
        encoding = self.headers.get(b"transfer-encoding", b"").lower()
        length = self.headers.get(b"content-length")
        if self.code in (204, 304):
            self._state = None
        elif encoding:
            if encoding.split(b",")[-1].strip() == b"chunked":
                self._state = self._chunk_size
            else:
                self._until_close = True
                self._state = self._until_closed
        elif length is not None:
            if not length.isdigit():
                raise HTTPProtocolError(f"bad Content-Length {length.decode('latin-1')!r}")
            self._remaining = int(length)
            self._state = self._sized_body if self._remaining else None
        else:
            self._until_close = True
            self._state = self._until_closed

    def _take(self):
        if not self._buffer:
            return False
        taken = min(len(self._buffer), self._remaining)
        self._body.append(bytes(self._buffer[:taken]))
        del self._buffer[:taken]
        self._remaining -= taken
        return True

    def _sized_body(self):
        if not self._take():
            return False
        if not self._remaining:
            self._state = None
        return True

    def _chunk_size(self):
        line = self._line()
        if line is None:
            return False
        size = line.split(b";", 1)[0].strip()
        if not size or size.strip(b"0123456789abcdefABCDEF"):
            raise HTTPProtocolError(f"invalid chunk length {line.decode('latin-1')!r}")
        self._remaining = int(size, 16)
        self._state = self._chunk_data if self._remaining else self._trailer
        return True

    def _chunk_data(self):
        if not self._take():
            return False
        if not self._remaining:
            self._state = self._chunk_end
        return True

    def _chunk_end(self):
        line = self._line()
        if line is None:
            return False
        if line:
            raise HTTPProtocolError("malformed chunked encoding")
        self._state = self._chunk_size
        return True

    def _trailer(self):
        line = self._line()
        if line is None:
            return False
        if not line:
            self._state = None
        return True

    def _until_closed(self):
        return False  # everything stays in the buffer until end()


class HTTPConnection(Protocol):
    """One request at a time over one connection."""

    def __init__(self):
        self.received = False  # whether any byte of the current answer came
        self.reusable = False
        self.on_close = None  # called once the connection has ended
        self._parser = None
        self._waiting = None

    def connectionMade(self):
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)

    def request(self, data):
        """Send one request (bytes): a Deferred Response."""
        self.received = False
        self.reusable = False
        self._parser = ResponseParser()
        self._waiting = Deferred(self._cancel)
        self.transport.write(data)
        return self._waiting

    def dataReceived(self, data):
        if self._waiting is None:
            self.transport.abortConnection()  # nothing was asked
            return
        self.received = True
        try:
            done = self._parser.feed(data)
        except HTTPProtocolError as e:
            self._answer(Failure(e))
            self.transport.abortConnection()
            return
        if done:
            self.reusable = self._parser.keep_alive
            if not self.reusable:
                self.transport.loseConnection()
            self._answer(self._parser.response())

    def connectionLost(self, reason=connectionDone):
        self.reusable = False
        if self._waiting is not None:
            if self._parser.end():
                self._answer(self._parser.response())
            else:
                self._answer(reason)
        if self.on_close is not None:
            self.on_close(self)

    def _answer(self, result):
        d, self._waiting = self._waiting, None
        if isinstance(result, Failure):
            d.errback(result)
        else:
            d.callback(result)

    def _cancel(self, d):
        self._waiting = None
        self.transport.abortConnection()


class HTTPClient:
    """GETs to nodes (pyconsul.template.consul.Node), reusing connections.

    ``endpoint_for(node)`` gives the IStreamClientEndpoint to connect to (by
    default TCP, with TLS for https nodes).
    """

    def __init__(self, reactor, endpoint_for=None, max_idle=MAX_IDLE_PER_NODE):
        self.reactor = reactor
        self.endpoint_for = endpoint_for if endpoint_for is not None else self._default_endpoint
        self.max_idle = max_idle
        self._endpoints = {}
        self._idle = {}  # node -> [HTTPConnection]

    def get(self, node, target, headers=()):
        """A Deferred Response to ``GET target`` from ``node``."""
        data = request_bytes(node.authority, target, headers)
        idle = self._idle.get(node)
        if idle:
            return self._send(idle.pop(), node, data, reused=True)
        return self._connect(node).addCallback(self._send, node, data, reused=False)

    def _connect(self, node):
        endpoint = self._endpoints.get(node)
        if endpoint is None:
            endpoint = self._endpoints[node] = self.endpoint_for(node)
        return endpoints.connectProtocol(endpoint, HTTPConnection())

    def _send(self, connection, node, data, reused):
        connection.on_close = lambda c: self._forget(node, c)
        d = connection.request(data)
        d.addCallback(self._answered, connection, node)
        if reused:
            d.addErrback(self._retry_if_stale, connection, node, data)
        return d

    def _answered(self, response, connection, node):
        # Back in the pool before anyone sees the answer, so that a caller
        # that asks again at once gets this same connection.
        if connection.reusable:
            idle = self._idle.setdefault(node, [])
            if len(idle) < self.max_idle:
                idle.append(connection)
            else:
                connection.transport.loseConnection()
        return response

    def _retry_if_stale(self, failure, connection, node, data):
        if failure.check(ConnectionClosed) and not connection.received:
            return self._connect(node).addCallback(self._send, node, data, reused=False)
        return failure

    def _forget(self, node, connection):
        idle = self._idle.get(node)
        if idle and connection in idle:
            idle.remove(connection)

    def _default_endpoint(self, node):
        tcp = endpoints.HostnameEndpoint(self.reactor, node.host, node.port)
        if node.scheme != "https":
            return tcp
        from twisted.internet.ssl import optionsForClientTLS

        return endpoints.wrapClientTLS(optionsForClientTLS(node.host), tcp)
