"""confd's in-memory key/value store (its ``memkv`` package), which templates read.

Keys are flat, slash-separated paths such as ``/nginx/http/server/proxy``; a
key may be both a value and a "directory" of other keys (``/a`` and ``/a/b``).
The store answers confd's template functions: ``get``/``getv`` by exact key,
``gets``/``getvs`` by glob pattern, ``ls``/``lsdir`` for the children of a path,
``exists``. Listing follows confd exactly, including its quirks (``ls "/"``
lists only top-level leaves; relative paths list nothing).

:func:`store_from_kv` builds the store from KV entries the way confd does for a
resource with a ``prefix``: the template sees keys with the prefix removed.
"""

import base64

from pyconsul.golang import path as gopath
from pyconsul.template.errors import GoError
from pyconsul.template.values import GoSlice, KVPair, from_bytes, go_sort_key


class KeyNotFound(GoError):
    def __init__(self, key):
        super().__init__(f"key does not exist: {key}")
        self.key = key


def _as_text(value):
    if value is None:
        return ""
    if isinstance(value, bytes):
        return from_bytes(value)
    return str(value)


def _terms(path):
    return gopath.clean(path).split("/")


def _has_prefix_terms(prefix, terms):
    return len(terms) >= len(prefix) and terms[: len(prefix)] == prefix


def _strip_key(key, prefix):
    if key.startswith(prefix):
        key = key[len(prefix) :]
    return key[1:] if key.startswith("/") else key


class MemKV:
    """A read-only view of key/value pairs, built from ``{key: value}``.

    Values may be ``str`` or ``bytes`` (``None`` counts as empty, as a Consul
    folder entry does).
    """

    def __init__(self, items=()):
        if hasattr(items, "items"):
            items = items.items()
        self._pairs = {key: KVPair(key, _as_text(value)) for key, value in items}

    def __len__(self):
        return len(self._pairs)

    def __contains__(self, key):
        return key in self._pairs

    def keys(self):
        return sorted(self._pairs, key=go_sort_key)

    def exists(self, key):
        return key in self._pairs

    def get(self, key):
        """The KVPair at ``key``; raises KeyNotFound."""
        try:
            return self._pairs[key]
        except KeyError:
            raise KeyNotFound(key) from None

    def get_value(self, key, *default):
        """The value at ``key``; the first default (even "") if it is missing."""
        pair = self._pairs.get(key)
        if pair is None:
            if default:
                return default[0]
            raise KeyNotFound(key)
        return pair.Value

    def get_all(self, pattern):
        """Pairs whose key matches the path.Match ``pattern``, sorted by key."""
        found = [pair for key, pair in self._pairs.items() if gopath.match(pattern, key)]
        found.sort(key=lambda pair: go_sort_key(pair.Key))
        return GoSlice(found, "memkv.KVPairs")

    def get_all_values(self, pattern):
        """Values of the keys matching ``pattern``, sorted by value."""
        values = [pair.Value for pair in self.get_all(pattern)]
        values.sort(key=go_sort_key)
        return GoSlice(values, "[]string")

    def list(self, path):
        """Names of the keys and directories directly under ``path``.

        A key equal to ``path`` lists its own base name (confd's behaviour).
        """
        prefix = _terms(path)
        names = set()
        for key in self._pairs:
            if key == path:
                names.add(gopath.base(key))
                continue
            if _has_prefix_terms(prefix, _terms(gopath.dir(key))):
                names.add(_strip_key(key, path).split("/")[0])
        return GoSlice(sorted(names, key=go_sort_key), "[]string")

    def list_dir(self, path):
        """Names of the directories directly under ``path``."""
        prefix = _terms(path)
        names = set()
        for key in self._pairs:
            if not key.startswith(path):
                continue
            terms = _terms(gopath.dir(key))
            if _has_prefix_terms(prefix, terms) and len(terms) > len(prefix):
                names.add(terms[len(prefix)])
        return GoSlice(sorted(names, key=go_sort_key), "[]string")


def normalize_prefix(prefix):
    """confd's resource prefix: always starts with '/'."""
    return prefix if prefix.startswith("/") else "/" + prefix


def fetch_paths(prefix, keys):
    """The store paths confd reads for a resource: each key under the prefix."""
    prefix = normalize_prefix(prefix)
    return [gopath.join(prefix, key) for key in keys]


def store_from_kv(entries, prefix="/", keys=("/",)):
    """Build the store a resource's template sees from KV ``entries``.

    ``entries`` maps keys to values, with or without a leading slash (the KV
    HTTP API returns ``nginx/http/server/proxy``; confd adds the slash). Only
    entries under one of ``keys`` (below ``prefix``) are kept, matching by
    string prefix as Consul's ``?recurse`` does, and the prefix is removed.
    """
    prefix = normalize_prefix(prefix)
    wanted = fetch_paths(prefix, keys)
    fetched = {}
    # Consul folder entries ("a/", no value) clean to the same path as a key
    # "a"; take them first so that the real key wins.
    for key, value in sorted(entries.items(), key=lambda kv: not kv[0].endswith("/")):
        full = gopath.join("/", key)
        if any(full.startswith(path) for path in wanted):
            fetched[full] = value
    store = {}
    for full, value in fetched.items():
        relative = full[len(prefix) :] if full.startswith(prefix) else full
        store[gopath.join("/", relative)] = value
    return MemKV(store)


def entries_from_consul(items):
    """KV entries from the JSON list of ``GET /v1/kv/<prefix>?recurse``.

    Each item has ``Key`` and a base64 ``Value`` (null for folders); the result
    maps keys to bytes, ready for :func:`store_from_kv` or ``Processor.sync``.
    """
    entries = {}
    for item in items:
        value = item.get("Value")
        entries[item["Key"]] = base64.b64decode(value) if value is not None else None
    return entries
