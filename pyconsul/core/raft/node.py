"""The Raft state machine of one server (Ongaro & Ousterhout, 2014).

Time is counted in ticks: followers start an election after a randomized
``election_ticks``-to-twice-that silence, leaders send heartbeats every
``heartbeat_ticks``. Nothing here blocks, reads a clock or touches the network:
outputs accumulate until the driver collects them with :meth:`RaftNode.ready`.
"""

import enum

import attr

from pyconsul.core.raft.configuration import Configuration
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
    VoteRequest,
    VoteResponse,
)
from pyconsul.core.raft.progress import Progress, ProgressState


class Role(enum.Enum):
    FOLLOWER = "Follower"
    CANDIDATE = "Candidate"
    LEADER = "Leader"


class NotLeader(Exception):
    """Raised by propose on a node that is not the leader."""

    def __init__(self, leader):
        super().__init__(leader)
        self.leader = leader


@attr.s(slots=True)
class _PendingRead:
    seq: int = attr.ib()
    request_id: object = attr.ib()
    index: int = attr.ib()
    acks: set = attr.ib()


@attr.s(frozen=True, slots=True)
class Ready:
    """One batch of work for the driver, to be done in this order:

    1. persist ``hard_state`` (if not None), ``entries`` and ``snapshot``
       together, with one fsync;
    2. send ``messages``;
    3. apply ``committed_entries`` to the state machine;
    4. call ``RaftNode.advance(ready)``.
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
    ):
        if heartbeat_ticks >= election_ticks:
            raise ValueError("heartbeat_ticks must be below election_ticks")
        self.id = node_id
        self.rng = rng
        self.election_ticks = election_ticks
        self.heartbeat_ticks = heartbeat_ticks
        self.max_append_entries = max_append_entries
        self.max_inflight = max_inflight

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
        # Index of the no-op the current leader appended on election: once it
        # is applied, the state machine holds everything committed before.
        self.term_start_index = 0
        self._read_seq = 0
        self._pending_reads = []
        self._reads_waiting_for_term = []
        self.read_states = []
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = self._random_timeout()

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
        if self.role is Role.LEADER:
            self.heartbeat_elapsed += 1
            if self.heartbeat_elapsed >= self.heartbeat_ticks:
                self.heartbeat_elapsed = 0
                self._broadcast_heartbeat()
            return
        self.election_elapsed += 1
        if not self._is_voter():
            return
        # A sole voter cannot split a vote with anyone: no need to wait.
        if self.configuration.voters == {self.id} or (
            self.election_elapsed >= self.randomized_election_timeout
        ):
            self.campaign()

    def campaign(self) -> None:
        self._become_candidate()
        if self._has_quorum(self.votes, granted=True):
            self._become_leader()
            return
        for voter in sorted(self.configuration.voters - {self.id}):
            self._send(
                VoteRequest(
                    self.term,
                    self.id,
                    voter,
                    self.log.last_index(),
                    self.log.last_term(),
                )
            )

    def propose(self, data: bytes, entry_type=EntryType.COMMAND) -> int:
        """Append ``data`` to the leader's log; returns the entry's index."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        index = self.log.last_index() + 1
        self._append([Entry(index, self.term, entry_type, data)])
        self._broadcast_append()
        return index

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
        self._read_seq += 1
        self._pending_reads.append(
            _PendingRead(self._read_seq, request_id, self.log.committed, {self.id})
        )
        self._broadcast_heartbeat(context=self._read_seq)

    def _acknowledge_reads(self, src, context):
        for read in self._pending_reads:
            if read.seq <= context:
                read.acks.add(src)
        while self._pending_reads and self._has_quorum(
            dict.fromkeys(self._pending_reads[0].acks, True), granted=True
        ):
            read = self._pending_reads.pop(0)
            self.read_states.append((read.request_id, read.index))

    def step(self, msg) -> None:
        if msg.term > self.term:
            leader = msg.src if isinstance(msg, (AppendRequest, SnapshotRequest)) else None
            self._become_follower(msg.term, leader)
        elif msg.term < self.term:
            self._answer_stale(msg)
            return
        handler = self._handlers[type(msg)]
        handler(self, msg)

    # -- the driver's side ---------------------------------------------------

    @property
    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def has_ready(self) -> bool:
        return bool(
            self.outbox
            or self.log.unstable
            or self.log.pending_snapshot
            or self.hard_state != self._persisted_state
            or self.log.committed > self.log.applied
            or self.read_states
        )

    def ready(self) -> Ready:
        hard_state = self.hard_state
        ready = Ready(
            hard_state=None if hard_state == self._persisted_state else hard_state,
            entries=tuple(self.log.unstable),
            snapshot=self.log.pending_snapshot,
            messages=tuple(self.outbox),
            committed_entries=tuple(self.log.next_committed()),
            role=self.role,
            leader=self.leader,
            read_states=tuple(self.read_states),
        )
        self.outbox = []
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
            if mine.acknowledge(self.log.stable_last_index()):
                if self._maybe_commit():
                    self._broadcast_append()

    def compact(self, index: int) -> None:
        """The driver took a snapshot at ``index`` and trimmed the log."""
        # The log reads snapshot and first index from storage; only the
        # configuration history needs trimming here.
        keep = [c for c in self._configurations if c[0] > index]
        base = self._configuration_at(index)
        self._configurations = [(0, base)] + keep

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
        self._pending_reads = []
        self._reads_waiting_for_term = []
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
        last = self.log.last_index()
        self.progress = {
            server_id: Progress(match=0, next=last + 1)
            for server_id in self._replication_targets()
        }
        self.progress[self.id] = Progress(match=self.log.stable_last_index(), next=last + 1)
        # Entries of earlier terms commit only through one of ours (§5.4.2).
        self.term_start_index = last + 1
        self._append([Entry(last + 1, self.term, EntryType.NOOP)])
        self._broadcast_append()

    # -- handlers ---------------------------------------------------------------

    def _answer_stale(self, msg):
        # Tell a deposed leader or candidate about the newer term.
        if isinstance(msg, AppendRequest):
            self._send(AppendResponse(self.term, self.id, msg.src, False, msg.prev_index))
        elif isinstance(msg, VoteRequest):
            self._send(VoteResponse(self.term, self.id, msg.src, False))
        elif isinstance(msg, SnapshotRequest):
            self._send(SnapshotResponse(self.term, self.id, msg.src, 0))

    def _on_vote_request(self, msg: VoteRequest):
        can_vote = self.vote in (None, msg.src) and self.leader is None
        granted = can_vote and self.log.is_up_to_date(msg.last_log_index, msg.last_log_term)
        if granted:
            self.vote = msg.src
            self._reset_timers()
        self._send(VoteResponse(self.term, self.id, msg.src, granted))

    def _on_vote_response(self, msg: VoteResponse):
        if self.role is not Role.CANDIDATE:
            return
        self.votes[msg.src] = msg.granted
        if self._has_quorum(self.votes, granted=True):
            self._become_leader()
        elif self._has_quorum(self.votes, granted=False):
            self._become_follower(self.term, None)

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
        matched = self.log.try_append(msg.prev_index, msg.prev_term, msg.entries, msg.commit)
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
        for entry in msg.entries:
            if entry.type is EntryType.CONFIGURATION:
                self._configurations.append((entry.index, Configuration.decode(entry.data)))
        self._send(
            AppendResponse(self.term, self.id, msg.src, True, matched, context=msg.context)
        )

    def _on_append_response(self, msg: AppendResponse):
        if self.role is not Role.LEADER or msg.src not in self.progress:
            return
        progress = self.progress[msg.src]
        if msg.context:
            self._acknowledge_reads(msg.src, msg.context)
        if not msg.success:
            if progress.reject(msg.index, msg.hint):
                self._send_append(msg.src)
            return
        if progress.acknowledge(msg.index):
            if progress.state is ProgressState.PROBE:
                progress.become_replicate()
            elif progress.state is ProgressState.SNAPSHOT and progress.match >= progress.pending_snapshot:
                progress.become_probe()
            if self._maybe_commit():
                self._broadcast_append()
            else:
                self._send_append(msg.src)
        elif progress.state is ProgressState.PROBE:
            progress.probe_sent = False
            self._send_append(msg.src)

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
        if progress.state is not ProgressState.SNAPSHOT:
            return
        progress.acknowledge(msg.index)
        progress.become_probe()
        self._send_append(msg.src)

    _handlers = {
        VoteRequest: _on_vote_request,
        VoteResponse: _on_vote_response,
        AppendRequest: _on_append_request,
        AppendResponse: _on_append_response,
        SnapshotRequest: _on_snapshot_request,
        SnapshotResponse: _on_snapshot_response,
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

    def _broadcast_heartbeat(self, context=0):
        last = self.log.last_index()
        for server_id in self._replication_targets():
            progress = self.progress[server_id]
            if progress.state is ProgressState.REPLICATE and not context:
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
                        context,
                    )
                )
            else:
                progress.probe_sent = False
                self._send_append(server_id, heartbeat=True, context=context)

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

    # -- helpers ----------------------------------------------------------------

    def _is_voter(self):
        return self.id in self.configuration.voters

    def _has_quorum(self, votes, granted):
        voters = self.configuration.voters
        count = sum(1 for v, g in votes.items() if g is granted and v in voters)
        return count >= self.configuration.quorum()

    def _send(self, msg):
        self.outbox.append(msg)
