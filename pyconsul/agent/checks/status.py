"""When a check's result becomes its status: Consul's StatusHandler.

Interval checks (HTTP, TCP, script) report each run here. A success (passing
or warning) counts towards ``success_before_passing``, a failure towards
``failures_before_warning`` and ``failures_before_critical``; a result is
passed on only once its counter reaches its threshold, and each kind of
result resets the other counter. The counters start at their thresholds, so
the first result after registration is always passed on.

``failures_before_warning`` is Consul 1.11's; left at 0 it equals
``failures_before_critical``, so failures go straight to critical as before.
"""

import attr

from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING


@attr.s(frozen=True, slots=True)
class Outcome:
    report: tuple = attr.ib()  # (status, output) to pass on, or None
    note: str = attr.ib()  # Consul's log line for it
    level: str = attr.ib()  # "debug" or "warn"


@attr.s(slots=True)
class StatusHandler:
    success_before_passing: int = attr.ib(default=0)
    failures_before_warning: int = attr.ib(default=0)
    failures_before_critical: int = attr.ib(default=0)
    successes: int = attr.ib(default=None)
    failures: int = attr.ib(default=None)

    def __attrs_post_init__(self):
        if not self.failures_before_warning:
            self.failures_before_warning = self.failures_before_critical
        if self.successes is None:
            self.successes = self.success_before_passing
        if self.failures is None:
            self.failures = self.failures_before_critical

    @classmethod
    def for_check(cls, check):
        return cls(check.success_before_passing, check.failures_before_warning, check.failures_before_critical)

    def observe(self, status, output):
        """The Outcome of one run's result."""
        if status in (PASSING, WARNING):
            self.successes += 1
            self.failures = 0
            if self.successes >= self.success_before_passing:
                return Outcome((status, output), "Check status updated", "debug")
            return Outcome(None, "Check passed but has not reached success threshold", "warn")
        self.failures += 1
        self.successes = 0
        if self.failures >= self.failures_before_critical:
            return Outcome((CRITICAL, output), "Check is now critical", "warn")
        if self.failures >= self.failures_before_warning:
            return Outcome((WARNING, output), "Check is now warning", "warn")
        return Outcome(None, "Check failed but has not reached warning/failure threshold", "warn")
