"""Which servers make up the Raft cluster, decided from what gossip sees.

Servers advertise themselves in their gossip tags (role "consul", their RPC
port, their node ID, and with -bootstrap-expect the number they expect).
A server started with -bootstrap-expect N bootstraps once it sees N servers
of its datacenter that expect the same N, and only if it has no Raft state
yet: every one of them derives the same first configuration from the same
members, so they agree without talking. After that the leader keeps the
configuration in step with gossip: it adds servers that join, removes those
that leave, and removes those that have failed for a while (as Consul's
autopilot does), never so many that the rest lose their quorum.
"""

from twisted.internet.task import LoopingCall

from pyconsul.core.raft import (
    Configuration,
    ConfigurationChangeInProgress,
    LeadershipTransferInProgress,
    NotLeader,
    Server,
)
from pyconsul.core.serf.events import MemberEvent
from pyconsul.core.serf.member import MemberStatus
from pyconsul.logs import Logger

RECONCILE_INTERVAL = 5.0
STABILIZATION_TIME = 10.0  # autopilot's server_stabilization_time


def server_of(member, datacenter):
    """(node ID, RPC address) of a server member of ``datacenter``, or None."""
    tags = member.tags
    if tags.get("role") != "consul" or tags.get("dc") != datacenter:
        return None
    node_id, port = tags.get("id"), tags.get("port", "")
    if not node_id or not port.isdigit():
        return None
    host = "[%s]" % member.addr if ":" in member.addr else member.addr
    return node_id, "%s:%s" % (host, port)


class ServerMembership:
    log = Logger()

    def __init__(self, config, driver, lan, clock):
        self.config = config
        self.driver = driver
        self.lan = lan
        self.clock = clock
        self.failed_since = {}  # node ID -> when gossip first saw it failed
        self._changing = False
        self._loop = LoopingCall(self._reconcile_logging_errors)
        self._loop.clock = clock

    def start(self):
        self.lan.subscribe(self._on_gossip)
        self._loop.start(RECONCILE_INTERVAL, now=False)
        self.maybe_bootstrap()

    def stop(self):
        if self._loop.running:
            self._loop.stop()

    def _reconcile_logging_errors(self):
        # A bug here must not stop the periodic reconciliation for good.
        try:
            self.reconcile()
        except Exception:
            self.log.failure("Reconciling the Raft configuration with gossip failed")

    def _on_gossip(self, event):
        if isinstance(event, MemberEvent):
            for node_id, (address, _, _) in self.servers().items():
                self.driver.learn_address(node_id, address)
            self.maybe_bootstrap()
            self._reconcile_logging_errors()

    def servers(self):
        """{node ID: (address, status)} of the servers of our datacenter."""
        found = {}
        for member in self.lan.members():
            server = server_of(member, self.config.datacenter)
            if server is not None:
                found[server[0]] = (server[1], member.status, member.tags)
        return found

    # -- bootstrap --------------------------------------------------------------

    def maybe_bootstrap(self):
        expect = self.config.bootstrap_expect
        if not expect or not self.driver.can_bootstrap():
            return
        alive = {
            node_id: (address, tags)
            for node_id, (address, status, tags) in self.servers().items()
            if status is MemberStatus.ALIVE
        }
        mismatched = [i for i, (_, tags) in alive.items() if tags.get("expect", str(expect)) != str(expect)]
        if mismatched:
            self.log.error(
                "Not bootstrapping: servers disagree on bootstrap_expect (this one expects {n})", n=expect
            )
            return
        if len(alive) < expect:
            self.log.info(
                "Waiting for {n} servers to bootstrap; {seen} seen so far", n=expect, seen=len(alive)
            )
            return
        configuration = Configuration(Server(i, address) for i, (address, _) in sorted(alive.items()))
        self.log.info(
            "Bootstrapping the cluster with {n} servers: {addresses}",
            n=len(alive),
            addresses=", ".join(s.address for s in configuration.servers),
        )
        self.driver.bootstrap_cluster(configuration)

    # -- the leader's reconciliation -----------------------------------------------

    def reconcile(self):
        """On the leader: one step towards the configuration gossip implies."""
        if not self.driver.is_leader:
            # What we saw while leading before says nothing about now.
            self.failed_since.clear()
            return
        if self._changing:
            return
        servers = self.servers()
        now = self.clock.seconds()
        current = self.driver.configuration()
        in_raft = {s.id for s in current.servers}
        # A server this leader's gossip does not know (yet: a leader that
        # just restarted has not heard from everyone) counts as failed, not
        # as gone: only the stabilization time tells.
        status_of = {i: servers[i][1] if i in servers else MemberStatus.NONE for i in in_raft}
        for node_id in list(self.failed_since):
            if node_id not in in_raft:
                del self.failed_since[node_id]
        for node_id, status in status_of.items():
            if status in (MemberStatus.FAILED, MemberStatus.NONE):
                self.failed_since.setdefault(node_id, now)
            else:
                self.failed_since.pop(node_id, None)
        # Add one server that gossip sees alive and Raft does not know.
        for node_id, (address, status, _) in sorted(servers.items()):
            if status is MemberStatus.ALIVE and node_id not in in_raft:
                return self._change("Adding server {id} ({address})", node_id, address,
                                    lambda: self.driver.add_server(node_id, address))
        # Remove one server that left, or failed long enough ago.
        voters = current.voters
        alive_voters = {i for i in voters if servers.get(i, (None, None))[1] is MemberStatus.ALIVE}
        for server in current.servers:
            if server.id == self.driver.node_id:
                continue
            gone = status_of[server.id] is MemberStatus.LEFT or (
                server.id in self.failed_since
                and now - self.failed_since[server.id] >= STABILIZATION_TIME
            )
            if not gone:
                continue
            remaining = voters - {server.id}
            if len(alive_voters & remaining) < len(remaining) // 2 + 1:
                continue  # removing it would leave the rest without a quorum
            return self._change("Removing server {id} ({address})", server.id, server.address,
                                lambda: self.driver.remove_server(server.id))
        return None

    def _change(self, message, node_id, address, change):
        try:
            d = change()
        except (ConfigurationChangeInProgress, LeadershipTransferInProgress, NotLeader, ValueError) as e:
            # Routine right after an election or during a hand-over: the
            # next reconciliation tries again.
            self.log.debug("Raft configuration change postponed: {error}", error=e)
            return None
        self.log.info(message, id=node_id, address=address)
        self._changing = True

        def done(result):
            self._changing = False
            return result

        def failed(failure):
            self.log.warn("Raft configuration change failed: {error}", error=failure.value)

        d.addBoth(done)
        d.addErrback(failed)
        return d
