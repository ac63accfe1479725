"""One suspicion timer with Lifeguard's dynamic timeout."""

from typing import Optional

from pyconsul.core.swim.timing import suspicion_timeout_after


class Suspicion:
    """How long we wait before declaring a suspect member dead.

    The timer starts at ``maximum`` and is pulled toward ``minimum`` as other
    members independently say they suspect the same member. Each accuser
    counts once; the first accuser (whose message started the timer) does not
    count as a confirmation, since our own suspicion may come back to us.
    """

    def __init__(
        self,
        first_accuser: str,
        wanted: int,
        minimum: float,
        maximum: float,
        started_at: float,
    ):
        self.wanted = wanted
        self.minimum = minimum
        self.maximum = maximum
        self.started_at = started_at
        self.confirmations = 0
        self._accusers = {first_accuser}
        self.deadline = started_at + maximum
        self.checks = 0  # times the suspect has been asked directly (see Membership)
        self.last_check_at: Optional[float] = None

    def confirm(self, accuser: str) -> bool:
        """Count ``accuser``; True if that was new information worth passing on."""
        if self.confirmations >= self.wanted or accuser in self._accusers:
            return False
        self._accusers.add(accuser)
        self.confirmations += 1
        self.deadline = self.started_at + suspicion_timeout_after(
            self.confirmations, self.wanted, self.minimum, self.maximum
        )
        return True
