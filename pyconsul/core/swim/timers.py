"""Timers in virtual time: the core says when it next needs attention and
runs whatever is due when its driver calls ``tick(now)``."""

import heapq
from typing import Any, Callable, Optional


class Timer:
    __slots__ = ("when", "action", "args", "cancelled")

    def __init__(self, when: float, action: Callable[..., None], args: tuple):
        self.when = when
        self.action = action
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._serial = 0  # keeps equal deadlines in scheduling order

    def call_at(self, when: float, action: Callable[..., None], *args: Any) -> Timer:
        """Run ``action(now, *args)`` once ``now >= when``."""
        timer = Timer(when, action, args)
        self._serial += 1
        heapq.heappush(self._heap, (when, self._serial, timer))
        return timer

    def next_deadline(self) -> Optional[float]:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> None:
        """Run every timer due by ``now``, including ones the actions add."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                timer.cancelled = True  # a timer fires once
                timer.action(now, *timer.args)
