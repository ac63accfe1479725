"""Go's strconv: numbers and booleans from text, and quoted string literals.

Consul's flags and query parameters and confd's templates read numbers with
Go's grammar, not Python's ``int()``: base prefixes (``0x1F``, ``0o17``,
``0b101``, and a leading ``0`` for octal), ``_`` between digits, and an error
as soon as the value no longer fits the type. Parsers raise :class:`NumError`,
whose ``str()`` is Go's message (``strconv.ParseInt: parsing "x": invalid
syntax``) and whose ``err`` tells a malformed number (:data:`ERR_SYNTAX`) from
one that does not fit (:data:`ERR_RANGE`).

``quote`` writes text the way Go's ``%q`` and error messages show it, and
``unquote`` reads Go's string and rune literals.
"""

import math
import re

from pyconsul.golang.errors import GoError

MAX_UINT64 = (1 << 64) - 1
MAX_INT64 = (1 << 63) - 1
MIN_INT64 = -(1 << 63)
MAX_RUNE = 0x10FFFF

# Why a conversion failed: Go's ErrSyntax and ErrRange.
ERR_SYNTAX = "invalid syntax"
ERR_RANGE = "value out of range"


class NumError(GoError):
    """strconv's ``*NumError``: the function that failed, its input and why."""

    def __init__(self, func, num, err):
        super().__init__("strconv.%s: parsing %s: %s" % (func, quote(num), err))
        self.func = func
        self.num = num
        self.err = err


# -- booleans ----------------------------------------------------------------

_TRUE_WORDS = frozenset(["1", "t", "T", "true", "TRUE", "True"])
_FALSE_WORDS = frozenset(["0", "f", "F", "false", "FALSE", "False"])


def parse_bool(text):
    """strconv.ParseBool: only these twelve spellings are booleans."""
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise NumError("ParseBool", text, ERR_SYNTAX)


# -- integers ----------------------------------------------------------------


def _digit_value(char):
    """The value of a digit in bases up to 36, or None (Go reads only ASCII)."""
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "a" <= char <= "z":
        return ord(char) - ord("a") + 10
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    return None


def _is_hex_letter(char):
    return "a" <= char <= "f" or "A" <= char <= "F"


def _underscores_ok(text):
    """Go allows '_' only between digits, or between a base prefix and a digit."""
    last = "^"  # what came before: ^ nothing, 0 a digit or prefix, _ an underscore, ! other
    if text[:1] in ("+", "-"):
        text = text[1:]
    start = 0
    hexadecimal = False
    if len(text) >= 2 and text[0] == "0" and text[1] in "bBoOxX":
        start = 2
        last = "0"
        hexadecimal = text[1] in "xX"
    for char in text[start:]:
        if "0" <= char <= "9" or (hexadecimal and _is_hex_letter(char)):
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


_PREFIX_BASES = {"b": 2, "B": 2, "o": 8, "O": 8, "x": 16, "X": 16}


def parse_uint(text, base=0, bits=64):
    """strconv.ParseUint(text, base, bits).

    Base 0 reads the base from a prefix (``0x``, ``0o``, ``0b``, or ``0`` for
    octal) and allows ``_`` separators, as Go's flag package does; Consul's
    HTTP API passes base 10, which allows neither.
    """
    if text == "":
        raise NumError("ParseUint", text, ERR_SYNTAX)
    if base == 10 and text.isascii() and text.isdigit():
        # The common case (an ?index=), without a loop over every digit.
        value = int(text)
        if value > (1 << (bits or 64)) - 1:
            raise NumError("ParseUint", text, ERR_RANGE)
        return value
    digits = text
    auto_base = base == 0
    if auto_base:
        base = 10
        if text[0] == "0":
            if len(text) >= 3 and text[1] in _PREFIX_BASES:
                base = _PREFIX_BASES[text[1]]
                digits = text[2:]
            else:
                base = 8
                digits = text[1:]
    elif not 2 <= base <= 36:
        raise NumError("ParseUint", text, "invalid base %d" % base)
    bits = bits or 64  # Go's 0 means the size of int
    limit = (1 << bits) - 1
    value = 0
    saw_underscore = False
    for char in digits:
        if char == "_" and auto_base:
            saw_underscore = True
            continue
        digit = _digit_value(char)
        if digit is None or digit >= base:
            raise NumError("ParseUint", text, ERR_SYNTAX)
        value = value * base + digit
        if value > limit:
            # Go stops at the first overflow, before looking at later characters.
            raise NumError("ParseUint", text, ERR_RANGE)
    if saw_underscore and not _underscores_ok(text):
        raise NumError("ParseUint", text, ERR_SYNTAX)
    return value


def parse_int(text, base=0, bits=64):
    """strconv.ParseInt: an optional sign, then ParseUint's rules."""
    if text == "":
        raise NumError("ParseInt", text, ERR_SYNTAX)
    negative = text[0] == "-"
    unsigned = text[1:] if text[0] in "+-" else text
    try:
        magnitude = parse_uint(unsigned, base, bits)
    except NumError as error:
        raise NumError("ParseInt", text, error.err) from None
    bits = bits or 64
    if magnitude > (1 << (bits - 1)) - (0 if negative else 1):
        raise NumError("ParseInt", text, ERR_RANGE)
    return -magnitude if negative else magnitude


def atoi(text):
    """strconv.Atoi: a base-10 int (64 bits), reported as Atoi's failure."""
    try:
        return parse_int(text, 10, 64)
    except NumError as error:
        raise NumError("Atoi", text, error.err) from None


# -- floats --------------------------------------------------------------------

_DECIMAL_FLOAT = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
# A hexadecimal mantissa needs a 'p' exponent.
_HEX_FLOAT = re.compile(r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+\Z")


def parse_float(text):
    """strconv.ParseFloat(text, 64): decimal, or hexadecimal with a p exponent.

    Like Go, "inf", "infinity" and "nan" are read in any case; only the
    infinities take a sign.
    """
    negative = text[:1] == "-"
    body = text[1:] if text[:1] in ("+", "-") else text
    if body.lower() in ("inf", "infinity"):
        return -math.inf if negative else math.inf
    if text.lower() == "nan":
        return math.nan
    if "_" in body:
        if not _underscores_ok(text):
            raise NumError("ParseFloat", text, ERR_SYNTAX)
        body = body.replace("_", "")
    if _HEX_FLOAT.match(body):
        try:
            value = float.fromhex(body)
        except OverflowError:
            raise NumError("ParseFloat", text, ERR_RANGE) from None
    elif _DECIMAL_FLOAT.match(body):
        value = float(body)
    else:
        raise NumError("ParseFloat", text, ERR_SYNTAX)
    if math.isinf(value):
        raise NumError("ParseFloat", text, ERR_RANGE)
    return -value if negative else value


def _shortest_digits(number):
    """The fewest decimal digits that read back as abs(number), and where the point goes.

    Returns ``(digits, point)`` meaning ``0.digits * 10**point``, as Go's
    decimal type does; zero is ``("", 0)``. Python's repr is already the
    shortest form that round-trips, so its digits are taken apart.
    """
    if number == 0:
        return "", 0
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    return significant.rstrip("0"), point


def _format_exponent(digits, point, precision, e_char):
    """%e from (digits, point): one digit, the point, precision digits, e±dd."""
    out = [digits[:1] or "0"]
    if precision > 0:
        rest = digits[1 : 1 + precision]
        out.append("." + rest + "0" * (precision - len(rest)))
    exponent = point - 1 if digits else 0
    out.append("%s%s%02d" % (e_char, "-" if exponent < 0 else "+", abs(exponent)))
    return "".join(out)


def _format_fixed(digits, point, precision):
    """%f from (digits, point) with precision digits after the point."""
    whole = digits[:point] + "0" * (point - len(digits)) if point > 0 else "0"
    if precision <= 0:
        return whole
    fraction = "".join(
        digits[index] if 0 <= index < len(digits) else "0" for index in range(point, point + precision)
    )
    return whole + "." + fraction


def format_float(number, fmt="g", precision=-1):
    """strconv.FormatFloat(number, fmt, precision, 64) for fmt in e E f F g G.

    Precision -1 means the fewest digits that read back as the same number.
    """
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    kind = fmt.lower()
    e_char = "E" if fmt in "EG" else "e"
    if precision >= 0:
        if kind == "g":
            body = ("%.*g" % (max(precision, 1), abs(number))).replace("e", e_char)
        elif kind == "e":
            body = ("%.*e" % (precision, abs(number))).replace("e", e_char)
        else:
            body = "%.*f" % (precision, abs(number))
        return sign + body
    digits, point = _shortest_digits(number)
    if kind == "e":
        return sign + _format_exponent(digits, point, len(digits) - 1, e_char)
    if kind == "f":
        return sign + _format_fixed(digits, point, max(len(digits) - point, 0))
    # %g (and %v): exponent form outside 1e-4 <= |number| < 1e6; Go decides
    # with a precision of 6 when the digits are the shortest ones.
    exponent = point - 1
    if digits and (exponent < -4 or exponent >= 6):
        return sign + _format_exponent(digits, point, len(digits) - 1, e_char)
    return sign + _format_fixed(digits, point, max(len(digits) - point, 0))


# -- quoting -------------------------------------------------------------------


def _is_escaped_byte(char):
    """Is char a surrogate standing for a byte that was not valid UTF-8?"""
    return 0xDC80 <= ord(char) <= 0xDCFF


def is_print(char):
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space.

    Python's isprintable() is false for exactly the other categories (control,
    format, surrogate, private, unassigned, separators), except that it also
    accepts the ASCII space.
    """
    return char.isprintable()


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _escape_rune(char, quote_char, ascii_only):
    """One character inside a Go literal delimited by quote_char."""
    if char == quote_char or char == "\\":
        return "\\" + char
    if is_print(char) and (char.isascii() or not ascii_only):
        return char
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return "\\x%02x" % code
    if 0xD800 <= code <= 0xDFFF:
        # Not a rune at all (a lone surrogate from a JSON escape): Go writes
        # the replacement character in its escaped form.
        code = 0xFFFD
    if code < 0x10000:
        return "\\u%04x" % code
    return "\\U%08x" % code


def quote(text, ascii_only=False):
    """strconv.Quote (or QuoteToASCII): text as a double-quoted Go literal."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'  # nothing to escape
    pieces = ['"']
    for char in text:
        if _is_escaped_byte(char):
            pieces.append("\\x%02x" % (ord(char) - 0xDC00))
        else:
            pieces.append(_escape_rune(char, '"', ascii_only))
    pieces.append('"')
    return "".join(pieces)


def quote_rune(code, ascii_only=False):
    """strconv.QuoteRune (or QuoteRuneToASCII): a single-quoted Go rune literal."""
    if not 0 <= code <= MAX_RUNE or 0xD800 <= code <= 0xDFFF:
        code = 0xFFFD
    return "'" + _escape_rune(chr(code), "'", ascii_only) + "'"


def can_backquote(text):
    """strconv.CanBackquote: can text be written as a raw (backquoted) literal?"""
    for char in text:
        if char == "`" or char == "\ufeff" or _is_escaped_byte(char):
            return False
        if (char < " " and char != "\t") or char == "\x7f":
            return False
    return True


# -- unquoting -----------------------------------------------------------------

_HEX_DIGITS = "0123456789abcdefABCDEF"
_SIMPLE_ESCAPE_VALUES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEX_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}


def unquote_char(text, quote_char):
    """strconv.UnquoteChar: decode the character or escape that starts text.

    Returns ``(value, multibyte, tail)``: ``value`` is a code point when
    ``multibyte`` is true or it is below 0x80, otherwise a raw byte (from a
    ``\\x`` or octal escape). Raises GoError("invalid syntax").
    """
    char = text[0]
    if char == quote_char and quote_char in "'\"":
        raise GoError(ERR_SYNTAX)
    if _is_escaped_byte(char):
        # Go decodes a byte that is not UTF-8 as the replacement character.
        return 0xFFFD, True, text[1:]
    if ord(char) >= 0x80:
        return ord(char), True, text[1:]
    if char != "\\":
        return ord(char), False, text[1:]
    if len(text) <= 1:
        raise GoError(ERR_SYNTAX)
    char, text = text[1], text[2:]
    if char in _SIMPLE_ESCAPE_VALUES:
        return _SIMPLE_ESCAPE_VALUES[char], False, text
    if char in _HEX_ESCAPE_LENGTHS:
        length = _HEX_ESCAPE_LENGTHS[char]
        if len(text) < length or any(digit not in _HEX_DIGITS for digit in text[:length]):
            raise GoError(ERR_SYNTAX)
        value, text = int(text[:length], 16), text[length:]
        if char == "x":
            return value, False, text
        if value > MAX_RUNE or 0xD800 <= value <= 0xDFFF:
            raise GoError(ERR_SYNTAX)
        return value, True, text
    if "0" <= char <= "7":
        if len(text) < 2 or any(digit not in "01234567" for digit in text[:2]):
            raise GoError(ERR_SYNTAX)
        value = int(char + text[:2], 8)
        if value > 255:
            raise GoError(ERR_SYNTAX)
        return value, False, text[2:]
    if char in "'\"":
        if char != quote_char:
            raise GoError(ERR_SYNTAX)
        return ord(char), False, text
    raise GoError(ERR_SYNTAX)


def _char_from_value(value, multibyte):
    """The character for an unquote_char result (a raw byte as surrogateescape keeps it)."""
    if value < 0x80 or multibyte:
        return chr(value)
    return chr(0xDC00 + value)


def unquote(literal):
    """strconv.Unquote for "...", '...' and `...` literals."""
    if len(literal) < 2 or literal[0] != literal[-1]:
        raise GoError(ERR_SYNTAX)
    quote_char, body = literal[0], literal[1:-1]
    if quote_char == "`":
        if "`" in body:
            raise GoError(ERR_SYNTAX)
        return body.replace("\r", "")  # Go drops carriage returns from raw strings
    if quote_char not in "\"'" or "\n" in body:
        raise GoError(ERR_SYNTAX)
    if quote_char == '"' and "\\" not in body and '"' not in body:
        if not any(_is_escaped_byte(char) for char in body):
            return body  # nothing to decode
    out = []
    while body:
        value, multibyte, body = unquote_char(body, quote_char)
        out.append(_char_from_value(value, multibyte))
        if quote_char == "'" and body:
            raise GoError(ERR_SYNTAX)
    if quote_char == "'" and len(out) != 1:
        raise GoError(ERR_SYNTAX)
    return "".join(out)
