"""``<query>.query[.<dc>].consul``: DNS answers from executing a prepared
query (Consul 1.10's ``preparedQueryLookup``).

The query is executed for every question (``PreparedQuery.Execute``, with
this agent as the asker, for ``Near: _agent``, and the client subnet's
address, for ``_ip``); nothing of the answer is kept, as Consul keeps
nothing without ``dns_config.use_cache``. The records are those of a
service lookup, in the order the servers gave (already shuffled, or
sorted by distance), for the datacenter the answer came from (a failover
answers with another). The TTL is the query's ``DNS.TTL``, else the
agent's ``service_ttl`` for the service. An unknown query, or one without
instances, is NXDOMAIN; any other failure SERVFAIL.
"""

import ipaddress

from twisted.names import dns

from pyconsul.core import translate
from pyconsul.dns import answers
from pyconsul.golang import duration
from pyconsul.logs import Logger

QUERY_NOT_FOUND = "Query not found"


def ecs_address(ecs):
    """The address of a client subnet option, as Consul writes it, or ""."""
    if not ecs:
        return ""
    family, _, address = ecs
    width = {1: 4, 2: 16}.get(family)
    if width is None:
        return ""
    return str(ipaddress.ip_address(address.ljust(width, b"\0")))


class PreparedQueries:
    """Executes prepared queries for the DNS interface."""

    log = Logger()

    def __init__(self, rpc, datacenter, node_name, allow_stale=True, max_stale=None, segment="",
                 translate_wan_addrs=False):
        self.rpc = rpc
        self.datacenter = datacenter
        self.translator = translate.Translator(datacenter, translate_wan_addrs)
        self.node_name = node_name
        self.allow_stale = allow_stale
        self.max_stale = max_stale  # seconds
        self.segment = segment

    def execute(self, name, datacenter=None, source_ip=""):
        """A Deferred of the PreparedQueryExecuteResponse for ``name``."""
        args = {
            "Datacenter": datacenter or self.datacenter,
            "QueryIDOrName": name,
            "Source": {"Ip": source_ip} if source_ip else {},
            "Agent": {"Datacenter": self.datacenter, "Segment": self.segment, "Node": self.node_name},
            "QueryOptions": {"AllowStale": self.allow_stale},
        }

        def fresh_enough(reply):
            too_old = (self.allow_stale and self.max_stale is not None
                       and reply.get("LastContact", 0) / 1000.0 > self.max_stale)
            if too_old:
                self.log.warn("dns: Query results too stale, re-requesting")
                retry = dict(args, QueryOptions={"AllowStale": False})
                return self.rpc.call("PreparedQuery.Execute", retry).addCallback(translated)
            return translated(reply)

        def translated(reply):
            if self.translator.applies(reply.get("Datacenter")):
                nodes = [translate.check_service_node(entry) for entry in reply.get("Nodes") or []]
                return dict(reply, Nodes=nodes)
            return reply

        return self.rpc.call("PreparedQuery.Execute", args).addCallback(fresh_enough)


def query_ttl(reply, settings, log=None):
    """The answer's TTL in seconds: the query's DNS.TTL, else service_ttl."""
    text = (reply.get("DNS") or {}).get("TTL") or ""
    if not text:
        return settings.ttl_for_service(reply.get("Service") or "")
    try:
        return max(duration.parse_duration(text), 0) // duration.SECOND
    except duration.DurationError:
        if log is not None:
            log.warn("dns: Failed to parse TTL '{ttl}' for prepared query, ignoring", ttl=text)
        return 0


def query_answer(qname, qtype, lookup, reply, settings, now, log=None):
    """The answer to ``qname`` from an execute reply: its instances as a
    service lookup gives them, no further health filtering, in their order."""
    domain = lookup.domain
    nodes = reply.get("Nodes") or []
    if not nodes:
        return answers.nxdomain(domain, settings, now)
    ttl = query_ttl(reply, settings, log)
    datacenter = reply.get("Datacenter") or settings.datacenter
    if qtype == dns.SRV:
        answer = answers.Answer(items=answers._srv_items(qname, nodes, datacenter, domain, ttl, settings))
    else:
        answer = answers._address_answer(qname, qtype, nodes, ttl, settings)
    answer.shuffle = False  # the servers' order: shuffled there, or sorted by distance
    if not answer.items:
        return answers.no_records(domain, settings, now)
    return answer


def failed_answer(failure, lookup, settings, now):
    """An unknown query is NXDOMAIN; anything else SERVFAIL."""
    message = getattr(failure.value, "message", None) or str(failure.value)
    if message == QUERY_NOT_FOUND:
        return answers.nxdomain(lookup.domain, settings, now)
    return answers.server_failure()
