"""/v1/catalog and /v1/health: registering nodes, services and checks, and
asking where the (healthy) instances of a service are."""

from pyconsul.golang import gostruct
from pyconsul.golang.gostruct import BOOL, INT, STRING, ANY, List, Map, StringMap, Struct
from pyconsul.http import shapes
from pyconsul.http.request import BadRequest
from pyconsul.http.response import json_body

# The request bodies as Consul's Go structs declare them (structs.RegisterRequest...).
SERVICE_ADDRESS = Struct("structs.ServiceAddress", {"Address": STRING, "Port": INT})
NODE_SERVICE = Struct("structs.NodeService", {
    "Kind": STRING, "ID": STRING, "Service": STRING, "Tags": List(STRING), "Address": STRING,
    "TaggedAddresses": Map(SERVICE_ADDRESS), "Meta": StringMap(), "Port": INT, "SocketPath": STRING,
    "Weights": Struct("structs.Weights", {"Passing": INT, "Warning": INT}), "EnableTagOverride": BOOL,
    "Proxy": ANY, "Connect": ANY,
})
HEALTH_CHECK = Struct("structs.HealthCheck", {
    "Node": STRING, "CheckID": STRING, "Name": STRING, "Status": STRING, "Notes": STRING, "Output": STRING,
    "ServiceID": STRING, "ServiceName": STRING, "ServiceTags": List(STRING), "Type": STRING,
    "Interval": STRING, "Timeout": STRING, "ExposedPort": INT, "Definition": ANY,
})
REGISTER_REQUEST = Struct("structs.RegisterRequest", {
    "Datacenter": STRING, "ID": STRING, "Node": STRING, "Address": STRING, "TaggedAddresses": StringMap(),
    "NodeMeta": StringMap(), "Service": NODE_SERVICE, "Check": HEALTH_CHECK, "Checks": List(HEALTH_CHECK),
    "SkipNodeUpdate": BOOL, "Token": STRING,
})
DEREGISTER_REQUEST = Struct("structs.DeregisterRequest", {
    "Datacenter": STRING, "Node": STRING, "ServiceID": STRING, "CheckID": STRING, "Token": STRING,
})


def decode_body(call, schema):
    try:
        return gostruct.decode(call.body(), schema) or {}
    except gostruct.DecodeError as error:
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


class CatalogEndpoint:
    def __init__(self, rpc, datacenter, node_name=None):
        self.rpc = rpc
        self.datacenter = datacenter
        self.node_name = node_name  # this agent's node, for ?near=_agent

    def _read(self, call, method, render, **args):
        d = self.rpc.call(method, read_args(call, self.node_name, **args))

        def answer(reply):
            call.query_meta(reply, effective_consistency=True)
            return json_body(call.request, render(reply), call.pretty)

        return d.addCallback(answer)

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
        return self._read(call, "Catalog.ListNodes", lambda r: [shapes.node(n) for n in r["Nodes"]])

    def services(self, call):
        return self._read(call, "Catalog.ListServices", lambda r: r["Services"])

    def service(self, call):
        name = _name(call, "/v1/catalog/service/", "Missing service name")
        return self._read(call, "Catalog.ServiceNodes",
                          lambda r: [shapes.service_node(s) for s in r["ServiceNodes"]],
                          ServiceName=name, **tag_args(call))

    def node(self, call):
        name = _name(call, "/v1/catalog/node/", "Missing node name")

        def render(reply):
            found = reply["NodeServices"]
            if found is None:
                return None
            services = {sid: shapes.node_service(s, tags_default=[]) for sid, s in found["Services"].items()}
            return {"Node": shapes.node(found["Node"]), "Services": services}

        return self._read(call, "Catalog.NodeServices", render, Node=name)

    def node_services(self, call):
        name = _name(call, "/v1/catalog/node-services/", "Missing node name")

        def render(reply):
            found = reply["NodeServices"]
            if found is None:
                return {"Node": None, "Services": []}
            return {"Node": shapes.node(found["Node"]),
                    "Services": [shapes.node_service(s, tags_default=[]) for s in found["Services"]]}

        return self._read(call, "Catalog.NodeServiceList", render, Node=name)


class HealthEndpoint:
    def __init__(self, rpc, node_name=None):
        self.rpc = rpc
        self.node_name = node_name

    def _checks(self, call, method, **args):
        d = self.rpc.call(method, read_args(call, self.node_name, **args))

        def answer(reply):
            call.query_meta(reply, effective_consistency=True)
            return json_body(call.request, [shapes.check(c) for c in reply["HealthChecks"]], call.pretty)

        return d.addCallback(answer)

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
        d = self.rpc.call("Health.ServiceNodes", args)

        def answer(reply):
            call.query_meta(reply, effective_consistency=True)
            return json_body(call.request, [shapes.check_service_node(e) for e in reply["Nodes"]], call.pretty)

        return d.addCallback(answer)


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
