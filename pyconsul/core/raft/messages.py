"""Raft's log entries, persistent state and the messages nodes exchange."""

import enum

import attr

from pyconsul.core.raft.configuration import Configuration


class EntryType(enum.IntEnum):
    COMMAND = 0  # applied to the state machine
    NOOP = 1  # appended by each new leader so earlier terms can commit (§5.4.2)
    CONFIGURATION = 2  # a new Configuration, in effect once appended


@attr.s(frozen=True, slots=True)
class Entry:
    index: int = attr.ib()
    term: int = attr.ib()
    type: EntryType = attr.ib(default=EntryType.COMMAND)
    data: bytes = attr.ib(default=b"")


@attr.s(frozen=True, slots=True)
class HardState:
    """What must be on disk before a node answers any message (§5 Figure 2)."""

    term: int = attr.ib(default=0)
    vote: str | None = attr.ib(default=None)
    commit: int = attr.ib(default=0)


@attr.s(frozen=True, slots=True)
class SnapshotMeta:
    index: int = attr.ib(default=0)
    term: int = attr.ib(default=0)
    configuration: Configuration = attr.ib(factory=Configuration)


@attr.s(frozen=True, slots=True)
class VoteRequest:
    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
    last_log_index: int = attr.ib()
    last_log_term: int = attr.ib()
    # A pre-vote (thesis §9.6) asks "would you vote for me at ``term``?"
    # without anyone changing term: ``term`` is the candidate's term + 1.
    pre_vote: bool = attr.ib(default=False)
    # Non-zero when the candidate campaigns because the leader of that term
    # handed leadership over to it (TimeoutNow, thesis §3.10): voters that
    # follow that leader waive its lease for this request.
    transfer_term: int = attr.ib(default=0)


@attr.s(frozen=True, slots=True)
class VoteResponse:
    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
    granted: bool = attr.ib()
    # Answers a pre-vote. A granted pre-vote carries the term asked about;
    # a refusal carries the voter's own term.
    pre_vote: bool = attr.ib(default=False)


@attr.s(frozen=True, slots=True)
class AppendRequest:
    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
    prev_index: int = attr.ib()
    prev_term: int = attr.ib()
    entries: tuple = attr.ib(converter=tuple)
    commit: int = attr.ib()
    # Non-zero on heartbeats that confirm leadership for reads (ReadIndex):
    # the follower echoes it back.
    context: int = attr.ib(default=0)


@attr.s(frozen=True, slots=True)
class AppendResponse:
    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
    success: bool = attr.ib()
    # On success, the highest index known to match the leader's log; on a
    # rejection, the prev_index that did not match.
    index: int = attr.ib()
    # On a rejection, the follower's last index: where to probe next.
    hint: int = attr.ib(default=0)
    context: int = attr.ib(default=0)


@attr.s(frozen=True, slots=True)
class SnapshotRequest:
    """Tells a follower that is too far behind to load the leader's snapshot.

    The core only names the snapshot; the driver ships its bytes from the
    snapshot store and hands the follower's core the metadata once the data
    is safely stored.
    """

    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
    meta: SnapshotMeta = attr.ib()


@attr.s(frozen=True, slots=True)
class SnapshotResponse:
    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
    index: int = attr.ib()


@attr.s(frozen=True, slots=True)
class TimeoutNow:
    """The leader hands over leadership: campaign at once (thesis §3.10)."""

    term: int = attr.ib()
    src: str = attr.ib()
    dst: str = attr.ib()
