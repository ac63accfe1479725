"""Go's base64.StdEncoding: padded standard base64, decoded with Go's rules.

Consul decodes ``kv put -base64`` data and ``kv import`` values, and confd's
``base64Decode`` decodes template text, with Go's decoder, which differs from
Python's: line breaks (``\\r``, ``\\n``) are skipped anywhere, padding is
required, bits left over in the last character are ignored, and an error names
the offset of the offending byte (``illegal base64 data at input byte 4``),
which both show to the user.
"""

import base64
import binascii

from pyconsul.golang.errors import GoError

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {byte: index for index, byte in enumerate(_ALPHABET)}
_PAD = ord("=")
_LINE_BREAKS = (ord("\r"), ord("\n"))


class CorruptInputError(GoError):
    """base64.CorruptInputError: the input is not base64 from ``offset`` on."""

    def __init__(self, offset):
        super().__init__("illegal base64 data at input byte %d" % offset)
        self.offset = offset


def encode(data):
    """base64.StdEncoding.EncodeToString: bytes to padded base64 text."""
    return base64.b64encode(data).decode("ascii")


def decode(data):
    """base64.StdEncoding.DecodeString for bytes (or str, read as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if len(data) % 4 == 0 and b"\n" not in data and b"\r" not in data:
        # Whole quanta without line breaks: whatever Python's validating
        # decoder accepts, Go accepts with the same result.
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error:
            pass  # decode again below to find the offset Go reports
    output = bytearray()
    position = 0
    while position < len(data):
        position, chunk, done = _decode_quantum(data, position)
        output += chunk
        if done:
            break
    return bytes(output)


def _decode_quantum(data, position):
    """Read up to four characters; returns (next position, bytes, end reached)."""
    values = []
    while len(values) < 4:
        if position == len(data):
            if not values:
                return position, b"", True
            # Input ended inside a quantum: padding was required.
            raise CorruptInputError(position - len(values))
        byte = data[position]
        position += 1
        if byte in _VALUE:
            values.append(_VALUE[byte])
            continue
        if byte in _LINE_BREAKS:
            continue
        if byte != _PAD:
            raise CorruptInputError(position - 1)
        # Padding: legal only after two or three characters, and must end the input.
        if len(values) < 2:
            raise CorruptInputError(position - 1)
        if len(values) == 2:
            position = _skip_line_breaks(data, position)
            if position == len(data):
                raise CorruptInputError(len(data))
            if data[position] != _PAD:
                raise CorruptInputError(position - 1)
            position += 1
        position = _skip_line_breaks(data, position)
        if position < len(data):
            raise CorruptInputError(position)
        return position, _assemble(values), True
    return position, _assemble(values), False


def _skip_line_breaks(data, position):
    while position < len(data) and data[position] in _LINE_BREAKS:
        position += 1
    return position


def _assemble(values):
    """Four 6-bit values make three bytes; two or three values make one or two."""
    bits = 0
    for value in values + [0] * (4 - len(values)):
        bits = (bits << 6) | value
    return bits.to_bytes(3, "big")[: len(values) - 1]
