"""The lexer for Go's template language.

It splits template text into items (text, delimiters, identifiers, strings,
numbers, ...) with the same rules, and the same error messages, as Go's
``text/template/parse`` lexer. It is a state machine: each state method scans
some input, may emit items, and returns the next state. The parser pulls items
one at a time with :meth:`Lexer.next_item`.

Positions are indexes into the Python string; the parser converts them to Go's
byte columns only when it reports an error.
"""

import enum
import typing

from pyconsul.golang.strconv import is_print, quote

LEFT_DELIM = "{{"
RIGHT_DELIM = "}}"
LEFT_COMMENT = "/*"
RIGHT_COMMENT = "*/"
TRIM_MARKER = "-"
SPACE_CHARS = " \t\r\n"


class Item(enum.IntEnum):
    ERROR = enum.auto()
    BOOL = enum.auto()
    CHAR = enum.auto()  # a printable ASCII character: the grab bag for ',' and such
    CHAR_CONSTANT = enum.auto()
    COMMENT = enum.auto()
    COMPLEX = enum.auto()
    ASSIGN = enum.auto()  # '='
    DECLARE = enum.auto()  # ':='
    EOF = enum.auto()
    FIELD = enum.auto()  # .Name
    IDENTIFIER = enum.auto()
    LEFT_DELIM = enum.auto()
    LEFT_PAREN = enum.auto()
    NUMBER = enum.auto()
    PIPE = enum.auto()
    RAW_STRING = enum.auto()
    RIGHT_DELIM = enum.auto()
    RIGHT_PAREN = enum.auto()
    SPACE = enum.auto()
    STRING = enum.auto()
    TEXT = enum.auto()
    VARIABLE = enum.auto()  # $ or $name
    # Keywords come after everything else (Go prints them as <name>).
    KEYWORD = enum.auto()
    BLOCK = enum.auto()
    BREAK = enum.auto()
    CONTINUE = enum.auto()
    DOT = enum.auto()
    DEFINE = enum.auto()
    ELSE = enum.auto()
    END = enum.auto()
    IF = enum.auto()
    NIL = enum.auto()
    RANGE = enum.auto()
    TEMPLATE = enum.auto()
    WITH = enum.auto()


KEYWORDS = {
    ".": Item.DOT,
    "block": Item.BLOCK,
    "break": Item.BREAK,
    "continue": Item.CONTINUE,
    "define": Item.DEFINE,
    "else": Item.ELSE,
    "end": Item.END,
    "if": Item.IF,
    "range": Item.RANGE,
    "nil": Item.NIL,
    "template": Item.TEMPLATE,
    "with": Item.WITH,
}


class Token(typing.NamedTuple):
    """One lexed item: its type, start position, text and line."""

    typ: Item
    pos: int
    val: str
    line: int

    def __str__(self):
        """How Go's parser names the item in messages such as 'unexpected X'."""
        if self.typ == Item.EOF:
            return "EOF"
        if self.typ == Item.ERROR:
            return self.val
        if self.typ > Item.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return quote(self.val[:10]) + "..."
        return quote(self.val)


def is_space(ch):
    return ch in SPACE_CHARS and ch != ""


def is_alphanumeric(ch):
    return ch == "_" or ch.isalpha() or ch.isdecimal()


def format_rune_u(ch):
    """Go's %#U: U+0041 'A' (the quoted character only when printable)."""
    text = "U+%04X" % ord(ch)
    if is_print(ch):
        text += " '" + ch + "'"
    return text


def _has_left_trim_marker(s):
    return len(s) >= 2 and s[0] == TRIM_MARKER and is_space(s[1])


def _has_right_trim_marker(s):
    return len(s) >= 2 and is_space(s[0]) and s[1] == TRIM_MARKER


class Lexer:
    """Scans one template text; ``next_item()`` returns its items in order.

    After an error or the end of input it keeps returning that last item.
    ``break_ok``/``continue_ok`` say whether those words are keywords (they are
    not when a function of that name exists).
    """

    def __init__(self, text, break_ok=True, continue_ok=True):
        self.input = text
        self.break_ok = break_ok
        self.continue_ok = continue_ok
        self.pos = 0
        self.start = 0
        self.paren_depth = 0
        self.pending = []
        self.state = self.lex_text
        self.last = None
        self._line = 1
        self._line_pos = 0

    # -- the pull interface ------------------------------------------------

    def next_item(self):
        while not self.pending:
            if self.state is None:
                return self.last
            self.state = self.state()
        item = self.pending.pop(0)
        if item.typ in (Item.EOF, Item.ERROR):
            self.state = None
            self.pending.clear()
        self.last = item
        return item

    # -- scanning primitives ---------------------------------------------

    def line_at(self, pos):
        """1 + the number of newlines before ``pos`` (positions only grow)."""
        if pos < self._line_pos:
            self._line, self._line_pos = 1, 0
        self._line += self.input.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

    def next(self):
        if self.pos >= len(self.input):
            self.pos += 1  # so that backup() stays symmetric at EOF
            return ""
        ch = self.input[self.pos]
        self.pos += 1
        return ch

    def backup(self):
        self.pos -= 1

    def peek(self):
        ch = self.next()
        self.backup()
        return ch

    def emit(self, typ):
        self.pending.append(Token(typ, self.start, self.input[self.start : self.pos], self.line_at(self.start)))
        self.start = self.pos

    def ignore(self):
        self.start = self.pos

    def accept(self, valid):
        ch = self.next()
        if ch and ch in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid):
        while True:
            ch = self.next()
            if not ch or ch not in valid:
                break
        self.backup()

    def errorf(self, message):
        self.pending.append(Token(Item.ERROR, self.start, message, self.line_at(self.start)))
        return None

    def at_right_delim(self):
        """Is the input at a right delimiter, and does a trim marker precede it?"""
        rest = self.input[self.pos : self.pos + 4]
        if _has_right_trim_marker(rest) and rest[2:].startswith(RIGHT_DELIM):
            return True, True
        if rest.startswith(RIGHT_DELIM):
            return True, False
        return False, False

    def at_terminator(self):
        """Can an identifier, field or variable end here?"""
        ch = self.peek()
        if ch == "" or is_space(ch):
            return True
        if ch in ".,|:)(":
            return True
        return ch == RIGHT_DELIM[0]

    # -- states ------------------------------------------------------------

    def lex_text(self):
        x = self.input.find(LEFT_DELIM, self.pos)
        if x >= 0:
            if x > self.pos:
                self.pos = x
                trim = 0
                delim_end = self.pos + len(LEFT_DELIM)
                if _has_left_trim_marker(self.input[delim_end : delim_end + 2]):
                    text = self.input[self.start : self.pos]
                    trim = len(text) - len(text.rstrip(SPACE_CHARS))
                self.pos -= trim
                if self.pos > self.start:
                    self.emit(Item.TEXT)
                self.pos += trim
                self.ignore()
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.emit(Item.TEXT)
        self.emit(Item.EOF)
        return None

    def lex_left_delim(self):
        self.pos += len(LEFT_DELIM)
        trim_space = _has_left_trim_marker(self.input[self.pos : self.pos + 2])
        after_marker = 2 if trim_space else 0
        if self.input.startswith(LEFT_COMMENT, self.pos + after_marker):
            self.pos += after_marker
            self.ignore()
            return self.lex_comment
        self.emit(Item.LEFT_DELIM)
        self.pos += after_marker
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self):
        self.pos += len(LEFT_COMMENT)
        x = self.input.find(RIGHT_COMMENT, self.pos)
        if x < 0:
            return self.errorf("unclosed comment")
        self.pos = x + len(RIGHT_COMMENT)
        delim, trim_space = self.at_right_delim()
        if not delim:
            return self.errorf("comment ends before closing delimiter")
        if trim_space:
            self.pos += 2
        self.pos += len(RIGHT_DELIM)
        if trim_space:
            self.pos = self._skip_leading_space(self.pos)
        self.ignore()
        return self.lex_text

    def _skip_leading_space(self, pos):
        while pos < len(self.input) and self.input[pos] in SPACE_CHARS:
            pos += 1
        return pos

    def lex_right_delim(self):
        _, trim_space = self.at_right_delim()
        if trim_space:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT_DELIM)
        self.emit(Item.RIGHT_DELIM)
        if trim_space:
            self.pos = self._skip_leading_space(self.pos)
            self.ignore()
        return self.lex_text

    def lex_inside_action(self):
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            return self.errorf("unclosed left paren")
        ch = self.next()
        if ch == "":
            return self.errorf("unclosed action")
        if is_space(ch):
            self.backup()  # the space may belong to a " -}}"
            return self.lex_space
        if ch == "=":
            self.emit(Item.ASSIGN)
        elif ch == ":":
            if self.next() != "=":
                return self.errorf("expected :=")
            self.emit(Item.DECLARE)
        elif ch == "|":
            self.emit(Item.PIPE)
        elif ch == '"':
            return self.lex_quote
        elif ch == "`":
            return self.lex_raw_quote
        elif ch == "$":
            return self.lex_variable
        elif ch == "'":
            return self.lex_char
        elif ch == "." and not self._digit_follows():
            return self.lex_field
        elif ch in "+-." or "0" <= ch <= "9":
            self.backup()
            return self.lex_number
        elif is_alphanumeric(ch):
            self.backup()
            return self.lex_identifier
        elif ch == "(":
            self.emit(Item.LEFT_PAREN)
            self.paren_depth += 1
        elif ch == ")":
            self.emit(Item.RIGHT_PAREN)
            self.paren_depth -= 1
            if self.paren_depth < 0:
                return self.errorf("unexpected right paren " + format_rune_u(ch))
        elif ord(ch) < 0x80 and is_print(ch):
            self.emit(Item.CHAR)
        else:
            return self.errorf("unrecognized character in action: " + format_rune_u(ch))
        return self.lex_inside_action

    def _digit_follows(self):
        return self.pos < len(self.input) and "0" <= self.input[self.pos] <= "9"

    def lex_space(self):
        spaces = 0
        while is_space(self.peek()):
            self.next()
            spaces += 1
        # A run of spaces may end with the space of a " -}}" trim marker.
        rest = self.input[self.pos - 1 : self.pos + 3]
        if _has_right_trim_marker(rest) and rest[2:].startswith(RIGHT_DELIM):
            self.backup()
            if spaces == 1:
                return self.lex_right_delim
        self.emit(Item.SPACE)
        return self.lex_inside_action

    def lex_identifier(self):
        while is_alphanumeric(self.next()):
            pass
        self.backup()
        if not self.at_terminator():
            return self.errorf("bad character " + format_rune_u(self.input[self.pos]))
        word = self.input[self.start : self.pos]
        keyword = KEYWORDS.get(word)
        if keyword is not None and keyword > Item.KEYWORD:
            if (keyword == Item.BREAK and not self.break_ok) or (
                keyword == Item.CONTINUE and not self.continue_ok
            ):
                self.emit(Item.IDENTIFIER)
            else:
                self.emit(keyword)
        elif word[0] == ".":
            self.emit(Item.FIELD)
        elif word in ("true", "false"):
            self.emit(Item.BOOL)
        else:
            self.emit(Item.IDENTIFIER)
        return self.lex_inside_action

    def lex_field(self):
        return self._lex_field_or_variable(Item.FIELD)

    def lex_variable(self):
        if self.at_terminator():  # a lone "$"
            self.emit(Item.VARIABLE)
            return self.lex_inside_action
        return self._lex_field_or_variable(Item.VARIABLE)

    def _lex_field_or_variable(self, typ):
        if self.at_terminator():  # nothing follows the "." or "$"
            self.emit(Item.VARIABLE if typ == Item.VARIABLE else Item.DOT)
            return self.lex_inside_action
        while is_alphanumeric(self.next()):
            pass
        self.backup()
        if not self.at_terminator():
            return self.errorf("bad character " + format_rune_u(self.input[self.pos]))
        self.emit(typ)
        return self.lex_inside_action

    def lex_char(self):
        while True:
            ch = self.next()
            if ch == "\\":
                ch = self.next()
                if ch not in ("", "\n"):
                    continue
            if ch in ("", "\n"):
                return self.errorf("unterminated character constant")
            if ch == "'":
                break
        self.emit(Item.CHAR_CONSTANT)
        return self.lex_inside_action

    def lex_number(self):
        if not self._scan_number():
            return self.errorf("bad number syntax: " + quote(self.input[self.start : self.pos]))
        sign = self.peek()
        if sign in ("+", "-") and sign:
            # A complex constant such as 1+2i: no spaces, must end in 'i'.
            if not self._scan_number() or self.input[self.pos - 1] != "i":
                return self.errorf("bad number syntax: " + quote(self.input[self.start : self.pos]))
            self.emit(Item.COMPLEX)
        else:
            self.emit(Item.NUMBER)
        return self.lex_inside_action

    def _scan_number(self):
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if is_alphanumeric(self.peek()):
            self.next()
            return False
        return True

    def lex_quote(self):
        while True:
            ch = self.next()
            if ch == "\\":
                ch = self.next()
                if ch not in ("", "\n"):
                    continue
            if ch in ("", "\n"):
                return self.errorf("unterminated quoted string")
            if ch == '"':
                break
        self.emit(Item.STRING)
        return self.lex_inside_action

    def lex_raw_quote(self):
        end = self.input.find("`", self.pos)
        if end < 0:
            return self.errorf("unterminated raw quoted string")
        self.pos = end + 1
        self.emit(Item.RAW_STRING)
        return self.lex_inside_action
