"""In-memory log and snapshot stores, for ``-dev`` agents and tests."""

import io

from pyconsul.core.raft import EntryType, HardState, SnapshotMeta


class MemoryLogStore:
    def __init__(self):
        self._hard_state = HardState()
        self._snapshot = SnapshotMeta()
        # Index and term of the last entry removed by compaction.
        self._boundary = (0, 0)
        self._entries = []

    # -- read side ---------------------------------------------------------

    def initial_state(self):
        return self._hard_state

    def snapshot_meta(self):
        return self._snapshot

    def first_index(self):
        return self._boundary[0] + 1

    def last_index(self):
        return self._boundary[0] + len(self._entries)

    def term(self, index):
        if index == self._boundary[0]:
            return self._boundary[1]
        return self._entries[index - self._boundary[0] - 1].term

    def entries(self, lo, hi):
        base = self._boundary[0] + 1
        return self._entries[lo - base : hi - base]

    def configuration_entries(self):
        return [e for e in self._entries if e.type is EntryType.CONFIGURATION]

    # -- write side ----------------------------------------------------------

    def write(self, batch):
        pass  # nothing to make durable

    def written(self, batch):
        if batch.snapshot is not None:
            self._snapshot = batch.snapshot
            self._boundary = (batch.snapshot.index, batch.snapshot.term)
            self._entries = []
        if batch.entries:
            first = batch.entries[0].index
            del self._entries[first - self._boundary[0] - 1 :]
            self._entries.extend(batch.entries)
        if batch.hard_state is not None:
            self._hard_state = batch.hard_state

    def compacted(self, meta, keep_from):
        """The state machine snapshot ``meta`` is stored; drop entries before
        ``keep_from`` (the caller keeps some trailing entries for followers)."""
        if meta.index > self._snapshot.index:
            self._snapshot = meta
        if keep_from - 1 > self._boundary[0]:
            boundary = (keep_from - 1, self.term(keep_from - 1))
            del self._entries[: keep_from - 1 - self._boundary[0]]
            self._boundary = boundary
        return self._snapshot, self._boundary

    def compact(self, meta, boundary):
        pass  # the entries went in compacted()

    def close(self):
        pass


class MemorySnapshotStore:
    def __init__(self):
        self._latest = None

    def save(self, meta, blob_writer):
        """Store a snapshot; ``blob_writer(fileobj)`` writes its contents."""
        buffer = io.BytesIO()
        blob_writer(buffer)
        self._latest = (meta, buffer.getvalue())

    def latest(self):
        """(meta, binary file object) of the newest snapshot, or None."""
        if self._latest is None:
            return None
        meta, data = self._latest
        return meta, io.BytesIO(data)
