"""The gossip adapter: datagrams in and out, malformed input, streams, timers."""

import random

from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pyconsul.codec import gossip as codec
from pyconsul.core.coordinate.payload import decode_payload
from pyconsul.core.serf.member import MemberStatus
from pyconsul.core.serf.node import SerfNode
from pyconsul.core.swim.config import SwimConfig
from pyconsul.core.swim.messages import Ack, Ping
from pyconsul.net.gossip import FrameReader, GossipDriver, JoinFailed, Wire, parse_join_address


class FakeUDPPort:
    def __init__(self):
        self.sent = []

    def write(self, data, address):
        self.sent.append((data, address))

    def stopListening(self):
        return None


class FakeReactor(Clock):
    """A clock that also 'listens': UDP goes to a FakeUDPPort, TCP nowhere."""

    def __init__(self):
        super().__init__()
        self.udp = FakeUDPPort()

    def listenUDP(self, port, protocol, interface=""):
        self.protocol = protocol
        return self.udp

    def listenTCP(self, port, factory, interface=""):
        return FakeUDPPort()


def make_node(name="a", port=8301, now=0.0):
    return SerfNode(
        name, ("127.0.0.1", port), rng=random.Random(1), now=now, tags={"role": "node"},
        swim_config=SwimConfig.local(),
    )


class AdapterTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = FakeReactor()
        self.driver = GossipDriver(make_node(), self.reactor)
        self.driver.start("127.0.0.1", 8301)
        self.flushLoggedErrors()

    def test_answers_a_ping_with_an_ack(self):
        ping = Ping(7, "a", ("127.0.0.9", 8301), "b")
        self.reactor.protocol.datagramReceived(
            codec.pack_packet([codec.encode_message(ping)]), ("127.0.0.9", 8301)
        )
        [(data, to)] = self.reactor.udp.sent
        self.assertEqual(to, ("127.0.0.9", 8301))
        ack = codec.decode_packet(data)[0]  # news may ride along
        self.assertEqual((type(ack), ack.seq), (Ack, 7))
        # The ack carries the node's network coordinate (Serf's ping payload).
        self.assertEqual(decode_payload(ack.payload), self.driver.node.coordinate)

    def test_malformed_datagrams_are_counted_and_logged_once(self):
        for garbage in (b"", b"\xff\x00", b"\x07\x09\x00", b"\x00" * 3000):
            self.reactor.protocol.datagramReceived(garbage, ("127.0.0.9", 4000))
        self.assertEqual(self.driver.counters["malformed_packets"], 4)
        self.assertEqual(self.reactor.udp.sent, [])

    def test_timer_follows_the_core(self):
        deadline = self.driver.node.next_deadline()
        self.assertIsNotNone(deadline)
        self.assertEqual([round(c.getTime(), 6) for c in self.reactor.getDelayedCalls()], [round(deadline, 6)])
        self.reactor.advance(deadline)
        self.assertEqual(len(self.reactor.getDelayedCalls()), 1)

    def test_join_with_a_bad_address_fails_at_once(self):
        failure = self.failureResultOf(self.driver.join(["10.0.0.1:99999"]), JoinFailed)
        self.assertIn("bad port", str(failure.value))

    def test_leave_with_no_peers_completes(self):
        d = self.driver.leave()
        self.reactor.advance(2)
        self.successResultOf(d)
        self.assertEqual(self.driver.local_member.status, MemberStatus.LEFT)

    def test_force_leave_of_an_unknown_member(self):
        self.assertRaises(KeyError, self.driver.force_leave, "nobody")


class WireTests(SynchronousTestCase):
    def test_encrypted_wire_refuses_plaintext_and_other_keys(self):
        ours = Wire(codec.Keyring.from_base64([codec.new_key()]))
        theirs = Wire(codec.Keyring.from_base64([codec.new_key()]))
        plain = Wire()
        packet = plain.packet([codec.encode_message(Ack(1))])
        self.assertRaises(codec.CodecError, ours.messages, packet)
        self.assertRaises(codec.CodecError, ours.messages, theirs.packet([codec.encode_message(Ack(1))]))
        self.assertEqual(ours.messages(ours.packet([codec.encode_message(Ack(1))])), [Ack(1)])

    def test_frames_arrive_in_pieces(self):
        wire = Wire()
        data = wire.frame(Ack(5)) + wire.frame(Ack(6))
        reader = FrameReader()
        bodies = []
        for i in range(len(data)):
            bodies.extend(reader.feed(data[i : i + 1]))
        self.assertEqual([wire.frame_message(b) for b in bodies], [Ack(5), Ack(6)])

    def test_a_huge_frame_length_is_refused(self):
        self.assertRaises(codec.CodecError, FrameReader().feed, b"\xff\xff\xff\xff")

    def test_join_addresses(self):
        self.assertEqual(parse_join_address("10.0.0.1"), ("10.0.0.1", 8301))
        self.assertEqual(parse_join_address("10.0.0.1:7000"), ("10.0.0.1", 7000))
        self.assertEqual(parse_join_address("[::1]:7000"), ("::1", 7000))
        self.assertEqual(parse_join_address("[::1]"), ("::1", 8301))
        self.assertRaises(ValueError, parse_join_address, ":80")


class LoopbackTests(TestCase):
    """Two drivers on real loopback sockets join over TCP and gossip over UDP."""

    timeout = 20

    def start(self, name, key=None):
        port = self.ports.pop()
        keyring = codec.Keyring.from_base64([key]) if key else None
        node = SerfNode(
            name, ("127.0.0.1", port), rng=random.Random(), now=reactor.seconds(),
            swim_config=SwimConfig.local(),
        )
        driver = GossipDriver(node, reactor, keyring=keyring)
        driver.start("127.0.0.1", port)
        self.addCleanup(driver.stop)
        return driver, port

    def setUp(self):
        # Ports the kernel just handed out are free for UDP and TCP alike
        # (almost surely); several are taken at once.
        import socket

        self.ports = []
        holders = []
        for _ in range(3):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            self.ports.append(s.getsockname()[1])
            holders.append(s)
        for s in holders:
            s.close()

    @defer.inlineCallbacks
    def test_join_and_see_each_other(self):
        a, _ = self.start("a")
        b, port_b = self.start("b")
        joined = yield a.join(["127.0.0.1:%d" % port_b])
        self.assertEqual(joined, 1)
        yield self.until(lambda: {m.name for m in b.members()} == {"a", "b"})

    @defer.inlineCallbacks
    def test_a_different_key_cannot_join(self):
        a, _ = self.start("a", key=codec.new_key())
        b, port_b = self.start("b", key=codec.new_key())
        with self.assertRaises(JoinFailed):
            yield a.join(["127.0.0.1:%d" % port_b])
        self.assertEqual([m.name for m in b.members()], ["b"])
        self.assertGreater(b.counters["malformed_streams"], 0)
        self.flushLoggedErrors()

    @defer.inlineCallbacks
    def until(self, condition, timeout=10.0):
        deadline = reactor.seconds() + timeout
        while not condition():
            if reactor.seconds() > deadline:
                self.fail("condition not met in %s s" % timeout)
            yield self._later(0.05)

    def _later(self, delay):
        d = defer.Deferred()
        reactor.callLater(delay, d.callback, None)
        return d
