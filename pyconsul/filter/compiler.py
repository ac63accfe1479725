"""Validate a parsed expression against a schema and turn it into closures.

Validation follows go-bexpr v0.1.2's ``validate.go``, in its order (left
operand before right, and for each match: the selector, then the operator,
then the value's coercion, then the regular expression), with its messages:

- ``Selector "Service.Foo" is not valid``: the selector, up to the first part
  the schema does not have;
- ``Invalid match operator "Equal" for selector "ServiceTags"``;
- ``Failed to coerce value "x" for selector "ServicePort":
  strconv.ParseInt: parsing "x": invalid syntax`` (integers are read as Go's
  ``ParseInt(s, 0, 64)`` reads them, so ``0x50`` is 80; booleans as
  ``ParseBool``);
- ``Failed to compile regular expression "(": error parsing regexp: ...``.

Evaluation follows ``evaluate.go``:

- Selecting through a list of structs asks whether *any* element satisfies the
  whole match, negated operators included: ``Checks.Status != passing`` holds
  when some check is not passing; an empty list satisfies nothing.
- A key missing from a map makes ``==``, ``is not empty`` and ``in``/
  ``contains`` false and every other operator true -- ``!=``, ``is empty``,
  ``not in``, and also both ``matches`` and ``not matches``.
- ``in``/``contains`` tests a substring of a string, an element of a list
  (compared as the element's type) and a key of a map.
"""

from pyconsul.filter import regex
from pyconsul.filter.errors import FilterError
from pyconsul.filter.grammar import (
    EQUAL, IN, IS_EMPTY, IS_NOT_EMPTY, MATCHES, NOT_EQUAL, NOT_IN, NOT_MATCHES, And, Match, Not, Or, go_bytes,
)
from pyconsul.filter.types import BOOL, FLOAT, INT, STRING, List, Map
from pyconsul.golang.errors import GoError
from pyconsul.golang.strconv import parse_bool, parse_float, parse_int, quote

__all__ = ["build"]

# How deep the boolean structure may nest once and/or chains are flattened.
# Each level costs a few Python frames per record; go-bexpr itself parses a
# parenthesis level four times over, so real filters stay far below this.
MAX_DEPTH = 200

_NEGATED = {NOT_EQUAL: EQUAL, NOT_IN: IN, IS_NOT_EMPTY: IS_EMPTY, NOT_MATCHES: MATCHES}
# A missing map key makes these false; every other operator true.
_FALSE_WHEN_MISSING = frozenset([EQUAL, IS_NOT_EMPTY, IN])


def build(tree, schema):
    """A predicate on records for the syntax tree, or FilterError."""
    return _node(tree, schema, 0)


def _node(tree, schema, depth):
    if depth > MAX_DEPTH:
        raise FilterError("expression is nested too deeply")
    if isinstance(tree, Match):
        return _match(tree, schema)
    if isinstance(tree, Not):
        operand = _node(tree.operand, schema, depth + 1)
        return lambda record: not operand(record)
    kind = type(tree)
    parts = [_node(sub, schema, depth + 1) for sub in _flatten(tree, kind)]
    if kind is And:
        def conjunction(record):
            for part in parts:
                if not part(record):
                    return False
            return True
        return conjunction
    if kind is Or:
        def disjunction(record):
            for part in parts:
                if part(record):
                    return True
            return False
        return disjunction
    raise AssertionError(tree)


def _flatten(tree, kind):
    """The operands of a chain of one binary operator, left to right."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        if type(node) is kind:
            todo.append(node.right)
            todo.append(node.left)
        else:
            out.append(node)
    return out


def _dotted(selector):
    return quote(".".join(selector))


# -- one match expression --------------------------------------------------------


def _match(match, schema):
    selector, op = match.selector, match.op
    kind = schema
    for index, name in enumerate(selector):
        kind = kind.subfields(name)
        if kind is None:
            raise FilterError("Selector %s is not valid" % _dotted(selector[:index + 1]))
    if op not in kind.operators:
        raise FilterError("Invalid match operator %s for selector %s" % (quote(op), _dotted(selector)))
    value = None
    if match.value is not None:
        value = _coerce(match.value, kind, selector)
        if op in (MATCHES, NOT_MATCHES):
            try:
                value = regex.compile(value)
            except regex.RegexError as error:
                raise FilterError("Failed to compile regular expression %s: %s" % (quote(value), error)) from None
    test = _final_test(op, kind, value)
    return _walk(selector, 0, schema, test, op not in _FALSE_WHEN_MISSING)


def _coerce(raw, kind, selector):
    """The value as the field's Go type would hold it (go-bexpr's CoerceFn)."""
    target = kind.element if isinstance(kind, List) else STRING if isinstance(kind, Map) else kind
    try:
        if target is INT:
            return parse_int(raw, 0, 64)
        if target is BOOL:
            return parse_bool(raw)
        if target is FLOAT:
            return parse_float(raw)
    except GoError as error:
        raise FilterError("Failed to coerce value %s for selector %s: %s" % (quote(raw), _dotted(selector), error)) from None
    return raw


def _walk(selector, index, kind, test, when_missing):
    """A function of the value at selector[index:] of the given kind."""
    if index == len(selector):
        return test
    if isinstance(kind, List):
        # Any element, at the same place in the selector.
        each = _walk(selector, index, kind.element, test, when_missing)

        def any_element(value):
            if type(value) is not list:
                return False
            for item in value:
                if each(item):
                    return True
            return False
        return any_element
    name = selector[index]
    child = kind.subfields(name)
    inner = _walk(selector, index + 1, child, test, when_missing)
    if isinstance(kind, Map):
        def map_value(value):
            if type(value) is not dict or name not in value:
                return when_missing
            return inner(value[name])
        return map_value

    def struct_field(value):
        # An absent field or null is the Go zero value (see types.py); each
        # final test and walker treats None as its kind's zero.
        return inner(value.get(name) if type(value) is dict else None)
    return struct_field


# -- the tests at the end of a selector ------------------------------------------


def _final_test(op, kind, value):
    base = _NEGATED.get(op, op)
    positive = _positive_test(base, kind, value)
    if base is op:
        return positive
    return lambda field: not positive(field)


def _as_string(field):
    return field if type(field) is str else ""


def _normalize(kind):
    """How a record's value reads as the Go value of a primitive kind."""
    if kind is STRING:
        return _as_string
    if kind is BOOL:
        return lambda field: field if type(field) is bool else False
    if kind is INT:
        def as_int(field):
            if type(field) is int:
                return field
            if type(field) is float and field.is_integer():
                return int(field)
            return 0
        return as_int
    return lambda field: float(field) if type(field) in (int, float) else 0.0


def _positive_test(op, kind, value):
    if op == EQUAL:
        read = _normalize(kind)
        return lambda field: read(field) == value
    if op == IS_EMPTY:
        return lambda field: not field if type(field) in (list, dict) else True
    if op == MATCHES:
        search = value.search
        return lambda field: search(_as_string(field))
    # IN: substring, element or key.
    if isinstance(kind, Map):
        return lambda field: type(field) is dict and value in field
    if isinstance(kind, List):
        read = _normalize(kind.element)
        return lambda field: type(field) is list and any(read(item) == value for item in field)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        # Bytes that are not UTF-8: compare bytes, as Go's strings.Contains does.
        needle = go_bytes(value)
        return lambda field: needle in go_bytes(_as_string(field))
    return lambda field: value in _as_string(field)

