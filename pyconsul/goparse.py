"""Go's rules for reading numbers, booleans and durations from text.

The consul CLI parses flag values with Go's ``strconv`` and ``time`` packages;
a flag that Consul accepts must be accepted here with the same value, and one
it refuses must be refused, so these follow Go's grammar exactly (base
prefixes, digit separators, overflow) rather than Python's ``int()``.
Every parser raises ``SyntaxError_`` or ``RangeError`` (both ``ValueError``).
"""

MAX_UINT64 = (1 << 64) - 1
MAX_INT64 = (1 << 63) - 1


class GoParseError(ValueError):
    """A value Go's parsers refuse."""


class SyntaxError_(GoParseError):
    """Not a number (or boolean, or duration) at all: Go's ErrSyntax."""


class RangeError(GoParseError):
    """A well-formed number that does not fit: Go's ErrRange."""


_TRUE_WORDS = frozenset(["1", "t", "T", "true", "TRUE", "True"])
_FALSE_WORDS = frozenset(["0", "f", "F", "false", "FALSE", "False"])


def parse_bool(text):
    """strconv.ParseBool: only these twelve spellings are booleans."""
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise SyntaxError_(text)


def _digit_value(char):
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    lowered = char.lower()
    if "a" <= lowered <= "z" and char.isascii():
        return ord(lowered) - ord("a") + 10
    return None


def _underscores_ok(text):
    """Go allows '_' only between digits, or between a base prefix and a digit."""
    last = "^"  # ^ start, 0 digit or prefix, _ underscore, ! anything else
    if text[:1] in ("+", "-"):
        text = text[1:]
    index = 0
    hexadecimal = False
    if len(text) >= 2 and text[0] == "0" and text[1].lower() in "box":
        index = 2
        last = "0"
        hexadecimal = text[1].lower() == "x"
    for char in text[index:]:
        if "0" <= char <= "9" or (hexadecimal and char.lower() in "abcdef"):
            last = "0"
        elif char == "_":
            if last != "0":
                return False
            last = "_"
        elif last == "_":
            return False
        else:
            last = "!"
    return last != "_"


def parse_uint(text, base=0, bits=64):
    """strconv.ParseUint. Base 0 reads 0x, 0o, 0b and leading-0 (octal) prefixes
    and allows '_' separators, as Go's flag package does for uint flags."""
    if text == "":
        raise SyntaxError_(text)
    original = text
    auto_base = base == 0
    if auto_base:
        base = 10
        if text[0] == "0":
            prefix = text[1:2].lower()
            if len(text) >= 3 and prefix in ("b", "o", "x"):
                base = {"b": 2, "o": 8, "x": 16}[prefix]
                text = text[2:]
            else:
                base = 8
                text = text[1:]
    elif not 2 <= base <= 36:
        raise GoParseError("invalid base %d" % base)
    limit = (1 << bits) - 1
    value = 0
    saw_underscore = False
    for char in text:
        if char == "_" and auto_base:
            saw_underscore = True
            continue
        digit = _digit_value(char)
        if digit is None or digit >= base:
            raise SyntaxError_(original)
        value = value * base + digit
        if value > limit:
            # Go stops at the first overflow, before looking at later characters.
            raise RangeError(original)
    if saw_underscore and not _underscores_ok(original):
        raise SyntaxError_(original)
    return value


def parse_int(text, base=0, bits=64):
    """strconv.ParseInt: an optional sign, then ParseUint's rules."""
    if text == "":
        raise SyntaxError_(text)
    negative = text[0] == "-"
    digits = text[1:] if text[0] in "+-" else text
    try:
        magnitude = parse_uint(digits, base, bits)
    except RangeError:
        raise RangeError(text) from None
    except SyntaxError_:
        raise SyntaxError_(text) from None
    if negative:
        if magnitude > 1 << (bits - 1):
            raise RangeError(text)
        return -magnitude
    if magnitude > (1 << (bits - 1)) - 1:
        raise RangeError(text)
    return magnitude


NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

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


def _leading_digits(text):
    end = 0
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    return text[:end], text[end:]


def parse_duration(text):
    """time.ParseDuration, in nanoseconds: "300ms", "-1.5h", "2h45m", "0".

    Go reports every failure, overflow included, as an invalid duration.
    """
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if rest == "":
        raise SyntaxError_(text)
    total = 0
    while rest:
        if not (rest[0] == "." or "0" <= rest[0] <= "9"):
            raise SyntaxError_(text)
        whole_digits, rest = _leading_digits(rest)
        whole = int(whole_digits) if whole_digits else 0
        if whole > MAX_INT64:
            raise SyntaxError_(text)
        fraction, scale, fraction_digits = 0, 1.0, ""
        if rest[:1] == ".":
            fraction_digits, rest = _leading_digits(rest[1:])
            # Like Go, keep only as many fraction digits as fit in an int64.
            for digit in fraction_digits:
                candidate = fraction * 10 + int(digit)
                if candidate > MAX_INT64:
                    break
                fraction = candidate
                scale *= 10
        if not whole_digits and not fraction_digits:
            raise SyntaxError_(text)
        unit_end = 0
        while unit_end < len(rest) and not (rest[unit_end] == "." or "0" <= rest[unit_end] <= "9"):
            unit_end += 1
        if unit_end == 0:
            raise SyntaxError_(text)
        unit = _UNITS.get(rest[:unit_end])
        if unit is None:
            raise SyntaxError_(text)
        rest = rest[unit_end:]
        if whole > MAX_INT64 // unit:
            raise SyntaxError_(text)
        amount = whole * unit
        if fraction:
            amount += int(float(fraction) * (float(unit) / scale))
        if amount > MAX_INT64:
            raise SyntaxError_(text)
        total += amount
        if total > MAX_INT64:
            raise SyntaxError_(text)
    return -total if negative else total


def _format_fraction(value, precision):
    """Digits of value / 10**precision after the point, trailing zeros dropped."""
    digits = ""
    printed = False
    for _ in range(precision):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        value //= 10
    return ("." + digits if printed else ""), value


def format_duration(nanoseconds):
    """time.Duration.String: "1h2m3.5s", "1.5µs", "0s"."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    magnitude = abs(nanoseconds)
    if magnitude < SECOND:
        if magnitude < MICROSECOND:
            return "%s%dns" % (sign, magnitude)
        if magnitude < MILLISECOND:
            fraction, whole = _format_fraction(magnitude, 3)
            return "%s%d%s\u00b5s" % (sign, whole, fraction)
        fraction, whole = _format_fraction(magnitude, 6)
        return "%s%d%sms" % (sign, whole, fraction)
    fraction, seconds = _format_fraction(magnitude, 9)
    text = "%d%ss" % (seconds % 60, fraction)
    minutes = seconds // 60
    if minutes:
        text = "%dm" % (minutes % 60) + text
        hours = minutes // 60
        if hours:
            text = "%dh" % hours + text
    return sign + text


def _is_printable(char):
    """strconv.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space."""
    import unicodedata

    if char == " ":
        return True
    return unicodedata.category(char)[0] in "LMNPS"


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def quote(text, quote_char='"'):
    """strconv.Quote (and QuoteRune's inner part): Go's escaped, quoted form."""
    pieces = [quote_char]
    for char in text:
        if char == quote_char or char == "\\":
            pieces.append("\\" + char)
        elif 0xDC80 <= ord(char) <= 0xDCFF:
            # A byte that was not valid UTF-8 (kept by surrogateescape).
            pieces.append("\\x%02x" % (ord(char) - 0xDC00))
        elif _is_printable(char):
            pieces.append(char)
        elif char in _SHORT_ESCAPES:
            pieces.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            pieces.append("\\x%02x" % ord(char))
        elif ord(char) < 0x10000:
            pieces.append("\\u%04x" % ord(char))
        else:
            pieces.append("\\U%08x" % ord(char))
    pieces.append(quote_char)
    return "".join(pieces)
