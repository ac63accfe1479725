"""Go's regular expressions as ``matches`` uses them: syntax, errors, meaning."""

import random
import re

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.filter import regex


def search(pattern, text):
    return regex.compile(pattern).search(text)


class SyntaxErrorTests(SynchronousTestCase):
    """Go 1.16's regexp/syntax messages, including the part of the pattern shown."""

    def assertRefused(self, pattern, code, expr):
        with self.assertRaises(regex.RegexError) as caught:
            regex.compile(pattern)
        self.assertEqual(str(caught.exception), "error parsing regexp: %s: `%s`" % (code, expr))

    def test_groups(self):
        self.assertRefused("(abc", "missing closing )", "(abc")
        self.assertRefused("a(b(c)", "missing closing )", "a(b(c)")
        self.assertRefused("abc)", "unexpected )", "abc)")
        self.assertRefused("[abc", "missing closing ]", "[abc")
        self.assertRefused("x[a-", "missing closing ]", "[a-")

    def test_repetition(self):
        self.assertRefused("*a", "missing argument to repetition operator", "*")
        self.assertRefused("a|*", "missing argument to repetition operator", "*")
        self.assertRefused("(+)", "missing argument to repetition operator", "+")
        self.assertRefused("??", "missing argument to repetition operator", "??")
        self.assertRefused("a**", "invalid nested repetition operator", "**")
        self.assertRefused("a*??", "invalid nested repetition operator", "*??")
        self.assertRefused("a{2}{3}", "invalid nested repetition operator", "{2}{3}")
        self.assertRefused("x{1001}", "invalid repeat count", "{1001}")
        self.assertRefused("x{2,1}", "invalid repeat count", "{2,1}")
        self.assertRefused("(a{2}){1000}", "invalid repeat count", "{1000}")

    def test_perl_features_re2_lacks(self):
        # Possessive and atomic forms, which Python's re has, are refused.
        self.assertRefused("a*+", "invalid nested repetition operator", "*+")
        self.assertRefused("a++", "invalid nested repetition operator", "++")
        self.assertRefused("(?>x)", "invalid or unsupported Perl syntax", "(?>")
        self.assertRefused("(?=x)", "invalid or unsupported Perl syntax", "(?=")
        self.assertRefused("(?<name>x)", "invalid or unsupported Perl syntax", "(?<")
        self.assertRefused("(?i)(?-)", "invalid or unsupported Perl syntax", "(?-)")
        self.assertRefused("(?P<>x)", "invalid named capture", "(?P<>")
        self.assertRefused("(?P<a-b>x)", "invalid named capture", "(?P<a-b>")
        self.assertRefused("(?P<abc", "invalid named capture", "(?P<abc")

    def test_escapes(self):
        # No backreferences: a single digit escape is an error.
        self.assertRefused("(a)\\1", "invalid escape sequence", "\\1")
        self.assertRefused("\\8", "invalid escape sequence", "\\8")
        self.assertRefused("\\Z", "invalid escape sequence", "\\Z")
        self.assertRefused("\\q", "invalid escape sequence", "\\q")
        self.assertRefused("\\C", "invalid escape sequence", "\\C")
        self.assertRefused("\\é", "invalid escape sequence", "\\é")
        self.assertRefused("\\x4", "invalid escape sequence", "\\x4")
        self.assertRefused("\\x{zz}", "invalid escape sequence", "\\x{z")
        self.assertRefused("\\x{110000}", "invalid escape sequence", "\\x{110000")
        self.assertRefused("a\\", "trailing backslash at end of expression", "")

    def test_classes(self):
        self.assertRefused("[z-a]", "invalid character class range", "z-a")
        self.assertRefused("[[:foo:]]", "invalid character class range", "[:foo:]")
        self.assertRefused("\\pX", "invalid character class range", "\\pX")
        self.assertRefused("\\p{Foo}", "invalid character class range", "\\p{Foo}")
        self.assertRefused("\\p{L", "invalid character class range", "\\p{L")
        self.assertRefused("\\p", "invalid character class range", "\\p")

    def test_invalid_utf8(self):
        self.assertRefused("a\udcffb", "invalid UTF-8", "\udcffb")

    def test_what_this_implementation_declines(self):
        # Go accepts Unicode scripts; Python has no script property to test.
        self.assertRefused("\\p{Greek}", "not supported by this implementation", "\\p{Greek}")
        self.assertRefused("[\\p{Han}]", "not supported by this implementation", "\\p{Han}")

    def test_accepted(self):
        for pattern in ("", "(?P<n_1>x)", "(?i)x", "(?i:x)", "(?-i:x)", "(?ms)x", "(?U)x*", "x{01}", "x{", "x{a}",
                        "a{,3}", "\\_", "\\.", "[]a]", "[^]a]", "[a-]", "[-a]", "\\Q(\\E", "\\Q(", "^*", "$+", "()*",
                        "\\pL", "\\p{Lu}", "\\P{^N}", "\\p{Any}", "[[:^alpha:]\\d]", "\\x{10FFFF}", "\\0", "\\101"):
            regex.compile(pattern)


class MeaningTests(SynchronousTestCase):
    """Where Go and Python's re disagree, Go is followed."""

    def test_dollar_is_the_end_of_text(self):
        self.assertFalse(search("^abc$", "abc\n"))  # Python's re: a match
        self.assertTrue(search("(?m)^abc$", "x\nabc\ny"))
        self.assertTrue(search("abc\\z", "xabc"))
        self.assertFalse(search("\\Aabc", "xabc"))

    def test_perl_classes_are_ascii(self):
        self.assertFalse(search("\\d", "١٢٣"))
        self.assertFalse(search("\\w", "é"))
        self.assertTrue(search("\\W", "é"))
        self.assertFalse(search("\\s", "\u00a0\u2003\v"))
        self.assertTrue(search("\\s", "\f"))
        self.assertTrue(search("\\bfoo\\b", "éfooé"))  # é is not a word character
        self.assertFalse(search("\\Bfoo", "a foo"))

    def test_octal_not_backreference(self):
        self.assertTrue(search("\\12", "\n"))
        self.assertTrue(search("\\101", "A"))
        self.assertTrue(search("a\\0", "a\x00"))

    def test_literal_quoting(self):
        self.assertTrue(search("\\Qa.b\\E+", "a.bbb"))
        self.assertFalse(search("\\Qa.b\\E", "axb"))
        self.assertTrue(search("\\Q(x", "(x"))

    def test_flags(self):
        self.assertFalse(search("a.c", "a\nc"))
        self.assertTrue(search("(?s)a.c", "a\nc"))
        self.assertTrue(search("(?i)WEB", "web"))
        self.assertTrue(search("a(?i)b|c", "C"))  # the flag lasts to the end of the group
        self.assertFalse(search("(a(?i)b)C", "aBc"))  # and is restored after it
        self.assertTrue(search("(?i:a)B", "AB"))
        self.assertFalse(search("(?i:a)B", "Ab"))
        self.assertTrue(search("(?i)a(?-i)B", "AB"))
        self.assertFalse(search("(?i)a(?-i)B", "Ab"))
        self.assertTrue(search("(?U)a+", "aaa"))

    def test_case_folding_is_unicode_simple_folding(self):
        self.assertTrue(search("(?i)k", "\u212a"))  # KELVIN SIGN
        self.assertTrue(search("(?i)s", "\u017f"))  # LATIN SMALL LETTER LONG S
        self.assertTrue(search("(?i)σ", "ς"))
        self.assertTrue(search("(?i)ß", "ẞ"))
        self.assertFalse(search("(?i)ß", "ss"))  # no multi-character folding
        self.assertFalse(search("(?i)i", "ı"))
        self.assertTrue(search("(?i)[a-c]", "B"))
        self.assertFalse(search("(?i)[^a-c]", "B"))
        self.assertFalse(search("(?i)\\W", "k"))

    def test_classes(self):
        self.assertTrue(search("^[[:alpha:]]+$", "abcXYZ"))
        self.assertFalse(search("[[:alpha:]]", "1é"))
        self.assertTrue(search("^[[:^digit:]]+$", "abc"))
        self.assertTrue(search("[[:punct:]]", "a-b"))
        self.assertTrue(search("\\pL", "é"))
        self.assertFalse(search("\\PL", "é"))
        self.assertTrue(search("\\p{Nd}", "١"))
        self.assertTrue(search("[^a]", "\n"))  # negated classes match newlines
        self.assertTrue(search("[\\d-z]", "-"))
        self.assertTrue(search("^[]a]+$", "]a]"))

    def test_repetition(self):
        self.assertFalse(search("^a{3}$", "aa"))
        self.assertTrue(search("^a{3}$", "aaa"))
        self.assertTrue(search("^a{2,}$", "aaaa"))
        self.assertTrue(search("^a{1,2}$", "aa"))
        self.assertFalse(search("^a{1,2}$", "aaa"))
        self.assertTrue(search("^x{$", "x{"))  # not a repetition: a literal {
        self.assertTrue(search("^(ab)*$", ""))
        self.assertTrue(search("()*x", "x"))

    def test_invalid_bytes_in_text_read_as_replacement_character(self):
        self.assertTrue(search("^a.b$", "a\udc80b"))
        self.assertTrue(search("\ufffd", "\udc80"))
        self.assertFalse(search("\\x{d800}", "\ud800"))

    def test_linear_time(self):
        # Exponential for a backtracking engine; linear here.
        self.assertFalse(search("(a*)*b", "a" * 20000))
        self.assertFalse(search("(a|aa)+$x", "a" * 20000))
        self.assertFalse(search(".*.*.*.*=", "x" * 5000))
        self.assertTrue(search("(x+x+)+y", "x" * 5000 + "y"))

    def test_many_states(self):
        # More automaton states than the cache keeps: same answers.
        pattern = "(a|b)*a(a|b){12}$"
        compiled = regex.compile(pattern)
        expected = re.compile(pattern.replace("$", "\\Z"))
        rng = random.Random(7)
        for _ in range(20):
            text = "".join(rng.choice("ab") for _ in range(400))
            self.assertEqual(compiled.search(text), expected.search(text) is not None)


# Patterns on which Go's and Python's syntax and meaning coincide.
_ATOMS = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "\\w", "^", "x", "(?:a|b)", "(a|)", "\\b"])


def _patterns():
    def extend(inner):
        return st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map("|".join),
            inner.map(lambda p: "(%s)" % p),
            st.tuples(inner, st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "{0,}", "*?"])).map(
                lambda t: "(%s)%s" % t),
        )
    return st.recursive(_ATOMS, extend, max_leaves=8)


class CrossCheckTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(_patterns(), st.text(alphabet="abx \n", max_size=12))
    def test_agrees_with_python_where_they_coincide(self, pattern, text):
        self.assertEqual(search(pattern, text), re.search(pattern, text) is not None, (pattern, text))
