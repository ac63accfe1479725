"""The parser: go-bexpr's grammar, its precedence and pigeon's error messages.

The error texts marked "go-bexpr" are the expectations of go-bexpr's own
grammar tests (without the JSON-pointer selectors of later versions, which
the version Consul 1.10 uses does not have); those marked "Consul" were
quoted from Consul's answers in its issue tracker.
"""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.filter.grammar import (
    EQUAL, IN, IS_EMPTY, IS_NOT_EMPTY, MATCHES, NOT_EQUAL, NOT_IN, NOT_MATCHES, And, Match, Not, Or, parse,
)
from pyconsul.filter.peg import ParseFailure


def m(selector, op, value=None):
    return Match(tuple(selector.split(".")), op, value)


class GrammarTests(SynchronousTestCase):
    def assertParses(self, text, expected):
        self.assertEqual(parse(text), expected)

    def assertFails(self, text, message):
        with self.assertRaises(ParseFailure) as caught:
            parse(text)
        self.assertEqual(caught.exception.message, message)

    def test_operators(self):
        self.assertParses("foo == 3", m("foo", EQUAL, "3"))
        self.assertParses("foo != xyz", m("foo", NOT_EQUAL, "xyz"))
        self.assertParses("list is empty", m("list", IS_EMPTY))
        self.assertParses("list is not empty", m("list", IS_NOT_EMPTY))
        self.assertParses("foo in bar", m("bar", IN, "foo"))
        self.assertParses("foo not in bar", m("bar", NOT_IN, "foo"))
        self.assertParses("bar contains foo", m("bar", IN, "foo"))
        self.assertParses("bar not contains foo", m("bar", NOT_IN, "foo"))
        self.assertParses("foo matches bar", m("foo", MATCHES, "bar"))
        self.assertParses("foo not matches bar", m("foo", NOT_MATCHES, "bar"))

    def test_equality_needs_no_blanks(self):
        self.assertParses("Node==web", m("Node", EQUAL, "web"))
        self.assertParses("Node!=`web`", m("Node", NOT_EQUAL, "web"))

    def test_precedence(self):
        # not binds tighter than and, and tighter than or (go-bexpr).
        self.assertParses(
            "x in foo and not str == something or list is empty",
            Or(And(m("foo", IN, "x"), Not(m("str", EQUAL, "something"))), m("list", IS_EMPTY)))
        self.assertParses(
            "x in foo and not (str == something or list is empty)",
            And(m("foo", IN, "x"), Not(Or(m("str", EQUAL, "something"), m("list", IS_EMPTY)))))

    def test_chains_group_to_the_right(self):
        self.assertParses("a == 1 and b == 2 and c == 3",
                          And(m("a", EQUAL, "1"), And(m("b", EQUAL, "2"), m("c", EQUAL, "3"))))
        self.assertParses("a == 1 or b == 2 or c == 3",
                          Or(m("a", EQUAL, "1"), Or(m("b", EQUAL, "2"), m("c", EQUAL, "3"))))

    def test_double_not_cancels(self):
        self.assertParses("not not foo == 3", m("foo", EQUAL, "3"))
        self.assertParses("not not not foo == 3", Not(m("foo", EQUAL, "3")))
        self.assertParses("not (not foo == 3)", m("foo", EQUAL, "3"))

    def test_parentheses(self):
        self.assertParses("(foo == 3)", m("foo", EQUAL, "3"))
        self.assertParses("((foo == 3))", m("foo", EQUAL, "3"))
        self.assertParses("(a == 1) and (b == 2)", And(m("a", EQUAL, "1"), m("b", EQUAL, "2")))
        complex_ = ("(((foo == 3) and (not ((bar in baz) and (not (one != two))))) or "
                    "(((next is empty) and (not (foo is not empty))) and (bar not in foo)))")
        self.assertParses(complex_, Or(
            And(m("foo", EQUAL, "3"), Not(And(m("baz", IN, "bar"), Not(m("one", NOT_EQUAL, "two"))))),
            And(And(m("next", IS_EMPTY), Not(m("foo", IS_NOT_EMPTY))), m("foo", NOT_IN, "bar"))))

    def test_whitespace(self):
        self.assertParses("\t\r\n  foo \t\r\n == \t\r\n x \t\r\n", m("foo", EQUAL, "x"))
        self.assertParses("\t\r\n  foo \t\r\n is \t\r\n not \t\r\n empty \t\r\n", m("foo", IS_NOT_EMPTY))
        self.assertParses("\t\r\n ( \t\r\n foo \t\r\n == \t\r\n x \t\r\n ) \t\r\n", m("foo", EQUAL, "x"))
        self.assertParses("\t\r\n not \t\r\n  foo \t\r\n in \t\r\n x \t\r\n", Not(m("x", IN, "foo")))

    def test_selectors(self):
        self.assertParses('`environment` in foo.bar["meta"].tags[\t`ENV` ]',
                          Match(("foo", "bar", "meta", "tags", "ENV"), IN, "environment"))
        self.assertParses('environment in foo["abc-def ghi åß∂ƒ"]',
                          Match(("foo", "abc-def ghi åß∂ƒ"), IN, "environment"))
        self.assertParses('Meta["a.b"] == x', Match(("Meta", "a.b"), EQUAL, "x"))

    def test_values(self):
        self.assertParses("foo == 0.2", m("foo", EQUAL, "0.2"))
        self.assertParses("foo == -0.2", m("foo", EQUAL, "-0.2"))
        self.assertParses("foo == 11.11", m("foo", EQUAL, "11.11"))
        self.assertParses("foo == 0", m("foo", EQUAL, "0"))
        # A value that looks like a selector is its dotted text.
        self.assertParses("foo == web.a1", m("foo", EQUAL, "web.a1"))
        # Every part after a dot is an identifier (v0.1.2 has no .0 indexes).
        self.assertFails("foo == web.1a", "1:12 (11): no match found, expected: [a-zA-Z]")
        self.assertParses('foo == a["b c"]', m("foo", EQUAL, "a.b c"))
        self.assertParses("foo == true", m("foo", EQUAL, "true"))

    def test_double_quoted_strings_use_go_escapes(self):
        self.assertParses(r'foo == "a\tb\n\x41\u00e9\101\\"', m("foo", EQUAL, "a\tb\nAé" + "A\\"))
        self.assertParses('foo == ""', m("foo", EQUAL, ""))
        # \x80 is a byte that is not UTF-8, kept as Go keeps it.
        self.assertParses(r'foo == "\x80"', m("foo", EQUAL, "\udc80"))

    def test_raw_strings(self):
        self.assertParses(r"foo == `a\tb`", m("foo", EQUAL, "a\\tb"))
        self.assertParses("foo == `a\nb`", m("foo", EQUAL, "a\nb"))
        # Go drops carriage returns from raw strings.
        self.assertParses("foo == `a\r\nb`", m("foo", EQUAL, "a\nb"))
        self.assertParses('foo == `say "hi"`', m("foo", EQUAL, 'say "hi"'))

    def test_keywords_as_values_and_selectors(self):
        self.assertParses("Tags contains not", m("Tags", IN, "not"))
        self.assertParses("not in Tags", m("Tags", IN, "not"))
        self.assertParses("Service == and", m("Service", EQUAL, "and"))
        self.assertParses("or == in", m("or", EQUAL, "in"))
        self.assertParses("notice == 1", m("notice", EQUAL, "1"))
        self.assertParses("empty is empty", m("empty", IS_EMPTY))

    def test_keywords_are_case_sensitive(self):
        self.assertFails("a == 1 AND b == 2",
                         '1:8 (7): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF')

    def test_go_bexpr_error_messages(self):
        self.assertFails('foo == "12x', '1:12 (11): rule "string": Unterminated string literal')
        self.assertFails("foo == `12x", '1:12 (11): rule "string": Unterminated string literal')
        self.assertFails("foo == 3x", '1:9 (8): rule "number": Invalid number literal')
        self.assertFails("foo[3] == abc", '1:5 (4): rule "index": Invalid index')
        self.assertFails('x in foo["abc"', '1:15 (14): rule "index": Unclosed index expression')
        self.assertFails('foo["abc" == 3', '1:11 (10): rule "index": Unclosed index expression')
        self.assertFails("x in 32", '1:6 (5): rule "match": Invalid selector')
        self.assertFails("32 == 32", '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]')
        self.assertFails("32 is empty", '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]')
        self.assertFails("x in foo abc", '1:10 (9): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF')
        self.assertFails("(foo == 4", '1:10 (9): rule "grouping": Unmatched parentheses')
        expected_value = '"(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]'
        self.assertFails("x in foo and ", "1:14 (13): no match found, expected: " + expected_value)
        self.assertFails("x in foo or ", "1:13 (12): no match found, expected: " + expected_value)
        self.assertFails("x in foo or not ",
                         '1:17 (16): no match found, expected: "!=", "(", "-", "0", "==", "\\"", "`", '
                         '"contains", "in", "is", "matches", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]')

    def test_consul_error_messages(self):
        self.assertFails("foo", '1:4 (3): no match found, expected: "!=", ".", "==", "[", [ \\t\\r\\n] or [a-zA-Z0-9_]')
        self.assertFails("Address == 10.10.10.10 ", '1:17 (16): rule "number": Invalid number literal')
        self.assertFails("Node==host-name",
                         '1:11 (10): no match found, expected: ".", "[", [ \\t\\r\\n], [a-zA-Z0-9_] or EOF')

    def test_blank_expression_is_a_syntax_error(self):
        self.assertFails(" ", "1:2 (1): no match found, expected: " + '"(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]')

    def test_escapes_go_rejects(self):
        self.assertFails(r'foo == "a\qb"', '1:8 (7): rule "string": invalid syntax')
        self.assertFails(r"foo == 'a'", '1:8 (7): no match found, expected: "-", "0", "\\"", "`", [ \\t\\r\\n], [1-9] or [a-zA-Z]')
        # A double-quoted string ends at the first quote, escaped or not.
        self.assertFails(r'foo == "a\"b"', '1:8 (7): rule "string": invalid syntax')

    def test_numbers(self):
        self.assertFails("foo == 01", '1:9 (8): rule "number": Invalid number literal')
        self.assertFails("foo == 1.", '1:9 (8): rule "number": Invalid number literal')
        self.assertParses("(foo == 1)", m("foo", EQUAL, "1"))

    def test_positions_count_runes_and_lines_as_pigeon_does(self):
        # The newline itself is column 0 of the next line; offsets are bytes.
        self.assertFails("a\nb == 1",
                         '2:1 (2): no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not" or [ \\t\\r\\n]')
        self.assertFails("é == 1", '1:1 (0): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]')
        self.assertFails("x == \"é\" y", '1:10 (10): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF')

    def test_invalid_utf8(self):
        self.assertFails(b'foo == "a\xffb"', '1:10 (9): rule DoubleStringChar: invalid encoding')
        self.assertFails(b"\xff", "1:1 (0): invalid encoding")
        # The error names the rule that read the character before the bad byte.
        self.assertFails(b"a == \xff", '1:6 (5): rule "whitespace": invalid encoding')
        self.assertFails(b"Node\xff == 1", "1:5 (4): rule Identifier: invalid encoding")
