"""Runs the Raft core on the reactor: ticks, persistence, messages, applying.

The driver follows the core's contract for each Ready batch: apply its
committed entries (they are already on disk), persist the batch (one
transaction, one fsync, in a worker thread so the reactor keeps accepting
requests meanwhile), then send its messages, then ``advance``. Proposals
made while a batch is being written wait in the core and all go to disk
together in the next batch: that is the group commit. Meanwhile, entries
that became committed are applied and a leader keeps replicating, so
neither waits for this server's disk.
"""

import io
import itertools

import attr

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from pyconsul.logs import Logger

from pyconsul.core.raft import (
    AppendRequest,
    Configuration,
    EntryType,
    NotLeader,
    RaftNode,
    Role,
    Server,
    SnapshotMeta,
    SnapshotRequest,
)
from pyconsul.storage import Batch
from pyconsul.storage.snapshots import pack_records, unpack_records


# Snapshots received from leaders and not yet accepted by the core: only
# the newest few can still matter.
MAX_INCOMING_SNAPSHOTS = 4

# More missed ticks than this change nothing: every timer has run out.
MAX_CATCH_UP_TICKS = 100


class LeadershipLost(Exception):
    """The leader stepped down before an entry it accepted was committed."""


class ShuttingDown(Exception):
    """The server stopped before the request completed."""


def run_now(function, *args):
    """Run ``function`` synchronously: for in-memory stores and tests."""
    return maybeDeferred(function, *args)


class SerialExecutor:
    """Runs submitted calls one after another, each through ``run``."""

    def __init__(self, run):
        self._run = run
        self._tail = succeed(None)

    def submit(self, function, *args):
        done = Deferred()

        def start(_):
            d = self._run(function, *args)
            d.chainDeferred(done)
            # The queue moves on whether this call worked or not; the
            # caller sees the outcome through ``done``.
            return d.addErrback(lambda _: None)

        self._tail.addCallback(start)
        return done


class RaftDriver:
    log = Logger()

    def __init__(
        self,
        *,
        node_id,
        address,
        log_store,
        snapshot_store,
        fsm,
        clock,
        rng,
        tick_seconds,
        election_ticks=10,
        heartbeat_ticks=1,
        bootstrap=False,
        transport=None,
        run_in_thread=run_now,
        run_snapshot_in_thread=None,
        snapshot_threshold=16384,
        trailing_logs=10240,
        on_fatal=None,
    ):
        self.node_id = node_id
        self.address = address
        self.log_store = log_store
        self.snapshot_store = snapshot_store
        self.fsm = fsm
        self.clock = clock
        self.rng = rng
        self.tick_seconds = tick_seconds
        self.election_ticks = election_ticks
        self.heartbeat_ticks = heartbeat_ticks
        self.bootstrap = bootstrap
        self.transport = transport
        self.disk = SerialExecutor(run_in_thread)
        self.snapshot_writer = SerialExecutor(run_snapshot_in_thread or run_in_thread)
        self.snapshot_threshold = snapshot_threshold
        self.trailing_logs = trailing_logs
        self.on_fatal = on_fatal or (lambda failure: None)
        # Set by the server: called with the new Role, and when a leader
        # becomes known.
        self.on_leadership = lambda role: None
        self.on_leader_known = lambda: None

        self.node = None
        self.known_addresses = {}
        self._incoming_snapshots = {}  # index -> (meta, bytes) from the leader
        self._proposals = {}  # index -> (term, Deferred)
        self._read_ids = itertools.count(1)
        self._reads_requested = {}  # request id -> Deferred
        self._reads_waiting = []  # (index, Deferred) until applied
        self._barriers = []  # (index, Deferred): leader's term start applied
        self._writing = False
        self._processing_scheduled = None
        self._ticker = None
        self._snapshotting = False
        self._last_snapshot_index = 0
        self._last_leader_contact = None
        self._role_seen = Role.FOLLOWER
        self._leader_seen = None
        self._stopped = False
        self._idle_waiters = []

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        applied = 0
        latest = self.snapshot_store.latest()
        if latest is not None:
            meta, blob = latest
            self.fsm.restore(unpack_records(blob))
            self.fsm.notify()
            applied = meta.index
            self._last_snapshot_index = meta.index
            if meta.index > self.log_store.snapshot_meta().index:
                # The snapshot file landed but the crash came before the log
                # recorded it: record it now (no entries are dropped).
                self.log_store.compacted(meta, self.log_store.first_index())
        self.node = RaftNode(
            self.node_id,
            self.log_store,
            self.rng,
            election_ticks=self.election_ticks,
            heartbeat_ticks=self.heartbeat_ticks,
            applied=applied,
        )
        if self.bootstrap and self.node.log.last_index() == 0 and self.node.term == 0:
            self.log.info("Bootstrapping a new cluster with this server as its only voter")
            self.node.bootstrap(Configuration([Server(self.node_id, self.address)]))
        if self.transport is not None:
            self.transport.address_of = self._address_of
            self.transport.on_message = self.receive
            self.transport.on_unreachable = self._unreachable
            self.transport.on_snapshot_sent = self._snapshot_sent
            self.transport.on_snapshot = self._snapshot_arrived
        self._last_tick = self.clock.seconds()
        self._ticker = self.clock.callLater(self.tick_seconds, self._tick)
        self._process()

    def _address_of(self, server_id):
        server = self.node.configuration.server(server_id)
        if server is not None:
            return server.address
        # A server that was just added knows no configuration yet, but it
        # must answer the leader: gossip tells it where the servers are.
        return self.known_addresses.get(server_id)

    def learn_address(self, server_id, address):
        """Where a server can be reached, as gossip says."""
        self.known_addresses[server_id] = address

    def _unreachable(self, server_id):
        if not self._stopped:
            self.node.report_unreachable(server_id)
            self._schedule()

    def _snapshot_arrived(self, meta, data):
        """A leader's snapshot, kept until our core accepts it (or a newer one)."""
        self._incoming_snapshots[meta.index] = (meta, data)
        for index in sorted(self._incoming_snapshots)[:-MAX_INCOMING_SNAPSHOTS]:
            del self._incoming_snapshots[index]

    def _snapshot_sent(self, server_id, success):
        if not self._stopped:
            self.node.report_snapshot(server_id, success)
            self._schedule()

    def can_bootstrap(self):
        """Whether this server has never had any Raft state."""
        return self.node.log.last_index() == 0 and self.node.term == 0

    def bootstrap_cluster(self, configuration):
        """Start a new cluster with ``configuration`` (see bootstrap_expect)."""
        if self.can_bootstrap():
            self.node.bootstrap(configuration)
            self._schedule()

    def stop(self):
        """Stop ticking, fail what is pending, and wait for the disk."""
        self._stopped = True
        if self._ticker is not None and self._ticker.active():
            self._ticker.cancel()
        if self._processing_scheduled is not None and self._processing_scheduled.active():
            self._processing_scheduled.cancel()
        self._fail_pending(ShuttingDown())
        return self._when_idle().addCallback(lambda _: self.log_store.close())

    def _when_idle(self):
        """Fires once no batch or snapshot is being written."""
        if not self._writing and not self._snapshotting:
            return succeed(None)
        d = Deferred()
        self._idle_waiters.append(d)
        return d

    def _check_idle(self):
        if not self._writing and not self._snapshotting:
            waiters, self._idle_waiters = self._idle_waiters, []
            for d in waiters:
                d.callback(None)

    # -- requests ------------------------------------------------------------

    def propose(self, data):
        """Replicate a command; fires with the FSM's result once applied."""
        if self._stopped:
            raise ShuttingDown()
        index = self.node.propose(data)  # raises NotLeader
        d = Deferred()
        self._proposals[index] = (self.node.term, d)
        self._schedule()
        return d

    def read_index(self):
        """Fires when a linearizable read may be served locally: a quorum
        confirmed this node still leads, and everything committed before
        the request was applied (``?consistent``)."""
        request_id = next(self._read_ids)
        self.node.read_index(request_id)  # raises NotLeader
        d = Deferred()
        self._reads_requested[request_id] = d
        self._schedule()
        return d

    def barrier(self):
        """For default-consistency reads on the leader: None if the leader's
        lease holds and it has applied everything committed before its term
        began, else a Deferred that fires when a read may go ahead."""
        if self.node.role is not Role.LEADER:
            raise NotLeader(self.node.leader)
        self._catch_up_ticks()
        if not self.node.lease_valid():
            # No recent quorum contact: this leader may have been deposed
            # without knowing it. Confirm with a quorum before reading.
            return self.read_index()
        index = self.node.term_start_index
        if self.fsm.store.last_applied >= index:
            return None
        d = Deferred()
        self._barriers.append((index, d))
        return d

    def receive(self, msg):
        """A message from another server."""
        if self._stopped:
            return
        if isinstance(msg, (AppendRequest, SnapshotRequest)) and msg.term >= self.node.term:
            self._last_leader_contact = self.clock.seconds()
        self.node.step(msg)
        self._schedule()

    def add_server(self, server_id, address):
        """Add a voter; fires once the new configuration is committed."""
        return self._change(self.node.add_server(server_id, address))

    def remove_server(self, server_id):
        return self._change(self.node.remove_server(server_id))

    def transfer_leadership(self, target=None):
        self.node.transfer_leadership(target)
        self._schedule()

    def _change(self, index):
        d = Deferred()
        self._proposals[index] = (self.node.term, d)
        self._schedule()
        return d

    # -- status ----------------------------------------------------------------

    @property
    def is_leader(self):
        return self.node is not None and self.node.role is Role.LEADER

    @property
    def leader_address(self):
        """The leader's RPC address, or '' when there is none."""
        if self.node is None or self.node.leader is None:
            return ""
        server = self.node.configuration.server(self.node.leader)
        return server.address if server is not None else ""

    @property
    def known_leader(self):
        return bool(self.leader_address)

    def last_contact(self):
        """Seconds since we heard from the leader (0 on the leader)."""
        if self.is_leader:
            return 0.0
        if self._last_leader_contact is None:
            return None
        return self.clock.seconds() - self._last_leader_contact

    def peers(self):
        return [s.address for s in self.node.configuration.servers if s.voter]

    def configuration(self):
        return self.node.configuration

    # -- the loop ------------------------------------------------------------------

    def _tick(self):
        self._ticker = self.clock.callLater(self.tick_seconds, self._tick)
        self._catch_up_ticks()
        self._process()

    def _catch_up_ticks(self):
        """Give the core every tick that real time says has passed.

        Timers can fire late (a paused process, a busy reactor); the core
        counts time in ticks, and a leader that missed ticks would think its
        lease younger than it is.
        """
        now = self.clock.seconds()
        due = int((now - self._last_tick) / self.tick_seconds + 1e-9)
        if due <= 0:
            return
        self._last_tick += due * self.tick_seconds
        for _ in range(min(due, MAX_CATCH_UP_TICKS)):
            self.node.tick()

    def _schedule(self):
        if self._processing_scheduled is None or not self._processing_scheduled.active():
            self._processing_scheduled = self.clock.callLater(0, self._process)

    def _process(self):
        if self._stopped:
            return
        while self.node.has_ready(persisting=self._writing):
            ready = self.node.ready(persisting=self._writing)
            self._apply_committed(ready)
            batch = Batch(ready.hard_state, ready.entries, ready.snapshot)
            if batch.hard_state is None and not batch.entries and batch.snapshot is None:
                self._finish(ready)
                continue
            self._writing = True
            # A leader may replicate entries while it writes them itself
            # (Raft thesis §10.2.1): it counts itself for a commit only once
            # they are on its disk. Everything else waits for the write.
            early, late = ready.split_messages()
            if early and self.transport is not None:
                self.transport.send(early)
            ready = attr.evolve(ready, messages=late)
            if ready.snapshot is not None:
                # The snapshot's bytes go to disk before the log records it:
                # a crash in between leaves the old state, never a log that
                # points at a snapshot we do not have.
                d = self._save_incoming_snapshot(ready.snapshot)
                d.addCallback(lambda _, batch=batch: self.disk.submit(self.log_store.write, batch))
            else:
                d = self.disk.submit(self.log_store.write, batch)
            d.addCallback(self._written, ready, batch)
            d.addErrback(self._fatal, "could not write the Raft log")
            return

    def _written(self, _, ready, batch):
        self._writing = False
        if self._stopped:
            self._check_idle()
            return
        self.log_store.written(batch)
        self._finish(ready)
        self._process()

    def _apply_committed(self, ready):
        if not ready.committed_entries:
            return
        for entry in ready.committed_entries:
            self._apply(entry)
        self.fsm.notify()
        self._after_apply()

    def _finish(self, ready):
        if self.transport is not None and ready.messages:
            self.transport.send(ready.messages)
        if ready.snapshot is not None:
            self._install_snapshot(ready.snapshot)
            self.fsm.notify()
        for request_id, index in ready.read_states:
            d = self._reads_requested.pop(request_id, None)
            if d is not None:
                self._reads_waiting.append((index, d))
        self.node.advance(ready)
        self._after_apply()
        self._note_role()
        self._maybe_snapshot()

    def _apply(self, entry):
        waiting = self._proposals.pop(entry.index, None)
        if entry.type is EntryType.COMMAND:
            result = self.fsm.apply(entry.index, entry.data)
        else:
            self.fsm.applied(entry.index)
            result = None
        if waiting is not None:
            term, d = waiting
            if term == entry.term:
                d.callback(result)
            else:
                d.errback(LeadershipLost())

    def _after_apply(self):
        applied = self.fsm.store.last_applied
        for queue in (self._reads_waiting, self._barriers):
            ready = [(i, d) for i, d in queue if i <= applied]
            queue[:] = [(i, d) for i, d in queue if i > applied]
            for _, d in ready:
                d.callback(None)

    def _incoming(self, meta):
        stored = self._incoming_snapshots.get(meta.index)
        if stored is None or stored[0] != meta:
            raise AssertionError("snapshot %d was accepted but never arrived" % meta.index)
        return stored[1]

    def _save_incoming_snapshot(self, meta):
        data = self._incoming(meta)
        return self.snapshot_writer.submit(self.snapshot_store.save, meta, lambda f: f.write(data))

    def _install_snapshot(self, meta):
        data = self._incoming(meta)
        for index in [i for i in self._incoming_snapshots if i <= meta.index]:
            del self._incoming_snapshots[index]
        self.fsm.restore(unpack_records(io.BytesIO(data)))
        self._last_snapshot_index = meta.index

    def _note_role(self):
        # The core's state now, not a Ready's: a batch that finishes writing
        # may have been taken before a Ready that saw a newer role.
        role, leader = self.node.role, self.node.leader
        if role is not self._role_seen:
            self.log.info(
                "Raft: this server is now {role} in term {term}",
                role=role.value.lower(),
                term=self.node.term,
            )
            if self._role_seen is Role.LEADER:
                self._fail_pending(LeadershipLost())
            self._role_seen = role
            self.on_leadership(role)
        if leader != self._leader_seen:
            self._leader_seen = leader
            if leader is not None:
                self.on_leader_known()

    def _fail_pending(self, reason):
        pending = [d for _, d in self._proposals.values()]
        pending += list(self._reads_requested.values())
        pending += [d for _, d in self._reads_waiting + self._barriers]
        self._proposals.clear()
        self._reads_requested.clear()
        self._reads_waiting.clear()
        self._barriers.clear()
        for d in pending:
            d.errback(reason)

    # -- snapshots -------------------------------------------------------------------

    def _maybe_snapshot(self):
        applied = self.fsm.store.last_applied
        if self._snapshotting or applied - self._last_snapshot_index < self.snapshot_threshold:
            return
        self.take_snapshot()

    def take_snapshot(self):
        """Write the FSM's state to the snapshot store, then trim the log."""
        applied = self.fsm.store.last_applied
        meta = SnapshotMeta(
            index=applied,
            term=self.node.log.term(applied),
            configuration=self.node.configuration_at(applied),
        )
        records = self.fsm.snapshot()
        self._snapshotting = True
        d = self.snapshot_writer.submit(
            self.snapshot_store.save, meta, lambda f: pack_records(records, f)
        )
        d.addCallback(self._snapshot_saved, meta)
        d.addErrback(self._snapshot_failed)
        return d

    def _snapshot_saved(self, _, meta):
        self._last_snapshot_index = meta.index
        keep_from = max(self.log_store.first_index(), meta.index - self.trailing_logs + 1)
        snapshot, boundary = self.log_store.compacted(meta, keep_from)
        self.node.compact(boundary[0])
        self.log.info(
            "Raft: snapshot at index {index}; log now starts at {first}",
            index=meta.index,
            first=keep_from,
        )
        d = self.disk.submit(self.log_store.compact, snapshot, boundary)
        d.addErrback(self._fatal, "could not trim the Raft log")
        d.addBoth(self._snapshot_done)
        return d

    def _snapshot_failed(self, failure):
        # The log still holds everything: nothing is lost, we try again
        # once more entries have been applied.
        self.log.failure("Raft: writing a snapshot failed", failure)
        self._last_snapshot_index = self.fsm.store.last_applied
        self._snapshot_done(None)

    def _snapshot_done(self, result):
        self._snapshotting = False
        self._check_idle()
        return result

    def _fatal(self, failure, what):
        self.log.failure("Raft: {what}; stopping", failure, what=what)
        self._writing = False
        self._stopped = True
        self._fail_pending(ShuttingDown())
        self._check_idle()
        self.on_fatal(failure)
