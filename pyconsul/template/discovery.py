"""consul-template's discovery functions, and its helpers for their results.

``service``, ``services``, ``nodes`` and ``node`` read the catalog as
consul-template does: each call names a dependency
(:mod:`pyconsul.template.deps`) and asks a :class:`Recall` for its data.
What has not been fetched yet is recorded as missing and the call returns
consul-template's empty result; the caller fetches what was missing (or
starts watching it) and renders again, and only a render that missed
nothing is written. ``connect`` is refused: pyconsul has no service mesh.

The helpers are consul-template's ``byTag``, ``in``, ``containsAll``,
``containsAny``, ``containsNone`` and ``containsNotAll``. Its ``contains``
(``{{ if .Tags | contains "web" }}``: the list second) clashes with confd's
``contains`` (``strings.Contains``, the string first), as its ``split``,
``join`` and ``trimSuffix`` clash with confd's; the confd shape keeps
confd's, and :func:`consul_template_funcs` -- the table of ``pyconsul
template -template``, where every template is a consul-template one -- has
consul-template's, with its KV functions (``key``, ``ls``, ``tree`` ...)
read through dependencies too instead of from conf.d's declared keys.
"""

from pyconsul.template import deps
from pyconsul.template.catalogvalues import TypedMap
from pyconsul.template.errors import GoError
from pyconsul.template.functable import FuncTable
from pyconsul.template.funcs import KeyPair
from pyconsul.template.nodes import GO_WHITE_SPACE
from pyconsul.template.values import (
    ANY,
    NO_VALUE,
    STRING,
    STRING_SLICE,
    GoSlice,
    from_bytes,
    go_sort_key,
    slice_type,
    type_name,
    unbox,
)

INTERFACE_SLICE = slice_type("[]interface {}")

NO_MESH = ("pyconsul has no service mesh (Consul Connect), so no service is "
           "Connect-capable; use service instead")


class Recall:
    """What one render may use: ``brain`` maps dependencies to their raw
    answers. Asking records the dependency as used, and as missing when its
    data is not there yet; a function that must not render without data it
    lacks (``key`` of a key that does not exist) marks it missing itself."""

    def __init__(self, brain=None):
        self.brain = brain if brain is not None else {}
        self.used = set()
        self.missing = set()
        self._decoded = {}

    def value(self, dep):
        """``(True, value)`` with the Go value of ``dep``'s data, or ``(False, None)``."""
        self.used.add(dep)
        if dep not in self.brain:
            self.missing.add(dep)
            return False, None
        if dep not in self._decoded:
            self._decoded[dep] = dep.decode(self.brain[dep])
        return True, self._decoded[dep]

    def block(self, dep):
        self.missing.add(dep)


# -- the catalog -------------------------------------------------------------------


def _service(recall, *parts):
    empty = GoSlice((), "[]*dependency.HealthService")
    if not parts or parts[0] == "":
        return empty
    found, value = recall.value(deps.parse_health_service("|".join(parts)))
    return value if found else empty


def _services(recall, *parts):
    found, value = recall.value(deps.parse_catalog_services("".join(parts)))
    return value if found else GoSlice((), "[]*dependency.CatalogSnippet")


def _nodes(recall, *parts):
    found, value = recall.value(deps.parse_catalog_nodes("".join(parts)))
    return value if found else GoSlice((), "[]*dependency.Node")


def _node(recall, *parts):
    found, value = recall.value(deps.parse_catalog_node("".join(parts)))
    return value if found else None


def _connect(*parts):
    raise GoError(NO_MESH)


# -- helpers --------------------------------------------------------------------------


def _kind(value):
    """The reflect kinds ``in`` compares: int, float or string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if getattr(value, "go_type", "").startswith("uint") else "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def _zero_value_type():
    # What reflect panics with when a nil value's type is asked for.
    return GoError("reflect: call of reflect.Value.Type on zero Value")


def go_in(container, value):
    """consul-template's ``in``: ``value`` is an element of a slice (ints
    with ints, floats with floats, strings with strings), or a substring."""
    container, value = unbox(container), unbox(value)
    if value is NO_VALUE:
        value = None
    if isinstance(container, str):
        if value is None:
            raise _zero_value_type()
        return isinstance(value, str) and value in container
    if not isinstance(container, (list, tuple)):
        return False
    for item in container:
        item = unbox(item)
        kind = _kind(item)
        if kind == "string" and value is None:
            raise _zero_value_type()
        if kind is not None and kind == _kind(value) and item == value:
            return True
    return False


def _contains_some(return_true, invert):
    """containsAll (True, True), containsAny (False, False), containsNone
    (True, False), containsNotAll (False, True), as consul-template builds them."""

    def contains(values, container):
        for value in values:
            if go_in(container, value) != invert:
                return not return_true
        return return_true

    return contains


class TagMap(TypedMap):
    """byTag's ``map[string][]interface {}``."""

    go_type = "map[string][]interface {}"

    def zero(self):
        return GoSlice((), "[]interface {}", nil=True)


_TAGGED = {"[]*dependency.CatalogSnippet", "[]*dependency.HealthService"}


def by_tag(services):
    """Services grouped by each of their tags (ranged in tag order)."""
    services = unbox(services)
    groups = TagMap()
    if services is None or services is NO_VALUE:
        return groups
    if not isinstance(services, GoSlice) or services.go_type not in _TAGGED:
        raise GoError(f"byTag: wrong argument type {type_name(services)}")
    for service in services:
        for tag in service.Tags:
            groups.setdefault(tag, GoSlice((), "[]interface {}")).append(service)
    return groups


def discovery_funcs(recall):
    """``service``, ``services``, ``nodes``, ``node``, ``connect`` and the
    helpers that do not clash with confd's functions."""
    t = FuncTable()
    t.add("service", lambda *s: _service(recall, *s), variadic=STRING)
    t.add("services", lambda *s: _services(recall, *s), variadic=STRING)
    t.add("nodes", lambda *s: _nodes(recall, *s), variadic=STRING)
    t.add("node", lambda *s: _node(recall, *s), variadic=STRING)
    t.add("connect", _connect, variadic=STRING)
    t.add("byTag", by_tag, ANY)
    t.add("in", go_in, ANY, ANY)
    t.add("containsAll", _contains_some(True, True), INTERFACE_SLICE, ANY)
    t.add("containsAny", _contains_some(False, False), INTERFACE_SLICE, ANY)
    t.add("containsNone", _contains_some(True, False), INTERFACE_SLICE, ANY)
    t.add("containsNotAll", _contains_some(False, True), INTERFACE_SLICE, ANY)
    return t


# -- consul-template's KV functions, read through dependencies -------------------------


def _value(raw):
    return "" if raw is None else from_bytes(raw)


def _pairs(entries, prefix):
    """kv.list's KeyPairs: Key is the path with the prefix (as given) and
    then any leading slashes cut off, in Consul's key order."""
    pairs = []
    for path in sorted(entries, key=go_sort_key):
        key = path[len(prefix):] if path.startswith(prefix) else path
        pairs.append(KeyPair(path, key.lstrip("/"), _value(entries[path])))
    return pairs


def _key(recall, text, default=None, exists=False):
    """key / keyOrDefault / keyExists on one key."""
    if text == "":
        return False if exists else (default if default is not None else "")
    path, dep = deps.parse_kv("kv.get", text)
    found, entries = recall.value(dep)
    present = found and path in entries
    if exists:
        return present
    if default is not None:
        value = _value(entries[path]) if present else ""
        return value if value != "" else default
    if not present and found:
        recall.block(dep)  # consul-template's key waits for the key to exist
    return _value(entries[path]) if present else ""


def _listing(recall, text, keep, empty_is_safe):
    result = GoSlice((), "[]*dependency.KeyPair")
    if text == "":
        return result
    prefix, dep = deps.parse_kv("kv.list", text)
    found, entries = recall.value(dep)
    if not found:
        return result
    result.extend(p for p in _pairs(entries, prefix) if keep(p))
    if not result and not empty_is_safe:
        recall.block(dep)  # safeLs / safeTree do not render an empty prefix
    return result


def _top_level(pair):
    return pair.Key != "" and "/" not in pair.Key


def _not_a_folder(pair):
    return pair.Key.split("/")[-1] != ""


def _ct_split(sep, text):
    """consul-template's split: the separator first, so that it pipes; an
    empty (or blank) string is no items."""
    text = text.strip(GO_WHITE_SPACE)  # strings.TrimSpace
    return GoSlice(text.split(sep) if text else (), "[]string") if sep else GoSlice(list(text), "[]string")


def _ct_trim_suffix(suffix, text):
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


def consul_template_funcs(recall):
    """The table for consul-template's command shape: the discovery
    functions, its KV functions, and its versions of the helpers whose
    arguments confd takes the other way round (``contains``, ``split``,
    ``join``, ``trimSuffix``: consul-template's take the piped value last)."""
    t = discovery_funcs(recall)
    t.add("contains", lambda value, container: go_in(container, value), ANY, ANY)
    t.add("split", _ct_split, STRING, STRING)
    t.add("join", lambda sep, items: sep.join(items), STRING, STRING_SLICE)
    t.add("trimSuffix", _ct_trim_suffix, STRING, STRING)
    t.add("key", lambda k: _key(recall, k), STRING)
    t.add("keyExists", lambda k: _key(recall, k, exists=True), STRING)
    t.add("keyOrDefault", lambda k, d: _key(recall, k, default=d), STRING, STRING)
    t.add("ls", lambda p: _listing(recall, p, _top_level, True), STRING)
    t.add("safeLs", lambda p: _listing(recall, p, _top_level, False), STRING)
    t.add("tree", lambda p: _listing(recall, p, _not_a_folder, True), STRING)
    t.add("safeTree", lambda p: _listing(recall, p, _not_a_folder, False), STRING)
    return t
