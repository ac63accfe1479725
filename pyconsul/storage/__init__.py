"""Where Raft keeps its log, its hard state and its snapshots.

Every store has a read side, used synchronously by the Raft core from the
reactor thread, and a write side split in two so the slow part can run in a
worker thread: ``write(batch)`` does the disk work (and may run in a thread),
then ``written(batch)`` updates what the read side sees (reactor thread).
"""

import attr


@attr.s(frozen=True, slots=True)
class Batch:
    """One Ready's worth of state to persist with a single sync."""

    hard_state: object = attr.ib(default=None)  # HardState or None
    entries: tuple = attr.ib(default=())
    snapshot: object = attr.ib(default=None)  # SnapshotMeta or None

    def needs_sync(self, previous_hard_state):
        """Entries, snapshots, terms and votes must be durable; a new commit
        index need not be (it is recovered from the leader after a crash)."""
        if self.entries or self.snapshot is not None:
            return True
        if self.hard_state is None:
            return False
        if previous_hard_state is None:
            return True
        return (self.hard_state.term, self.hard_state.vote) != (
            previous_hard_state.term,
            previous_hard_state.vote,
        )
