"""/v1/txn: several KV and catalog operations as one.

A transaction with a write goes through the log (``Txn.Apply``) and
answers ``{"Results", "Errors"}``; one that only reads (or is empty) is
answered by a server directly (``Txn.Read``), with the read's metadata in
the body and the headers, as Consul does. Any error is a 409 with each
failed operation's position; a body that cannot be read, a 400; too large
a body, too many operations or too large a value, a 413.
"""

from pyconsul.golang import base64 as go_base64
from pyconsul.golang import gostruct as go
from pyconsul.http import shapes
from pyconsul.http.catalog import HEALTH_CHECK
from pyconsul.http.response import dir_entry_json, error_body, json_body
from pyconsul.state.txn import is_write

STRING, UINT = go.String(), go.Uint()
STRINGS, STRING_MAP = go.Slice(STRING), go.Map(STRING)
KV_OP = go.Struct("KVTxnOp", "api.KVTxnOp", [
    go.Field("Verb", go.String("api.KVOp")), go.Field("Key", STRING), go.Field("Value", go.String("[]uint8")),
    go.Field("Flags", UINT), go.Field("Index", UINT), go.Field("Session", STRING),
    go.Field("Namespace", STRING), go.Field("Partition", STRING),
], pointer=True)
NODE = go.Struct("Node", "api.Node", [
    go.Field("ID", STRING), go.Field("Node", STRING), go.Field("Address", STRING),
    go.Field("Datacenter", STRING), go.Field("TaggedAddresses", STRING_MAP), go.Field("Meta", STRING_MAP),
    go.Field("CreateIndex", UINT), go.Field("ModifyIndex", UINT),
])
SERVICE = go.Struct("AgentService", "api.AgentService", [
    go.Field("Kind", STRING), go.Field("ID", STRING), go.Field("Service", STRING), go.Field("Tags", STRINGS),
    go.Field("Meta", STRING_MAP), go.Field("Port", go.Int()), go.Field("Address", STRING),
    go.Field("Weights", go.Struct("AgentWeights", "api.AgentWeights", [
        go.Field("Passing", go.Int()), go.Field("Warning", go.Int())])),
    go.Field("EnableTagOverride", go.Bool()), go.Field("CreateIndex", UINT), go.Field("ModifyIndex", UINT),
])
CHECK = go.Struct("HealthCheck", "api.HealthCheck", HEALTH_CHECK.fields + [
    go.Field("CreateIndex", UINT), go.Field("ModifyIndex", UINT)])
TXN_OPS = go.Slice(go.Struct("TxnOp", "api.TxnOp", [
    go.Field("KV", KV_OP),
    go.Field("Node", go.Struct("NodeTxnOp", "api.NodeTxnOp", [
        go.Field("Verb", STRING), go.Field("Node", NODE)], pointer=True)),
    go.Field("Service", go.Struct("ServiceTxnOp", "api.ServiceTxnOp", [
        go.Field("Verb", STRING), go.Field("Node", STRING), go.Field("Service", SERVICE)], pointer=True)),
    go.Field("Check", go.Struct("CheckTxnOp", "api.CheckTxnOp", [
        go.Field("Verb", STRING), go.Field("Check", CHECK)], pointer=True)),
]), "api.TxnOps")

MAX_OPS = 64
DEFAULT_MAX_REQUEST = 512 * 1024
DOCS = "https://www.consul.io/docs/agent/options.html#txn_max_req_len"


class _Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def result_json(result):
    """A result as Consul writes it: KV entries as the KV API, services as
    /v1/catalog/node, nodes and checks as the catalog does."""
    if "KV" in result:
        return {"KV": dir_entry_json(result["KV"])}
    if "Service" in result:
        return {"Service": shapes.node_service(result["Service"])}
    if "Node" in result:
        return {"Node": shapes.node(result["Node"])}
    return {"Check": shapes.check(result["Check"])}


class TxnEndpoint:
    def __init__(self, rpc, max_value_size=512 * 1024, max_request=DEFAULT_MAX_REQUEST):
        self.rpc = rpc
        # A transaction may carry one value as large as a KV PUT may: the
        # larger of the two limits bounds the body, as in Consul.
        self.max_request = max(max_request, max_value_size)
        self.max_value_size = max_value_size
        self.datacenter = getattr(rpc, "datacenter", "dc1")

    def handle(self, call):
        try:
            ops = self._ops(call)
        except _Refused as refused:
            return error_body(call.request, refused.status, refused.message)
        if any(is_write(op) for op in ops):
            args = call.write_args()
            args["Ops"] = ops
            return self.rpc.call("Txn.Apply", args).addCallback(self._applied, call)
        options = call.read_options()
        args = {"Datacenter": options.datacenter, "QueryOptions": options.as_rpc(), "Ops": ops}
        return self.rpc.call("Txn.Read", args).addCallback(self._read, call)

    def _ops(self, call):
        size = call.body_length()
        if size > self.max_request:
            raise _Refused(413, "Request body(%d bytes) too large, max size: %d bytes. See %s."
                           % (size, self.max_request, DOCS))
        try:
            ops = go.decode(call.body(), TXN_OPS) or []
            for op in ops:
                kv = op.get("KV")
                if kv is not None and kv.get("Value") is not None:
                    kv["Value"] = go_base64.decode(kv["Value"].encode("latin-1", "replace"))
        except go.GoError as error:
            raise _Refused(400, "Failed to parse body: %s" % error)
        if len(ops) > MAX_OPS:
            raise _Refused(413, "Transaction contains too many operations (%d > %d)" % (len(ops), MAX_OPS))
        for op in ops:
            kv = op.get("KV")
            if kv is not None and len(kv.get("Value") or b"") > self.max_value_size:
                raise _Refused(413, 'Value for key "%s" is too large (%d > %d bytes)'
                               % (kv.get("Key", ""), len(kv["Value"]), self.max_value_size))
        kept = []
        for op in ops:
            op = {kind: value for kind, value in op.items() if value is not None}
            if not op:
                continue  # an operation of no kind: Consul drops it
            node = (op.get("Node") or {}).get("Node")
            if node is not None and not node.get("Datacenter"):
                node["Datacenter"] = call.params.get("dc") or self.datacenter
            kept.append(op)
        return kept

    @staticmethod
    def _status(call, reply):
        if reply["Errors"]:
            call.request.setResponseCode(409)

    def _applied(self, reply, call):
        self._status(call, reply)
        return json_body(call.request, self._body(reply), call.pretty)

    def _read(self, reply, call):
        self._status(call, reply)
        call.request.setHeader(b"x-consul-knownleader", b"true" if reply.get("KnownLeader") else b"false")
        call.request.setHeader(b"x-consul-lastcontact", str(reply.get("LastContact", 0)).encode())
        body = self._body(reply)
        body.update(Index=0, LastContact=0, KnownLeader=bool(reply.get("KnownLeader")), ConsistencyLevel="",
                    NotModified=False, Backend=0)
        return json_body(call.request, body, call.pretty)

    @staticmethod
    def _body(reply):
        results = reply["Results"]
        return {"Results": None if results is None else [result_json(r) for r in results],
                "Errors": reply["Errors"]}
