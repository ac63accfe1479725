"""The Raft state machine of one server.

It follows the Raft paper (Ongaro & Ousterhout, 2014, §5) and, for pre-vote,
check-quorum, the leader lease, membership changes and leadership transfer,
Ongaro's dissertation ("thesis" below, §3.10, §4, §6, §9.6).

Time is counted in ticks: followers start an election after a randomized
``election_ticks``-to-twice-that silence, leaders send heartbeats every
``heartbeat_ticks``. Nothing here blocks, reads a clock or touches the network:
outputs accumulate until the driver collects them with :meth:`RaftNode.ready`.
"""

import enum

import attr

from pyconsul.core.raft.configuration import Configuration, check_single_change
from pyconsul.core.raft.errors import (
    ConfigurationChangeInProgress,
    LeadershipTransferInProgress,
    NotLeader,
)
from pyconsul.core.raft.log import Compacted, RaftLog
from pyconsul.core.raft.messages import (
    AppendRequest,
    AppendResponse,
    Entry,
    EntryType,
    HardState,
    SnapshotMeta,
    SnapshotRequest,
    SnapshotResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from pyconsul.core.raft.progress import Progress, ProgressState
from pyconsul.core.raft.reads import HeartbeatRounds

__all__ = [
    "ConfigurationChangeInProgress",
    "LeadershipTransferInProgress",
    "NotLeader",
    "RaftNode",
    "Ready",
    "Role",
]


class Role(enum.Enum):
    FOLLOWER = "Follower"
    # Asking whether it could win before disturbing anyone (thesis §9.6).
    PRE_CANDIDATE = "PreCandidate"
    CANDIDATE = "Candidate"
    LEADER = "Leader"


# What a leader sends that makes no promise about its own disk: it may send
# these while it is still writing the entries they carry (thesis §10.2.1).
LEADER_REQUESTS = (AppendRequest, SnapshotRequest, TimeoutNow)


@attr.s(frozen=True, slots=True)
class Ready:
    """One batch of work for the driver:

    - ``committed_entries`` are already on this server's disk: apply them to
      the state machine at once, in order, before any later Ready's;
    - persist ``hard_state`` (if not None), ``entries`` and ``snapshot``
      together, with one fsync; then send ``messages`` (the first part of
      ``split_messages()`` may go before the write ends);
    - then call ``RaftNode.advance(ready)``.

    While a write is in progress the driver may ask for a Ready with
    ``persisting=True``: it holds nothing to write and only the messages
    that need no write, so the state machine and the followers need not
    wait for this server's disk.
    """

    hard_state: HardState | None = attr.ib()
    entries: tuple = attr.ib()
    snapshot: SnapshotMeta | None = attr.ib()
    messages: tuple = attr.ib()
    committed_entries: tuple = attr.ib()
    role: Role = attr.ib()
    leader: str | None = attr.ib()
    # (request id, commit index) of reads confirmed by a quorum: safe to
    # answer once the state machine has applied that index (§6.4).
    read_states: tuple = attr.ib(default=())

    def split_messages(self):
        """(messages that may leave before this Ready is persisted, those
        that must wait for it)."""
        early = tuple(m for m in self.messages if may_send_before_write(self.role, m))
        late = tuple(m for m in self.messages if not may_send_before_write(self.role, m))
        return early, late


def may_send_before_write(role, msg):
    return role is Role.LEADER and isinstance(msg, LEADER_REQUESTS)


class RaftNode:
    def __init__(
        self,
        node_id,
        storage,
        rng,
        election_ticks=10,
        heartbeat_ticks=1,
        applied=0,
        max_append_entries=64,
        max_inflight=256,
        pre_vote=True,
        check_quorum=True,
        lease_ticks=None,
    ):
        if heartbeat_ticks >= election_ticks:
            raise ValueError("heartbeat_ticks must be below election_ticks")
        if lease_ticks is None:
            # Consul's leader lease is half its election timeout.
            lease_ticks = election_ticks // 2
        if not 0 < lease_ticks < election_ticks:
            raise ValueError("lease_ticks must be between 1 and election_ticks - 1")
        self.id = node_id
        self.rng = rng
        self.election_ticks = election_ticks
        self.heartbeat_ticks = heartbeat_ticks
        self.lease_ticks = lease_ticks
        self.max_append_entries = max_append_entries
        self.max_inflight = max_inflight
        self.pre_vote = pre_vote
        self.check_quorum = check_quorum

        self.log = RaftLog(storage, applied)
        state = storage.initial_state()
        self.term = state.term
        self.vote = state.vote
        self._persisted_state = state

        self.role = Role.FOLLOWER
        self.leader = None
        self.votes = {}
        self.progress = {}
        self.outbox = []
        # Proposals since the last Ready: they go to the followers together,
        # one AppendRequest each, when the driver next collects its work.
        self._broadcast_pending = False
        # Index of the no-op the current leader appended on election: once it
        # is applied, the state machine holds everything committed before.
        self.term_start_index = 0
        self.rounds = HeartbeatRounds()
        self._reads_waiting_for_term = []
        self.read_states = []
        # Ticks since this node started: the leader's clock for its lease.
        self.ticks = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = self._random_timeout()
        # A server that restarts may have acknowledged a leader's lease just
        # before it went down, and cannot know; so it refuses votes for its
        # first election timeout, as if it had just heard from a leader.
        self._restarted = state.term > 0
        # Leadership transfer (thesis §3.10): the server we hand over to.
        self.transfer_target = None
        self._transfer_elapsed = 0
        # Once a TimeoutNow went out, the target may win votes that ignore
        # our lease at any later moment: no lease for the rest of the term.
        self._lease_waived = False

        self._configurations = [(0, storage.snapshot_meta().configuration)]
        for entry in storage.configuration_entries():
            self._configurations.append((entry.index, Configuration.decode(entry.data)))

    # -- inputs ------------------------------------------------------------

    def bootstrap(self, configuration: Configuration) -> None:
        """Start a brand-new cluster: entry 1 holds the first configuration."""
        if self.log.last_index() != 0 or self.term != 0:
            raise ValueError("cannot bootstrap a node that already has state")
        self.term = 1
        entry = Entry(1, 1, EntryType.CONFIGURATION, configuration.encode())
        self._append([entry])

    def tick(self) -> None:
        self.ticks += 1
        if self.role is Role.LEADER:
            self._tick_leader()
        else:
            self._tick_election()

    def _tick_election(self):
        self.election_elapsed += 1
        if not self._may_campaign():
            return
        # A sole voter cannot split a vote with anyone: no need to wait,
        # unless it heard from a leader lately, whose lease it honours too.
        sole_voter = self.configuration.voters == {self.id}
        if (sole_voter and not self._heard_from_leader_recently()) or (
            self.election_elapsed >= self.randomized_election_timeout
        ):
            self.campaign()

    def _tick_leader(self):
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.transfer_target is not None:
            self._transfer_elapsed += 1
            if self._transfer_elapsed >= self.election_ticks:
                # The target did not take over in time: lead on (§3.10).
                self.transfer_target = None
        if self.election_elapsed >= self.election_ticks:
            self.election_elapsed = 0
            if self.check_quorum and not self._quorum_recently_active():
                # Check-quorum (thesis §6.2): a leader cut off from a majority
                # steps down rather than keep clients waiting on it.
                self._become_follower(self.term, None)
                return
            for server_id, progress in self.progress.items():
                progress.recent_active = server_id == self.id
        if self.heartbeat_elapsed >= self.heartbeat_ticks:
            self.heartbeat_elapsed = 0
            self._broadcast_heartbeat(self.rounds.start_round(self.ticks), periodic=True)
        self.rounds.forget_sent_before(self.ticks - self.lease_ticks)

    def campaign(self) -> None:
        """Start an election now, as when the election timer fires: with
        pre-vote on, first ask whether a quorum would vote for us."""
        if self.role is Role.LEADER or not self._may_campaign():
            return
        if self.pre_vote:
            self._start_pre_vote()
        else:
            self._start_election()

    def _start_pre_vote(self):
        # Thesis §9.6: our term stays as it is, so a server that cannot win
        # (partitioned, or with a stale log) never forces the others to a
        # new term when it comes back.
        self.role = Role.PRE_CANDIDATE
        self.leader = None
        self.votes = {self.id: True}
        self._reset_timers()
        if self._has_quorum(self.votes, granted=True):
            self._start_election()
            return
        self._request_votes(self.term + 1, pre_vote=True)

    def _start_election(self, transfer_term=0):
        self._become_candidate()
        if self._has_quorum(self.votes, granted=True):
            self._become_leader()
            return
        self._request_votes(self.term, transfer_term=transfer_term)

    def _request_votes(self, term, pre_vote=False, transfer_term=0):
        last_index, last_term = self.log.last_index(), self.log.last_term()
        for voter in sorted(self.configuration.voters - {self.id}):
            self._send(
                VoteRequest(
                    term, self.id, voter, last_index, last_term, pre_vote, transfer_term
                )
            )

    def propose(self, data: bytes, entry_type=EntryType.COMMAND) -> int:
        """Append ``data`` to the leader's log; returns the entry's index."""
        if entry_type is EntryType.CONFIGURATION:
            return self.change_configuration(Configuration.decode(data))
        self._check_accepts_entries()
        index = self.log.last_index() + 1
        self._append([Entry(index, self.term, entry_type, data)])
        self._broadcast_pending = True
        return index

    def _check_accepts_entries(self):
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        if self.transfer_target is not None:
            raise LeadershipTransferInProgress(self.transfer_target)

    # -- membership (thesis §4.1) -----------------------------------------------

    def change_configuration(self, configuration: Configuration) -> int:
        """Append ``configuration``, which must differ from the current one
        by one server; returns its entry index. It is in effect at once and
        the next change may start once it is committed."""
        self._check_accepts_entries()
        pending_at = self._configurations[-1][0]
        if pending_at > self.log.committed:
            raise ConfigurationChangeInProgress(
                "configuration entry %d is not committed yet" % pending_at
            )
        if self.log.committed < self.term_start_index:
            # Without this, a change made by a new leader and an uncommitted
            # one of a deposed leader could differ by two servers, and their
            # majorities need not overlap (Ongaro's correction to §4.1 on
            # the raft-dev list, 2015).
            raise ConfigurationChangeInProgress(
                "this leader has not committed an entry of its term yet"
            )
        check_single_change(self.configuration, configuration)
        index = self.log.last_index() + 1
        self._append([Entry(index, self.term, EntryType.CONFIGURATION, configuration.encode())])
        self._broadcast_pending = True
        return index

    def add_server(self, server_id, address, voter=True) -> int:
        """Add a server, change its address, or promote it to voter."""
        return self.change_configuration(
            self.configuration.with_server(server_id, address, voter)
        )

    def remove_server(self, server_id) -> int:
        """Remove a server. When that is the leader itself, it keeps leading
        until the new configuration commits, then steps down (thesis §4.2.2)."""
        self._check_accepts_entries()
        if self.configuration.server(server_id) is None:
            raise ValueError("%s is not in the configuration" % server_id)
        return self.change_configuration(self.configuration.without_server(server_id))

    # -- leadership transfer (thesis §3.10) -----------------------------------

    def transfer_leadership(self, target_id=None):
        """Hand leadership to ``target_id``, or to the most up-to-date voter.

        The leader stops taking proposals, brings the target's log up to
        date, then tells it to campaign at once (TimeoutNow). Returns the
        target's id. Abandoned if not done within an election timeout.
        """
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        if target_id is None:
            target_id = self._most_up_to_date_voter()
            if target_id is None:
                raise ValueError("there is no other voter to hand leadership to")
        elif target_id == self.id:
            raise ValueError("%s already leads" % target_id)
        elif target_id not in self.configuration.voters:
            raise ValueError("%s is not a voter" % target_id)
        if self.transfer_target != target_id:
            self.transfer_target = target_id
            self._transfer_elapsed = 0
            if self.progress[target_id].match == self.log.last_index():
                self._send_timeout_now(target_id)
            else:
                self._send_append(target_id)
        return target_id

    def _most_up_to_date_voter(self):
        candidates = [
            (-self.progress[v].match, v)
            for v in self.configuration.voters
            if v != self.id and v in self.progress
        ]
        return min(candidates)[1] if candidates else None

    def _send_timeout_now(self, target_id):
        self._lease_waived = True
        self._send(TimeoutNow(self.term, self.id, target_id))

    # -- reads ------------------------------------------------------------------

    def read_index(self, request_id) -> None:
        """Ask for a linearizable read point (ReadIndex, Raft thesis §6.4).

        Once a quorum has confirmed this node is still leader, Ready's
        ``read_states`` carries ``(request_id, index)``: the read may be
        served when the state machine has applied ``index``.
        """
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        if self._term_or_zero(self.log.committed) != self.term:
            # Our commit index may lag until an entry of our term commits.
            self._reads_waiting_for_term.append(request_id)
            return
        self._start_read(request_id)

    def _start_read(self, request_id):
        if self.configuration.voters == {self.id}:
            self.read_states.append((request_id, self.log.committed))
            return
        number = self.rounds.start_read(request_id, self.log.committed, self.id, self.ticks)
        self._broadcast_heartbeat(number)

    def lease_valid(self) -> bool:
        """Whether this leader may serve reads without asking a quorum.

        True while a quorum of voters answered a heartbeat round sent less
        than ``lease_ticks`` ago: each of them refuses votes for an election
        timeout after hearing from us (check-quorum), so no other leader can
        have been elected since (thesis §6.4.1). The lease assumes that clocks
        tick at about the same rate, which ``lease_ticks`` being half the
        election timeout leaves room for. The driver must still wait for the
        state machine to apply ``term_start_index`` before serving a read.
        """
        if self.role is not Role.LEADER or not self.check_quorum:
            return False
        if self.transfer_target is not None or self._lease_waived:
            return False
        if not self._is_voter():
            # Being removed: the voters left may hold a configuration that
            # lets one of them lead alone, without asking anybody.
            return False
        fresh = {}
        for voter in self.configuration.voters:
            if voter == self.id:
                fresh[voter] = True
                continue
            progress = self.progress.get(voter)
            heard = progress.heard_since_tick if progress is not None else None
            fresh[voter] = heard is not None and self.ticks - heard < self.lease_ticks
        return self._has_quorum(fresh, granted=True)

    # -- messages ---------------------------------------------------------------

    def step(self, msg) -> None:
        if msg.term > self.term:
            if isinstance(msg, VoteRequest) and self._ignores_vote_request(msg):
                return
            if isinstance(msg, VoteRequest) and msg.pre_vote:
                pass  # a pre-vote changes nobody's term
            elif isinstance(msg, VoteResponse) and msg.pre_vote and msg.granted:
                pass  # carries the term we asked about, not a newer one
            else:
                leader = msg.src if isinstance(msg, _FROM_LEADER) else None
                self._become_follower(msg.term, leader)
        elif msg.term < self.term:
            self._answer_stale(msg)
            return
        handler = self._handlers[type(msg)]
        handler(self, msg)

    def _ignores_vote_request(self, msg):
        """Leader stickiness (thesis §4.2.3, §6.2): while we have heard from
        a leader within the election timeout, a candidate at a higher term is
        ignored altogether, so a server that was cut off (or removed) cannot
        depose a healthy leader by bumping terms. A transfer the leader itself
        started (the candidate's ``transfer_term`` is at least ours) is let
        through."""
        if not self._in_lease():
            return False
        return not (msg.transfer_term and msg.transfer_term >= self.term)

    def _in_lease(self):
        if not self.check_quorum:
            return False
        if self.leader is not None:
            return self.election_elapsed < self.election_ticks
        return self._restarted and self.ticks < self.election_ticks

    def _heard_from_leader_recently(self):
        return self.leader is not None and self.election_elapsed < self.election_ticks

    # -- the driver's side ---------------------------------------------------

    @property
    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def has_ready(self, persisting=False) -> bool:
        if persisting:
            return bool(
                self._broadcast_pending
                or self.log.has_applicable()
                or self.read_states
                or any(may_send_before_write(self.role, m) for m in self.outbox)
            )
        return bool(
            self.outbox
            or self._broadcast_pending
            or self.log.unstable
            or self.log.pending_snapshot
            or self.hard_state != self._persisted_state
            or self.log.has_applicable()
            or self.read_states
        )

    def ready(self, persisting=False) -> Ready:
        """The next batch of work; see :class:`Ready` for ``persisting``."""
        if self._broadcast_pending:
            self._broadcast_pending = False
            if self.role is Role.LEADER:
                self._broadcast_append()
        if persisting:
            messages = [m for m in self.outbox if may_send_before_write(self.role, m)]
            self.outbox = [m for m in self.outbox if not may_send_before_write(self.role, m)]
            hard_state, entries, snapshot = None, (), None
        else:
            messages, self.outbox = self.outbox, []
            hard_state = self.hard_state
            if hard_state == self._persisted_state:
                hard_state = None
            entries, snapshot = tuple(self.log.unstable), self.log.pending_snapshot
        ready = Ready(
            hard_state=hard_state,
            entries=entries,
            snapshot=snapshot,
            messages=tuple(messages),
            committed_entries=tuple(self.log.take_applicable()),
            role=self.role,
            leader=self.leader,
            read_states=tuple(self.read_states),
        )
        self.read_states = []
        return ready

    def advance(self, ready: Ready) -> None:
        if ready.hard_state is not None:
            self._persisted_state = ready.hard_state
        if ready.snapshot is not None:
            self.log.snapshot_persisted(ready.snapshot)
        if ready.entries:
            last = ready.entries[-1]
            self.log.stable_to(last.index, last.term)
        if ready.committed_entries:
            self.log.applied_to(ready.committed_entries[-1].index)
        if self.role is Role.LEADER:
            # The leader counts itself only for what it has on disk.
            mine = self.progress[self.id]
            if mine.acknowledge(self.log.stable_last_index()) and self._maybe_commit():
                self._commit_advanced()

    def compact(self, index: int) -> None:
        """The driver took a snapshot at ``index`` and trimmed the log."""
        # The log reads snapshot and first index from storage; only the
        # configuration history needs trimming here.
        keep = [c for c in self._configurations if c[0] > index]
        base = self._configuration_at(index)
        self._configurations = [(0, base)] + keep

    def report_snapshot(self, server_id, success: bool) -> None:
        """The driver finished (or failed) sending our snapshot's bytes to
        ``server_id``. On success we probe from the snapshot's index; on
        failure we probe from what the follower had, at the next heartbeat."""
        progress = self._progress_of(server_id)
        if progress is None or progress.state is not ProgressState.SNAPSHOT:
            return
        if success:
            progress.become_probe()
            self._send_append(server_id)
        else:
            progress.snapshot_failed()

    def report_unreachable(self, server_id) -> None:
        """A send to ``server_id`` failed: the messages streamed to it may be
        lost, so find out where its log ends before sending more."""
        progress = self._progress_of(server_id)
        if progress is not None and progress.state is ProgressState.REPLICATE:
            progress.become_probe()
            progress.pause_probing()

    def _progress_of(self, server_id):
        if self.role is not Role.LEADER or server_id == self.id:
            return None
        return self.progress.get(server_id)

    # -- queries ----------------------------------------------------------------

    @property
    def configuration(self) -> Configuration:
        return self._configurations[-1][1]

    def configuration_at(self, index: int) -> Configuration:
        return self._configuration_at(index)

    def _configuration_at(self, index):
        current = self._configurations[0][1]
        for at, configuration in self._configurations:
            if at <= index:
                current = configuration
        return current

    # -- roles ------------------------------------------------------------------

    def _random_timeout(self):
        return self.election_ticks + self.rng.randrange(self.election_ticks)

    def _reset_timers(self):
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = self._random_timeout()

    def _become_follower(self, term, leader):
        if term != self.term:
            self.term = term
            self.vote = None
        self.role = Role.FOLLOWER
        self.leader = leader
        self.progress = {}
        self.rounds.reset()
        self._reads_waiting_for_term = []
        self.transfer_target = None
        self._reset_timers()

    def _become_candidate(self):
        self.term += 1
        self.vote = self.id
        self.role = Role.CANDIDATE
        self.leader = None
        self.votes = {self.id: True}
        self._reset_timers()

    def _become_leader(self):
        self.role = Role.LEADER
        self.leader = self.id
        self._reset_timers()
        self.rounds.reset()
        self.transfer_target = None
        self._lease_waived = False
        last = self.log.last_index()
        self.progress = {
            server_id: Progress(match=0, next=last + 1)
            for server_id in self._replication_targets()
        }
        self.progress[self.id] = Progress(
            match=self.log.stable_last_index(), next=last + 1, recent_active=True
        )
        # Entries of earlier terms commit only through one of ours (§5.4.2).
        self.term_start_index = last + 1
        self._append([Entry(last + 1, self.term, EntryType.NOOP)])
        self._broadcast_append()

    # -- handlers ---------------------------------------------------------------

    def _answer_stale(self, msg):
        # Tell a deposed leader or candidate about the newer term. This is
        # also how a leader learns that a server it cannot reach by votes
        # (they are ignored, §6.2) has moved to a newer term.
        if isinstance(msg, AppendRequest):
            self._send(AppendResponse(self.term, self.id, msg.src, False, msg.prev_index))
        elif isinstance(msg, VoteRequest):
            self._send(VoteResponse(self.term, self.id, msg.src, False, msg.pre_vote))
        elif isinstance(msg, SnapshotRequest):
            self._send(SnapshotResponse(self.term, self.id, msg.src, 0))

    def _on_vote_request(self, msg: VoteRequest):
        if msg.pre_vote:
            # Granting a pre-vote promises nothing and changes nothing; it
            # is refused while we still hear from a leader (thesis §9.6).
            can_vote = (
                msg.term > self.term
                or self.vote == msg.src
                or (self.vote is None and self.leader is None)
            ) and not self._heard_from_leader_recently()
        else:
            can_vote = self.vote == msg.src or (self.vote is None and self.leader is None)
        granted = can_vote and self.log.is_up_to_date(msg.last_log_index, msg.last_log_term)
        if granted and not msg.pre_vote:
            self.vote = msg.src
            self._reset_timers()
        term = msg.term if granted and msg.pre_vote else self.term
        self._send(VoteResponse(term, self.id, msg.src, granted, msg.pre_vote))

    def _on_vote_response(self, msg: VoteResponse):
        if msg.pre_vote:
            if self.role is not Role.PRE_CANDIDATE:
                return
            if msg.granted and msg.term != self.term + 1:
                return
            self.votes[msg.src] = msg.granted
            if self._has_quorum(self.votes, granted=True):
                self._start_election()
            elif self._has_quorum(self.votes, granted=False):
                self._become_follower(self.term, None)
            return
        if self.role is not Role.CANDIDATE:
            return
        self.votes[msg.src] = msg.granted
        if self._has_quorum(self.votes, granted=True):
            self._become_leader()
        elif self._has_quorum(self.votes, granted=False):
            self._become_follower(self.term, None)

    def _on_timeout_now(self, msg: TimeoutNow):
        # The leader handed over to us: campaign at once, without a
        # pre-vote, and ask voters to waive its lease (thesis §3.10).
        if self.role is Role.LEADER or not self._may_campaign():
            return
        self._start_election(transfer_term=msg.term)

    def _on_append_request(self, msg: AppendRequest):
        self.role = Role.FOLLOWER
        self.leader = msg.src
        self.election_elapsed = 0
        if msg.prev_index < self.log.committed:
            # Already have all of this committed; say how far we are.
            self._send(
                AppendResponse(
                    self.term, self.id, msg.src, True, self.log.committed, context=msg.context
                )
            )
            return
        matched, written_from = self.log.try_append(
            msg.prev_index, msg.prev_term, msg.entries, msg.commit
        )
        if matched is None:
            self._send(
                AppendResponse(
                    self.term,
                    self.id,
                    msg.src,
                    False,
                    msg.prev_index,
                    hint=self.log.last_index(),
                    context=msg.context,
                )
            )
            return
        if written_from is not None:
            self._log_rewritten_from(written_from, msg.entries)
        self._send(
            AppendResponse(self.term, self.id, msg.src, True, matched, context=msg.context)
        )

    def _log_rewritten_from(self, index, entries):
        # Configurations take effect when appended, so one that a newer
        # leader's entries replaced is no longer in effect either (§4.1).
        self._configurations = [c for c in self._configurations if c[0] < index]
        for entry in entries:
            if entry.index >= index and entry.type is EntryType.CONFIGURATION:
                self._configurations.append((entry.index, Configuration.decode(entry.data)))

    def _on_append_response(self, msg: AppendResponse):
        if self.role is not Role.LEADER or msg.src not in self.progress:
            return
        progress = self.progress[msg.src]
        progress.recent_active = True
        if msg.context:
            self._heartbeat_answered(msg.src, progress, msg.context)
        if not msg.success:
            if progress.reject(msg.index, msg.hint):
                self._send_append(msg.src)
            return
        self._follower_matched(msg.src, progress, msg.index)

    def _heartbeat_answered(self, server_id, progress, number):
        sent = self.rounds.answered(server_id, number)
        if sent is not None and (
            progress.heard_since_tick is None or progress.heard_since_tick < sent
        ):
            progress.heard_since_tick = sent
        confirmed = self.rounds.confirmed_reads(
            lambda acks: self._has_quorum(dict.fromkeys(acks, True), granted=True)
        )
        self.read_states.extend(confirmed)

    def _follower_matched(self, server_id, progress, index):
        """``server_id``'s log matches ours up to ``index``."""
        news = progress.acknowledge(index)
        # A probe answered at exactly ``match`` found where the logs meet,
        # even if we knew that match already (say after a failed send).
        found = progress.state is ProgressState.PROBE and index == progress.match
        if news or found:
            if progress.state is ProgressState.PROBE:
                progress.become_replicate()
            elif (
                progress.state is ProgressState.SNAPSHOT
                and progress.match >= progress.pending_snapshot
            ):
                progress.become_replicate()
            if news and self._maybe_commit():
                self._commit_advanced()
            else:
                self._send_append(server_id)
        if (
            self.role is Role.LEADER
            and server_id == self.transfer_target
            and progress.match == self.log.last_index()
        ):
            self._send_timeout_now(server_id)

    def _on_snapshot_request(self, msg: SnapshotRequest):
        self.role = Role.FOLLOWER
        self.leader = msg.src
        self.election_elapsed = 0
        meta = msg.meta
        if meta.index <= self.log.committed:
            self._send(SnapshotResponse(self.term, self.id, msg.src, self.log.committed))
            return
        if self.log.matches(meta.index, meta.term) and self.log.last_index() >= meta.index:
            # Our log already holds the snapshot's last entry: just commit it.
            self.log.commit_to(meta.index)
        else:
            self.log.restore(meta)
            self._configurations = [(0, meta.configuration)]
        self._send(SnapshotResponse(self.term, self.id, msg.src, meta.index))

    def _on_snapshot_response(self, msg: SnapshotResponse):
        if self.role is not Role.LEADER or msg.src not in self.progress:
            return
        progress = self.progress[msg.src]
        progress.recent_active = True
        if progress.state is ProgressState.SNAPSHOT and msg.index < progress.pending_snapshot:
            # It did not take this snapshot: find out where it stands.
            progress.become_probe()
            self._send_append(msg.src)
            return
        # The follower's log now matches ours up to ``msg.index``.
        self._follower_matched(msg.src, progress, msg.index)

    _handlers = {
        VoteRequest: _on_vote_request,
        VoteResponse: _on_vote_response,
        AppendRequest: _on_append_request,
        AppendResponse: _on_append_response,
        SnapshotRequest: _on_snapshot_request,
        SnapshotResponse: _on_snapshot_response,
        TimeoutNow: _on_timeout_now,
    }

    # -- replication ------------------------------------------------------------

    def _append(self, entries):
        self.log.append(entries)
        for entry in entries:
            if entry.type is EntryType.CONFIGURATION:
                configuration = Configuration.decode(entry.data)
                self._configurations.append((entry.index, configuration))
                if self.role is Role.LEADER:
                    self._track_new_servers(configuration)

    def _track_new_servers(self, configuration):
        last = self.log.last_index()
        for server in configuration.servers:
            if server.id not in self.progress:
                self.progress[server.id] = Progress(match=0, next=last + 1)
        for server_id in list(self.progress):
            if server_id != self.id and configuration.server(server_id) is None:
                del self.progress[server_id]

    def _replication_targets(self):
        return [s.id for s in self.configuration.servers if s.id != self.id]

    def _broadcast_append(self):
        for server_id in self._replication_targets():
            self._send_append(server_id)

    def _broadcast_heartbeat(self, number, periodic=False):
        """Send heartbeat round ``number`` to every follower."""
        last = self.log.last_index()
        for server_id in self._replication_targets():
            progress = self.progress[server_id]
            if progress.state is ProgressState.REPLICATE and periodic:
                stalled = progress.match == progress.match_at_heartbeat
                progress.match_at_heartbeat = progress.match
                if stalled and progress.match < last:
                    progress.become_probe()
            if progress.state is ProgressState.REPLICATE:
                # Prove leadership and carry the commit index; a match at
                # ``match`` is certain, so this never bounces.
                self._send(
                    AppendRequest(
                        self.term,
                        self.id,
                        server_id,
                        progress.match,
                        self._term_or_zero(progress.match),
                        (),
                        min(self.log.committed, progress.match),
                        number,
                    )
                )
            else:
                progress.probe_sent = False
                self._send_append(server_id, heartbeat=True, context=number)

    def _term_or_zero(self, index):
        try:
            return self.log.term(index) or 0
        except Compacted:
            return 0

    def _send_append(self, server_id, heartbeat=False, context=0):
        """Send what ``server_id`` is missing, as far as its state allows.

        A probing follower gets one message (empty if need be) and nothing
        more until it answers; a replicating one gets batches of up to
        ``max_append_entries`` until ``max_inflight`` are unanswered.
        """
        progress = self.progress[server_id]
        while True:
            if progress.state is ProgressState.SNAPSHOT:
                return
            probing = progress.state is ProgressState.PROBE
            if probing and progress.probe_sent:
                return
            if not probing and len(progress.inflight) >= self.max_inflight:
                return
            prev_index = progress.next - 1
            try:
                prev_term = self.log.term(prev_index)
                entries = self.log.entries(
                    progress.next, progress.next + self.max_append_entries
                )
            except Compacted:
                self._send_snapshot(server_id, progress)
                return
            if not entries and not probing and not heartbeat:
                return
            self._send(
                AppendRequest(
                    self.term,
                    self.id,
                    server_id,
                    prev_index,
                    prev_term,
                    entries,
                    self.log.committed,
                    context,
                )
            )
            if probing:
                progress.probe_sent = True
                return
            if not entries:
                return
            progress.next = entries[-1].index + 1
            progress.inflight.append(entries[-1].index)

    def _send_snapshot(self, server_id, progress):
        meta = self.log.snapshot()
        progress.become_snapshot(meta.index)
        self._send(SnapshotRequest(self.term, self.id, server_id, meta))

    def _maybe_commit(self) -> bool:
        """Advance the commit index to what a quorum of voters has (§5.3, §5.4)."""
        voters = self.configuration.voters
        matches = sorted(
            (self.progress[v].match for v in voters if v in self.progress), reverse=True
        )
        quorum = self.configuration.quorum()
        if len(matches) < quorum:
            return False
        candidate = matches[quorum - 1]
        if candidate <= self.log.committed:
            return False
        if self._term_or_zero(candidate) != self.term:
            return False
        self.log.commit_to(candidate)
        waiting, self._reads_waiting_for_term = self._reads_waiting_for_term, []
        for request_id in waiting:
            self._start_read(request_id)
        return True

    def _commit_advanced(self):
        # Tell followers the new commit index now, with entries if they
        # need some and in an empty append otherwise, so their state
        # machines (and stale reads) keep up without waiting a heartbeat.
        for server_id in self._replication_targets():
            self._send_append(server_id, heartbeat=True)
        if not self._is_voter() and self.log.committed >= self._configurations[-1][0]:
            self._step_down_removed()

    def _step_down_removed(self):
        # Thesis §4.2.2: a leader that is no longer a voter manages the
        # cluster until the configuration without it commits, then steps
        # down. Handing over to a voter that has our whole log spares the
        # cluster an election timeout without a leader.
        target = self._most_up_to_date_voter()
        if target is not None and self.progress[target].match == self.log.last_index():
            self._send_timeout_now(target)
        self._become_follower(self.term, None)

    # -- helpers ----------------------------------------------------------------

    def _is_voter(self):
        return self.id in self.configuration.voters

    def _may_campaign(self):
        """A server campaigns while it votes in its latest configuration or
        in the last one it knows to be committed. The second case is a server
        whose removal is not committed yet: if it led and failed, it may be
        the only one holding the entry that removes it, and must be able to
        lead again to commit it (then it steps down, thesis §4.2.2). Votes
        are counted in the latest configuration, so it never counts its own.
        A server that knows it is out of the configuration never campaigns.
        """
        if self._is_voter():
            return True
        return self.id in self._configuration_at(self.log.committed).voters

    def _quorum_recently_active(self):
        active = {
            server_id: progress.recent_active
            for server_id, progress in self.progress.items()
        }
        return self._has_quorum(active, granted=True)

    def _has_quorum(self, votes, granted):
        voters = self.configuration.voters
        count = sum(1 for v, g in votes.items() if g is granted and v in voters)
        return count >= self.configuration.quorum()

    def _send(self, msg):
        self.outbox.append(msg)


# Messages that only the leader of their term sends.
_FROM_LEADER = (AppendRequest, SnapshotRequest, TimeoutNow)
