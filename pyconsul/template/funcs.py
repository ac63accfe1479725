"""confd's template functions, and consul-template's KV functions.

:func:`confd_funcs` builds the function table a confd template resource sees:
the memkv functions over its key/value data (``getv``, ``gets``, ``ls`` ...),
confd's own functions (``split``, ``json``, ``seq``, ``lookupIP`` ...) and
consul-template's ``key``, ``keyOrDefault``, ``keyExists`` and ``tree``.
Everything that touches the world (environment, clock, DNS, file system) is a
parameter, so rendering is deterministic under test.

Each function is registered with its Go signature (see
:mod:`pyconsul.template.functable`), because that decides how arguments are
checked and what the error messages say. More functions are added by
building another :class:`FuncTable` and combining, as the catalog's are:
``confd_funcs(...) | discovery_funcs(recall)``
(:mod:`pyconsul.template.discovery`).
"""

import os
import time

import attr

from pyconsul.golang import base64 as go_base64
from pyconsul.golang import json as go_json
from pyconsul.golang import strconv
from pyconsul.golang import path as gopath
from pyconsul.template import dns
from pyconsul.template.errors import GoError
from pyconsul.template.functable import FuncTable
from pyconsul.template.gotime import GoTime, Location, local_zone, process_monotonic
from pyconsul.template.values import (
    ANY,
    INT,
    KV_SLICE,
    NO_VALUE,
    SRV,
    STRING,
    STRING_SLICE,
    GoMap,
    GoSlice,
    GoStruct,
    from_bytes,
    go_sort_key,
    to_bytes,
    unbox,
)

# seq builds a list in memory; Go would happily try a billion elements.
MAX_SEQ_LENGTH = 1_000_000


def _default_file_exists(path):
    """confd's isFileExist: anything but 'does not exist' counts as existing."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    return True


# -- strings and paths -----------------------------------------------------


def go_split(s, sep):
    """strings.Split: an empty separator splits into characters."""
    if sep == "":
        return GoSlice(list(s), "[]string")
    return GoSlice(s.split(sep), "[]string")


def go_replace(s, old, new, n):
    """strings.Replace with Go's count (negative: all)."""
    if n < 0:
        return s.replace(old, new)
    return s.replace(old, new, n)


def _simple_case(s, convert, special):
    # Go maps rune by rune (unicode.ToUpper/ToLower); Python's full case
    # mapping can turn one character into several, which Go never does.
    out = []
    for ch in s:
        if ch in special:
            out.append(special[ch])
            continue
        mapped = convert(ch)
        out.append(mapped if len(mapped) == 1 else ch)
    return "".join(out)


def go_to_upper(s):
    return _simple_case(s, str.upper, {})


def go_to_lower(s):
    return _simple_case(s, str.lower, {"\u0130": "i"})


def go_trim_suffix(s, suffix):
    if suffix and s.endswith(suffix):
        return s[: -len(suffix)]
    return s


def go_join(elements, sep):
    return sep.join(elements)


# -- numbers -----------------------------------------------------------------


def _wrap_int64(n):
    """Go's int arithmetic wraps around at 64 bits."""
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >= (1 << 63) else n


def go_div(a, b):
    if b == 0:
        raise GoError("runtime error: integer divide by zero")
    q = abs(a) // abs(b)
    return _wrap_int64(q if (a < 0) == (b < 0) else -q)


def go_mod(a, b):
    if b == 0:
        raise GoError("runtime error: integer divide by zero")
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def go_seq(first, last):
    if last < first:
        return GoSlice((), "[]int", nil=True)
    if last - first + 1 > MAX_SEQ_LENGTH:
        raise GoError(f"seq of {last - first + 1} numbers is longer than {MAX_SEQ_LENGTH}")
    return GoSlice(range(first, last + 1), "[]int")


# -- encodings -----------------------------------------------------------------


def go_base64_encode(s):
    return go_base64.encode(to_bytes(s))


def go_base64_decode(s):
    return from_bytes(go_base64.decode(to_bytes(s)))


def _unmarshal(s, into):
    """JSON text as the template's Go values: GoMap and GoSlice (of interface {})."""
    return go_json.unmarshal(to_bytes(s), into, object_type=GoMap, array_type=GoSlice)


def json_object(s):
    """confd's ``json``: a JSON object as ``map[string]interface {}`` (nil for null)."""
    value = _unmarshal(s, go_json.MAP)
    return GoMap(nil=True) if value is None else value


def json_array(s):
    """confd's ``jsonArray``: a JSON array as ``[]interface {}`` (nil for null)."""
    value = _unmarshal(s, go_json.SLICE)
    return GoSlice((), "[]interface {}", nil=True) if value is None else value


def go_create_map(*values):
    if len(values) % 2:
        raise GoError("invalid map call")
    result = GoMap()
    for key, value in zip(values[::2], values[1::2]):
        if not isinstance(key, str):
            raise GoError("map keys must be strings")
        result[key] = value
    return result


# -- slices ----------------------------------------------------------------------


def go_reverse(values):
    """Reverse []string and []memkv.KVPair in place; anything else is unchanged.

    (gets returns memkv.KVPairs, a different type, which confd leaves as is.)
    """
    values = unbox(values)
    if isinstance(values, GoSlice) and values.go_type in ("[]string", "[]memkv.KVPair"):
        values.reverse()
    return values if values is not NO_VALUE else None


def go_sort_by_length(values):
    values.sort(key=lambda s: len(to_bytes(s)))
    return values


def go_sort_kv_by_length(values):
    values.sort(key=lambda pair: len(to_bytes(pair.Key)))
    return GoSlice(values, "[]memkv.KVPair")


# -- consul-template's KV functions --------------------------------------------


class KeyPair(GoStruct):
    """consul-template's ``*dependency.KeyPair``, as ``tree`` returns them."""

    go_type = "*dependency.KeyPair"
    go_fields = ("Path", "Key", "Value")
    __slots__ = go_fields

    def __init__(self, Path, Key, Value):
        self.Path = Path
        self.Key = Key
        self.Value = Value


def _consul_key(key):
    """consul-template writes keys without the leading slash memkv uses."""
    return "/" + key.lstrip("/")


def tree(store, prefix):
    """Every key below ``prefix``, with ``Key`` relative to it (like consul-template)."""
    prefix = prefix.strip("/")
    pairs = []
    for full in store.keys():
        path = full[1:]
        if prefix and not path.startswith(prefix):
            continue
        relative = path[len(prefix) :].lstrip("/")
        if not relative:
            continue
        pairs.append(KeyPair(path, relative, store.get(full).Value))
    return GoSlice(pairs, "[]*dependency.KeyPair")


# -- the table -----------------------------------------------------------------


@attr.s(frozen=True)
class World:
    """Everything outside the store that confd's functions consult."""

    environ = attr.ib(factory=lambda: os.environ)
    resolver = attr.ib(factory=dns.SystemResolver)
    clock = attr.ib(default=time.time_ns)  # Unix nanoseconds
    time_zone = attr.ib(default=local_zone)  # Unix seconds -> (offset, abbreviation)
    monotonic = attr.ib(default=process_monotonic)  # nanoseconds since process start
    file_exists = attr.ib(default=_default_file_exists)


def _lookup_ip(world, host):
    literal = dns.parse_ip_literal(host)
    if literal is not None:
        return GoSlice([literal], "[]string")
    try:
        addresses = world.resolver.lookup_ip(host)
    except (OSError, UnicodeError, ValueError):
        return GoSlice((), "[]string", nil=True)
    return GoSlice(sorted(addresses, key=go_sort_key), "[]string")


def _lookup_ip_family(world, host, marker):
    found = [ip for ip in _lookup_ip(world, host) if marker in ip]
    return GoSlice(found, "[]string", nil=not found)


def _lookup_srv(world, service, proto, name):
    full = name if service == "" and proto == "" else f"_{service}._{proto}.{name}"
    try:
        records = world.resolver.lookup_srv(full)
    except (OSError, UnicodeError, ValueError):
        return GoSlice((), "[]*net.SRV")
    found = [SRV(r.target, r.port, r.priority, r.weight) for r in records]
    # confd orders by target, then port, priority and weight, all as one string.
    found.sort(key=lambda r: go_sort_key(f"{r.Target}{r.Port}{r.Priority}{r.Weight}"))
    return GoSlice(found, "[]*net.SRV")


def _getenv(world, key, *default):
    value = world.environ.get(key, "")
    if value == "":
        return default[0] if default else ""
    return value


def confd_funcs(store, world=None):
    """The functions of a confd template over ``store`` (a MemKV)."""
    world = world if world is not None else World()
    t = FuncTable()
    # memkv
    t.add("exists", store.exists, STRING)
    t.add("get", store.get, STRING)
    t.add("gets", store.get_all, STRING)
    t.add("getv", store.get_value, STRING, variadic=STRING)
    t.add("getvs", store.get_all_values, STRING)
    t.add("ls", store.list, STRING)
    t.add("lsdir", store.list_dir, STRING)
    # strings, paths, encodings
    t.add("base", gopath.base, STRING)
    t.add("dir", gopath.dir, STRING)
    t.add("split", go_split, STRING, STRING)
    t.add("join", go_join, STRING_SLICE, STRING)
    t.add("toUpper", go_to_upper, STRING)
    t.add("toLower", go_to_lower, STRING)
    t.add("contains", lambda s, sub: sub in s, STRING, STRING)
    t.add("replace", go_replace, STRING, STRING, STRING, INT)
    t.add("trimSuffix", go_trim_suffix, STRING, STRING)
    t.add("json", json_object, STRING)
    t.add("jsonArray", json_array, STRING)
    t.add("base64Encode", go_base64_encode, STRING)
    t.add("base64Decode", go_base64_decode, STRING)
    t.add("parseBool", strconv.parse_bool, STRING)
    t.add("atoi", strconv.atoi, STRING)
    t.add("map", go_create_map, variadic=ANY)
    # slices
    t.add("reverse", go_reverse, ANY)
    t.add("sortByLength", go_sort_by_length, STRING_SLICE)
    t.add("sortKVByLength", go_sort_kv_by_length, KV_SLICE)
    t.add("seq", go_seq, INT, INT)
    # arithmetic on Go ints
    t.add("add", lambda a, b: _wrap_int64(a + b), INT, INT)
    t.add("sub", lambda a, b: _wrap_int64(a - b), INT, INT)
    t.add("mul", lambda a, b: _wrap_int64(a * b), INT, INT)
    t.add("div", go_div, INT, INT)
    t.add("mod", go_mod, INT, INT)
    # the world outside
    t.add("getenv", lambda key, *d: _getenv(world, key, *d), STRING, variadic=STRING)
    # One Local per table, as Go has one per process: times compare equal
    # only when their Locations are the same object.
    local = Location("Local", world.time_zone)
    t.add("datetime", lambda: GoTime.now(world.clock, local, world.monotonic))
    t.add("fileExists", world.file_exists, STRING)
    t.add("lookupIP", lambda host: _lookup_ip(world, host), STRING)
    t.add("lookupIPV4", lambda host: _lookup_ip_family(world, host, "."), STRING)
    t.add("lookupIPV6", lambda host: _lookup_ip_family(world, host, ":"), STRING)
    t.add("lookupSRV", lambda s, p, n: _lookup_srv(world, s, p, n), STRING, STRING, STRING)
    # consul-template's KV functions (keys are written without a leading slash)
    t.add("key", lambda k: store.get_value(_consul_key(k)), STRING)
    t.add("keyOrDefault", lambda k, d: store.get_value(_consul_key(k), d), STRING, STRING)
    t.add("keyExists", lambda k: store.exists(_consul_key(k)), STRING)
    t.add("tree", lambda prefix: tree(store, prefix), STRING)
    return t
