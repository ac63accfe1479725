"""The catalog as consul-template's templates see it: Go structs built from
the agent's JSON answers.

``service`` returns ``[]*dependency.HealthService``, ``services``
``[]*dependency.CatalogSnippet``, ``nodes`` ``[]*dependency.Node`` and
``node`` a ``*dependency.CatalogNode``, with the fields, field order (which
is how ``{{ . }}`` prints them), nil-ness and sort orders consul-template
gives them. The decoders here are pure: they take what
``json.loads`` made of an answer and build fresh values each time, so that a
template that sorts or changes a slice in place cannot touch the data a
watch compares its next answer with.

``HealthService`` is consul-template's, plus ``NodeDatacenter`` (from the
hashicorp/hcat fork of it, which Consul-Terraform-Sync templates use):
consul-template itself has no such field, and an extra field breaks no
template. ``Checks`` are the Consul API's ``HealthCheck`` structs (Consul
1.7's field set, which consul-template 0.25 builds against).
"""

from pyconsul.golang import duration as go_duration
from pyconsul.template.gotime import Duration
from pyconsul.template.values import GoMap, GoSlice, GoStruct, NilPointer, go_sort_key

HEALTH_PASSING = "passing"
HEALTH_WARNING = "warning"
HEALTH_CRITICAL = "critical"
HEALTH_MAINT = "maintenance"
NODE_MAINT = "_node_maintenance"
SERVICE_MAINT_PREFIX = "_service_maintenance:"


class Uint64(int):
    go_type = "uint64"


class ReadableDuration(Duration):
    """The API's ``ReadableDuration``: a time.Duration that prints as one."""

    go_type = "api.ReadableDuration"


class TypedMap(GoMap):
    """A Go map whose values are not interfaces (``map[string]string`` ...):
    ranging gives the values themselves, and a missing key's zero value is
    the element type's (``missingkey=zero``, ``index``)."""

    holds_interfaces = False
    go_type = "map[string]string"

    def zero(self):
        return ""


class ServiceAddressMap(TypedMap):
    go_type = "map[string]api.ServiceAddress"

    def zero(self):
        return ServiceAddress("", 0)


class HeaderMap(TypedMap):
    go_type = "map[string][]string"

    def zero(self):
        return GoSlice((), "[]string", nil=True)


def _struct(name, go_type, fields):
    """A GoStruct subclass with keyword construction, in Go's field order."""

    def __init__(self, *args, **kwargs):
        for field, value in zip(fields, args):
            setattr(self, field, value)
        for field in fields[len(args):]:
            setattr(self, field, kwargs[field])

    return type(name, (GoStruct,), {"go_type": go_type, "go_fields": fields, "__slots__": fields,
                                    "__init__": __init__})


AgentWeights = _struct("AgentWeights", "api.AgentWeights", ("Passing", "Warning"))
ServiceAddress = _struct("ServiceAddress", "api.ServiceAddress", ("Address", "Port"))
HealthCheckDefinition = _struct("HealthCheckDefinition", "api.HealthCheckDefinition", (
    "HTTP", "Header", "Method", "Body", "TLSSkipVerify", "TCP", "IntervalDuration", "TimeoutDuration",
    "DeregisterCriticalServiceAfterDuration", "Interval", "Timeout", "DeregisterCriticalServiceAfter",
))
HealthCheck = _struct("HealthCheck", "*api.HealthCheck", (
    "Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "ServiceTags",
    "Type", "Namespace", "Definition", "CreateIndex", "ModifyIndex",
))
HealthService = _struct("HealthService", "*dependency.HealthService", (
    "Node", "NodeID", "NodeAddress", "NodeDatacenter", "NodeTaggedAddresses", "NodeMeta", "ServiceMeta",
    "Address", "ServiceTaggedAddresses", "ID", "Name", "Tags", "Checks", "Status", "Port", "Weights",
))
CatalogSnippet = _struct("CatalogSnippet", "*dependency.CatalogSnippet", ("Name", "Tags"))
Node = _struct("Node", "*dependency.Node", ("ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta"))
CatalogNodeService = _struct("CatalogNodeService", "*dependency.CatalogNodeService", (
    "ID", "Service", "Tags", "Meta", "Port", "Address", "EnableTagOverride",
))
CatalogNode = _struct("CatalogNode", "*dependency.CatalogNode", ("Node", "Services"))


# -- pieces of JSON as Go values ----------------------------------------------------


def _text(value):
    return value if isinstance(value, str) else ""


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _string_map(value, cls=TypedMap, element=_text):
    """A JSON object as a typed map; null (or anything else) is a nil map."""
    if not isinstance(value, dict):
        return cls(nil=True)
    return cls((str(k), element(v)) for k, v in value.items())


def _strings(value, go_type="[]string"):
    """A JSON array of strings; null is a nil slice."""
    if not isinstance(value, list):
        return GoSlice((), go_type, nil=True)
    return GoSlice((_text(v) for v in value), go_type)


def service_tags(tags):
    """consul-template's deepCopyAndSortTags: a sorted copy, never nil."""
    found = [_text(t) for t in tags] if isinstance(tags, list) else []
    return GoSlice(sorted(found, key=go_sort_key), "dependency.ServiceTags")


def _weights(value):
    value = value if isinstance(value, dict) else {}
    return AgentWeights(_int(value.get("Passing")), _int(value.get("Warning")))


def _service_address(value):
    value = value if isinstance(value, dict) else {}
    return ServiceAddress(_text(value.get("Address")), _int(value.get("Port")))


def _duration(text):
    try:
        return go_duration.parse_duration(text) if isinstance(text, str) and text else 0
    except go_duration.DurationError:
        return 0


def _definition(value):
    value = value if isinstance(value, dict) else {}
    interval, timeout, deregister = (
        _duration(value.get(k)) for k in ("Interval", "Timeout", "DeregisterCriticalServiceAfter")
    )
    return HealthCheckDefinition(
        HTTP=_text(value.get("HTTP")),
        Header=_string_map(value.get("Header"), HeaderMap, _strings),
        Method=_text(value.get("Method")),
        Body=_text(value.get("Body")),
        TLSSkipVerify=value.get("TLSSkipVerify") is True,
        TCP=_text(value.get("TCP")),
        IntervalDuration=Duration(interval),
        TimeoutDuration=Duration(timeout),
        DeregisterCriticalServiceAfterDuration=Duration(deregister),
        Interval=ReadableDuration(interval),
        Timeout=ReadableDuration(timeout),
        DeregisterCriticalServiceAfter=ReadableDuration(deregister),
    )


def health_check(value):
    return HealthCheck(
        Node=_text(value.get("Node")),
        CheckID=_text(value.get("CheckID")),
        Name=_text(value.get("Name")),
        Status=_text(value.get("Status")),
        Notes=_text(value.get("Notes")),
        Output=_text(value.get("Output")),
        ServiceID=_text(value.get("ServiceID")),
        ServiceName=_text(value.get("ServiceName")),
        ServiceTags=_strings(value.get("ServiceTags")),
        Type=_text(value.get("Type")),
        Namespace=_text(value.get("Namespace")),
        Definition=_definition(value.get("Definition")),
        CreateIndex=Uint64(_int(value.get("CreateIndex"))),
        ModifyIndex=Uint64(_int(value.get("ModifyIndex"))),
    )


def aggregated_status(checks):
    """The API's HealthChecks.AggregatedStatus: maintenance > critical >
    warning > passing; no checks is passing; an unknown status is ""."""
    seen = set()
    for check in checks:
        if check.CheckID == NODE_MAINT or check.CheckID.startswith(SERVICE_MAINT_PREFIX):
            seen.add(HEALTH_MAINT)
            continue
        if check.Status not in (HEALTH_PASSING, HEALTH_WARNING, HEALTH_CRITICAL):
            return ""
        seen.add(check.Status)
    for status in (HEALTH_MAINT, HEALTH_CRITICAL, HEALTH_WARNING):
        if status in seen:
            return status
    return HEALTH_PASSING


# -- whole answers ---------------------------------------------------------------------


def _objects(value):
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def health_services(entries, accept, sort):
    """``/v1/health/service/<name>`` entries as HealthServices: those whose
    aggregated status ``accept`` takes, sorted by node then ID unless
    ``sort`` is false (``~near`` keeps the agent's order)."""
    found = []
    for entry in _objects(entries):
        node = entry.get("Node") if isinstance(entry.get("Node"), dict) else {}
        service = entry.get("Service") if isinstance(entry.get("Service"), dict) else {}
        checks = GoSlice((health_check(c) for c in _objects(entry.get("Checks"))), "api.HealthChecks")
        status = aggregated_status(checks)
        if not accept(status):
            continue
        tagged = service.get("TaggedAddresses")
        found.append(HealthService(
            Node=_text(node.get("Node")),
            NodeID=_text(node.get("ID")),
            NodeAddress=_text(node.get("Address")),
            NodeDatacenter=_text(node.get("Datacenter")),
            NodeTaggedAddresses=_string_map(node.get("TaggedAddresses")),
            NodeMeta=_string_map(node.get("Meta")),
            ServiceMeta=_string_map(service.get("Meta")),
            # The service's own address, else its node's.
            Address=_text(service.get("Address")) or _text(node.get("Address")),
            ServiceTaggedAddresses=_string_map(tagged, ServiceAddressMap, _service_address),
            ID=_text(service.get("ID")),
            Name=_text(service.get("Service")),
            Tags=service_tags(service.get("Tags")),
            Checks=checks,
            Status=status,
            Port=_int(service.get("Port")),
            Weights=_weights(service.get("Weights")),
        ))
    if sort:
        found.sort(key=lambda s: (go_sort_key(s.Node), go_sort_key(s.ID)))
    return GoSlice(found, "[]*dependency.HealthService")


def catalog_snippets(services):
    """``/v1/catalog/services`` (name -> tags) as CatalogSnippets by name;
    none at all is a nil slice, as consul-template's ``var`` slice."""
    services = services if isinstance(services, dict) else {}
    found = [CatalogSnippet(str(name), service_tags(tags)) for name, tags in services.items()]
    found.sort(key=lambda s: go_sort_key(s.Name))
    return GoSlice(found, "[]*dependency.CatalogSnippet", nil=True)


def node(value):
    return Node(
        ID=_text(value.get("ID")),
        Node=_text(value.get("Node")),
        Address=_text(value.get("Address")),
        Datacenter=_text(value.get("Datacenter")),
        TaggedAddresses=_string_map(value.get("TaggedAddresses")),
        Meta=_string_map(value.get("Meta")),
    )


def catalog_nodes(nodes, sort):
    """``/v1/catalog/nodes`` as Nodes, by name then address unless ``~near``."""
    found = [node(n) for n in _objects(nodes)]
    if sort:
        found.sort(key=lambda n: (go_sort_key(n.Node), go_sort_key(n.Address)))
    return GoSlice(found, "[]*dependency.Node")


def catalog_node(answer):
    """``/v1/catalog/node/<name>``: the node and its services by service
    name then ID. An unknown node (``null``) has a nil Node and no services."""
    if not isinstance(answer, dict) or not isinstance(answer.get("Node"), dict):
        return CatalogNode(NilPointer("*dependency.Node"),
                           GoSlice((), "[]*dependency.CatalogNodeService", nil=True))
    services = answer.get("Services") if isinstance(answer.get("Services"), dict) else {}
    found = [
        CatalogNodeService(
            ID=_text(s.get("ID")),
            Service=_text(s.get("Service")),
            Tags=service_tags(s.get("Tags")),
            Meta=_string_map(s.get("Meta")),
            Port=_int(s.get("Port")),
            Address=_text(s.get("Address")),
            EnableTagOverride=s.get("EnableTagOverride") is True,
        )
        for s in services.values() if isinstance(s, dict)
    ]
    found.sort(key=lambda s: (go_sort_key(s.Service), go_sort_key(s.ID)))
    return CatalogNode(node(answer["Node"]), GoSlice(found, "[]*dependency.CatalogNodeService"))
