"""The agent's own services and checks, and whether the catalog has them.

Agents own what they register: the catalog copy of a node's services and
checks is kept in line with the agent's by anti-entropy (Consul's
agent/local). Each entry knows whether the catalog is known to hold it
("in sync"); a local change marks it out of sync and asks for a sync.

A sync has two halves. :meth:`LocalState.refresh` reads what the catalog
holds for this node and marks every entry accordingly: what the catalog has
that the agent does not is to be deregistered, what differs is to be
registered again (someone changed the catalog behind the agent's back, or
the servers lost their data). :meth:`LocalState.push` then sends the
changes. A full sync is both; a change made here needs only the push.

Output-only changes of a check are not pushed at once: a check whose
status stays the same but whose output changes on every run would
otherwise write to Raft on every run. They wait ``check_update_interval``
(Consul's rate limit), then go out.
"""

import attr
from twisted.internet.defer import inlineCallbacks

from pyconsul.logs import Logger
from pyconsul.state.records import CONSUL_SERVICE, SERF_CHECK_ID, same

NODE_FIELDS = ("ID", "Address", "TaggedAddresses", "Meta")


@attr.s
class Entry:
    record: dict = attr.ib()  # a NodeService or HealthCheck record, catalog shape
    token: str = attr.ib(default="")
    in_sync: bool = attr.ib(default=False)
    deleted: bool = attr.ib(default=False)
    deferred: object = attr.ib(default=None)  # the timer of a deferred output-only update


def _same_record(local, remote):
    """Whether the catalog's copy says what ours says (its indexes aside)."""
    ours = {k: v for k, v in local.items() if k not in ("CreateIndex", "ModifyIndex")}
    return same(remote, dict(ours, CreateIndex=remote.get("CreateIndex"), ModifyIndex=remote.get("ModifyIndex")))


class LocalState:
    log = Logger()

    def __init__(self, node, rpc, clock, rng, check_update_interval=300.0, on_change=lambda: None):
        self.node = node  # () -> this node's register fields: Node, ID, Address, TaggedAddresses, NodeMeta
        self.rpc = rpc
        self.clock = clock
        self.rng = rng
        self.check_update_interval = check_update_interval
        self.on_change = on_change  # asks anti-entropy for a push
        self.services = {}  # service ID -> Entry
        self.checks = {}  # check ID -> Entry
        self.node_in_sync = False

    # -- local changes -------------------------------------------------------------

    def add_service(self, record, token=""):
        self.services[record["ID"]] = Entry(record, token)
        self.on_change()

    def remove_service(self, service_id):
        """Forget a service and its checks; False if there was none."""
        entry = self.services.get(service_id)
        if entry is None or entry.deleted:
            return False
        entry.deleted, entry.in_sync = True, False
        for check_id, check in self.checks.items():
            if check.record["ServiceID"] == service_id and not check.deleted:
                self._forget_check(check)
        self.on_change()
        return True

    def add_check(self, record, token=""):
        old = self.checks.get(record["CheckID"])
        if old is not None and old.deferred is not None and old.deferred.active():
            old.deferred.cancel()
        self.checks[record["CheckID"]] = Entry(record, token)
        self.on_change()

    def remove_check(self, check_id):
        entry = self.checks.get(check_id)
        if entry is None or entry.deleted:
            return False
        self._forget_check(entry)
        self.on_change()
        return True

    def _forget_check(self, entry):
        entry.deleted, entry.in_sync = True, False
        if entry.deferred is not None and entry.deferred.active():
            entry.deferred.cancel()

    def update_check(self, check_id, status, output):
        """A check's new result; False if the check is unknown."""
        entry = self.checks.get(check_id)
        if entry is None or entry.deleted:
            return False
        record = entry.record
        if record["Status"] == status and record["Output"] == output:
            return True
        entry.record = dict(record, Status=status, Output=output)
        if record["Status"] == status and self.check_update_interval > 0:
            if entry.deferred is None or not entry.deferred.active():
                # Staggered, so that many checks do not all flush together.
                delay = self.check_update_interval * (0.5 + self.rng.random() / 2)
                entry.deferred = self.clock.callLater(delay, self._flush_deferred, check_id)
            return True
        if entry.deferred is not None and entry.deferred.active():
            entry.deferred.cancel()
        entry.in_sync = False
        self.on_change()
        return True

    def _flush_deferred(self, check_id):
        entry = self.checks.get(check_id)
        if entry is not None and not entry.deleted:
            entry.in_sync = False
            self.on_change()

    def live_services(self):
        return {sid: e.record for sid, e in self.services.items() if not e.deleted}

    def live_checks(self):
        return {cid: e.record for cid, e in self.checks.items() if not e.deleted}

    # -- syncing -------------------------------------------------------------------

    @inlineCallbacks
    def refresh(self):
        """Mark each entry against what the catalog holds for this node."""
        node = self.node()
        options = {"Datacenter": None, "QueryOptions": {}}
        reply = yield self.rpc.call("Catalog.NodeServices", dict(options, Node=node["Node"]))
        checks_reply = yield self.rpc.call("Health.NodeChecks", dict(options, Node=node["Node"]))
        found = reply["NodeServices"]
        remote_node = found["Node"] if found else None
        remote_services = found["Services"] if found else {}
        self.node_in_sync = remote_node is not None and all(
            remote_node.get(field) == node.get("NodeMeta" if field == "Meta" else field) for field in NODE_FIELDS)
        for service_id, service in remote_services.items():
            if service_id not in self.services and service["Service"] != CONSUL_SERVICE:
                self.services[service_id] = Entry(service, deleted=True)
        for service_id, entry in self.services.items():
            remote = remote_services.get(service_id)
            if entry.deleted:
                entry.in_sync = remote is None
            else:
                entry.in_sync = remote is not None and _same_record(entry.record, remote)
        remote_checks = {c["CheckID"]: c for c in checks_reply["HealthChecks"]}
        for check_id, check in remote_checks.items():
            if check_id not in self.checks and check_id != SERF_CHECK_ID:
                self.checks[check_id] = Entry(check, deleted=True)
        for check_id, entry in self.checks.items():
            remote = remote_checks.get(check_id)
            if entry.deleted:
                entry.in_sync = remote is None
            elif remote is None:
                entry.in_sync = False
            elif entry.deferred is not None and entry.deferred.active():
                # An output-only change is waiting: the rest must match.
                entry.in_sync = _same_record(dict(entry.record, Output=remote["Output"]), remote)
            else:
                entry.in_sync = _same_record(entry.record, remote)

    @inlineCallbacks
    def push(self):
        """Send what is out of sync: deregistrations first, then services
        (with their checks), then lone checks, then the node itself."""
        # Every write yields, and the agent's API may change an entry
        # meanwhile (a service deregistered while its registration is on its
        # way): an entry is marked in sync, or forgotten, only if it is
        # still what was sent. Anything else stays for the next push, which
        # the change itself asked for.
        node = self.node()
        for service_id, entry in list(self.services.items()):
            if entry.deleted and not entry.in_sync:
                yield self._write("Catalog.Deregister", {"Node": node["Node"], "ServiceID": service_id}, entry.token)
                if self.services.get(service_id) is entry:
                    del self.services[service_id]
        for check_id, entry in list(self.checks.items()):
            if entry.deleted and not entry.in_sync:
                yield self._write("Catalog.Deregister", {"Node": node["Node"], "CheckID": check_id}, entry.token)
                if self.checks.get(check_id) is entry:
                    del self.checks[check_id]
        for service_id, entry in list(self.services.items()):
            if entry.in_sync or entry.deleted:
                continue
            checks = [c for c in self.checks.values() if c.record["ServiceID"] == service_id and not c.deleted]
            sent = [(entry, entry.record)] + [(c, c.record) for c in checks]
            request = self._register(node, service=entry.record, checks=[c.record for c in checks])
            yield self._write("Catalog.Register", request, entry.token)
            _mark_in_sync(sent)
            self.node_in_sync = True
        for check_id, entry in list(self.checks.items()):
            if entry.in_sync or entry.deleted:
                continue
            service = self.services.get(entry.record["ServiceID"])
            record = entry.record
            request = self._register(node, service=service.record if service else None, checks=[record])
            yield self._write("Catalog.Register", request, entry.token)
            _mark_in_sync([(entry, record)])
            self.node_in_sync = True
        if not self.node_in_sync:
            yield self._write("Catalog.Register", self._register(node), "")
            self.node_in_sync = True

    def _register(self, node, service=None, checks=()):
        request = {
            "Datacenter": node.get("Datacenter"),
            "Node": node["Node"],
            "ID": node["ID"],
            "Address": node["Address"],
            "TaggedAddresses": node["TaggedAddresses"],
            "NodeMeta": node["NodeMeta"],
            # Only a sync that finds the node out of date rewrites it.
            "SkipNodeUpdate": self.node_in_sync,
        }
        if service is not None:
            request["Service"] = service
        if checks:
            request["Checks"] = list(checks)
        return request

    def _write(self, method, args, token):
        if token:
            args = dict(args, Token=token)
        return self.rpc.call(method, args)

    def in_sync(self):
        return self.node_in_sync and all(e.in_sync for e in (*self.services.values(), *self.checks.values()))


def _mark_in_sync(sent):
    """After a registration: each (entry, record it sent) is in sync unless
    the entry was removed or given another record while the write was out."""
    for entry, record in sent:
        if not entry.deleted and entry.record is record:
            entry.in_sync = True
