"""The Raft wire: messages between servers <-> bytes.

A message is one msgpack array: a type code, then the message's fields in
their declared order. Entries travel as ``[index, term, type, data]`` and a
snapshot's metadata as ``[index, term, configuration]``. Frames on a stream
are a 4-byte big-endian length and the body. Anything malformed raises
``CodecError``.
"""

import struct

import attr
import msgpack

from pyconsul.core.raft import messages as raft
from pyconsul.core.raft.configuration import Configuration
from pyconsul.core.raft.messages import Entry, EntryType, SnapshotMeta

MAX_FRAME = 64 * 1024 * 1024  # a batch of entries; values are at most 512 KiB each
LENGTH = struct.Struct(">I")


class CodecError(ValueError):
    """Bytes that are not a well-formed Raft frame."""


@attr.s(frozen=True, slots=True)
class SnapshotChunk:
    """A piece of a snapshot's bytes, sent by the leader's driver in place
    of the core's SnapshotRequest; the last one (``done``) completes it."""

    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
    meta: SnapshotMeta = attr.ib()
    offset: int = attr.ib()
    data: bytes = attr.ib()
    done: bool = attr.ib()


def _int(value):
    if type(value) is not int or value < 0:
        raise CodecError("expected a non-negative integer")
    return value


def _str(value):
    if type(value) is not str or len(value) > 1024:
        raise CodecError("expected a short string")
    return value


def _bool(value):
    if type(value) is not bool:
        raise CodecError("expected a boolean")
    return value


def _bytes(value):
    if type(value) is not bytes:
        raise CodecError("expected bytes")
    return value


def _entries(value):
    if type(value) is not list:
        raise CodecError("expected a list of entries")
    out = []
    for item in value:
        if type(item) is not list or len(item) != 4:
            raise CodecError("expected an entry [index, term, type, data]")
        index, term, kind, data = item
        try:
            kind = EntryType(_int(kind))
        except ValueError:
            raise CodecError("unknown entry type %r" % (kind,))
        out.append(Entry(_int(index), _int(term), kind, _bytes(data)))
    return tuple(out)


def _meta(value):
    if type(value) is not list or len(value) != 3:
        raise CodecError("expected snapshot metadata [index, term, configuration]")
    index, term, configuration = value
    try:
        configuration = Configuration.decode(_bytes(configuration))
    except CodecError:
        raise
    except Exception as e:
        raise CodecError("bad configuration: %s" % e)
    return SnapshotMeta(_int(index), _int(term), configuration)


# How each field is checked, by name: the message classes share names.
_FIELD_CHECKS = {
    "src": _str,
    "dst": _str,
    "granted": _bool,
    "success": _bool,
    "pre_vote": _bool,
    "done": _bool,
    "entries": _entries,
    "meta": _meta,
    "data": _bytes,
}

# Type codes: never renumber, only add.
_TYPES = [
    (1, raft.VoteRequest),
    (2, raft.VoteResponse),
    (3, raft.AppendRequest),
    (4, raft.AppendResponse),
    (5, raft.SnapshotRequest),
    (6, raft.SnapshotResponse),
    (7, SnapshotChunk),
    (8, raft.TimeoutNow),
]
_CODES = {cls: code for code, cls in _TYPES}
_CLASSES = {code: cls for code, cls in _TYPES}


def _encode_field(name, value):
    if name == "entries":
        return [[e.index, e.term, int(e.type), e.data] for e in value]
    if name == "meta":
        return [value.index, value.term, value.configuration.encode()]
    return value


def encode(message):
    fields = attr.fields(type(message))
    body = [_CODES[type(message)]]
    body.extend(_encode_field(f.name, getattr(message, f.name)) for f in fields)
    return msgpack.packb(body, use_bin_type=True)


def decode(data):
    try:
        body = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as e:  # msgpack raises several types on garbage
        raise CodecError("undecodable Raft message: %s" % e)
    if type(body) is not list or not body or type(body[0]) is not int or body[0] not in _CLASSES:
        raise CodecError("not a Raft message")
    cls = _CLASSES[body[0]]
    fields = attr.fields(cls)
    values = body[1:]
    if len(values) != len(fields):
        raise CodecError("%s with %d fields, expected %d" % (cls.__name__, len(values), len(fields)))
    return cls(*(_FIELD_CHECKS.get(f.name, _int)(v) for f, v in zip(fields, values)))


def frame(message):
    body = encode(message)
    return LENGTH.pack(len(body)) + body


class FrameReader:
    """Splits a stream into frame bodies; a length over ``limit`` is an error."""

    def __init__(self, limit=MAX_FRAME):
        self.limit = limit
        self._buffer = bytearray()

    def feed(self, data):
        self._buffer += data
        frames = []
        while len(self._buffer) >= LENGTH.size:
            (length,) = LENGTH.unpack_from(self._buffer)
            if length > self.limit:
                raise CodecError("frame of %d bytes refused" % length)
            end = LENGTH.size + length
            if len(self._buffer) < end:
                break
            frames.append(bytes(self._buffer[LENGTH.size : end]))
            del self._buffer[:end]
        return frames
