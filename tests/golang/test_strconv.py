"""Go's strconv: integers, booleans, floats, and quoted literals."""

import math

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.golang import strconv
from pyconsul.golang.errors import GoError
from pyconsul.golang.strconv import ERR_RANGE, ERR_SYNTAX, NumError


class IntegerTests(SynchronousTestCase):
    def assertNumError(self, function, text, message, err, *arguments):
        error = self.assertRaises(NumError, function, text, *arguments)
        self.assertEqual((str(error), error.err, error.num), (message, err, text), text)

    def test_unsigned_base_zero(self):
        """Base 0, as Go's flag package reads uints: prefixes and '_' separators."""
        table = [
            ("0", 0),
            ("42", 42),
            ("007", 7),
            ("010", 8),
            ("0x10", 16),
            ("0X1f", 31),
            ("0o17", 15),
            ("0b101", 5),
            ("1_000", 1000),
            ("0x_1F", 31),
            ("18446744073709551615", 2**64 - 1),
        ]
        for text, expected in table:
            self.assertEqual(strconv.parse_uint(text), expected, text)

    def test_unsigned_errors(self):
        table = [
            ("abc", ERR_SYNTAX),
            ("-1", ERR_SYNTAX),
            ("+5", ERR_SYNTAX),
            ("", ERR_SYNTAX),
            ("1e3", ERR_SYNTAX),
            ("0x", ERR_SYNTAX),
            ("08", ERR_SYNTAX),
            ("_1", ERR_SYNTAX),
            ("1__0", ERR_SYNTAX),
            ("1_", ERR_SYNTAX),
            ("1.5", ERR_SYNTAX),
            ("\u0661", ERR_SYNTAX),  # only ASCII digits
            ("18446744073709551616", ERR_RANGE),
            ("99999999999999999999x", ERR_RANGE),  # Go stops at the overflow
        ]
        for text, err in table:
            message = "strconv.ParseUint: parsing %s: %s" % (strconv.quote(text), err)
            self.assertNumError(strconv.parse_uint, text, message, err)

    def test_unsigned_base_ten_and_sizes(self):
        """Consul's HTTP API reads base 10: no prefixes, no separators."""
        self.assertEqual(strconv.parse_uint("010", 10), 10)
        for text in ("0x10", "1_000"):
            self.assertNumError(strconv.parse_uint, text, 'strconv.ParseUint: parsing "%s": invalid syntax' % text,
                                ERR_SYNTAX, 10)
        self.assertEqual(strconv.parse_uint("0644", 0, 32), 0o644)
        self.assertEqual(strconv.parse_uint("255", 0, 8), 255)
        self.assertNumError(strconv.parse_uint, "256", 'strconv.ParseUint: parsing "256": value out of range',
                            ERR_RANGE, 0, 8)
        self.assertNumError(strconv.parse_uint, "1", 'strconv.ParseUint: parsing "1": invalid base 1',
                            "invalid base 1", 1)

    def test_signed(self):
        table = [("-5", -5), ("+5", 5), ("-0x10", -16), ("9223372036854775807", 2**63 - 1),
                 ("-9223372036854775808", -(2**63)), ("-0", 0)]
        for text, expected in table:
            self.assertEqual(strconv.parse_int(text), expected, text)
        table = [("9223372036854775808", ERR_RANGE), ("-9223372036854775809", ERR_RANGE),
                 ("--1", ERR_SYNTAX), ("-", ERR_SYNTAX), ("+-1", ERR_SYNTAX), ("", ERR_SYNTAX)]
        for text, err in table:
            self.assertNumError(strconv.parse_int, text, 'strconv.ParseInt: parsing "%s": %s' % (text, err), err)
        self.assertEqual(strconv.parse_int("-128", 10, 8), -128)
        self.assertNumError(strconv.parse_int, "128", 'strconv.ParseInt: parsing "128": value out of range',
                            ERR_RANGE, 10, 8)

    def test_atoi(self):
        for text, expected in (("12", 12), ("-12", -12), ("+7", 7), ("007", 7)):
            self.assertEqual(strconv.atoi(text), expected)
        table = [("-", ERR_SYNTAX), ("", ERR_SYNTAX), (" 1", ERR_SYNTAX), ("0x10", ERR_SYNTAX),
                 ("1_0", ERR_SYNTAX), ("9223372036854775808", ERR_RANGE)]
        for text, err in table:
            self.assertNumError(strconv.atoi, text, 'strconv.Atoi: parsing "%s": %s' % (text, err), err)

    def test_errors_are_go_errors(self):
        self.assertIsInstance(self.assertRaises(NumError, strconv.atoi, "x"), GoError)


class BoolTests(SynchronousTestCase):
    def test_spellings(self):
        for text in ("1", "t", "T", "true", "TRUE", "True"):
            self.assertIs(strconv.parse_bool(text), True, text)
        for text in ("0", "f", "F", "false", "FALSE", "False"):
            self.assertIs(strconv.parse_bool(text), False, text)

    def test_others_are_syntax_errors(self):
        for text in ("yes", "tRuE", "", "2"):
            error = self.assertRaises(NumError, strconv.parse_bool, text)
            self.assertEqual(str(error), 'strconv.ParseBool: parsing "%s": invalid syntax' % text)


class FloatTests(SynchronousTestCase):
    def test_parses(self):
        table = [
            ("1.5", 1.5),
            ("-1e3", -1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("0x1p-2", 0.25),
            ("0x1.8p1", 3.0),
            ("1_000.5", 1000.5),
            ("inf", math.inf),
            ("+Inf", math.inf),
            ("-Infinity", -math.inf),
            ("1e-400", 0.0),
        ]
        for text, expected in table:
            self.assertEqual(strconv.parse_float(text), expected, text)
        self.assertTrue(math.isnan(strconv.parse_float("NaN")))

    def test_errors(self):
        table = [
            ("+nan", ERR_SYNTAX),  # only the infinities take a sign
            ("0x1.8", ERR_SYNTAX),  # a hexadecimal mantissa needs a p exponent
            ("1e", ERR_SYNTAX),
            (".", ERR_SYNTAX),
            ("infin", ERR_SYNTAX),
            ("1__0", ERR_SYNTAX),
            ("1e400", ERR_RANGE),
            ("0x1p2000", ERR_RANGE),
        ]
        for text, err in table:
            error = self.assertRaises(NumError, strconv.parse_float, text)
            self.assertEqual(str(error), 'strconv.ParseFloat: parsing "%s": %s' % (text, err))

    def test_format_shortest(self):
        table = [
            (0.0, "g", "0"),
            (-0.0, "g", "-0"),
            (1.5, "g", "1.5"),
            (100000.0, "g", "100000"),
            (1000000.0, "g", "1e+06"),
            (0.0001, "g", "0.0001"),
            (0.00001, "g", "1e-05"),
            (1.5e300, "E", "1.5E+300"),
            (123.456, "e", "1.23456e+02"),
            (1e21, "f", "1000000000000000000000"),
            (0.001, "f", "0.001"),
            (math.inf, "g", "+Inf"),
            (-math.inf, "f", "-Inf"),
            (math.nan, "g", "NaN"),
        ]
        for number, fmt, expected in table:
            self.assertEqual(strconv.format_float(number, fmt), expected, (number, fmt))

    def test_format_with_precision(self):
        table = [(3.14159, "f", 2, "3.14"), (3.14159, "e", 1, "3.1e+00"), (1234567.0, "g", 3, "1.23e+06"),
                 (2.5, "f", 0, "2")]
        for number, fmt, precision, expected in table:
            self.assertEqual(strconv.format_float(number, fmt, precision), expected)


class QuoteTests(SynchronousTestCase):
    def test_quote(self):
        table = [
            ("abc", '"abc"'),
            ('a"b\\', '"a\\"b\\\\"'),
            ("\n\t\x01\x7f", '"\\n\\t\\x01\\x7f"'),
            ("\u00e9\u00a0\u200b", '"\u00e9\\u00a0\\u200b"'),
            ("\udcff", '"\\xff"'),
            ("\a\b\f\r\v", '"\\a\\b\\f\\r\\v"'),
            ("\U0001f600\U000e0001", '"\U0001f600\\U000e0001"'),
            # A lone surrogate is no rune: Go writes the replacement character, escaped.
            ("\ud800", '"\\ufffd"'),
        ]
        for text, expected in table:
            self.assertEqual(strconv.quote(text), expected, repr(text))

    def test_quote_to_ascii(self):
        self.assertEqual(strconv.quote("caf\u00e9 \U0001f600", ascii_only=True), '"caf\\u00e9 \\U0001f600"')

    def test_quote_rune(self):
        table = [(ord("a"), "'a'"), (ord("'"), "'\\''"), (ord('"'), "'\"'"), (0x263A, "'\u263a'"),
                 (0x10FFFF + 1, "'\ufffd'"), (0xD800, "'\ufffd'"), (-1, "'\ufffd'"), (7, "'\\a'")]
        for code, expected in table:
            self.assertEqual(strconv.quote_rune(code), expected, code)
        self.assertEqual(strconv.quote_rune(0x263A, ascii_only=True), "'\\u263a'")

    def test_can_backquote(self):
        for text in ("abc", "a\tb", "\u00e9", ""):
            self.assertTrue(strconv.can_backquote(text), repr(text))
        for text in ("a`b", "a\nb", "\x7f", "\ufeff", "\udcff"):
            self.assertFalse(strconv.can_backquote(text), repr(text))

    def test_is_print(self):
        for char in ("a", " ", "\u00e9", "\u263a", "~"):
            self.assertTrue(strconv.is_print(char), repr(char))
        for char in ("\t", "\x7f", "\u00a0", "\u200b", "\u2028", "\udcff", "\ue000"):
            self.assertFalse(strconv.is_print(char), repr(char))


class UnquoteTests(SynchronousTestCase):
    def test_unquotes(self):
        table = [
            ('"abc"', "abc"),
            ('"a\\tb\\n"', "a\tb\n"),
            ('"\\u00e9\\U0001F600"', "\u00e9\U0001f600"),
            ('"\\x41\\101"', "AA"),
            ('"\\xff"', "\udcff"),  # a raw byte, kept as surrogateescape keeps it
            ('"\udcff"', "\ufffd"),  # an invalid byte in the literal reads as U+FFFD
            ("\"'\"", "'"),
            ("'a'", "a"),
            ("'\\''", "'"),
            ("'\u00e9'", "\u00e9"),
            ("`a\\n\r`", "a\\n"),  # raw: no escapes, carriage returns dropped
        ]
        for literal, expected in table:
            self.assertEqual(strconv.unquote(literal), expected, literal)

    def test_invalid(self):
        for literal in ('"', '"a', "'ab'", "''", '"a\nb"', '"\\q"', '"\\x4"', '"\\ud800"', '"\\400"',
                        "`a`b`", "'\\\"'", '"\\\'"', "abc"):
            error = self.assertRaises(GoError, strconv.unquote, literal)
            self.assertEqual(str(error), "invalid syntax", literal)

    def test_unquote_char(self):
        self.assertEqual(strconv.unquote_char("\\x41rest", '"'), (0x41, False, "rest"))
        self.assertEqual(strconv.unquote_char("\u00e9x", '"'), (0xE9, True, "x"))
        self.assertEqual(strconv.unquote_char("\\u263a", "'"), (0x263A, True, ""))
        self.assertRaises(GoError, strconv.unquote_char, "'", "'")
