"""On the leader: the catalog follows what gossip knows about the nodes.

Every member of the datacenter has a node in the catalog with the
``serfHealth`` check: passing while gossip sees it alive, critical ("Agent
not live or unreachable") once it has failed. A member that left, or that
gossip reaped, is deregistered, and so is a node whose ``serfHealth`` check
outlived its member. Servers also carry the ``consul`` service. A new leader
reconciles everything (it may have missed events), then each member event
as it comes, and everything again every minute, as Consul's leader does.
"""

from twisted.internet.task import LoopingCall

from pyconsul.core.serf.events import EventType, MemberEvent
from pyconsul.core.serf.member import MemberStatus
from pyconsul.core.serf.tags import ConsulTags
from pyconsul.logs import Logger
from pyconsul.state import commands
from pyconsul.state.records import (
    CONSUL_SERVICE,
    CRITICAL,
    PASSING,
    SERF_ALIVE_OUTPUT,
    SERF_CHECK_ID,
    SERF_CHECK_NAME,
    SERF_FAILED_OUTPUT,
)

RECONCILE_INTERVAL = 60.0  # Consul's reconcile_interval


def consul_service(member):
    """The ``consul`` service a server member carries (None for a client)."""
    tags = ConsulTags.parse(member.tags)
    if not tags.is_server or tags.server_port is None:
        return None
    pmin, pmax, pcur = member.vsn[:3]
    return {
        "ID": CONSUL_SERVICE,
        "Service": CONSUL_SERVICE,
        "Port": tags.server_port,
        "Weights": {"Passing": 1, "Warning": 1},
        "Meta": {
            "raft_version": member.tags.get("raft_vsn", ""),
            "serf_protocol_current": str(pcur),
            "serf_protocol_min": str(pmin),
            "serf_protocol_max": str(pmax),
            "version": tags.build.partition(":")[0],
            "non_voter": "false",
            "read_replica": "false",
        },
    }


def serf_check(node, status):
    return {
        "Node": node,
        "CheckID": SERF_CHECK_ID,
        "Name": SERF_CHECK_NAME,
        "Status": status,
        "Output": SERF_ALIVE_OUTPUT if status == PASSING else SERF_FAILED_OUTPUT,
    }


class CatalogReconciler:
    log = Logger()

    def __init__(self, datacenter, server, lan, clock):
        self.datacenter = datacenter
        self.server = server
        self.lan = lan
        self.clock = clock
        self._loop = LoopingCall(self.reconcile_all)
        self._loop.clock = clock

    @property
    def catalog(self):
        return self.server.store.catalog

    def start(self):
        self.lan.subscribe(self._on_gossip)
        self.server.leadership_listeners.append(self._leadership)
        self._loop.start(RECONCILE_INTERVAL, now=False)

    def stop(self):
        if self._loop.running:
            self._loop.stop()

    def _leadership(self, leading):
        if not leading:
            return
        # A new leader reads the catalog once it has applied all that its
        # predecessors committed.
        ready = self.server.read_ready("default")
        if ready is None:
            self.reconcile_all()
        else:
            ready.addCallbacks(lambda _: self.reconcile_all(), lambda f: None)

    def _on_gossip(self, event):
        if isinstance(event, MemberEvent) and self.server.driver.is_leader:
            self._apply_all(self.changes_for(event.member, reaped=event.type is EventType.REAP))

    def reconcile_all(self):
        if not self.server.driver.is_leader:
            return
        changes = []
        known = set()
        for member in self.lan.members():
            known.add(member.name.lower())
            changes.extend(self.changes_for(member))
        for node in list(self.catalog.nodes.values()):
            if node["Node"].lower() in known:
                continue
            if self.catalog.checks.get((node["Node"].lower(), SERF_CHECK_ID.lower())) is not None:
                self.log.info("Deregistering {node}: gossip no longer knows it", node=node["Node"])
                changes.append(commands.catalog_deregister({"Node": node["Node"]}))
        self._apply_all(changes)

    def changes_for(self, member, reaped=False):
        """The commands that bring the catalog in line with one member."""
        if member.tags.get("dc", self.datacenter) != self.datacenter:
            return []
        if reaped or member.status in (MemberStatus.LEFT, MemberStatus.NONE):
            if self.catalog.node(member.name) is None:
                return []
            self.log.info("Deregistering {node}: it left", node=member.name)
            return [commands.catalog_deregister({"Node": member.name})]
        if member.status is MemberStatus.FAILED:
            status = CRITICAL
        elif member.status is MemberStatus.ALIVE:
            status = PASSING
        else:
            return []  # leaving: the leave itself will follow
        service = consul_service(member) if status == PASSING else None
        if self._in_line(member, status, service):
            return []
        request = {
            "Datacenter": self.datacenter,
            "Node": member.name,
            "ID": member.tags.get("id", ""),
            "Address": member.addr,
            "Checks": [serf_check(member.name, status)],
        }
        existing = self.catalog.node(member.name)
        if existing is not None:
            # What the node's own agent registered (tagged addresses, meta) stays.
            request["TaggedAddresses"] = existing["TaggedAddresses"]
            request["NodeMeta"] = existing["Meta"]
        if service is not None:
            request["Service"] = service
        return [commands.catalog_register(request)]

    def _in_line(self, member, status, service):
        node = self.catalog.node(member.name)
        if node is None or node["Address"] != member.addr:
            return False
        if service is not None and self.catalog.services.get((member.name.lower(), CONSUL_SERVICE)) is None:
            return False
        check = self.catalog.checks.get((member.name.lower(), SERF_CHECK_ID.lower()))
        return check is not None and check["Status"] == status

    def _apply_all(self, changes):
        for command in changes:
            d = self.server.apply(command)
            d.addCallback(self._refused)
            d.addErrback(lambda failure: self.log.warn(
                "Updating the catalog from gossip failed: {error}", error=failure.value))

    def _refused(self, result):
        if isinstance(result, Exception):
            self.log.warn("The catalog refused an update from gossip: {error}", error=result)
