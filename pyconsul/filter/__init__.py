"""Consul's ``?filter=`` expressions (go-bexpr v0.1.2, as Consul 1.10 uses it).

::

    from pyconsul.filter import apply, compile_filter
    from pyconsul.filter.schemas import SERVICE_NODE

    flt = compile_filter('ServiceMeta.env == "prod" and "v1" in ServiceTags', SERVICE_NODE)
    entries = apply(flt, entries)

``compile_filter`` parses and validates once per request and raises
:class:`FilterError`, whose text is Consul's answer; the returned
:class:`Filter` evaluates records (JSON-shaped dicts with Consul's field names)
with precompiled closures. :mod:`pyconsul.filter.schemas` has the record
types Consul filters. The modules, in the order a filter passes through them:
``peg`` and ``grammar`` (the parser, with pigeon's error messages),
``compiler`` (validation and evaluation), ``regex`` (Go's regular
expressions, for ``matches``), ``types`` and ``schemas``.
"""

from pyconsul.filter import compiler, grammar, peg
from pyconsul.filter.errors import FilterError

__all__ = ["Filter", "FilterError", "apply", "apply_to_map", "compile_filter"]


class Filter:
    """A compiled filter; ``matches(record)`` tells whether to keep a record."""

    __slots__ = ("expression", "_predicate")

    def __init__(self, expression, predicate):
        self.expression = expression
        self._predicate = predicate

    def matches(self, record):
        predicate = self._predicate
        return True if predicate is None else predicate(record)

    def __repr__(self):
        return "Filter(%r)" % (self.expression,)


def compile_filter(expression, schema):
    """Parse and validate expression against a schema (``pyconsul.filter.schemas``).

    Only the empty string means "no filter" (Consul ignores an empty
    ``?filter=``); an expression of blanks is a syntax error, as in Consul.
    """
    if expression == "" or expression == b"":
        return Filter(expression, None)
    try:
        tree = grammar.parse(expression)
    except peg.ParseFailure as failure:
        raise FilterError(failure.message) from None
    except peg.TooDeep:
        raise FilterError("expression is nested too deeply") from None
    return Filter(expression, compiler.build(tree, schema))


def apply(flt, records):
    """The records (a list, as Consul's list endpoints return) the filter keeps."""
    if flt is None or flt._predicate is None:
        return list(records)
    keep = flt._predicate
    return [record for record in records if keep(record)]


def apply_to_map(flt, mapping):
    """For the agent endpoints: filter a map's values, keeping their keys."""
    if flt is None or flt._predicate is None:
        return dict(mapping)
    keep = flt._predicate
    return {key: value for key, value in mapping.items() if keep(value)}
