"""The columnize rules that consul's tables follow."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.columnize import columnize


class ColumnizeTests(SynchronousTestCase):
    def test_columns_are_as_wide_as_their_longest_field(self):
        self.assertEqual(columnize(["a|bb|c", "ccc|d|eeee"]), "a    bb  c\nccc  d   eeee")

    def test_last_field_is_not_padded_and_no_final_newline(self):
        self.assertEqual(columnize(["a|b", "long|x"]), "a     b\nlong  x")
        self.assertEqual(columnize(["only"]), "only")
        self.assertEqual(columnize([]), "")

    def test_empty_trailing_fields_leave_trailing_spaces(self):
        self.assertEqual(columnize(["a|b|c", "aa||"]), "a   b  c\naa     ")

    def test_rows_with_fewer_fields(self):
        # A short row ends where its own fields end; the widths stay the same.
        self.assertEqual(columnize(["a|b|c", "dddd", "e|ff"]), "a     b   c\ndddd\ne     ff")

    def test_fields_are_trimmed_of_go_white_space(self):
        self.assertEqual(columnize(["  a \t|b", "\u00a0cc\u3000|d"]), "a   b\ncc  d")
        # \x1f is not white space for Go: it stays, and counts.
        self.assertEqual(columnize(["\x1fa|b", "c|d"]), "\x1fa  b\nc   d")

    def test_a_delimiter_inside_a_value_makes_a_column(self):
        self.assertEqual(columnize(["k|v", "x|a|b"]), "k  v\nx  a  b")

    def test_width_counts_bytes_but_padding_counts_characters(self):
        # "né" is 3 bytes of UTF-8 and 2 characters: its column is 3 wide.
        self.assertEqual(columnize(["né|1", "a|2"]), "né   1\na    2")
        self.assertEqual(columnize(["日本|x", "abcdef|y"]), "日本      x\nabcdef  y")
