"""The one request path every endpoint goes through.

``@endpoint("GET", "PUT")`` wraps a route method. Before the method runs, the
wrapper sets Consul's common headers, cleans the path (redirecting as Go's
ServeMux does), answers OPTIONS and refuses other methods with 405, and
parses the query string. The method gets a :class:`Call` and returns the
body (or a Deferred of it); errors from parsing or from the RPC become
Consul's status codes with a plain-text message.
"""

import functools

import attr
from twisted.internet.defer import maybeDeferred
from pyconsul.logs import Logger

from pyconsul.http.request import (
    BadRequest,
    QueryParams,
    clean_path,
    decode_path,
    parse_query_options,
    redirect_location,
    refuse_enterprise,
    request_token,
    split_uri,
)
from pyconsul.http.response import error_body, set_common_headers, set_query_meta
from pyconsul.server.errors import RPCError

log = Logger()


@attr.s
class Call:
    """One HTTP request, parsed."""

    request: object = attr.ib()
    path: str = attr.ib()
    params: QueryParams = attr.ib()

    @property
    def method(self):
        return self.request.method.decode("latin-1")

    @property
    def pretty(self):
        return self.params.has("pretty")

    def flag(self, name):
        """Presence flags (``?recurse``, ``?raw``): any value means true."""
        return self.params.has(name)

    def read_options(self):
        return parse_query_options(self.request, self.params)

    def write_args(self):
        """What a write RPC carries besides its own arguments."""
        return {
            "Datacenter": self.params.get("dc") or None,
            "Token": request_token(self.request, self.params),
        }

    def body(self):
        self.request.content.seek(0)
        return self.request.content.read()

    def body_length(self):
        content = self.request.content
        content.seek(0, 2)
        return content.tell()

    def query_meta(self, reply, effective_consistency=False):
        set_query_meta(self.request, reply)
        if effective_consistency:
            mode = "stale" if self.params.has("stale") else "consistent" if self.params.has("consistent") else "leader"
            self.request.setHeader(b"x-consul-effective-consistency", mode.encode("ascii"))

    @property
    def raw_query(self):
        return self.request.uri.partition(b"?")[2]


def endpoint(*methods, tenancy=()):
    """``tenancy``: the Enterprise selectors (``NAMESPACE``, ``PARTITION``)
    Consul's endpoint reads, and so refuses in its open-source edition."""
    allowed = ("OPTIONS",) + methods
    allow_header = ",".join(allowed).encode("ascii")

    def decorate(function):
        @functools.wraps(function)
        def route(self, request, *args, **kwargs):
            set_common_headers(request, self.translate_wan_addrs)
            try:
                call = _prepare(request, allowed, allow_header)
                if isinstance(call, Call):
                    refuse_enterprise(request, call.params, tenancy)
            except BadRequest as e:
                return error_body(request, 400, str(e))
            if not isinstance(call, Call):
                return call  # a redirect, or the answer to OPTIONS / a bad method
            d = maybeDeferred(function, self, call, *args, **kwargs)
            d.addErrback(_answer_error, request)
            return d.addCallback(_sized, request)

        return route

    return decorate


def _sized(body, request):
    """Say how long an answer is, as Go does: one write with Content-Length,
    not a chunked stream, whether the answer came at once or later."""
    if isinstance(body, bytes):
        request.setHeader(b"content-length", b"%d" % len(body))
    return body


def _prepare(request, allowed, allow_header):
    path, raw_query = _clean_path(request)
    if path is None:
        return raw_query  # the redirect to the clean path
    method = request.method.decode("latin-1")
    if method not in allowed:
        request.setHeader(b"allow", allow_header)
        return error_body(request, 405, "method %s not allowed" % method)
    if method == "OPTIONS":
        request.setHeader(b"allow", allow_header)
        request.defaultContentType = None
        return b""
    return Call(request, path, QueryParams(raw_query))


def _clean_path(request):
    """(path, raw query), or (None, a redirect) for a path Go's ServeMux would clean."""
    raw_path, raw_query = split_uri(request.uri)
    path = decode_path(raw_path)
    if "//" in path or "/." in path or not path.startswith("/"):  # else already clean
        cleaned = clean_path(path)
        if cleaned != path:
            return None, redirect(request, cleaned, raw_query)
    return path, raw_query


NOT_AN_API_PATH = "Invalid URL path: not a recognized HTTP API endpoint\n"
NOT_UNDER_V1 = "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"
NO_UI = (
    "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart."
)


def index(request, subtrees):
    """What Consul's router answers for a path no endpoint serves, any method:
    a clean path whose subtree exists (``/v1/kv``) is redirected into it,
    ``/`` names the agent, anything else is a 404 saying what is wrong.
    Consul writes these without its API headers."""
    try:
        path, raw_query = _clean_path(request)
    except BadRequest as e:
        return error_body(request, 400, str(e))
    if path is None:
        return raw_query
    if path + "/" in subtrees:
        return redirect(request, path + "/", raw_query)
    if path == "/":
        return error_body(request, 200, NO_UI)
    return error_body(request, 404, NOT_AN_API_PATH if "/v1/" in path else NOT_UNDER_V1)


# Go's html.EscapeString, which http.Redirect uses for its link.
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def redirect(request, path, raw_query):
    """301 to ``path``, keeping the query: what Go's ServeMux answers (with
    http.Redirect's little HTML link for a GET or HEAD)."""
    location = redirect_location(path, raw_query)
    request.setResponseCode(301)
    request.setHeader(b"location", location.encode("utf-8"))
    if request.method in (b"GET", b"HEAD"):
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return ('<a href="%s">Moved Permanently</a>.\n\n' % location.translate(_HTML_ESCAPES)).encode("utf-8")
    request.defaultContentType = None
    return b""


def _answer_error(failure, request):
    error = failure.value
    if isinstance(error, BadRequest):
        return error_body(request, 400, str(error))
    if isinstance(error, RPCError):
        return error_body(request, error.status, error.message)
    log.failure("Internal error answering {uri}", failure, uri=request.uri)
    return error_body(request, 500, "Internal error: %s" % (error,))
