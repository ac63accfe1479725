"""Transactions: a list of KV and catalog operations applied as one.

Every operation runs in order and sees what the ones before it did (a
catalog write that breaks a session ends it there and then); each failure
is noted with its position (Consul's ``TxnError``: ``OpIndex`` and
``What``), and if there is any, nothing of the transaction stays: the KV
table undoes its changes, catalog and session writes ran on copies that
are dropped, lock-delays are only started on success, and no blocking
query is woken. Operations look like Consul's ``api.TxnOp``:
``{"KV": {"Verb", "Key", "Value", "Flags", "Index", "Session"}}``,
``{"Node": {"Verb", "Node": {...}}}``, ``{"Service": {"Verb", "Node",
"Service": {...}}}``, ``{"Check": {"Verb", "Check": {...}}}``.

The same functions answer read-only transactions on any server, without
a log entry (``read``).
"""

import attr

from pyconsul.state.catalog import CatalogError
from pyconsul.state.kv import DirEntry
from pyconsul.state.sessions import Sessions, uuid_problem

KV_WRITES = frozenset({"set", "delete", "delete-cas", "delete-tree", "cas", "lock", "unlock"})
CATALOG_WRITES = frozenset({"set", "cas", "delete", "delete-cas"})


class OpFailed(Exception):
    """One operation failed; the message is Consul's."""


def is_write(op):
    if "KV" in op:
        return (op["KV"].get("Verb") or "") in KV_WRITES
    for kind in ("Node", "Service", "Check"):
        if kind in op:
            return (op[kind].get("Verb") or "") != "get"  # Consul: anything but get writes
    return False


def uses_catalog(ops):
    return any(kind in op for op in ops for kind in ("Node", "Service", "Check"))


class _View:
    """The tables a transaction works on: the store's KV table (which can
    undo), and the catalog and sessions themselves or copies of them."""

    def __init__(self, store, copy):
        self.kv = store.kv
        self.catalog = store.catalog.copy() if copy else store.catalog
        self.sessions = store.sessions.copy() if copy else store.sessions
        self.queries = store.queries.copy() if copy else store.queries


class _DeferredDelays:
    """Lock-delays to start only if the transaction commits."""

    def __init__(self):
        self.started = []

    def start(self, key, seconds):
        self.started.append((key, seconds))


class _Run:
    """One transaction's operations against a view of the store."""

    def __init__(self, view, index, delays=None):
        self.view = view
        self.kv = view.kv
        self.catalog = view.catalog
        self.index = index
        self.sessions = Sessions(view, delays or _DeferredDelays())

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
        raise OpFailed("no operation specified")

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
            check_session(self.view.sessions, session)
            if not kv.lock(self.index, key, value, flags, session):
                raise OpFailed('failed to lock key "%s", lock is already held' % key)
        elif verb == "unlock":
            if not session:
                raise OpFailed("missing session")
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
            # Newer Consul's verb (1.14): a missing key answers the
            # operation's own entry, with no value.
            entry = kv.entries.get(key)
            if entry is None:
                entry = kv_entry_of(op)
            return [{"KV": entry}]
        elif verb == "get-tree":
            return [{"KV": entry} for entry in kv.list(key)[1]]
        elif verb == "check-index":
            entry = self._existing(key, "failed to check index, ")
            if entry.modify_index != index:
                raise OpFailed('failed index check for key "%s", current modify index %d != %d'
                               % (key, entry.modify_index, index))
        elif verb == "check-session":
            entry = self._existing(key, "failed to check session, ")
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

    def _existing(self, key, context=""):
        entry = self.kv.entries.get(key)
        if entry is None:
            raise OpFailed('%skey "%s" doesn\'t exist' % (context, key))
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
            self._catalog_write(self.catalog.register, request)
            return [{"Node": self.catalog.node(name)}]
        if verb in ("delete", "delete-cas"):
            self._catalog_write(self.catalog.deregister, {"Node": name})
            return []
        raise OpFailed('unknown Node verb "%s"' % verb)

    def service_op(self, op):
        verb, node_name, service = op.get("Verb") or "", op.get("Node") or "", op.get("Service") or {}
        # Writes name a service by its name when it has no ID; reads do not.
        service_id = service.get("ID") or ("" if verb == "get" else service.get("Service") or "")
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
            # The request's own Weights, zero if it gave none (as Consul copies them).
            record = dict(service, ID=service_id, Weights=service.get("Weights") or {"Passing": 0, "Warning": 0})
            self._catalog_write(self.catalog.register, {"Node": node_name, "SkipNodeUpdate": True, "Service": record})
            return [{"Service": self._service(node_name, service_id)}]
        if verb in ("delete", "delete-cas"):
            self._catalog_write(self.catalog.deregister, {"Node": node_name, "ServiceID": service_id})
            return []
        raise OpFailed('unknown Service verb "%s"' % verb)

    def _catalog_write(self, write, request):
        """A catalog write, then the end of the sessions it broke: later
        operations see them gone."""
        write(self.index, request)
        self.sessions.revalidate(self.index, request["Node"])

    def _service(self, node_name, service_id):
        return self.catalog.services.get((node_name.lower(), service_id.lower()))

    def check_op(self, op):
        verb, check = op.get("Verb") or "", dict(op.get("Check") or {})
        node_name = check.get("Node") or ""
        check_id = check["CheckID"] = check.get("CheckID") or check.get("Name") or ""
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
            if check.get("ServiceID") and self._service(node_name, check["ServiceID"]) is None:
                raise OpFailed("Missing service registration")
            self._catalog_write(self.catalog.register, {"Node": node_name, "SkipNodeUpdate": True, "Checks": [check]})
            return [{"Check": self.catalog.checks.get((node_name.lower(), check_id.lower()))}]
        if verb in ("delete", "delete-cas"):
            self._catalog_write(self.catalog.deregister, {"Node": node_name, "CheckID": check_id})
            return []
        raise OpFailed('unknown Check verb "%s"' % verb)


def check_session(sessions, session):
    """What Consul's kvsLockTxn asks of the session taking a lock."""
    if not session:
        raise OpFailed("missing session")
    problem = uuid_problem(session)
    if problem is not None:
        raise OpFailed("failed session lookup: %s" % problem)
    if sessions.get(session) is None:
        raise OpFailed('invalid session "%s"' % session)


def kv_entry_of(op):
    return DirEntry(key=op.get("Key") or "", value=None, flags=op.get("Flags") or 0,
                    session=op.get("Session") or None)


def apply(store, lock_delays, index, ops):
    """Apply a transaction: ``{"Results": [...], "Errors": None}``, or
    ``{"Results": None, "Errors": [...]}`` with nothing changed."""
    view = _View(store, copy=uses_catalog(ops))
    pending = (store.watches.pending(), store.catalog_watches.pending())
    delays = _DeferredDelays()
    store.kv.begin()
    results, errors = _Run(view, index, delays).run(ops)
    if errors:
        store.kv.rollback()
        store.watches.restore_pending(pending[0])
        store.catalog_watches.restore_pending(pending[1])
        return {"Results": None, "Errors": errors}
    store.kv.commit()
    store.catalog, store.sessions, store.queries = view.catalog, view.sessions, view.queries
    for key, seconds in delays.started:
        lock_delays.start(key, seconds)
    return {"Results": results, "Errors": None}


def read(store, ops):
    """A read-only transaction, on this server's store as it is."""
    results, errors = _Run(_View(store, copy=False), 0).run(ops)
    if errors:
        return {"Results": None, "Errors": errors}
    return {"Results": results, "Errors": None}
