"""Go's fmt package, for values as templates hold them.

A template prints a value as ``fmt.Sprint`` would (``[a b]``, ``map[a:1]``,
``{/a x}``, ``1e+06``), ``print``/``printf``/``println`` are ``fmt.Sprint``,
``fmt.Sprintf`` and ``fmt.Sprintln``, and several error messages embed ``%v``
and ``%q`` formatting. This module reproduces fmt's rules: which verbs apply to
which kinds, the ``%!d(string=x)`` forms for misuse, flags, width and precision,
and the recursive printing of slices, maps and structs.

A value with a ``go_string()`` method is a Go ``Stringer`` (``time.Time``).
"""

import math

from pyconsul.golang import strconv
from pyconsul.template.values import (
    NO_VALUE,
    GoStruct,
    Iface,
    NilPointer,
    go_sort_key,
    to_bytes,
    type_name,
)

_TOO_LARGE = 1_000_000


def _is_stringer(value):
    return hasattr(value, "go_string")


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_unsigned(value):
    return getattr(value, "go_type", "").startswith("uint")


class _Printer:
    """One fmt ``pp``: a buffer plus the flags of the verb being printed."""

    def __init__(self):
        self.buf = []
        self.erroring = False
        self.deref = False  # print a top-level pointer as the value it points to
        self.clear_flags()

    def clear_flags(self):
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = None
        self.prec = None

    def write(self, s):
        self.buf.append(s)

    def text(self):
        return "".join(self.buf)

    # -- padding -----------------------------------------------------------

    def write_padding(self, n):
        if n > 0:
            self.write(("0" if self.zero else " ") * n)

    def pad(self, s):
        if not self.wid:
            self.write(s)
            return
        width = self.wid - len(s)
        if width <= 0:
            self.write(s)
        elif not self.minus:
            self.write_padding(width)
            self.write(s)
        else:
            self.write(s)
            self.write(" " * width)

    # -- entry points ------------------------------------------------------

    def print_arg(self, arg, verb):
        arg = arg.value if isinstance(arg, Iface) else arg
        if arg is None or arg is NO_VALUE:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, None)
            return
        if verb == "T":
            self.fmt_s(type_name(arg))
            return
        self.print_value(arg, verb, 0)

    def print_value(self, value, verb, depth):
        value = value.value if isinstance(value, Iface) else value
        if _is_stringer(value) and not self.erroring and verb in "vsxXq":
            self.fmt_string(value.go_string(), verb)
            return
        if value is NO_VALUE:
            if depth == 0:
                self.write("<invalid reflect.Value>")
            elif verb == "v":
                self.write("<nil>")
            else:
                self.bad_verb(verb, None)
            return
        if value is None or isinstance(value, NilPointer):
            self.write("<nil>")
            return
        if isinstance(value, bool):
            self.fmt_bool(value, verb)
        elif _is_integer(value):
            self.fmt_integer(int(value), not _is_unsigned(value), verb, value)
        elif isinstance(value, float):
            self.fmt_float(value, verb, value)
        elif isinstance(value, complex):
            self.fmt_complex(value, verb)
        elif isinstance(value, str):
            self.fmt_string(value, verb)
        elif isinstance(value, dict):
            self.write("map[")
            for i, key in enumerate(sorted(value, key=_map_key_order)):
                if i:
                    self.write(" ")
                self.print_value(key, verb, depth + 1)
                self.write(":")
                self.print_value(value[key], verb, depth + 1)
            self.write("]")
        elif isinstance(value, GoStruct):
            if value.go_type.startswith("*") and not (depth == 0 and self.deref):
                self.write("&")
            self.write("{")
            for i, field in enumerate(value.go_fields):
                if i:
                    self.write(" ")
                if self.plus_v or self.sharp_v:
                    self.write(field + ":")
                self.print_value(getattr(value, field), verb, depth + 1)
            self.write("}")
        elif isinstance(value, (list, tuple)):
            self.write("[")
            for i, item in enumerate(value):
                if i:
                    self.write(" ")
                self.print_value(item, verb, depth + 1)
            self.write("]")
        else:
            self.fmt_string(str(value), verb)

    def bad_verb(self, verb, value):
        self.erroring = True
        self.write("%!" + verb + "(")
        if value is None or value is NO_VALUE:
            self.write("<nil>")
        else:
            self.write(type_name(value) + "=")
            self.print_arg(value, "v")
        self.write(")")
        self.erroring = False

    # -- booleans and numbers ----------------------------------------------

    def fmt_bool(self, value, verb):
        if verb in "tv":
            self.pad("true" if value else "false")
        else:
            self.bad_verb(verb, value)

    def fmt_integer(self, n, signed, verb, original):
        if verb in "vd":
            self._integer(n, 10, verb, "0123456789abcdefx")
        elif verb == "b":
            self._integer(n, 2, verb, "0123456789abcdefx")
        elif verb in "oO":
            self._integer(n, 8, verb, "0123456789abcdefx")
        elif verb == "x":
            self._integer(n, 16, verb, "0123456789abcdefx")
        elif verb == "X":
            self._integer(n, 16, verb, "0123456789ABCDEFX")
        elif verb == "c":
            self.pad(_rune_text(n))
        elif verb == "q":
            self.pad(strconv.quote_rune(n if 0 <= n <= strconv.MAX_RUNE else 0xFFFD, self.plus))
        elif verb == "U":
            self._unicode(n)
        else:
            self.bad_verb(verb, original)

    def _integer(self, n, base, verb, digits):
        negative = n < 0
        u = -n if negative else n
        prec = 0
        if self.prec is not None:
            prec = self.prec
            if prec == 0 and u == 0:
                old_zero, self.zero = self.zero, False
                self.write_padding(self.wid or 0)
                self.zero = old_zero
                return
        elif self.zero and self.wid is not None:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        text = ""
        while True:
            text = digits[u % base] + text
            u //= base
            if u == 0:
                break
        text = "0" * max(0, prec - len(text)) + text
        if self.sharp:
            if base == 2:
                text = "0b" + text
            elif base == 8 and not text.startswith("0"):
                text = "0" + text
            elif base == 16:
                text = "0" + digits[16] + text
        if verb == "O":
            text = "0o" + text
        if negative:
            text = "-" + text
        elif self.plus:
            text = "+" + text
        elif self.space:
            text = " " + text
        old_zero, self.zero = self.zero, False
        self.pad(text)
        self.zero = old_zero

    def _unicode(self, n):
        if n < 0:
            n &= (1 << 64) - 1
        text = "%X" % n
        prec = 4
        if self.prec is not None and self.prec > 4:
            prec = self.prec
        text = "U+" + text.rjust(prec, "0")
        if self.sharp and 0 <= n <= strconv.MAX_RUNE and strconv.is_print(chr(n)):
            text += " '" + chr(n) + "'"
        old_zero, self.zero = self.zero, False
        self.pad(text)
        self.zero = old_zero

    def fmt_float(self, value, verb, original):
        if verb == "v":
            self._float(value, "g", -1)
        elif verb in "bgGxX":
            self._float(value, verb, -1)
        elif verb in "fFeE":
            self._float(value, verb, 6)
        else:
            self.bad_verb(verb, original)

    def _float(self, value, verb, prec):
        if self.prec is not None:
            prec = self.prec
        if verb in "xX":
            num = _hex_float(value, prec, verb == "X")
        elif verb == "b":
            num = _binary_float(value)
        else:
            num = strconv.format_float(value, "f" if verb == "F" else verb, prec)
        if num[0] not in "+-":
            num = "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            old_zero, self.zero = self.zero, False
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad(num)
            self.zero = old_zero
            return
        if self.sharp and verb not in "bxX" and "." not in num:
            # %#g and friends always show a decimal point.
            cut = next((k for k, ch in enumerate(num) if ch in "eE"), len(num))
            num = num[:cut] + "." + num[cut:]
        if self.plus or num[0] != "+":
            if self.zero and self.wid is not None and self.wid > len(num):
                self.write(num[0])
                self.write_padding(self.wid - len(num))
                self.write(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    def fmt_complex(self, value, verb):
        if verb not in "vbgGxXfFeE":
            self.bad_verb(verb, value)
            return
        old_plus = self.plus
        self.write("(")
        self.fmt_float(value.real, verb, value.real)
        self.plus = True
        self.fmt_float(value.imag, verb, value.imag)
        self.write("i)")
        self.plus = old_plus

    # -- strings -----------------------------------------------------------

    def fmt_string(self, s, verb):
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(s)
            else:
                self.fmt_s(s)
        elif verb == "s":
            self.fmt_s(s)
        elif verb == "x":
            self.fmt_sx(s, "0123456789abcdef", "0x")
        elif verb == "X":
            self.fmt_sx(s, "0123456789ABCDEF", "0X")
        elif verb == "q":
            self.fmt_q(s)
        else:
            self.bad_verb(verb, s)

    def _truncate(self, s):
        if self.prec is not None and len(s) > self.prec:
            return s[: self.prec]
        return s

    def fmt_s(self, s):
        self.pad(self._truncate(s))

    def fmt_q(self, s):
        s = self._truncate(s)
        if self.sharp and strconv.can_backquote(s):
            self.pad("`" + s + "`")
        else:
            self.pad(strconv.quote(s, ascii_only=self.plus))

    def fmt_sx(self, s, digits, prefix):
        data = to_bytes(s)
        length = len(data)
        if self.prec is not None and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid is not None:
                self.write(" " * self.wid)
            return
        wid = self.wid or 0
        if wid > width and not self.minus:
            self.write(" " * (wid - width))
        out = []
        if self.sharp:
            out.append(prefix)
        for i in range(length):
            if self.space and i > 0:
                out.append(" ")
                if self.sharp:
                    out.append(prefix)
            out.append(digits[data[i] >> 4] + digits[data[i] & 15])
        self.write("".join(out))
        if wid > width and self.minus:
            self.write(" " * (wid - width))


def _map_key_order(key):
    if isinstance(key, str):
        return (0, go_sort_key(key))
    return (1, key)


def _rune_text(n):
    if n < 0 or n > strconv.MAX_RUNE or 0xD800 <= n <= 0xDFFF:
        return "\ufffd"
    return chr(n)


def _hex_float(value, prec, upper):
    """%x of a float: Go's 0x1.8p+01 form (shortest unless a precision is given)."""
    if math.isnan(value) or math.isinf(value):
        return strconv.format_float(value)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    value = abs(value)
    if value == 0:
        fraction, exponent = 0, 0
    else:
        m, e = math.frexp(value)  # value = m * 2**e with 0.5 <= m < 1
        fraction = int(m * (1 << 53)) - (1 << 52)  # the 52 bits after "1."
        exponent = e - 1
    if prec < 0:
        digits = ("%013x" % fraction).rstrip("0")
    elif prec < 13:
        rounded = round(fraction / (1 << (52 - 4 * prec)))  # ties to even, like Go
        if rounded >> (4 * prec):
            rounded, exponent = 0, exponent + 1  # 1.fff... rounded up to 2.0
        digits = "%0*x" % (prec, rounded) if prec else ""
    else:
        digits = ("%013x" % fraction) + "0" * (prec - 13)
    mantissa = ("1" if value else "0") + ("." + digits if digits else "")
    text = "%s0x%sp%s%02d" % (sign, mantissa, "-" if exponent < 0 else "+", abs(exponent))
    return text.upper() if upper else text


def _binary_float(value):
    if math.isnan(value) or math.isinf(value):
        return strconv.format_float(value)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    m, e = math.frexp(abs(value))
    mantissa = int(m * (1 << 53))
    exponent = e - 53
    if abs(value) != 0 and abs(value) < 2.2250738585072014e-308:
        # Subnormal: Go prints the raw mantissa with the minimum exponent.
        mantissa = int(abs(value) * 2.0**1074)
        exponent = -1074
    if value == 0:
        exponent = -1074
    return "%s%dp%s%d" % (sign, mantissa, "-" if exponent < 0 else "+", abs(exponent))


# -- the public API --------------------------------------------------------


def sprint(*args):
    """fmt.Sprint: spaces between operands when neither is a string."""
    p = _Printer()
    prev_string = False
    for i, arg in enumerate(args):
        arg = arg.value if isinstance(arg, Iface) else arg
        is_string = isinstance(arg, str)
        if i > 0 and not is_string and not prev_string:
            p.write(" ")
        p.print_arg(arg, "v")
        prev_string = is_string
    return p.text()


def sprintln(*args):
    """fmt.Sprintln: spaces between all operands and a final newline."""
    p = _Printer()
    for i, arg in enumerate(args):
        if i > 0:
            p.write(" ")
        p.print_arg(arg, "v")
    p.write("\n")
    return p.text()


def template_print(value):
    """How an action prints its value: fmt.Sprint after one pointer dereference."""
    p = _Printer()
    p.deref = True
    p.print_arg(value, "v")
    return p.text()


def format_value(value, verb="v"):
    """Format one value with a plain verb, as ``%v`` would."""
    p = _Printer()
    p.print_arg(value, verb)
    return p.text()


def _parse_num(s, i, end):
    """fmt's parsenum: a decimal number at s[i:], or (None, i) if none."""
    if i >= end:
        return None, end
    num = None
    j = i
    while j < end and "0" <= s[j] <= "9":
        if num is not None and num > _TOO_LARGE:
            return None, end
        num = (num or 0) * 10 + ord(s[j]) - 48
        j += 1
    return num, j


def _int_from_arg(args, arg_num):
    if arg_num >= len(args):
        return None, arg_num
    value = args[arg_num]
    value = value.value if isinstance(value, Iface) else value
    if _is_integer(value) and abs(value) <= _TOO_LARGE:
        return int(value), arg_num + 1
    return None, arg_num + 1


def sprintf(fmt, *args):
    """fmt.Sprintf."""
    p = _Printer()
    end = len(fmt)
    arg_num = 0
    after_index = False
    reordered = False
    i = 0

    def arg_number(arg_num, i):
        """Parse an explicit [n] argument index at fmt[i:]."""
        nonlocal reordered, good_arg_num
        if i >= end or fmt[i] != "[":
            return arg_num, i, False
        reordered = True
        close = fmt.find("]", i + 1)
        if close < 0:
            good_arg_num = False
            return arg_num, i + 1, False
        index, j = _parse_num(fmt, i + 1, close)
        if index is None or j != close:
            good_arg_num = False
            return arg_num, close + 1, False
        index -= 1
        if 0 <= index < len(args):
            return index, close + 1, True
        good_arg_num = False
        return arg_num, close + 1, True

    while i < end:
        good_arg_num = True
        last = i
        while i < end and fmt[i] != "%":
            i += 1
        if i > last:
            p.write(fmt[last:i])
        if i >= end:
            break
        i += 1
        p.clear_flags()
        while i < end:
            c = fmt[i]
            if c == "#":
                p.sharp = True
            elif c == "0":
                p.zero = not p.minus
            elif c == "+":
                p.plus = True
            elif c == "-":
                p.minus = True
                p.zero = False
            elif c == " ":
                p.space = True
            else:
                break
            i += 1

        arg_num, i, after_index = arg_number(arg_num, i)

        if i < end and fmt[i] == "*":
            i += 1
            p.wid, arg_num = _int_from_arg(args, arg_num)
            if p.wid is None:
                p.write("%!(BADWIDTH)")
            elif p.wid < 0:
                p.wid = -p.wid
                p.minus = True
                p.zero = False
            after_index = False
        else:
            p.wid, i = _parse_num(fmt, i, end)
            if after_index and p.wid is not None:
                good_arg_num = False

        if i + 1 < end and fmt[i] == ".":
            i += 1
            if after_index:
                good_arg_num = False
            arg_num, i, after_index = arg_number(arg_num, i)
            if i < end and fmt[i] == "*":
                i += 1
                p.prec, arg_num = _int_from_arg(args, arg_num)
                if p.prec is not None and p.prec < 0:
                    p.prec = None
                if p.prec is None:
                    p.write("%!(BADPREC)")
                after_index = False
            else:
                p.prec, i = _parse_num(fmt, i, end)
                if p.prec is None:
                    p.prec = 0

        if not after_index:
            arg_num, i, after_index = arg_number(arg_num, i)

        if i >= end:
            p.write("%!(NOVERB)")
            break

        verb = fmt[i]
        i += 1
        if verb == "%":
            p.write("%")
        elif not good_arg_num:
            p.write("%!" + verb + "(BADINDEX)")
        elif arg_num >= len(args):
            p.write("%!" + verb + "(MISSING)")
        else:
            if verb == "v":
                p.sharp_v, p.sharp = p.sharp, False
                p.plus_v, p.plus = p.plus, False
            if verb == "w":
                p.bad_verb(verb, args[arg_num])
            else:
                p.print_arg(args[arg_num], verb)
            arg_num += 1

    if not reordered and arg_num < len(args):
        p.clear_flags()
        p.write("%!(EXTRA ")
        for k, arg in enumerate(args[arg_num:]):
            if k:
                p.write(", ")
            arg = arg.value if isinstance(arg, Iface) else arg
            if arg is None or arg is NO_VALUE:
                p.write("<nil>")
            else:
                p.write(type_name(arg) + "=")
                p.print_arg(arg, "v")
        p.write(")")
    return p.text()


__all__ = ["format_value", "sprint", "sprintf", "sprintln", "template_print"]
