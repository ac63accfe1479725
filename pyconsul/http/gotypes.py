"""Parsing as Go does: Consul clients send values in Go's formats.

Go's rules are narrower than Python's (``int("+5")`` works, Go's ParseUint
refuses it), so each parser here says exactly what it accepts.
"""

import re

UINT64_MAX = 2**64 - 1

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_uint64(text):
    """Go's strconv.ParseUint(text, 10, 64): decimal digits only."""
    if not text or not text.isascii() or not text.isdigit():
        raise ValueError("invalid syntax")
    value = int(text)
    if value > UINT64_MAX:
        raise ValueError("value out of range")
    return value


def parse_duration(text):
    """Go's time.ParseDuration, in seconds: "300ms", "1m30s", "-1.5h", "0"."""
    original = text
    sign = 1.0
    if text[:1] in ("+", "-"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError("invalid duration %r" % original)
    total = 0.0
    position = 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            raise ValueError("invalid duration %r" % original)
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return sign * total


def format_duration(seconds):
    """Go's Duration.String() for whole-millisecond values: "15s", "1m30s"."""
    if seconds == 0:
        return "0s"
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = rest / 1000
    text = ""
    if hours:
        text += "%dh" % hours
    if hours or minutes:
        text += "%dm" % minutes
    text += ("%g" % secs) + "s"
    return text
