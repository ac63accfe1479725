"""The agent HTTP client: addresses, escaping, tokens, redirects, errors."""

import http.server
import os
import socket
import tempfile
import threading

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli import http as api_http
from pyconsul.cli.flags import FlagSet
from pyconsul.cli.http import (
    Client,
    ClientConfig,
    ConfigError,
    RequestError,
    Response,
    StdlibTransport,
    TransportError,
    config_from_environment,
    encode_query,
    escape_path,
    resolve_endpoint,
)
from pyconsul.cli.httpflags import ALL_HTTP_FLAGS, client_config


class ScriptedTransport:
    """Answers requests from a function, keeping every request it saw."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def round_trip(self, request):
        self.requests.append(request)
        result = self.answer(request)
        if isinstance(result, Exception):
            raise result
        return result


def ok(body=b"true", **headers):
    return Response(200, {name.lower().replace("_", "-"): value for name, value in headers.items()}, body)


def redirect(status, location):
    return Response(status, {"location": location} if location is not None else {}, b"")


class UrlTests(SynchronousTestCase):
    def test_path_escaping(self):
        """Go's url.URL path escaping."""
        table = [
            ("/v1/kv/plain/key", "/v1/kv/plain/key"),
            ("/v1/kv/a b", "/v1/kv/a%20b"),
            ("/v1/kv/a?b#c%d", "/v1/kv/a%3Fb%23c%25d"),
            ("/v1/kv/$&+,:;=@", "/v1/kv/$&+,:;=@"),
            ("/v1/kv/!*'()[]", "/v1/kv/%21%2A%27%28%29%5B%5D"),
            ("/v1/kv/-_.~", "/v1/kv/-_.~"),
            ("/v1/kv/caf\u00e9", "/v1/kv/caf%C3%A9"),
            ("/v1/kv/raw\udcff", "/v1/kv/raw%FF"),
            ("/v1/kv/a//b/./c", "/v1/kv/a//b/./c"),
        ]
        for path, expected in table:
            self.assertEqual(escape_path(path), expected, path)

    def test_query_encoding(self):
        """Go's url.Values.Encode: sorted names, '+' for space, everything else escaped."""
        self.assertEqual(encode_query({"stale": "", "recurse": ""}), "recurse=&stale=")
        self.assertEqual(encode_query({"separator": "/", "keys": ""}), "keys=&separator=%2F")
        self.assertEqual(encode_query({"dc": "a b&c=d"}), "dc=a+b%26c%3Dd")
        self.assertEqual(encode_query({"x": ["1", "2"]}), "x=1&x=2")
        self.assertEqual(encode_query({}), "")

    def test_addresses(self):
        table = [
            ("127.0.0.1:8500", ("http", "127.0.0.1:8500", "", "")),
            ("http://10.0.0.1:8500", ("http", "10.0.0.1:8500", "", "")),
            ("https://consul.example:8501", ("https", "consul.example:8501", "", "")),
            ("unix:///run/consul.sock", ("http", "/run/consul.sock", "/run/consul.sock", "")),
            ("http://proxy:80/consul", ("http", "proxy:80", "", "/consul")),
        ]
        for address, expected in table:
            endpoint = resolve_endpoint(ClientConfig(address=address))
            self.assertEqual(
                (endpoint.scheme, endpoint.host, endpoint.unix_socket, endpoint.path_prefix), expected, address
            )
        error = self.assertRaises(ConfigError, resolve_endpoint, ClientConfig(address="ftp://h:1"))
        self.assertEqual(str(error), "Unknown protocol scheme: ftp")

    def test_ssl_environment(self):
        config = config_from_environment({"CONSUL_HTTP_ADDR": "h:1", "CONSUL_HTTP_SSL": "true"})
        self.assertEqual(resolve_endpoint(config).scheme, "https")
        config.address = "http://h:1"
        self.assertEqual(resolve_endpoint(config).scheme, "https")
        config = config_from_environment({"CONSUL_HTTP_SSL": "nonsense"})
        self.assertEqual((config.scheme, config.address), ("http", "127.0.0.1:8500"))

    def test_split_host_port(self):
        self.assertEqual(api_http.split_host_port("h:8500", 80), ("h", 8500))
        self.assertEqual(api_http.split_host_port("[::1]:8500", 80), ("::1", 8500))
        self.assertEqual(api_http.split_host_port("h", 443), ("h", 443))
        self.assertEqual(api_http.split_host_port("::1", 80), ("::1", 80))


class RequestTests(SynchronousTestCase):
    def client(self, answer=lambda request: ok(), environ=None, argv=()):
        self.transport = ScriptedTransport(answer)
        parsed = FlagSet(ALL_HTTP_FLAGS).parse(list(argv))
        return Client(client_config(parsed, environ or {}), transport=self.transport)

    def header(self, request, name):
        values = [value for key, value in request.headers if key.lower() == name.lower()]
        return values[-1] if values else None

    def test_request_line(self):
        self.client().request("PUT", "/v1/kv/a b", {"flags": "7"}, b"v")
        request = self.transport.requests[0]
        self.assertEqual((request.method, request.target, request.body), ("PUT", "/v1/kv/a%20b?flags=7", b"v"))
        self.assertEqual(request.url, "http://127.0.0.1:8500/v1/kv/a%20b?flags=7")
        self.assertIsNone(self.header(request, "X-Consul-Token"))

    def test_common_parameters(self):
        self.client(argv=["-datacenter=dc2", "-namespace=team"]).request("GET", "/v1/kv/k", {"stale": ""})
        self.assertEqual(self.transport.requests[0].target, "/v1/kv/k?dc=dc2&ns=team&stale=")

    def test_path_prefix(self):
        self.client(environ={"CONSUL_HTTP_ADDR": "http://proxy:80/consul"}).request("GET", "/v1/kv/k")
        self.assertEqual(self.transport.requests[0].url, "http://proxy:80/consul/v1/kv/k")

    def test_token_sources(self):
        """Flag over environment; a token file over both; -token= still overrides."""
        self.client(environ={"CONSUL_HTTP_TOKEN": "env"}).request("GET", "/v1/kv/k")
        self.assertEqual(self.header(self.transport.requests[0], "X-Consul-Token"), "env")
        self.client(environ={"CONSUL_HTTP_TOKEN": "env"}, argv=["-token", "flag"]).request("GET", "/v1/kv/k")
        self.assertEqual(self.header(self.transport.requests[0], "X-Consul-Token"), "flag")
        self.client(environ={"CONSUL_HTTP_TOKEN": "env"}, argv=["-token="]).request("GET", "/v1/kv/k")
        self.assertIsNone(self.header(self.transport.requests[0], "X-Consul-Token"))
        with tempfile.NamedTemporaryFile("w", suffix=".token", delete=False) as handle:
            handle.write("  from-file\n")
        self.addCleanup(os.unlink, handle.name)
        self.client(environ={"CONSUL_HTTP_TOKEN_FILE": handle.name}, argv=["-token=flag"]).request("GET", "/v1/kv/k")
        self.assertEqual(self.header(self.transport.requests[0], "X-Consul-Token"), "from-file")

    def test_missing_token_file(self):
        error = self.assertRaises(ConfigError, self.client, argv=["-token-file=/nonexistent/token"])
        self.assertEqual(str(error), "Error loading token file: open /nonexistent/token: no such file or directory")

    def test_basic_auth(self):
        self.client(environ={"CONSUL_HTTP_AUTH": "user:pass"}).request("GET", "/v1/kv/k")
        self.assertEqual(self.header(self.transport.requests[0], "Authorization"), "Basic dXNlcjpwYXNz")

    def test_moved_put_becomes_get(self):
        """301/302/303 are followed with a body-less GET, as Go's client does."""
        for status in (301, 302, 303):
            answers = iter([redirect(status, "/v1/kv/a/b"), Response(404, {}, b"")])
            client = self.client(lambda request: next(answers))
            response = client.request("PUT", "/v1/kv/a//b", {}, b"x", [("Content-Type", "application/octet-stream")])
            second = self.transport.requests[1]
            self.assertEqual((response.status, second.method, second.target, second.body), (404, "GET", "/v1/kv/a/b", None))
            self.assertEqual(self.header(second, "X-Consul-Token"), None)

    def test_redirect_keeps_token_and_query(self):
        answers = iter([redirect(301, "/v1/kv/lead?raw&x=1"), ok(b"v")])
        client = self.client(lambda request: next(answers), argv=["-token=t"])
        client.request("GET", "/v1/kv//lead", {"raw": "", "x": "1"})
        second = self.transport.requests[1]
        self.assertEqual((second.method, second.target), ("GET", "/v1/kv/lead?raw&x=1"))
        self.assertEqual(self.header(second, "X-Consul-Token"), "t")

    def test_temporary_redirect_repeats_method_and_body(self):
        for status in (307, 308):
            answers = iter([redirect(status, "http://127.0.0.1:8500/v1/kv/b"), ok()])
            client = self.client(lambda request: next(answers))
            client.request("PUT", "/v1/kv/a", {}, b"payload")
            second = self.transport.requests[1]
            self.assertEqual((second.method, second.target, second.body), ("PUT", "/v1/kv/b", b"payload"))

    def test_redirect_to_other_host(self):
        answers = iter([redirect(307, "http://10.1.2.3:9500/v1/kv/b"), ok()])
        self.client(lambda request: next(answers)).request("PUT", "/v1/kv/a", {}, b"x")
        self.assertEqual(self.transport.requests[1].url, "http://10.1.2.3:9500/v1/kv/b")

    def test_redirect_limit(self):
        client = self.client(lambda request: redirect(302, "/v1/kv/loop"))
        error = self.assertRaises(RequestError, client.request, "PUT", "/v1/kv/a", {}, b"x")
        self.assertEqual(str(error), 'Put "/v1/kv/loop": stopped after 10 redirects')
        self.assertEqual(len(self.transport.requests), 10)

    def test_redirect_without_location(self):
        client = self.client(lambda request: redirect(301, None))
        error = self.assertRaises(RequestError, client.request, "GET", "/v1/kv/a")
        self.assertEqual(str(error), 'Get "http://127.0.0.1:8500/v1/kv/a": 301 response missing Location header')
        response = self.client(lambda request: redirect(307, None)).request("GET", "/v1/kv/a")
        self.assertEqual(response.status, 307)

    def test_transport_errors_read_like_go(self):
        refused = TransportError("dial tcp 127.0.0.1:8500: connect: connection refused")
        client = self.client(lambda request: refused)
        error = self.assertRaises(RequestError, client.request, "PUT", "/v1/kv/foo", {"flags": "1"}, b"")
        self.assertEqual(
            str(error),
            'Put "http://127.0.0.1:8500/v1/kv/foo?flags=1": dial tcp 127.0.0.1:8500: connect: connection refused',
        )
        error = self.assertRaises(RequestError, client.request, "DELETE", "/v1/kv/a\"b")
        self.assertTrue(str(error).startswith('Delete "http://127.0.0.1:8500/v1/kv/a%22b": '), str(error))

    def test_unexpected_status_text(self):
        error = api_http.UnexpectedStatus(413, b"too large")
        self.assertEqual(str(error), "Unexpected response code: 413 (too large)")
        self.assertEqual(str(api_http.UnexpectedStatus(404, b"")), "Unexpected response code: 404 ()")

    def test_file_errors_read_like_go(self):
        error = self.assertRaises(OSError, open, "/nonexistent/x")
        self.assertEqual(api_http.go_file_error("open", "/nonexistent/x", error),
                         "open /nonexistent/x: no such file or directory")
        directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, directory)
        error = self.assertRaises(OSError, open, directory, "rb")
        self.assertEqual(api_http.go_file_error("open", directory, error), "read %s: is a directory" % directory)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.seen.append((self.command, self.path, self.client_address[1], b""))
        if self.path.startswith("/v1/kv/moved"):
            self._answer(301, b"", [("Location", "/v1/kv/target")])
        else:
            self._answer(200, b'"ok"')

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append((self.command, self.path, self.client_address[1], body))
        self._answer(200, b"true")

    def _answer(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class StdlibTransportTests(SynchronousTestCase):
    def serve(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.seen = []
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()

        def stop():
            server.shutdown()
            server.server_close()
            thread.join()

        self.addCleanup(stop)
        return server

    def test_requests_over_one_connection(self):
        server = self.serve()
        config = ClientConfig(address="127.0.0.1:%d" % server.server_address[1])
        client = Client(config)
        self.addCleanup(lambda: [c.close() for c in client.transport._connections.values()])
        self.assertEqual(client.request("PUT", "/v1/kv/a b", {}, b"value").body, b"true")
        response = client.request("GET", "/v1/kv/moved")
        self.assertEqual((response.status, response.body), (200, b'"ok"'))
        self.assertEqual([(m, p, b) for m, p, _, b in server.seen],
                         [("PUT", "/v1/kv/a%20b", b"value"), ("GET", "/v1/kv/moved", b""), ("GET", "/v1/kv/target", b"")])
        self.assertEqual(len({port for _, _, port, _ in server.seen}), 1)

    def test_connection_refused(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()
        client = Client(ClientConfig(address="127.0.0.1:%d" % port))
        error = self.assertRaises(RequestError, client.request, "PUT", "/v1/kv/foo", {}, b"1")
        self.assertEqual(str(error), 'Put "http://127.0.0.1:%d/v1/kv/foo": dial tcp 127.0.0.1:%d: connect: '
                                     "connection refused" % (port, port))

    def test_missing_unix_socket(self):
        path = os.path.join(tempfile.mkdtemp(), "agent.sock")
        self.addCleanup(os.rmdir, os.path.dirname(path))
        client = Client(ClientConfig(address="unix://" + path))
        error = self.assertRaises(RequestError, client.request, "GET", "/v1/kv/foo")
        self.assertIn("dial unix %s: connect: no such file or directory" % path, str(error))
        self.assertTrue(str(error).startswith('Get "http://%2F'), str(error))

    def test_unknown_host(self):
        def no_such_host(*args, **kwargs):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        self.patch(api_http.socket, "getaddrinfo", no_such_host)
        transport = StdlibTransport()
        request = api_http.Request("GET", api_http.Endpoint("http", "nowhere:8500"), "/v1/kv/k", [])
        error = self.assertRaises(TransportError, transport.round_trip, request)
        self.assertEqual(str(error), "dial tcp: lookup nowhere: no such host")
