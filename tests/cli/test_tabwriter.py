"""Go's text/tabwriter rules, with '.' as the padding to make it visible."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.tabwriter import TabWriter, text_width


def format_text(data, padding=1, min_width=0):
    writer = TabWriter(min_width=min_width, tab_width=8, padding=padding, pad_char=b".")
    writer.write(data)
    return writer.flush()


class TabWriterTests(SynchronousTestCase):
    def test_table(self):
        table = [
            (b"", b""),
            (b"no tabs\n", b"no tabs\n"),
            (b"a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n", b"a...b...c\naa..bbb.cccc\naaa.bbbb\n"),
            # A line without the column ends the block: the next block aligns anew.
            (b"a\tb\nlong line\nxxxxx\ty\n", b"a.b\nlong line\nxxxxx.y\n"),
            # Trailing text after the last tab is not part of a column.
            (b"k\tvalue one\nkey\tv\n", b"k...value one\nkey.v\n"),
            # A line ending in a tab-terminated empty cell still pads it.
            (b"a\t\nbbb\tc\n", b"a...\nbbb.c\n"),
            # No final newline: the last line is written as it is.
            (b"ab\tc\nd\t", b"ab.c\nd"),
            # \v ends a cell like \t; \f ends the line and every column.
            (b"a\vb\ncc\vd\n", b"a..b\ncc.d\n"),
            (b"a\tb\fcccc\td\n", b"a.b\ncccc.d\n"),
            # Widths count characters, not bytes; a broken byte counts one.
            ("\u00e9\tx\nab\ty\n".encode(), "\u00e9..x\nab.y\n".encode()),
            (b"\xfe\xfd\tx\nabc\ty\n", b"\xfe\xfd..x\nabc.y\n"),
        ]
        for data, expected in table:
            self.assertEqual(format_text(data), expected, data)

    def test_escaped_text(self):
        """Between two 0xff bytes tabs are text; the escape bytes do not count."""
        self.assertEqual(format_text(b"a\xffb\tc\xff\td\nxx\te\n"), b"a\xffb\tc\xff.d\nxx...e\n")
        # An escape left open at the end is closed by flush.
        self.assertEqual(format_text(b"ab\tc\n\xffx\ty"), b"ab.c\n\xffx\ty")

    def test_padding_and_min_width(self):
        self.assertEqual(format_text(b"a\tb\nccc\td\n", padding=6), b"a........b\nccc......d\n")
        self.assertEqual(format_text(b"a\tb\n", padding=0, min_width=4), b"a...b\n")

    def test_writes_may_be_split_anywhere(self):
        data = b"CreateIndex\t1\nKey\ta\xffb\tc\xff\nValue\tx\ty"
        writer = TabWriter(min_width=0, tab_width=2, padding=6)
        for index in range(len(data)):
            writer.write(data[index:index + 1])
        whole = TabWriter(min_width=0, tab_width=2, padding=6)
        whole.write(data)
        self.assertEqual(writer.flush(), whole.flush())

    def test_text_width(self):
        self.assertEqual(text_width("\u65e5\u672c".encode()), 2)
        self.assertEqual(text_width(b"\xe2\x82"), 2)
