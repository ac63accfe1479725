"""Messages of the Serf layer, carried as piggybacked gossip and in push-pull.

Intents carry a Lamport time: a member's status only moves on an intent
newer than the last one applied to it, so a join intent that arrives late
cannot bring a member that has since left back to life.
"""

from typing import NamedTuple


class JoinIntent(NamedTuple):
    ltime: int
    node: str


class LeaveIntent(NamedTuple):
    ltime: int
    node: str
    prune: bool  # force-leave -prune: forget the member at once


class UserEventMessage(NamedTuple):
    """A user event, gossiped to every member (``serf event``, ``consul event``).

    Its Lamport time comes from the event clock, which is separate from the
    clock of the intents; members de-duplicate on (ltime, name, payload).
    """

    ltime: int
    name: str
    payload: bytes
    coalesce: bool


class SerfState(NamedTuple):
    """The Serf part of a push-pull exchange."""

    ltime: int
    status_ltimes: tuple[tuple[str, int], ...]  # (member name, ltime of its last intent)
    left_members: tuple[str, ...]
    # The event clock and the recent user events: (ltime, ((name, payload), ...)).
    event_ltime: int = 0
    events: tuple[tuple[int, tuple[tuple[str, bytes], ...]], ...] = ()
