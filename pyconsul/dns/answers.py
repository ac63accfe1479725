"""What Consul answers to a question, from the catalog data it needs.

Every function here is pure: the catalog entries come in as arguments
(health entries ``{"Node", "Service", "Checks"}``, node records), and the
result is an :class:`Answer` that does not yet know its transport. Shuffling
and trimming to fit happen when it is sent (see ``authority.render``), so
that one answer can serve every query until the catalog changes.
"""

import attr

from twisted.names import dns

from pyconsul.dns import names
from pyconsul.dns.records import (
    HOSTNAME,
    address_kind,
    address_records,
    ip_record,
    meta_records,
    ns_record,
    ptr_record,
    soa_record,
    srv_record,
)
from pyconsul.state.records import CRITICAL, PASSING, WARNING

MAX_NAMESERVERS = 3


@attr.s(frozen=True, slots=True)
class SOA:
    refresh: int = attr.ib(default=3600)
    retry: int = attr.ib(default=600)
    expire: int = attr.ib(default=86400)
    minimum: int = attr.ib(default=0)


@attr.s(frozen=True, slots=True)
class Settings:
    """What answering needs of the agent's configuration."""

    datacenter: str = attr.ib()
    domain: str = attr.ib(default="consul.")
    alt_domain: str = attr.ib(default="")
    node_ttl: float = attr.ib(default=0)
    service_ttl: dict = attr.ib(factory=dict)  # lower-case name, or prefix ending "*" -> seconds
    only_passing: bool = attr.ib(default=False)
    a_record_limit: int = attr.ib(default=0)
    udp_answer_limit: int = attr.ib(default=3)
    enable_truncate: bool = attr.ib(default=False)
    node_meta_txt: bool = attr.ib(default=True)
    compress: bool = attr.ib(default=True)
    recursion_available: bool = attr.ib(default=False)
    soa: SOA = attr.ib(factory=SOA)

    @classmethod
    def from_config(cls, config):
        dns_config = config.dns
        return cls(
            datacenter=config.datacenter,
            domain=config.domain,
            alt_domain=config.alt_domain,
            node_ttl=dns_config.node_ttl,
            service_ttl=dict(dns_config.service_ttl),
            only_passing=dns_config.only_passing,
            a_record_limit=dns_config.a_record_limit,
            udp_answer_limit=dns_config.udp_answer_limit,
            enable_truncate=dns_config.enable_truncate,
            node_meta_txt=dns_config.enable_additional_node_meta_txt,
            compress=not dns_config.disable_compression,
            recursion_available=bool(config.recursors),
            soa=SOA(dns_config.soa_refresh, dns_config.soa_retry, dns_config.soa_expire, dns_config.soa_min_ttl),
        )

    @property
    def domains(self):
        return (self.domain, self.alt_domain) if self.alt_domain else (self.domain,)

    def ttl_for_service(self, service):
        """``service_ttl``: the service's own entry, else the longest prefix
        pattern that matches (``*`` matches every service), else 0."""
        service = service.lower()
        if service in self.service_ttl:
            return self.service_ttl[service]
        best, ttl = -1, 0
        for pattern, seconds in self.service_ttl.items():
            if pattern.endswith("*") and service.startswith(pattern[:-1]) and len(pattern) > best:
                best, ttl = len(pattern), seconds
        return ttl


@attr.s(slots=True)
class Item:
    """One answer record, with the additional records that come with it
    (an SRV record's target addresses and its node's meta)."""

    record: dns.RRHeader = attr.ib()
    extras: tuple = attr.ib(default=())


@attr.s(slots=True)
class Answer:
    rcode: int = attr.ib(default=dns.OK)
    items: list = attr.ib(factory=list)
    authority: list = attr.ib(factory=list)
    additional: list = attr.ib(factory=list)  # not tied to one answer (name server glue)
    authoritative: bool = attr.ib(default=True)
    shuffle: bool = attr.ib(default=False)  # a new order for every query
    limit: int = attr.ib(default=0)  # answers kept after the shuffle; 0 keeps all
    trim: bool = attr.ib(default=True)  # cut to fit the transport, as Consul does
    edns: bool = attr.ib(default=True)  # an EDNS question gets an OPT record back
    holds_serial: bool = attr.ib(default=False)  # an SOA: its serial is the time
    recursion_available: bool | None = attr.ib(default=None)  # None: whether there are recursors
    truncated: bool = attr.ib(default=False)  # a recursor's answer said so

    @property
    def answers(self):
        return [item.record for item in self.items]


def response_domain(qname, settings):
    """The domain the question used: names in the answer are built in it."""
    lower = qname.lower()
    if settings.alt_domain and names.in_domain(lower, settings.alt_domain):
        return settings.alt_domain
    return settings.domain


def soa(domain, settings, now):
    return soa_record(domain, int(now), settings.soa, settings.soa.minimum)


def nxdomain(domain, settings, now):
    return Answer(rcode=dns.ENAME, authority=[soa(domain, settings, now)], holds_serial=True)


def no_records(domain, settings, now):
    """A known name with nothing of the type asked for."""
    return Answer(authority=[soa(domain, settings, now)], holds_serial=True)


def refused():
    return Answer(rcode=dns.EREFUSED, authoritative=False, edns=False)


def server_failure():
    """What Consul says when it cannot answer (no recursor could either)."""
    return Answer(rcode=dns.ESERVER, authoritative=False, recursion_available=True)


def not_implemented():
    return Answer(rcode=dns.ENOTIMP)


# -- health ------------------------------------------------------------------------


def aggregated_status(checks):
    statuses = {check["Status"] for check in checks}
    if "maintenance" in statuses or CRITICAL in statuses:
        return CRITICAL
    if WARNING in statuses:
        return WARNING
    if statuses <= {PASSING}:
        return PASSING
    return None


def healthy(entries, only_passing):
    """The instances DNS gives out: none of their checks critical (nor, with
    ``only_passing``, anything but passing)."""
    keep = []
    for entry in entries:
        statuses = [check["Status"] for check in entry["Checks"]]
        if CRITICAL in statuses or (only_passing and any(s != PASSING for s in statuses)):
            continue
        keep.append(entry)
    return keep


def weight(entry):
    """An SRV record's weight: the service's Weights for passing or warning."""
    weights = entry["Service"].get("Weights") or {"Passing": 1, "Warning": 1}
    status = aggregated_status(entry["Checks"])
    if status == PASSING:
        return weights.get("Passing", 1)
    if status == WARNING:
        return weights.get("Warning", 1)
    return 1 if status is None else 0


def _has_tag(entry, tag):
    return not tag or tag in {t.lower() for t in entry["Service"].get("Tags") or ()}


# -- lookups ------------------------------------------------------------------------


def service_answer(qname, qtype, lookup, entries, settings, now):
    """``[tag.]name.service``. ``entries`` are the service's health
    entries, or None when there is no such service."""
    domain = lookup.domain
    if entries is None:
        return nxdomain(domain, settings, now)
    instances = [e for e in healthy(entries, settings.only_passing) if _has_tag(e, lookup.tag)]
    if not instances:
        return nxdomain(domain, settings, now)
    ttl = settings.ttl_for_service(lookup.service)
    datacenter = lookup.datacenter or settings.datacenter
    if qtype == dns.SRV:
        answer = Answer(items=_srv_items(qname, instances, datacenter, domain, ttl, settings), shuffle=True)
    else:
        answer = _address_answer(qname, qtype, instances, ttl, settings)
    if not answer.items:
        return no_records(domain, settings, now)
    return answer


def _address_answer(qname, qtype, instances, ttl, settings):
    """A/AAAA/ANY: one record per distinct address; host names as a CNAME,
    and only when no instance has an IP address of the type asked."""
    items, cnames, seen = [], [], set()
    for entry in instances:
        address = entry["Service"].get("Address") or entry["Node"]["Address"]
        records = address_records(qname, address, qtype, ttl)
        if not records or address in seen:
            continue
        seen.add(address)
        (cnames if records[0].type == dns.CNAME else items).append(Item(records[0]))
    if items:
        return Answer(items=items, shuffle=True, limit=settings.a_record_limit)
    return Answer(items=cnames, shuffle=True, limit=1)


def _srv_items(qname, instances, datacenter, domain, ttl, settings):
    items, seen = [], set()
    for entry in instances:
        node, service = entry["Node"], entry["Service"]
        key = (node["Node"], service.get("Address") or "", service["Port"])
        if key in seen:
            continue
        seen.add(key)
        address = service.get("Address") or node["Address"]
        node_name = "%s.node.%s.%s" % (node["Node"], datacenter, domain)
        extras = []
        if address_kind(address) == HOSTNAME:
            target = address  # the host name itself: nothing to add
        else:
            target = node_name
            if address != node["Address"]:
                # An IP cannot be a target: name it in the addr domain.
                target = "%s.addr.%s.%s" % (names.hex_address(address), datacenter, domain)
            extras.append(ip_record(target, address, ttl))
            if settings.node_meta_txt:
                extras.extend(meta_records(node_name, node.get("Meta"), ttl))
        record = srv_record(qname, weight(entry), service["Port"], target, ttl)
        items.append(Item(record, tuple(extras)))
    return items


def node_answer(qname, qtype, lookup, node, settings, now):
    """``name.node``: the node's address, and its meta as TXT records (in the
    answer for TXT and ANY; as additional records for A and AAAA)."""
    if node is None:
        return nxdomain(lookup.domain, settings, now)
    ttl = settings.node_ttl
    answers = address_records(qname, node["Address"], qtype, ttl)
    meta = meta_records(qname, node.get("Meta"), ttl)
    additional = []
    if qtype in (dns.TXT, dns.ALL_RECORDS):
        answers += meta
    elif qtype in (dns.A, dns.AAAA) and settings.node_meta_txt:
        additional = meta
    return Answer(items=[Item(r) for r in answers], additional=additional)


def addr_answer(qname, lookup, settings):
    """``<hex>.addr``: the address in the name, whatever type was asked."""
    if lookup.address is None:
        return Answer()
    return Answer(items=[Item(ip_record(qname, lookup.address, settings.node_ttl))])


def nameservers(domain, entries, settings):
    """NS records for the domain: the healthy servers (the ``consul``
    service), at most three, and their addresses as glue."""
    ns, glue = [], []
    servers = [e for e in healthy(entries, settings.only_passing) if _valid_label(e["Node"]["Node"])]
    for entry in sorted(servers, key=lambda e: e["Node"]["Node"])[:MAX_NAMESERVERS]:
        node = entry["Node"]
        target = ("%s.node.%s.%s" % (node["Node"], node.get("Datacenter") or settings.datacenter, domain)).lower()
        ns.append(ns_record(domain, target, settings.node_ttl))
        glue.extend(address_records(target, node["Address"], dns.ALL_RECORDS, settings.node_ttl))
    return ns, glue


def _valid_label(name):
    """Consul leaves out of NS records a server whose name is no DNS label."""
    return bool(name) and all(c.isascii() and (c.isalnum() or c == "-") for c in name)


def apex_answer(qname, qtype, consul_entries, settings, now):
    """SOA and NS questions for any name of the domain."""
    domain = response_domain(qname, settings)
    ns, glue = nameservers(domain, consul_entries, settings)
    if qtype == dns.SOA:
        return Answer(items=[Item(soa(domain, settings, now))], authority=ns, additional=glue, holds_serial=True)
    return Answer(items=[Item(r) for r in ns], additional=glue)


def reverse_answer(qname, address, nodes, service_nodes, settings):
    """PTR: the first node with the address, else the first service
    instance with it as its service address; None when there is neither
    (the question then goes to the recursors)."""
    for node in nodes:
        if node["Address"] == address:
            target = "%s.node.%s.%s" % (node["Node"], node.get("Datacenter") or settings.datacenter, settings.domain)
            return Answer(items=[Item(ptr_record(qname, target, 0))])  # Consul's PTR records live 0 s
    for entry in service_nodes:
        if entry.get("ServiceAddress") == address:
            target = "%s.service.%s.%s" % (entry["ServiceName"], entry.get("Datacenter") or settings.datacenter,
                                           settings.domain)
            return Answer(items=[Item(ptr_record(qname, target, 0))])
    return None

