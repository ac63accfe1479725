"""time.ParseDuration, Duration.String and Duration arithmetic."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.golang import duration
from pyconsul.golang.duration import HOUR, MILLISECOND, MINUTE, SECOND


class ParseDurationTests(SynchronousTestCase):
    def test_parses(self):
        table = [
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("300ms", 300 * MILLISECOND),
            ("-1.5h", -90 * MINUTE),
            ("2h45m", 2 * HOUR + 45 * MINUTE),
            ("1.5s", 1500 * MILLISECOND),
            (".5s", 500 * MILLISECOND),
            ("1.s", SECOND),
            ("1us", 1000),
            ("1\u00b5s", 1000),
            ("1\u03bcs", 1000),
            ("10ns", 10),
            ("1h1m1s1ms", HOUR + MINUTE + SECOND + MILLISECOND),
            ("9223372036854775807ns", (1 << 63) - 1),
            ("0.000000001s", 1),
        ]
        for text, expected in table:
            self.assertEqual(duration.parse_duration(text), expected, text)

    def test_errors(self):
        table = [
            ("", 'time: invalid duration ""'),
            ("1", 'time: missing unit in duration "1"'),
            ("s", 'time: invalid duration "s"'),
            (".s", 'time: invalid duration ".s"'),
            ("1x", 'time: unknown unit "x" in duration "1x"'),
            ("1.5", 'time: missing unit in duration "1.5"'),
            ("5 s", 'time: unknown unit " s" in duration "5 s"'),
            ("--1s", 'time: invalid duration "--1s"'),
            ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
            # Go 1.16 (Consul 1.10) cannot write the smallest Duration either.
            ("-9223372036854775808ns", 'time: invalid duration "-9223372036854775808ns"'),
            ("3000000h", 'time: invalid duration "3000000h"'),
            ("1\u00e9", 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'),
            ('1"\n', 'time: unknown unit "\\"\\x0a" in duration "1\\"\\x0a"'),
        ]
        for text, message in table:
            error = self.assertRaises(duration.DurationError, duration.parse_duration, text)
            self.assertEqual(str(error), message, text)


class FormatDurationTests(SynchronousTestCase):
    def test_format_duration(self):
        table = [
            (0, "0s"),
            (1, "1ns"),
            (1500, "1.5\u00b5s"),
            (1500000, "1.5ms"),
            (SECOND, "1s"),
            (90 * SECOND, "1m30s"),
            (HOUR, "1h0m0s"),
            (-(HOUR + SECOND // 2), "-1h0m0.5s"),
            (-(1 << 63), "-2562047h47m16.854775808s"),
        ]
        for value, expected in table:
            self.assertEqual(duration.format_duration(value), expected)


class ArithmeticTests(SynchronousTestCase):
    """Duration.Truncate, Round, Abs and the float64 unit conversions."""

    def test_quo_rem_rounds_toward_zero(self):
        self.assertEqual(duration.quo_rem(-7, 2), (-3, -1))
        self.assertEqual(duration.quo_rem(7, 2), (3, 1))

    def test_truncate(self):
        table = [
            (90 * SECOND, MINUTE, MINUTE),
            (-90 * SECOND, MINUTE, -MINUTE),  # toward zero, not down
            (90 * SECOND, 0, 90 * SECOND),  # m <= 0 leaves d alone
            (90 * SECOND, -SECOND, 90 * SECOND),
        ]
        for d, m, expected in table:
            self.assertEqual(duration.truncate(d, m), expected, (d, m))

    def test_round(self):
        table = [
            (90 * SECOND, MINUTE, 2 * MINUTE),  # halfway: away from zero
            (-90 * SECOND, MINUTE, -2 * MINUTE),
            (89 * SECOND, MINUTE, MINUTE),
            (-89 * SECOND, MINUTE, -MINUTE),
            (1500 * MILLISECOND, SECOND, 2 * SECOND),
            (7, 0, 7),
            (duration.MAX_DURATION, HOUR, duration.MAX_DURATION),  # would overflow
            (duration.MIN_DURATION, HOUR, duration.MIN_DURATION),
        ]
        for d, m, expected in table:
            self.assertEqual(duration.round_duration(d, m), expected, (d, m))

    def test_abs(self):
        self.assertEqual(duration.abs_duration(-SECOND), SECOND)
        self.assertEqual(duration.abs_duration(duration.MIN_DURATION), duration.MAX_DURATION)

    def test_in_units(self):
        self.assertEqual(duration.in_units(90 * MINUTE, HOUR), 1.5)
        self.assertEqual(duration.in_units(-1500 * MILLISECOND, SECOND), -1.5)
        self.assertEqual(duration.in_units(3723500 * MILLISECOND, MINUTE), 62.05833333333333)

    def test_saturate(self):
        self.assertEqual(duration.saturate(1 << 70), duration.MAX_DURATION)
        self.assertEqual(duration.saturate(-(1 << 70)), duration.MIN_DURATION)
        self.assertEqual(duration.saturate(5), 5)
