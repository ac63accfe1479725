"""Every server of a datacenter in the WAN pool, from one -join-wan.

Only one server of a datacenter needs to be told to join the WAN: each
server floods the others in, as Consul's floodJoins does. Whenever the LAN
changes (and once a minute besides), a server joins to the WAN pool every
server of its own datacenter that the LAN shows alive and the WAN pool has
never seen, at the WAN port the peer publishes in its ``wan_join_port`` tag.
"""

from twisted.internet.task import LoopingCall

from pyconsul.core.serf.events import MemberEvent
from pyconsul.core.serf.member import MemberStatus
from pyconsul.core.serf.tags import WAN_JOIN_PORT
from pyconsul.logs import Logger

FLOOD_INTERVAL = 60.0


def flood_targets(lan_members, wan_names, datacenter, own_name):
    """The ``host:port`` WAN addresses of our datacenter's servers missing from the WAN pool."""
    targets = []
    for member in lan_members:
        tags = member.tags
        if member.name == own_name or member.status != MemberStatus.ALIVE:
            continue
        if tags.get("role") != "consul" or tags.get("dc") != datacenter:
            continue
        port = tags.get(WAN_JOIN_PORT, "")
        if not port.isdigit() or "%s.%s" % (member.name, datacenter) in wan_names:
            continue
        host = "[%s]" % member.addr if ":" in member.addr else member.addr
        targets.append("%s:%s" % (host, port))
    return targets


class WANFlooder:
    log = Logger()

    def __init__(self, lan, wan, datacenter, node_name, clock):
        self.lan, self.wan = lan, wan
        self.datacenter = datacenter
        self.node_name = node_name
        self._loop = LoopingCall(self.flood)
        self._loop.clock = clock

    def start(self):
        self.lan.subscribe(self._on_gossip)
        self._loop.start(FLOOD_INTERVAL, now=False)

    def stop(self):
        if self._loop.running:
            self._loop.stop()

    def _on_gossip(self, event):
        if isinstance(event, MemberEvent):
            self.flood()

    def flood(self):
        wan_names = {m.name for m in self.wan.members()}
        targets = flood_targets(self.lan.members(), wan_names, self.datacenter, self.node_name)
        if not targets:
            return
        d = self.wan.join(targets)
        d.addCallbacks(
            lambda count: self.log.info("Flood-joined {count} servers of {dc} to the WAN pool", count=count,
                                        dc=self.datacenter),
            lambda failure: self.log.warn("Flood-joining {targets} to the WAN pool failed: {error}",
                                          targets=targets, error=failure.value))
