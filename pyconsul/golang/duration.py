"""Go's time.Duration: ParseDuration, Duration.String and its arithmetic.

Durations are integers of nanoseconds, as in Go. Consul reads ``-timeout``
flags and ``?wait=`` with ``time.ParseDuration`` ("300ms", "-1.5h", "2h45m")
and prints defaults with ``Duration.String`` ("1m30s"); templates call the
methods (``Round``, ``Truncate``, ``Seconds`` ...) on what ``Time.Sub`` gives.
"""

from pyconsul.golang.errors import GoError

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

MAX_DURATION = (1 << 63) - 1  # a Duration is an int64
MIN_DURATION = -(1 << 63)

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek small letter mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}


class DurationError(GoError):
    """What time.ParseDuration returns for text that is not a duration."""


def _time_quote(text):
    """The time package's own quoting: control and non-ASCII bytes as \\x escapes."""
    pieces = ['"']
    for char in text:
        if " " <= char < "\x80":
            pieces.append("\\" + char if char in '"\\' else char)
        else:
            pieces.extend("\\x%02x" % byte for byte in char.encode("utf-8", "surrogateescape"))
    pieces.append('"')
    return "".join(pieces)


def _invalid(text):
    return DurationError("time: invalid duration " + _time_quote(text))


def _leading_digits(text):
    end = 0
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    return text[:end], text[end:]


def _unit_length(text):
    """A unit runs up to the next digit or point."""
    end = 0
    while end < len(text) and not (text[end] == "." or "0" <= text[end] <= "9"):
        end += 1
    return end


def parse_duration(text):
    """time.ParseDuration, in nanoseconds. Raises DurationError.

    Overflow is an invalid duration, -9223372036854775808ns included (as in
    the Go that Consul 1.10 is built with).
    """
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if rest == "":
        raise _invalid(text)
    total = 0
    while rest:
        if not (rest[0] == "." or "0" <= rest[0] <= "9"):
            raise _invalid(text)
        whole_digits, rest = _leading_digits(rest)
        whole = int(whole_digits) if whole_digits else 0
        if whole > MAX_DURATION:
            raise _invalid(text)
        fraction, scale, fraction_digits = 0, 1.0, ""
        if rest[:1] == ".":
            fraction_digits, rest = _leading_digits(rest[1:])
            # Like Go, keep only as many fraction digits as fit in an int64.
            for digit in fraction_digits:
                candidate = fraction * 10 + int(digit)
                if candidate > MAX_DURATION:
                    break
                fraction = candidate
                scale *= 10
        if not whole_digits and not fraction_digits:
            raise _invalid(text)  # no digits at all, as in ".s"
        length = _unit_length(rest)
        if length == 0:
            raise DurationError("time: missing unit in duration " + _time_quote(text))
        unit_name, rest = rest[:length], rest[length:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise DurationError(
                "time: unknown unit %s in duration %s" % (_time_quote(unit_name), _time_quote(text))
            )
        if whole > MAX_DURATION // unit:
            raise _invalid(text)
        amount = whole * unit
        if fraction:
            # Go computes the fraction in float64 (nanosecond-exact up to hours).
            amount += int(float(fraction) * (float(unit) / scale))
        total += amount
        if amount > MAX_DURATION or total > MAX_DURATION:
            raise _invalid(text)
    return -total if negative else total


def _fraction_text(value, places):
    """Split value into (value // 10**places, ".digits" without trailing zeros)."""
    digits = ""
    for _ in range(places):
        digit = value % 10
        if digits or digit != 0:
            digits = str(digit) + digits
        value //= 10
    return value, ("." + digits if digits else "")


def format_duration(nanoseconds):
    """time.Duration.String: "1h2m3.5s", "1.5µs", "0s"."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    magnitude = abs(nanoseconds)
    if magnitude < MICROSECOND:
        return "%s%dns" % (sign, magnitude)
    if magnitude < MILLISECOND:
        whole, fraction = _fraction_text(magnitude, 3)
        return "%s%d%s\u00b5s" % (sign, whole, fraction)
    if magnitude < SECOND:
        whole, fraction = _fraction_text(magnitude, 6)
        return "%s%d%sms" % (sign, whole, fraction)
    seconds, fraction = _fraction_text(magnitude, 9)
    text = "%d%ss" % (seconds % 60, fraction)
    minutes = seconds // 60
    if minutes:
        text = "%dm" % (minutes % 60) + text
        hours = minutes // 60
        if hours:
            text = "%dh" % hours + text
    return sign + text


# -- arithmetic ----------------------------------------------------------------


def saturate(nanoseconds):
    """Clamp to the int64 range, as Time.Sub does with a difference too large."""
    return max(MIN_DURATION, min(MAX_DURATION, nanoseconds))


def quo_rem(nanoseconds, unit):
    """Go's / and % on int64s: the quotient rounds toward zero, not down."""
    quotient, remainder = divmod(abs(nanoseconds), unit)
    if nanoseconds < 0:
        return -quotient, -remainder
    return quotient, remainder


def truncate(d, m):
    """Duration.Truncate: d rounded toward zero to a multiple of m."""
    if m <= 0:
        return d
    return d - quo_rem(d, m)[1]


def round_duration(d, m):
    """Duration.Round: to the nearest multiple of m, halves away from zero.

    A result beyond the int64 range is the largest (or smallest) Duration.
    """
    if m <= 0:
        return d
    remainder = abs(quo_rem(d, m)[1])
    if remainder + remainder < m:
        return d - remainder if d >= 0 else d + remainder
    if d >= 0:
        return min(d + m - remainder, MAX_DURATION)
    return max(d - m + remainder, MIN_DURATION)


def abs_duration(d):
    """Duration.Abs: the smallest Duration has no positive twin, so it maps to the largest."""
    return MAX_DURATION if d == MIN_DURATION else abs(d)


def in_units(d, unit):
    """Duration.Seconds, Minutes, Hours: whole units plus the fraction, as float64.

    Go splits before converting so that a float64 of the result truncates to
    the same integer as the integer division would.
    """
    whole, rest = quo_rem(d, unit)
    return float(whole) + float(rest) / unit
