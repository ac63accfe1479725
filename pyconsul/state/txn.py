"""Transactions: a list of KV and catalog operations applied as one.

Every operation runs in order and sees what the ones before it did; each
failure is noted with its position (Consul's ``TxnError``: ``OpIndex`` and
``What``), and if there is any, nothing of the transaction stays: the KV
table undoes its changes, and catalog operations ran on a copy of the
catalog that is dropped. Operations look like Consul's ``api.TxnOp``:
``{"KV": {"Verb", "Key", "Value", "Flags", "Index", "Session"}}``,
``{"Node": {"Verb", "Node": {...}}}``, ``{"Service": {"Verb", "Node",
"Service": {...}}}``, ``{"Check": {"Verb", "Check": {...}}}``.

The same functions answer read-only transactions on any server, without
a log entry (``read``).
"""

import attr

from pyconsul.state.catalog import CatalogError
from pyconsul.state.sessions import Sessions

KV_WRITES = frozenset({"set", "delete", "delete-cas", "delete-tree", "cas", "lock", "unlock"})
CATALOG_WRITES = frozenset({"set", "cas", "delete", "delete-cas"})


class OpFailed(Exception):
    """One operation failed; the message is Consul's."""


def is_write(op):
    if "KV" in op:
        return (op["KV"].get("Verb") or "") in KV_WRITES
    for kind in ("Node", "Service", "Check"):
        if kind in op:
            return (op[kind].get("Verb") or "") in CATALOG_WRITES
    return False


def uses_catalog(ops):
    return any(kind in op for op in ops for kind in ("Node", "Service", "Check"))


class _Run:
    """One transaction's operations against the store (or, for catalog
    writes, against a copy of its catalog)."""

    def __init__(self, store, catalog, index, sessions_exist):
        self.store = store
        self.kv = store.kv
        self.catalog = catalog
        self.index = index
        self.sessions_exist = sessions_exist

    def run(self, ops):
        results, errors = [], []
        for position, op in enumerate(ops):
            try:
                results.extend(self.one(op))
            except (OpFailed, CatalogError) as error:
                errors.append({"OpIndex": position, "What": str(error)})
        return results, errors

    def one(self, op):
        if "KV" in op:
            return self.kv_op(op["KV"])
        if "Node" in op:
            return self.node_op(op["Node"])
        if "Service" in op:
            return self.service_op(op["Service"])
        if "Check" in op:
            return self.check_op(op["Check"])
        raise OpFailed("unknown operation: %s" % sorted(op))

    # -- KV ----------------------------------------------------------------------

    def kv_op(self, op):
        verb, key = op.get("Verb") or "", op.get("Key") or ""
        value, flags, index = op.get("Value"), op.get("Flags") or 0, op.get("Index") or 0
        session = op.get("Session") or ""
        kv = self.kv
        if verb == "set":
            kv.set(self.index, key, value, flags)
        elif verb == "cas":
            if not kv.check_and_set(self.index, key, value, flags, index):
                raise OpFailed('failed to set key "%s", index is stale' % key)
        elif verb == "lock":
            if not session:
                raise OpFailed("missing session")
            if not self.sessions_exist(session):
                raise OpFailed('invalid session "%s"' % session)
            if not kv.lock(self.index, key, value, flags, session):
                raise OpFailed('failed to lock key "%s", lock is already held' % key)
        elif verb == "unlock":
            if not kv.unlock(self.index, key, value, flags, session):
                raise OpFailed('failed to unlock key "%s", lock isn\'t held, or is held by another session' % key)
        elif verb == "delete":
            kv.delete(self.index, key)
            return []
        elif verb == "delete-cas":
            if not kv.delete_cas(self.index, key, index):
                raise OpFailed('failed to delete key "%s", index is stale' % key)
            return []
        elif verb == "delete-tree":
            kv.delete_tree(self.index, key)
            return []
        elif verb == "get":
            entry = self._existing(key)
            return [{"KV": entry}]
        elif verb == "get-or-empty":
            entry = kv.entries.get(key)
            return [] if entry is None else [{"KV": entry}]
        elif verb == "get-tree":
            return [{"KV": entry} for entry in kv.list(key)[1]]
        elif verb == "check-index":
            entry = self._existing(key)
            if entry.modify_index != index:
                raise OpFailed('failed index check for key "%s", current modify index %d != %d'
                               % (key, entry.modify_index, index))
        elif verb == "check-session":
            entry = self._existing(key)
            if (entry.session or "") != session:
                raise OpFailed('failed session check for key "%s", current session "%s" != "%s"'
                               % (key, entry.session or "", session))
        elif verb == "check-not-exists":
            if kv.entries.get(key) is not None:
                raise OpFailed('key "%s" exists' % key)
            return []
        else:
            raise OpFailed('unknown KV verb "%s"' % verb)
        entry = kv.entries.get(key)
        # Writes and checks answer the entry without its value.
        return [] if entry is None else [{"KV": attr.evolve(entry, value=None)}]

    def _existing(self, key):
        entry = self.kv.entries.get(key)
        if entry is None:
            raise OpFailed('key "%s" doesn\'t exist' % key)
        return entry

    # -- catalog ------------------------------------------------------------------

    def node_op(self, op):
        verb, node = op.get("Verb") or "", op.get("Node") or {}
        name = node.get("Node") or ""
        existing = self.catalog.node(name) if name else None
        if verb == "get":
            if existing is None:
                raise OpFailed('node "%s" doesn\'t exist' % name)
            return [{"Node": existing}]
        if verb in ("cas", "delete-cas") and (existing is None or existing["ModifyIndex"] != node.get("ModifyIndex")):
            if not (verb == "cas" and existing is None and not node.get("ModifyIndex")):
                raise OpFailed('failed to %s node "%s", index is stale' % ("set" if verb == "cas" else "delete", name))
        if verb in ("set", "cas"):
            request = {k: node[k] for k in ("ID", "Node", "Address", "Datacenter", "TaggedAddresses") if k in node}
            if "Meta" in node:
                request["NodeMeta"] = node["Meta"]
            self.catalog.register(self.index, request)
            return [{"Node": self.catalog.node(name)}]
        if verb in ("delete", "delete-cas"):
            self.catalog.deregister(self.index, {"Node": name})
            return []
        raise OpFailed('unknown Node verb "%s"' % verb)

    def service_op(self, op):
        verb, node_name, service = op.get("Verb") or "", op.get("Node") or "", op.get("Service") or {}
        service_id = service.get("ID") or service.get("Service") or ""
        existing = self._service(node_name, service_id)
        if verb == "get":
            if existing is None:
                raise OpFailed('service "%s" on node "%s" doesn\'t exist' % (service_id, node_name))
            return [{"Service": existing}]
        if verb in ("cas", "delete-cas") and (existing is None or existing["ModifyIndex"] != service.get("ModifyIndex")):
            if not (verb == "cas" and existing is None and not service.get("ModifyIndex")):
                raise OpFailed('failed to %s service "%s" on node "%s", index is stale'
                               % ("set" if verb == "cas" else "delete", service_id, node_name))
        if verb in ("set", "cas"):
            if self.catalog.node(node_name) is None:
                raise OpFailed("Missing node registration")
            self.catalog.register(self.index, {"Node": node_name, "SkipNodeUpdate": True,
                                               "Service": dict(service, ID=service_id)})
            return [{"Service": self._service(node_name, service_id)}]
        if verb in ("delete", "delete-cas"):
            self.catalog.deregister(self.index, {"Node": node_name, "ServiceID": service_id})
            return []
        raise OpFailed('unknown Service verb "%s"' % verb)

    def _service(self, node_name, service_id):
        return self.catalog.services.get((node_name.lower(), service_id.lower()))

    def check_op(self, op):
        verb, check = op.get("Verb") or "", op.get("Check") or {}
        node_name, check_id = check.get("Node") or "", check.get("CheckID") or ""
        existing = self.catalog.checks.get((node_name.lower(), check_id.lower()))
        if verb == "get":
            if existing is None:
                raise OpFailed('check "%s" on node "%s" doesn\'t exist' % (check_id, node_name))
            return [{"Check": existing}]
        if verb in ("cas", "delete-cas") and (existing is None or existing["ModifyIndex"] != check.get("ModifyIndex")):
            if not (verb == "cas" and existing is None and not check.get("ModifyIndex")):
                raise OpFailed('failed to %s check "%s" on node "%s", index is stale'
                               % ("set" if verb == "cas" else "delete", check_id, node_name))
        if verb in ("set", "cas"):
            if self.catalog.node(node_name) is None:
                raise OpFailed("Missing node registration")
            self.catalog.register(self.index, {"Node": node_name, "SkipNodeUpdate": True, "Checks": [check]})
            return [{"Check": self.catalog.checks.get((node_name.lower(), check_id.lower()))}]
        if verb in ("delete", "delete-cas"):
            self.catalog.deregister(self.index, {"Node": node_name, "CheckID": check_id})
            return []
        raise OpFailed('unknown Check verb "%s"' % verb)


def apply(store, lock_delays, index, ops):
    """Apply a transaction: ``{"Results": [...], "Errors": None}``, or
    ``{"Results": None, "Errors": [...]}`` with nothing changed."""
    catalog = store.catalog.copy() if uses_catalog(ops) else store.catalog
    store.kv.begin()
    run = _Run(store, catalog, index, lambda session: store.sessions.get(session) is not None)
    results, errors = run.run(ops)
    if errors:
        store.kv.rollback()
        return {"Results": None, "Errors": errors}
    store.kv.commit()
    if catalog is not store.catalog:
        store.catalog = catalog
        sessions = Sessions(store, lock_delays)
        for node in sorted(_nodes_of(ops)):
            sessions.revalidate(index, node)
    return {"Results": results, "Errors": None}


def _nodes_of(ops):
    """The nodes a transaction's catalog operations touch."""
    nodes = set()
    for op in ops:
        if "Node" in op:
            nodes.add((op["Node"].get("Node") or {}).get("Node") or "")
        elif "Service" in op:
            nodes.add(op["Service"].get("Node") or "")
        elif "Check" in op:
            nodes.add((op["Check"].get("Check") or {}).get("Node") or "")
    return nodes - {""}


def read(store, ops):
    """A read-only transaction, on this server's store as it is."""
    run = _Run(store, store.catalog, 0, lambda session: store.sessions.get(session) is not None)
    results, errors = run.run(ops)
    if errors:
        return {"Results": None, "Errors": errors}
    return {"Results": results, "Errors": None}
