"""/v1/kv: Consul's key/value store API."""

from pyconsul.golang import strconv
from pyconsul.http.request import BadRequest
from pyconsul.http.response import dir_entry_json, empty_body, error_body, json_body

PREFIX = "/v1/kv/"
DEFAULT_MAX_VALUE_SIZE = 512 * 1024


def _uint_param(call, name):
    text = call.params.get(name)
    try:
        # Base 10 only, as Consul's strconv.ParseUint(v, 10, 64): no "0x".
        return strconv.parse_uint(text, base=10)
    except strconv.NumError as e:
        problem = "out of range" if e.err == strconv.ERR_RANGE else "not a number"
        raise BadRequest(
            "Invalid ?%s=%s: %s; expected a decimal integer from 0 to %d"
            % (name, text, problem, strconv.MAX_UINT64)
        )


class KVEndpoint:
    def __init__(self, rpc, max_value_size=DEFAULT_MAX_VALUE_SIZE):
        self.rpc = rpc
        self.max_value_size = max_value_size

    def handle(self, call):
        key = call.path[len(PREFIX):]
        if call.method == "GET":
            return self.get(call, key)
        if call.method == "PUT":
            return self.put(call, key)
        return self.delete(call, key)

    # -- GET ---------------------------------------------------------------

    def get(self, call, key):
        options = call.read_options()
        args = {"Datacenter": options.datacenter, "QueryOptions": options.as_rpc()}
        if call.flag("keys"):
            args.update(Prefix=key, Seperator=call.params.get("separator", ""))
            d = self.rpc.call("KVS.ListKeys", args)
            return d.addCallback(self._keys_reply, call, key)
        if not key and not call.flag("recurse"):
            raise BadRequest("Missing key name")
        args["Key"] = key
        method = "KVS.List" if call.flag("recurse") else "KVS.Get"
        raw = method == "KVS.Get" and call.flag("raw")
        return self.rpc.call(method, args).addCallback(self._entries_reply, call, raw)

    @staticmethod
    def _keys_reply(reply, call, key):
        call.query_meta(reply)
        if not reply["Keys"] and key != "":
            return empty_body(call.request, 404)
        return json_body(call.request, reply["Keys"], call.pretty)

    def _entries_reply(self, reply, call, raw):
        call.query_meta(reply)
        entries = reply["Entries"]
        if not entries:
            return empty_body(call.request, 404)
        if raw:
            return self._raw(call.request, entries[0])
        return json_body(call.request, [dir_entry_json(e) for e in entries], call.pretty)

    @staticmethod
    def _raw(request, entry):
        # Served as inert text: a stored value must never run as a page.
        request.setHeader(b"content-type", b"text/plain")
        request.setHeader(b"content-security-policy", b"sandbox")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return entry.value or b""

    # -- PUT ------------------------------------------------------------------

    def put(self, call, key):
        if not key:
            raise BadRequest("Missing key name")
        flags = _uint_param(call, "flags") if call.params.has("flags") else 0
        entry = {"Key": key, "Flags": flags}
        op = "set"
        if call.params.has("cas"):
            op = "cas"
            entry["ModifyIndex"] = _uint_param(call, "cas")
        # As in Consul, ?acquire and ?release take over from ?cas.
        if call.params.has("acquire"):
            op, entry["Session"] = "lock", call.params.get("acquire")
        if call.params.has("release"):
            op, entry["Session"] = "unlock", call.params.get("release")
        size = call.body_length()
        if size > self.max_value_size:
            return error_body(
                call.request,
                413,
                "Request body(%d bytes) too large, max size: %d bytes. See "
                "https://www.consul.io/docs/agent/options.html#kv_max_value_size."
                % (size, self.max_value_size),
            )
        entry["Value"] = call.body() if size else None
        return self._apply(call, op, entry)

    def _apply(self, call, op, entry):
        args = call.write_args()
        args.update(Op=op, DirEnt=entry)
        d = self.rpc.call("KVS.Apply", args)
        return d.addCallback(lambda result: json_body(call.request, bool(result)))

    # -- DELETE -----------------------------------------------------------------

    def delete(self, call, key):
        recurse = call.flag("recurse")
        entry = {"Key": key}
        if recurse:
            if call.params.has("cas"):
                raise BadRequest("Conflicting flags: " + call.params.encode())
            op = "delete-tree"
        else:
            if not key:
                raise BadRequest("Missing key name")
            op = "delete"
            if call.params.has("cas"):
                op = "delete-cas"
                entry["ModifyIndex"] = _uint_param(call, "cas")
        return self._apply(call, op, entry)
