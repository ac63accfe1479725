"""Where an RPC goes: this agent's own server, or nowhere yet.

Every HTTP endpoint calls :meth:`RPCRouter.call`; the router checks the
datacenter and hands the call to the server that should answer it. Other
datacenters (WAN federation) and client agents forwarding to servers plug in
here, without touching the endpoints.
"""

from twisted.internet.defer import fail

from pyconsul.server.errors import NoPathToDatacenter, RPCError


class NoServers(RPCError):
    def __init__(self):
        super().__init__("No known Consul servers")


class RPCRouter:
    def __init__(self, datacenter, local_server=None):
        self.datacenter = datacenter
        self.local_server = local_server  # ServerEndpoints on a server agent

    def call(self, method, args):
        datacenter = args.get("Datacenter") or self.datacenter
        if datacenter != self.datacenter:
            return fail(NoPathToDatacenter())
        if self.local_server is None:
            return fail(NoServers())
        return self.local_server.call(method, args)
