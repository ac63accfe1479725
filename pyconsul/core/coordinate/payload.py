"""The coordinate a member attaches to its acks (Serf's ping delegate).

An ack's payload is a version byte (Serf's ``PingVersion``, 1) followed by
the coordinate as msgpack: a map with Serf's field names, ``Vec``,
``Error``, ``Adjustment`` and ``Height``, as go-msgpack writes the struct.
Anything else -- another version, bytes that do not decode, a coordinate
of the wrong shape -- raises ``PayloadError``.
"""

import msgpack

from pyconsul.core.coordinate.coordinate import Coordinate

PING_VERSION = 1
MAX_PAYLOAD = 1024  # a coordinate of 8 dimensions takes about 130 bytes

_packer = msgpack.Packer(use_bin_type=True)


class PayloadError(ValueError):
    """An ack payload that does not hold a coordinate."""


def encode_payload(coordinate: Coordinate) -> bytes:
    return bytes((PING_VERSION,)) + _packer.pack(coordinate.to_dict())


def decode_payload(payload: bytes) -> Coordinate:
    if not payload:
        raise PayloadError("empty payload")
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError("payload of %d bytes is too large for a coordinate" % len(payload))
    if payload[0] != PING_VERSION:
        raise PayloadError("Unsupported ping version: %d" % payload[0])
    try:
        value = msgpack.unpackb(payload[1:], raw=False, strict_map_key=True, use_list=True)
    except Exception as error:  # msgpack raises several unrelated types
        raise PayloadError("Failed to decode coordinate from ping: %s" % error) from None
    try:
        return Coordinate.from_dict(value)
    except ValueError as error:
        raise PayloadError("Failed to decode coordinate from ping: %s" % error) from None
