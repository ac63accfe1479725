"""Catalog records as the state store keeps them: dicts with Consul's field names.

A node is what ``/v1/catalog/nodes`` lists (``structs.Node``), a service what
``/v1/catalog/node/<n>`` lists under ``Services`` (``structs.NodeService``),
a check what ``/v1/health/node/<n>`` lists (``structs.HealthCheck``). Keeping
Consul's shapes means the RPC wire, the filter language and the HTTP answers
all read the same records. Records are never changed once stored: a change
stores a new dict.

The functions here turn the parts of a register request into records, with
the defaults Consul's state store applies, and compare records the way
Consul decides whether a write changes anything.
"""

INDEX_FIELDS = ("CreateIndex", "ModifyIndex")

PASSING, WARNING, CRITICAL = "passing", "warning", "critical"
STATUSES = (PASSING, WARNING, CRITICAL)

SERF_CHECK_ID = "serfHealth"
SERF_CHECK_NAME = "Serf Health Status"
SERF_ALIVE_OUTPUT = "Agent alive and reachable"
SERF_FAILED_OUTPUT = "Agent not live or unreachable"
CONSUL_SERVICE = "consul"


def text_of(value):
    """A string field as Go decodes it: the string, or "" for anything else."""
    return value if isinstance(value, str) else ""


def int_of(value):
    """An integer field as Go decodes it: the integer (not a bool), or 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _map(value):
    return dict(value) if isinstance(value, dict) else None


def _strings(value):
    return list(value) if isinstance(value, list) else None


def node_record(request):
    """The node a register request describes (indexes are set when stored)."""
    return {
        "ID": text_of(request.get("ID")),
        "Node": request["Node"],
        "Address": text_of(request.get("Address")),
        "Datacenter": text_of(request.get("Datacenter")),
        "TaggedAddresses": _map(request.get("TaggedAddresses")),
        "Meta": _map(request.get("NodeMeta")),
        "CreateIndex": 0,
        "ModifyIndex": 0,
    }


def _weights(value):
    if not isinstance(value, dict):
        return {"Passing": 1, "Warning": 1}
    return {"Passing": int_of(value.get("Passing")), "Warning": int_of(value.get("Warning"))}


def service_record(service):
    """A NodeService from a register request's ``Service``."""
    name = text_of(service.get("Service"))
    return {
        "Kind": text_of(service.get("Kind")),
        "ID": text_of(service.get("ID")) or name,
        "Service": name,
        "Tags": _strings(service.get("Tags")),
        "Address": text_of(service.get("Address")),
        "TaggedAddresses": _map(service.get("TaggedAddresses")),
        "Meta": _map(service.get("Meta")),
        "Port": int_of(service.get("Port")),
        "SocketPath": text_of(service.get("SocketPath")),
        "Weights": _weights(service.get("Weights")),
        "EnableTagOverride": service.get("EnableTagOverride") is True,
        "Proxy": _map(service.get("Proxy")),
        "Connect": _map(service.get("Connect")),
        "CreateIndex": 0,
        "ModifyIndex": 0,
    }


def check_record(check, node):
    """A HealthCheck from a register request; its service fields are filled
    in by the table from the service it belongs to."""
    status = text_of(check.get("Status")) or CRITICAL
    return {
        "Node": text_of(check.get("Node")) or node,
        "CheckID": text_of(check.get("CheckID")) or text_of(check.get("Name")),
        "Name": text_of(check.get("Name")),
        "Status": status,
        "Notes": text_of(check.get("Notes")),
        "Output": text_of(check.get("Output")),
        "ServiceID": text_of(check.get("ServiceID")),
        "ServiceName": "",
        "ServiceTags": None,
        "Type": text_of(check.get("Type")),
        "Interval": text_of(check.get("Interval")),
        "Timeout": text_of(check.get("Timeout")),
        "ExposedPort": int_of(check.get("ExposedPort")),
        "Definition": _map(check.get("Definition")) or {},
        "CreateIndex": 0,
        "ModifyIndex": 0,
    }


def same(old, new):
    """Whether two records differ only in their indexes (no write needed)."""
    return all(old.get(k) == v for k, v in new.items() if k not in INDEX_FIELDS) and len(old) == len(new)


def stored(record, create_index, modify_index):
    return dict(record, CreateIndex=create_index, ModifyIndex=modify_index)
