"""The durable Raft log and stable store: one SQLite database in WAL mode.

SQLite gives us atomic multi-row commits and crash recovery for free; one
transaction per batch means one fsync of the WAL per batch (group commit).
Two connections keep the threads apart: the writer connection is used only
by ``write``/``compact`` (which the driver runs in a worker thread), the
reader connection only by the read side in the reactor thread. The read side's
notion of what is stored (last index, compaction boundary, cached recent
entries) changes only in ``written``/``compacted``, on the reactor thread.
"""

import os
import sqlite3

import msgpack

from pyconsul.core.raft import Configuration, Entry, EntryType, HardState, SnapshotMeta

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    idx INTEGER PRIMARY KEY,
    term INTEGER NOT NULL,
    type INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_configurations ON log (idx) WHERE type = 2;
CREATE TABLE IF NOT EXISTS stable (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


class StorageError(Exception):
    """The data directory holds something we cannot use."""


def _pack_hard_state(state):
    return msgpack.packb([state.term, state.vote, state.commit])


def _unpack_hard_state(blob):
    term, vote, commit = msgpack.unpackb(blob)
    return HardState(term, vote, commit)


def pack_snapshot_meta(meta):
    return msgpack.packb([meta.index, meta.term, meta.configuration.encode()])


def unpack_snapshot_meta(blob):
    index, term, configuration = msgpack.unpackb(blob)
    return SnapshotMeta(index, term, Configuration.decode(configuration))


class SQLiteLogStore:
    def __init__(self, path, cache_entries=8192):
        self.path = path
        try:
            self._writer = self._connect(path)
            self._writer.executescript(SCHEMA)
            self._reader = self._connect(path)
        except sqlite3.DatabaseError as e:
            raise StorageError("cannot open the Raft log %s: %s" % (path, e)) from e
        self._cache_entries = cache_entries
        self._cache = {}
        self._hard_state = self._load("hard_state", _unpack_hard_state, HardState())
        self._snapshot = self._load("snapshot", unpack_snapshot_meta, SnapshotMeta())
        self._boundary = tuple(self._load("boundary", msgpack.unpackb, (0, 0)))
        (last,) = self._reader.execute("SELECT max(idx) FROM log").fetchone()
        self._last_index = last if last is not None else self._boundary[0]

    @staticmethod
    def _connect(path):
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _load(self, key, decode, default):
        row = self._reader.execute("SELECT value FROM stable WHERE key = ?", (key,)).fetchone()
        return default if row is None else decode(row[0])

    # -- read side (reactor thread) --------------------------------------------

    def initial_state(self):
        return self._hard_state

    def snapshot_meta(self):
        return self._snapshot

    def first_index(self):
        return self._boundary[0] + 1

    def last_index(self):
        return self._last_index

    def term(self, index):
        if index == self._boundary[0]:
            return self._boundary[1]
        cached = self._cache.get(index)
        if cached is not None:
            return cached.term
        row = self._reader.execute("SELECT term FROM log WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise StorageError("Raft log entry %d is missing from %s" % (index, self.path))
        return row[0]

    def entries(self, lo, hi):
        if lo >= hi:
            return []
        if lo in self._cache and hi - 1 in self._cache:
            return [self._cache[i] for i in range(lo, hi)]
        rows = self._reader.execute(
            "SELECT idx, term, type, data FROM log WHERE idx >= ? AND idx < ? ORDER BY idx",
            (lo, hi),
        ).fetchall()
        if len(rows) != hi - lo:
            raise StorageError("Raft log entries %d-%d are missing from %s" % (lo, hi - 1, self.path))
        return [Entry(i, t, EntryType(k), bytes(d)) for i, t, k, d in rows]

    def configuration_entries(self):
        rows = self._reader.execute(
            "SELECT idx, term, type, data FROM log WHERE type = 2 ORDER BY idx"
        ).fetchall()
        return [Entry(i, t, EntryType(k), bytes(d)) for i, t, k, d in rows]

    # -- write side --------------------------------------------------------------

    def write(self, batch):
        """Make ``batch`` durable (worker thread)."""
        sync = "FULL" if batch.needs_sync(self._hard_state) else "NORMAL"
        db = self._writer
        db.execute("PRAGMA synchronous=%s" % sync)
        db.execute("BEGIN IMMEDIATE")
        try:
            if batch.snapshot is not None:
                meta = batch.snapshot
                db.execute("DELETE FROM log")
                self._put(db, "snapshot", pack_snapshot_meta(meta))
                self._put(db, "boundary", msgpack.packb([meta.index, meta.term]))
            if batch.entries:
                db.execute("DELETE FROM log WHERE idx >= ?", (batch.entries[0].index,))
                db.executemany(
                    "INSERT INTO log (idx, term, type, data) VALUES (?, ?, ?, ?)",
                    [(e.index, e.term, int(e.type), e.data) for e in batch.entries],
                )
            if batch.hard_state is not None:
                self._put(db, "hard_state", _pack_hard_state(batch.hard_state))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _put(db, key, value):
        db.execute(
            "INSERT INTO stable (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def written(self, batch):
        """``batch`` is durable: let the read side see it (reactor thread)."""
        if batch.snapshot is not None:
            self._snapshot = batch.snapshot
            self._boundary = (batch.snapshot.index, batch.snapshot.term)
            self._cache = {}
            self._last_index = batch.snapshot.index
        if batch.entries:
            first = batch.entries[0].index
            for index in range(first, self._last_index + 1):
                self._cache.pop(index, None)
            for entry in batch.entries:
                self._cache[entry.index] = entry
            self._last_index = batch.entries[-1].index
            # The cache holds the newest entries, a contiguous run of
            # indexes: trim it from its oldest end.
            oldest = self._last_index - len(self._cache) + 1
            while len(self._cache) > self._cache_entries:
                self._cache.pop(oldest, None)
                oldest += 1
        if batch.hard_state is not None:
            self._hard_state = batch.hard_state

    def compacted(self, meta, keep_from):
        """Snapshot ``meta`` is stored: stop serving entries before
        ``keep_from`` (reactor thread). Returns the arguments for
        :meth:`compact`, which deletes them from disk."""
        if meta.index > self._snapshot.index:
            self._snapshot = meta
        if keep_from - 1 > self._boundary[0]:
            self._boundary = (keep_from - 1, self.term(keep_from - 1))
            self._cache = {i: e for i, e in self._cache.items() if i >= keep_from}
        return self._snapshot, self._boundary

    def compact(self, meta, boundary):
        """Delete compacted entries and record the new boundary (worker thread)."""
        db = self._writer
        db.execute("PRAGMA synchronous=FULL")
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM log WHERE idx <= ?", (boundary[0],))
            self._put(db, "snapshot", pack_snapshot_meta(meta))
            self._put(db, "boundary", msgpack.packb(list(boundary)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self):
        self._reader.close()
        self._writer.close()


def open_log_store(directory):
    os.makedirs(directory, exist_ok=True)
    return SQLiteLogStore(os.path.join(directory, "raft.db"))
