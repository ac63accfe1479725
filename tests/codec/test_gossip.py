"""The gossip codec: round trips, compound packets, keys, and hostile input."""

import base64
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.codec import gossip
from pyconsul.codec.gossip import CodecError, Keyring
from pyconsul.core.serf.messages import JoinIntent, LeaveIntent, SerfState
from pyconsul.core.swim.messages import (
    DEFAULT_VSN,
    Ack,
    Alive,
    Dead,
    IndirectPing,
    Nack,
    Ping,
    PushNodeState,
    PushPull,
    Suspect,
)

ADDR = ("10.0.0.1", 8301)

EVERY_MESSAGE = [
    Ping(7, "node-a", ADDR, "node-b"),
    Ping(0, "", ADDR, "node-b"),
    IndirectPing(2**32 - 1, "node-a", ADDR, True, ("10.0.0.2", 8301), "node-c"),
    Ack(1),
    Nack(99),
    Suspect(3, "node-a", "node-b"),
    Alive(4, "node-a", ADDR, b"\x81\xa4role\xa4node", DEFAULT_VSN),
    Dead(5, "node-a", "node-a"),
    PushPull(
        True,
        (
            PushNodeState("node-a", ADDR, b"", 1, 0, DEFAULT_VSN),
            PushNodeState("node-b", ("10.0.0.2", 8301), b"m", 9, 3, DEFAULT_VSN),
        ),
        b"serf state",
    ),
    PushPull(False, (), b""),
    JoinIntent(12, "node-a"),
    LeaveIntent(2**64 - 1, "node-a", False),
    SerfState(40, (("node-a", 3), ("node-b", 39)), ("node-b",)),
]


class MessageRoundTripTests(SynchronousTestCase):
    def test_every_message_survives_a_round_trip(self):
        for message in EVERY_MESSAGE:
            with self.subTest(message=type(message).__name__):
                decoded = gossip.decode_message(gossip.encode_message(message))
                self.assertEqual(decoded, message)
                self.assertIs(type(decoded), type(message))

    def test_nested_records_come_back_as_their_types(self):
        decoded = gossip.decode_message(gossip.encode_message(EVERY_MESSAGE[8]))
        self.assertIsInstance(decoded.nodes[0], PushNodeState)

    def test_unknown_object_cannot_be_encoded(self):
        self.assertRaises(TypeError, gossip.encode_message, ("not", "a", "message"))


class PacketTests(SynchronousTestCase):
    def test_single_message_is_sent_bare(self):
        part = gossip.encode_message(Ack(3))
        self.assertEqual(gossip.pack_packet([part]), part)
        self.assertEqual(gossip.decode_packet(part), [Ack(3)])

    def test_compound_round_trip_and_size(self):
        messages = EVERY_MESSAGE[:8]
        parts = [gossip.encode_message(m) for m in messages]
        packet = gossip.pack_packet(parts)
        self.assertEqual(len(packet), gossip.packed_size(parts))
        self.assertEqual(packet[0], gossip.COMPOUND)
        self.assertEqual(gossip.decode_packet(packet), messages)

    def test_compound_with_wrong_total_length_is_refused(self):
        packet = gossip.encode_packet([Ack(1), Ack(2)])
        for broken in (packet[:-1], packet + b"\x00"):
            with self.subTest(length=len(broken)):
                self.assertRaises(CodecError, gossip.decode_packet, broken)

    def test_nested_compound_is_refused(self):
        inner = gossip.encode_packet([Ack(1), Ack(2)])
        outer = gossip.pack_packet([inner, gossip.encode_message(Ack(3))])
        self.assertRaises(CodecError, gossip.decode_packet, outer)

    def test_malformed_packets(self):
        bad = {
            "empty": b"",
            "unknown type": b"\x63\x90",
            "type only": b"\x02",
            "empty compound": bytes((gossip.COMPOUND, 0)),
            "truncated length table": bytes((gossip.COMPOUND, 3, 0)),
            "not an array": b"\x02\x05",
            "too few fields": b"\x00\x93\x01\xa1a\x92\xa1h\x01",
            "boolean as integer": b"\x02\x91\xc3",
            "negative sequence": b"\x02\x91\xff",
            "port out of range": gossip.encode_message(Ping(1, "a", ("h", 1), "b")).replace(
                b"\x01\xa1b", b"\xce\x00\x01\x00\x00\xa1b"
            ),
            "trailing bytes": gossip.encode_message(Ack(1)) + b"\x00",
            "map with array key": b"\x02\x91\x81\x91\x01\x01",
        }
        for label, data in bad.items():
            with self.subTest(label):
                self.assertRaises(CodecError, gossip.decode_packet, data)

    def test_oversized_meta_is_refused(self):
        alive = Alive(1, "a", ADDR, b"x" * (gossip.MAX_META_LENGTH + 1), DEFAULT_VSN)
        self.assertRaises(CodecError, gossip.decode_message, gossip.encode_message(alive))

    def test_stream_frame(self):
        frame = gossip.encode_stream_frame(Ack(5))
        length = gossip.stream_frame_length(frame[:4])
        self.assertEqual(length, len(frame) - 4)
        self.assertEqual(gossip.decode_message(frame[4:]), Ack(5))
        self.assertRaises(CodecError, gossip.stream_frame_length, b"\x00\x00")
        self.assertRaises(CodecError, gossip.stream_frame_length, struct.pack(">I", 2**31))


def _counting_nonces():
    counter = iter(range(1, 10**9))
    return lambda size: next(counter).to_bytes(size, "big")


class KeyringTests(SynchronousTestCase):
    key_a = bytes(range(32))
    key_b = bytes(range(32, 64))

    def test_seal_and_open(self):
        ring = Keyring([self.key_a], nonce_source=_counting_nonces())
        sealed = ring.seal(b"hello")
        self.assertEqual(len(sealed), len(b"hello") + gossip.ENCRYPTION_OVERHEAD)
        self.assertNotIn(b"hello", sealed)
        self.assertEqual(ring.open(sealed), b"hello")

    def test_all_installed_keys_open_but_the_primary_seals(self):
        old = Keyring([self.key_a])
        rotating = Keyring([self.key_b, self.key_a])
        self.assertEqual(rotating.open(old.seal(b"x")), b"x")
        self.assertRaises(CodecError, old.open, rotating.seal(b"x"))
        rotating.use(self.key_a)
        self.assertEqual(old.open(rotating.seal(b"y")), b"y")

    def test_wrong_key_and_plaintext_are_refused(self):
        ring = Keyring([self.key_a])
        stranger = Keyring([self.key_b])
        self.assertRaises(CodecError, ring.open, stranger.seal(b"x"))
        self.assertRaises(CodecError, ring.open, gossip.encode_packet([Ack(1), Ack(2)]))
        self.assertRaises(CodecError, ring.open, b"\x01short")

    def test_tampering_is_detected(self):
        ring = Keyring([self.key_a])
        sealed = bytearray(ring.seal(b"payload"))
        sealed[-1] ^= 1
        self.assertRaises(CodecError, ring.open, bytes(sealed))

    def test_key_management(self):
        ring = Keyring([self.key_a])
        ring.install(self.key_b)
        self.assertEqual(ring.keys, [self.key_a, self.key_b])
        self.assertRaises(ValueError, ring.remove, self.key_a)
        ring.use(self.key_b)
        ring.remove(self.key_a)
        self.assertEqual(ring.keys, [self.key_b])
        self.assertRaises(KeyError, ring.use, self.key_a)

    def test_parse_key(self):
        self.assertEqual(gossip.parse_key(base64.b64encode(self.key_a).decode()), self.key_a)
        for bad in ("not base64!", base64.b64encode(b"short").decode(), ""):
            with self.subTest(bad):
                self.assertRaises(CodecError, gossip.parse_key, bad)

    def test_new_key_is_32_random_bytes(self):
        first, second = gossip.new_key(), gossip.new_key()
        self.assertEqual(len(gossip.parse_key(first)), 32)
        self.assertNotEqual(first, second)


_messages = st.sampled_from(EVERY_MESSAGE)


class FuzzTests(SynchronousTestCase):
    """However broken the input, the codec answers with CodecError only."""

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.binary(max_size=300))
    def test_random_bytes(self, data):
        try:
            messages = gossip.decode_packet(data)
        except CodecError:
            return
        for message in messages:
            self.assertIn(type(message).__name__, {type(m).__name__ for m in EVERY_MESSAGE})

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.lists(_messages, min_size=1, max_size=5), st.data())
    def test_truncated_and_flipped_packets(self, messages, data):
        packet = bytearray(gossip.encode_packet(messages))
        cut = data.draw(st.integers(0, len(packet)))
        flips = data.draw(st.lists(st.integers(0, max(0, cut - 1)), max_size=3))
        broken = packet[:cut]
        for position in flips:
            if broken:
                broken[position] ^= data.draw(st.integers(1, 255))
        try:
            gossip.decode_packet(bytes(broken))
        except CodecError:
            pass

    @settings(max_examples=200, deadline=None, database=None)
    @given(st.binary(max_size=200))
    def test_random_bytes_against_a_keyring(self, data):
        ring = Keyring([bytes(32)])
        try:
            ring.open(data)
        except CodecError:
            pass
        else:
            self.fail("random bytes opened with a key")

    @settings(max_examples=200, deadline=None, database=None)
    @given(st.recursive(
        st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.text(max_size=5)
        | st.binary(max_size=5) | st.floats(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=12,
    ), st.sampled_from([0, 1, 2, 3, 4, 5, 6, 11, 32, 33, 34]))
    def test_well_formed_msgpack_of_the_wrong_shape(self, value, code):
        import msgpack

        data = bytes((code,)) + msgpack.packb(value)
        try:
            gossip.decode_message(data)
        except CodecError:
            pass
