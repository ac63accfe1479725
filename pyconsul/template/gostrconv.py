"""Go's strconv semantics: quoting, unquoting, and number parsing.

Templates parse numbers and string literals the way Go does (``0x1F``, ``1_000``,
``'\\n'``, ``"\\u00e9"``), and several functions (``atoi``, ``parseBool``) and
error messages (``%q``) depend on Go's exact rules, so these are written out
here rather than borrowed from Python's slightly different ones.

Strings are Python ``str`` in which bytes that are not valid UTF-8 appear as
lone surrogates (``surrogateescape``); see :mod:`pyconsul.template.values`.
"""

import decimal
import math
import re

from pyconsul.template.errors import GoError

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
MAX_RUNE = 0x10FFFF
RUNE_ERROR = "\ufffd"


class NumError(GoError):
    """strconv's *NumError: ``strconv.Atoi: parsing "x": invalid syntax``."""

    def __init__(self, func, num, reason):
        self.func = func
        self.num = num
        self.reason = reason
        super().__init__(f"strconv.{func}: parsing {quote(num)}: {reason}")

    def renamed(self, func):
        return NumError(func, self.num, self.reason)


SYNTAX = "invalid syntax"
RANGE = "value out of range"


def _is_escaped_byte(ch):
    """Is ``ch`` a surrogate standing for a byte that was not valid UTF-8?"""
    return 0xDC80 <= ord(ch) <= 0xDCFF


def is_print(ch):
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space."""
    return ch == " " or (ch.isprintable() and not _is_escaped_byte(ch))


# -- quoting ---------------------------------------------------------------

_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _escape_rune(ch, quote_char, ascii_only):
    if ch == quote_char or ch == "\\":
        return "\\" + ch
    if ascii_only:
        if ord(ch) < 0x80 and is_print(ch):
            return ch
    elif is_print(ch):
        return ch
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch]
    code = ord(ch)
    if code < 0x20 or code == 0x7F:
        return "\\x%02x" % code
    if 0xD800 <= code <= 0xDFFF:
        # Not a valid rune (only reachable through an unpaired JSON escape).
        code = 0xFFFD
    if code < 0x10000:
        return "\\u%04x" % code
    return "\\U%08x" % code


def quote(s, ascii_only=False):
    """strconv.Quote (or QuoteToASCII): a double-quoted Go string literal."""
    out = ['"']
    for ch in s:
        if _is_escaped_byte(ch):
            out.append("\\x%02x" % (ord(ch) - 0xDC00))
        else:
            out.append(_escape_rune(ch, '"', ascii_only))
    out.append('"')
    return "".join(out)


def quote_rune(code, ascii_only=False):
    """strconv.QuoteRune: a single-quoted Go rune literal."""
    if code > MAX_RUNE or 0xD800 <= code <= 0xDFFF or code < 0:
        code = 0xFFFD
    return "'" + _escape_rune(chr(code), "'", ascii_only) + "'"


def can_backquote(s):
    """strconv.CanBackquote: can ``s`` be written as a raw string literal?"""
    for ch in s:
        if ch == "`" or ch == "\ufeff" or _is_escaped_byte(ch):
            return False
        if ord(ch) < 0x20 and ch != "\t" or ch == "\x7f":
            return False
    return True


# -- unquoting -------------------------------------------------------------

_HEX = "0123456789abcdefABCDEF"


def unquote_char(s, quote_char):
    """strconv.UnquoteChar: decode one character or escape at the start of ``s``.

    Returns ``(value, multibyte, tail)``. ``value`` is a code point when
    ``multibyte`` is true or it is below 0x80, otherwise a raw byte value
    (from ``\\x`` or octal escapes). Raises GoError("invalid syntax").
    """
    c = s[0]
    if c == quote_char and quote_char in "'\"":
        raise GoError(SYNTAX)
    if _is_escaped_byte(c):
        # Go decodes an invalid UTF-8 byte as the replacement character.
        return 0xFFFD, True, s[1:]
    if ord(c) >= 0x80:
        return ord(c), True, s[1:]
    if c != "\\":
        return ord(c), False, s[1:]
    if len(s) <= 1:
        raise GoError(SYNTAX)
    c = s[1]
    s = s[2:]
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
    if c in simple:
        return simple[c], False, s
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        if len(s) < n or any(ch not in _HEX for ch in s[:n]):
            raise GoError(SYNTAX)
        value = int(s[:n], 16)
        s = s[n:]
        if c == "x":
            return value, False, s
        if value > MAX_RUNE or 0xD800 <= value <= 0xDFFF:
            raise GoError(SYNTAX)
        return value, True, s
    if "0" <= c <= "7":
        if len(s) < 2 or any(ch not in "01234567" for ch in s[:2]):
            raise GoError(SYNTAX)
        value = int(c + s[:2], 8)
        if value > 255:
            raise GoError(SYNTAX)
        return value, False, s[2:]
    if c in "'\"":
        if c != quote_char:
            raise GoError(SYNTAX)
        return ord(c), False, s
    raise GoError(SYNTAX)


def char_from_value(value, multibyte):
    """The Python character for an unquote_char result."""
    if value < 0x80 or multibyte:
        return chr(value)
    return chr(0xDC00 + value)  # a raw byte, kept as surrogateescape does


def unquote(s):
    """strconv.Unquote for ``"..."``, ``'...'`` and backquoted literals."""
    if len(s) < 2 or s[0] != s[-1]:
        raise GoError(SYNTAX)
    quote_char = s[0]
    body = s[1:-1]
    if quote_char == "`":
        if "`" in body:
            raise GoError(SYNTAX)
        return body.replace("\r", "")
    if quote_char not in "\"'":
        raise GoError(SYNTAX)
    if "\n" in body:
        raise GoError(SYNTAX)
    if quote_char == '"' and "\\" not in body and '"' not in body:
        if not any(_is_escaped_byte(ch) for ch in body):
            return body  # nothing to decode
    out = []
    while body:
        value, multibyte, body = unquote_char(body, quote_char)
        out.append(char_from_value(value, multibyte))
        if quote_char == "'" and body:
            raise GoError(SYNTAX)
    if quote_char == "'" and len(out) != 1:
        raise GoError(SYNTAX)
    return "".join(out)


# -- integers --------------------------------------------------------------


def underscore_ok(s):
    """Go's rule: underscores only between digits, or after a base prefix."""
    saw = "^"
    i = 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexadecimal = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexadecimal = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or hexadecimal and "a" <= c.lower() <= "f":
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def _digit_value(c):
    if "0" <= c <= "9":
        return ord(c) - 48
    if "a" <= c <= "z":
        return ord(c) - 87
    if "A" <= c <= "Z":
        return ord(c) - 55
    return 99


def parse_uint(s, base=0, bits=64, func="ParseUint"):
    """strconv.ParseUint with Go's base-prefix and underscore rules."""
    if s == "":
        raise NumError(func, s, SYNTAX)
    s0 = s
    base0 = base == 0
    if base == 0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1].lower() == "b":
                base, s = 2, s[2:]
            elif len(s) >= 3 and s[1].lower() == "o":
                base, s = 8, s[2:]
            elif len(s) >= 3 and s[1].lower() == "x":
                base, s = 16, s[2:]
            else:
                base, s = 8, s[1:]
    limit = 1 << bits
    n = 0
    underscores = False
    for c in s:
        if c == "_" and base0:
            underscores = True
            continue
        d = _digit_value(c)
        if d >= base:
            raise NumError(func, s0, SYNTAX)
        n = n * base + d
        if n >= limit:
            raise NumError(func, s0, RANGE)
    if underscores and not underscore_ok(s0):
        raise NumError(func, s0, SYNTAX)
    return n


def parse_int(s, base=0, bits=64, func="ParseInt"):
    """strconv.ParseInt."""
    if s == "":
        raise NumError(func, s, SYNTAX)
    s0 = s
    negative = False
    if s[0] == "+":
        s = s[1:]
    elif s[0] == "-":
        negative = True
        s = s[1:]
    try:
        magnitude = parse_uint(s, base, bits, func)
    except NumError as e:
        raise NumError(func, s0, e.reason)
    cutoff = 1 << (bits - 1)
    if (not negative and magnitude >= cutoff) or (negative and magnitude > cutoff):
        raise NumError(func, s0, RANGE)
    return -magnitude if negative else magnitude


def atoi(s):
    """strconv.Atoi for a 64-bit int."""
    if 0 < len(s) < 19 and s.isascii():
        digits = s[1:] if s[0] in "+-" else s
        if not digits or not all("0" <= c <= "9" for c in digits):
            raise NumError("Atoi", s, SYNTAX)
        n = int(digits)
        return -n if s[0] == "-" else n
    try:
        return parse_int(s, 10, 64)
    except NumError as e:
        raise e.renamed("Atoi")


def parse_bool(s):
    """strconv.ParseBool."""
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise NumError("ParseBool", s, SYNTAX)


# -- floats ----------------------------------------------------------------

_DECIMAL_FLOAT = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEX_FLOAT = re.compile(r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+\Z")


def parse_float(s):
    """strconv.ParseFloat(s, 64): decimal or hex (with a p exponent)."""
    s0 = s
    body = s[1:] if s[:1] in ("+", "-") else s
    negative = s[:1] == "-"
    lowered = body.lower()
    if lowered in ("inf", "infinity"):
        return -math.inf if negative else math.inf
    if lowered == "nan":
        return math.nan
    if "_" in body:
        if not underscore_ok(s0):
            raise NumError("ParseFloat", s0, SYNTAX)
        body = body.replace("_", "")
    if _HEX_FLOAT.match(body):
        try:
            value = float.fromhex(body)
        except OverflowError:
            raise NumError("ParseFloat", s0, RANGE)
    elif _DECIMAL_FLOAT.match(body):
        value = float(body)
    else:
        raise NumError("ParseFloat", s0, SYNTAX)
    if math.isinf(value):
        raise NumError("ParseFloat", s0, RANGE)
    return -value if negative else value


def _shortest_digits(f):
    """The shortest decimal digits that round-trip ``abs(f)``, and the exponent.

    Returns ``(digits, dp)`` meaning ``0.digits * 10**dp``; zero is ``("", 0)``
    as in Go's decimal representation.
    """
    if f == 0:
        return "", 0
    _, digits, exponent = decimal.Decimal(repr(abs(f))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    return text, len(digits) + exponent


def _fmt_e(digits, dp, prec, e_char):
    first = digits[0] if digits else "0"
    out = [first]
    if prec > 0:
        out.append(".")
        rest = digits[1 : 1 + prec]
        out.append(rest + "0" * (prec - len(rest)))
    exp = dp - 1 if digits else 0
    out.append(e_char)
    out.append("-" if exp < 0 else "+")
    out.append("%02d" % abs(exp))
    return "".join(out)


def _fmt_f(digits, dp, prec):
    if dp > 0:
        integer = digits[:dp] + "0" * max(0, dp - len(digits))
    else:
        integer = "0"
    if prec <= 0:
        return integer
    frac = []
    for i in range(1, prec + 1):
        j = dp + i - 1
        frac.append(digits[j] if 0 <= j < len(digits) else "0")
    return integer + "." + "".join(frac)


def format_float(f, fmt="g", prec=-1):
    """strconv.FormatFloat(f, fmt, prec, 64) for fmt in e E f F g G.

    Precision -1 means the shortest representation that round-trips.
    """
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    negative = math.copysign(1.0, f) < 0
    sign = "-" if negative else ""
    lower = fmt.lower()
    e_char = "E" if fmt in "EG" else "e"
    if prec >= 0:
        if lower == "g":
            body = ("%.*g" % (max(prec, 1), abs(f))).replace("e", e_char)
        elif lower == "e":
            body = ("%.*e" % (prec, abs(f))).replace("e", e_char)
        else:
            body = "%.*f" % (prec, abs(f))
        return sign + body
    digits, dp = _shortest_digits(f)
    if lower == "e":
        return sign + _fmt_e(digits, dp, len(digits) - 1, e_char)
    if lower == "f":
        return sign + _fmt_f(digits, dp, max(len(digits) - dp, 0))
    # %v and %g: exponent form outside 1e-4 <= |f| < 1e6 (Go's eprec of 6
    # for the shortest representation).
    exp = dp - 1
    if digits and (exp < -4 or exp >= 6):
        return sign + _fmt_e(digits, dp, len(digits) - 1, e_char)
    return sign + _fmt_f(digits, dp, max(len(digits) - dp, 0))
