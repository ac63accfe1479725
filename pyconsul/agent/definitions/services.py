"""Service definitions: read from ``PUT /v1/agent/service/register``, and
the shapes the agent and the catalog show.

A parsed ``ServiceDefinition`` carries what Consul's agent derives on
registration: the ID defaults to the name, the weights to 1/1, an IPv4 (or
IPv6) address adds the ``lan_ipv4``/``wan_ipv4`` (``_ipv6``) tagged
addresses, and its checks get their IDs (``service:<id>``, numbered from 1
when there are several) and names (``Service '<name>' check``).
"""

import attr

from pyconsul.agent.definitions import validate
from pyconsul.agent.definitions.checks import HealthCheck, check_type_from_json
from pyconsul.agent.definitions.errors import SERVER_ERROR, DefinitionError
from pyconsul.golang import gostruct as go
from pyconsul.golang.duration import format_duration

# Kinds that exist only for Connect, which pyconsul does not implement.
CONNECT_KINDS = frozenset(("connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway"))


@attr.s(frozen=True, slots=True)
class ServiceAddress:
    address: str = attr.ib(default="")
    port: int = attr.ib(default=0)

    def to_json(self):
        return {"Address": self.address, "Port": self.port}


@attr.s(frozen=True, slots=True)
class Weights:
    passing: int = attr.ib(default=1)
    warning: int = attr.ib(default=1)

    def to_json(self):
        return {"Passing": self.passing, "Warning": self.warning}


def sorted_pairs(mapping):
    # Go writes maps with sorted keys; keeping them sorted makes equal
    # definitions compare equal too.
    return tuple(sorted(mapping.items())) if mapping else ()


@attr.s(frozen=True, slots=True, kw_only=True)
class ServiceDefinition:
    """A registered service; maps are sorted ``((key, value), ...)`` tuples."""

    id: str = attr.ib()
    name: str = attr.ib()
    kind: str = attr.ib(default="")
    tags: tuple = attr.ib(default=(), converter=tuple)
    address: str = attr.ib(default="")
    tagged_addresses: tuple = attr.ib(default=())
    meta: tuple = attr.ib(default=())
    port: int = attr.ib(default=0)
    socket_path: str = attr.ib(default="")
    weights: Weights = attr.ib(default=Weights())
    enable_tag_override: bool = attr.ib(default=False)
    token: str = attr.ib(default="")
    checks: tuple = attr.ib(default=(), converter=tuple)  # CheckDefinitions, in order

    def health_checks(self, node):
        """``((HealthCheck, CheckDefinition), ...)`` for the service's checks,
        as addServiceInternal builds them: Interval and Timeout appear only
        when set (unlike check/register's "0s")."""
        result = []
        for number, check in enumerate(self.checks, 1):
            check_id = check.id
            if not check_id:
                check_id = "service:%s" % self.id
                if len(self.checks) > 1:
                    check_id += ":%d" % number
            health = HealthCheck(
                node=node,
                check_id=check_id,
                name=check.name or "Service '%s' check" % self.name,
                status=check.status or validate.CRITICAL,
                notes=check.notes,
                service_id=self.id,
                service_name=self.name,
                service_tags=self.tags,
                type=check.type,
                interval=format_duration(check.interval) if check.interval else "",
                timeout=format_duration(check.timeout) if check.timeout else "",
            )
            result.append((health, check))
        return tuple(result)

    def _tagged_addresses_json(self):
        return {name: address.to_json() for name, address in self.tagged_addresses}

    def to_agent_json(self, datacenter, content_hash=None):
        """api.AgentService: the value of /v1/agent/services and /v1/agent/service/<id>."""
        shape = {}
        if self.kind:
            shape["Kind"] = self.kind
        shape.update({
            "ID": self.id,
            "Service": self.name,
            "Tags": list(self.tags),
            "Meta": dict(self.meta),
            "Port": self.port,
            "Address": self.address,
            "SocketPath": self.socket_path,
        })
        if self.tagged_addresses:
            shape["TaggedAddresses"] = self._tagged_addresses_json()
        shape["Weights"] = self.weights.to_json()
        shape["EnableTagOverride"] = self.enable_tag_override
        if content_hash:
            shape["ContentHash"] = content_hash
        if datacenter:
            shape["Datacenter"] = datacenter
        return shape

    def to_registration(self):
        """api.AgentServiceRegistration, as the consul CLI sends a service read
        from a file: Go's field order, empty fields left out, the weights
        always given (the loader fills them in), every check in Checks."""
        shape = {}
        for key, value in (("Kind", self.kind), ("ID", self.id), ("Name", self.name), ("Tags", list(self.tags)),
                           ("Port", self.port), ("Address", self.address), ("SocketPath", self.socket_path)):
            if value:
                shape[key] = value
        if self.tagged_addresses:
            shape["TaggedAddresses"] = self._tagged_addresses_json()
        if self.enable_tag_override:
            shape["EnableTagOverride"] = True
        if self.meta:
            shape["Meta"] = dict(self.meta)
        shape["Weights"] = self.weights.to_json()
        shape["Check"] = None
        shape["Checks"] = [check.to_registration() for check in self.checks] or None
        return shape

    def to_node_service(self):
        """structs.NodeService, the service as anti-entropy registers it in the
        catalog (Consul's Catalog.Register takes this shape)."""
        shape = {}
        if self.kind:
            shape["Kind"] = self.kind
        shape.update({
            "ID": self.id,
            "Service": self.name,
            "Tags": list(self.tags),
            "Address": self.address,
        })
        if self.tagged_addresses:
            shape["TaggedAddresses"] = self._tagged_addresses_json()
        shape.update({"Meta": dict(self.meta), "Port": self.port})
        if self.socket_path:
            shape["SocketPath"] = self.socket_path
        shape.update({
            "Weights": self.weights.to_json(),
            "EnableTagOverride": self.enable_tag_override,
            "Proxy": {"Mode": "", "MeshGateway": {}, "Expose": {}},
            "Connect": {},
        })
        return shape


def derived_tagged_addresses(address, port, given):
    """addServiceInternal's defaults: an IP address is also the lan_ and wan_
    address of its family, unless those are given."""
    addresses = dict(given)
    family = validate.parse_ip(address)
    if family is not None:
        for kind in ("lan_ipv", "wan_ipv"):
            addresses.setdefault(kind + family, ServiceAddress(address, port))
    return sorted_pairs(addresses)


# -- Go's JSON shape ---------------------------------------------------------------------
#
# Consul's agent endpoints read bodies with lib.DecodeJSON, a json.Decoder that
# disallows unknown fields. Service and check definitions have UnmarshalJSON
# methods that decode the same bytes again into an "aux" struct, which adds the
# snake_case aliases and takes durations as strings or numbers.

_STRING = go.String()
_SERVICE_ADDRESS = go.Struct("ServiceAddress", "structs.ServiceAddress", [
    go.Field("Address", _STRING, "address"),
    go.Field("Port", go.Int(), "port"),
])
_TAGGED_ADDRESSES = go.Map(_SERVICE_ADDRESS, "map[string]structs.ServiceAddress")
_WEIGHTS = go.Struct("Weights", "structs.Weights", [
    go.Field("Passing", go.Int(), "passing"),
    go.Field("Warning", go.Int(), "warning"),
], pointer=True)

_FIELDS = [
    go.Field("enable_tag_override", go.Bool(), "enable_tag_override_snake"),
    go.Field("tagged_addresses", _TAGGED_ADDRESSES, "tagged_addresses_snake"),
    go.Field("Kind", go.String("structs.ServiceKind"), "kind"),
    go.Field("ID", _STRING, "id"),
    go.Field("Name", _STRING, "name"),
    go.Field("Tags", go.Slice(_STRING, "[]string"), "tags"),
    go.Field("Address", _STRING, "address"),
    go.Field("TaggedAddresses", _TAGGED_ADDRESSES, "tagged_addresses"),
    go.Field("Meta", go.Map(_STRING, "map[string]string"), "meta"),
    go.Field("Port", go.Int(), "port"),
    go.Field("SocketPath", _STRING, "socket_path"),
    go.Field("Check", go.Unmarshaler(check_type_from_json, "structs.CheckType"), "check"),
    go.Field("Checks", go.Slice(go.Unmarshaler(check_type_from_json, "*structs.CheckType", pointer=True),
                                "structs.CheckTypes"), "checks"),
    go.Field("Weights", _WEIGHTS, "weights"),
    go.Field("Token", _STRING, "token"),
    go.Field("EnableTagOverride", go.Bool(), "enable_tag_override"),
    # Connect's settings are taken whole and refused unless they ask for nothing.
    go.Field("Proxy", go.Any(), "proxy"),
    go.Field("Connect", go.Any(), "connect"),
]
SERVICE_AUX = go.Struct(
    "",
    'struct { EnableTagOverrideSnake bool "json:\\"enable_tag_override\\""; '
    'TaggedAddressesSnake map[string]structs.ServiceAddress "json:\\"tagged_addresses\\""; '
    "*structs.Alias }",
    _FIELDS,
)


def service_fields_from_json(value):
    """structs.ServiceDefinition.UnmarshalJSON, as a dict of what was given;
    raises GoError."""
    fields = dict(go.unmarshal(value, SERVICE_AUX, disallow_unknown_fields=True))
    if fields.get("enable_tag_override_snake"):
        fields["enable_tag_override"] = True
    if not fields.get("tagged_addresses"):
        fields["tagged_addresses"] = fields.get("tagged_addresses_snake")
    return fields


def _sets_proxy(value):
    """A Proxy other than null or {} configures a Connect proxy."""
    return value is not None and not (isinstance(value, go.JSONObject) and not value.pairs)


def _sets_connect(value):
    """Connect asks for something if Native is true or a sidecar is given
    (its other members Consul ignores)."""
    if value is None:
        return False
    if not isinstance(value, go.JSONObject):
        return True
    for key, item in value.pairs:
        if go.fold_equal("Native", key) and item is not False and item is not None:
            return True
        if (go.fold_equal("SidecarService", key) or key == "sidecar_service") and item is not None:
            return True
    return False


def _connect_refusal(fields):
    kind = fields.get("kind") or ""
    if kind in CONNECT_KINDS:
        return "pyconsul does not support Connect: a service of kind %s cannot be registered" % kind
    if _sets_proxy(fields.get("proxy")):
        return "pyconsul does not support Connect: a service cannot set Proxy"
    if _sets_connect(fields.get("connect")):
        return "pyconsul does not support Connect: a service cannot set Connect"
    return None


def _service_checks(fields):
    """The service's checks (Check first, unless it sets nothing, then Checks)."""
    checks = []
    single = fields.get("check")
    if single is not None and not single[1]:
        checks.append(single[0])
    for entry in fields.get("checks") or ():
        # A null entry is a nil pointer, on which Consul's agent panics; here
        # it is an empty check, refused as one.
        checks.append(entry[0] if entry is not None else check_type_from_json(None)[0])
    return checks


def _addresses(mapping):
    return {name: ServiceAddress(item.get("address", ""), item.get("port", 0)) for name, item in
            (mapping or {}).items()}


def parse_service_register(body):
    """The service of ``PUT /v1/agent/service/register``, with Consul's
    derived values; raises DefinitionError (400, or 500 where Consul's agent
    refuses it after the endpoint has accepted it).

    Whether script checks may run is the agent's decision (see
    ``script_check_refusal``).
    """
    try:
        value = go.first_value(body)
        fields = {} if value is None else service_fields_from_json(value)
    except go.GoError as error:
        raise DefinitionError("Request decode failed: %s" % error) from None
    name = fields.get("name") or ""
    if name == "":
        raise DefinitionError("Missing service name")
    address = fields.get("address") or ""
    if address in ("0.0.0.0", "::", "[::]"):
        raise DefinitionError("Invalid service address")
    given_weights = fields.get("weights")
    if given_weights is not None:
        problem = validate.weights_problem(given_weights.get("passing", 0), given_weights.get("warning", 0))
        if problem is not None:
            raise DefinitionError("Invalid Weights: %s" % problem)
    meta = fields.get("meta") or {}
    problem = validate.meta_problem(tuple(meta.items()))
    if problem is not None:
        raise DefinitionError("Invalid Service Meta: %s" % problem)
    refusal = _connect_refusal(fields)
    if refusal is not None:
        raise DefinitionError(refusal)
    checks = _service_checks(fields)
    for check in checks:
        problem = check.problem()
        if problem is not None:
            raise DefinitionError("Invalid check: %s" % problem)
    for check in checks:
        if check.status and not validate.valid_status(check.status):
            raise DefinitionError("Status for checks must 'passing', 'warning', 'critical'")
    tagged = sorted_pairs(_addresses(fields.get("tagged_addresses")))
    problem = validate.tagged_address_problem(tagged)
    if problem is not None:
        raise DefinitionError(problem, SERVER_ERROR)
    port = fields.get("port") or 0
    weights = Weights()
    if given_weights is not None:  # a field left out is 0, as in Go
        weights = Weights(given_weights.get("passing", 0), given_weights.get("warning", 0))
    return ServiceDefinition(
        id=fields.get("id") or name,
        name=name,
        kind=fields.get("kind") or "",
        tags=fields.get("tags") or (),
        address=address,
        tagged_addresses=derived_tagged_addresses(address, port, tagged),
        meta=sorted_pairs(meta),
        port=port,
        socket_path=fields.get("socket_path") or "",
        weights=weights,
        enable_tag_override=bool(fields.get("enable_tag_override")),
        token=fields.get("token") or "",
        checks=checks,
    )
