"""/v1/operator/raft: the servers of the Raft cluster, and removing one."""

from pyconsul.http.request import BadRequest
from pyconsul.http.response import empty_body, json_body


class OperatorEndpoint:
    def __init__(self, rpc):
        self.rpc = rpc

    def raft_configuration(self, call):
        args = {
            "Datacenter": call.params.get("dc") or None,
            "QueryOptions": {"AllowStale": call.flag("stale")},
        }
        d = self.rpc.call("Operator.RaftGetConfiguration", args)
        return d.addCallback(lambda reply: json_body(call.request, reply, call.pretty))

    def raft_remove_peer(self, call):
        args = call.write_args()
        if call.params.get("id"):
            method, args["ID"] = "Operator.RaftRemovePeerByID", call.params.get("id")
        elif call.params.get("address"):
            method, args["Address"] = "Operator.RaftRemovePeerByAddress", call.params.get("address")
        else:
            raise BadRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
        return self.rpc.call(method, args).addCallback(lambda _: empty_body(call.request, 200))
