"""JSON into Consul's Go structs, as encoding/json (Go 1.16) decodes it.

Consul's agent endpoints read request bodies with ``lib.DecodeJSON``: a
``json.Decoder`` that disallows unknown fields. Service and check definitions
have ``UnmarshalJSON`` methods that decode the same bytes again into an "aux"
struct, which adds the snake_case aliases and takes durations as strings or
numbers. Clients see the result only through the error texts, so those are
reproduced here:

- only the first JSON value of the body is read (trailing bytes are ignored);
  an empty body is ``EOF``, a cut-off one ``unexpected EOF``;
- keys match field names exactly, else without regard to ASCII case;
- within one decode, the first type mismatch or unknown field is kept and
  reported at the end, and the rest of the value is still read;
- an error from a nested ``UnmarshalJSON`` ends the decode at once, and a
  type mismatch inside it is renamed after the field that holds it
  (``.Check``), because Go rewrites the error's context on the way out.

Types are described by small objects (``String``, ``Int``, ``Struct`` ...)
whose ``decode`` turns the decoded JSON (from ``pyconsul.golang.json``) into
Python values: str, int, bool, list, dict, or the raw value for ``Any``.
"""

from pyconsul.golang import json as go_json
from pyconsul.golang.errors import GoError
from pyconsul.golang.strconv import quote

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


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

    def __init__(self):
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


def unmarshal(value, go_type):
    """One json.Unmarshal pass of value into go_type; raises the first GoError."""
    state = _State()
    try:
        result = go_type.decode(state, value, SKIP)
    except _Abort as abort:
        raise abort.error from None
    if state.saved is not None:
        raise state.saved
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
    zero = 0

    def __init__(self, name="int"):
        self.name = name

    def decode(self, state, value, existing):
        if value is None:
            return SKIP
        if not isinstance(value, Number):
            return state.mismatch(value, self.name)
        try:
            number = int(value)  # like ParseInt: no fraction, no exponent
        except ValueError:
            return state.mismatch(value, self.name, number_literal=True)
        if not INT64_MIN <= number <= INT64_MAX:
            return state.mismatch(value, self.name, number_literal=True)
        return number


class Any:
    """interface {}: any value, kept as decoded (null is None)."""

    name = "interface {}"
    zero = None

    def decode(self, state, value, existing):
        if isinstance(value, Number):
            try:
                go_json.float64_number(value)
            except GoError:  # beyond float64: Go's error names the number
                return state.mismatch(value, "float64", number_literal=True)
        return value


class Slice:
    zero = None

    def __init__(self, element, name):
        self.element = element
        self.name = name

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

    def __init__(self, element, name):
        self.element = element
        self.name = name

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
    def __init__(self, name, go_type, attribute):
        self.name = name  # the JSON name: the tag's, else the Go field's
        self.type = go_type
        self.attribute = attribute


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
            if decoded is not SKIP:
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
