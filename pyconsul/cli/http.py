"""A small synchronous client for the agent's HTTP API, standard library only.

It behaves like the Go ``api`` package and ``net/http`` client that the consul
CLI uses, because users see the difference in error messages and in edge
cases:

* the agent address comes from ``CONSUL_HTTP_ADDR`` (or ``-http-addr``) as
  ``host:port``, ``http://host:port[/prefix]``, ``https://host:port`` or
  ``unix:///path/to/socket``; default ``127.0.0.1:8500``;
* query parameters are sorted and escaped as Go's ``url.Values`` does, and
  key paths as Go's ``url.URL`` does;
* redirects are followed as Go does: 301/302/303 turn into a GET without a
  body, 307/308 repeat the method and body, at most 10 times. Consul answers
  ``PUT /v1/kv/a//b`` with a 301 to ``/v1/kv/a/b``; following it with a GET
  is what makes ``kv put a//b x`` fail with ``404 ()``, as with Consul;
* a failure to reach the agent becomes one line in Go's wording, e.g.
  ``Put "http://127.0.0.1:8500/v1/kv/foo": dial tcp 127.0.0.1:8500:
  connect: connection refused``.

The network is behind ``Transport.round_trip`` so tests can answer requests
without sockets.
"""

import base64
import errno as errno_codes
import http.client
import os
import socket
import urllib.parse
from dataclasses import dataclass, field

from pyconsul import __version__
from pyconsul.golang import strconv

DEFAULT_ADDRESS = "127.0.0.1:8500"
MAX_REDIRECTS = 10
DIAL_TIMEOUT = 30.0


class ApiError(Exception):
    """Anything that stops a request from giving an answer; ``str()`` is for users."""


class ConfigError(ApiError):
    """The client cannot be set up (bad address scheme, unreadable token file)."""


class RequestError(ApiError):
    """The request did not get an HTTP answer; worded like Go's url.Error."""


class UnexpectedStatus(ApiError):
    """The agent answered with a status the call does not accept."""

    def __init__(self, status, body):
        text = body.decode("utf-8", "replace")
        super().__init__("Unexpected response code: %d (%s)" % (status, text))
        self.status = status
        self.body = body


class TransportError(Exception):
    """Raised by a transport: the network-level part of the message (Go's wording)."""


class _ConnectionLost(Exception):
    """The agent closed the connection before answering."""


# ------------------------------------------------------------------- settings


@dataclass
class TLSSettings:
    ca_file: str = ""
    ca_path: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""
    verify: bool = True


@dataclass
class ClientConfig:
    """What the client needs; mirrors the fields of Go's api.Config."""

    address: str = DEFAULT_ADDRESS
    scheme: str = "http"
    token: str = ""
    token_file: str = ""
    datacenter: str = ""
    stale: bool = False  # let any server answer reads (Go's QueryOptions.AllowStale)
    namespace: str = ""
    basic_auth: tuple = None
    tls: TLSSettings = field(default_factory=TLSSettings)


def _env_bool(environ, name, default):
    text = environ.get(name, "")
    if not text:
        return default
    try:
        return strconv.parse_bool(text)
    except strconv.NumError:
        return default  # Go's api logs a warning and keeps the default


def config_from_environment(environ):
    """api.DefaultConfig: the CONSUL_* environment variables, before any flag."""
    config = ClientConfig()
    config.address = environ.get("CONSUL_HTTP_ADDR") or DEFAULT_ADDRESS
    config.token_file = environ.get("CONSUL_HTTP_TOKEN_FILE", "")
    config.token = environ.get("CONSUL_HTTP_TOKEN", "")
    auth = environ.get("CONSUL_HTTP_AUTH", "")
    if auth:
        user, _, password = auth.partition(":")
        config.basic_auth = (user, password)
    if _env_bool(environ, "CONSUL_HTTP_SSL", False):
        config.scheme = "https"
    config.tls.server_name = environ.get("CONSUL_TLS_SERVER_NAME", "")
    config.tls.ca_file = environ.get("CONSUL_CACERT", "")
    config.tls.ca_path = environ.get("CONSUL_CAPATH", "")
    config.tls.cert_file = environ.get("CONSUL_CLIENT_CERT", "")
    config.tls.key_file = environ.get("CONSUL_CLIENT_KEY", "")
    config.tls.verify = _env_bool(environ, "CONSUL_HTTP_SSL_VERIFY", True)
    config.namespace = environ.get("CONSUL_NAMESPACE", "")
    return config


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: the URL's scheme and host, or a unix socket."""

    scheme: str
    host: str  # "127.0.0.1:8500", or the socket path for unix sockets
    unix_socket: str = ""
    path_prefix: str = ""

    def url_prefix(self):
        """scheme://host as Go prints it in errors (a socket path is escaped)."""
        host = self.host
        if self.unix_socket:
            host = urllib.parse.quote(host, safe="!$&'()*+,;=:[]<>\"")
        return "%s://%s" % (self.scheme, host)


def resolve_endpoint(config):
    """api.NewClient's reading of the address (and its error for unknown schemes)."""
    address = config.address
    scheme = config.scheme
    if "://" not in address:
        return Endpoint(scheme, address)
    kind, rest = address.split("://", 1)
    if kind == "unix":
        return Endpoint("http", rest, unix_socket=rest)
    if kind not in ("http", "https"):
        raise ConfigError("Unknown protocol scheme: %s" % kind)
    if kind == "https":
        scheme = "https"  # http:// never turns TLS off once CONSUL_HTTP_SSL asked for it
    host, slash, prefix = rest.partition("/")
    return Endpoint(scheme, host, path_prefix="/" + prefix if slash else "")


def read_token_file(path):
    """The token in a token file, trimmed; Go's error wording if unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace").strip()
    except OSError as error:
        raise ConfigError("Error loading token file: %s" % go_file_error("open", path, error)) from None


def go_errno_text(error_number):
    """Go's text for an errno: the C library's, starting with a small letter."""
    text = os.strerror(error_number)
    return text[:1].lower() + text[1:]


def go_file_error(operation, path, error):
    """An *os.PathError message: ``open missing.json: no such file or directory``."""
    if isinstance(error, IsADirectoryError):
        # Go opens a directory without complaint; the read is what fails.
        operation = "read"
    if error.errno is not None:
        return "%s %s: %s" % (operation, path, go_errno_text(error.errno))
    return "%s %s: %s" % (operation, path, error)


# -------------------------------------------------------------------- requests


@dataclass
class Request:
    method: str
    endpoint: Endpoint
    target: str  # escaped path and query, as on the request line
    headers: list
    body: bytes = None

    @property
    def url(self):
        return self.endpoint.url_prefix() + self.target


@dataclass
class Response:
    status: int
    headers: dict  # lower-case names
    body: bytes

    def header(self, name):
        return self.headers.get(name.lower())


def escape_path(path):
    """Go's url.URL path escaping: '/' and "$&+,:;=@" stay, the rest is %XX."""
    if isinstance(path, str):
        path = path.encode("utf-8", "surrogateescape")
    return urllib.parse.quote(path, safe="/$&+,:;=@")


def encode_query(params):
    """Go's url.Values.Encode: sorted by name, values in order, '+' for spaces."""
    parts = []
    for name in sorted(params):
        values = params[name]
        if isinstance(values, str):
            values = [values]
        for value in values:
            parts.append(urllib.parse.quote_plus(name, safe="") + "=" + urllib.parse.quote_plus(value, safe=""))
    return "&".join(parts)


def _go_method_word(method):
    """url.Error's Op: "Put", "Get", "Delete"."""
    return method[:1] + method[1:].lower()


class Client:
    """Sends requests to one agent, with the settings of an api.Config."""

    def __init__(self, config, transport=None):
        self.config = config
        self.endpoint = resolve_endpoint(config)
        token = config.token
        if config.token_file:
            # As in Go, a token file wins over a token given any other way.
            token = read_token_file(config.token_file) or token
        self.token = token
        self.transport = transport if transport is not None else StdlibTransport(config.tls)

    def request(self, method, path, params=None, body=None, headers=None):
        """One API call; follows redirects; returns the final Response."""
        query = {}
        if self.config.datacenter:
            query["dc"] = self.config.datacenter
        if self.config.namespace:
            query["ns"] = self.config.namespace
        if self.config.stale and method == "GET":
            query["stale"] = ""
        query.update(params or {})
        target = escape_path(self.endpoint.path_prefix + path)
        encoded = encode_query(query)
        if encoded:
            target += "?" + encoded
        request_headers = [("User-Agent", "pyconsul/%s" % __version__)]
        if self.token:
            request_headers.append(("X-Consul-Token", self.token))
        if self.config.basic_auth:
            credentials = "%s:%s" % self.config.basic_auth
            request_headers.append(("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode()))
        request_headers.extend(headers or [])
        request = Request(method, self.endpoint, target, request_headers, body)
        return self._follow_redirects(request)

    def _follow_redirects(self, request):
        """net/http Client.Do's redirect rules."""
        original_method = request.method
        redirects = 0
        while True:
            try:
                response = self.transport.round_trip(request)
            except TransportError as error:
                raise RequestError(self._go_error(original_method, request.url, error)) from None
            if response.status not in (301, 302, 303, 307, 308):
                return response
            location = response.header("Location")
            if response.status in (307, 308):
                if not location:
                    return response
                method, body = request.method, request.body
            else:
                if not location:
                    raise RequestError(self._go_error(
                        original_method, request.url, "%d response missing Location header" % response.status))
                method = request.method if request.method in ("GET", "HEAD") else "GET"
                body = None
            redirects += 1
            if redirects >= MAX_REDIRECTS:
                raise RequestError(self._go_error(original_method, location, "stopped after 10 redirects"))
            request = self._redirected(request, location, method, body)

    def _redirected(self, request, location, method, body):
        target = urllib.parse.urljoin(request.url, location)
        parts = urllib.parse.urlsplit(target)
        endpoint = request.endpoint
        if parts.netloc and (parts.scheme, parts.netloc) != (endpoint.scheme, endpoint.host) and not endpoint.unix_socket:
            endpoint = Endpoint(parts.scheme or endpoint.scheme, parts.netloc)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = [(name, value) for name, value in request.headers if name.lower() != "content-type" or body is not None]
        if endpoint.host != request.endpoint.host:
            # Credentials are not sent on to another host, as Go does.
            headers = [(name, value) for name, value in headers if name.lower() != "authorization"]
        return Request(method, endpoint, path, headers, body)

    @staticmethod
    def _go_error(method, url, error):
        return "%s %s: %s" % (_go_method_word(method), strconv.quote(url), error)


# ------------------------------------------------------------------ transport


class StdlibTransport:
    """Real requests with http.client; keeps one connection per endpoint alive."""

    def __init__(self, tls=None):
        self.tls = tls or TLSSettings()
        self._connections = {}

    def round_trip(self, request):
        key = (request.endpoint.scheme, request.endpoint.host, request.endpoint.unix_socket)
        connection = self._connections.pop(key, None)
        if connection is not None:
            try:
                return self._exchange_and_keep(key, connection, request)
            except _ConnectionLost:
                pass  # the agent closed an idle kept-alive connection: try a new one
        try:
            return self._exchange_and_keep(key, self._connect(request.endpoint), request)
        except _ConnectionLost:
            raise TransportError("EOF") from None

    def _exchange_and_keep(self, key, connection, request):
        try:
            status, headers, body, keep_alive = self._exchange(connection, request)
        except BaseException:
            connection.close()
            raise
        if keep_alive:
            self._connections[key] = connection
        else:
            connection.close()
        return Response(status, headers, body)

    def _connect(self, endpoint):
        if endpoint.unix_socket:
            return _UnixConnection(endpoint.unix_socket)
        host, port = split_host_port(endpoint.host, 443 if endpoint.scheme == "https" else 80)
        if endpoint.scheme == "https":
            return _TLSConnection(host, port, self.tls)
        return _TCPConnection(host, port)

    @staticmethod
    def _exchange(connection, request):
        try:
            connection.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", request.endpoint.host)
            for name, value in request.headers:
                connection.putheader(name, value)
            if request.body is not None or request.method in ("PUT", "POST", "PATCH"):
                connection.putheader("Content-Length", str(len(request.body or b"")))
            try:
                connection.endheaders(request.body or None)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the agent may answer (413) before reading the whole body
            answer = connection.getresponse()
            body = answer.read()
        except http.client.IncompleteRead:
            raise TransportError("unexpected EOF") from None
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            raise _ConnectionLost() from None
        except http.client.HTTPException as error:
            raise TransportError("malformed HTTP response: %s" % error) from None
        except socket.timeout:
            raise TransportError("i/o timeout") from None
        except OSError as error:
            raise TransportError("read: %s" % go_errno_text(error.errno) if error.errno else str(error)) from None
        headers = {}
        for name, value in answer.getheaders():
            headers.setdefault(name.lower(), value)
        return answer.status, headers, body, not answer.will_close


def split_host_port(host, default_port):
    """"127.0.0.1:8500" -> ("127.0.0.1", 8500); "[::1]:8500" -> ("::1", 8500)."""
    if host.startswith("["):
        inside, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        host = inside
    elif host.count(":") == 1:
        host, port = host.split(":")
    else:
        port = ""
    if port == "":
        return host, default_port
    if not port.isdigit():
        raise TransportError("dial tcp: address %s: invalid port" % port)
    return host, int(port)


def _go_address(address):
    host, port = address[0], address[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def dial_tcp(host, port):
    """Connect like Go's net.Dial("tcp"): the first failure is the one reported."""
    try:
        candidates = socket.getaddrinfo(host or "localhost", port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TransportError("dial tcp: lookup %s: no such host" % host) from None
    first_error = None
    for family, kind, protocol, _, address in candidates:
        sock = socket.socket(family, kind, protocol)
        sock.settimeout(DIAL_TIMEOUT)
        try:
            sock.connect(address)
        except socket.timeout:
            sock.close()
            first_error = first_error or "dial tcp %s: i/o timeout" % _go_address(address)
            continue
        except OSError as error:
            sock.close()
            first_error = first_error or "dial tcp %s: connect: %s" % (_go_address(address), go_errno_text(error.errno))
            continue
        sock.settimeout(None)  # a blocking query may take minutes
        return sock
    raise TransportError(first_error or "dial tcp %s:%d: no addresses" % (host, port))


class _TCPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = dial_tcp(self.host, self.port)


class _TLSConnection(http.client.HTTPConnection):
    def __init__(self, host, port, tls):
        super().__init__(host, port)
        self.tls = tls

    def connect(self):
        import ssl

        sock = dial_tcp(self.host, self.port)
        try:
            context = _ssl_context(self.tls)
            server_name = self.tls.server_name.rsplit(":", 1)[0] if self.tls.server_name else self.host
            self.sock = context.wrap_socket(sock, server_hostname=server_name)
        except ssl.SSLError as error:
            sock.close()
            raise TransportError("tls: %s" % (error.reason or error)) from None
        except OSError as error:
            sock.close()
            raise TransportError(str(error)) from None


def _ssl_context(tls):
    import ssl

    context = ssl.create_default_context(cafile=tls.ca_file or None, capath=tls.ca_path or None)
    if tls.cert_file or tls.key_file:
        if not (tls.cert_file and tls.key_file):
            raise TransportError("both client cert and client key must be provided")
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
        except OSError as error:
            sock.close()
            code = error.errno or errno_codes.ECONNREFUSED
            raise TransportError("dial unix %s: connect: %s" % (self.socket_path, go_errno_text(code))) from None
        self.sock = sock
