"""How a leader confirms that it still leads: numbered heartbeat rounds.

Each heartbeat broadcast carries a round number in ``context`` and followers
echo it back. An answer to round ``r`` proves the follower heard from this
leader, at this term, after round ``r`` was sent. That serves two purposes:

* ReadIndex (thesis §6.4): a read registered before round ``r`` may be served
  at the commit index it recorded once a quorum has answered ``r`` or later;
* the leader lease (thesis §6.4.1): a follower that heard from its leader
  refuses votes for an election timeout (§4.2.3, check-quorum), so while a
  quorum answered a round sent less than a lease ago no other leader exists.
"""

import attr


@attr.s(slots=True)
class PendingRead:
    request_id: object = attr.ib()
    index: int = attr.ib()
    round: int = attr.ib()
    acks: set = attr.ib()


class HeartbeatRounds:
    def __init__(self):
        # Never reused, not even across terms: a late answer to an old round
        # must not count for a new one.
        self.last_round = 0
        self._sent_at = {}  # round -> the leader's tick count when sent
        self._reads = []  # PendingRead, oldest first

    def reset(self):
        """Forget rounds and reads: leadership was won or lost."""
        self._sent_at = {}
        self._reads = []

    def start_round(self, now) -> int:
        self.last_round += 1
        self._sent_at[self.last_round] = now
        return self.last_round

    def start_read(self, request_id, index, leader_id, now) -> int:
        """A read at ``index``, confirmed by the round this starts."""
        number = self.start_round(now)
        self._reads.append(PendingRead(request_id, index, number, {leader_id}))
        return number

    def answered(self, server_id, number):
        """``server_id`` answered round ``number``: returns when that round
        was sent, or None if it is too old to matter."""
        for read in self._reads:
            if read.round <= number:
                read.acks.add(server_id)
        return self._sent_at.get(number)

    def confirmed_reads(self, is_quorum) -> list:
        """(request id, index) of the reads a quorum confirmed, in order."""
        confirmed = []
        while self._reads and is_quorum(self._reads[0].acks):
            read = self._reads.pop(0)
            confirmed.append((read.request_id, read.index))
        return confirmed

    def forget_sent_before(self, tick):
        """Rounds sent before ``tick`` can no longer extend a lease."""
        for number in [n for n, sent in self._sent_at.items() if sent < tick]:
            del self._sent_at[number]
