"""The registry of functions a template can call.

A :class:`FuncTable` maps names to :class:`Func` objects, each a Python callable
plus its Go signature (the parameter types). The signature matters because the
executor checks argument counts and converts arguments as Go does, and reports
misuse with Go's messages (``wrong number of args for add: want 2 got 1``,
``expected integer; found 1.5``).

Adding a function is one call::

    table = FuncTable()
    table.add("toUpper", str.upper, STRING)
    table.add("getv", store.get_value, STRING, variadic=STRING)

The callable receives converted arguments and returns the result. To fail, it
raises :class:`~pyconsul.template.errors.GoError` with Go's wording; the
executor reports ``error calling NAME: MESSAGE``.
"""

import attr


@attr.s(frozen=True, slots=True)
class Func:
    """A callable with a Go signature: fixed parameters and an optional ``...T``."""

    impl = attr.ib()
    params = attr.ib(converter=tuple, default=())
    variadic = attr.ib(default=None)

    def bound(self, receiver):
        """This function as a method of ``receiver`` (passed as first argument)."""
        impl = self.impl
        return Func(lambda *args: impl(receiver, *args), self.params, self.variadic)


class FuncTable(dict):
    """Name -> :class:`Func`. Tables combine with ``|`` (the right one wins)."""

    def add(self, name, impl, *params, variadic=None):
        self[name] = Func(impl, params, variadic)
        return self

    def __or__(self, other):
        merged = FuncTable(self)
        merged.update(other)
        return merged
