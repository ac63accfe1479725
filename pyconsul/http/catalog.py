"""/v1/catalog and /v1/health: registering nodes, services and checks, and
asking where the (healthy) instances of a service are."""

from pyconsul.agent.cache import CACHEABLE
from pyconsul.core import translate
from pyconsul.golang import gostruct as go
from pyconsul.http import shapes
from pyconsul.http.request import BadRequest
from pyconsul.http.response import RenderCache, json_body
from pyconsul.golang import json as go_json

# The request bodies as Consul's Go structs declare them (structs.RegisterRequest...).
STRING, INT, BOOL, ANY = go.String(), go.Int(), go.Bool(), go.Any(plain=True)
STRINGS = go.Slice(STRING)
STRING_MAP = go.Map(STRING)
SERVICE_ADDRESS = go.Struct("ServiceAddress", "structs.ServiceAddress", [
    go.Field("Address", STRING), go.Field("Port", INT)])
NODE_SERVICE = go.Struct("NodeService", "structs.NodeService", [
    go.Field("Kind", go.String("structs.ServiceKind")), go.Field("ID", STRING), go.Field("Service", STRING),
    go.Field("Tags", STRINGS), go.Field("Address", STRING), go.Field("TaggedAddresses", go.Map(SERVICE_ADDRESS)),
    go.Field("Meta", STRING_MAP), go.Field("Port", INT), go.Field("SocketPath", STRING),
    go.Field("Weights", go.Struct("Weights", "structs.Weights", [
        go.Field("Passing", INT), go.Field("Warning", INT)])),
    go.Field("EnableTagOverride", BOOL), go.Field("Proxy", ANY), go.Field("Connect", ANY),
], pointer=True)
HEALTH_CHECK = go.Struct("HealthCheck", "structs.HealthCheck", [
    go.Field("Node", STRING), go.Field("CheckID", go.String("types.CheckID")), go.Field("Name", STRING),
    go.Field("Status", STRING), go.Field("Notes", STRING), go.Field("Output", STRING), go.Field("ServiceID", STRING),
    go.Field("ServiceName", STRING), go.Field("ServiceTags", STRINGS), go.Field("Type", STRING),
    go.Field("Interval", STRING), go.Field("Timeout", STRING), go.Field("ExposedPort", INT),
    go.Field("Definition", ANY),
], pointer=True)
REGISTER_REQUEST = go.Struct("RegisterRequest", "structs.RegisterRequest", [
    go.Field("Datacenter", STRING), go.Field("ID", go.String("types.NodeID")), go.Field("Node", STRING),
    go.Field("Address", STRING), go.Field("TaggedAddresses", STRING_MAP), go.Field("NodeMeta", STRING_MAP),
    go.Field("Service", NODE_SERVICE), go.Field("Check", HEALTH_CHECK),
    go.Field("Checks", go.Slice(HEALTH_CHECK, "structs.HealthChecks")), go.Field("SkipNodeUpdate", BOOL),
    go.Field("Token", STRING),
])
DEREGISTER_REQUEST = go.Struct("DeregisterRequest", "structs.DeregisterRequest", [
    go.Field("Datacenter", STRING), go.Field("Node", STRING), go.Field("ServiceID", STRING),
    go.Field("CheckID", go.String("types.CheckID")), go.Field("Token", STRING),
])


def decode_body(call, schema):
    try:
        return go.decode(call.body(), schema)
    except go.GoError as error:
        raise BadRequest("Request decode failed: %s" % error)


def node_meta_filters(call):
    """``?node-meta=key:value`` (repeatable), as Consul's parseMetaFilter."""
    filters = {}
    for item in call.params.get_all("node-meta"):
        key, _, value = item.partition(":")
        filters[key] = value
    return filters


def read_args(call, agent_node=None, **args):
    """An RPC read's arguments: the common options, ``?filter``, ``?node-meta``, ``?near``."""
    options = call.read_options()
    args.update(Datacenter=options.datacenter, QueryOptions=options.as_rpc(), Filter=call.params.get("filter", ""))
    meta = node_meta_filters(call)
    if meta:
        args["NodeMetaFilters"] = meta
    near = call.params.get("near")
    if near:
        args["Source"] = {"Node": agent_node if near == "_agent" and agent_node else near,
                          "Datacenter": options.datacenter}
    return args


def tag_args(call):
    tags = call.params.get_all("tag")
    return {"ServiceTags": tags, "TagFilter": bool(tags)}


def _name(call, prefix, missing):
    name = call.path[len(prefix):]
    if not name:
        raise BadRequest(missing)
    return name


def render_json(cache, call, kind, payload, shape):
    """``shape(payload)`` as JSON, rendered once per payload object."""
    call.request.setHeader(b"content-type", b"application/json")

    def render():
        value = shape(payload)
        text = go_json.marshal_indent(value, "    ") if call.pretty else go_json.marshal(value)
        return text.encode("utf-8")

    return cache.body(kind, call.pretty, payload, render)


def answer_read(endpoint, call, method, args, payload_field, shape, wan=None):
    """The one path of catalog and health reads: from the servers, or from
    the agent cache with ``?cached``; query headers; JSON rendered once.
    ``wan``: how the payload is translated when it comes from another
    datacenter and the agent has translate_wan_addrs."""
    if wan is not None and endpoint.translator.applies(args["Datacenter"]):
        shape = _translated(shape, wan)

    def answer(reply):
        call.query_meta(reply, effective_consistency=True)
        return render_json(endpoint.renders, call, method, reply[payload_field], shape)

    if call.flag("cached") and method in CACHEABLE and endpoint.agent_cache is not None:
        if call.params.has("consistent"):
            raise BadRequest("Cannot specify ?cached with ?consistent, conflicting semantics.")

        def from_cache(outcome):
            reply, hit, age = outcome
            call.request.setHeader(b"x-cache", b"HIT" if hit else b"MISS")
            call.request.setHeader(b"age", b"%d" % age)
            return answer(reply)

        d = endpoint.agent_cache.get(method, args, max_age=_max_age(call))
        return d.addCallback(from_cache)
    return endpoint.rpc.call(method, args).addCallback(answer)


def _translated(shape, wan):
    return lambda payload: shape(wan(payload))


def _max_age(call):
    """``Cache-Control: max-age=N``, in seconds, or None."""
    header = (call.request.getHeader(b"cache-control") or b"").decode("latin-1")
    for directive in header.split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return int(value)
    return None


class CatalogEndpoint:
    def __init__(self, rpc, datacenter, node_name=None, agent_cache=None, translate_wan_addrs=False):
        self.rpc = rpc
        self.datacenter = datacenter
        self.node_name = node_name  # this agent's node, for ?near=_agent
        self.agent_cache = agent_cache
        self.translator = translate.Translator(datacenter, translate_wan_addrs)
        self.renders = RenderCache()

    def _read(self, call, method, payload_field, shape, wan=None, **args):
        args = read_args(call, self.node_name, **args)
        return answer_read(self, call, method, args, payload_field, shape, wan)

    # -- writes ----------------------------------------------------------------

    def register(self, call):
        args = decode_body(call, REGISTER_REQUEST)
        self._defaults(call, args)
        service = args.get("Service")
        if service is not None and "Weights" not in service:
            service["Weights"] = {"Passing": 1, "Warning": 1}
        return self.rpc.call("Catalog.Register", args).addCallback(lambda _: json_body(call.request, True))

    def deregister(self, call):
        args = decode_body(call, DEREGISTER_REQUEST)
        self._defaults(call, args)
        return self.rpc.call("Catalog.Deregister", args).addCallback(lambda _: json_body(call.request, True))

    def _defaults(self, call, args):
        args["Datacenter"] = args.get("Datacenter") or call.params.get("dc") or self.datacenter
        token = call.write_args()["Token"]
        if token:
            args["Token"] = token

    # -- reads ------------------------------------------------------------------

    def datacenters(self, call):
        d = self.rpc.call("Catalog.ListDatacenters", {})
        return d.addCallback(lambda names: json_body(call.request, names, call.pretty))

    def nodes(self, call):
        return self._read(call, "Catalog.ListNodes", "Nodes", lambda nodes: [shapes.node(n) for n in nodes],
                          wan=lambda nodes: [translate.node(n) for n in nodes])

    def services(self, call):
        return self._read(call, "Catalog.ListServices", "Services", lambda services: services)

    def service(self, call):
        name = _name(call, "/v1/catalog/service/", "Missing service name")
        return self._read(call, "Catalog.ServiceNodes", "ServiceNodes",
                          lambda entries: [shapes.service_node(s) for s in entries],
                          wan=lambda entries: [translate.service_node(s) for s in entries],
                          ServiceName=name, **tag_args(call))

    def node(self, call):
        name = _name(call, "/v1/catalog/node/", "Missing node name")

        def shape(found):
            if found is None:
                return None
            services = {sid: shapes.node_service(s, tags_default=[]) for sid, s in found["Services"].items()}
            return {"Node": shapes.node(found["Node"]), "Services": services}

        return self._read(call, "Catalog.NodeServices", "NodeServices", shape, wan=translate.node_services, Node=name)

    def node_services(self, call):
        name = _name(call, "/v1/catalog/node-services/", "Missing node name")

        def shape(found):
            if found is None:
                return {"Node": None, "Services": []}
            return {"Node": shapes.node(found["Node"]),
                    "Services": [shapes.node_service(s, tags_default=[]) for s in found["Services"]]}

        return self._read(call, "Catalog.NodeServiceList", "NodeServices", shape, wan=translate.node_service_list,
                          Node=name)


class HealthEndpoint:
    def __init__(self, rpc, node_name=None, agent_cache=None, translator=None):
        self.rpc = rpc
        self.node_name = node_name
        self.agent_cache = agent_cache
        self.translator = translator or translate.Translator("", False)
        self.renders = RenderCache()

    def _checks(self, call, method, **args):
        args = read_args(call, self.node_name, **args)
        return answer_read(self, call, method, args, "HealthChecks", lambda checks: [shapes.check(c) for c in checks])

    def node(self, call):
        return self._checks(call, "Health.NodeChecks", Node=_name(call, "/v1/health/node/", "Missing node name"))

    def checks(self, call):
        name = _name(call, "/v1/health/checks/", "Missing service name")
        return self._checks(call, "Health.ServiceChecks", ServiceName=name)

    def state(self, call):
        return self._checks(call, "Health.ChecksInState", State=_name(call, "/v1/health/state/", "Missing check state"))

    def service(self, call):
        name = _name(call, "/v1/health/service/", "Missing service name")
        args = read_args(call, self.node_name, ServiceName=name, PassingOnly=_passing(call), **tag_args(call))
        return answer_read(self, call, "Health.ServiceNodes", args, "Nodes",
                           lambda entries: [shapes.check_service_node(e) for e in entries],
                           wan=lambda entries: [translate.check_service_node(e) for e in entries])


def _passing(call):
    """``?passing`` is true when present and empty, else Go's ParseBool of its value."""
    if not call.params.has("passing"):
        return False
    value = call.params.get("passing")
    if value == "":
        return True
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise BadRequest("Invalid value for ?passing")
