"""An in-memory agent that answers the KV HTTP API the way Consul does.

It implements what the CLI depends on: Raft-like indexes (CreateIndex,
ModifyIndex, X-Consul-Index counting deletions), ?cas, ?flags, ?keys with
?separator, ?recurse, 404 for missing keys and empty listings, 413 above
512 KiB, 400 for a missing key name, and the 301 Go's router answers for a
path that is not clean (``/v1/kv/a//b``). It serves as a transport for
``pyconsul.cli.http.Client`` (``round_trip``) and can be called directly
(``handle``) to replay the HTTP steps of the recorded vectors.
"""

import base64
import json
import posixpath
import urllib.parse

from pyconsul.cli.http import Response

MAX_VALUE_SIZE = 524288
KV_ROOT = "/v1/kv/"


def _parse_query(raw):
    """Go's url.ParseQuery: name -> values, in order; names and values unescaped."""
    params = {}
    for part in raw.split("&") if raw else []:
        if not part:
            continue
        name, _, value = part.partition("=")
        name = urllib.parse.unquote_plus(name)
        params.setdefault(name, []).append(urllib.parse.unquote_plus(value))
    return params


def _clean(path):
    """Go's ServeMux cleanPath: path.Clean, keeping a trailing slash."""
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def _parse_uint(text):
    """strconv.ParseUint(text, 10, 64) as Consul's handler uses it."""
    if not text.isdigit() or not text.isascii():
        raise ValueError('strconv.ParseUint: parsing "%s": invalid syntax' % text)
    value = int(text)
    if value >= 1 << 64:
        raise ValueError('strconv.ParseUint: parsing "%s": value out of range' % text)
    return value


class FakeAgent:
    def __init__(self, first_index=10):
        self.entries = {}  # key -> dict with Key, Flags, Value (bytes or None), indexes
        self.tombstones = {}  # deleted key -> index of the deletion
        self.index = first_index  # the last Raft index used
        self.requests = []  # (method, target, body) of every request seen

    # ------------------------------------------------------------ transport

    def round_trip(self, request):
        status, headers, body = self.handle(request.method, request.target, request.body)
        return Response(status, {name.lower(): value for name, value in headers.items()}, body)

    # ----------------------------------------------------------------- HTTP

    def handle(self, method, target, body=None):
        self.requests.append((method, target, body))
        raw_path, _, raw_query = target.partition("?")
        path = urllib.parse.unquote(raw_path)
        if path == "/v1/kv":
            return self._redirect("/v1/kv/", raw_query)
        cleaned = _clean(path)
        if cleaned != path:
            return self._redirect(urllib.parse.quote(cleaned, safe="/$&+,:;=@"), raw_query)
        if not path.startswith(KV_ROOT):
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"404 page not found\n"
        key = path[len(KV_ROOT):]
        query = _parse_query(raw_query)
        try:
            if method == "GET":
                return self._get(key, query)
            if method == "PUT":
                return self._put(key, query, body or b"")
            if method == "DELETE":
                return self._delete(key, query)
        except ValueError as error:
            return self._text(500, str(error))
        return 405, {"Allow": "OPTIONS,GET,PUT,DELETE"}, ("method %s not allowed" % method).encode()

    @staticmethod
    def _redirect(location, raw_query):
        if raw_query:
            location += "?" + raw_query
        return 301, {"Location": location}, b""

    @staticmethod
    def _text(status, text):
        return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()

    @staticmethod
    def _json(status, value, index=None):
        headers = {"Content-Type": "application/json"}
        if index is not None:
            headers.update({"X-Consul-Index": str(index), "X-Consul-Knownleader": "true",
                            "X-Consul-Lastcontact": "0"})
        return status, headers, json.dumps(value).encode()

    # ---------------------------------------------------------------- reads

    def _highest_index(self, prefix):
        indexes = [entry["ModifyIndex"] for key, entry in self.entries.items() if key.startswith(prefix)]
        indexes += [index for key, index in self.tombstones.items() if key.startswith(prefix)]
        return max(indexes, default=self.index)

    def _under(self, prefix):
        return sorted(key for key in self.entries if key.startswith(prefix))

    def _get(self, key, query):
        if "keys" in query:
            return self._keys(key, query.get("separator", [""])[0])
        if "recurse" in query:
            keys = self._under(key)
            index = self._highest_index(key)
            if not keys:
                return 404, {"X-Consul-Index": str(index)}, b""
            return self._json(200, [self._render(k) for k in keys], index)
        if key == "":
            return self._text(400, "Missing key name")
        index = self._highest_index("")
        if key not in self.entries:
            return 404, {"X-Consul-Index": str(index)}, b""
        return self._json(200, [self._render(key)], index)

    def _keys(self, prefix, separator):
        names = []
        for key in self._under(prefix):
            if separator:
                position = key.find(separator, len(prefix))
                if position >= 0:
                    key = key[: position + len(separator)]
            if not names or names[-1] != key:
                names.append(key)
        index = self._highest_index(prefix)
        if not names and prefix:
            return 404, {"X-Consul-Index": str(index)}, b""
        return self._json(200, names, index)

    def _render(self, key):
        entry = self.entries[key]
        value = entry["Value"]
        return {
            "LockIndex": 0,
            "Key": key,
            "Flags": entry["Flags"],
            "Value": base64.b64encode(value).decode() if value else None,
            "CreateIndex": entry["CreateIndex"],
            "ModifyIndex": entry["ModifyIndex"],
        }

    # --------------------------------------------------------------- writes

    def _put(self, key, query, body):
        if key == "":
            return self._text(400, "Missing key name")
        if len(body) > MAX_VALUE_SIZE:
            return self._text(413, "Request body(%d bytes) too large, max size: %d bytes. See "
                                   "https://www.consul.io/docs/agent/options.html#kv_max_value_size."
                              % (len(body), MAX_VALUE_SIZE))
        flags = _parse_uint(query["flags"][0]) if "flags" in query else 0
        existing = self.entries.get(key)
        if "cas" in query:
            cas = _parse_uint(query["cas"][0])
            if (cas == 0 and existing is not None) or (
                cas != 0 and (existing is None or existing["ModifyIndex"] != cas)
            ):
                return self._json(200, False)
        if existing is not None and existing["Value"] == body and existing["Flags"] == flags:
            return self._json(200, True)  # an identical write changes nothing
        self.index += 1
        self.entries[key] = {
            "Flags": flags,
            "Value": body,
            "CreateIndex": existing["CreateIndex"] if existing else self.index,
            "ModifyIndex": self.index,
        }
        self.tombstones.pop(key, None)
        return self._json(200, True)

    def _delete(self, key, query):
        if "recurse" in query:
            if "cas" in query:
                return self._text(400, "Conflicting flags: cas=%s&recurse=" % query["cas"][0])
            doomed = self._under(key)
            if doomed:
                self.index += 1
                for name in doomed:
                    del self.entries[name]
                    self.tombstones[name] = self.index
            return self._json(200, True)
        if key == "":
            return self._text(400, "Missing key name")
        existing = self.entries.get(key)
        if "cas" in query:
            cas = _parse_uint(query["cas"][0])
            if existing is not None and existing["ModifyIndex"] != cas:
                return self._json(200, False)
        if existing is not None:
            self.index += 1
            del self.entries[key]
            self.tombstones[key] = self.index
        return self._json(200, True)
