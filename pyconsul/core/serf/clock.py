"""Lamport clocks: a counter that only moves forward and jumps past any
time it witnesses, so "happened after" survives message reordering."""


class LamportClock:
    def __init__(self, start: int = 0):
        self._time = start

    def time(self) -> int:
        return self._time

    def increment(self) -> int:
        """Advance for a new local event; returns the new time."""
        self._time += 1
        return self._time

    def witness(self, other: int) -> None:
        """Take note of a time seen in a message: ours must pass it."""
        if other >= self._time:
            self._time = other + 1
