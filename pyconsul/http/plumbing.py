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

    def query_meta(self, reply):
        set_query_meta(self.request, reply)

    @property
    def raw_query(self):
        return self.request.uri.partition(b"?")[2]


def endpoint(*methods):
    allowed = ("OPTIONS",) + methods
    allow_header = ",".join(allowed).encode("ascii")

    def decorate(function):
        @functools.wraps(function)
        def route(self, request, *args, **kwargs):
            set_common_headers(request)
            try:
                call = _prepare(request, allowed, allow_header)
            except BadRequest as e:
                return error_body(request, 400, str(e))
            if not isinstance(call, Call):
                return call  # a redirect, or the answer to OPTIONS / a bad method
            d = maybeDeferred(function, self, call, *args, **kwargs)
            d.addErrback(_answer_error, request)
            return d

        return route

    return decorate


def _prepare(request, allowed, allow_header):
    raw_path, raw_query = split_uri(request.uri)
    path = decode_path(raw_path)
    cleaned = clean_path(path)
    if cleaned != path:
        return redirect(request, cleaned, raw_query)
    method = request.method.decode("latin-1")
    if method not in allowed:
        request.setHeader(b"allow", allow_header)
        return error_body(request, 405, "method %s not allowed" % method)
    if method == "OPTIONS":
        request.setHeader(b"allow", allow_header)
        request.defaultContentType = None
        return b""
    return Call(request, path, QueryParams(raw_query))


def redirect(request, path, raw_query):
    """301 to ``path``, keeping the query: what Go's ServeMux answers."""
    request.setResponseCode(301)
    request.setHeader(b"location", redirect_location(path, raw_query).encode("utf-8"))
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
