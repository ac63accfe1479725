"""The leader's bookkeeping of how far each follower's log matches its own."""

import enum

import attr


class ProgressState(enum.Enum):
    # Sending one AppendEntries at a time until we find where logs match.
    PROBE = "probe"
    # Logs match: stream entries without waiting, up to a window in flight.
    REPLICATE = "replicate"
    # The follower needs entries we compacted; a snapshot is on its way.
    SNAPSHOT = "snapshot"


@attr.s(slots=True)
class Progress:
    match: int = attr.ib(default=0)
    next: int = attr.ib(default=1)
    state: ProgressState = attr.ib(default=ProgressState.PROBE)
    # PROBE: a probe is outstanding; cleared by an answer or a heartbeat.
    probe_sent: bool = attr.ib(default=False)
    # REPLICATE: last index of each message in flight, oldest first.
    inflight: list = attr.ib(factory=list)
    pending_snapshot: int = attr.ib(default=0)
    # Whether we heard from the follower since the last check-quorum round.
    recent_active: bool = attr.ib(default=False)
    # ``match`` at the previous heartbeat: a replicating follower that is
    # behind and made no progress for a whole heartbeat interval has lost
    # messages, and is probed again.
    match_at_heartbeat: int = attr.ib(default=-1)
    # The leader's tick count when it sent the latest heartbeat round this
    # follower answered: the follower has heard from us since then, which
    # is what the leader lease rests on.
    heard_since_tick: int | None = attr.ib(default=None)

    def become_probe(self):
        if self.state is ProgressState.SNAPSHOT:
            self.next = max(self.match + 1, self.pending_snapshot + 1)
        else:
            self.next = self.match + 1
        self.state = ProgressState.PROBE
        self.probe_sent = False
        self.inflight = []
        self.pending_snapshot = 0

    def pause_probing(self):
        """Probe again only at the next heartbeat, not at once: after a
        failed send or snapshot, retrying in a loop would only fail again."""
        self.probe_sent = True

    def snapshot_failed(self):
        """The snapshot never arrived: probe from what the follower has."""
        self.pending_snapshot = 0
        self.become_probe()
        self.pause_probing()

    def become_replicate(self):
        self.state = ProgressState.REPLICATE
        self.next = self.match + 1
        self.inflight = []
        self.probe_sent = False

    def become_snapshot(self, index):
        self.state = ProgressState.SNAPSHOT
        self.pending_snapshot = index
        self.inflight = []

    def acknowledge(self, index) -> bool:
        """Record a successful append up to ``index``; True if it was news."""
        self.recent_active = True
        if index <= self.match:
            return False
        self.match = index
        self.next = max(self.next, index + 1)
        self.inflight = [i for i in self.inflight if i > index]
        return True

    def reject(self, rejected_prev, hint) -> bool:
        """A follower refused an append at ``rejected_prev``; its log ends at
        ``hint``. Returns False when the answer is stale."""
        self.recent_active = True
        if self.state is ProgressState.REPLICATE:
            if rejected_prev <= self.match:
                return False  # answer to a message sent before a newer ack
            self.become_probe()
        elif self.next - 1 != rejected_prev:
            return False  # not the probe we are waiting for
        self.next = max(min(rejected_prev, hint + 1), self.match + 1)
        self.probe_sent = False
        return True
