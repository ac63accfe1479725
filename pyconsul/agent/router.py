"""Where an RPC goes: this agent's own server, or a server found by gossip.

Every HTTP endpoint calls :meth:`RPCRouter.call`; the router checks the
datacenter and hands the call to the server that should answer it. On a
server agent that is its own server (which forwards to the leader when it
must); a client agent picks one of the servers gossip knows about and moves
on to another when one cannot be reached. A call for another datacenter
takes the same road; the servers forward it there
(pyconsul.server.federation).
"""

import random

from twisted.internet.defer import fail

from pyconsul.server.endpoints import forwarding_timeout, resendable_error
from pyconsul.server.errors import RPCError


class NoServers(RPCError):
    def __init__(self):
        super().__init__("No known Consul servers")


def server_addresses(members, datacenter):
    """RPC addresses of the alive servers of ``datacenter`` among gossip members."""
    addresses = []
    for member in members:
        tags = member.tags
        if member.status != 1 or tags.get("role") != "consul" or tags.get("dc") != datacenter:
            continue
        port = tags.get("port", "")
        if port.isdigit():
            host = "[%s]" % member.addr if ":" in member.addr else member.addr
            addresses.append("%s:%s" % (host, port))
    return addresses


class RPCRouter:
    def __init__(self, datacenter, local_server=None, pool=None, servers=lambda: (), rng=None):
        self.datacenter = datacenter
        self.local_server = local_server  # ServerEndpoints on a server agent
        self.pool = pool  # RPCClientPool, on a client agent
        self.servers = servers  # () -> RPC addresses of known servers
        self.rng = rng or random.Random()

    def call(self, method, args):
        # A call for another datacenter goes the same way: this agent's
        # servers forward it there over the WAN.
        if self.local_server is not None:
            return self.local_server.call(method, args)
        return self._call_a_server(method, args, tried=())

    def _call_a_server(self, method, args, tried):
        candidates = [s for s in self.servers() if s not in tried]
        if self.pool is None or not candidates:
            return fail(NoServers())
        server = self.rng.choice(candidates)
        d = self.pool.call(server, method, args, timeout=forwarding_timeout(args))

        def failover(failure):
            failure.trap(resendable_error(method))
            return self._call_a_server(method, args, tried + (server,))

        return d.addErrback(failover)
