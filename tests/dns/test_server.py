"""The DNS server's protocols: twisted.names' own client asking over real
loopback sockets, malformed input, TCP connections, the bound on kept
replies."""

import struct

from twisted.internet import defer, reactor
from twisted.internet import task
from twisted.internet.task import LoopingCall
from twisted.internet.testing import StringTransport
from twisted.names import client, dns, error
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pyconsul.dns.server import TCP_IDLE_TIMEOUT, PreparedReplies, UDPProtocol
from tests.dns.inprocess import InProcessDNS
from tests.dns.messages import decoded, query

HEADER = struct.Struct("!HBBHHHH")


def web_agent():
    agent = InProcessDNS()
    for number in (1, 2, 3):
        agent.register({"Node": "web-%d" % number, "Address": "10.3.0.%d" % number,
                        "Service": {"Service": "web", "Port": 8000 + number, "Tags": ["v%d" % number]}})
    agent.server.advance(1)
    return agent


class ResolverTests(TestCase):
    """twisted.names' client resolver against the server on loopback."""

    def setUp(self):
        self.agent = web_agent()
        # The in-memory server runs on a fake clock: keep it moving.
        self.pump = LoopingCall(self.agent.server.advance, 0)
        self.pump.start(0.01)
        self.addCleanup(self.pump.stop)
        udp = reactor.listenUDP(0, UDPProtocol(self.agent.factory), interface="127.0.0.1")
        self.addCleanup(udp.stopListening)
        tcp = reactor.listenTCP(0, self.agent.factory, interface="127.0.0.1")
        self.addCleanup(tcp.stopListening)
        self.resolver = client.Resolver(servers=[("127.0.0.1", udp.getHost().port)], reactor=reactor)
        self.tcp_resolver = client.Resolver(servers=[("127.0.0.1", tcp.getHost().port)], reactor=reactor)
        self.addCleanup(self.close_tcp)

    @defer.inlineCallbacks
    def close_tcp(self):
        """The resolver keeps its TCP connection for more queries: close it,
        and wait until both ends have seen it go."""
        for protocol in list(self.tcp_resolver.connections):
            protocol.transport.loseConnection()
        for _ in range(500):
            if not self.tcp_resolver.connections and not self.agent.factory.connections:
                return
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.fail("TCP connections still open")

    @defer.inlineCallbacks
    def test_addresses_of_a_service(self):
        answers, authority, additional = yield self.resolver.lookupAddress("web.service.consul")
        self.assertEqual(sorted(r.payload.dottedQuad() for r in answers), ["10.3.0.1", "10.3.0.2", "10.3.0.3"])
        self.assertTrue(all(r.auth for r in answers))

    @defer.inlineCallbacks
    def test_srv_records_come_with_their_addresses(self):
        answers, _, additional = yield self.resolver.lookupService("_web._tcp.service.consul")
        self.assertEqual(sorted((r.payload.port, r.payload.target.name) for r in answers),
                         [(8001, b"web-1.node.dc1.consul"), (8002, b"web-2.node.dc1.consul"),
                          (8003, b"web-3.node.dc1.consul")])
        self.assertEqual(sorted((r.name.name, r.payload.dottedQuad()) for r in additional),
                         [(b"web-1.node.dc1.consul", "10.3.0.1"), (b"web-2.node.dc1.consul", "10.3.0.2"),
                          (b"web-3.node.dc1.consul", "10.3.0.3")])

    @defer.inlineCallbacks
    def test_tcp_and_udp_give_the_same_records(self):
        """Over UDP the second answer comes from the fast path; over TCP from
        twisted.names' protocol and the authority every time."""
        question = [dns.Query(b"web.service.consul", dns.SRV)]
        first = yield self.resolver.queryUDP(question)
        second = yield self.resolver.queryUDP(question)
        over_tcp = yield self.tcp_resolver.queryTCP(question)

        def records(message):
            return sorted(str(r) for r in message.answers + message.additional)

        self.assertEqual(records(first), records(second))
        self.assertEqual(records(first), records(over_tcp))

    @defer.inlineCallbacks
    def test_a_tag_narrows_the_answer(self):
        answers, _, _ = yield self.resolver.lookupAddress("v2.web.service.consul")
        self.assertEqual([r.payload.dottedQuad() for r in answers], ["10.3.0.2"])

    def test_an_unknown_service_is_nxdomain(self):
        return self.assertFailure(self.resolver.lookupAddress("nosuch.service.consul"), error.DNSNameError)

    def test_a_name_outside_the_domain_is_refused(self):
        return self.assertFailure(self.resolver.lookupAddress("example.com"), error.DNSQueryRefusedError)


class MalformedInputTests(SynchronousTestCase):
    def setUp(self):
        self.agent = web_agent()

    def test_a_datagram_shorter_than_a_header_is_dropped(self):
        self.assertEqual(self.agent.ask_udp(b"\x00\x01\x00"), [])
        self.assertEqual(self.agent.factory.malformed, 1)

    def test_a_response_is_never_answered(self):
        self.assertEqual(self.agent.ask_udp(HEADER.pack(9, 0x80, 0, 1, 0, 0, 0) + query(b"web.service.consul")[12:]),
                         [])

    def formerr(self, data):
        [reply] = self.agent.ask_udp(data)
        message_id, first, second, *counts = HEADER.unpack(reply)
        self.assertEqual((message_id, first & 0x80, second & 0xF, counts), (0x0102, 0x80, dns.EFORMAT, [0, 0, 0, 0]))
        return first

    def test_no_question_or_two_questions_get_formerr(self):
        body = query(b"web.service.consul")[12:]
        self.formerr(HEADER.pack(0x0102, 0x01, 0, 0, 0, 0, 0))
        self.formerr(HEADER.pack(0x0102, 0x01, 0, 2, 0, 0, 0) + body + body)
        self.formerr(HEADER.pack(0x0102, 0x01, 0, 65535, 0, 0, 0) + body)

    def test_a_pointer_loop_gets_formerr_with_the_rd_bit_echoed(self):
        first = self.formerr(HEADER.pack(0x0102, 0x01, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01")
        self.assertEqual(first & 0x01, 0x01)

    def test_a_truncated_question_gets_formerr(self):
        self.formerr(HEADER.pack(0x0102, 0x00, 0, 1, 0, 0, 0) + b"\x03web\x07serv")

    def test_another_opcode_is_not_implemented(self):
        data = bytearray(query(b"web.service.consul"))
        data[2] |= dns.OP_STATUS << 3
        [reply] = self.agent.ask_udp(bytes(data))
        self.assertEqual(decoded(reply).rCode, dns.ENOTIMP)

    def test_a_good_query_is_answered_after_garbage(self):
        for garbage in (b"", b"\xff" * 11, b"\x00" * 12, b"\xde\xad" * 300, HEADER.pack(1, 1, 0, 1, 0, 0, 0)):
            self.agent.ask_udp(garbage)
        [reply] = self.agent.ask_udp(query(b"web.service.consul"))
        self.assertEqual(len(decoded(reply).answers), 3)


class TCPTests(SynchronousTestCase):
    def setUp(self):
        self.agent = web_agent()
        self.protocol = self.agent.factory.buildProtocol(None)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def send(self, data):
        self.transport.clear()
        self.protocol.dataReceived(struct.pack("!H", len(data)) + data)
        self.agent.server.advance()
        value = self.transport.value()
        return value[2:2 + struct.unpack("!H", value[:2])[0]] if value else None

    def test_many_queries_on_one_connection_and_garbage_between_them(self):
        self.assertEqual(len(decoded(self.send(query(b"web.service.consul", dns.SRV))).answers), 3)
        reply = self.send(HEADER.pack(0x0102, 0x01, 0, 1, 0, 0, 0) + b"\xc0\x0c")
        self.assertEqual(reply[3] & 0xF, dns.EFORMAT)
        self.assertEqual(len(decoded(self.send(query(b"web-2.node.consul"))).answers), 1)
        self.assertFalse(self.transport.disconnecting)

    def test_an_idle_connection_is_closed(self):
        self.send(query(b"web.service.consul"))
        self.agent.clock.advance(TCP_IDLE_TIMEOUT - 1)
        self.send(query(b"web.service.consul"))
        self.agent.clock.advance(TCP_IDLE_TIMEOUT - 1)
        self.assertFalse(self.transport.disconnecting)
        self.agent.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)
        self.protocol.connectionLost(None)


class PreparedRepliesTests(SynchronousTestCase):
    def test_the_oldest_reply_goes_when_full(self):
        kept = PreparedReplies(limit=2)
        kept.keep(b"a", 1)
        kept.keep(b"b", 2)
        kept.keep(b"a", 3)  # replacing does not evict
        self.assertEqual(dict(kept), {b"a": 3, b"b": 2})
        kept.keep(b"c", 4)
        self.assertEqual(dict(kept), {b"b": 2, b"c": 4})

    def test_every_distinct_question_counts_against_the_bound(self):
        agent = web_agent()
        agent.factory.prepared.limit = 50
        for number in range(200):
            agent.ask_udp(query(b"nosuch-%d.service.consul" % number))
        self.assertEqual(len(agent.factory.prepared), 50)
        [reply] = agent.ask_udp(query(b"web.service.consul"))
        self.assertEqual(len(decoded(reply).answers), 3)
