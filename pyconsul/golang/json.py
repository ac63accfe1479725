"""Go's encoding/json: the text it writes, the errors it reports, the values it reads.

Writing (``marshal``, ``marshal_indent``): Consul's HTTP API answers with
``json.Marshal`` (or ``MarshalIndent`` for ``?pretty``) and ``kv export``
prints ``json.MarshalIndent(entries, "", "\\t")``. Go's bytes differ from
Python's: ``<``, ``>``, ``&``, U+2028 and U+2029 are escaped (``\\u003c``),
``\\b`` and ``\\f`` are written ``\\u0008`` and ``\\u000c`` (Go before 1.22,
which Consul 1.10 is built with), and text that is not valid Unicode becomes
``\\ufffd``.

Checking (``syntax_error``): ``kv import`` and confd's ``json`` report bad
input with the message of Go's scanner, which names the first byte that
cannot continue a JSON text (``invalid character 'o' in literal null
(expecting 'u')``).

Reading (``unmarshal``): as Go decodes into ``interface {}`` (or a map or
slice of it): numbers are float64, invalid UTF-8 and unpaired surrogate
escapes become U+FFFD, and nesting goes as deep as Go allows.
"""

import json
import math
import re
from json.decoder import scanstring

from pyconsul.golang.errors import GoError
from pyconsul.golang.strconv import quote

# -- encoding --------------------------------------------------------------------

# Where Go's encoder writes something other than json.dumps(ensure_ascii=False):
# the HTML-sensitive characters and the JavaScript line separators, the short
# escapes \b and \f, and lone surrogates (undecodable bytes kept by
# surrogateescape, or broken text). Outside strings json.dumps writes none of
# these, and inside a string every backslash starts an escape, so matching an
# escaped backslash as a whole keeps "\\b" (backslash, b) intact.
_GO_DIFFERENCES = re.compile("[<>&\u2028\u2029\ud800-\udfff]|\\\\[\\\\bf]")
_GO_FORMS = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
    "\\b": "\\u0008",
    "\\f": "\\u000c",
    "\\\\": "\\\\",
}


def _go_form(match):
    return _GO_FORMS.get(match.group(), "\\ufffd")


def marshal(value):
    """json.Marshal(value): compact text.

    Values are dicts (written in their order, as Go writes a struct), lists,
    tuples, strings, integers, booleans and None. Go's float formatting is
    not reproduced: no caller encodes floats.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _GO_DIFFERENCES.sub(_go_form, text)


def marshal_indent(value, indent="\t"):
    """json.MarshalIndent(value, "", indent), for the same values as marshal."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _GO_DIFFERENCES.sub(_go_form, text)


def encode_string(text):
    """A JSON string literal as Go's encoder writes it."""
    return marshal(text)


# -- the scanner: validity and Go's syntax-error messages ------------------------

MAX_DEPTH = 10000  # Go's limit on nested arrays and objects
_SPACE_BYTES = b" \t\r\n"
_SPACE = frozenset(_SPACE_BYTES)
_DIGITS = frozenset(b"0123456789")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_ESCAPABLE = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


class JSONSyntaxError(GoError):
    """json.SyntaxError: the data is not JSON; ``str()`` is Go's message."""


def _quote_byte(byte):
    """Go's quoteChar: the byte as a quoted character ('x', '\\x01', 'Ã' for 0xc3)."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + quote(chr(byte))[1:-1] + "'"


class _Scanner:
    """Go's JSON scanner, reduced to what decides validity and its messages.

    ``step`` is the state: a method that takes the next byte, changes state
    and raises JSONSyntaxError when the byte cannot continue the text.
    """

    def __init__(self):
        self.stack = []  # "key" (expecting a key), "value" (after key:), "array"
        self.step = self.begin_value
        self.done = False
        self.literal = b""
        self.literal_index = 0
        self.hex_left = 0

    def fail(self, byte, context):
        raise JSONSyntaxError("invalid character %s %s" % (_quote_byte(byte), context))

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


def _refuse_constant(name):
    raise ValueError("not JSON: %s" % name)


def _python_accepts(data):
    """Whether Python's (C) decoder reads data as one JSON text. What it
    accepts Go accepts too (given strict UTF-8, and no NaN or Infinity),
    so valid input, the usual case, skips the byte-by-byte scanner."""
    try:
        json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False
    return True


def syntax_error(data):
    """Go's message for the first syntax error in data (bytes), or None if it is JSON."""
    if _python_accepts(data):
        return None
    scanner = _Scanner()
    try:
        for byte in data:
            scanner.step(byte)
        if not scanner.done:
            # Go ends the input with a space: that closes a number at top
            # level, or names what an unfinished value was missing.
            scanner.step(ord(" "))
    except JSONSyntaxError as error:
        return str(error)
    if not scanner.done:
        return "unexpected end of JSON input"
    return None


# -- decoding ------------------------------------------------------------------------

# The Go types a value can be unmarshalled into here, and the JSON kind each needs.
ANY = "interface {}"
MAP = "map[string]interface {}"
SLICE = "[]interface {}"
_KIND_FOR_TYPE = {ANY: None, MAP: "object", SLICE: "array"}
_KIND_OF_FIRST_BYTE = {
    ord("{"): "object",
    ord("["): "array",
    ord('"'): "string",
    ord("t"): "bool",
    ord("f"): "bool",
    ord("n"): "null",
}


class UnmarshalTypeError(GoError):
    """json.UnmarshalTypeError: a JSON value that the Go type cannot hold."""

    def __init__(self, value, go_type):
        super().__init__("json: cannot unmarshal %s into Go value of type %s" % (value, go_type))


def float64_number(literal):
    """A JSON number as Go's interface {} holds it: a float64, which must not overflow."""
    value = float(literal)
    if math.isinf(value):
        raise UnmarshalTypeError("number " + literal, "float64")
    return value


def unmarshal(data, into=ANY, number=float64_number, object_type=dict, array_type=list):
    """json.Unmarshal(data, &v) for v of type ``into`` (ANY, MAP or SLICE).

    Objects become ``object_type()`` filled in order, arrays ``array_type()``
    (a list type), numbers ``number(literal)``; strings, booleans and null are
    str, bool and None. Raises JSONSyntaxError for text that is not JSON, and
    UnmarshalTypeError for a value that ``into`` cannot hold. JSON null is
    None whatever ``into`` is (Go's nil map or slice).
    """
    problem = syntax_error(data)
    if problem is not None:
        raise JSONSyntaxError(problem)
    first = data.lstrip(_SPACE_BYTES)[0]
    kind = _KIND_OF_FIRST_BYTE.get(first, "number")
    wanted = _KIND_FOR_TYPE[into]
    if wanted is not None and kind not in (wanted, "null"):
        raise UnmarshalTypeError(kind, into)
    return _Decoder(number, object_type, array_type).decode(data.decode("utf-8", "surrogateescape"))


_SPACES = re.compile(r"[ \t\r\n]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERAL_VALUES = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
_NOT_UNICODE = re.compile("[\ud800-\udfff]")


def _go_string(text):
    """Go decodes undecodable bytes and unpaired surrogate escapes as U+FFFD."""
    return _NOT_UNICODE.sub("\ufffd", text)


class _Decoder:
    """Reads text that syntax_error accepted.

    Open arrays and objects are kept on an explicit stack rather than by
    recursion, so nesting as deep as Go allows (MAX_DEPTH) needs no deep
    Python stack.
    """

    def __init__(self, number, object_type, array_type):
        self.number = number
        self.object_type = object_type
        self.array_type = array_type

    def decode(self, text):
        containers = []  # the open arrays and objects, innermost last
        keys = []  # for each of them, the key of the value being read; None in an array
        position = 0
        while True:
            position = _SPACES.match(text, position).end()
            char = text[position]
            if char in "{[":
                position = _SPACES.match(text, position + 1).end()
                container = self.object_type() if char == "{" else self.array_type()
                if text[position] not in "}]":
                    containers.append(container)
                    key = None
                    if char == "{":
                        key, position = _read_key(text, position)
                    keys.append(key)
                    continue
                value = container  # empty
                position += 1
            else:
                value, position = self.scalar(text, position)
            # Store the value. A closing bracket completes a container, which
            # is then the value to store in the one around it.
            while True:
                if not containers:
                    return value
                if keys[-1] is None:
                    containers[-1].append(value)
                else:
                    containers[-1][keys[-1]] = value
                position = _SPACES.match(text, position).end()
                if text[position] == ",":
                    position = _SPACES.match(text, position + 1).end()
                    if keys[-1] is not None:
                        keys[-1], position = _read_key(text, position)
                    break  # read the next value
                position += 1  # past the closing bracket
                value = containers.pop()
                keys.pop()

    def scalar(self, text, position):
        """The string, literal or number at position, and the position after it."""
        char = text[position]
        if char == '"':
            raw, position = scanstring(text, position + 1)
            return _go_string(raw), position
        if char in _LITERAL_VALUES:
            word, value = _LITERAL_VALUES[char]
            return value, position + len(word)
        literal = _NUMBER.match(text, position).group()
        return self.number(literal), position + len(literal)


def _read_key(text, position):
    """An object key and the colon after it; returns (key, position of the value)."""
    raw, position = scanstring(text, position + 1)
    position = _SPACES.match(text, position).end()
    return _go_string(raw), position + 1
