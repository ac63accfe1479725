"""Catalog records as Consul's HTTP endpoints write them.

The state store keeps records with Consul's field names; the HTTP layer
adds what Go's encoder and each endpoint add on the way out: zero-valued
structs (``Proxy``, ``Connect``) written in full, ``omitempty`` fields left
out when empty, and the endpoint's own fix-ups (Consul turns a null tag
list into ``[]`` on some endpoints and not others; the recorded answers say
which).
"""

EMPTY_PROXY = {"Mode": "", "MeshGateway": {}, "Expose": {}}

NODE_FIELDS = ("ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex")


def node(record):
    return {field: record[field] for field in NODE_FIELDS}


def node_service(record, tags_default=None):
    """A NodeService (catalog/node, health/service): Kind, TaggedAddresses
    and SocketPath only when set."""
    out = {}
    if record["Kind"]:
        out["Kind"] = record["Kind"]
    out["ID"] = record["ID"]
    out["Service"] = record["Service"]
    out["Tags"] = record["Tags"] if record["Tags"] is not None else tags_default
    out["Address"] = record["Address"]
    if record["TaggedAddresses"]:
        out["TaggedAddresses"] = record["TaggedAddresses"]
    out["Meta"] = record["Meta"]
    out["Port"] = record["Port"]
    if record["SocketPath"]:
        out["SocketPath"] = record["SocketPath"]
    out["Weights"] = record["Weights"]
    out["EnableTagOverride"] = record["EnableTagOverride"]
    out["Proxy"] = record["Proxy"] or EMPTY_PROXY
    out["Connect"] = record["Connect"] or {}
    out["CreateIndex"] = record["CreateIndex"]
    out["ModifyIndex"] = record["ModifyIndex"]
    return out


def service_node(entry):
    """A catalog/service entry, with Consul's empty tags and meta."""
    out = dict(entry)
    if out["ServiceTags"] is None:
        out["ServiceTags"] = []
    if out["ServiceMeta"] is None:
        out["ServiceMeta"] = {}
    if not out["ServiceTaggedAddresses"]:
        del out["ServiceTaggedAddresses"]
    out["ServiceProxy"] = out["ServiceProxy"] or EMPTY_PROXY
    out["ServiceConnect"] = out["ServiceConnect"] or {}
    return out


def check(record):
    """A HealthCheck; health endpoints write null service tags as []."""
    if record["ServiceTags"] is None:
        return dict(record, ServiceTags=[])
    return record


def check_service_node(entry):
    return {
        "Node": node(entry["Node"]),
        "Service": node_service(entry["Service"], tags_default=[]),
        "Checks": [check(c) for c in entry["Checks"]],
    }
