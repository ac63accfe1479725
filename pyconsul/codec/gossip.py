"""The gossip wire: messages <-> bytes, compound packets, and encryption.

Layout of one message: a type byte, then the message's fields as one msgpack
array. The type numbers of the membership messages follow memberlist's; the
Serf messages sit at 32 and above. (The bytes are not memberlist's own: field
order and framing are ours, so pyconsul agents talk to each other only.)

A datagram holds either one message or a compound of several::

    COMPOUND(7) | count (1 byte) | count x length (2 bytes, big-endian) | messages

With a keyring, the whole datagram (or stream frame) is sealed with
AES-GCM::

    version (1 byte, = 1) | nonce (12 bytes) | ciphertext | tag (16 bytes)

The primary key seals; every installed key is tried when opening, so keys can
be rotated without a flag day.

Anything malformed, truncated, oversized or sealed with an unknown key raises
``CodecError`` and nothing else.
"""

import base64
import binascii
import os
import struct
from typing import Any, Callable, Iterable, Sequence

import msgpack
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pyconsul.core.serf.config import USER_EVENT_SANE_LIMIT
from pyconsul.core.serf.messages import JoinIntent, LeaveIntent, SerfState, UserEventMessage
from pyconsul.core.swim.messages import (
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


class CodecError(ValueError):
    """Input that is not a well-formed gossip packet, stream frame or key."""


# ---------------------------------------------------------------------------
# Sizes the membership core needs to pack datagrams.

UDP_BUFFER_SIZE = 1400  # memberlist's UDPBufferSize: one datagram, no IP fragmentation
COMPOUND_HEADER_OVERHEAD = 2  # type byte + count byte
COMPOUND_PART_OVERHEAD = 2  # one length field per message
MAX_COMPOUND_PARTS = 255
ENCRYPTION_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
ENCRYPTION_OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE

COMPOUND = 7

# Limits on what we accept. They bound the memory a hostile packet can claim.
MAX_NAME_LENGTH = 512
MAX_META_LENGTH = 512  # memberlist's MetaMaxSize
MAX_USER_STATE_LENGTH = 16 * 1024 * 1024
MAX_PUSH_PULL_NODES = 1_000_000
MAX_ACK_PAYLOAD = UDP_BUFFER_SIZE  # memberlist's ackResp.Payload (Serf's coordinate: ~130 bytes)
MAX_UINT32 = 2**32 - 1
MAX_UINT64 = 2**64 - 1


# ---------------------------------------------------------------------------
# Field checks. Each takes a decoded msgpack value and returns it (converted
# where needed) or raises CodecError.


def _uint(limit: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        # bool is an int subclass; msgpack keeps them apart and so do we.
        if type(value) is not int or not 0 <= value <= limit:
            raise CodecError(f"expected an integer in 0..{limit}, got {value!r:.40}")
        return value

    return check


_uint32 = _uint(MAX_UINT32)
_uint64 = _uint(MAX_UINT64)
_uint8 = _uint(255)


def _text(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if type(value) is not str or len(value) > limit:
            raise CodecError(f"expected a string of at most {limit} characters")
        return value

    return check


_name = _text(MAX_NAME_LENGTH)


def _blob(limit: int) -> Callable[[Any], bytes]:
    def check(value: Any) -> bytes:
        if type(value) is not bytes or len(value) > limit:
            raise CodecError(f"expected at most {limit} bytes")
        return value

    return check


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise CodecError("expected a boolean")
    return value


def _address(value: Any) -> tuple[str, int]:
    if type(value) is not tuple or len(value) != 2:
        raise CodecError("expected an address [host, port]")
    host, port = value
    if type(host) is not str or not 0 < len(host) <= 255:
        raise CodecError("expected a host name or IP address")
    if type(port) is not int or not 0 <= port <= 65535:
        raise CodecError("expected a port number")
    return value


def _versions(value: Any) -> tuple[int, ...]:
    if type(value) is not tuple or len(value) != 6:
        raise CodecError("expected six protocol version numbers")
    for number in value:
        _uint8(number)
    return value


def _tuple_of(check: Callable[[Any], Any], limit: int) -> Callable[[Any], tuple]:
    def check_all(value: Any) -> tuple:
        if type(value) is not tuple or len(value) > limit:
            raise CodecError(f"expected an array of at most {limit} items")
        return tuple(check(item) for item in value)

    return check_all


def _record(cls: type, *checks: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A check for an array whose items become the fields of ``cls``."""
    width = len(checks)

    def build(value: Any) -> Any:
        if type(value) is not tuple or len(value) != width:
            raise CodecError(f"expected {cls.__name__} with {width} fields")
        return cls(*[check(item) for check, item in zip(checks, value)])

    return build


def _ltime_pair(value: Any) -> tuple[str, int]:
    if type(value) is not tuple or len(value) != 2:
        raise CodecError("expected a [name, ltime] pair")
    return (_name(value[0]), _uint64(value[1]))


_event_name = _text(USER_EVENT_SANE_LIMIT)
_event_payload = _blob(USER_EVENT_SANE_LIMIT)
MAX_RECENT_EVENTS = 1 << 16  # slots of the event buffer, and events in one slot


def _seen_event(value: Any) -> tuple[str, bytes]:
    if type(value) is not tuple or len(value) != 2:
        raise CodecError("expected a [name, payload] pair")
    return (_event_name(value[0]), _event_payload(value[1]))


_seen_events = _tuple_of(_seen_event, MAX_RECENT_EVENTS)


def _event_slot(value: Any) -> tuple[int, tuple]:
    if type(value) is not tuple or len(value) != 2:
        raise CodecError("expected an [ltime, events] pair")
    return (_uint64(value[0]), _seen_events(value[1]))


_recent_events = _tuple_of(_event_slot, MAX_RECENT_EVENTS)


_SERF_STATE = _record(
    SerfState,
    _uint64,
    _tuple_of(_ltime_pair, MAX_PUSH_PULL_NODES),
    _tuple_of(_name, MAX_PUSH_PULL_NODES),
    _uint64,
    _recent_events,
)


_ACK = _record(Ack, _uint32, _blob(MAX_ACK_PAYLOAD))


def _ack(value: Any) -> Ack:
    # An ack without a payload is written as [seq] (as before payloads).
    if type(value) is tuple and len(value) == 1:
        value = value + (b"",)
    return _ACK(value)


def _serf_state(value: Any) -> SerfState:
    # Agents from before user events send the first three fields only.
    if type(value) is tuple and len(value) == 3:
        value = value + (0, ())
    return _SERF_STATE(value)


# ---------------------------------------------------------------------------
# The message table.

_BUILDERS: dict[int, Callable[[Any], Any]] = {
    0: _record(Ping, _uint32, _text(MAX_NAME_LENGTH), _address, _name),
    1: _record(IndirectPing, _uint32, _name, _address, _bool, _address, _name),
    2: _ack,
    3: _record(Suspect, _uint32, _name, _name),
    4: _record(Alive, _uint32, _name, _address, _blob(MAX_META_LENGTH), _versions),
    5: _record(Dead, _uint32, _name, _name),
    6: _record(
        PushPull,
        _bool,
        _tuple_of(
            _record(
                PushNodeState,
                _name,
                _address,
                _blob(MAX_META_LENGTH),
                _uint32,
                _uint(3),
                _versions,
            ),
            MAX_PUSH_PULL_NODES,
        ),
        _blob(MAX_USER_STATE_LENGTH),
    ),
    11: _record(Nack, _uint32),
    32: _record(LeaveIntent, _uint64, _name, _bool),
    33: _record(JoinIntent, _uint64, _name),
    34: _serf_state,
    35: _record(UserEventMessage, _uint64, _event_name, _event_payload, _bool),
}

_TYPE_CODES: dict[type, int] = {
    Ping: 0,
    IndirectPing: 1,
    Ack: 2,
    Suspect: 3,
    Alive: 4,
    Dead: 5,
    PushPull: 6,
    Nack: 11,
    LeaveIntent: 32,
    JoinIntent: 33,
    SerfState: 34,
    UserEventMessage: 35,
}

_packer = msgpack.Packer(use_bin_type=True)


def encode_message(message: Any) -> bytes:
    """One message as bytes: its type byte, then its fields."""
    try:
        code = _TYPE_CODES[type(message)]
    except KeyError:
        raise TypeError(f"no wire format for {type(message).__name__}") from None
    if code == 2 and not message.payload:
        message = (message.seq,)
    return bytes((code,)) + _packer.pack(message)


def decode_message(data: bytes) -> Any:
    """The message in ``data``; raises CodecError if it is not exactly one."""
    if len(data) < 2:
        raise CodecError("message too short")
    builder = _BUILDERS.get(data[0])
    if builder is None:
        raise CodecError(f"unknown message type {data[0]}")
    try:
        fields = msgpack.unpackb(
            data[1:],
            use_list=False,  # arrays become tuples: hashable, and what the checks expect
            raw=False,
            strict_map_key=True,
        )
    except Exception as error:  # msgpack raises several unrelated types
        raise CodecError(f"undecodable message body: {error}") from None
    return builder(fields)


# ---------------------------------------------------------------------------
# Datagrams.


def packed_size(parts: Sequence[bytes]) -> int:
    """The size of ``pack_packet(parts)`` without building it."""
    if len(parts) == 1:
        return len(parts[0])
    return (
        COMPOUND_HEADER_OVERHEAD
        + COMPOUND_PART_OVERHEAD * len(parts)
        + sum(len(part) for part in parts)
    )


def pack_packet(parts: Sequence[bytes]) -> bytes:
    """Encoded messages -> one datagram (a compound when there are several)."""
    if not parts:
        raise ValueError("a packet needs at least one message")
    if len(parts) == 1:
        return parts[0]
    if len(parts) > MAX_COMPOUND_PARTS:
        raise ValueError("too many messages for one compound packet")
    lengths = struct.pack(f">{len(parts)}H", *(len(part) for part in parts))
    return bytes((COMPOUND, len(parts))) + lengths + b"".join(parts)


def encode_packet(messages: Iterable[Any]) -> bytes:
    return pack_packet([encode_message(message) for message in messages])


def decode_packet(data: bytes) -> list[Any]:
    """A datagram -> its messages. A compound must be exactly as long as its
    header says; nested compounds are refused."""
    if not data:
        raise CodecError("empty packet")
    if data[0] != COMPOUND:
        return [decode_message(data)]
    if len(data) < COMPOUND_HEADER_OVERHEAD:
        raise CodecError("truncated compound header")
    count = data[1]
    if count == 0:
        raise CodecError("empty compound packet")
    body_start = COMPOUND_HEADER_OVERHEAD + COMPOUND_PART_OVERHEAD * count
    if len(data) < body_start:
        raise CodecError("truncated compound length table")
    lengths = struct.unpack_from(f">{count}H", data, COMPOUND_HEADER_OVERHEAD)
    if body_start + sum(lengths) != len(data):
        raise CodecError("compound lengths do not match the packet size")
    messages = []
    offset = body_start
    for length in lengths:
        part = data[offset : offset + length]
        offset += length
        if part[:1] == bytes((COMPOUND,)):
            raise CodecError("nested compound packet")
        messages.append(decode_message(part))
    return messages


# ---------------------------------------------------------------------------
# Stream frames (push-pull over TCP): a 4-byte length, then one message.

STREAM_LENGTH_PREFIX = 4
MAX_STREAM_FRAME = MAX_USER_STATE_LENGTH * 2


def encode_stream_frame(message: Any) -> bytes:
    body = encode_message(message)
    return struct.pack(">I", len(body)) + body


def stream_frame_length(prefix: bytes) -> int:
    """The body length announced by a frame's first four bytes."""
    if len(prefix) != STREAM_LENGTH_PREFIX:
        raise CodecError("truncated stream frame length")
    (length,) = struct.unpack(">I", prefix)
    if not 2 <= length <= MAX_STREAM_FRAME:
        raise CodecError(f"stream frame of {length} bytes refused")
    return length


# ---------------------------------------------------------------------------
# Keys and encryption.

KEY_SIZES = (16, 24, 32)  # AES-128/192/256, as Consul accepts; `keygen` makes 32


def parse_key(text: str) -> bytes:
    """A key as given to -encrypt (base64) -> its bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CodecError("encryption key is not valid base64") from None
    if len(key) not in KEY_SIZES:
        raise CodecError(
            f"encryption key must be 16, 24 or 32 bytes once decoded, not {len(key)}"
        )
    return key


def new_key() -> str:
    """A fresh random 32-byte key in the form -encrypt takes."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


class Keyring:
    """The gossip keys of one agent: the primary seals, all of them open."""

    def __init__(
        self,
        keys: Sequence[bytes],
        nonce_source: Callable[[int], bytes] = os.urandom,
    ):
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._ciphers: dict[bytes, AESGCM] = {}
        for key in keys:
            self.install(key)
        self._primary = keys[0]
        self._nonce_source = nonce_source

    @classmethod
    def from_base64(cls, keys: Sequence[str], **kwargs: Any) -> "Keyring":
        """The first key becomes the primary."""
        return cls([parse_key(key) for key in keys], **kwargs)

    @property
    def primary_key(self) -> bytes:
        return self._primary

    @property
    def keys(self) -> list[bytes]:
        """Primary first, then the others in the order they were installed."""
        return [self._primary] + [key for key in self._ciphers if key != self._primary]

    def install(self, key: bytes) -> None:
        if len(key) not in KEY_SIZES:
            raise ValueError("AES keys are 16, 24 or 32 bytes")
        if key not in self._ciphers:
            self._ciphers[key] = AESGCM(key)

    def use(self, key: bytes) -> None:
        """Make an installed key the primary."""
        if key not in self._ciphers:
            raise KeyError("install the key before using it")
        self._primary = key

    def remove(self, key: bytes) -> None:
        if key == self._primary:
            raise ValueError("the primary key cannot be removed")
        self._ciphers.pop(key, None)

    def seal(self, plaintext: bytes) -> bytes:
        nonce = self._nonce_source(NONCE_SIZE)
        sealed = self._ciphers[self._primary].encrypt(nonce, plaintext, None)
        return bytes((ENCRYPTION_VERSION,)) + nonce + sealed

    def open(self, data: bytes) -> bytes:
        if len(data) < ENCRYPTION_OVERHEAD:
            raise CodecError("encrypted packet too short")
        if data[0] != ENCRYPTION_VERSION:
            raise CodecError(f"unknown encryption version {data[0]}")
        nonce = data[1 : 1 + NONCE_SIZE]
        sealed = data[1 + NONCE_SIZE :]
        # Primary first: it is the key nearly every packet uses.
        for key in self.keys:
            try:
                return self._ciphers[key].decrypt(nonce, sealed, None)
            except InvalidTag:
                continue
        raise CodecError("no installed key opens this packet (wrong key, or not encrypted)")
