"""The arithmetic of memberlist and Lifeguard, as plain functions.

Kept apart from the state machine so the tables in the tests can check every
formula against the values memberlist documents.
"""

import math


def suspicion_timeout(suspicion_mult: int, cluster_size: int, probe_interval: float) -> float:
    """Lifeguard's minimum suspicion timeout: it grows with log10 of the
    cluster size because a refutation needs that many gossip rounds to
    spread back."""
    node_scale = max(1.0, math.log10(max(1, cluster_size)))
    # Rounded to microseconds so 12.0 stays 12.0 despite float noise.
    return round(suspicion_mult * node_scale * probe_interval, 6)


def suspicion_timeout_after(
    confirmations: int, wanted: int, minimum: float, maximum: float
) -> float:
    """Total suspicion timeout once ``confirmations`` independent members
    have agreed, out of the ``wanted`` that bring it down to the minimum.

    It falls on a log scale: the first confirmation buys the most, as it is
    the strongest sign that the suspicion is not a local problem.
    """
    if wanted < 1:
        # Too few members to expect any confirmation: wait the longest.
        return maximum
    fraction = math.log(confirmations + 1) / math.log(wanted + 1)
    timeout = maximum - fraction * (maximum - minimum)
    # memberlist keeps millisecond precision here.
    timeout = math.floor(timeout * 1000.0) / 1000.0
    return max(minimum, timeout)


def expected_confirmations(suspicion_mult: int, cluster_size: int) -> int:
    """How many independent suspicions drive the timeout to its minimum.

    We expect to reach the nominal timeout two probe intervals early, hence
    mult - 2; a cluster too small to supply that many other members (us and
    the suspect excluded) expects none.
    """
    wanted = suspicion_mult - 2
    if cluster_size - 2 < wanted:
        return 0
    return wanted


def retransmit_limit(retransmit_mult: int, cluster_size: int) -> int:
    """How many times each broadcast is sent: enough rounds for an epidemic
    to reach everyone with high probability."""
    return retransmit_mult * math.ceil(math.log10(cluster_size + 1))


PUSH_PULL_SCALE_THRESHOLD = 32


def push_pull_interval(base_interval: float, cluster_size: int) -> float:
    """Full-state exchanges grow with the cluster, so their interval does too:
    the 33rd member doubles it, the 65th triples it, and so on."""
    if cluster_size <= PUSH_PULL_SCALE_THRESHOLD:
        return base_interval
    multiplier = (
        math.ceil(math.log2(cluster_size) - math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1
    )
    return multiplier * base_interval


class Awareness:
    """Lifeguard's local health score: 0 is healthy.

    Missed nacks (and having to refute a suspicion about ourselves) suggest
    that *we* are the slow one, so we stretch our probe interval instead of
    blaming others; each successful probe brings the score back down.
    """

    def __init__(self, max_multiplier: int):
        self.max_multiplier = max_multiplier
        self.score = 0

    def apply_delta(self, delta: int) -> None:
        self.score = min(max(self.score + delta, 0), self.max_multiplier - 1)

    def scale(self, duration: float) -> float:
        return duration * (self.score + 1)
