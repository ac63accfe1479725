"""Other datacenters, as a server sees them through the WAN pool.

Every server of every datacenter gossips in one WAN pool, as
``<node>.<datacenter>`` with the same tags as on its LAN (role, dc, RPC
port). A request for another datacenter is sent over server RPC to one of
that datacenter's servers the pool shows alive, picked at random; if it
cannot be reached, to one other, and then the request fails (a read is
re-sent only when it cannot have been answered, a write only when it never
left). The remote server answers as if asked there, query metadata and all.
A datacenter with no live server in the pool, or none at all, is Consul's
"No path to datacenter", at once.

``datacenters_by_distance`` orders the known datacenters as Consul's
router.GetDatacentersByDistance does: by the median estimated round trip
from this server to each one's servers (the local one counting as 0, a
server without a coordinate as infinitely far), then by name.
"""

from twisted.internet.defer import fail

from pyconsul.core.coordinate.coordinate import compute_distance
from pyconsul.core.serf.member import MemberStatus
from pyconsul.server.errors import NoPathToDatacenter
from pyconsul.server.membership import server_of

ATTEMPTS = 2  # one server picked at random, then one other


def datacenters_by_distance(members, local_datacenter, own_coordinate=None, cached_coordinate=lambda name: None):
    """Datacenter names, nearest first. ``members``: the WAN pool's members;
    ``cached_coordinate(name)``: the pool's coordinate of a member, or None."""
    round_trips = {local_datacenter: [0.0]}
    for member in members:
        tags = member.tags
        datacenter = tags.get("dc")
        if tags.get("role") != "consul" or not datacenter or member.status == MemberStatus.LEFT:
            continue
        if datacenter == local_datacenter:
            continue
        rtt = compute_distance(own_coordinate, cached_coordinate(member.name))
        round_trips.setdefault(datacenter, []).append(rtt)
    median = {dc: sorted(rtts)[len(rtts) // 2] for dc, rtts in round_trips.items()}
    return sorted(median, key=lambda dc: (median[dc], dc))


class Federation:
    """Forwards calls to other datacenters' servers, found in the WAN pool."""

    def __init__(self, datacenter, wan, pool, rng, timeout_of):
        self.datacenter = datacenter
        self.wan = wan  # GossipDriver of the WAN pool, or None (a server without one)
        self.pool = pool  # RPCClientPool
        self.rng = rng
        self.timeout_of = timeout_of  # args -> seconds a forwarded call may take

    def servers(self, datacenter):
        """RPC addresses of ``datacenter``'s servers the WAN pool sees alive."""
        if self.wan is None:
            return []
        addresses = []
        for member in self.wan.members():
            if member.status != MemberStatus.ALIVE:
                continue
            found = server_of(member, datacenter)
            if found is not None:
                addresses.append(found[1])
        return addresses

    def datacenters(self):
        """Every datacenter the pool knows, nearest first (this one too)."""
        if self.wan is None:
            return [self.datacenter]
        node = self.wan.node
        return datacenters_by_distance(
            self.wan.members(), self.datacenter, node.coordinate, node.cached_coordinate)

    def forward(self, datacenter, method, args, resendable, tried=()):
        """Send ``method`` to a server of ``datacenter``; a Deferred of its
        reply. ``resendable``: the failure after which it may go to another."""
        candidates = [s for s in self.servers(datacenter) if s not in tried]
        if not candidates:
            return fail(NoPathToDatacenter())
        server = self.rng.choice(sorted(candidates))
        d = self.pool.call(server, method, args, timeout=self.timeout_of(args))

        def another(failure):
            failure.trap(resendable)
            if len(tried) + 1 >= ATTEMPTS or len(candidates) < 2:
                return failure
            return self.forward(datacenter, method, args, resendable, tried + (server,))

        return d.addErrback(another)
