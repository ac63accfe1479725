"""pyconsul.dns.recursors: names outside the domain asked of the recursors,
as Consul 1.10's ``handleRecurse`` asks them.

Each recursor is asked in turn ("sequential"), or in a random order
("random"), over the transport the question came by; the first reply with
NOERROR or NXDOMAIN within ``recursor_timeout`` is passed on (its rcode, its
records, AA as the recursor said, RA set); a timeout, an error or another
rcode (SERVFAIL, REFUSED...) moves on to the next; when none answers, the
asker gets SERVFAIL with RA. A UDP reply the recursor truncated is passed on
with TC set, not asked again over TCP.

The recursors here are real DNS servers on the loopback interface
(twisted.names' server with a small table of names), silent sockets that
read and never reply, and a TCP port whose accept queue is full, so that a
connection to it never completes. Everything runs on the real reactor and
waits on Deferreds; every port and connection is closed before a test ends.
"""

import random
import socket

from twisted.internet import defer, error, protocol, reactor, task, tcp, udp
from twisted.names import common, dns, server
from twisted.trial import unittest

from pyconsul.dns.answers import Settings
from pyconsul.dns.authority import TCP, UDP, Authority, Question, render
from pyconsul.dns.recursors import Recursors

LOOPBACK = "127.0.0.1"
TIMEOUT = 0.3  # recursor_timeout for every test
UDP_LIMIT = 512  # what a recursor's UDP reply holds for a question without EDNS

EXAMPLE = b"example.test"
EXAMPLE_ADDRESS = "192.0.2.55"
PLAIN = b"plain.test"  # answered, but not authoritatively
PLAIN_ADDRESS = "192.0.2.66"
MISSING = b"missing.test"  # NXDOMAIN
BROKEN = b"broken.test"  # SERVFAIL
REFUSING = b"refused.test"  # REFUSED
MANY = b"many.test"  # 60 A records: more than a UDP reply holds
MANY_COUNT = 60
REVERSE = b"99.99.99.10.in-addr.arpa"
REVERSE_HOST = b"host.test"


class Rcode(Exception):
    """Raised by the table for a reply with this rcode and no answers."""

    def __init__(self, rcode, authority=(), authoritative=False):
        Exception.__init__(self, rcode)
        self.rcode = rcode
        self.authority = list(authority)
        self.authoritative = authoritative


def soa_of(zone):
    return dns.RRHeader(zone, dns.SOA, ttl=60, auth=True,
                        payload=dns.Record_SOA(b"ns." + zone, b"admin." + zone, serial=7, minimum=60, ttl=60))


class Table(common.ResolverBase):
    """The names every test recursor knows. ``rcodes`` (name -> rcode)
    makes one recursor fail a name the others answer."""

    def __init__(self, rcodes=None):
        common.ResolverBase.__init__(self)
        self.rcodes = dict(rcodes or {})

    def _lookup(self, name, cls, qtype, timeout):
        name = name.lower()
        try:
            return defer.succeed(self._records(name, qtype))
        except Exception:
            return defer.fail()

    def _records(self, name, qtype):
        if name in self.rcodes:
            raise Rcode(self.rcodes[name])
        if name == EXAMPLE and qtype == dns.A:
            answer = dns.RRHeader(EXAMPLE, dns.A, ttl=30, auth=True, payload=dns.Record_A(EXAMPLE_ADDRESS, ttl=30))
            ns = dns.RRHeader(b"test", dns.NS, ttl=60, auth=True, payload=dns.Record_NS(b"ns.test", ttl=60))
            glue = dns.RRHeader(b"ns.test", dns.A, ttl=60, auth=True, payload=dns.Record_A("192.0.2.53", ttl=60))
            return [answer], [ns], [glue]
        if name == PLAIN and qtype == dns.A:
            return [dns.RRHeader(PLAIN, dns.A, ttl=30, auth=False, payload=dns.Record_A(PLAIN_ADDRESS, ttl=30))], [], []
        if name == MANY and qtype == dns.A:
            return [dns.RRHeader(MANY, dns.A, ttl=30, auth=True, payload=dns.Record_A("192.0.2.%d" % i, ttl=30))
                    for i in range(1, MANY_COUNT + 1)], [], []
        if name == REVERSE and qtype == dns.PTR:
            return [dns.RRHeader(REVERSE, dns.PTR, ttl=30, auth=True,
                                 payload=dns.Record_PTR(REVERSE_HOST, ttl=30))], [], []
        if name == BROKEN:
            raise Rcode(dns.ESERVER)
        if name == REFUSING:
            raise Rcode(dns.EREFUSED)
        raise Rcode(dns.ENAME, authority=[soa_of(b"test")], authoritative=True)  # MISSING, and the rest


class UpstreamFactory(server.DNSServerFactory):
    """twisted.names' DNS server answering from a :class:`Table`, which
    records what it was asked and over which transport, replies with any
    rcode without logging an error, and truncates a UDP reply to 512 bytes
    the way DNS servers do: TC set, only the answers that fit."""

    def __init__(self, table):
        server.DNSServerFactory.__init__(self, authorities=[table])
        self.asked = []  # (name, qtype, transport)
        self._lost = []  # Deferreds waiting for the TCP connections to close

    def handleQuery(self, message, protocol, address):
        query = message.queries[0]
        self.asked.append((query.name.name, query.type, UDP if address is not None else TCP))
        return server.DNSServerFactory.handleQuery(self, message, protocol, address)

    def gotResolverError(self, failure, protocol, message, address):
        if not failure.check(Rcode):
            return server.DNSServerFactory.gotResolverError(self, failure, protocol, message, address)
        response = dns.Message(id=message.id, answer=1, opCode=message.opCode, recDes=message.recDes,
                               recAv=0, auth=int(failure.value.authoritative), rCode=failure.value.rcode)
        response.queries = message.queries
        response.authority = failure.value.authority
        response.timeReceived = getattr(message, "timeReceived", None)  # what sendReply reads
        self.sendReply(protocol, response, address)

    def sendReply(self, protocol, message, address):
        if address is not None:
            message.maxSize = 0  # no cutting mid-record: whole records dropped below
            while len(message.toStr()) > UDP_LIMIT and message.answers:
                message.trunc = 1
                message.answers = message.answers[:-1]
        return server.DNSServerFactory.sendReply(self, protocol, message, address)

    def connectionLost(self, protocol):
        server.DNSServerFactory.connectionLost(self, protocol)
        if not self.connections:
            waiting, self._lost = self._lost, []
            for d in waiting:
                d.callback(None)

    def closed(self):
        """A Deferred firing once no TCP connection is open."""
        if not self.connections:
            return defer.succeed(None)
        d = defer.Deferred()
        self._lost.append(d)
        return d


class SilentUDP(protocol.DatagramProtocol):
    """Reads every question and answers none."""

    def __init__(self):
        self.received = []

    def datagramReceived(self, data, address):
        self.received.append(data)


class SilentTCPProtocol(protocol.Protocol):
    def connectionMade(self):
        self.factory.open.append(self)

    def dataReceived(self, data):
        self.factory.received.append(data)

    def connectionLost(self, reason):
        self.factory.open.remove(self)
        if not self.factory.open:
            waiting, self.factory.lost = self.factory.lost, []
            for d in waiting:
                d.callback(None)


class SilentTCP(protocol.ServerFactory):
    """Accepts connections, reads the questions, never replies."""

    protocol = SilentTCPProtocol

    def __init__(self):
        self.open = []
        self.received = []
        self.lost = []

    def closed(self):
        if not self.open:
            return defer.succeed(None)
        d = defer.Deferred()
        self.lost.append(d)
        return d


class Recursor:
    """What listens on one port number of 127.0.0.1: ``udp`` (a
    DatagramProtocol) and ``tcp`` (a factory), either possibly None, and
    ``server``, the UpstreamFactory answering on it, if any."""

    def __init__(self, udp, tcp, server, port):
        self.udp = udp
        self.tcp = tcp
        self.server = server
        self.port = port

    @property
    def address(self):
        return (LOOPBACK, self.port)

    def asked(self, transport=None):
        """The names its DNS server was asked (over ``transport``)."""
        if self.server is None:
            return []
        return [name for name, _, via in self.server.asked if transport is None or via == transport]


class ConnectorRecorder:
    """The reactor, recording the connectors of the TCP connections made
    through it (so that a test can stop one that never completes)."""

    def __init__(self, wrapped):
        self._wrapped = wrapped
        self.connectors = []

    def connectTCP(self, *args, **kwargs):
        connector = self._wrapped.connectTCP(*args, **kwargs)
        self.connectors.append(connector)
        return connector

    def __getattr__(self, name):
        return getattr(self._wrapped, name)

    def connecting(self):
        return [connector for connector in self.connectors if connector.state == "connecting"]


LATE = object()


def within(d, seconds):
    """A Deferred of ``d``'s result, or of ``LATE`` if ``d`` has not fired
    after ``seconds`` (``d`` itself is left as it is)."""
    out = defer.Deferred()
    call = reactor.callLater(seconds, lambda: None if out.called else out.callback(LATE))

    def fired(result):
        if call.active():
            call.cancel()
        if not out.called:
            out.callback(result)
        return result

    d.addBoth(fired)
    return out


class UnusedSource:
    """The catalog, for names it has nothing to do with."""

    def __init__(self, testcase):
        self.testcase = testcase

    def __getattr__(self, name):
        self.testcase.fail("the catalog was asked (%s) about a name outside the domain" % (name,))


class EmptyCatalog:
    """A catalog with no node or service at any address."""

    def __init__(self, testcase):
        self.testcase = testcase
        self.asked = []

    def nodes(self):
        self.asked.append("nodes")
        return defer.succeed(([], []))

    def service_nodes_at(self, address):
        self.asked.append(("service_nodes_at", address))
        return defer.succeed([])

    def __getattr__(self, name):
        self.testcase.fail("the catalog was asked (%s) for a reverse name" % (name,))


def question(name, qtype=dns.A, transport=UDP, **kwargs):
    kwargs.setdefault("message_id", 4242)
    kwargs.setdefault("recursion_desired", True)
    return Question(name=name, qtype=qtype, transport=transport, **kwargs)


def addresses_of(records):
    return [record.payload.dottedQuad() for record in records if record.type == dns.A]


class RecursorsTestCase(unittest.TestCase):
    timeout = 20  # trial's, per step: only reached if something hangs

    def setUp(self):
        self.baseline = self._selectables()
        self.listening = []
        self.closing = []  # things with closed(): the servers' connections

    # -- the recursors ---------------------------------------------------------------

    def _selectables(self):
        """The sockets the reactor watches (not its own wakers)."""
        watched = set(reactor.getReaders()) | set(reactor.getWriters())
        return {selectable for selectable in watched if isinstance(selectable, (tcp.Connection, tcp.Port, udp.Port))}

    @defer.inlineCallbacks
    def _listen(self, udp, tcp, server=None):
        """A Recursor with ``udp`` (a DatagramProtocol) and ``tcp`` (a
        factory) on one port number; either may be None (nothing listens
        there on that transport)."""
        for _ in range(50):
            udp_port = reactor.listenUDP(0, udp if udp is not None else protocol.DatagramProtocol(),
                                         interface=LOOPBACK)
            port = udp_port.getHost().port
            tcp_port = None
            if tcp is not None:
                try:
                    tcp_port = reactor.listenTCP(port, tcp, interface=LOOPBACK)
                except error.CannotListenError:
                    yield udp_port.stopListening()
                    continue
                self._stop_at_end(tcp_port)
            if udp is None:
                yield udp_port.stopListening()
            else:
                self._stop_at_end(udp_port)
            return Recursor(udp, tcp, server, port)
        self.fail("no port number free for both UDP and TCP")

    def _stop_at_end(self, port):
        self.listening.append(port)
        self.addCleanup(port.stopListening)

    def upstream(self, rcodes=None):
        """A DNS server answering from the table, on UDP and TCP."""
        factory = UpstreamFactory(Table(rcodes))
        self.closing.append(factory)
        return self._listen(dns.DNSDatagramProtocol(factory), factory, factory)

    def silent(self, tcp=True):
        """Reads every question over UDP (and TCP), answers none; with
        ``tcp`` False, nothing listens on its TCP port."""
        tcp_factory = None
        if tcp:
            tcp_factory = SilentTCP()
            self.closing.append(tcp_factory)
        return self._listen(SilentUDP(), tcp_factory)

    def silent_udp_good_tcp(self):
        """Silent over UDP, answers from the table over TCP."""
        factory = UpstreamFactory(Table())
        self.closing.append(factory)
        return self._listen(SilentUDP(), factory, factory)

    def never_connects(self):
        """A TCP address whose connections never complete: a listening
        socket never accepted from, its accept queue filled by one
        connection, so that the kernel drops the SYNs that come next."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind((LOOPBACK, 0))
        listener.listen(0)
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(filler.close)
        filler.settimeout(5)
        filler.connect(listener.getsockname())
        return listener.getsockname()

    def recursors(self, *recursors, strategy="sequential", seed=0, reactor_=None):
        """Recursors for these (Recursor objects or addresses), closed at
        the end, once the servers have seen every connection close."""
        addresses = [r.address if isinstance(r, Recursor) else r for r in recursors]
        forwarder = Recursors(addresses, TIMEOUT, strategy, reactor_ or reactor, random.Random(seed))
        self.addCleanup(self._close, forwarder)
        return forwarder

    @defer.inlineCallbacks
    def _close(self, forwarder):
        forwarder.close()
        for side in self.closing:
            yield side.closed()
        # The resolver's UDP ports stop listening on the next turn of the reactor.
        yield task.deferLater(reactor, 0, lambda: None)

    def authority(self, recursors, source=None):
        settings = Settings(datacenter="dc1", recursion_available=True)
        self.settings = settings
        return Authority(settings, source if source is not None else UnusedSource(self), reactor, recursors)

    @defer.inlineCallbacks
    def ask(self, authority, asked):
        """The reply the authority sends for ``asked``, decoded."""
        resolution = yield authority.resolve(asked)
        self.assertFalse(resolution.cacheable)
        data = render(resolution.answer, asked, authority.settings, random.Random(0))
        message = dns.Message()
        message.fromStr(data)
        self.assertEqual(message.id, asked.message_id)
        self.assertTrue(message.answer)
        self.assertEqual([(q.name.name, q.type) for q in message.queries], [(asked.name, asked.qtype)])
        return message

    # -- through Recursors.forward --------------------------------------------------

    @defer.inlineCallbacks
    def test_answer_passed_on(self):
        """The first recursor's NOERROR reply: its records in every section,
        its AA, and RA set (though the recursor itself did not set it)."""
        good = yield self.upstream()
        other = yield self.upstream()
        answer = yield self.recursors(good, other).forward(question(EXAMPLE))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
        self.assertEqual([(r.name.name, r.type) for r in answer.authority], [(b"test", dns.NS)])
        self.assertEqual([(r.name.name, r.type) for r in answer.additional], [(b"ns.test", dns.A)])
        self.assertTrue(answer.authoritative)
        self.assertTrue(answer.recursion_available)
        self.assertFalse(answer.truncated)
        self.assertEqual(good.asked(), [EXAMPLE])
        self.assertEqual(other.asked(), [])  # sequential: the second only when the first fails

    @defer.inlineCallbacks
    def test_not_authoritative_passed_on(self):
        good = yield self.upstream()
        answer = yield self.recursors(good).forward(question(PLAIN))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [PLAIN_ADDRESS])
        self.assertFalse(answer.authoritative)
        self.assertTrue(answer.recursion_available)

    @defer.inlineCallbacks
    def test_nxdomain_passed_on(self):
        """NXDOMAIN is an answer: passed on with the recursor's SOA, and the
        next recursor is not asked."""
        first = yield self.upstream()
        second = yield self.upstream()
        answer = yield self.recursors(first, second).forward(question(MISSING))
        self.assertEqual(answer.rcode, dns.ENAME)
        self.assertEqual(answer.answers, [])
        self.assertEqual([(r.name.name, r.type) for r in answer.authority], [(b"test", dns.SOA)])
        self.assertTrue(answer.authoritative)
        self.assertTrue(answer.recursion_available)
        self.assertEqual(first.asked(), [MISSING])
        self.assertEqual(second.asked(), [])

    @defer.inlineCallbacks
    def test_servfail_moves_to_next(self):
        first = yield self.upstream(rcodes={EXAMPLE: dns.ESERVER})
        second = yield self.upstream()
        answer = yield self.recursors(first, second).forward(question(EXAMPLE))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(first.asked(), [EXAMPLE])
        self.assertEqual(second.asked(), [EXAMPLE])

    @defer.inlineCallbacks
    def test_refused_moves_to_next(self):
        first = yield self.upstream(rcodes={EXAMPLE: dns.EREFUSED})
        second = yield self.upstream()
        answer = yield self.recursors(first, second).forward(question(EXAMPLE))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(second.asked(), [EXAMPLE])

    @defer.inlineCallbacks
    def test_silent_recursor_times_out_then_next(self):
        """A recursor that never replies is given up on after
        recursor_timeout (asked once), and the next one answers."""
        silent = yield self.silent()
        good = yield self.upstream()
        start = reactor.seconds()
        answer = yield self.recursors(silent, good).forward(question(EXAMPLE))
        elapsed = reactor.seconds() - start
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(len(silent.udp.received), 1)
        self.assertEqual(good.asked(UDP), [EXAMPLE])
        self.assertGreaterEqual(elapsed, TIMEOUT * 0.9)
        self.assertLess(elapsed, TIMEOUT + 2)

    @defer.inlineCallbacks
    def test_all_fail_servfail(self):
        """Silent, SERVFAIL, REFUSED: SERVFAIL with RA, not authoritative."""
        silent = yield self.silent()
        broken = yield self.upstream(rcodes={EXAMPLE: dns.ESERVER})
        refusing = yield self.upstream(rcodes={EXAMPLE: dns.EREFUSED})
        answer = yield self.recursors(silent, broken, refusing).forward(question(EXAMPLE))
        self.assertEqual(answer.rcode, dns.ESERVER)
        self.assertEqual(answer.answers, [])
        self.assertTrue(answer.recursion_available)
        self.assertFalse(answer.authoritative)
        self.assertEqual(len(silent.udp.received), 1)
        self.assertEqual(broken.asked(), [EXAMPLE])
        self.assertEqual(refusing.asked(), [EXAMPLE])

    @defer.inlineCallbacks
    def test_two_silent_recursors_each_timed_out(self):
        first = yield self.silent()
        second = yield self.silent()
        start = reactor.seconds()
        answer = yield self.recursors(first, second).forward(question(EXAMPLE))
        elapsed = reactor.seconds() - start
        self.assertEqual(answer.rcode, dns.ESERVER)
        self.assertEqual((len(first.udp.received), len(second.udp.received)), (1, 1))
        self.assertGreaterEqual(elapsed, 2 * TIMEOUT * 0.9)
        self.assertLess(elapsed, 2 * TIMEOUT + 2)

    @defer.inlineCallbacks
    def test_random_strategy_visits_each_recursor(self):
        """With "random", the order changes from question to question: a
        broken recursor is sometimes asked first and sometimes not at all,
        and every question is answered by the good one."""
        broken = yield self.upstream(rcodes={EXAMPLE: dns.ESERVER})
        good = yield self.upstream()
        for seed in (0, 1, 2):
            del broken.server.asked[:], good.server.asked[:]
            forwarder = self.recursors(broken, good, strategy="random", seed=seed)
            rounds = 8
            for _ in range(rounds):
                answer = yield forwarder.forward(question(EXAMPLE))
                self.assertEqual(answer.rcode, dns.OK)
                self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
            self.assertEqual(len(good.asked()), rounds)
            self.assertTrue(0 < len(broken.asked()) < rounds, "seed %d: broken asked %d times of %d"
                            % (seed, len(broken.asked()), rounds))

    @defer.inlineCallbacks
    def test_random_strategy_seeded_order_is_the_rng_order(self):
        """The order is the seeded rng's shuffle of the recursors."""
        first = yield self.upstream()
        second = yield self.upstream()
        forwarder = self.recursors(first, second, strategy="random", seed=5)
        expected = random.Random(5)
        for _ in range(6):
            order = [0, 1]
            expected.shuffle(order)
            del first.server.asked[:], second.server.asked[:]
            yield forwarder.forward(question(EXAMPLE))
            self.assertEqual((len(first.asked()), len(second.asked())), (1, 0) if order[0] == 0 else (0, 1))

    @defer.inlineCallbacks
    def test_sequential_keeps_the_configured_order(self):
        first = yield self.upstream()
        second = yield self.upstream()
        forwarder = self.recursors(first, second)
        for _ in range(4):
            yield forwarder.forward(question(EXAMPLE))
        self.assertEqual(len(first.asked()), 4)
        self.assertEqual(second.asked(), [])

    @defer.inlineCallbacks
    def test_tcp_question_asked_over_tcp(self):
        """A TCP question goes to the recursor over TCP: one silent over UDP
        but answering over TCP answers it."""
        recursor = yield self.silent_udp_good_tcp()
        answer = yield self.recursors(recursor).forward(question(EXAMPLE, transport=TCP))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(recursor.udp.received, [])
        self.assertEqual(recursor.server.asked, [(EXAMPLE, dns.A, TCP)])

    @defer.inlineCallbacks
    def test_udp_question_asked_over_udp_only(self):
        """A UDP question goes over UDP only: the recursor silent over UDP
        times out, and is not asked again over TCP."""
        recursor = yield self.silent_udp_good_tcp()
        answer = yield self.recursors(recursor).forward(question(EXAMPLE, transport=UDP))
        self.assertEqual(answer.rcode, dns.ESERVER)
        self.assertTrue(answer.recursion_available)
        self.assertEqual(len(recursor.udp.received), 1)
        self.assertEqual(recursor.server.asked, [])

    @defer.inlineCallbacks
    def test_tcp_silent_times_out_then_next(self):
        silent = yield self.silent()
        good = yield self.upstream()
        answer = yield self.recursors(silent, good).forward(question(EXAMPLE, transport=TCP))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(silent.udp.received, [])
        self.assertTrue(silent.tcp.received)  # the question was written to it
        self.assertEqual(good.asked(), [EXAMPLE])
        self.assertEqual(good.server.asked, [(EXAMPLE, dns.A, TCP)])

    @defer.inlineCallbacks
    def test_tcp_connection_refused_moves_to_next(self):
        """Nothing listening on the first recursor's TCP port."""
        refusing = yield self.silent(tcp=False)
        good = yield self.upstream()
        answer = yield self.recursors(refusing, good).forward(question(EXAMPLE, transport=TCP))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(good.server.asked, [(EXAMPLE, dns.A, TCP)])

    @defer.inlineCallbacks
    def test_tcp_servfail_then_next_and_nxdomain(self):
        first = yield self.upstream(rcodes={EXAMPLE: dns.ESERVER})
        second = yield self.upstream()
        forwarder = self.recursors(first, second)
        answer = yield forwarder.forward(question(EXAMPLE, transport=TCP))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(addresses_of(answer.answers), [EXAMPLE_ADDRESS])
        answer = yield forwarder.forward(question(MISSING, transport=TCP))
        self.assertEqual(answer.rcode, dns.ENAME)
        self.assertEqual(first.asked(TCP), [EXAMPLE, MISSING])
        self.assertEqual(second.asked(TCP), [EXAMPLE])

    @defer.inlineCallbacks
    def test_tcp_connect_that_never_completes_times_out(self):
        """recursor_timeout bounds the whole exchange, connecting included
        (Consul's dns.Client Timeout covers the dial): a recursor whose TCP
        connection never completes gives SERVFAIL within about the timeout,
        not after the connect's own 30 seconds."""
        wrapped = ConnectorRecorder(reactor)
        forwarder = self.recursors(self.never_connects(), reactor_=wrapped)
        self.addCleanup(self._stop_connecting, wrapped)
        result = yield within(forwarder.forward(question(EXAMPLE, transport=TCP)), TIMEOUT * 5)
        if result is LATE:
            self.assertEqual(len(wrapped.connecting()), 1)
            self.fail("no answer %.1f s after the question, recursor_timeout %.1f s: the TCP connect is not "
                      "bounded by recursor_timeout" % (TIMEOUT * 5, TIMEOUT))
        self.assertEqual(result.rcode, dns.ESERVER)
        self.assertTrue(result.recursion_available)

    @defer.inlineCallbacks
    def test_tcp_connect_that_never_completes_then_next(self):
        good = yield self.upstream()
        wrapped = ConnectorRecorder(reactor)
        forwarder = self.recursors(self.never_connects(), good, reactor_=wrapped)
        self.addCleanup(self._stop_connecting, wrapped)
        d = forwarder.forward(question(EXAMPLE, transport=TCP))
        result = yield within(d, TIMEOUT * 5)
        if result is LATE:
            # Let the question go on to the good recursor before the test ends.
            self._stop_connecting(wrapped)
            yield d
            self.fail("a TCP connect that never completes held the question for more than %.1f s "
                      "(recursor_timeout %.1f s) before the next recursor" % (TIMEOUT * 5, TIMEOUT))
        self.assertEqual(result.rcode, dns.OK)
        self.assertEqual(good.server.asked, [(EXAMPLE, dns.A, TCP)])

    def _stop_connecting(self, wrapped):
        for connector in wrapped.connecting():
            connector.stopConnecting()

    @defer.inlineCallbacks
    def test_truncated_udp_reply_passed_on(self):
        """A UDP reply the recursor truncated: TC set, the answers it kept,
        not asked again over TCP; over TCP the whole answer."""
        recursor = yield self.upstream()
        other = yield self.upstream()
        forwarder = self.recursors(recursor, other)
        answer = yield forwarder.forward(question(MANY, transport=UDP))
        self.assertEqual(answer.rcode, dns.OK)
        self.assertTrue(answer.truncated)
        kept = len(answer.answers)
        self.assertTrue(0 < kept < MANY_COUNT, kept)
        self.assertEqual(addresses_of(answer.answers), ["192.0.2.%d" % i for i in range(1, kept + 1)])
        self.assertEqual(recursor.server.asked, [(MANY, dns.A, UDP)])  # once, over UDP
        self.assertEqual(other.asked(), [])

        answer = yield forwarder.forward(question(MANY, transport=TCP))
        self.assertFalse(answer.truncated)
        self.assertEqual(len(answer.answers), MANY_COUNT)

    @defer.inlineCallbacks
    def test_close_leaves_nothing_open(self):
        """After questions over UDP and TCP (answered, and timed out over an
        open connection) nothing is left open: the servers see the
        connections close, and the reactor watches nothing but the test's
        ports."""
        silent = yield self.silent()
        good = yield self.upstream()
        forwarder = Recursors([silent.address, good.address], TIMEOUT, "sequential", reactor, random.Random(0))
        answer = yield forwarder.forward(question(EXAMPLE, transport=TCP))
        self.assertEqual(answer.rcode, dns.OK)
        answer = yield forwarder.forward(question(EXAMPLE, transport=UDP))
        self.assertEqual(answer.rcode, dns.OK)
        # A TCP question has a connection of its own, closed once answered
        # (or timed out): the servers see them close without close().
        yield silent.tcp.closed()
        yield good.tcp.closed()
        forwarder.close()
        yield task.deferLater(reactor, 0, lambda: None)
        left = self._selectables() - self.baseline - set(self.listening)
        self.assertEqual(left, set())
        self.assertEqual([resolver.connections for resolver in forwarder._resolvers], [[], []])

    @defer.inlineCallbacks
    def test_close_stops_a_connect_in_progress(self):
        """close() while a TCP connection to a recursor is still being made
        leaves no connection attempt behind."""
        wrapped = ConnectorRecorder(reactor)
        forwarder = Recursors([self.never_connects()], TIMEOUT, "sequential", wrapped, random.Random(0))
        self.addCleanup(self._stop_connecting, wrapped)
        d = forwarder.forward(question(EXAMPLE, transport=TCP))
        self.assertEqual(len(wrapped.connecting()), 1)
        forwarder.close()
        yield task.deferLater(reactor, 0, lambda: None)
        still = len(wrapped.connecting())
        self._stop_connecting(wrapped)
        yield d
        self.assertEqual(still, 0, "a TCP connect to a recursor is still in progress after close()")

    # -- through the authority -----------------------------------------------------

    @defer.inlineCallbacks
    def test_authority_relays_answer(self):
        good = yield self.upstream()
        authority = self.authority(self.recursors(good))
        message = yield self.ask(authority, question(EXAMPLE))
        self.assertEqual(message.rCode, dns.OK)
        self.assertEqual(addresses_of(message.answers), [EXAMPLE_ADDRESS])
        self.assertEqual([(r.name.name, r.type) for r in message.authority], [(b"test", dns.NS)])
        self.assertEqual(addresses_of(message.additional), ["192.0.2.53"])
        self.assertTrue(message.auth)
        self.assertTrue(message.recAv)
        self.assertTrue(message.recDes)
        self.assertFalse(message.trunc)

    @defer.inlineCallbacks
    def test_authority_relays_not_authoritative(self):
        good = yield self.upstream()
        authority = self.authority(self.recursors(good))
        message = yield self.ask(authority, question(PLAIN))
        self.assertEqual(addresses_of(message.answers), [PLAIN_ADDRESS])
        self.assertFalse(message.auth)
        self.assertTrue(message.recAv)

    @defer.inlineCallbacks
    def test_authority_relays_nxdomain(self):
        good = yield self.upstream()
        authority = self.authority(self.recursors(good))
        message = yield self.ask(authority, question(MISSING))
        self.assertEqual(message.rCode, dns.ENAME)
        self.assertEqual(message.answers, [])
        self.assertEqual([(r.name.name, r.type) for r in message.authority], [(b"test", dns.SOA)])
        self.assertTrue(message.auth)
        self.assertTrue(message.recAv)

    @defer.inlineCallbacks
    def test_authority_servfail_then_second(self):
        first = yield self.upstream(rcodes={EXAMPLE: dns.ESERVER})
        second = yield self.upstream()
        authority = self.authority(self.recursors(first, second))
        message = yield self.ask(authority, question(EXAMPLE))
        self.assertEqual(message.rCode, dns.OK)
        self.assertEqual(addresses_of(message.answers), [EXAMPLE_ADDRESS])
        self.assertTrue(message.recAv)

    @defer.inlineCallbacks
    def test_authority_silent_then_second(self):
        silent = yield self.silent()
        second = yield self.upstream()
        authority = self.authority(self.recursors(silent, second))
        message = yield self.ask(authority, question(EXAMPLE))
        self.assertEqual(message.rCode, dns.OK)
        self.assertEqual(addresses_of(message.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(len(silent.udp.received), 1)

    @defer.inlineCallbacks
    def test_authority_all_fail_servfail_with_ra(self):
        silent = yield self.silent()
        broken = yield self.upstream()
        authority = self.authority(self.recursors(silent, broken))
        message = yield self.ask(authority, question(BROKEN))
        self.assertEqual(message.rCode, dns.ESERVER)
        self.assertEqual((message.answers, message.authority, message.additional), ([], [], []))
        self.assertTrue(message.recAv)
        self.assertFalse(message.auth)
        self.assertFalse(message.trunc)

    @defer.inlineCallbacks
    def test_authority_edns_question_gets_one_opt(self):
        """An EDNS question: the relayed answer carries the reply's own OPT
        record, once, echoing the asker's UDP size."""
        good = yield self.upstream()
        authority = self.authority(self.recursors(good))
        message = yield self.ask(authority, question(EXAMPLE, edns=True, udp_size=4096))
        self.assertEqual(addresses_of(message.answers), [EXAMPLE_ADDRESS])
        opts = [r for r in message.additional if r.type == dns.OPT]
        self.assertEqual(len(opts), 1)
        self.assertEqual(opts[0].cls, 4096)  # an OPT record's class is its UDP payload size

    @defer.inlineCallbacks
    def test_authority_random_strategy_answers(self):
        broken = yield self.upstream(rcodes={EXAMPLE: dns.ESERVER})
        good = yield self.upstream()
        for seed in range(4):
            authority = self.authority(self.recursors(broken, good, strategy="random", seed=seed))
            message = yield self.ask(authority, question(EXAMPLE))
            self.assertEqual(message.rCode, dns.OK, "seed %d" % seed)
            self.assertEqual(addresses_of(message.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(len(good.asked()), 4)

    @defer.inlineCallbacks
    def test_authority_tcp_question_over_tcp(self):
        recursor = yield self.silent_udp_good_tcp()
        authority = self.authority(self.recursors(recursor))
        message = yield self.ask(authority, question(EXAMPLE, transport=TCP))
        self.assertEqual(message.rCode, dns.OK)
        self.assertEqual(addresses_of(message.answers), [EXAMPLE_ADDRESS])
        self.assertEqual(recursor.udp.received, [])

    @defer.inlineCallbacks
    def test_authority_truncated_reply_relayed_with_tc(self):
        recursor = yield self.upstream()
        authority = self.authority(self.recursors(recursor))
        message = yield self.ask(authority, question(MANY, transport=UDP))
        self.assertEqual(message.rCode, dns.OK)
        self.assertTrue(message.trunc)
        self.assertTrue(message.recAv)
        self.assertTrue(0 < len(message.answers) < MANY_COUNT)
        self.assertEqual(recursor.server.asked, [(MANY, dns.A, UDP)])

        message = yield self.ask(authority, question(MANY, transport=TCP))
        self.assertFalse(message.trunc)
        self.assertEqual(len(message.answers), MANY_COUNT)

    @defer.inlineCallbacks
    def test_authority_unknown_reverse_name_asked_of_recursors(self):
        """A reverse name no node or service has: the catalog is asked
        (nodes, then service addresses), then the recursors."""
        good = yield self.upstream()
        catalog = EmptyCatalog(self)
        authority = self.authority(self.recursors(good), source=catalog)
        message = yield self.ask(authority, question(REVERSE, qtype=dns.PTR))
        self.assertEqual(message.rCode, dns.OK)
        self.assertEqual([(r.type, r.payload.name.name) for r in message.answers], [(dns.PTR, REVERSE_HOST)])
        self.assertTrue(message.recAv)
        self.assertEqual(catalog.asked, ["nodes", ("service_nodes_at", "10.99.99.99")])
        self.assertEqual(good.asked(), [REVERSE])

    @defer.inlineCallbacks
    def test_authority_consul_names_not_forwarded(self):
        """A name in the domain is the catalog's, whatever the recursors."""
        good = yield self.upstream()
        authority = self.authority(self.recursors(good))
        resolution = yield authority.resolve(question(b"01020304.addr.dc1.consul"))
        data = render(resolution.answer, question(b"01020304.addr.dc1.consul"), authority.settings,
                      random.Random(0))
        message = dns.Message()
        message.fromStr(data)
        self.assertEqual(message.rCode, dns.OK)
        self.assertEqual(addresses_of(message.answers), ["1.2.3.4"])
        self.assertEqual(good.asked(), [])


class NoRecursorsTestCase(unittest.TestCase):
    """Without recursors: a name outside the domain is refused, and a
    reverse name nobody has gets SERVFAIL."""

    def test_outside_refused(self):
        authority = Authority(Settings(datacenter="dc1"), UnusedSource(self), reactor, None)
        resolution = self.successResultOf(authority.resolve(question(EXAMPLE)))
        self.assertEqual(resolution.answer.rcode, dns.EREFUSED)
        self.assertFalse(resolution.cacheable)

    def test_unknown_reverse_servfail(self):
        authority = Authority(Settings(datacenter="dc1"), EmptyCatalog(self), reactor, None)
        resolution = self.successResultOf(authority.resolve(question(REVERSE, qtype=dns.PTR)))
        self.assertEqual(resolution.answer.rcode, dns.ESERVER)
