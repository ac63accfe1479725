"""Go's flag rules, table by table."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.flags import (
    BoolFlag,
    DurationFlag,
    FlagError,
    FlagSet,
    HelpRequested,
    IntFlag,
    StringFlag,
    StringListFlag,
    Uint64Flag,
)
from pyconsul.golang.duration import HOUR, MILLISECOND, MINUTE, SECOND

FLAGS = FlagSet(
    [
        BoolFlag("keys", "List keys."),
        BoolFlag("b", "A one-letter boolean."),
        StringFlag("separator", "Separator.", default="/"),
        Uint64Flag("flags", "Flags."),
        IntFlag("count", "A signed number."),
        DurationFlag("timeout", "A duration."),
        StringListFlag("join", "Repeatable."),
    ]
)


def parse(*argv):
    return FLAGS.parse(list(argv))


class ParsingTests(SynchronousTestCase):
    def test_forms_of_a_flag(self):
        """-flag, --flag, -flag=v and -flag v all set the same flag."""
        for argv in (["-separator=:"], ["--separator=:"], ["-separator", ":"], ["--separator", ":"]):
            self.assertEqual(parse(*argv).separator, ":", argv)

    def test_defaults(self):
        parsed = parse()
        self.assertEqual(
            (parsed.keys, parsed.separator, parsed.flags, parsed.count, parsed.timeout, parsed.join),
            (False, "/", 0, 0, 0, []),
        )
        self.assertFalse(parsed.is_set("separator"))

    def test_booleans(self):
        """A boolean is -b or -b=VALUE with any strconv.ParseBool spelling, never -b VALUE."""
        table = [
            (["-keys"], True),
            (["--keys"], True),
            (["-keys=true"], True),
            (["-keys=1"], True),
            (["-keys=t"], True),
            (["-keys=T"], True),
            (["-keys=TRUE"], True),
            (["-keys=True"], True),
            (["-keys=false"], False),
            (["-keys=0"], False),
            (["-keys=f"], False),
            (["-keys=F"], False),
            (["-keys=FALSE"], False),
            (["-keys=False"], False),
        ]
        for argv, expected in table:
            self.assertEqual(parse(*argv).keys, expected, argv)
        parsed = parse("-keys", "false")
        self.assertEqual((parsed.keys, parsed.args), (True, ["false"]))

    def test_bad_booleans(self):
        for text in ("yes", "tRuE", "", "2"):
            error = self.assertRaises(FlagError, parse, "-keys=" + text)
            self.assertEqual(str(error), 'invalid boolean value "%s" for -keys: parse error' % text)

    def test_parsing_stops_at_first_argument(self):
        """kv get -keys -separator b a/ : separator b, argument a/."""
        parsed = parse("-keys", "-separator", "b", "a/")
        self.assertEqual((parsed.keys, parsed.separator, parsed.args), (True, "b", ["a/"]))
        parsed = parse("a/", "-keys")
        self.assertEqual((parsed.keys, parsed.args), (False, ["a/", "-keys"]))

    def test_dash_and_double_dash(self):
        self.assertEqual(parse("-keys", "-", "-b").args, ["-", "-b"])
        parsed = parse("-keys", "--", "-b", "x")
        self.assertEqual((parsed.b, parsed.args), (False, ["-b", "x"]))
        self.assertEqual(parse("--", "--").args, ["--"])

    def test_value_may_look_like_a_flag(self):
        """The argument after a non-boolean flag is its value, whatever it looks like."""
        self.assertEqual(parse("-separator", "-keys").separator, "-keys")
        self.assertEqual(parse("-separator=").separator, "")
        self.assertEqual(parse("-separator==").separator, "=")

    def test_last_value_wins_and_lists_collect(self):
        parsed = parse("-flags=1", "-flags=2", "-join", "a", "--join=b", "-join", "")
        self.assertEqual((parsed.flags, parsed.join), (2, ["a", "b", ""]))
        self.assertTrue(parsed.is_set("join"))

    def test_unknown_flag(self):
        error = self.assertRaises(FlagError, parse, "-nope", "k")
        self.assertEqual(str(error), "flag provided but not defined: -nope")
        error = self.assertRaises(FlagError, parse, "--nope=1")
        self.assertEqual(str(error), "flag provided but not defined: -nope")

    def test_missing_value(self):
        error = self.assertRaises(FlagError, parse, "-separator")
        self.assertEqual(str(error), "flag needs an argument: -separator")

    def test_bad_syntax(self):
        for token in ("---x", "-=x", "--=x"):
            error = self.assertRaises(FlagError, parse, token)
            self.assertEqual(str(error), "bad flag syntax: %s" % token)

    def test_help(self):
        for token in ("-h", "-help", "--help", "--h"):
            self.assertRaises(HelpRequested, parse, "-keys", token)

    def test_help_flag_defined_by_command(self):
        """A command may define -h itself; then it is an ordinary flag."""
        parsed = FlagSet([BoolFlag("h", "Human readable.")]).parse(["-h"])
        self.assertTrue(parsed.h)


class NumberTests(SynchronousTestCase):
    def test_unsigned(self):
        """Go's flag package reads uints with base 0: prefixes and '_' separators."""
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
            self.assertEqual(parse("-flags=" + text).flags, expected, text)

    def test_unsigned_errors(self):
        table = [
            ("abc", "parse error"),
            ("-1", "parse error"),
            ("+5", "parse error"),
            ("", "parse error"),
            ("1e3", "parse error"),
            ("0x", "parse error"),
            ("08", "parse error"),
            ("_1", "parse error"),
            ("1__0", "parse error"),
            ("1_", "parse error"),
            ("1.5", "parse error"),
            ("18446744073709551616", "value out of range"),
            ("99999999999999999999x", "value out of range"),
        ]
        for text, reason in table:
            error = self.assertRaises(FlagError, parse, "-flags=" + text)
            self.assertEqual(str(error), 'invalid value "%s" for flag -flags: %s' % (text, reason))

    def test_signed(self):
        table = [("-5", -5), ("+5", 5), ("-0x10", -16), ("9223372036854775807", 2**63 - 1),
                 ("-9223372036854775808", -(2**63))]
        for text, expected in table:
            self.assertEqual(parse("-count=" + text).count, expected, text)
        for text, reason in (("9223372036854775808", "value out of range"), ("--1", "parse error"), ("-", "parse error")):
            error = self.assertRaises(FlagError, parse, "-count=" + text)
            self.assertEqual(str(error), 'invalid value "%s" for flag -count: %s' % (text, reason))

    def test_durations(self):
        table = [
            ("0", 0),
            ("-0", 0),
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
        ]
        for text, expected in table:
            self.assertEqual(parse("-timeout", text).timeout, expected, text)

    def test_bad_durations(self):
        for text in ("", "1", "s", ".s", "1x", "1.5", "5 s", "--1s", "9223372036854775808ns", "3000000h"):
            error = self.assertRaises(FlagError, parse, "-timeout=" + text)
            self.assertEqual(str(error), 'invalid value "%s" for flag -timeout: parse error' % text)

    def test_values_are_quoted_like_go(self):
        error = self.assertRaises(FlagError, parse, '-flags=a"b\n')
        self.assertEqual(str(error), 'invalid value "a\\"b\\n" for flag -flags: parse error')


class DefaultsTextTests(SynchronousTestCase):
    def test_layout(self):
        """Go's PrintDefaults: sorted, type names, one-letter booleans inline, non-zero defaults."""
        flag_set = FlagSet(
            [
                StringFlag("separator", "Separator.", default="/"),
                BoolFlag("b", "Short."),
                Uint64Flag("flags", "Flags.", default=3),
                StringFlag("http-addr", "Address.", placeholder="address"),
                DurationFlag("timeout", "Wait.", default=90 * SECOND),
                BoolFlag("keys", "List keys."),
            ]
        )
        self.assertEqual(
            flag_set.defaults_text(),
            "  -b\tShort.\n"
            "  -flags uint\n    \tFlags. (default 3)\n"
            "  -http-addr address\n    \tAddress.\n"
            "  -keys\n    \tList keys.\n"
            '  -separator string\n    \tSeparator. (default "/")\n'
            "  -timeout duration\n    \tWait. (default 1m30s)\n",
        )

    def test_duplicate_declaration(self):
        self.assertRaises(ValueError, FlagSet, [BoolFlag("x", "")], [BoolFlag("x", "")])
