"""Go's text/tabwriter, for output that must line up byte for byte with Consul's.

``kv get -detailed`` prints through a tabwriter (minimum width 0, tab width 2,
padding 6, padded with spaces, no flags). Its rules show in odd corners: a
column is a run of consecutive lines that each have a tab-terminated cell at
that position, so a value spanning several lines, or holding tabs of its own,
changes the layout; a line with a single cell ends every column above it;
``\\f`` is a line break that also ends all columns (and prints as ``\\n``);
``\\v`` ends a cell like a tab; a segment between two ``\\xff`` bytes is taken
as plain text. Widths count UTF-8 characters, an invalid byte counting as one.
This module works on bytes, as Go does.
"""

ESCAPE = 0xFF
_TAB, _VTAB, _NEWLINE, _FORMFEED = 0x09, 0x0B, 0x0A, 0x0C


def text_width(data):
    """utf8.RuneCount: characters in data, each byte of a broken sequence counting one."""
    return len(data.decode("utf-8", "surrogateescape"))


class _Cell:
    __slots__ = ("text", "width")

    def __init__(self, text, width):
        self.text = text
        self.width = width


class TabWriter:
    """Collects text, then ``flush()`` returns it with its columns aligned."""

    def __init__(self, min_width=0, tab_width=8, padding=1, pad_char=b" "):
        if pad_char == b"\t":
            raise ValueError("tab padding is not supported")
        self.min_width = min_width
        self.tab_width = tab_width
        self.padding = padding
        self.pad_char = pad_char
        self._output = bytearray()
        self._reset()

    def _reset(self):
        self._lines = [[]]
        self._text = bytearray()  # the cell being read
        self._width = 0  # width of the part of _text already measured
        self._measured = 0  # how much of _text the width covers
        self._in_escape = False

    def _measure(self):
        self._width += text_width(bytes(self._text[self._measured:]))
        self._measured = len(self._text)

    def _end_cell(self):
        self._measure()
        self._lines[-1].append(_Cell(bytes(self._text), self._width))
        self._text = bytearray()
        self._width = 0
        self._measured = 0
        return len(self._lines[-1])

    def write(self, data):
        for byte in data:
            if self._in_escape:
                self._text.append(byte)
                if byte == ESCAPE:
                    self._end_escape()
                continue
            if byte in (_TAB, _VTAB, _NEWLINE, _FORMFEED):
                cells_in_line = self._end_cell()
                if byte in (_NEWLINE, _FORMFEED):
                    self._lines.append([])
                    # A one-cell line cannot widen any column below it, and a
                    # form feed closes all columns: both let the text go out now.
                    if byte == _FORMFEED or cells_in_line == 1:
                        self._flush_buffered()
            elif byte == ESCAPE:
                self._measure()
                self._text.append(byte)
                self._in_escape = True
            else:
                self._text.append(byte)

    def _end_escape(self):
        # The escaped text counts by its own width, not the two escape bytes.
        self._measure()
        self._width -= 2
        self._in_escape = False

    def flush(self):
        """Everything written so far, formatted; the writer starts afresh."""
        self._flush_buffered()
        output = bytes(self._output)
        self._output = bytearray()
        return output

    def _flush_buffered(self):
        if self._text:
            if self._in_escape:
                self._end_escape()
            self._end_cell()
        last_line = self._lines[-1]
        self._format(0, len(self._lines), [], last_line)
        self._reset()

    def _format(self, first, end, widths, last_line):
        """Print lines[first:end], aligning every column right of those in widths."""
        column = len(widths)
        line_index = first
        while line_index < end:
            if column < len(self._lines[line_index]) - 1:
                # A block of lines with a cell in this column starts here.
                self._print(first, line_index, widths, last_line)
                first = line_index
                width = self.min_width
                while line_index < end and column < len(self._lines[line_index]) - 1:
                    width = max(width, self._lines[line_index][column].width + self.padding)
                    line_index += 1
                self._format(first, line_index, widths + [width], last_line)
                first = line_index
            else:
                line_index += 1
        self._print(first, end, widths, last_line)

    def _print(self, first, end, widths, last_line):
        for line in self._lines[first:end]:
            for index, cell in enumerate(line):
                self._output += cell.text
                if index < len(widths):
                    self._output += self.pad_char * (widths[index] - cell.width)
            if line is not last_line:
                self._output += b"\n"
