"""The agent as the HTTP API and the CLI see it: who it is, who its peers
are, and the commands that change membership."""

import platform
import sys

from twisted.internet import defer
from twisted.internet.task import deferLater

from pyconsul import __version__
from pyconsul.core.serf.member import MemberStatus
from pyconsul.logs import Logger

CONSUL_COMPATIBLE_VERSION = "1.10.3"  # the Consul release whose API we answer as


def build_tag():
    """What goes in the ``build`` tag: version, then ``:`` and a revision."""
    return "%s:pyconsul-%s" % (CONSUL_COMPATIBLE_VERSION, __version__)


def member_json(member):
    """A member in /v1/agent/members' shape."""
    pmin, pmax, pcur, dmin, dmax, dcur = member.vsn
    return {
        "Name": member.name,
        "Addr": member.addr,
        "Port": member.port,
        "Tags": dict(member.tags),
        "Status": int(member.status),
        "ProtocolMin": pmin,
        "ProtocolMax": pmax,
        "ProtocolCur": pcur,
        "DelegateMin": dmin,
        "DelegateMax": dmax,
        "DelegateCur": dcur,
    }


class NotAServer(Exception):
    """A WAN pool operation on a client agent."""


class UnknownMember(Exception):
    def __init__(self, name):
        super().__init__("agent: No node found with name '%s'" % name)


# How long a leaving server waits for leadership to move and for the leader
# to take it out of the Raft configuration.
RAFT_LEAVE_TIMEOUT = 10.0


class Agent:
    log = Logger()

    def __init__(self, config, lan, server=None, shutdown=None, rpc=None, clock=None, local=None, wan=None):
        self.config = config
        self.local = local  # LocalAgent: this node's services and checks
        self.lan = lan  # GossipDriver of the LAN pool
        self.wan = wan  # GossipDriver of the WAN pool, on a server
        self.server = server  # ConsulServer on a server agent
        self.rpc = rpc  # RPCRouter, to reach the leader
        self.clock = clock
        # Called to stop the process once /v1/agent/leave has left.
        self.shutdown = shutdown or (lambda: None)
        self.left = False

    def members(self, wan=False):
        """A pool's members by name; the WAN pool of a client has none."""
        pool = self.wan if wan else self.lan
        return sorted(pool.members(), key=lambda m: m.name) if pool is not None else []

    def local_member(self):
        return self.lan.local_member

    def join(self, addresses, wan=False):
        if not wan:
            return self.lan.join(addresses)
        if self.wan is None:
            return defer.fail(NotAServer("Must be a server to join WAN cluster"))
        return self.wan.join(addresses)

    def force_leave(self, name, prune=False, wan=False):
        """Consul's RemoveFailedNode: the member goes from the LAN pool and,
        on a server, from the WAN pool as name.datacenter too; with ``wan``
        from the WAN pool alone."""
        if wan:
            if self.wan is None:
                raise NotAServer("Must be a server to force-leave a WAN member")
            self._force_leave(self.wan, name, prune)
            return
        self._force_leave(self.lan, name, prune)
        if self.wan is not None:
            suffix = "." + self.config.datacenter
            try:
                self.wan.force_leave(name if name.endswith(suffix) else name + suffix, prune=prune)
            except KeyError:
                pass  # a client, or a server the WAN pool never saw

    @staticmethod
    def _force_leave(pool, name, prune):
        try:
            pool.force_leave(name, prune=prune)
        except KeyError:
            raise UnknownMember(name)

    def leave(self):
        """A graceful leave: peers will show this node as left, not failed.

        A server first leaves the Raft configuration (handing leadership
        over if it has it), so the remaining servers keep their quorum.
        """
        if self.left:
            return defer.succeed(None)
        self.left = True
        # A server leaves the WAN pool first, then Raft, then its LAN (as Consul).
        d = self.wan.leave() if self.wan is not None else defer.succeed(None)
        if self.server is not None:
            d.addCallback(lambda _: self._leave_raft())
        return d.addCallback(lambda _: self.lan.leave())

    @defer.inlineCallbacks
    def _leave_raft(self):
        driver = self.server.driver
        voters = driver.configuration().voters
        if len(voters) < 2 or driver.node_id not in voters:
            return
        if driver.is_leader:
            target = self._transfer_target(voters - {driver.node_id})
            if target is not None:
                try:
                    driver.transfer_leadership(target)
                    yield self._until(lambda: not driver.is_leader and driver.known_leader)
                except Exception as error:
                    # Removing ourselves still works as leader: we step
                    # down once the configuration without us commits.
                    self.log.warn("Handing over leadership failed: {error!r}", error=error)
        try:
            removal = self.rpc.call("Operator.RaftRemovePeerByID", {"ID": driver.node_id})
            yield removal.addTimeout(RAFT_LEAVE_TIMEOUT, self.clock)
        except Exception as error:  # the gossip leave still goes ahead
            self.log.warn("Leaving the Raft configuration failed: {error!r}", error=error)

    def _transfer_target(self, candidates):
        """A voter that gossip sees alive, to hand leadership to."""
        alive = {
            m.tags.get("id")
            for m in self.lan.members()
            if m.status is MemberStatus.ALIVE and m.tags.get("role") == "consul"
        }
        for candidate in sorted(candidates):
            if candidate in alive:
                return candidate
        return None

    @defer.inlineCallbacks
    def _until(self, condition, timeout=RAFT_LEAVE_TIMEOUT, interval=0.05):
        deadline = self.clock.seconds() + timeout
        while not condition():
            if self.clock.seconds() > deadline:
                raise defer.TimeoutError("leadership did not move in %.0f s" % timeout)
            yield deferLater(self.clock, interval, lambda: None)

    def alive_members(self):
        return [m for m in self.lan.members() if m.status is MemberStatus.ALIVE]

    def _lan_coordinate(self):
        """The LAN pool's coordinate in Consul's shape (None with coordinates disabled)."""
        coordinate = getattr(getattr(self.lan, "node", None), "coordinate", None)
        return coordinate.to_dict() if coordinate is not None else None

    def self_info(self):
        """/v1/agent/self: Config, DebugConfig, Coord, Member, Stats, Meta."""
        config = self.config
        leader = self.server.driver.leader_address if self.server else ""
        return {
            "Config": {
                "Datacenter": config.datacenter,
                "PrimaryDatacenter": config.datacenter,
                "NodeName": config.node_name,
                "NodeID": config.node_id,
                "Revision": "pyconsul-" + __version__,
                "Server": config.server,
                "Version": CONSUL_COMPATIBLE_VERSION,
                "BuildDate": "",
            },
            "DebugConfig": {
                "Datacenter": config.datacenter,
                "NodeName": config.node_name,
                "NodeID": config.node_id,
                "ServerMode": config.server,
                "Bootstrap": config.bootstrap,
                "BootstrapExpect": config.bootstrap_expect,
                "DataDir": config.data_dir or "",
                "DevMode": config.dev,
                "BindAddr": config.bind_addr,
                "AdvertiseAddrLAN": config.advertise_addr,
                "ClientAddrs": list(config.client_addrs),
                "HTTPPort": config.ports.http,
                "DNSPort": config.ports.dns,
                "ServerPort": config.ports.server,
                "SerfPortLAN": config.ports.serf_lan,
                "SerfPortWAN": config.ports.serf_wan,
                "AdvertiseAddrWAN": config.advertise_addr_wan,
                "RetryJoinLAN": list(config.retry_join),
                "StartJoinAddrsLAN": list(config.start_join),
                "RetryJoinWAN": list(config.retry_join_wan),
                "StartJoinAddrsWAN": list(config.start_join_wan),
                "LeaveOnTerm": config.leave_on_terminate,
                "SkipLeaveOnInt": config.skip_leave_on_interrupt,
                "EncryptKey": "hidden" if config.encrypt else "",
                "RaftMultiplier": config.raft_multiplier,
            },
            "Coord": self._lan_coordinate(),
            "Member": member_json(self.local_member()),
            "Stats": {
                "agent": {
                    "checks": str(len(self.local.services.checks) if self.local else 0),
                    "services": str(len(self.local.services.services) if self.local else 0),
                },
                "build": {
                    "prerelease": "",
                    "revision": "pyconsul-" + __version__,
                    "version": CONSUL_COMPATIBLE_VERSION,
                },
                "consul": {
                    "server": str(config.server).lower(),
                    "bootstrap": str(config.bootstrap).lower(),
                    "known_datacenters": str(self._known_datacenters()),
                    "leader": str(bool(self.server and self.server.driver.is_leader)).lower(),
                    "leader_addr": leader,
                    "acl": "disabled",
                } if config.server else {"known_servers": str(self._known_servers())},
                "runtime": {
                    "arch": platform.machine(),
                    "os": sys.platform,
                    "version": platform.python_version(),
                },
                "serf_lan": {
                    "members": str(len(self.lan.members())),
                    "encrypted": str(config.encrypt is not None).lower(),
                },
                **({"serf_wan": {
                    "members": str(len(self.wan.members())),
                    "encrypted": str(config.encrypt is not None).lower(),
                }} if self.wan is not None else {}),
            },
            "Meta": {},
        }

    def _known_datacenters(self):
        members = self.wan.members() if self.wan is not None else ()
        return len({m.tags.get("dc") for m in members if m.tags.get("role") == "consul"} | {self.config.datacenter})

    def _known_servers(self):
        return sum(1 for m in self.alive_members() if m.tags.get("role") == "consul")
