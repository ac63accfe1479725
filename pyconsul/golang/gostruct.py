"""JSON into Go values, as encoding/json (Go 1.16) decodes it.

Consul's HTTP endpoints and Go's ``api`` client decode bodies with a
``json.Decoder``; clients see the result only through the values kept and the
error texts, so both are reproduced here:

- ``decode(data, go_type)`` is ``json.NewDecoder(body).Decode(&v)``: only the
  first JSON value is read (trailing bytes are ignored); an empty body is
  ``EOF``, a cut-off one ``unexpected EOF``. ``first_value`` and
  ``unmarshal`` are its two halves, for callers that look at the value first;
- keys match field names exactly, else without regard to case (Go's folding);
  keys naming no field are ignored, or refused with
  ``disallow_unknown_fields=True`` (``Decoder.DisallowUnknownFields``, as
  Consul's ``lib.DecodeJSON`` sets it);
- within one decode, the first type mismatch or unknown field is kept and
  reported at the end, and the rest of the value is still read;
- a type with its own ``UnmarshalJSON`` (``Unmarshaler``) ends the decode at
  once when it fails, and a type mismatch inside it is renamed after the
  field that holds it, because Go rewrites the error's context on the way out.

Types are described by small objects (``String``, ``Int``, ``Struct`` ...)
whose ``decode`` turns the decoded JSON (from ``pyconsul.golang.json``) into
Python values: str, int, bool, list, dict, or for ``Any`` the value as read.
A struct is a dict of the fields the JSON set (a nil pointer, slice, map or
interface is left out, as if never set).
"""

from pyconsul.golang import json as go_json
from pyconsul.golang.errors import GoError
from pyconsul.golang.strconv import quote

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1


class Number(str):
    """A JSON number, kept as its literal so that errors can quote it."""


class JSONObject:
    """A JSON object's members in order, duplicate keys included (Go reads them all)."""

    __slots__ = ("pairs",)

    def __init__(self):
        self.pairs = []

    def __setitem__(self, key, value):
        self.pairs.append((key, value))

    def get(self, key, default=None):
        """The last value given for key (for callers that only need a plain lookup)."""
        for name, value in reversed(self.pairs):
            if name == key:
                return value
        return default


class UnmarshalTypeError(GoError):
    """json.UnmarshalTypeError; ``struct`` and ``field`` say where, as Go 1.16 does."""

    def __init__(self, value, go_type):
        super().__init__("")
        self.value = value
        self.go_type = go_type
        self.struct = None  # the struct type's name, or None outside any struct
        self.field = ""

    @property
    def message(self):
        if self.struct is not None or self.field:
            return "json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
                self.value, self.struct or "", self.field, self.go_type)
        return "json: cannot unmarshal %s into Go value of type %s" % (self.value, self.go_type)

    @message.setter
    def message(self, _ignored):
        pass  # computed: GoError's constructor assigns it


def unknown_field(key):
    return GoError("json: unknown field " + quote(key))


# -- reading the first value -------------------------------------------------------

_SPACE = b" \t\r\n"


def _value_end(data, start):
    """Where the (syntactically valid) value at data[start] ends."""
    opener = data[start:start + 1]
    if opener not in (b"{", b"[", b'"'):
        end = start
        while end < len(data) and data[end:end + 1] not in b' \t\r\n,]}"{[':
            end += 1
        return end
    depth, index, in_string = 0, start, False
    while True:
        byte = data[index:index + 1]
        if in_string:
            if byte == b"\\":
                index += 1
            elif byte == b'"':
                in_string = False
                if depth == 0:
                    return index + 1
        elif byte == b'"':
            in_string = True
        elif byte in (b"{", b"["):
            depth += 1
        elif byte in (b"}", b"]"):
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1


def first_value(data):
    """The first JSON value in data, as json.Decoder.Decode reads it.

    Returns the decoded value (objects as JSONObject, numbers as Number);
    raises GoError with Go's text.
    """
    problem = go_json.syntax_error(data)
    if problem is None:
        text = data
    elif problem.endswith("after top-level value"):
        start = len(data) - len(data.lstrip(_SPACE))
        text = data[start:_value_end(data, start)]
    elif problem == "unexpected end of JSON input":
        raise GoError("EOF" if not data.strip(_SPACE) else "unexpected EOF")
    else:
        raise GoError(problem)
    return go_json.unmarshal(text, number=Number, object_type=JSONObject)


# -- decode state ----------------------------------------------------------------------

SKIP = object()  # decode result meaning "leave the field as it was" (null into a string ...)


class _Abort(Exception):
    """A nested UnmarshalJSON failed: the whole decode stops with its error."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


class _State:
    """One decode pass: the first saved error and Go's error context."""

    def __init__(self, disallow_unknown_fields=False):
        self.disallow_unknown_fields = disallow_unknown_fields
        self.saved = None
        self.struct = None
        self.fields = []

    def contextualize(self, error):
        if isinstance(error, UnmarshalTypeError) and (self.struct is not None or self.fields):
            error.struct = self.struct
            error.field = ".".join(self.fields)
        return error

    def save(self, error):
        if self.saved is None:
            self.saved = self.contextualize(error)

    def mismatch(self, value, go_type, number_literal=False):
        self.save(UnmarshalTypeError(kind_of(value, number_literal), go_type))
        return SKIP


def kind_of(value, number_literal=False):
    """The word Go's errors use for a JSON value."""
    if isinstance(value, Number):
        return "number " + value if number_literal else "number"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, JSONObject):
        return "object"
    return "null"


def unmarshal(value, go_type, disallow_unknown_fields=False):
    """One decode pass of value (from ``first_value``) into go_type; raises
    the first GoError. Returns SKIP when the value leaves go_type's zero
    value as it was (null into a struct or a string ...)."""
    state = _State(disallow_unknown_fields)
    try:
        result = go_type.decode(state, value, SKIP)
    except _Abort as abort:
        raise abort.error from None
    if state.saved is not None:
        raise state.saved
    return result


def decode(data, go_type, disallow_unknown_fields=False):
    """``json.NewDecoder(data).Decode(&v)`` for a v of go_type: what v holds
    afterwards (its zero value if the JSON left it alone); raises GoError
    with Go's text."""
    result = unmarshal(first_value(data), go_type, disallow_unknown_fields)
    if result is SKIP:
        zero = go_type.zero
        return dict(zero) if isinstance(zero, dict) else zero
    return result


# -- types -------------------------------------------------------------------------------


class String:
    zero = ""

    def __init__(self, name="string"):
        self.name = name

    def decode(self, state, value, existing):
        if value is None:
            return SKIP
        if isinstance(value, str) and not isinstance(value, Number):
            return value
        return state.mismatch(value, self.name)


class Bool:
    name = "bool"
    zero = False

    def decode(self, state, value, existing):
        if value is None:
            return SKIP
        if isinstance(value, bool):
            return value
        return state.mismatch(value, self.name)


class Int:
    """An integer type: ``int`` (64 bits) unless told its name and range."""

    zero = 0

    def __init__(self, name="int", low=INT64_MIN, high=INT64_MAX):
        self.name = name
        self.low = low
        self.high = high

    def decode(self, state, value, existing):
        if value is None:
            return SKIP
        if not isinstance(value, Number):
            return state.mismatch(value, self.name)
        try:
            number = int(value)  # like ParseInt: no fraction, no exponent
        except ValueError:
            return state.mismatch(value, self.name, number_literal=True)
        if not self.low <= number <= self.high:
            return state.mismatch(value, self.name, number_literal=True)
        return number


def Uint(name="uint64", high=UINT64_MAX):
    """An unsigned integer type (ParseUint: a minus sign is refused, even on 0)."""
    return _Unsigned(name, 0, high)


class _Unsigned(Int):
    def decode(self, state, value, existing):
        if isinstance(value, Number) and value.startswith("-"):
            return state.mismatch(value, self.name, number_literal=True)
        return super().decode(state, value, existing)


class Any:
    """interface {}: any value (null is None).

    The value is kept as read (JSONObject, Number), for callers that look at
    how it was written; with ``plain=True`` it becomes what Python's json
    module would make of it (see ``plain``).
    """

    name = "interface {}"
    zero = None

    def __init__(self, plain=False):
        self.plain = plain

    def decode(self, state, value, existing):
        if isinstance(value, Number):
            try:
                go_json.float64_number(value)
            except GoError:  # beyond float64: Go's error names the number
                return state.mismatch(value, "float64", number_literal=True)
        return plain(value) if self.plain else value


def plain(value):
    """A value as read by first_value, in plain Python: objects are dicts (the
    last of repeated keys wins, as in a Go map), numbers written as integers
    are ints and other numbers floats."""
    if isinstance(value, Number):
        number = float(value)
        if number.is_integer() and "." not in value and "e" not in value.lower():
            return int(number)
        return number
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, JSONObject):
        return {key: plain(item) for key, item in value.pairs}
    return value


def type_name(go_type):
    """How Go's errors write a type (a struct by its package and name)."""
    if isinstance(go_type, Struct):
        return ("*" if go_type.pointer else "") + go_type.go_type
    return go_type.name


class Slice:
    zero = None

    def __init__(self, element, name=None):
        self.element = element
        self.name = name or "[]" + type_name(element)  # a named slice type: its own name

    def decode(self, state, value, existing):
        if value is None:
            return None
        if not isinstance(value, list):
            return state.mismatch(value, self.name)
        items = []
        for item in value:
            decoded = self.element.decode(state, item, SKIP)
            items.append(self.element.zero if decoded is SKIP else decoded)
        return items


class Map:
    """map[string]X; decoding into an existing map adds to it, as Go does."""

    zero = None

    def __init__(self, element, name=None):
        self.element = element
        self.name = name or "map[string]" + type_name(element)

    def decode(self, state, value, existing):
        if value is None:
            return None
        if not isinstance(value, JSONObject):
            return state.mismatch(value, self.name)
        result = dict(existing) if isinstance(existing, dict) else {}
        for key, item in value.pairs:
            decoded = self.element.decode(state, item, result.get(key, SKIP))
            result[key] = self.element.zero if decoded is SKIP else decoded
        return result


class Field:
    def __init__(self, name, go_type, attribute=None):
        self.name = name  # the JSON name: the tag's, else the Go field's
        self.type = go_type
        self.attribute = attribute or name  # the key of the decoded dict


def fold_equal(name, key):
    """Go's case folding for field names: ASCII letters fold, and K and S also
    match the Kelvin sign and the long s."""
    if len(name) != len(key):
        return False
    for want, got in zip(name, key):
        if want == got:
            continue
        lower = want.lower()
        if want.isalpha() and got.isascii() and got.lower() == lower:
            continue
        if (lower, got) in (("k", "\u212a"), ("s", "\u017f")):
            continue
        return False
    return True


class Struct:
    """A struct (or a pointer to one, with ``pointer=True``: null then sets it to None).

    ``fields`` are in Go's order (the outer struct's, then the promoted ones
    of an embedded struct), which decides case-insensitive matches.
    ``name`` is what Go's errors call the struct ("" for an anonymous one),
    ``go_type`` how they write its type.
    """

    def __init__(self, name, go_type, fields, pointer=False):
        self.name = name
        self.go_type = go_type
        self.fields = fields
        self.pointer = pointer
        self._by_name = {field.name: field for field in fields}
        self.zero = None if pointer else {}

    def lookup(self, key):
        field = self._by_name.get(key)
        if field is not None:
            return field
        for field in self.fields:
            if fold_equal(field.name, key):
                return field
        return None

    def decode(self, state, value, existing):
        if value is None:
            return None if self.pointer else SKIP
        if not isinstance(value, JSONObject):
            return state.mismatch(value, self.go_type)
        result = dict(existing) if isinstance(existing, dict) else {}
        for key, item in value.pairs:
            field = self.lookup(key)
            if field is None:
                if state.disallow_unknown_fields:
                    state.save(unknown_field(key))
                continue
            outer_struct, depth = state.struct, len(state.fields)
            state.fields.append(field.name)
            state.struct = self.name
            try:
                decoded = field.type.decode(state, item, result.get(field.attribute, SKIP))
            finally:
                del state.fields[depth:]
                state.struct = outer_struct
            if decoded is None:
                result.pop(field.attribute, None)  # nil: as if never set
            elif decoded is not SKIP:
                result[field.attribute] = decoded
        return result


class Unmarshaler:
    """A type with its own UnmarshalJSON: ``function(value)`` returns the result
    or raises GoError, which ends the enclosing decode.

    A value field (``pointer=False``) has its method called even for null, as
    Go does; a pointer is simply set to None.
    """

    zero = None

    def __init__(self, function, name, pointer=False):
        self.function = function
        self.name = name
        self.pointer = pointer

    def decode(self, state, value, existing):
        if value is None and self.pointer:
            return None
        try:
            return self.function(value)
        except GoError as error:
            raise _Abort(state.contextualize(error)) from None
