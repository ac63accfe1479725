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


class SerfState(NamedTuple):
    """The Serf part of a push-pull exchange."""

    ltime: int
    status_ltimes: tuple[tuple[str, int], ...]  # (member name, ltime of its last intent)
    left_members: tuple[str, ...]
