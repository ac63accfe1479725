"""Go's FindStringSubmatch on the Pike VM: leftmost-first matches,
greediness, groups that take no part, flags, and linear time."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.preparedquery import submatch


def find(pattern, text):
    return submatch.compile(pattern).find(text)


class SubmatchTests(SynchronousTestCase):
    def test_the_documented_template_pattern(self):
        self.assertEqual(find(r"^geo-db-(.*?)-([^\-]+?)$", "geo-db-mysql-primary"),
                         ["geo-db-mysql-primary", "mysql", "primary"])

    def test_no_match_is_none(self):
        self.assertIsNone(find(r"^a(b)$", "ac"))

    def test_unanchored_leftmost(self):
        self.assertEqual(find(r"(\d+)", "ab12cd345"), ["12", "12"])

    def test_leftmost_first_alternation(self):
        self.assertEqual(find(r"(a|ab)(c|bcd)(d*)", "abcd"), ["abcd", "a", "bcd", ""])

    def test_groups_not_taking_part_are_empty(self):
        self.assertEqual(find(r"(a)|(b)", "b"), ["b", "", "b"])

    def test_greediness(self):
        self.assertEqual(find(r"x(a+?)(a*)", "xaaa"), ["xaaa", "a", "aa"])
        self.assertEqual(find(r"(?U)(a+)", "aaa"), ["a", "a"])
        self.assertEqual(find(r"(?U)(a+?)", "aaa"), ["aaa", "aaa"])
        self.assertEqual(find(r"(a{2,3})(a*)", "aaaa"), ["aaaa", "aaa", "a"])

    def test_flags_named_groups_and_classes(self):
        self.assertEqual(find(r"(?i)db-(?P<role>PRIMARY|replica)", "DB-Primary"), ["DB-Primary", "Primary"])
        self.assertEqual(find(r"^([[:alpha:]]+)\.(\d+)$", "web.12"), ["web.12", "web", "12"])
        self.assertEqual(find(r"(?s)a(.)b", "a\nb"), ["a\nb", "\n"])
        self.assertIsNone(find(r"a(.)b", "a\nb"))
        self.assertEqual(find(r"(?m)^(b)$", "a\nb\nc"), ["b", "b"])

    def test_empty_loops_end(self):
        self.assertEqual(find(r"(a*)*", "b"), ["", ""])
        self.assertEqual(find(r"(a|)+$", "aa")[0], "aa")

    def test_go_syntax_errors(self):
        with self.assertRaises(submatch.RegexError) as raised:
            submatch.compile("a(b")
        self.assertEqual(str(raised.exception), "error parsing regexp: missing closing ): `a(b`")

    def test_linear_time_on_a_pathological_pattern(self):
        # Exponential for a backtracking engine; one pass here.
        self.assertIsNone(find(r"^(a+)+$", "a" * 200 + "b"))
        self.assertEqual(find(r"(a*)*b|c", "a" * 200 + "c"), ["c", ""])
