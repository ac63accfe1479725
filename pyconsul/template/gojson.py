"""JSON decoding with Go's encoding/json results and error messages.

confd's ``json`` and ``jsonArray`` functions unmarshal into
``map[string]interface {}`` and ``[]interface {}``: every number becomes a
float64, ``null`` a nil interface, and a syntax error reads like ``invalid
character '}' looking for beginning of object key string``. The syntax check
is a state machine modelled on Go's scanner so the messages match; decoding
then uses Python's json module on the validated text.
"""

import json
import math

from pyconsul.template.errors import GoError
from pyconsul.template.gostrconv import quote
from pyconsul.template.values import GoMap, GoSlice, to_bytes

MAX_NESTING_DEPTH = 10000


class JSONSyntaxError(GoError):
    pass


def _quote_char(c):
    """How Go's scanner names an offending byte: '}' or '\\n' or 'Ã'."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + quote(chr(c))[1:-1] + "'"


_SPACE = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"


def check_valid(data):
    """Raise JSONSyntaxError, worded as Go's, unless ``data`` (bytes) is JSON."""
    stack = []  # "key", "value" (inside an object) or "array"
    state = "begin_value"
    literal = b""  # the rest of true/false/null still expected
    literal_name = ""
    hex_left = 0

    def fail(c, context):
        raise JSONSyntaxError(f"invalid character {_quote_char(c)} {context}")

    def push(kind):
        stack.append(kind)
        if len(stack) > MAX_NESTING_DEPTH:
            raise JSONSyntaxError("exceeded max depth")

    def step(c):
        nonlocal state, literal, literal_name, hex_left
        while True:  # some states hand the byte on to another; loop until consumed
            if state in ("begin_value", "begin_value_or_empty", "begin_string_or_empty"):
                if c in _SPACE:
                    break
                if state == "begin_value_or_empty" and c == 0x5D:  # ]
                    state = "end_value"
                    continue
                if state == "begin_string_or_empty":
                    if c == 0x7D:  # }
                        stack[-1] = "value"
                        state = "end_value"
                        continue
                    state = "begin_string"
                    continue
                if c == 0x7B:  # {
                    push("key")
                    state = "begin_string_or_empty"
                elif c == 0x5B:  # [
                    push("array")
                    state = "begin_value_or_empty"
                elif c == 0x22:
                    state = "in_string"
                elif c == 0x2D:  # -
                    state = "neg"
                elif c == 0x30:
                    state = "zero"
                elif 0x31 <= c <= 0x39:
                    state = "digits"
                elif c in b"tfn":
                    literal_name = {0x74: "true", 0x66: "false", 0x6E: "null"}[c]
                    literal = literal_name[1:].encode()
                    state = "literal"
                else:
                    fail(c, "looking for beginning of value")
                break
            if state == "begin_string":
                if c in _SPACE:
                    break
                if c == 0x22:
                    state = "in_string"
                    break
                fail(c, "looking for beginning of object key string")
            if state == "end_value":
                if not stack:
                    state = "end_top"
                    continue
                if c in _SPACE:
                    break
                top = stack[-1]
                if top == "key":
                    if c == 0x3A:  # :
                        stack[-1] = "value"
                        state = "begin_value"
                        break
                    fail(c, "after object key")
                if top == "value":
                    if c == 0x2C:  # ,
                        stack[-1] = "key"
                        state = "begin_string"
                        break
                    if c == 0x7D:
                        stack.pop()
                        break
                    fail(c, "after object key:value pair")
                if c == 0x2C:
                    state = "begin_value"
                    break
                if c == 0x5D:
                    stack.pop()
                    break
                fail(c, "after array element")
            if state == "end_top":
                if c not in _SPACE:
                    fail(c, "after top-level value")
                break
            if state == "in_string":
                if c == 0x22:
                    state = "end_value"
                elif c == 0x5C:
                    state = "in_string_escape"
                elif c < 0x20:
                    fail(c, "in string literal")
                break
            if state == "in_string_escape":
                if c in b'bfnrt\\/"':
                    state = "in_string"
                elif c == 0x75:  # u
                    state = "in_string_hex"
                    hex_left = 4
                else:
                    fail(c, "in string escape code")
                break
            if state == "in_string_hex":
                if c not in _HEX:
                    fail(c, "in \\u hexadecimal character escape")
                hex_left -= 1
                if hex_left == 0:
                    state = "in_string"
                break
            if state == "neg":
                if c == 0x30:
                    state = "zero"
                elif 0x31 <= c <= 0x39:
                    state = "digits"
                else:
                    fail(c, "in numeric literal")
                break
            if state == "digits":
                if c in _DIGITS:
                    break
                state = "zero"
                continue
            if state == "zero":
                if c == 0x2E:  # .
                    state = "dot"
                    break
                if c in b"eE":
                    state = "exp"
                    break
                state = "end_value"
                continue
            if state == "dot":
                if c in _DIGITS:
                    state = "dot_digits"
                    break
                fail(c, "after decimal point in numeric literal")
            if state == "dot_digits":
                if c in _DIGITS:
                    break
                if c in b"eE":
                    state = "exp"
                    break
                state = "end_value"
                continue
            if state == "exp":
                if c in b"+-":
                    state = "exp_sign"
                    break
                state = "exp_sign"
                continue
            if state == "exp_sign":
                if c in _DIGITS:
                    state = "exp_digits"
                    break
                fail(c, "in exponent of numeric literal")
            if state == "exp_digits":
                if c in _DIGITS:
                    break
                state = "end_value"
                continue
            if state == "literal":
                if c != literal[0]:
                    fail(c, f"in literal {literal_name} (expecting {_quote_char(literal[0])})")
                literal = literal[1:]
                if not literal:
                    state = "end_value"
                break
            raise AssertionError(state)
    for c in data:
        step(c)
    # Go ends the input by scanning one more space: that closes a number, or
    # reports what the unfinished value was missing.
    if state != "end_top":
        step(0x20)
    if state != "end_top":
        raise JSONSyntaxError("unexpected end of JSON input")


def _go_value(value):
    """Python's decoded JSON as Go's interface {} values."""
    if isinstance(value, dict):
        return GoMap((_fix_string(k), _go_value(v)) for k, v in value.items())
    if isinstance(value, list):
        return GoSlice((_go_value(v) for v in value), "[]interface {}")
    if isinstance(value, str):
        return _fix_string(value)
    return value


def _fix_string(s):
    """Go decodes invalid UTF-8 and unpaired surrogate escapes as U+FFFD."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)
    return s


def _number(text):
    value = float(text)
    if math.isinf(value):
        raise GoError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return value


def _kind_of_top_value(data):
    first = data.lstrip(_SPACE)[:1]
    return {b"{": "object", b"[": "array", b'"': "string", b"n": "null", b"t": "bool", b"f": "bool"}.get(
        first, "number"
    )


def _unmarshal(text, want, go_type):
    data = to_bytes(text)
    check_valid(data)
    kind = _kind_of_top_value(data)
    if kind == "null":
        return None
    if kind != want:
        raise GoError(f"json: cannot unmarshal {kind} into Go value of type {go_type}")
    try:
        decoded = json.loads(data.decode("utf-8", "surrogateescape"), parse_float=_number, parse_int=_number)
    except RecursionError:
        raise GoError("exceeded max depth") from None
    return _go_value(decoded)


def unmarshal_object(text):
    """confd's ``json``: a JSON object as ``map[string]interface {}``."""
    value = _unmarshal(text, "object", "map[string]interface {}")
    return value if value is not None else GoMap(nil=True)


def unmarshal_array(text):
    """confd's ``jsonArray``: a JSON array as ``[]interface {}``."""
    value = _unmarshal(text, "array", "[]interface {}")
    return value if value is not None else GoSlice((), "[]interface {}", nil=True)
