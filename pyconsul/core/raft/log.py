"""The node's view of its log: persisted entries plus an unstable tail.

Entries a node appends (as leader) or accepts (as follower) sit in the unstable
tail until the driver has written them to disk and called ``stable_to``. Reads
fall through to the :class:`LogReader`, which serves what is on disk.
"""

from typing import Protocol

from pyconsul.core.raft.messages import HardState, SnapshotMeta


class LogReader(Protocol):
    """Synchronous, read-only access to the persisted log."""

    def initial_state(self) -> HardState: ...

    def snapshot_meta(self) -> SnapshotMeta: ...

    def first_index(self) -> int:
        """The first entry still in the log (compaction removes those before)."""

    def last_index(self) -> int: ...

    def term(self, index: int) -> int:
        """The term of entry ``index``, for ``first_index() - 1 <= index``."""

    def entries(self, lo: int, hi: int) -> list:
        """Entries ``lo`` to ``hi - 1``, all of them present."""

    def configuration_entries(self) -> list:
        """Every CONFIGURATION entry still in the log, oldest first."""


class Compacted(Exception):
    """The entry asked for is covered by the snapshot."""


class RaftLog:
    def __init__(self, storage: LogReader, applied: int = 0):
        self.storage = storage
        self.unstable = []
        # A snapshot accepted from the leader, not yet persisted by the driver.
        self.pending_snapshot: SnapshotMeta | None = None
        self.committed = storage.initial_state().commit
        snapshot_index = storage.snapshot_meta().index
        self.committed = max(self.committed, snapshot_index)
        self.applied = max(applied, snapshot_index)
        # The last entry handed to the driver to apply; ``applied`` follows
        # once the driver reports back in ``advance``.
        self.applying = self.applied

    # -- reading -----------------------------------------------------------

    def snapshot(self) -> SnapshotMeta:
        return self.pending_snapshot or self.storage.snapshot_meta()

    def first_index(self) -> int:
        if self.pending_snapshot is not None:
            return self.pending_snapshot.index + 1
        return self.storage.first_index()

    def stable_last_index(self) -> int:
        if self.pending_snapshot is not None:
            return self.pending_snapshot.index
        return self.storage.last_index()

    def last_index(self) -> int:
        if self.unstable:
            return self.unstable[-1].index
        return self.stable_last_index()

    def last_term(self) -> int:
        return self.term(self.last_index())

    def term(self, index: int) -> int | None:
        """The term at ``index``, or None when the log has no such entry."""
        if self.pending_snapshot is not None and index == self.pending_snapshot.index:
            return self.pending_snapshot.term
        if index < self.first_index() - 1:
            raise Compacted(index)
        if index > self.last_index():
            return None
        if self.unstable and index >= self.unstable[0].index:
            return self.unstable[index - self.unstable[0].index].term
        return self.storage.term(index)

    def matches(self, index: int, term: int) -> bool:
        try:
            return self.term(index) == term
        except Compacted:
            # Everything up to the snapshot is committed, hence matches.
            return True

    def entries(self, lo: int, hi: int) -> list:
        """Entries ``lo`` to ``hi - 1``; raises Compacted below the snapshot."""
        if lo < self.first_index():
            raise Compacted(lo)
        hi = min(hi, self.last_index() + 1)
        if lo >= hi:
            return []
        split = self.unstable[0].index if self.unstable else hi
        result = []
        if lo < split:
            result.extend(self.storage.entries(lo, min(hi, split)))
        if hi > split:
            start = max(lo, split) - split
            result.extend(self.unstable[start : hi - split])
        return result

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Whether a candidate's log is at least as current as ours (§5.4.1)."""
        ours = self.last_term()
        return last_term > ours or (last_term == ours and last_index >= self.last_index())

    # -- writing -----------------------------------------------------------

    def append(self, entries) -> None:
        """Append entries that follow on from the last one (leader side)."""
        if entries:
            self._truncate_and_append(entries)

    def try_append(self, prev_index, prev_term, entries, leader_commit):
        """A follower's AppendEntries rule (§5.3).

        Returns ``(matched, written_from)``: the index up to which our log
        now matches the leader's, and the index of the first entry written
        (None when we had them all). ``matched`` is None when
        ``prev_index``/``prev_term`` do not match.
        """
        if not self.matches(prev_index, prev_term):
            return None, None
        last_new = prev_index + len(entries)
        written_from = None
        # Skip the entries we already have; from the first conflicting one
        # on, the leader's entries replace ours.
        for position, entry in enumerate(entries):
            if entry.index < self.first_index():
                continue
            if not self.matches(entry.index, entry.term):
                if entry.index <= self.committed:
                    raise AssertionError(
                        "entry %d conflicts with committed log" % entry.index
                    )
                self._truncate_and_append(entries[position:])
                written_from = entry.index
                break
        self.commit_to(min(leader_commit, last_new))
        return last_new, written_from

    def _truncate_and_append(self, entries) -> None:
        first = entries[0].index
        if self.unstable and first > self.unstable[0].index:
            del self.unstable[first - self.unstable[0].index :]
        else:
            # Replaces the whole unstable tail and, when first is not beyond
            # the stable log, the stable suffix too: the driver's next save
            # starts at ``first`` and removes what follows it on disk.
            self.unstable = []
        self.unstable.extend(entries)

    def commit_to(self, index: int) -> None:
        if index > self.committed:
            self.committed = min(index, self.last_index())

    def restore(self, meta: SnapshotMeta) -> None:
        """Adopt a snapshot from the leader in place of our whole log."""
        self.pending_snapshot = meta
        self.unstable = []
        self.committed = max(self.committed, meta.index)

    # -- driver bookkeeping ----------------------------------------------------

    def _applicable_range(self):
        # Only entries on this server's disk: then the driver may apply them
        # at once, even while it is still writing a later batch.
        lo = max(self.applying + 1, self.first_index())
        hi = min(self.committed, self.stable_last_index()) + 1
        return lo, hi

    def has_applicable(self) -> bool:
        lo, hi = self._applicable_range()
        return lo < hi

    def take_applicable(self) -> list:
        """Committed entries on disk that the state machine has not seen yet;
        they count as being applied from now on."""
        lo, hi = self._applicable_range()
        entries = self.entries(lo, hi)
        if entries:
            self.applying = entries[-1].index
        return entries

    def applied_to(self, index: int) -> None:
        self.applied = max(self.applied, index)
        self.applying = max(self.applying, index)

    def stable_to(self, index: int, term: int) -> None:
        """The driver has persisted entries up to ``index``."""
        if not self.unstable or index < self.unstable[0].index:
            return
        if self.term(index) != term:
            return  # replaced by a newer leader's entries since
        del self.unstable[: index - self.unstable[0].index + 1]

    def snapshot_persisted(self, meta: SnapshotMeta) -> None:
        if self.pending_snapshot is not None and self.pending_snapshot.index == meta.index:
            self.pending_snapshot = None
            self.applied_to(meta.index)
