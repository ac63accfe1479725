"""go-bexpr's grammar (v0.1.2, the version Consul 1.10 uses) and its syntax tree.

The rules, their order, their display names and the error texts of the
``&{...}`` predicates are go-bexpr's ``grammar.peg``, so precedence and error
messages come out the same:

- ``or`` binds loosest, then ``and``, then ``not``; ``and``/``or`` group to
  the right and need whitespace around them; ``not not X`` is ``X``.
- A match is ``Selector op Value`` (``==``, ``!=``, ``contains``,
  ``not contains``, ``matches``, ``not matches``), ``Selector is [not]
  empty``, or ``Value [not] in Selector``.
- A selector is an identifier (``[a-zA-Z][a-zA-Z0-9_]*``) followed by
  ``.identifier`` or ``["string"]`` parts; a value is a selector (taken as
  its dotted text, so ``Node == web.1a`` compares with ``web.1a``), a number
  (``-``?, no leading zeros, optional fraction, followed by whitespace, the
  end or ``)``) or a string: ``"..."`` with Go's escapes (no ``\\"``: the
  string ends at the first ``"``) or a raw ```...```.
- Keywords are plain text, matched case-sensitively and only where the
  grammar expects them, so ``Tags contains not`` compares with ``not``.
"""

from pyconsul.filter import peg
from pyconsul.filter.peg import ActionError, action, and_, choice, cls, fail_with, label, lit, not_, opt, plus, ref, seq, star
from pyconsul.golang.errors import GoError
from pyconsul.golang.strconv import unquote

__all__ = [
    "And", "Match", "Not", "Or", "go_bytes", "parse",
    "EQUAL", "NOT_EQUAL", "IN", "NOT_IN", "IS_EMPTY", "IS_NOT_EMPTY", "MATCHES", "NOT_MATCHES",
]

# go-bexpr's MatchOperator.String(), which its error messages print.
EQUAL = "Equal"
NOT_EQUAL = "Not Equal"
IN = "In"
NOT_IN = "Not In"
IS_EMPTY = "Is Empty"
IS_NOT_EMPTY = "Is Not Empty"
MATCHES = "Matches"
NOT_MATCHES = "Not Matches"

class Match:
    """``selector`` is a tuple of names; ``value`` the raw text, or None for emptiness."""

    __slots__ = ("selector", "op", "value")

    def __init__(self, selector, op, value):
        self.selector = selector
        self.op = op
        self.value = value

    def __repr__(self):
        return "Match(%r, %r, %r)" % (self.selector, self.op, self.value)

    def __eq__(self, other):
        return isinstance(other, Match) and (self.selector, self.op, self.value) == (other.selector, other.op, other.value)

class Not:
    __slots__ = ("operand",)

    def __init__(self, operand):
        self.operand = operand

    def __repr__(self):
        return "Not(%r)" % (self.operand,)

    def __eq__(self, other):
        return isinstance(other, Not) and self.operand == other.operand

class _Binary:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right

    def __repr__(self):
        return "%s(%r, %r)" % (type(self).__name__, self.left, self.right)

    def __eq__(self, other):
        return type(other) is type(self) and (self.left, self.right) == (other.left, other.right)

class And(_Binary):
    __slots__ = ()

class Or(_Binary):
    __slots__ = ()

# -- character classes, reported by their source text -------------------------

_WS = cls("[ \\t\\r\\n]", lambda r: r in (0x20, 0x09, 0x0D, 0x0A))
_ALPHA = cls("[a-zA-Z]", lambda r: 0x41 <= r <= 0x5A or 0x61 <= r <= 0x7A)
_WORD = cls("[a-zA-Z0-9_]", lambda r: 0x41 <= r <= 0x5A or 0x61 <= r <= 0x7A or 0x30 <= r <= 0x39 or r == 0x5F)
_NONZERO = cls("[1-9]", lambda r: 0x31 <= r <= 0x39)
_DIGIT = cls("[0-9]", lambda r: 0x30 <= r <= 0x39)

def _unquote(labels, text):
    try:
        return unquote(text)
    except GoError as error:
        # pigeon records the error and goes on with Unquote's "" result.
        raise ActionError(error.message, "") from None

def _not(labels, text):
    operand = labels["expr"]
    if isinstance(operand, Not):
        return operand.operand  # go-bexpr's "not not X" shortcut
    return Not(operand)

def _selector(labels, text):
    return (labels["first"],) + tuple(labels["rest"])

def _operator(value):
    return lambda labels, text: value

_W = ref("_")
_W_OPT = opt(ref("_"))

_RULES = {
    "Input": (None, choice(
        action(seq(_W_OPT, lit("("), _W_OPT, label("expr", ref("OrExpression")), _W_OPT, lit(")"), _W_OPT, ref("EOF")),
               lambda labels, text: labels["expr"]),
        action(seq(_W_OPT, label("expr", ref("OrExpression")), _W_OPT, ref("EOF")),
               lambda labels, text: labels["expr"]),
    )),
    "OrExpression": (None, choice(
        action(seq(label("left", ref("AndExpression")), _W, lit("or"), _W, label("right", ref("OrExpression"))),
               lambda labels, text: Or(labels["left"], labels["right"])),
        action(label("expr", ref("AndExpression")), lambda labels, text: labels["expr"]),
    )),
    "AndExpression": (None, choice(
        action(seq(label("left", ref("NotExpression")), _W, lit("and"), _W, label("right", ref("AndExpression"))),
               lambda labels, text: And(labels["left"], labels["right"])),
        action(label("expr", ref("NotExpression")), lambda labels, text: labels["expr"]),
    )),
    "NotExpression": (None, choice(
        action(seq(lit("not"), _W, label("expr", ref("NotExpression"))), _not),
        action(label("expr", ref("ParenthesizedExpression")), lambda labels, text: labels["expr"]),
    )),
    "ParenthesizedExpression": ('"grouping"', choice(
        action(seq(lit("("), _W_OPT, label("expr", ref("OrExpression")), _W_OPT, lit(")")),
               lambda labels, text: labels["expr"]),
        action(label("expr", ref("MatchExpression")), lambda labels, text: labels["expr"]),
        seq(lit("("), _W_OPT, ref("OrExpression"), _W_OPT, not_(lit(")")), fail_with("Unmatched parentheses")),
    )),
    "MatchExpression": ('"match"', choice(ref("MatchSelectorOpValue"), ref("MatchSelectorOp"), ref("MatchValueOpSelector"))),
    "MatchSelectorOpValue": ('"match"', action(
        seq(label("selector", ref("Selector")),
            label("operator", choice(ref("MatchEqual"), ref("MatchNotEqual"), ref("MatchContains"),
                                     ref("MatchNotContains"), ref("MatchMatches"), ref("MatchNotMatches"))),
            label("value", ref("Value"))),
        lambda labels, text: Match(labels["selector"], labels["operator"], labels["value"]))),
    "MatchSelectorOp": ('"match"', action(
        seq(label("selector", ref("Selector")), label("operator", choice(ref("MatchIsEmpty"), ref("MatchIsNotEmpty")))),
        lambda labels, text: Match(labels["selector"], labels["operator"], None))),
    "MatchValueOpSelector": ('"match"', choice(
        action(seq(label("value", ref("Value")), label("operator", choice(ref("MatchIn"), ref("MatchNotIn"))),
                   label("selector", ref("Selector"))),
               lambda labels, text: Match(labels["selector"], labels["operator"], labels["value"])),
        seq(ref("Value"), label("operator", choice(ref("MatchIn"), ref("MatchNotIn"))), not_(ref("Selector")),
            fail_with("Invalid selector")),
    )),
    "MatchEqual": (None, action(seq(_W_OPT, lit("=="), _W_OPT), _operator(EQUAL))),
    "MatchNotEqual": (None, action(seq(_W_OPT, lit("!="), _W_OPT), _operator(NOT_EQUAL))),
    "MatchIsEmpty": (None, action(seq(_W, lit("is"), _W, lit("empty")), _operator(IS_EMPTY))),
    "MatchIsNotEmpty": (None, action(seq(_W, lit("is"), _W, lit("not"), _W, lit("empty")), _operator(IS_NOT_EMPTY))),
    "MatchIn": (None, action(seq(_W, lit("in"), _W), _operator(IN))),
    "MatchNotIn": (None, action(seq(_W, lit("not"), _W, lit("in"), _W), _operator(NOT_IN))),
    "MatchContains": (None, action(seq(_W, lit("contains"), _W), _operator(IN))),
    "MatchNotContains": (None, action(seq(_W, lit("not"), _W, lit("contains"), _W), _operator(NOT_IN))),
    "MatchMatches": (None, action(seq(_W, lit("matches"), _W), _operator(MATCHES))),
    "MatchNotMatches": (None, action(seq(_W, lit("not"), _W, lit("matches"), _W), _operator(NOT_MATCHES))),
    "Selector": ('"selector"', action(seq(label("first", ref("Identifier")), label("rest", star(ref("SelectorOrIndex")))),
                                      _selector)),
    "Identifier": (None, action(seq(_ALPHA, star(_WORD)), lambda labels, text: text)),
    "SelectorOrIndex": (None, choice(
        action(seq(lit("."), label("ident", ref("Identifier"))), lambda labels, text: labels["ident"]),
        action(label("expr", ref("IndexExpression")), lambda labels, text: labels["expr"]),
    )),
    "IndexExpression": ('"index"', choice(
        action(seq(lit("["), _W_OPT, label("lit", ref("StringLiteral")), _W_OPT, lit("]")),
               lambda labels, text: labels["lit"]),
        seq(lit("["), _W_OPT, not_(ref("StringLiteral")), fail_with("Invalid index")),
        seq(lit("["), _W_OPT, ref("StringLiteral"), _W_OPT, not_(lit("]")), fail_with("Unclosed index expression")),
    )),
    "Value": ('"value"', choice(
        action(label("selector", ref("Selector")), lambda labels, text: ".".join(labels["selector"])),
        action(label("n", ref("NumberLiteral")), lambda labels, text: labels["n"]),
        action(label("s", ref("StringLiteral")), lambda labels, text: labels["s"]),
    )),
    "NumberLiteral": ('"number"', choice(
        action(seq(opt(lit("-")), ref("IntegerOrFloat"), and_(ref("AfterNumbers"))), lambda labels, text: text),
        seq(opt(lit("-")), ref("IntegerOrFloat"), not_(ref("AfterNumbers")), fail_with("Invalid number literal")),
    )),
    "AfterNumbers": (None, and_(choice(_W, ref("EOF"), lit(")")))),
    "IntegerOrFloat": (None, seq(choice(lit("0"), seq(_NONZERO, star(_DIGIT))), opt(seq(lit("."), plus(_DIGIT))))),
    "StringLiteral": ('"string"', choice(
        action(choice(seq(lit("`"), star(ref("RawStringChar")), lit("`")),
                      seq(lit('"'), star(ref("DoubleStringChar")), lit('"'))), _unquote),
        seq(choice(seq(lit("`"), star(ref("RawStringChar"))), seq(lit('"'), star(ref("DoubleStringChar")))),
            ref("EOF"), fail_with("Unterminated string literal")),
    )),
    "RawStringChar": (None, seq(not_(lit("`")), peg.ANY)),
    "DoubleStringChar": (None, seq(not_(lit('"')), peg.ANY)),
    "_": ('"whitespace"', plus(_WS)),
    "EOF": (None, not_(peg.ANY)),
}

GRAMMAR = peg.Grammar(_RULES, "Input")

def parse(expression):
    """The syntax tree of an expression (str, as a Go string, or bytes).

    Raises peg.ParseFailure with go-bexpr's message, or peg.TooDeep.
    """
    if isinstance(expression, str):
        expression = go_bytes(expression)
    return GRAMMAR.parse(expression)

def go_bytes(text):
    """The bytes of a Go string held as str (surrogateescape for non-UTF-8 bytes)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # A surrogate that stands for no byte (e.g. from a JSON \ud800 escape)
        # is not UTF-8 either: Go would see its three bytes as three errors.
        return text.encode("utf-8", "surrogatepass")
