"""How Go values are represented while a template runs.

Templates are Go's, so the values they handle must behave like Go values: a
string has a byte length, ``[]string`` and ``[]interface {}`` are different
types with different error messages, ``nil`` inside a JSON object prints as
``<nil>`` but a missing map key prints as ``<no value>``. The mapping is:

=================================  =========================================
Go                                 Python
=================================  =========================================
``string``                         ``str`` (bytes that are not UTF-8 are kept
                                   as lone surrogates, ``surrogateescape``)
``int`` / ``float64`` / ``bool``   ``int`` / ``float`` / ``bool``
``uint8``, ``uint16``, ``int64``   :class:`Uint8`, :class:`Uint16`, :class:`Int64`
``complex128``                     ``complex``
slices (``[]string`` ...)          :class:`GoSlice`, a list that knows its type
``map[string]interface {}``        :class:`GoMap`, a dict that knows its type
structs (``memkv.KVPair`` ...)     subclasses of :class:`GoStruct`
a nil ``interface {}``             ``None``
an invalid ``reflect.Value``       :data:`NO_VALUE` (what a missing key gives)
a non-nil value held in an         :class:`Iface` (only while it is the dot,
``interface {}``                   a range variable or a map field; the
                                   executor unwraps it everywhere else)
=================================  =========================================

Function parameters are described by :class:`GoType` objects, which say which
values a parameter accepts and how a literal in the template converts to it.
"""

import attr

ENCODING = "utf-8"
ERRORS = "surrogateescape"


def to_bytes(s):
    """The bytes of a Go string."""
    return s.encode(ENCODING, ERRORS)


def from_bytes(b):
    """A Go string from arbitrary bytes."""
    return b.decode(ENCODING, ERRORS)


def go_sort_key(s):
    """Sort strings in Go's order: by their bytes."""
    return to_bytes(s)


class _NoValue:
    """Go's invalid ``reflect.Value``: the result of a missing map key or nil data."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "NO_VALUE"

    def __bool__(self):
        return False


NO_VALUE = _NoValue()


@attr.s(slots=True, frozen=True)
class Iface:
    """A non-nil value seen through an ``interface {}`` static type."""

    value = attr.ib()


def unbox(value):
    return value.value if isinstance(value, Iface) else value


class Uint8(int):
    """A Go ``uint8`` (what indexing a string gives)."""

    go_type = "uint8"


class Uint16(int):
    go_type = "uint16"


class Int64(int):
    """A Go ``int64`` (what ``Time.Unix`` gives): not assignable to an ``int`` parameter."""

    go_type = "int64"


class GoSlice(list):
    """A Go slice: a list that remembers its Go type, e.g. ``[]string``.

    ``nil`` is true for a nil slice (Go distinguishes it from an empty one only
    when comparing with ``nil``).
    """

    def __init__(self, items=(), go_type="[]interface {}", nil=False):
        super().__init__(items)
        self.go_type = go_type
        self.nil = nil and not self

    @property
    def holds_interfaces(self):
        return self.go_type == "[]interface {}"

    def __repr__(self):
        return f"GoSlice({list.__repr__(self)}, {self.go_type!r})"


class GoMap(dict):
    """A Go ``map[string]interface {}`` (the only map type templates build)."""

    go_type = "map[string]interface {}"
    holds_interfaces = True

    def __init__(self, items=(), nil=False):
        super().__init__(items)
        self.nil = nil and not self

    def __repr__(self):
        return f"GoMap({dict.__repr__(self)})"


class GoStruct:
    """Base for Go structs a template can see.

    Subclasses list their exported fields in ``go_fields`` (in declaration
    order, which is the order fmt prints them) and name their Go type in
    ``go_type``. ``go_methods`` maps method names to :class:`~pyconsul.
    template.funcs.Func` objects taking the receiver first.
    """

    go_type = "struct {}"
    go_fields = ()
    go_methods = {}

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, f) == getattr(other, f) for f in self.go_fields
        )

    def __hash__(self):
        return hash(tuple(getattr(self, f) for f in self.go_fields))

    def __repr__(self):
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.go_fields)
        return f"{type(self).__name__}({fields})"


class NilPointer:
    """A typed nil pointer, such as the ``Node`` of a node that does not
    exist: false, printed ``<nil>``, and a field of it is Go's nil pointer
    error (which names the type)."""

    nil = True
    __slots__ = ("go_type",)

    def __init__(self, go_type):
        self.go_type = go_type

    def __eq__(self, other):
        return isinstance(other, NilPointer) and other.go_type == self.go_type

    def __hash__(self):
        return hash(self.go_type)

    def __repr__(self):
        return f"NilPointer({self.go_type!r})"


class KVPair(GoStruct):
    """confd's ``memkv.KVPair``: what ``get`` and ``gets`` return."""

    go_type = "memkv.KVPair"
    go_fields = ("Key", "Value")
    __slots__ = go_fields

    def __init__(self, Key, Value):
        self.Key = Key
        self.Value = Value


class SRV(GoStruct):
    """A ``*net.SRV`` record, as ``lookupSRV`` returns them."""

    go_type = "*net.SRV"
    go_fields = ("Target", "Port", "Priority", "Weight")
    __slots__ = go_fields

    def __init__(self, Target, Port, Priority, Weight):
        self.Target = Target
        self.Port = Uint16(Port)
        self.Priority = Uint16(Priority)
        self.Weight = Uint16(Weight)


def map_zero(mapping):
    """The zero value of a map's elements: typed maps say (``zero()``); a
    map of interface {} has nil."""
    zero = getattr(mapping, "zero", None)
    return zero() if zero is not None else None


def type_name(value):
    """The Go type of ``value`` as reflect's ``Type.String()`` spells it."""
    if value is None or isinstance(value, Iface):
        return "interface {}"
    if isinstance(value, bool):
        return "bool"
    go_type = getattr(value, "go_type", None)  # Uint8, time.Month, slices ...
    if go_type is not None:
        return go_type
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, complex):
        return "complex128"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def truth(value):
    """Go's template truth: false, 0, nil, and empty strings/slices/maps are false.

    Structs (and pointers to them) are always true.
    """
    value = unbox(value)
    if value is NO_VALUE or value is None or isinstance(value, NilPointer):
        return False
    if isinstance(value, (bool, int, float, complex)):
        return value != 0
    if isinstance(value, (str, list, dict, tuple)):
        return len(value) > 0
    return True


def to_go(value):
    """Give plain Python containers a Go type, for functions added by callers."""
    if isinstance(value, (GoSlice, GoMap)):
        return value
    if isinstance(value, (list, tuple)):
        return GoSlice((to_go(v) for v in value), "[]interface {}")
    if isinstance(value, dict):
        return GoMap((str(k), to_go(v)) for k, v in value.items())
    if isinstance(value, bytes):
        return from_bytes(value)
    return value


# -- parameter types -------------------------------------------------------


class GoType:
    """A Go type a function parameter can have.

    ``kind`` selects how a literal argument converts (Go's evalArg): ``string``,
    ``int``, ``float``, ``bool``, ``iface`` (``interface {}``), ``value``
    (``reflect.Value``, used by the builtins), or ``other`` (slices, maps: no
    literal converts to them).
    """

    def __init__(self, name, kind, accepts=None, can_be_nil=False, zero=None):
        self.name = name
        self.kind = kind
        self._accepts = accepts
        self.can_be_nil = can_be_nil
        self._zero = zero

    def accepts(self, value):
        """Is a (non-interface) ``value`` assignable to this type?"""
        if self.kind in ("iface", "value"):
            return True
        return self._accepts(value)

    def zero(self):
        """The zero value, for nil passed where this type is expected."""
        if self.kind == "value":
            return NO_VALUE
        if self._zero is None:
            return None
        return self._zero()

    def __repr__(self):
        return f"GoType({self.name!r})"

    def __str__(self):
        return self.name


def _exact(cls):
    return lambda v: type(v) is cls


STRING = GoType("string", "string", _exact(str))
INT = GoType("int", "int", _exact(int))
FLOAT64 = GoType("float64", "float", _exact(float))
BOOL = GoType("bool", "bool", _exact(bool))
ANY = GoType("interface {}", "iface", can_be_nil=True)
REFLECT_VALUE = GoType("reflect.Value", "value", can_be_nil=True)


def slice_type(name, *assignable_from):
    """A slice type; ``assignable_from`` lists named types with the same layout."""
    names = {name, *assignable_from}
    return GoType(
        name,
        "other",
        lambda v: isinstance(v, GoSlice) and v.go_type in names,
        can_be_nil=True,
        zero=lambda: GoSlice((), name, nil=True),
    )


# consul-template's ServiceTags is a named []string, assignable to []string.
STRING_SLICE = slice_type("[]string", "dependency.ServiceTags")
KV_SLICE = slice_type("[]memkv.KVPair", "memkv.KVPairs")
