"""The state store: every replicated table, and the FSM that Raft drives."""

import time

from pyconsul.logs import Logger

from pyconsul.state import commands, queries, txn
from pyconsul.state.catalog import CatalogError, CatalogTable
from pyconsul.state.coordinates import CoordinateTable
from pyconsul.state.kv import KVTable
from pyconsul.state.queries import QueryError, QueryTable
from pyconsul.state.sessions import LockDelays, SessionError, Sessions, SessionTable
from pyconsul.state.watch import WatchRegistry


class WallClock:
    def seconds(self):
        return time.time()


class StateStore:
    """All replicated tables, changed only by :class:`FSM` from the Raft log.

    Readers keep a reference to the store, not to its tables: a snapshot
    restore replaces the tables in place.
    """

    def __init__(self, clock=None):
        self.watches = WatchRegistry()  # KV keys and prefixes
        self.catalog_watches = WatchRegistry()  # catalog and session views
        self.lock_delays = LockDelays(clock or WallClock())
        self.reset()

    def reset(self):
        self.kv = KVTable(self.watches)
        self.catalog = CatalogTable(self.catalog_watches)
        self.sessions = SessionTable(self.catalog_watches)
        self.coordinates = CoordinateTable(self.catalog_watches)  # network coordinates
        self.queries = QueryTable(self.catalog_watches)  # prepared queries
        self.last_applied = 0

    def tables(self):
        return [self.kv, self.catalog, self.sessions, self.coordinates, self.queries]

    def all_keys(self):
        return list(self.kv.entries)


class CommandFailed:
    """The result of a log entry that could not be applied."""

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return "CommandFailed(%r)" % (self.reason,)


class FSM:
    """Applies committed log entries to the state store.

    ``apply`` returns the command's result (what the HTTP API answers). A
    command this version does not understand is logged and skipped: every
    server must keep applying the log in order, whatever it holds.
    """

    log = Logger()

    def __init__(self, store=None, clock=None):
        self.store = store if store is not None else StateStore(clock)
        # Called with the index of each command that left tombstones; the
        # leader's tombstone GC uses it to reap them later.
        self.on_tombstone = lambda index: None

    def _handler(self, name):
        store = self.store
        kv, catalog = store.kv, store.catalog
        sessions = Sessions(store, store.lock_delays)
        return {
            "catalog-register": lambda index, request: self._catalog_write(catalog.register, index, request),
            "catalog-deregister": lambda index, request: self._catalog_write(catalog.deregister, index, request),
            "kv-set": kv.set,
            "kv-cas": kv.check_and_set,
            "kv-lock": self._kv_lock,
            "kv-unlock": self._kv_unlock,
            "kv-delete": kv.delete,
            "kv-delete-cas": kv.delete_cas,
            "kv-delete-tree": kv.delete_tree,
            "tombstone-reap": kv.reap_tombstones,
            "session-create": sessions.create,
            "session-destroy": sessions.destroy,
            "txn": lambda index, ops: txn.apply(store, store.lock_delays, index, ops),
            "coordinate-batch-update": lambda index, updates: store.coordinates.batch_update(
                index, updates, store.catalog),
            "prepared-query": lambda index, request: queries.apply(store, index, request),
        }.get(name)

    def _catalog_write(self, write, index, request):
        """A catalog write, then the end of the node's sessions it broke
        (a check turned critical or gone, the node deregistered)."""
        result = write(index, request)
        Sessions(self.store, self.store.lock_delays).revalidate(index, request["Node"])
        return result

    def _prune_coordinates(self, index):
        """A node gone from the catalog takes its coordinates with it."""
        if self.store.catalog.table_index["nodes"] == index:
            self.store.coordinates.prune(index, self.store.catalog)

    def _kv_unlock(self, index, key, value, flags, session):
        if not session:
            raise SessionError("missing session")
        return self.store.kv.unlock(index, key, value, flags, session)

    def _kv_lock(self, index, key, value, flags, session):
        try:
            txn.check_session(self.store.sessions, session)
        except txn.OpFailed as refused:
            raise SessionError(str(refused))
        return self.store.kv.lock(index, key, value, flags, session)

    def apply(self, index, data):
        self.store.last_applied = index
        try:
            name, args = commands.decode(data)
        except commands.CommandError as e:
            return self._skip(index, e)
        handler = self._handler(name)
        if handler is None:
            return self._skip(index, "unknown command %r" % (name,))
        tombstones_before = self.store.kv.tombstones_index
        try:
            result = handler(index, *args)
        except (CatalogError, SessionError, QueryError) as e:
            return e  # refused as a whole: the caller is told why
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            return self._skip(index, e)
        if name in ("catalog-register", "catalog-deregister", "txn"):
            self._prune_coordinates(index)
        if self.store.kv.tombstones_index > tombstones_before and name != "tombstone-reap":
            self.on_tombstone(index)
        return result

    def _skip(self, index, error):
        self.log.error("Skipping log entry {index}: {error}", index=index, error=error)
        return CommandFailed("log entry %d: %s" % (index, error))

    def applied(self, index):
        """Entries without a command (no-ops, configurations) still move the
        applied index, so reads know how current the store is."""
        self.store.last_applied = index

    def notify(self):
        """Wake blocking queries for everything applied since the last call."""
        self.store.watches.fire()
        self.store.catalog_watches.fire()

    def snapshot(self):
        """A consistent, already-copied view of every table, as records."""
        views = [table.snapshot_records() for table in self.store.tables()]
        applied = self.store.last_applied

        def records():
            yield ["applied", applied]
            for view in views:
                yield from view

        return records()

    def restore(self, records):
        """Replace every table with a snapshot's contents."""
        before = self.store.all_keys()
        catalog_before = (self.store.catalog.all_views() + Sessions(self.store, None).all_views()
                          + self.store.queries.all_views())
        coordinate_views = self.store.coordinates.all_views()
        self.store.reset()
        for record in records:
            if record[0] == "applied":
                self.store.last_applied = record[1]
            elif not any(table.restore_record(record) for table in self.store.tables()):
                raise ValueError("unknown snapshot record %r" % (record[0],))
        self.store.catalog.restored()
        for view in coordinate_views + self.store.coordinates.all_views():
            self.store.catalog_watches.changed(view)
        # Anything may have changed: wake every blocking query.
        for key in before + self.store.all_keys():
            self.store.watches.changed(key)
        after = self.store.catalog.all_views() + Sessions(self.store, None).all_views() + self.store.queries.all_views()
        for view in catalog_before + after:
            self.store.catalog_watches.changed(view)
