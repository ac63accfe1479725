"""/v1/query: prepared queries (Consul 1.10's agent/prepared_query_endpoint.go).

``POST /v1/query`` creates (``{"ID": ...}``), ``GET /v1/query`` lists,
``GET|PUT|DELETE /v1/query/<id>`` reads (a list of one), replaces or
deletes, ``GET /v1/query/<id-or-name>/execute`` runs one (``?near``,
``?limit``, ``?connect``) and ``.../explain`` shows the query a name
resolves to, rendered. An unknown query is a 404 ``Query not found``; the
servers' refusals are 500s with their message, as Consul answers them.
"""

import ipaddress

from pyconsul.core import translate
from pyconsul.golang import gostruct as go
from pyconsul.golang import strconv
from pyconsul.http import shapes
from pyconsul.http.catalog import decode_body
from pyconsul.http.response import empty_body, error_body, json_body
from pyconsul.server.errors import RPCError
from pyconsul.state.queries import QUERY_NOT_FOUND

PREFIX = "/v1/query/"
STRING, STRINGS, INT, BOOL = go.String(), go.Slice(go.String()), go.Int(), go.Bool()
STRING_MAP = go.Map(go.String())
PREPARED_QUERY = go.Struct("PreparedQuery", "structs.PreparedQuery", [
    go.Field("ID", STRING), go.Field("Name", STRING), go.Field("Session", STRING), go.Field("Token", STRING),
    go.Field("Template", go.Struct("Template", "structs.QueryTemplateOptions", [
        go.Field("Type", STRING), go.Field("Regexp", STRING), go.Field("RemoveEmptyTags", BOOL)])),
    go.Field("Service", go.Struct("Service", "structs.ServiceQuery", [
        go.Field("Service", STRING),
        go.Field("Failover", go.Struct("Failover", "structs.QueryDatacenterOptions", [
            go.Field("NearestN", INT), go.Field("Datacenters", STRINGS)])),
        go.Field("OnlyPassing", BOOL), go.Field("IgnoreCheckIDs", go.Slice(go.String("types.CheckID"))),
        go.Field("Near", STRING), go.Field("Tags", STRINGS), go.Field("NodeMeta", STRING_MAP),
        go.Field("ServiceMeta", STRING_MAP), go.Field("Connect", BOOL)])),
    go.Field("DNS", go.Struct("DNS", "structs.QueryDNSOptions", [go.Field("TTL", STRING)])),
], pointer=True)


def check_service_node(entry):
    """A CheckServiceNode as the execute endpoint writes it: unlike the
    health endpoints, Consul leaves null tags null here."""
    return {
        "Node": shapes.node(entry["Node"]),
        "Service": shapes.node_service(entry["Service"]),
        "Checks": list(entry["Checks"]),
    }


def query_meta_json(reply, consistency):
    """The QueryMeta fields Consul's replies embed in their JSON."""
    return {
        "Index": reply.get("Index", 0),
        "LastContact": reply.get("LastContact", 0) * 1000000,  # a Go duration: nanoseconds
        "KnownLeader": reply.get("KnownLeader", False),
        "ConsistencyLevel": consistency,
        "NotModified": False,
        "Backend": 0,
    }


def source_address(request):
    """Consul's sourceAddrFromRequest: the first X-Forwarded-For address,
    else the peer's."""
    forwarded = (request.getHeader(b"x-forwarded-for") or b"").decode("latin-1")
    first = forwarded.split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(first))
    except ValueError:
        pass
    client = request.getClientAddress()
    host = getattr(client, "host", None)
    try:
        return str(ipaddress.ip_address(host)) if host else ""
    except ValueError:
        return ""


class QueryEndpoint:
    def __init__(self, rpc, node_name=None, translator=None):
        self.rpc = rpc
        self.node_name = node_name or ""
        self.translator = translator or translate.Translator(getattr(rpc, "datacenter", "dc1"), False)
        self.datacenter = self.translator.local

    # -- routing ---------------------------------------------------------------

    def general(self, call):
        if call.method == "POST":
            return self.create(call)
        return self.list(call)

    def specific(self, call):
        rest = call.path[len(PREFIX):]
        for suffix, handler in (("/execute", self.execute), ("/explain", self.explain)):
            if call.path.endswith(suffix):
                if call.method != "GET":
                    call.request.setHeader(b"allow", b"GET")
                    return error_body(call.request, 405, "method %s not allowed" % call.method)
                return handler(call, rest[:-len(suffix)])
        if call.method == "GET":
            return self.get(call, rest)
        if call.method == "PUT":
            return self.update(call, rest)
        return self.delete(call, rest)

    # -- writes ----------------------------------------------------------------

    def _apply(self, call, op, query):
        args = call.write_args()
        args.update(Op=op, Query=query)
        return self.rpc.call("PreparedQuery.Apply", args)

    def create(self, call):
        query = decode_body(call, PREPARED_QUERY) or {}
        d = self._apply(call, "create", query)
        return d.addCallback(lambda query_id: json_body(call.request, {"ID": query_id}, call.pretty))

    def update(self, call, query_id):
        query = (decode_body(call, PREPARED_QUERY) if call.body_length() else None) or {}
        query["ID"] = query_id  # the URL's, not the body's
        return self._apply(call, "update", query).addCallback(lambda _: empty_body(call.request, 200))

    def delete(self, call, query_id):
        d = self._apply(call, "delete", {"ID": query_id})
        return d.addCallback(lambda _: empty_body(call.request, 200))

    # -- reads -----------------------------------------------------------------

    def _consistency(self, call):
        return "stale" if call.params.has("stale") else "consistent" if call.params.has("consistent") else "leader"

    def _read(self, call, method, args, answer):
        options = call.read_options()
        args.update(Datacenter=options.datacenter, QueryOptions=options.as_rpc())
        if options.token:
            args["Token"] = options.token

        def answered(reply):
            call.query_meta(dict(reply, Index=max(reply.get("Index") or 0, 1)), effective_consistency=True)
            return answer(reply)

        return self.rpc.call(method, args).addCallbacks(answered, self._not_found, errbackArgs=(call,))

    @staticmethod
    def _not_found(failure, call):
        # Consul compares the text: the RPC layer does not keep error types.
        if isinstance(failure.value, RPCError) and failure.value.message == QUERY_NOT_FOUND:
            return error_body(call.request, 404, QUERY_NOT_FOUND)
        return failure

    def list(self, call):
        return self._read(call, "PreparedQuery.List", {},
                          lambda reply: json_body(call.request, reply["Queries"] or [], call.pretty))

    def get(self, call, query_id):
        return self._read(call, "PreparedQuery.Get", {"QueryID": query_id},
                          lambda reply: json_body(call.request, reply["Queries"], call.pretty))

    def _execute_args(self, call, id_or_name):
        """A PreparedQueryExecuteRequest, checked in Consul's order."""
        source = {"Datacenter": call.params.get("dc") or self.datacenter, "Segment": "",
                  "Ip": source_address(call.request)}
        near = call.params.get("near")
        if near:
            source["Node"] = self.node_name if near == "_agent" else near
        call.read_options()  # a malformed common parameter is a 400 first
        limit = 0
        if call.params.get("limit"):
            try:
                limit = strconv.atoi(call.params.get("limit"))
            except strconv.NumError as error:
                raise RPCError("Bad limit: %s" % error)
        connect = False
        if call.params.get("connect"):
            try:
                connect = strconv.parse_bool(call.params.get("connect"))
            except strconv.NumError as error:
                raise RPCError("Error parsing 'connect' value: %s" % error)
        return {
            "QueryIDOrName": id_or_name,
            "Limit": limit,
            "Connect": connect,
            "Source": source,
            "Agent": {"Node": self.node_name, "Datacenter": self.datacenter, "Segment": ""},
        }

    def execute(self, call, id_or_name):
        args = self._execute_args(call, id_or_name)
        consistency = self._consistency(call)

        def answer(reply):
            nodes = reply.get("Nodes") or []
            if self.translator.applies(reply.get("Datacenter")):
                nodes = [translate.check_service_node(entry) for entry in nodes]
            body = {
                "Service": reply.get("Service", ""),
                "Nodes": [check_service_node(entry) for entry in nodes],
                "DNS": reply.get("DNS") or {"TTL": ""},
                "Datacenter": reply.get("Datacenter", ""),
                "Failovers": reply.get("Failovers", 0),
            }
            body.update(query_meta_json(reply, consistency))
            return json_body(call.request, body, call.pretty)

        return self._read(call, "PreparedQuery.Execute", args, answer)

    def explain(self, call, id_or_name):
        args = self._execute_args(call, id_or_name)
        consistency = self._consistency(call)

        def answer(reply):
            body = {"Query": reply["Query"]}
            body.update(query_meta_json(reply, consistency))
            return json_body(call.request, body, call.pretty)

        return self._read(call, "PreparedQuery.Explain", args, answer)
