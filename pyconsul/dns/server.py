"""The DNS server: twisted.names' server factory and protocols, with the
authority answering and a fast path in front of UDP.

A UDP query whose bytes (but for its ID) were answered before, from
catalog data that has not changed since, is answered from the prepared
reply: a dictionary look-up, a shuffle and a join, with no decoding at all.
Everything else -- first questions, TCP, recursors -- is decoded by
twisted.names and answered through the authority, which also prepares the
reply for next time.

Malformed input costs little: a datagram shorter than a header, or one that
is itself a response, is dropped; one that does not decode, or that does not
ask exactly one question, gets FORMERR (12 bytes, never more than came in).
None of them is logged one by one.
"""

import socket
import struct

from twisted.internet.protocol import DatagramProtocol
from twisted.names import dns, server
from twisted.protocols.policies import TimeoutMixin

from pyconsul import logs
from pyconsul.dns.authority import TCP, UDP, Question, render
from pyconsul.dns.prepared import prepare
from pyconsul.dns.wire import CD, ECS_OPTION, HEADER, HEADER_SIZE, RD, flag_bytes, parse_ecs
from pyconsul.logs import Logger

FAST_ENTRIES = 10000  # prepared replies kept, the oldest dropped first
TCP_IDLE_TIMEOUT = 8.0  # seconds a TCP connection may wait for its next query
# A burst of queries (or of garbage) waits in the kernel rather than being
# dropped there: ask for 4 MiB (the kernel caps it at net.core.rmem_max).
UDP_RECEIVE_BUFFER = 4 << 20


class PreparedReplies(dict):
    """Prepared replies by the query's bytes after its ID: the question as
    asked (case and all), its flags and its EDNS record."""

    def __init__(self, limit=FAST_ENTRIES):
        super().__init__()
        self.limit = limit

    def keep(self, key, prepared):
        if key not in self and len(self) >= self.limit:
            del self[next(iter(self))]
        self[key] = prepared


def question_from(message, transport):
    query = message.queries[0]
    question = Question(
        name=query.name.name,
        qtype=query.type,
        qclass=query.cls,
        transport=transport,
        message_id=message.id,
        opcode=message.opCode,
        recursion_desired=bool(message.recDes),
        checking_disabled=bool(message.checkingDisabled),
    )
    for record in message.additional:
        if record.type == dns.OPT:
            question.edns = True
            question.udp_size = record.cls
            question.ecs = _client_subnet(record.payload.data)
            break
    return question


class MalformedQuery(Exception):
    pass


def _client_subnet(data):
    """The client subnet option among an OPT record's options (None when
    there is none); one Consul's DNS library cannot read makes the query
    malformed."""
    offset = 0
    while offset + 4 <= len(data):
        code, length = struct.unpack("!HH", data[offset:offset + 4])
        option = data[offset + 4:offset + 4 + length]
        if code == ECS_OPTION:
            subnet = parse_ecs(option) if len(option) == length else None
            if subnet is None:
                raise MalformedQuery("bad client subnet option")
            return subnet
        offset += 4 + length
    return None


def error_reply(data, rcode):
    """A bare reply to a message that cannot be answered: its ID and RD and
    CD bits, no question."""
    message_id, first, second = struct.unpack("!HBB", data[:4])
    flags = flag_bytes(rcode, recursion_desired=bool(first & RD), checking_disabled=bool(second & CD),
                       opcode=(first >> 3) & 0xF)
    return HEADER.pack(message_id, flags[0], flags[1], 0, 0, 0, 0)


def decode(data):
    """A query's Message, or None when it does not decode: twisted.names
    stops quietly at the end of the data, so the header's counts are
    checked against what was read."""
    message = dns.Message()
    try:
        message.fromStr(data)
    except Exception:  # twisted.names raises several kinds for bad input
        return None
    counts = HEADER.unpack(data[:HEADER_SIZE])[3:]
    found = (len(message.queries), len(message.answers), len(message.authority), len(message.additional))
    return message if found == counts else None


class ConsulDNSFactory(server.DNSServerFactory):
    """twisted.names' server factory, answering through the authority."""

    log = Logger()
    noisy = False

    def __init__(self, authority, settings, clock, rng, prepared=None):
        super().__init__()
        self.authority = authority
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.prepared = prepared if prepared is not None else PreparedReplies()
        self.protocol = lambda factory: TCPProtocol(factory, clock)
        self.malformed = 0  # queries answered FORMERR or dropped

    def received(self, data, protocol, address, transport):
        """A query's bytes, from either protocol."""
        if len(data) < HEADER_SIZE or data[2] & 0x80:
            self.malformed += 1  # too short to answer, or a response
            return
        message = decode(data)
        if message is None or len(message.queries) != 1:
            self.malformed += 1
            protocol.send(error_reply(data, dns.EFORMAT), address)
            return
        if message.opCode != dns.OP_QUERY:
            protocol.send(error_reply(data, dns.ENOTIMP), address)
            return
        try:
            question = question_from(message, transport)
        except MalformedQuery:
            self.malformed += 1
            protocol.send(error_reply(data, dns.EFORMAT), address)
            return
        key = data[2:] if transport == UDP else None
        d = self.authority.resolve(question)
        d.addCallback(self._answered, question, protocol, address, key)
        d.addErrback(self._failed, data, protocol, address)

    def _answered(self, resolution, question, protocol, address, key):
        answer = resolution.answer
        protocol.send(render(answer, question, self.settings, self.rng), address)
        if logs.enabled(logs.LogLevel.debug):
            self.log.debug("DNS {transport} {name} type {qtype}: rcode {rcode}", transport=question.transport,
                           name=question.name.decode("utf-8", "replace"), qtype=question.qtype, rcode=answer.rcode)
        if key is not None and resolution.cacheable and None not in resolution.dependencies:
            self.prepared.keep(key, prepare(answer, question, self.settings, resolution.dependencies,
                                            self.clock.seconds()))

    def _failed(self, failure, data, protocol, address):
        self.log.failure("Answering a DNS query failed", failure)
        protocol.send(error_reply(data, dns.ESERVER), address)

    # twisted.names calls these for the messages it decodes itself; all
    # decoding goes through received() instead.
    def messageReceived(self, message, proto, address=None):
        raise AssertionError("queries are decoded by ConsulDNSFactory.received")


def listen_udp(reactor, port, factory, interface):
    listening = reactor.listenUDP(port, UDPProtocol(factory), interface=interface)
    sock = getattr(listening, "socket", None)
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    return listening


class UDPProtocol(DatagramProtocol):
    noisy = False

    def __init__(self, factory):
        self.factory = factory
        self.prepared = factory.prepared
        self.clock = factory.clock
        self.rng = factory.rng

    def datagramReceived(self, data, address):
        prepared = self.prepared.get(data[2:])
        if prepared is not None:
            if prepared.holds(self.clock.seconds()):
                self.transport.write(prepared.reply(data[:2], self.rng), address)
                return
            self.prepared.pop(data[2:], None)
        self.factory.received(data, self, address, UDP)

    def send(self, data, address):
        if self.transport is not None:
            self.transport.write(data, address)


class TCPProtocol(dns.DNSProtocol, TimeoutMixin):
    """DNS over TCP: length-prefixed messages, one connection for many
    queries, closed after a quiet while."""

    def __init__(self, factory, clock):
        super().__init__(factory, reactor=clock)
        self.callLater = clock.callLater

    def connectionMade(self):
        super().connectionMade()
        self.setTimeout(TCP_IDLE_TIMEOUT)

    def connectionLost(self, reason):
        self.setTimeout(None)
        super().connectionLost(reason)

    def timeoutConnection(self):
        self.transport.loseConnection()

    def stringReceived(self, data):
        self.resetTimeout()
        self.factory.received(data, self, None, TCP)

    def send(self, data, address=None):
        if self.transport is not None and self.transport.connected:
            self.sendString(data)
