"""The Raft and RPC wires: round trips, and garbage that only ever raises CodecError."""

import msgpack
from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.codec import raft, rpc
from pyconsul.core.raft import (
    AppendRequest,
    AppendResponse,
    Configuration,
    Entry,
    EntryType,
    Server,
    SnapshotMeta,
    SnapshotRequest,
    SnapshotResponse,
    VoteRequest,
    VoteResponse,
)
from pyconsul.state.kv import DirEntry

META = SnapshotMeta(10, 2, Configuration([Server("a", "10.0.0.1:8300"), Server("b", "10.0.0.2:8300", False)]))
MESSAGES = [
    VoteRequest(3, "a", "b", 10, 2),
    VoteResponse(3, "b", "a", True),
    AppendRequest(3, "a", "b", 9, 2, (Entry(10, 3, EntryType.COMMAND, b"\x00x"), Entry(11, 3, EntryType.NOOP)), 9, 4),
    AppendResponse(3, "b", "a", False, 9, hint=5),
    SnapshotRequest(3, "a", "b", META),
    SnapshotResponse(3, "b", "a", 10),
    raft.SnapshotChunk(3, "a", "b", META, 0, b"data", True),
]


class RaftCodecTests(SynchronousTestCase):
    def test_round_trips(self):
        for message in MESSAGES:
            self.assertEqual(raft.decode(raft.encode(message)), message)

    def test_frames(self):
        data = b"".join(raft.frame(m) for m in MESSAGES)
        reader = raft.FrameReader()
        bodies = []
        for i in range(0, len(data), 7):
            bodies.extend(reader.feed(data[i : i + 7]))
        self.assertEqual([raft.decode(b) for b in bodies], MESSAGES)

    def test_oversized_frame(self):
        self.assertRaises(raft.CodecError, raft.FrameReader(limit=100).feed, b"\x00\x00\x10\x00")

    def test_wrong_shapes(self):
        bad = [
            msgpack.packb([99, 1]),
            msgpack.packb([1, 3, "a", "b", 10]),  # a field short
            msgpack.packb([1, -3, "a", "b", 10, 2]),
            msgpack.packb([3, 3, "a", "b", 9, 2, [[1, 2, 77, b""]], 9, 0]),  # unknown entry type
            msgpack.packb([5, 3, "a", "b", [1, 2, b"\xc1"]]),  # bad configuration
            msgpack.packb({"not": "a list"}),
            b"\xc1",
        ]
        for data in bad:
            self.assertRaises(raft.CodecError, raft.decode, data)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200))
    def test_garbage_raises_only_codec_errors(self, data):
        try:
            raft.decode(data)
        except raft.CodecError:
            pass

    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from(MESSAGES), st.integers(0, 60), st.integers(0, 255))
    def test_corrupted_messages_raise_only_codec_errors(self, message, position, byte):
        data = bytearray(raft.encode(message))
        data[position % len(data)] = byte
        try:
            raft.decode(bytes(data))
        except raft.CodecError:
            pass


class RPCCodecTests(SynchronousTestCase):
    def test_requests_and_replies_with_entries(self):
        entry = DirEntry("k", b"v", 3, 5, 6, 0, None)
        request = {"Seq": 1, "Method": "KVS.Get", "Args": {"Key": "k", "QueryOptions": {"AllowStale": True}}}
        body = rpc.frame(request)[4:]
        self.assertEqual(rpc.decode_request(body), request)
        reply = {"Seq": 1, "Error": None, "Result": {"Entries": [entry], "Index": 6}}
        self.assertEqual(rpc.decode_reply(rpc.encode(reply))["Result"]["Entries"], [entry])

    def test_malformed(self):
        for data in (b"\xc1", msgpack.packb([1]), msgpack.packb({"Seq": "x", "Method": "m", "Args": {}}),
                     msgpack.packb({"Seq": 1, "Method": "m", "Args": []}),
                     msgpack.packb({"Seq": 1, "Method": "m", "Args": {"x": msgpack.ExtType(9, b"")}})):
            self.assertRaises(rpc.CodecError, rpc.decode_request, data)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200))
    def test_garbage(self, data):
        for decoder in (rpc.decode_request, rpc.decode_reply):
            try:
                decoder(data)
            except rpc.CodecError:
                pass
