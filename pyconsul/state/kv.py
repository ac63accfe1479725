"""The KV table with Consul's indexes and tombstones.

Every write carries the Raft index of its log entry. The table keeps Consul's
notion of "the index of a query" (what a client sends back as ``?index=`` in
a blocking query): a single key answers its ModifyIndex, a listing the highest
ModifyIndex or deletion under its prefix, and anything empty the index of the
table as a whole.
"""

import attr
from sortedcontainers import SortedDict


@attr.s(frozen=True, slots=True)
class DirEntry:
    key: str = attr.ib()
    value: bytes | None = attr.ib()
    flags: int = attr.ib(default=0)
    create_index: int = attr.ib(default=0)
    modify_index: int = attr.ib(default=0)
    lock_index: int = attr.ib(default=0)
    session: str | None = attr.ib(default=None)


def _under(table, prefix):
    """Keys of a SortedDict that start with ``prefix``, in order."""
    for key in table.irange(minimum=prefix):
        if not key.startswith(prefix):
            break
        yield key


class KVTable:
    def __init__(self, watches):
        self.watches = watches
        self.entries = SortedDict()
        # Deleted keys and the index that deleted them, so listings and
        # blocking queries see deletions (Consul's "graveyard").
        self.tombstones = SortedDict()
        self.entries_index = 0
        self.tombstones_index = 0
        self.locks = {}  # session ID -> keys it holds
        self._journal = None  # during a transaction: how to undo it

    @property
    def index(self):
        """The table's index: the last change of any key, deletions included."""
        return max(self.entries_index, self.tombstones_index)

    # -- queries -------------------------------------------------------------

    def get(self, key):
        """(index, entry or None)."""
        entry = self.entries.get(key)
        if entry is not None:
            return entry.modify_index, entry
        return max(self.index, 1), None

    def list(self, prefix):
        """(index, entries under prefix)."""
        found = [self.entries[k] for k in _under(self.entries, prefix)]
        return self._listing_index(prefix, found), found

    def keys(self, prefix, separator=""):
        """(index, keys under prefix, rolled up at the first separator after it)."""
        found = [self.entries[k] for k in _under(self.entries, prefix)]
        keys = []
        for entry in found:
            key = entry.key
            if separator:
                at = key.find(separator, len(prefix))
                if at >= 0:
                    key = key[: at + len(separator)]
                    if keys and keys[-1] == key:
                        continue  # sorted input keeps a roll-up's keys together
            keys.append(key)
        return self._listing_index(prefix, found), keys

    def _listing_index(self, prefix, entries):
        if prefix == "":
            return max(self.index, 1)
        index = max((e.modify_index for e in entries), default=0)
        for key in _under(self.tombstones, prefix):
            index = max(index, self.tombstones[key])
        return index or max(self.index, 1)

    def keys_locked_by(self, session_id):
        return sorted(self.locks.get(session_id, ()))

    # -- changes -------------------------------------------------------------

    def set(self, index, key, value, flags):
        """A plain write: it keeps the key's lock holder but, as Consul's
        kvsSetTxn, writes the request's LockIndex, which is 0."""
        existing = self.entries.get(key)
        if (existing is not None and existing.value == value and existing.flags == flags
                and existing.lock_index == 0):
            return True  # Consul leaves an unchanged entry, and its index, alone
        self._store(
            DirEntry(
                key=key,
                value=value,
                flags=flags,
                create_index=existing.create_index if existing else index,
                modify_index=index,
                lock_index=0,
                session=existing.session if existing else None,
            )
        )
        return True

    def lock(self, index, key, value, flags, session):
        """Take the key's lock for ``session`` (which must exist) and write
        the value: false if another session holds it. Holding it already
        keeps the LockIndex; a new holder increments it."""
        existing = self.entries.get(key)
        if existing is not None and existing.session and existing.session != session:
            return False
        if existing is None:
            lock_index, create_index = 1, index
        else:
            held = existing.session == session
            lock_index = existing.lock_index if held else existing.lock_index + 1
            create_index = existing.create_index
        self._store(DirEntry(key=key, value=value, flags=flags, create_index=create_index,
                             modify_index=index, lock_index=lock_index, session=session))
        return True

    def unlock(self, index, key, value, flags, session):
        """Give up ``session``'s lock and write the value: false unless it
        holds the lock."""
        existing = self.entries.get(key)
        if existing is None or existing.session != session:
            return False
        self._store(attr.evolve(existing, value=value, flags=flags, modify_index=index, session=None))
        return True

    def release_lock(self, index, key):
        """A session ended: the key stays, without its holder."""
        existing = self.entries.get(key)
        if existing is not None and existing.session:
            self._store(attr.evolve(existing, modify_index=index, session=None))

    def check_and_set(self, index, key, value, flags, cas_index):
        """Write only if the key's ModifyIndex is ``cas_index`` (0: absent)."""
        existing = self.entries.get(key)
        if cas_index == 0:
            if existing is not None:
                return False
        elif existing is None or existing.modify_index != cas_index:
            return False
        return self.set(index, key, value, flags)

    def delete(self, index, key):
        if key in self.entries:
            self._remove(index, key)
            self.entries_index = index
        return True

    def delete_cas(self, index, key, cas_index):
        existing = self.entries.get(key)
        if existing is None:
            return True  # as Consul: nothing to delete counts as success
        if existing.modify_index != cas_index:
            return False
        return self.delete(index, key)

    def delete_tree(self, index, prefix):
        doomed = list(_under(self.entries, prefix))
        for key in doomed:
            self._remove(index, key)
        if doomed:
            self.entries_index = index
        return True

    def reap_tombstones(self, index, up_to):
        """Forget deletions made at or before ``up_to``."""
        reaped = [k for k, at in self.tombstones.items() if at <= up_to]
        for key in reaped:
            del self.tombstones[key]
        if reaped:
            self.tombstones_index = index
        return True

    # -- transactions -------------------------------------------------------

    def begin(self):
        """Start noting changes, so that :meth:`rollback` can undo them."""
        self._journal = ({}, self.entries_index, self.tombstones_index)

    def commit(self):
        self._journal = None

    def rollback(self):
        before, self.entries_index, self.tombstones_index = self._journal
        self._journal = None
        for key, (entry, tombstone) in before.items():
            current = self.entries.pop(key, None)
            if current is not None and current.session:
                self._unindex_lock(current)
            self.tombstones.pop(key, None)
            if entry is not None:
                self.entries[key] = entry
                if entry.session:
                    self.locks.setdefault(entry.session, set()).add(key)
            if tombstone is not None:
                self.tombstones[key] = tombstone

    def _note(self, key):
        if self._journal is not None and key not in self._journal[0]:
            self._journal[0][key] = (self.entries.get(key), self.tombstones.get(key))

    def _store(self, entry):
        self._note(entry.key)
        old = self.entries.get(entry.key)
        if old is not None and old.session and old.session != entry.session:
            self._unindex_lock(old)
        if entry.session:
            self.locks.setdefault(entry.session, set()).add(entry.key)
        self.entries[entry.key] = entry
        self.tombstones.pop(entry.key, None)
        self.entries_index = entry.modify_index
        self.watches.changed(entry.key)

    def _unindex_lock(self, entry):
        keys = self.locks.get(entry.session)
        if keys is not None:
            keys.discard(entry.key)
            if not keys:
                del self.locks[entry.session]

    def _remove(self, index, key):
        self._note(key)
        entry = self.entries.pop(key)
        if entry.session:
            self._unindex_lock(entry)
        self.tombstones[key] = index
        self.tombstones_index = index
        self.watches.changed(key)

    # -- snapshots -----------------------------------------------------------

    def snapshot_records(self):
        """Records of the table as it is now; the copy is taken before this
        returns (entries are immutable, so copying the lists is enough) and
        can be serialised later, elsewhere."""
        indexes = ["kv-index", self.entries_index, self.tombstones_index]
        entries = list(self.entries.values())
        tombstones = list(self.tombstones.items())

        def records():
            yield indexes
            for e in entries:
                yield [
                    "kv", e.key, e.value, e.flags,
                    e.create_index, e.modify_index, e.lock_index, e.session,
                ]
            for key, at in tombstones:
                yield ["kv-tombstone", key, at]

        return records()

    def restore_record(self, record):
        kind = record[0]
        if kind == "kv-index":
            self.entries_index, self.tombstones_index = record[1], record[2]
        elif kind == "kv":
            entry = DirEntry(*record[1:])
            self.entries[entry.key] = entry
            if entry.session:
                self.locks.setdefault(entry.session, set()).add(entry.key)
        elif kind == "kv-tombstone":
            self.tombstones[record[1]] = record[2]
        else:
            return False
        return True
