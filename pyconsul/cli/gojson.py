"""JSON as Go's encoding/json writes and checks it.

``kv export`` prints ``json.MarshalIndent(entries, "", "\\t")``; the bytes
must be Go's: tab indentation, ``<``, ``>`` and ``&`` escaped as ``\\u003c``
and friends, control characters as ``\\u00XX`` except ``\\n``, ``\\r``,
``\\t``, U+2028/U+2029 escaped, other non-ASCII text written as UTF-8, and
broken text replaced by ``\\ufffd``.

``kv import`` reports malformed input with the message of Go's JSON scanner
(``invalid character 'o' in literal null (expecting 'u')``), which names the
first byte that cannot continue a JSON text; ``syntax_error`` finds it.
"""

from pyconsul import goparse

_HEX = "0123456789abcdef"
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HTML = ("<", ">", "&")


def encode_string(text):
    """A JSON string literal the way Go's encoder writes it (HTML-safe)."""
    pieces = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT:
            pieces.append(_SHORT[char])
        elif code < 0x20 or char in _HTML:
            pieces.append("\\u00" + _HEX[code >> 4] + _HEX[code & 0xF])
        elif 0xD800 <= code <= 0xDFFF:
            # A lone surrogate or an undecodable byte: Go writes the replacement character.
            pieces.append("\\ufffd")
        elif code in (0x2028, 0x2029):
            pieces.append("\\u%04x" % code)
        else:
            pieces.append(char)
    pieces.append('"')
    return "".join(pieces)


def marshal_indent(value, indent="\t", _depth=0):
    """json.MarshalIndent(value, "", indent) for lists, dicts (in their order),
    strings, integers, booleans and None."""
    inner = indent * (_depth + 1)
    outer = indent * _depth
    if isinstance(value, dict):
        if not value:
            return "{}"
        members = [
            inner + encode_string(key) + ": " + marshal_indent(item, indent, _depth + 1)
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(members) + "\n" + outer + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [inner + marshal_indent(item, indent, _depth + 1) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + outer + "]"
    if isinstance(value, str):
        return encode_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    raise TypeError("cannot encode %r" % (value,))


# ---------------------------------------------------------------- syntax check

MAX_DEPTH = 10000
_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_ESCAPABLE = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


def _quote_byte(byte):
    """Go's quoteChar: the byte as a quoted character ('x', '\\x01', 'Ã' for 0xc3)."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + goparse.quote(chr(byte))[1:-1] + "'"


class _Invalid(Exception):
    pass


class _Scanner:
    """Go's JSON scanner, reduced to what decides validity and its messages."""

    def __init__(self):
        self.stack = []  # "key" (expecting a key), "value" (after key:), "array"
        self.step = self.begin_value
        self.done = False
        self.literal = b""
        self.literal_index = 0
        self.hex_left = 0

    def fail(self, byte, context):
        raise _Invalid("invalid character %s %s" % (_quote_byte(byte), context))

    def push(self, byte, state):
        self.stack.append(state)
        if len(self.stack) > MAX_DEPTH:
            self.fail(byte, "exceeded max depth")

    def begin_value_or_empty(self, byte):
        if byte in _SPACE:
            return
        if byte == ord("]"):
            return self.end_value(byte)
        return self.begin_value(byte)

    def begin_value(self, byte):
        if byte in _SPACE:
            return
        if byte == ord("{"):
            self.push(byte, "key")
            self.step = self.begin_key_or_empty
        elif byte == ord("["):
            self.push(byte, "array")
            self.step = self.begin_value_or_empty
        elif byte == ord('"'):
            self.step = self.in_string
        elif byte == ord("-"):
            self.step = self.after_minus
        elif byte == ord("0"):
            self.step = self.after_zero
        elif ord("1") <= byte <= ord("9"):
            self.step = self.in_integer
        elif byte in _LITERALS:
            self.literal, self.literal_index = _LITERALS[byte], 1
            self.step = self.in_literal
        else:
            self.fail(byte, "looking for beginning of value")

    def begin_key_or_empty(self, byte):
        if byte in _SPACE:
            return
        if byte == ord("}"):
            self.stack[-1] = "value"
            return self.end_value(byte)
        return self.begin_key(byte)

    def begin_key(self, byte):
        if byte in _SPACE:
            return
        if byte != ord('"'):
            self.fail(byte, "looking for beginning of object key string")
        self.step = self.in_string

    def end_value(self, byte):
        if not self.stack:
            self.done = True
            self.step = self.end_top
            return self.end_top(byte)
        if byte in _SPACE:
            self.step = self.end_value
            return
        state = self.stack[-1]
        if state == "key":
            if byte == ord(":"):
                self.stack[-1] = "value"
                self.step = self.begin_value
                return
            self.fail(byte, "after object key")
        if state == "value":
            if byte == ord(","):
                self.stack[-1] = "key"
                self.step = self.begin_key
                return
            if byte == ord("}"):
                return self.pop()
            self.fail(byte, "after object key:value pair")
        if byte == ord(","):
            self.step = self.begin_value
            return
        if byte == ord("]"):
            return self.pop()
        self.fail(byte, "after array element")

    def pop(self):
        self.stack.pop()
        if self.stack:
            self.step = self.end_value
        else:
            self.done = True
            self.step = self.end_top

    def end_top(self, byte):
        if byte not in _SPACE:
            self.fail(byte, "after top-level value")

    def in_string(self, byte):
        if byte == ord('"'):
            self.step = self.end_value
        elif byte == ord("\\"):
            self.step = self.in_escape
        elif byte < 0x20:
            self.fail(byte, "in string literal")

    def in_escape(self, byte):
        if byte in _ESCAPABLE:
            self.step = self.in_string
        elif byte == ord("u"):
            self.hex_left = 4
            self.step = self.in_unicode_escape
        else:
            self.fail(byte, "in string escape code")

    def in_unicode_escape(self, byte):
        if byte not in _HEX_DIGITS:
            self.fail(byte, "in \\u hexadecimal character escape")
        self.hex_left -= 1
        if self.hex_left == 0:
            self.step = self.in_string

    def in_literal(self, byte):
        expected = self.literal[self.literal_index]
        if byte != expected:
            self.fail(byte, "in literal %s (expecting %s)" % (self.literal.decode(), _quote_byte(expected)))
        self.literal_index += 1
        if self.literal_index == len(self.literal):
            self.step = self.end_value

    def after_minus(self, byte):
        if byte == ord("0"):
            self.step = self.after_zero
        elif ord("1") <= byte <= ord("9"):
            self.step = self.in_integer
        else:
            self.fail(byte, "in numeric literal")

    def in_integer(self, byte):
        if byte in _DIGITS:
            return
        return self.after_zero(byte)

    def after_zero(self, byte):
        if byte == ord("."):
            self.step = self.after_point
        elif byte in (ord("e"), ord("E")):
            self.step = self.after_e
        else:
            return self.end_value(byte)

    def after_point(self, byte):
        if byte not in _DIGITS:
            self.fail(byte, "after decimal point in numeric literal")
        self.step = self.in_fraction

    def in_fraction(self, byte):
        if byte in _DIGITS:
            return
        if byte in (ord("e"), ord("E")):
            self.step = self.after_e
            return
        return self.end_value(byte)

    def after_e(self, byte):
        if byte in (ord("+"), ord("-")):
            self.step = self.after_exponent_sign
            return
        return self.after_exponent_sign(byte)

    def after_exponent_sign(self, byte):
        if byte not in _DIGITS:
            self.fail(byte, "in exponent of numeric literal")
        self.step = self.in_exponent

    def in_exponent(self, byte):
        if byte in _DIGITS:
            return
        return self.end_value(byte)


def syntax_error(data):
    """Go's message for the first syntax error in data (bytes), or None if valid."""
    scanner = _Scanner()
    try:
        for byte in data:
            scanner.step(byte)
        if not scanner.done:
            # Go feeds a space at the end: a number at top level ends there.
            scanner.step(ord(" "))
    except _Invalid as error:
        return str(error)
    if not scanner.done:
        return "unexpected end of JSON input"
    return None
