"""The ``.consul`` authority: a question in, the reply's bytes out.

:meth:`Authority.resolve` reads the name, fetches what the answer needs
from the catalog and builds the :class:`~pyconsul.dns.answers.Answer`;
:func:`render` shuffles, trims and encodes it for one query. A resolution
says what it was built from, so the fast path can keep it until then.
"""

import attr

from twisted.internet import defer
from twisted.names import dns

from pyconsul.dns import answers, names, queries, wire
from pyconsul.dns.answers import Answer, Item
from pyconsul.dns.trim import trim_tcp, trim_udp, udp_answer_cap
from pyconsul.dns.wire import encode_opt, encode_reply, flag_bytes, reply_length
from pyconsul.logs import Logger
from pyconsul.server.errors import NoPathToDatacenter
from pyconsul.state.records import CONSUL_SERVICE

UDP, TCP = "udp", "tcp"


@attr.s(slots=True)
class Question:
    """One query, as much of it as the reply depends on."""

    name: bytes = attr.ib()  # as asked (case kept), no trailing dot
    qtype: int = attr.ib()
    qclass: int = attr.ib(default=dns.IN)
    transport: str = attr.ib(default=UDP)
    message_id: int = attr.ib(default=0)
    opcode: int = attr.ib(default=dns.OP_QUERY)
    recursion_desired: bool = attr.ib(default=False)
    checking_disabled: bool = attr.ib(default=False)
    edns: bool = attr.ib(default=False)
    udp_size: int | None = attr.ib(default=None)  # advertised with EDNS
    ecs: tuple | None = attr.ib(default=None)  # (family, source prefix, address) of a client subnet option

    @property
    def section(self):
        return self.name, self.qtype, self.qclass


@attr.s(slots=True)
class Resolution:
    answer: Answer = attr.ib()
    # What the answer was built from (source.Dependency); None among them,
    # or cacheable False, means it must be built again for the next query.
    dependencies: list = attr.ib(factory=list)
    cacheable: bool = attr.ib(default=True)


def _no_path(failure):
    error = failure.value
    return isinstance(error, NoPathToDatacenter) or str(error) == "No path to datacenter"


class Authority:
    log = Logger()

    def __init__(self, settings, source, clock, recursors=None, queries=None):
        self.settings = settings
        self.source = source
        self.clock = clock
        self.recursors = recursors  # recursors.Recursors, or None
        self.queries = queries  # queries.PreparedQueries, or None

    def resolve(self, question):
        """A Deferred of a Resolution (fired at once when the catalog data is cached)."""
        name = question.name.decode("utf-8", "surrogateescape")
        lookup = names.parse(name, question.qtype == dns.SRV, self.settings.domains)
        if isinstance(lookup, names.Outside):
            if self.recursors is None:
                return defer.succeed(Resolution(answers.refused(), cacheable=False))
            return self._recurse(question)
        if isinstance(lookup, names.Reverse):
            return self._reverse(question, lookup)
        if question.qtype in (dns.SOA, dns.NS):
            return self._apex(question)
        if question.qtype == dns.AXFR:
            return defer.succeed(Resolution(answers.not_implemented()))
        now = self.clock.seconds()
        if isinstance(lookup, names.Service):
            d = self.source.service(lookup.service, lookup.datacenter)
            d.addCallback(self._built, answers.service_answer, question, lookup, now)
        elif isinstance(lookup, names.Node):
            d = self.source.node(lookup.node, lookup.datacenter)
            d.addCallback(self._built, answers.node_answer, question, lookup, now)
        elif isinstance(lookup, names.Addr):
            return defer.succeed(Resolution(answers.addr_answer(question.name, lookup, self.settings)))
        elif isinstance(lookup, names.PreparedQuery) and self.queries is not None:
            return self._prepared_query(question, lookup, now)
        else:  # Invalid, Unsupported (and PreparedQuery without a way to execute one)
            return defer.succeed(Resolution(answers.nxdomain(lookup.domain, self.settings, now)))
        return d.addErrback(self._failed, lookup, now)

    def _built(self, found, build, question, lookup, now):
        data, dependencies = found
        return Resolution(build(question.name, question.qtype, lookup, data, self.settings, now), dependencies)

    def _prepared_query(self, question, lookup, now):
        """Executed for every question: never kept by the fast path."""
        d = self.queries.execute(lookup.query, lookup.datacenter, queries.ecs_address(question.ecs))

        def built(reply):
            answer = queries.query_answer(question.name, question.qtype, lookup, reply, self.settings, now, self.log)
            return Resolution(answer, cacheable=False)

        def failed(failure):
            answer = queries.failed_answer(failure, lookup, self.settings, now)
            if answer.rcode != dns.ENAME:
                self.log.warn("DNS prepared query failed: {error}", error=failure.getErrorMessage())
            return Resolution(answer, cacheable=False)

        return d.addCallbacks(built, failed)

    def _failed(self, failure, lookup, now):
        if _no_path(failure):
            return Resolution(answers.nxdomain(lookup.domain, self.settings, now), cacheable=False)
        self.log.warn("DNS lookup failed: {error}", error=failure.getErrorMessage())
        return Resolution(answers.server_failure(), cacheable=False)

    def _apex(self, question):
        now = self.clock.seconds()
        d = self.source.service(CONSUL_SERVICE, None)

        def built(found):
            entries, dependencies = found
            answer = answers.apex_answer(question.name.decode("utf-8", "surrogateescape"), question.qtype,
                                         entries or [], self.settings, now)
            return Resolution(answer, dependencies)

        return d.addCallbacks(built, lambda failure: Resolution(answers.server_failure(), cacheable=False))

    def _reverse(self, question, lookup):
        """PTR: a node with the address, else a service instance with it as
        its service address, else the recursors' answer."""
        if lookup.address is None:
            return self._unknown_address(question)

        def from_nodes(found):
            nodes, dependencies = found
            answer = answers.reverse_answer(question.name, lookup.address, nodes, (), self.settings)
            if answer is not None:
                return Resolution(answer, dependencies)
            return self.source.service_nodes_at(lookup.address).addCallback(from_services)

        def from_services(service_nodes):
            answer = answers.reverse_answer(question.name, lookup.address, (), service_nodes, self.settings)
            if answer is not None:
                return Resolution(answer, cacheable=False)
            return self._unknown_address(question)

        def failed(failure):
            self.log.warn("DNS reverse lookup failed: {error}", error=failure.getErrorMessage())
            return Resolution(answers.server_failure(), cacheable=False)

        return self.source.nodes().addCallback(from_nodes).addErrback(failed)

    def _unknown_address(self, question):
        if self.recursors is None:
            return defer.succeed(Resolution(answers.server_failure(), cacheable=False))
        return self._recurse(question)

    def _recurse(self, question):
        return self.recursors.forward(question).addCallback(lambda answer: Resolution(answer, cacheable=False))


def render(answer, question, settings, rng, order=None):
    """The reply's bytes for one query: answers shuffled (or in ``order``,
    a list of item positions, for tests), cut to ``limit``, trimmed to fit
    the transport, and the OPT record added for an EDNS question."""
    items = answer.items
    count = min(len(items), answer.limit) if answer.limit else len(items)
    # Only the answers a UDP reply can keep need shuffling (3 of 1,000).
    cap = udp_answer_cap(question.udp_size if question.edns else None, settings.udp_answer_limit)
    needed = min(count, cap) if answer.trim and question.transport == UDP and cap is not None else count
    if order is not None:
        items = [items[i] for i in order][:needed]
    elif answer.shuffle and len(items) > 1:
        items = rng.sample(items, needed)
    else:
        items = items[:needed]
    records = [item.record for item in items]
    additional = [extra for item in items for extra in item.extras] + answer.additional
    records, additional, opt, truncated = fitted(answer, question, settings, records, additional, count)
    return encode_reply(
        question.message_id,
        reply_flags(answer, question, settings, truncated),
        question.section,
        records,
        answer.authority,
        additional,
        opt,
        compress=settings.compress,
    )


def fitted(answer, question, settings, records, additional, total=None):
    """The sections trimmed as Consul trims them, with the OPT record:
    ``(answers, additional, opt, truncated)``. Consul adds the OPT record
    to the additional section before it trims: it counts towards the size
    until a cut rebuilds that section without it."""
    truncated = answer.truncated
    opt = reply_opt(answer, question)
    if not answer.trim:
        return records, additional, opt, truncated
    opt_record = None
    if opt:
        opt_record = wire.opt_record(question.udp_size or 0, question.ecs)
        additional = additional + [opt_record]

    def length(kept, extras, compress):
        return reply_length(question.section, kept, answer.authority, extras, compress and settings.compress)

    if question.transport == UDP:
        records, additional, trimmed = trim_udp(
            records, additional, question.udp_size if question.edns else None, settings.udp_answer_limit, length,
            total)
    else:
        records, additional, trimmed = trim_tcp(records, additional, question.qtype, length)
    if additional and additional[-1] is opt_record:
        additional = additional[:-1]
    else:
        opt = b""  # cut with the additional section
    return records, additional, opt, truncated or (trimmed and settings.enable_truncate)


def reply_flags(answer, question, settings, truncated):
    available = answer.recursion_available
    if available is None:
        available = settings.recursion_available
    return flag_bytes(answer.rcode, authoritative=answer.authoritative, truncated=truncated,
                      recursion_desired=question.recursion_desired, recursion_available=available,
                      checking_disabled=question.checking_disabled, opcode=question.opcode)


def reply_opt(answer, question):
    if not (question.edns and answer.edns):
        return b""
    return encode_opt(question.udp_size or 0, question.ecs)


def relayed(message):
    """A recursor's reply, to be passed on: its code, flags and records."""
    return Answer(
        rcode=message.rCode,
        items=[Item(record) for record in message.answers],
        authority=list(message.authority),
        additional=[record for record in message.additional if record.type != dns.OPT],
        authoritative=message.auth,
        recursion_available=True,
        truncated=message.trunc,
        trim=False,  # passed on as the recursor sent it
    )
