"""Go's predefined template functions: and, or, not, len, index, slice, print,
printf, println, html, js, urlquery, call and the comparisons.

Most take ``reflect.Value`` parameters in Go, which means they see their
arguments raw: :data:`~pyconsul.template.values.NO_VALUE` for a missing value,
``None`` for a nil interface. ``and`` and ``or`` are declared here for their
signatures, but the executor evaluates them itself so that they short-circuit.
"""

import urllib.parse

from pyconsul.golang.strconv import is_print
from pyconsul.template import gofmt
from pyconsul.template.errors import GoError
from pyconsul.template.functable import FuncTable
from pyconsul.template.values import (
    ANY,
    NO_VALUE,
    REFLECT_VALUE,
    STRING,
    GoSlice,
    GoStruct,
    Uint8,
    from_bytes,
    map_zero,
    to_bytes,
    truth,
    type_name,
    unbox,
)


def _indirect_interface(value):
    """Look through an interface: a nil one becomes no value at all."""
    if value is None:
        return NO_VALUE
    return unbox(value)


# -- logic -----------------------------------------------------------------


def _and(first, *rest):  # evaluated by the executor, which short-circuits
    for value in (first, *rest):
        if not truth(value):
            return value
    return value


def _or(first, *rest):
    for value in (first, *rest):
        if truth(value):
            return value
    return value


def _not(value):
    return not truth(value)


# -- length, indexing and slicing ------------------------------------------


def _len(item):
    if item is None:
        raise GoError("len of nil pointer")
    if item is NO_VALUE:
        raise GoError("reflect: call of reflect.Value.Type on zero Value")
    item = unbox(item)
    if isinstance(item, str):
        return len(to_bytes(item))
    if isinstance(item, (list, tuple, dict)):
        return len(item)
    raise GoError(f"len of type {type_name(item).lstrip('*')}")


def _index_arg(index, cap):
    if isinstance(index, int) and not isinstance(index, bool):
        x = int(index)
    elif index is NO_VALUE:
        raise GoError("cannot index slice/array with nil")
    else:
        raise GoError(f"cannot index slice/array with type {type_name(index)}")
    if x < 0 or x > cap:
        raise GoError(f"index out of range: {x}")
    return x


def _index(item, *indexes):
    item = _indirect_interface(item)
    if item is NO_VALUE:
        raise GoError("index of untyped nil")
    for index in indexes:
        index = _indirect_interface(index)
        if item is None:
            raise GoError("index of nil pointer")
        item = unbox(item)
        if isinstance(item, str):
            data = to_bytes(item)
            x = _index_arg(index, len(data))
            if x == len(data):
                raise GoError("reflect: string index out of range")
            item = Uint8(data[x])
        elif isinstance(item, (list, tuple)):
            x = _index_arg(index, len(item))
            if x == len(item):
                raise GoError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if index is NO_VALUE:
                raise GoError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise GoError(f"value has type {type_name(index)}; should be string")
            item = item[index] if index in item else map_zero(item)
        else:
            raise GoError(f"can't index item of type {type_name(item)}")
    return item


def _slice(item, *indexes):
    item = _indirect_interface(item)
    if item is NO_VALUE:
        raise GoError("slice of untyped nil")
    if len(indexes) > 3:
        raise GoError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise GoError("cannot 3-index slice a string")
        data = to_bytes(item)
        cap = len(data)
    elif isinstance(item, (list, tuple)):
        data = item
        cap = len(item)
    else:
        raise GoError(f"can't slice item of type {type_name(item)}")
    idx = [0, len(data), 0]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(_indirect_interface(index), cap)
    if idx[0] > idx[1]:
        raise GoError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise GoError(f"invalid slice index: {idx[1]} > {idx[2]}")
    part = data[idx[0] : idx[1]]
    if isinstance(item, str):
        return from_bytes(part)
    return GoSlice(part, type_name(item))


# -- printing and escaping -------------------------------------------------


def _printable(value):
    """What fmt should print for a function argument (text/template's evalArgs)."""
    if value is None or value is NO_VALUE:
        return "<no value>"
    return value


def _eval_args(args):
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return gofmt.sprint(*(_printable(a) for a in args))


_HTML_ESCAPES = {
    '"': "&#34;",
    "'": "&#39;",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\0": "\ufffd",
}


def html_escape(s):
    return "".join(_HTML_ESCAPES.get(ch, ch) for ch in s)


_JS_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def js_escape(s):
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _JS_ESCAPES:
            out.append(_JS_ESCAPES[ch])
        elif code < 0x20:
            out.append("\\u%04X" % code)
        elif code < 0x80 or 0xDC80 <= code <= 0xDCFF or is_print(ch):
            out.append(ch)  # including bytes that are not UTF-8, kept as they are
        else:
            out.append("\\u%04X" % code)
    return "".join(out)


def url_query_escape(s):
    """url.QueryEscape: unreserved characters kept, space as '+', the rest %XX."""
    return urllib.parse.quote_plus(to_bytes(s), safe="-_.~")


# -- call --------------------------------------------------------------------


def _call(function, *args):
    function = _indirect_interface(function)
    if function is NO_VALUE:
        raise GoError("call of nil")
    # Template data never holds Go functions, so there is nothing to call.
    raise GoError(f"non-function of type {type_name(function)}")


# -- comparison ----------------------------------------------------------------

_BOOL, _COMPLEX, _INT, _FLOAT, _STRING, _UINT, _INVALID = range(7)


def _basic_kind(value):
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _UINT if getattr(value, "go_type", "").startswith("uint") else _INT
    if isinstance(value, float):
        return _FLOAT
    if isinstance(value, complex):
        return _COMPLEX
    if isinstance(value, str):
        return _STRING
    return _INVALID


def _is_nil(value):
    if value is NO_VALUE or value is None:
        return True
    return bool(getattr(value, "nil", False))


def _reflect_kind(value):
    """reflect.Kind, as far as eq needs to tell kinds apart."""
    if value is NO_VALUE:
        return "invalid"
    if isinstance(value, (list, tuple)):
        return "slice"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, GoStruct):
        return "ptr" if value.go_type.startswith("*") else "struct"
    return type(value).__name__


def _comparable(value):
    if isinstance(value, (list, dict)):
        return False
    if isinstance(value, GoStruct):
        return all(_comparable(getattr(value, f)) for f in value.go_fields)
    return True


def _eq(arg1, *others):
    arg1 = _indirect_interface(arg1)
    if not others:
        raise GoError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in others:
        arg = _indirect_interface(arg)
        k2 = _basic_kind(arg)
        if k1 != k2:
            if {k1, k2} == {_INT, _UINT}:
                equal = int(arg1) == int(arg)
            elif arg1 is not NO_VALUE and arg is not NO_VALUE:
                raise GoError("incompatible types for comparison")
            else:
                equal = False
        elif k1 != _INVALID:
            equal = arg1 == arg
        else:
            kinds = {_reflect_kind(arg1), _reflect_kind(arg)}
            if len(kinds) == 2 and "invalid" not in kinds:
                raise GoError(
                    f"non-comparable types {gofmt.format_value(arg1)}: {type_name(arg1)}, "
                    f"{type_name(arg)}: {gofmt.format_value(arg)}"
                )
            if _is_nil(arg1) or _is_nil(arg):
                equal = _is_nil(arg) == _is_nil(arg1)
            elif not _comparable(arg):
                raise GoError(
                    f"non-comparable type {gofmt.format_value(arg)}: {type_name(arg)}"
                )
            else:
                equal = arg1 == arg
        if equal:
            return True
    return False


def _ne(arg1, arg2):
    return not _eq(arg1, arg2)


def _lt(arg1, arg2):
    arg1 = _indirect_interface(arg1)
    k1 = _basic_kind(arg1)
    arg2 = _indirect_interface(arg2)
    k2 = _basic_kind(arg2)
    if k1 == _INVALID or k2 == _INVALID:
        raise GoError("invalid type for comparison")
    if k1 != k2:
        if {k1, k2} == {_INT, _UINT}:
            return int(arg1) < int(arg2)
        raise GoError("incompatible types for comparison")
    if k1 in (_BOOL, _COMPLEX):
        raise GoError("invalid type for comparison")
    if k1 == _STRING:
        return to_bytes(arg1) < to_bytes(arg2)
    return arg1 < arg2


def _le(arg1, arg2):
    return _lt(arg1, arg2) or _eq(arg1, arg2)


def _gt(arg1, arg2):
    return not _le(arg1, arg2)


def _ge(arg1, arg2):
    return not _lt(arg1, arg2)


BUILTINS = FuncTable()
BUILTINS.add("and", _and, REFLECT_VALUE, variadic=REFLECT_VALUE)
BUILTINS.add("or", _or, REFLECT_VALUE, variadic=REFLECT_VALUE)
BUILTINS.add("not", _not, REFLECT_VALUE)
BUILTINS.add("call", _call, REFLECT_VALUE, variadic=REFLECT_VALUE)
BUILTINS.add("html", lambda *a: html_escape(_eval_args(a)), variadic=ANY)
BUILTINS.add("js", lambda *a: js_escape(_eval_args(a)), variadic=ANY)
BUILTINS.add("urlquery", lambda *a: url_query_escape(_eval_args(a)), variadic=ANY)
BUILTINS.add("index", _index, REFLECT_VALUE, variadic=REFLECT_VALUE)
BUILTINS.add("slice", _slice, REFLECT_VALUE, variadic=REFLECT_VALUE)
BUILTINS.add("len", _len, REFLECT_VALUE)
BUILTINS.add("print", gofmt.sprint, variadic=ANY)
BUILTINS.add("printf", gofmt.sprintf, STRING, variadic=ANY)
BUILTINS.add("println", gofmt.sprintln, variadic=ANY)
BUILTINS.add("eq", _eq, REFLECT_VALUE, variadic=REFLECT_VALUE)
BUILTINS.add("ge", _ge, REFLECT_VALUE, REFLECT_VALUE)
BUILTINS.add("gt", _gt, REFLECT_VALUE, REFLECT_VALUE)
BUILTINS.add("le", _le, REFLECT_VALUE, REFLECT_VALUE)
BUILTINS.add("lt", _lt, REFLECT_VALUE, REFLECT_VALUE)
BUILTINS.add("ne", _ne, REFLECT_VALUE, REFLECT_VALUE)

__all__ = ["BUILTINS", "html_escape", "js_escape", "url_query_escape"]
