"""The catalog: nodes, their services and their health checks.

Names are matched without regard to case, as Consul's indexes do, and
listings come out in Consul's order: nodes by name, services and checks by
node and then by ID.

Blocking queries wake only when their answer may have changed. Every write
notes which *views* it touched, and each view keeps the Raft index of its
last change:

- ``("nodes",)``, ``("services",)``, ``("checks",)``: the whole tables
  (catalog/nodes, catalog/services, health/state/any);
- ``("service", name)``: the instances of one service and their nodes, as
  catalog/service shows them (no checks);
- ``("health", name)``: the same plus their checks, as health/service and
  health/checks show them;
- ``("node", name)``: one node and its services (catalog/node);
- ``("node-checks", name)``: one node's checks (health/node);
- ``("state", status)``: the checks in one status (health/state).

So a change to ``db`` never wakes a watcher of ``web``, and a check whose
output changes wakes the health views, not catalog/service. A query's index
is the index of the views it read; a view that does not exist (a service
never registered, or whose last instance left) answers the index of its
table, as Consul does.
"""

from sortedcontainers import SortedDict

from pyconsul.state import records
from pyconsul.state.records import CRITICAL, STATUSES


class CatalogError(Exception):
    """A write the catalog refuses; the message is Consul's."""


MISSING_SERVICE = "Missing service registration"


def _key(name):
    return name.lower()


def _quote(text):
    return '"%s"' % text


class CatalogTable:
    def __init__(self, watches):
        self.watches = watches
        self.nodes = SortedDict()  # node key -> node record
        self.node_ids = {}  # node ID, lower case -> node key
        self.services = SortedDict()  # (node key, service id key) -> service record
        self.checks = SortedDict()  # (node key, check id key) -> check record
        self.by_service_name = {}  # service name key -> {(node key, id key)}
        self.checks_by_service = {}  # (node key, service id key) -> {check id key}
        self.view_index = {}  # view -> Raft index of its last change
        self.table_index = {"nodes": 0, "services": 0, "checks": 0}

    def copy(self):
        """A copy to try writes on (a transaction): records are never
        changed once stored, so copying the containers is enough."""
        other = CatalogTable(self.watches)
        other.nodes = self.nodes.copy()
        other.node_ids = dict(self.node_ids)
        other.services = self.services.copy()
        other.checks = self.checks.copy()
        other.by_service_name = {name: set(keys) for name, keys in self.by_service_name.items()}
        other.checks_by_service = {key: set(ids) for key, ids in self.checks_by_service.items()}
        other.view_index = dict(self.view_index)
        other.table_index = dict(self.table_index)
        return other

    # -- indexes ---------------------------------------------------------------

    def _touch(self, index, *views):
        for view in views:
            self.view_index[view] = index
            self.watches.changed(view)

    def _touch_table(self, index, table):
        self.table_index[table] = index
        self._touch(index, (table,))

    def index_of(self, view, *fallback_tables):
        """The index a query over ``view`` answers."""
        index = self.view_index.get(view)
        if index is None:
            index = max((self.table_index[t] for t in fallback_tables), default=0)
        return max(index, 1)

    @property
    def index(self):
        return max(self.table_index.values())

    # -- reads -----------------------------------------------------------------

    def node(self, name):
        return self.nodes.get(_key(name))

    def node_services(self, name):
        """The node's services, by ID."""
        return [service for _, service in self._services_of(_key(name))]

    def node_checks(self, name):
        return [check for _, check in self._node_check_items(_key(name))]

    def service_instances(self, name):
        """(node record, service record) of every instance of a service."""
        keys = sorted(self.by_service_name.get(_key(name), ()))
        return [(self.nodes[n], self.services[(n, s)]) for n, s in keys]

    def instance_checks(self, node_name, service_id):
        """The node's own checks and the service's checks, by check ID."""
        node = _key(node_name)
        own = self.checks_by_service.get((node, _key(service_id)), ())
        return [
            c for k, c in self._node_check_items(node)
            if not c["ServiceID"] or k[1] in own
        ]

    def _node_check_items(self, node):
        return [(k, self.checks[k]) for k in self.checks.irange((node, ""), (node, "\uffff"))]

    def service_checks(self, name):
        """Every check of every instance of a service."""
        found = []
        for node, service in sorted(self.by_service_name.get(_key(name), ())):
            for check_id in sorted(self.checks_by_service.get((node, service), ())):
                found.append((node, check_id))
        return [self.checks[k] for k in sorted(found)]

    def checks_in_state(self, state):
        if state == "any":
            return list(self.checks.values())
        return [c for c in self.checks.values() if c["Status"] == state]

    def service_names(self):
        """Service name -> its tags, every instance's, each once."""
        names = {}
        for node, service in self.services:
            record = self.services[(node, service)]
            tags = names.setdefault(record["Service"], [])
            for tag in record["Tags"] or ():
                if tag not in tags:
                    tags.append(tag)
        return {name: sorted(tags) for name, tags in sorted(names.items())}

    # -- writes ----------------------------------------------------------------

    def register(self, index, request):
        """A node, with optionally a service and checks, in one step: all of
        it is checked before any of it is stored."""
        node_name = request["Node"]
        node_key = _key(node_name)
        node = records.node_record(request)
        existing_node = self.nodes.get(node_key)
        service = records.service_record(request["Service"]) if request.get("Service") else None
        checks = [records.check_record(c, node_name) for c in request.get("Checks") or ()]
        update_node = existing_node is None or not request.get("SkipNodeUpdate")
        renamed = self._check_node_identity(node) if update_node else None
        for check in checks:
            self._validate_check(node_key, node_name, check, service)
        if renamed is not None:
            self._delete_node(index, renamed)
        if update_node:
            self._ensure_node(index, node_key, node, existing_node)
        if service is not None:
            self._ensure_service(index, node_key, service)
        for check in checks:
            key = (node_key, _key(check["CheckID"]))
            self._store_check(index, key, self.checks.get(key), check)
        return True

    def _check_node_identity(self, node):
        """Consul's rule for node IDs: an ID may not take the name of a
        healthy node that has another ID (a node that lost its data
        directory waits until its old self is seen to fail). Returns the
        key of the node this one renames, if any."""
        if not node["ID"]:
            return None
        renamed = self.node_ids.get(node["ID"].lower())
        if renamed == _key(node["Node"]):
            return None
        other = self.nodes.get(_key(node["Node"]))
        if other is not None and other["ID"] != node["ID"] and (other["ID"] or renamed is not None):
            health = self.checks.get((_key(other["Node"]), _key(records.SERF_CHECK_ID)))
            if health is None or health["Status"] != CRITICAL:
                where = _quote(node["ID"]) + (" (%s)" % node["Address"] if renamed is not None else "")
                raise CatalogError(
                    "failed inserting node: Error while renaming Node ID: %s: Node name %s is reserved by node %s "
                    "with name %s (%s)" % (where, node["Node"], other["ID"], other["Node"], other["Address"])
                )
        return renamed

    def _validate_check(self, node_key, node_name, check, service):
        if _key(check["Node"]) != node_key:
            raise CatalogError('check node "%s" does not match node "%s"' % (check["Node"], node_name))
        if check["Status"] not in STATUSES:
            raise CatalogError("Bad check status")
        service_id = check["ServiceID"]
        if service_id and (service is None or _key(service["ID"]) != _key(service_id)):
            if (node_key, _key(service_id)) not in self.services:
                raise CatalogError('failed inserting check on node "%s": %s' % (node_name, MISSING_SERVICE))

    def _ensure_node(self, index, key, node, existing):
        if existing is not None:
            if records.same(existing, dict(node, CreateIndex=existing["CreateIndex"])):
                return
            node = records.stored(node, existing["CreateIndex"], index)
        else:
            node = records.stored(node, index, index)
        if existing is not None and existing["ID"]:
            self.node_ids.pop(existing["ID"].lower(), None)
        self.nodes[key] = node
        if node["ID"]:
            self.node_ids[node["ID"].lower()] = key
        self._touch_table(index, "nodes")
        self._touch(index, ("node", key))
        # Every instance on the node shows the node's fields.
        for (_, _), service in self._services_of(key):
            self._touch_service_views(index, service["Service"])

    def _services_of(self, node_key):
        return [(k, self.services[k]) for k in self.services.irange((node_key, ""), (node_key, "\uffff"))]

    def _touch_service_views(self, index, name):
        self._touch(index, ("service", _key(name)), ("health", _key(name)))

    def _ensure_service(self, index, node_key, service):
        key = (node_key, _key(service["ID"]))
        existing = self.services.get(key)
        if existing is not None:
            if records.same(existing, service):
                return
            service = records.stored(service, existing["CreateIndex"], index)
            if _key(existing["Service"]) != _key(service["Service"]):
                self._forget_instance(index, key, existing)
        else:
            service = records.stored(service, index, index)
        self.services[key] = service
        self.by_service_name.setdefault(_key(service["Service"]), set()).add(key)
        self._touch_table(index, "services")
        self._touch(index, ("node", node_key))
        self._touch_service_views(index, service["Service"])
        # The service's checks carry its name and tags.
        for check_id in list(self.checks_by_service.get(key, ())):
            check = self.checks[(node_key, check_id)]
            self._store_check(index, (node_key, check_id), check, dict(check))

    def _forget_instance(self, index, key, service):
        name = _key(service["Service"])
        instances = self.by_service_name.get(name)
        if instances is not None:
            instances.discard(key)
            if not instances:
                del self.by_service_name[name]
        self._touch_service_views(index, service["Service"])

    def _store_check(self, index, key, existing, check):
        if check["ServiceID"]:
            service = self.services[(key[0], _key(check["ServiceID"]))]
            check = dict(check, ServiceID=service["ID"], ServiceName=service["Service"], ServiceTags=service["Tags"])
        created = existing["CreateIndex"] if existing is not None else index
        if existing is not None and records.same(existing, dict(check, CreateIndex=created)):
            return
        if existing is not None and existing["ServiceID"] and _key(existing["ServiceID"]) != _key(check["ServiceID"]):
            self._unlink_check(index, key, existing)
        check = records.stored(check, created, index)
        self.checks[key] = check
        self._touch_table(index, "checks")
        self._touch_check_views(index, key[0], existing, check)
        if check["ServiceID"]:
            self.checks_by_service.setdefault((key[0], _key(check["ServiceID"])), set()).add(key[1])

    def _touch_check_views(self, index, node_key, old, new):
        self._touch(index, ("node-checks", node_key), ("state", "any"))
        for check in (old, new):
            if check is None:
                continue
            self._touch(index, ("state", check["Status"]))
            if check["ServiceID"]:
                self._touch(index, ("health", _key(check["ServiceName"])))
            else:
                # A node check is part of every instance on the node.
                for _, service in self._services_of(node_key):
                    self._touch(index, ("health", _key(service["Service"])))

    def _unlink_check(self, index, key, check):
        linked = self.checks_by_service.get((key[0], _key(check["ServiceID"])))
        if linked is not None:
            linked.discard(key[1])
            if not linked:
                del self.checks_by_service[(key[0], _key(check["ServiceID"]))]

    def deregister(self, index, request):
        """A check, a service (with its checks) or a whole node."""
        node_key = _key(request["Node"])
        if node_key not in self.nodes:
            return True
        if request.get("ServiceID"):
            self._delete_service(index, (node_key, _key(request["ServiceID"])))
        elif request.get("CheckID"):
            self._delete_check(index, (node_key, _key(request["CheckID"])))
        else:
            self._delete_node(index, node_key)
        return True

    def _delete_check(self, index, key):
        check = self.checks.pop(key, None)
        if check is None:
            return
        if check["ServiceID"]:
            self._unlink_check(index, key, check)
        self._touch_table(index, "checks")
        self._touch_check_views(index, key[0], check, None)

    def _delete_service(self, index, key):
        service = self.services.get(key)
        if service is None:
            return
        for check_id in sorted(self.checks_by_service.get(key, ())):
            self._delete_check(index, (key[0], check_id))
        del self.services[key]
        self._forget_instance(index, key, service)
        self._touch_table(index, "services")
        self._touch(index, ("node", key[0]))
        self._forget_view(("service", _key(service["Service"])), ("health", _key(service["Service"])))

    def _delete_node(self, index, node_key):
        for key, _ in self._services_of(node_key):
            self._delete_service(index, key)
        for key, _ in self._node_check_items(node_key):
            self._delete_check(index, key)
        node = self.nodes.pop(node_key)
        if node["ID"]:
            self.node_ids.pop(node["ID"].lower(), None)
        self._touch_table(index, "nodes")
        self._touch(index, ("node", node_key), ("node-checks", node_key))
        self.view_index.pop(("node", node_key), None)
        self.view_index.pop(("node-checks", node_key), None)

    def _forget_view(self, *views):
        """A service's views go when its last instance does: its queries
        then answer their table's index (which the deletion just moved)."""
        for view in views:
            if view[1] not in self.by_service_name:
                self.view_index.pop(view, None)

    # -- snapshots ---------------------------------------------------------------

    def snapshot_records(self):
        nodes = list(self.nodes.values())
        services = [(self.nodes[k[0]]["Node"], s) for k, s in self.services.items()]
        checks = list(self.checks.values())
        tables = dict(self.table_index)

        def out():
            yield ["catalog-index", tables]
            for node in nodes:
                yield ["catalog-node", node]
            for node_name, service in services:
                yield ["catalog-service", node_name, service]
            for check in checks:
                yield ["catalog-check", check]

        return out()

    def restore_record(self, record):
        kind = record[0]
        if kind == "catalog-index":
            self.table_index.update(record[1])
        elif kind == "catalog-node":
            node = record[1]
            self.nodes[_key(node["Node"])] = node
            if node["ID"]:
                self.node_ids[node["ID"].lower()] = _key(node["Node"])
        elif kind == "catalog-service":
            node_key, service = _key(record[1]), record[2]
            key = (node_key, _key(service["ID"]))
            self.services[key] = service
            self.by_service_name.setdefault(_key(service["Service"]), set()).add(key)
        elif kind == "catalog-check":
            check = record[1]
            key = (_key(check["Node"]), _key(check["CheckID"]))
            self.checks[key] = check
            if check["ServiceID"]:
                self.checks_by_service.setdefault((key[0], _key(check["ServiceID"])), set()).add(key[1])
        else:
            return False
        return True

    def restored(self):
        """After a restore the views' own indexes are unknown: each answers
        the index of its latest record, which is what changed last."""
        for key, node in self.nodes.items():
            self.view_index[("node", key)] = node["ModifyIndex"]
        for (node_key, _), service in self.services.items():
            for view in (("node", node_key), ("service", _key(service["Service"])), ("health", _key(service["Service"]))):
                self.view_index[view] = max(self.view_index.get(view, 0), service["ModifyIndex"],
                                            self.nodes[node_key]["ModifyIndex"])
        for (node_key, _), check in self.checks.items():
            for view in (("node-checks", node_key), ("state", check["Status"]), ("state", "any")):
                self.view_index[view] = max(self.view_index.get(view, 0), check["ModifyIndex"])
            names = [check["ServiceName"]] if check["ServiceID"] else [s["Service"] for _, s in self._services_of(node_key)]
            for name in names:
                view = ("health", _key(name))
                self.view_index[view] = max(self.view_index.get(view, 0), check["ModifyIndex"])

    def all_views(self):
        return list(self.view_index)
