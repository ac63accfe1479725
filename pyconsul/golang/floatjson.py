"""JSON with float64 numbers written as Go's encoding/json writes them.

``pyconsul.golang.json.marshal`` leaves floats to Python, which writes
``1e-05`` and ``0.0`` where Go writes ``0.00001`` and ``0``. This module's
``marshal`` is the same encoder for values that hold floats (network
coordinates): Go's rule is the shortest digits that read back the same
number, in plain notation unless the magnitude is below 1e-6 or from 1e21
up, where it is ``d.ddde-7`` (one exponent digit when it fits) or
``de+21``. NaN and infinities have no JSON form: ValueError, as Go's
UnsupportedValueError.
"""

import math
from decimal import Decimal

from pyconsul.golang import gostruct as go
from pyconsul.golang import json as go_json
from pyconsul.golang.errors import GoError


class Float64:
    """float64 for the ``gostruct`` decoder: a JSON number within float64's
    range (Go's error names the number otherwise)."""

    name = "float64"
    zero = 0.0

    def decode(self, state, value, existing):
        if value is None:
            return go.SKIP
        if not isinstance(value, go.Number):
            return state.mismatch(value, self.name)
        try:
            return go_json.float64_number(value)
        except GoError:
            return state.mismatch(value, self.name, number_literal=True)


FLOAT64 = Float64()
# coordinate.Coordinate (Serf's), as Consul's JSON carries it.
COORDINATE = go.Struct("Coordinate", "coordinate.Coordinate", [
    go.Field("Vec", go.Slice(FLOAT64)), go.Field("Error", FLOAT64), go.Field("Adjustment", FLOAT64),
    go.Field("Height", FLOAT64),
], pointer=True)


def format_float64(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError("json: unsupported value: %r" % value)
    magnitude = abs(value)
    shortest = Decimal(repr(value))  # Python's repr: the shortest round-trip digits, as Go's -1 precision
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        sign, digits, exponent = shortest.normalize().as_tuple()
        text = "-" if sign else ""
        text += str(digits[0])
        if len(digits) > 1:
            text += "." + "".join(str(d) for d in digits[1:])
        power = exponent + len(digits) - 1
        text += "e%s%02d" % ("-" if power < 0 else "+", abs(power))
        if text[-4:-1] == "e-0":  # Go cleans e-07 up to e-7
            text = text[:-2] + text[-1]
        return text
    text = format(shortest, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _encode(value, indent, level, out):
    if isinstance(value, bool):
        out.append("true" if value else "false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_float64(value))
    elif isinstance(value, str):
        out.append(go_json.encode_string(value))
    elif isinstance(value, dict):
        _container(out, "{", "}", list(value.items()), indent, level, True)
    elif isinstance(value, (list, tuple)):
        _container(out, "[", "]", list(value), indent, level, False)
    else:
        raise TypeError("cannot encode %r as JSON" % type(value).__name__)


def _container(out, opening, closing, items, indent, level, keyed):
    if not items:
        out.append(opening + closing)
        return
    out.append(opening)
    for position, item in enumerate(items):
        if position:
            out.append(",")
        if indent is not None:
            out.append("\n" + indent * (level + 1))
        if keyed:
            key, item = item
            out.append(go_json.encode_string(str(key)))
            out.append(": " if indent is not None else ":")
        _encode(item, indent, level + 1, out)
    if indent is not None:
        out.append("\n" + indent * level)
    out.append(closing)


def marshal(value, indent=None):
    """json.Marshal, or json.MarshalIndent(value, "", indent) with an indent."""
    out = []
    _encode(value, indent, 0, out)
    return "".join(out)
