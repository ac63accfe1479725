"""Decoding JSON into a Go struct, as encoding/json does it: the answers and
error messages Consul's HTTP endpoints give for the bodies they decode.

A schema says what each field holds: ``STRING``, ``INT``, ``UINT``,
``BOOL``, ``ANY``, ``StringMap()``, ``List(item)``, ``Map(value)`` or a
``Struct``. Keys match field names exactly or, failing that, without regard
to case; keys naming no field are ignored (or, with ``disallow_unknown``, an
error, as Consul's decoders that call ``DisallowUnknownFields``). JSON null
leaves a field unset. The result is a dict with the fields' own names, and
only the fields the body set.
"""

from pyconsul.golang import json as go_json
from pyconsul.golang.errors import GoError


class DecodeError(GoError):
    """The body cannot be decoded; the message is Go's."""


class _Number(str):
    """A JSON number, kept as written until a field's type says what it is."""


class _Type:
    go_name = "interface {}"
    json_kind = None  # the JSON value kind it accepts (None: any)

    def convert(self, value, path):
        return value


class _Scalar(_Type):
    def __init__(self, go_name, json_kind, convert=None):
        self.go_name = go_name
        self.json_kind = json_kind
        self._convert = convert

    def convert(self, value, path):
        return self._convert(value, path, self) if self._convert else value


def _integer(low, high):
    def convert(value, path, kind):
        try:
            number = int(value)
        except ValueError:
            raise _type_error("number " + value, kind, path)
        if not low <= number <= high:
            raise _type_error("number " + value, kind, path)
        return number

    return convert


STRING = _Scalar("string", "string")
BOOL = _Scalar("bool", "bool")
INT = _Scalar("int", "number", _integer(-(2**63), 2**63 - 1))
UINT = _Scalar("uint64", "number", _integer(0, 2**64 - 1))
FLOAT = _Scalar("float64", "number", lambda value, path, kind: float(value))
ANY = _Type()


class List(_Type):
    json_kind = "array"

    def __init__(self, item):
        self.item = item
        self.go_name = "[]" + item.go_name

    def convert(self, value, path):
        return [_decode(item, self.item, path) for item in value]


class Map(_Type):
    json_kind = "object"

    def __init__(self, value):
        self.value = value
        self.go_name = "map[string]" + value.go_name

    def convert(self, value, path):
        return {key: _decode(item, self.value, path) for key, item in value.items()}


def StringMap():
    return Map(STRING)


class Struct(_Type):
    json_kind = "object"

    def __init__(self, go_name, fields, disallow_unknown=False):
        self.go_name = go_name  # e.g. "structs.NodeService"
        self.fields = fields  # name -> type
        self.disallow_unknown = disallow_unknown
        self._folded = {name.lower(): name for name in fields}

    @property
    def short_name(self):
        return self.go_name.rpartition(".")[2]

    def field_named(self, key):
        if key in self.fields:
            return key
        return self._folded.get(key.lower())

    def convert(self, value, path):
        out = {}
        for key, item in value.items():
            name = self.field_named(key)
            if name is None:
                if self.disallow_unknown:
                    raise DecodeError('json: unknown field "%s"' % key)
                continue
            decoded = _decode(item, self.fields[name], (*path, (self, name)))
            if decoded is not None:
                out[name] = decoded
        return out


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, _Number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_error(value, kind, path):
    if path:
        struct = path[-1][0].short_name
        fields = ".".join(name for _, name in path)
        return DecodeError("json: cannot unmarshal %s into Go struct field %s.%s of type %s"
                           % (value, struct, fields, kind.go_name))
    return DecodeError("json: cannot unmarshal %s into Go value of type %s" % (value, kind.go_name))


def _decode(value, kind, path):
    if value is None:
        return None
    found = _kind(value)
    if kind.json_kind is not None and found != kind.json_kind:
        raise _type_error(found, kind, path)
    if kind is ANY:
        return _plain(value)
    return kind.convert(value, path)


def _plain(value):
    """A value decoded into interface {}: numbers are float64, or int when whole."""
    if isinstance(value, _Number):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def decode(data, schema):
    """``json.NewDecoder(body).Decode(&v)`` for a v of type ``schema``."""
    if not data.strip():
        raise DecodeError("EOF")
    try:
        value = go_json.unmarshal(data, number=_Number)
    except GoError as error:
        raise DecodeError(str(error))
    return _decode(value, schema, ())
