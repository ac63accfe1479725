"""An in-memory agent that answers the KV and membership HTTP API the way Consul does.

For KV it implements what the CLI depends on: Raft-like indexes (CreateIndex,
ModifyIndex, X-Consul-Index counting deletions), ?cas, ?flags, ?keys with
?separator, ?recurse, 404 for missing keys and empty listings, 413 above
512 KiB, 400 for a missing key name, and the 301 Go's router answers for a
path that is not clean (``/v1/kv/a//b``). It serves as a transport for
``pyconsul.cli.http.Client`` (``round_trip``) and can be called directly
(``handle``) to replay the HTTP steps of the recorded vectors.

For membership it serves ``GET /v1/agent/members`` from lists a test fills
(``members``, ``wan_members``; ``member()`` builds an entry), ``PUT
/v1/agent/join/<addr>`` (an address in ``join_errors`` fails with a 500 and
that text), ``PUT /v1/agent/leave`` and ``PUT /v1/agent/force-leave/<node>``
(a node it does not list gets Consul's 500 ``agent: No node found with name
'x'``).

The catalog reads (``catalog``, a ``FakeCatalog``) and the agent's own
services, checks, maintenance, reload and self (``local``, a
``FakeLocalAgent``) are in ``tests.cli.fakecatalog``. ``overrides`` maps (method, path) to a canned (status, headers, body)
answer, for errors the fake would not otherwise give.
"""

import base64
import json
import posixpath
import urllib.parse

from pyconsul.cli.http import Response

from tests.cli.fakecatalog import FakeCatalog, FakeLocalAgent

MAX_VALUE_SIZE = 524288
KV_ROOT = "/v1/kv/"
AGENT_ROOT = "/v1/agent/"
CATALOG_ROOT = "/v1/catalog/"
STATUS_LEFT = 3
# What Consul's router answers for a path no endpoint serves.
NOT_FOUND = (404, {"Content-Type": "text/plain; charset=utf-8"},
             b"Invalid URL path: not a recognized HTTP API endpoint\n")

# What a consul join says when nothing answers at the address (memberlist's
# error wrapped in a go-multierror).
JOIN_REFUSED = ("1 error occurred:\n\t* Failed to join %s: dial tcp %s: connect: connection refused\n\n")


def member(name, addr, port=8301, status=1, role="consul", dc="dc1", build="1.10.0:4e0a2bda", vsn="2", **tags):
    """A /v1/agent/members entry with the tags a Consul 1.10 agent announces."""
    all_tags = {"role": role, "dc": dc, "build": build, "vsn": vsn, "vsn_min": "2", "vsn_max": "3",
                "segment": "", "id": "%s-id" % name, "acls": "0", "ft_fs": "1", "ft_si": "1"}
    if role == "consul":
        all_tags.update({"port": "8300", "raft_vsn": "3", "expect": "3", "wan_join_port": "8302"})
    all_tags.update(tags)
    return {"Name": name, "Addr": addr, "Port": port, "Tags": {k: v for k, v in all_tags.items() if v is not None},
            "Status": status, "ProtocolMin": 1, "ProtocolMax": 5, "ProtocolCur": 2,
            "DelegateMin": 2, "DelegateMax": 5, "DelegateCur": 4}


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
        self.members = []  # the LAN pool, as /v1/agent/members lists it
        self.wan_members = []  # the WAN pool (?wan)
        self.join_errors = {}  # address -> text of the 500 a join through it gets
        self.joined = []  # (address, wan) of every successful join
        self.left = False  # PUT /v1/agent/leave was accepted
        self.overrides = {}  # (method, path) -> (status, headers, body)
        self.local = FakeLocalAgent()  # the agent's own services, checks, maintenance
        self.catalog = FakeCatalog(agent_node=self.local.node_name)

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
        if (method, path) in self.overrides:
            return self.overrides[(method, path)]
        if path.startswith(AGENT_ROOT):
            return self._agent(method, path[len(AGENT_ROOT):], _parse_query(raw_query), body)
        if path.startswith(CATALOG_ROOT):
            return self.catalog.handle(method, path[len(CATALOG_ROOT):], _parse_query(raw_query)) or NOT_FOUND
        if not path.startswith(KV_ROOT):
            return NOT_FOUND
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

    # ----------------------------------------------------------- membership

    def _agent(self, method, rest, query, body):
        endpoint, _, argument = rest.partition("/")
        if endpoint == "members" and not argument:
            return self._only(method, "GET") or self._members(query)
        if endpoint == "join" and argument:
            return self._only(method, "PUT") or self._join(argument, "wan" in query)
        if endpoint == "leave" and not argument:
            return self._only(method, "PUT") or self._leave()
        if endpoint == "force-leave" and argument:
            return self._only(method, "PUT") or self._force_leave(argument, query)
        return self.local.handle(method, endpoint, argument, query, body) or NOT_FOUND

    @staticmethod
    def _only(method, allowed):
        """Consul's 405 for a method the endpoint does not take, else None."""
        if method == allowed:
            return None
        return 405, {"Allow": "OPTIONS," + allowed}, ("method %s not allowed" % method).encode()

    def _members(self, query):
        segment = query.get("segment", [""])[0]
        if "wan" in query:
            if segment not in ("", "_all"):
                return self._text(400, "Cannot provide a segment with wan=true")
            return self._json(200, self.wan_members)
        if segment not in ("", "_all"):
            return self._text(500, "Network segments are not supported in this version of Consul")
        return self._json(200, self.members)

    def _join(self, address, wan):
        if address in self.join_errors:
            return self._text(500, self.join_errors[address])
        self.joined.append((address, wan))
        return 200, {}, b""

    def _leave(self):
        self.left = True
        return 200, {}, b""

    def _force_leave(self, node, query):
        pool = self.wan_members if "wan" in query else self.members
        for entry in pool:
            if entry["Name"] == node:
                if "prune" in query:
                    pool.remove(entry)
                else:
                    entry["Status"] = STATUS_LEFT
                return 200, {}, b""
        return self._text(500, "agent: No node found with name '%s'" % node)
