"""``translate_wan_addrs``: another datacenter's nodes and services by the
addresses they can be reached at from here.

With the option on, an answer about a remote datacenter (``?dc=``, a
prepared query's failover, a DNS question for ``.dc2.consul``) gives each
node's ``wan`` tagged address instead of its LAN one, and each service's
``wan`` tagged address and port where it has one. Answers about this
datacenter are never touched. As Consul's TranslateAddress, an IPv6 or IPv4
tagged address (``wan_ipv6``/``wan_ipv4``, else the ``lan_`` ones) comes
before the plain one. Each function returns new records; the ones it is
given may be shared (the agent cache, the render cache) and stay as they
are.
"""


def _pick(address, tagged, text_of):
    tagged = tagged or {}

    def tag(name, default=""):
        return text_of(tagged[name]) if name in tagged else default

    v4, v6 = tag("lan_ipv4"), tag("lan_ipv6")
    return tag("wan_ipv6", v6) or tag("wan_ipv4", v4) or tag("wan", address)


def node_address(address, tagged):
    """A node's address, from its string-valued TaggedAddresses."""
    return _pick(address, tagged, lambda value: value)


def service_address(address, tagged):
    """A service's address, from its TaggedAddresses of {Address, Port}."""
    return _pick(address, tagged, lambda value: value.get("Address") or "")


def service_port(port, tagged):
    wan = (tagged or {}).get("wan")
    return wan.get("Port") or port if wan else port


def node(record):
    return dict(record, Address=node_address(record["Address"], record.get("TaggedAddresses")))


def node_service(record):
    tagged = record.get("TaggedAddresses")
    return dict(record, Address=service_address(record["Address"], tagged), Port=service_port(record["Port"], tagged))


def service_node(entry):
    """A catalog/service entry: node and service fields side by side."""
    tagged = entry.get("ServiceTaggedAddresses")
    return dict(entry, Address=node_address(entry["Address"], entry.get("TaggedAddresses")),
                ServiceAddress=service_address(entry["ServiceAddress"], tagged),
                ServicePort=service_port(entry["ServicePort"], tagged))


def check_service_node(entry):
    """A health/service or prepared query entry."""
    return dict(entry, Node=node(entry["Node"]), Service=node_service(entry["Service"]))


def node_services(found):
    """catalog/node's {Node, Services: {id: service}} (None when no such node)."""
    if found is None:
        return None
    services = {sid: node_service(s) for sid, s in found["Services"].items()}
    return dict(found, Node=node(found["Node"]), Services=services)


def node_service_list(found):
    """catalog/node-services' {Node, Services: [service]}."""
    if found is None:
        return None
    return dict(found, Node=node(found["Node"]), Services=[node_service(s) for s in found["Services"]])


class Translator:
    """Whether an answer from ``datacenter`` is translated, for an agent in
    ``local`` with the option ``enabled``."""

    def __init__(self, local, enabled):
        self.local = local
        self.enabled = enabled

    def applies(self, datacenter):
        return self.enabled and bool(datacenter) and datacenter != self.local
