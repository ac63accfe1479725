"""Why the Raft core refused a request."""


class NotLeader(Exception):
    """Raised by requests that only the leader can serve."""

    def __init__(self, leader):
        super().__init__(leader)
        self.leader = leader


class LeadershipTransferInProgress(Exception):
    """The leader is handing over leadership and accepts no new entries; the
    handover completes or is abandoned within an election timeout."""


class ConfigurationChangeInProgress(Exception):
    """A configuration change must wait: the previous one is not committed
    yet, or this leader has not yet committed an entry of its own term."""
