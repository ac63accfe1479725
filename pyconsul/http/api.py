"""The HTTP API's routes. Each area of the API is a class of its own; this
module only maps paths to them, all through the same plumbing."""

from klein import Klein

from pyconsul.http.kv import KVEndpoint
from pyconsul.http.plumbing import endpoint
from pyconsul.http.response import error_body
from pyconsul.http.status import StatusEndpoint


class HTTPApi:
    app = Klein()
    # Keys may contain anything, "//" included: the plumbing, not the
    # router, decides what to do with such paths (Consul redirects them).
    app.url_map.merge_slashes = False

    def __init__(self, rpc, max_value_size=None):
        self.rpc = rpc
        kwargs = {} if max_value_size is None else {"max_value_size": max_value_size}
        self.kv = KVEndpoint(rpc, **kwargs)
        self.status = StatusEndpoint(rpc)

    def resource(self):
        return self.app.resource()

    @app.route("/v1/kv/", branch=True)
    @endpoint("GET", "PUT", "DELETE")
    def kv_route(self, call):
        return self.kv.handle(call)

    @app.route("/v1/kv")
    @endpoint("GET", "PUT", "DELETE")
    def kv_root(self, call):
        # Only reached for a path that is clean already; Go's ServeMux sends
        # the subtree's name without its slash to the subtree.
        call.request.setResponseCode(301)
        location = "/v1/kv/"
        raw_query = call.request.uri.partition(b"?")[2]
        if raw_query:
            location += "?" + raw_query.decode("latin-1")
        call.request.setHeader(b"location", location.encode("utf-8"))
        call.request.defaultContentType = None
        return b""

    @app.route("/v1/status/leader")
    @endpoint("GET")
    def status_leader(self, call):
        return self.status.leader(call)

    @app.route("/v1/status/peers")
    @endpoint("GET")
    def status_peers(self, call):
        return self.status.peers(call)

    @app.route("/", branch=True)
    @endpoint("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH")
    def not_found(self, call):
        return error_body(call.request, 404, "404 page not found")
