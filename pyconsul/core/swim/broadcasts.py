"""The transmit-limited broadcast queue (memberlist's TransmitLimitedQueue).

Every change a member learns is re-sent to others a bounded number of times,
piggybacked on pings and acks or sent in gossip rounds. The queue decides
which broadcasts go into the room left in a datagram:

- least-transmitted first (news travels before old news is repeated),
- newest first among equals,
- a broadcast that no longer fits is skipped, smaller ones may still fit,
- a new broadcast with the same key replaces the queued one (an ``Alive``
  about a member supersedes a ``Suspect`` about it),
- after ``limit`` transmissions a broadcast is dropped.

A broadcast may carry a ``notify`` token; when it leaves the queue (sent
often enough, or superseded) the token is put in ``finished`` for the owner
to pick up. That is how a leave learns that its message has gone out.
"""

from bisect import insort
from operator import attrgetter
from typing import Any, Hashable, Optional

# No membership or intent message encodes to fewer bytes than this (framing
# included), so a datagram with less room left is full.
SMALLEST_BROADCAST = 8


class Broadcast:
    __slots__ = ("key", "message", "wire", "cost", "notify", "transmits", "serial")

    def __init__(
        self,
        key: Optional[Hashable],
        message: Any,
        wire: bytes,
        cost: int,
        notify: Any,
        serial: int,
    ):
        self.key = key
        self.message = message
        self.wire = wire  # the encoded message, built once
        self.cost = cost  # bytes it takes in a compound packet
        self.notify = notify
        self.transmits = 0
        self.serial = serial  # higher is newer


_serial_of = attrgetter("serial")


class BroadcastQueue:
    """Broadcasts kept in tiers by transmit count; each tier is ordered by
    serial, oldest first, so walking it backwards gives the newest first."""

    def __init__(self) -> None:
        self._tiers: list[list[Broadcast]] = [[]]
        self._by_key: dict[Hashable, Broadcast] = {}
        self._count = 0
        self._serial = 0
        self.finished: list[Any] = []  # notify tokens of broadcasts that are done

    def __len__(self) -> int:
        return self._count

    def queue(
        self,
        key: Optional[Hashable],
        message: Any,
        wire: bytes,
        cost: int,
        notify: Any = None,
    ) -> None:
        """Add a broadcast; ``key=None`` means it supersedes nothing."""
        self._serial += 1
        broadcast = Broadcast(key, message, wire, cost, notify, self._serial)
        if key is not None:
            old = self._by_key.pop(key, None)
            if old is not None:
                self._tiers[old.transmits].remove(old)
                self._count -= 1
                self._finish(old)
            self._by_key[key] = broadcast
        self._tiers[0].append(broadcast)  # the newest serial: its place is the end
        self._count += 1

    def take(self, room: int, limit: int) -> list[Broadcast]:
        """Broadcasts that fit in ``room`` bytes, counting one transmission each."""
        chosen: list[Broadcast] = []
        if not self._count:
            return chosen
        for tier in self._tiers:
            if not tier:
                continue
            picked = []
            for broadcast in reversed(tier):
                if broadcast.cost <= room:
                    picked.append(broadcast)
                    room -= broadcast.cost
                    if room < SMALLEST_BROADCAST:
                        break
            if picked:
                if len(picked) == len(tier):
                    tier.clear()
                else:
                    for broadcast in picked:
                        tier.remove(broadcast)
                chosen.extend(picked)
            if room < SMALLEST_BROADCAST:
                break
        # Move each one tier down only now, so none is picked twice.
        tiers = self._tiers
        for broadcast in chosen:
            broadcast.transmits += 1
            if broadcast.transmits >= limit:
                self._count -= 1
                if broadcast.key is not None:
                    del self._by_key[broadcast.key]
                self._finish(broadcast)
            else:
                while len(tiers) <= broadcast.transmits:
                    tiers.append([])
                insort(tiers[broadcast.transmits], broadcast, key=_serial_of)
        return chosen

    def prune(self, keep: int) -> None:
        """Drop the oldest, most-sent broadcasts beyond ``keep``."""
        for tier in reversed(self._tiers):
            while tier and self._count > keep:
                broadcast = tier.pop(0)
                self._count -= 1
                if broadcast.key is not None:
                    del self._by_key[broadcast.key]
                self._finish(broadcast)

    def _finish(self, broadcast: Broadcast) -> None:
        if broadcast.notify is not None:
            self.finished.append(broadcast.notify)
