"""User events: Serf's event clock and its buffer of recent events.

A user event carries a Lamport time from the event clock (a clock of its
own, apart from the one that orders join and leave intents). The buffer has
one slot per Lamport time modulo its size; a slot remembers which (name,
payload) pairs it has seen at its time, so an event heard again, through
gossip or in a push-pull, is recognised and neither reported nor passed on
a second time. An event older than the buffer reaches back (its time more
than ``size`` behind our clock) is dropped: we could no longer tell whether
we have seen it.

``RecentEvents`` decides; ``SerfNode`` gossips what it accepts.
"""

from collections import Counter
from typing import Iterable, MutableMapping, Optional

from pyconsul.core.serf.clock import LamportClock
from pyconsul.core.serf.config import USER_EVENT_SANE_LIMIT
from pyconsul.core.serf.messages import UserEventMessage


class UserEventTooLarge(ValueError):
    """An event refused before it is sent; ``str()`` is serf's wording."""


def check_size(name: str, payload: bytes, limit: int) -> None:
    """Serf's check before encoding: name and payload together."""
    size = len(name.encode("utf-8")) + len(payload)
    if size > limit:
        raise UserEventTooLarge(f"user event exceeds configured limit of {limit} bytes before encoding")
    if size > USER_EVENT_SANE_LIMIT:
        raise UserEventTooLarge(
            f"user event exceeds sane limit of {USER_EVENT_SANE_LIMIT} bytes before encoding"
        )


def check_encoded_size(encoded: bytes, limit: int) -> None:
    """Serf's check after encoding: the whole gossip message."""
    if len(encoded) > limit:
        raise UserEventTooLarge(
            f"encoded user event exceeds configured limit of {limit} bytes after encoding"
        )
    if len(encoded) > USER_EVENT_SANE_LIMIT:
        raise UserEventTooLarge(
            f"encoded user event exceeds sane limit of {USER_EVENT_SANE_LIMIT} bytes after encoding"
        )


class _Slot:
    __slots__ = ("ltime", "seen")

    def __init__(self, ltime: int):
        self.ltime = ltime
        self.seen: list[tuple[str, bytes]] = []


class RecentEvents:
    def __init__(self, size: int = 512, counters: Optional[MutableMapping[str, int]] = None):
        # Start at 1, as serf does: 0 means "no event" in a push-pull.
        self.clock = LamportClock(start=1)
        self.min_time = 0  # events before this are ignored (a join that ignores old events)
        self._slots: list[Optional[_Slot]] = [None] * size
        self.counters = counters if counters is not None else Counter()

    @property
    def size(self) -> int:
        return len(self._slots)

    def stamp(self) -> int:
        """The Lamport time for a new local event; the clock moves past it."""
        ltime = self.clock.time()
        self.clock.increment()
        return ltime

    def accept(self, event: UserEventMessage) -> bool:
        """Remember ``event``: True if it is new (report it, gossip it on)."""
        self.clock.witness(event.ltime)
        if event.ltime < self.min_time:
            return False
        now = self.clock.time()
        if now > self.size and event.ltime < now - self.size:
            self.counters["old_user_events_dropped"] += 1
            return False
        index = event.ltime % self.size
        slot = self._slots[index]
        pair = (event.name, event.payload)
        if slot is not None and slot.ltime == event.ltime:
            if pair in slot.seen:
                self.counters["duplicate_user_events"] += 1
                return False
        else:
            slot = self._slots[index] = _Slot(event.ltime)
        slot.seen.append(pair)
        return True

    def snapshot(self) -> tuple[tuple[int, tuple[tuple[str, bytes], ...]], ...]:
        """The buffer as a push-pull carries it."""
        return tuple((slot.ltime, tuple(slot.seen)) for slot in self._slots if slot is not None)

    def merge(
        self,
        event_ltime: int,
        slots: Iterable[tuple[int, Iterable[tuple[str, bytes]]]],
        ignore_old: bool = False,
    ) -> list[UserEventMessage]:
        """A peer's clock and buffer from a push-pull: the events new to us.

        With ``ignore_old`` (our own join asked for it) everything the peer
        had before the exchange is ignored, now and when heard again later.
        """
        if event_ltime > 0:
            self.clock.witness(event_ltime - 1)
        if ignore_old and event_ltime > self.min_time:
            self.min_time = event_ltime
        new = []
        for ltime, seen in slots:
            for name, payload in seen:
                event = UserEventMessage(ltime, name, payload, False)
                if self.accept(event):
                    new.append(event)
        return new
