"""/v1/status: the leader's and the peers' RPC addresses."""

from twisted.internet.defer import inlineCallbacks, returnValue

from pyconsul.http.response import json_body


class StatusEndpoint:
    def __init__(self, rpc):
        self.rpc = rpc

    @inlineCallbacks
    def leader(self, call):
        address = yield self.rpc.call("Status.Leader", self._args(call))
        returnValue(json_body(call.request, address, call.pretty))

    @inlineCallbacks
    def peers(self, call):
        peers = yield self.rpc.call("Status.Peers", self._args(call))
        returnValue(json_body(call.request, peers, call.pretty))

    @staticmethod
    def _args(call):
        return {"Datacenter": call.params.get("dc") or None}
