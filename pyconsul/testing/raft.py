"""An in-memory network of Raft cores, for deterministic tests.

Each server runs on a :class:`MemoryLogStore`; :meth:`RaftNetwork.run` plays the
driver's part (persist, send, apply, advance) for every running node until
nothing is left to do. As in etcd's raft tests, the network can cut links
between pairs of nodes or isolate a node; it can also drop messages at random,
delay them by whole ticks (which reorders them) and duplicate them. Disks can
be slow: a write may still be in progress in the next round, and meanwhile the
node applies and a leader replicates, as the driver lets them. Nodes can
crash, keeping only what they persisted, and restart. The harness takes
snapshots (compacting the log) and ships them to followers that need them, as
the driver does, so snapshot installation runs too.

Every choice the network makes comes from one seeded ``random.Random``: a run
is a pure function of its seed and of what the test does.
"""

import heapq
import random

import attr

from pyconsul.core.raft import (
    AppendRequest,
    Configuration,
    EntryType,
    RaftNode,
    Role,
    Server,
    SnapshotMeta,
    SnapshotRequest,
    TimeoutNow,
)
from pyconsul.storage import Batch
from pyconsul.storage.memory import MemoryLogStore


class RaftNetwork:
    """Servers ``ids``, of which ``members`` (default: all) form the first
    configuration; the others start empty and can be added later. Extra
    keyword arguments go to every :class:`RaftNode`."""

    def __init__(
        self,
        ids,
        seed=0,
        election_ticks=10,
        heartbeat_ticks=1,
        bootstrap=True,
        members=None,
        **node_options,
    ):
        self.rng = random.Random(seed)
        self.ids = list(ids)
        self.election_ticks = election_ticks
        self.heartbeat_ticks = heartbeat_ticks
        self.node_options = node_options
        self.stores = {i: MemoryLogStore() for i in self.ids}
        # The state machine of each node is the list of the COMMAND entries'
        # data it applied, and ``applied_index`` how far it got.
        self.applied = {i: [] for i in self.ids}
        self.applied_index = dict.fromkeys(self.ids, 0)
        # Each node's latest snapshot: its metadata and the state it holds.
        self.snapshots = {i: (SnapshotMeta(), ()) for i in self.ids}
        # Snapshots shipped to each node, by index, until its core takes one.
        self._received_snapshots = {i: {} for i in self.ids}
        self.nodes = {}

        self.cut = set()  # (src, dst) pairs whose messages are dropped
        self.isolated = set()
        self.drop_rate = 0.0
        self.duplicate_rate = 0.0
        self.max_delay = 0  # in ticks
        # The chance that a write is still in progress until the next round.
        self.slow_disk_rate = 0.0
        self._writing = {}  # node id -> the Ready being written
        # Predicates on messages: a message any of them accepts is dropped.
        self.filters = []
        self.now = 0
        self._queue = []  # (message, snapshot payload) to deliver in this run
        self._delayed = []  # heap of (due tick, sequence, message, payload)
        self._sequence = 0

        for node_id in self.ids:
            self.nodes[node_id] = self._make(node_id)
        if bootstrap:
            members = self.ids if members is None else list(members)
            configuration = Configuration(Server(i, "addr-" + i) for i in members)
            for node_id in members:
                self.nodes[node_id].bootstrap(configuration)
        self.run()

    def _make(self, node_id):
        return RaftNode(
            node_id,
            self.stores[node_id],
            random.Random(self.rng.random()),
            election_ticks=self.election_ticks,
            heartbeat_ticks=self.heartbeat_ticks,
            applied=self.applied_index[node_id],
            **self.node_options,
        )

    # -- hooks for checkers ------------------------------------------------------

    def on_persisted(self, node_id, batch):
        """Called after ``node_id`` wrote ``batch`` to its store."""

    def on_applied(self, node_id, entry):
        """Called after ``node_id`` applied a committed entry."""

    def on_snapshot_installed(self, node_id, meta):
        """Called after ``node_id`` replaced its state with a leader's snapshot."""

    def on_input(self, node_id, node):
        """Called after ``node`` took a tick or a message."""

    def on_read(self, node_id, request_id, index):
        """Called when ``node_id``'s core confirmed a ReadIndex request."""

    # -- servers -------------------------------------------------------------------

    @property
    def crashed(self):
        return [i for i in self.ids if i not in self.nodes]

    def crash(self, node_id):
        """Stop a node at once: what it did not persist is lost."""
        self.nodes.pop(node_id, None)
        self._received_snapshots[node_id] = {}
        self._writing.pop(node_id, None)  # that write never lands

    def start(self, node_id):
        """Start a crashed node from its store and its latest snapshot."""
        meta, state = self.snapshots[node_id]
        self.applied[node_id] = list(state)
        self.applied_index[node_id] = meta.index
        self.nodes[node_id] = self._make(node_id)

    def restart(self, node_id):
        """A crash and restart: the node keeps only what it persisted."""
        self.crash(node_id)
        self.start(node_id)
        self.run()

    def compact(self, node_id, trailing=0):
        """Snapshot ``node_id``'s state machine and trim its log, keeping
        ``trailing`` entries before the snapshot (as the driver does)."""
        node = self.nodes[node_id]
        index = self.applied_index[node_id]
        if index <= self.snapshots[node_id][0].index:
            return
        meta = SnapshotMeta(index, node.log.term(index), node.configuration_at(index))
        self.snapshots[node_id] = (meta, tuple(self.applied[node_id]))
        store = self.stores[node_id]
        keep_from = max(store.first_index(), index - trailing + 1)
        _, boundary = store.compacted(meta, keep_from)
        node.compact(boundary[0])

    # -- faults ----------------------------------------------------------------------

    def isolate(self, node_id):
        self.isolated.add(node_id)

    def partition(self, *groups):
        """Cut every link between nodes of different groups."""
        for group in groups:
            for other in groups:
                if other is not group:
                    self.cut.update((a, b) for a in group for b in other)

    def heal(self):
        """Restore every link (random drops, delays and duplicates stay)."""
        self.isolated.clear()
        self.cut.clear()

    def calm(self):
        """No more random drops, delays, duplicates or slow disks."""
        self.drop_rate = self.duplicate_rate = self.slow_disk_rate = 0.0
        self.max_delay = 0

    def _link_up(self, src, dst):
        return (
            dst in self.nodes
            and src not in self.isolated
            and dst not in self.isolated
            and (src, dst) not in self.cut
        )

    # -- the driver's part -------------------------------------------------------------

    def run(self, max_rounds=10000):
        """Process Ready batches and deliver messages until all is quiet."""
        for _ in range(max_rounds):
            for node_id, ready in list(self._writing.items()):
                del self._writing[node_id]
                self._written(node_id, self.nodes[node_id], ready)
            for node_id, node in list(self.nodes.items()):
                while node.has_ready(persisting=node_id in self._writing):
                    self._handle_ready(node_id, node)
            if not self._queue and not self._writing:
                return
            batch, self._queue = self._queue, []
            for msg, payload in batch:
                self._deliver(msg, payload)
        raise AssertionError("the network did not settle")

    def _handle_ready(self, node_id, node):
        ready = node.ready(persisting=node_id in self._writing)
        for entry in ready.committed_entries:
            self._apply(node_id, entry)
        for request_id, index in ready.read_states:
            self.on_read(node_id, request_id, index)
        if ready.hard_state is None and not ready.entries and ready.snapshot is None:
            self._written(node_id, node, ready)
        elif self.slow_disk_rate and self.rng.random() < self.slow_disk_rate:
            # A leader replicates what it is still writing itself.
            early, late = ready.split_messages()
            for msg in early:
                self._send(msg)
            self._writing[node_id] = attr.evolve(ready, messages=late)
        else:
            self._written(node_id, node, ready)

    def _written(self, node_id, node, ready):
        store = self.stores[node_id]
        batch = Batch(ready.hard_state, ready.entries, ready.snapshot)
        store.write(batch)
        store.written(batch)
        self.on_persisted(node_id, batch)
        for msg in ready.messages:
            self._send(msg)
        if ready.snapshot is not None:
            self._install_snapshot(node_id, ready.snapshot)
        node.advance(ready)

    def _apply(self, node_id, entry):
        if entry.index != self.applied_index[node_id] + 1:
            raise AssertionError(
                "%s applied %d after %d" % (node_id, entry.index, self.applied_index[node_id])
            )
        if entry.type is EntryType.COMMAND:
            self.applied[node_id].append(entry.data)
        self.applied_index[node_id] = entry.index
        self.on_applied(node_id, entry)

    def _install_snapshot(self, node_id, meta):
        received = self._received_snapshots[node_id].get(meta.index)
        self._received_snapshots[node_id] = {}
        if received is None or received[0] != meta:
            raise AssertionError("%s took snapshot %d it never received" % (node_id, meta.index))
        self.snapshots[node_id] = received
        self.applied[node_id] = list(received[1])
        self.applied_index[node_id] = meta.index
        self.on_snapshot_installed(node_id, meta)

    def _send(self, msg):
        payload = None
        if isinstance(msg, SnapshotRequest):
            # What the driver streams: the leader's stored snapshot.
            payload = self.snapshots[msg.src]
            if payload[0] != msg.meta:
                raise AssertionError("%s sent a snapshot it does not have" % msg.src)
        copies = 2 if self.duplicate_rate and self.rng.random() < self.duplicate_rate else 1
        for _ in range(copies):
            delay = self.rng.randint(0, self.max_delay) if self.max_delay else 0
            if delay:
                self._sequence += 1
                heapq.heappush(self._delayed, (self.now + delay, self._sequence, msg, payload))
            else:
                self._queue.append((msg, payload))

    def _deliver(self, msg, payload):
        if not self._link_up(msg.src, msg.dst):
            self._lost(msg, unreachable=True)
            return
        if self.drop_rate and self.rng.random() < self.drop_rate:
            self._lost(msg, unreachable=False)
            return
        if self.filters and any(dropped(msg) for dropped in self.filters):
            self._lost(msg, unreachable=False)
            return
        if payload is not None:
            self._received_snapshots[msg.dst][msg.meta.index] = payload
        node = self.nodes[msg.dst]
        node.step(msg)
        self.on_input(msg.dst, node)
        if payload is not None and msg.src in self.nodes:
            self.nodes[msg.src].report_snapshot(msg.dst, True)

    def _lost(self, msg, unreachable):
        sender = self.nodes.get(msg.src)
        if sender is None:
            return
        if isinstance(msg, SnapshotRequest):
            sender.report_snapshot(msg.dst, False)
        elif unreachable and isinstance(msg, AppendRequest):
            sender.report_unreachable(msg.dst)

    # -- time ---------------------------------------------------------------------------

    def tick(self, times=1):
        for _ in range(times):
            self.now += 1
            while self._delayed and self._delayed[0][0] <= self.now:
                _, _, msg, payload = heapq.heappop(self._delayed)
                self._queue.append((msg, payload))
            for node_id, node in list(self.nodes.items()):
                node.tick()
                self.on_input(node_id, node)
            self.run()

    # -- conveniences -------------------------------------------------------------------

    def elect(self, node_id):
        """Make ``node_id`` campaign at once, as a leadership transfer does:
        without a pre-vote, and with the others waiving their leader's lease."""
        node = self.nodes[node_id]
        node.step(TimeoutNow(node.term, node.leader or node_id, node_id))
        self.on_input(node_id, node)
        self.run()

    def leaders(self):
        return [n for n in self.nodes.values() if n.role is Role.LEADER]

    def leader(self):
        """The leader of the highest term, or None."""
        leaders = self.leaders()
        return max(leaders, key=lambda n: n.term) if leaders else None

    def tick_until(self, condition, limit=1000):
        """Tick until ``condition()`` holds; fails after ``limit`` ticks."""
        for _ in range(limit):
            if condition():
                return
            self.tick()
        if not condition():
            raise AssertionError("not reached after %d ticks" % limit)


class InvariantViolation(AssertionError):
    """Raft broke one of its safety properties."""


class CheckedRaftNetwork(RaftNetwork):
    """A :class:`RaftNetwork` that checks Raft's safety properties (paper §5,
    Figure 3) as it runs, and the safety of ReadIndex and the leader lease:

    * election safety: at most one leader per term (§5.2);
    * log matching: two logs with an entry of the same index and term hold
      the same entry, and the same term before it (§5.3), which by induction
      makes the logs identical up to there;
    * leader completeness: a new leader holds every committed entry, and no
      server ever writes anything else at a committed index (§5.4);
    * state machine safety: every server applies the same entry at each index
      (§5.4.3), one index after the other, and snapshots hold that state;
    * a ReadIndex answer is at least every index committed before the read
      was asked (thesis §6.4);
    * while a leader's lease holds, no newer leader exists and, once its term
      has begun, it has every committed entry (thesis §6.4.1).

    Entries count as committed from the moment any server's commit index
    covers them. Call :meth:`check` after each step for the lease checks;
    the others run on every message, tick and write.
    """

    def __init__(self, *args, **kwargs):
        self.leader_of_term = {}
        self.newest_leader_term = 0
        self.entries_seen = {}  # (index, term) -> (type, data, term before)
        self.committed = {}  # index -> Entry
        self.max_committed = 0
        self._checked_commit = {}  # node id -> commit index registered
        self._reads = {}  # request id -> max_committed when asked
        super().__init__(*args, **kwargs)

    def _fail(self, message, *args):
        raise InvariantViolation(message % args)

    # -- election safety and leader completeness ------------------------------

    def on_input(self, node_id, node):
        if node.log.committed > self._checked_commit.get(node_id, 0):
            self._register_commit(node_id, node)
        if node.role is Role.LEADER:
            holder = self.leader_of_term.get(node.term)
            if holder is None:
                # Just elected: its log must already hold every committed entry.
                self.leader_of_term[node.term] = node_id
                self.newest_leader_term = max(self.newest_leader_term, node.term)
                self._check_leader_completeness(node)
            elif holder != node_id:
                self._fail(
                    "election safety: %s and %s both lead term %d", holder, node_id, node.term
                )

    def _register_commit(self, node_id, node):
        lo = max(self._checked_commit.get(node_id, 0) + 1, node.log.first_index())
        for entry in node.log.entries(lo, node.log.committed + 1):
            self._commit(entry, node_id)
        self._checked_commit[node_id] = node.log.committed

    def _commit(self, entry, node_id):
        known = self.committed.setdefault(entry.index, entry)
        if known != entry:
            self._fail(
                "committed entries never change: %s committed %r where %r was",
                node_id, entry, known,
            )
        self.max_committed = max(self.max_committed, entry.index)

    def _check_leader_completeness(self, node):
        log = node.log
        if log.last_index() < self.max_committed:
            self._fail(
                "leader completeness: %s leads term %d with %d entries, %d are committed",
                node.id, node.term, log.last_index(), self.max_committed,
            )
        for index in range(log.first_index(), self.max_committed + 1):
            entry = self.committed.get(index)
            if entry is not None and log.term(index) != entry.term:
                self._fail(
                    "leader completeness: %s leads term %d without committed entry %d",
                    node.id, node.term, index,
                )

    # -- log matching --------------------------------------------------------------

    def on_persisted(self, node_id, batch):
        if not batch.entries:
            return
        store = self.stores[node_id]
        first = batch.entries[0].index
        if first < store.first_index():
            self._fail("%s wrote entry %d below its snapshot", node_id, first)
        previous_term = store.term(first - 1)
        for entry in batch.entries:
            record = (entry.type, entry.data, previous_term)
            seen = self.entries_seen.setdefault((entry.index, entry.term), record)
            if seen != record:
                self._fail("log matching: %s wrote %r, unlike another log", node_id, entry)
            # A server cut off from newer leaders may still take entries of
            # an old term at a committed index (they lose later); but every
            # leader from the committing term on has the committed entry, so
            # nothing of that term or newer may differ from it.
            known = self.committed.get(entry.index)
            if known is not None and entry.term >= known.term and known != entry:
                self._fail(
                    "leader completeness: %s wrote %r where %r is committed",
                    node_id, entry, known,
                )
            previous_term = entry.term

    # -- state machine safety ---------------------------------------------------------

    def on_applied(self, node_id, entry):
        self._commit(entry, node_id)

    def on_snapshot_installed(self, node_id, meta):
        self._check_state(node_id, meta.index, self.snapshots[node_id][1])

    def compact(self, node_id, trailing=0):
        super().compact(node_id, trailing)
        meta, state = self.snapshots[node_id]
        self._check_state(node_id, meta.index, state)

    def _check_state(self, node_id, index, state):
        expected = tuple(self.canonical_commands(index))
        if tuple(state) != expected:
            self._fail("state machine safety: %s's state at %d differs", node_id, index)

    def canonical_commands(self, through):
        """The data of the committed COMMAND entries up to ``through``."""
        commands = []
        for index in range(1, through + 1):
            entry = self.committed.get(index)
            if entry is None:
                self._fail("entry %d was applied but never seen committed", index)
            if entry.type is EntryType.COMMAND:
                commands.append(entry.data)
        return commands

    def check_state_machines(self):
        """Every node's state is the committed commands up to its index."""
        for node_id in self.ids:
            self._check_state(node_id, self.applied_index[node_id], self.applied[node_id])

    # -- reads -------------------------------------------------------------------------

    def read_index(self, node_id, request_id):
        """Ask ``node_id`` for a ReadIndex, remembering what was committed."""
        self.nodes[node_id].read_index(request_id)
        self._reads[request_id] = self.max_committed

    def on_read(self, node_id, request_id, index):
        asked = self._reads.pop(request_id)
        if index < asked:
            self._fail("ReadIndex: %s answered %d, %d was committed before", node_id, index, asked)

    def check(self):
        """The lease checks, to run between steps."""
        newest_leader_term = self.newest_leader_term
        for node in self.nodes.values():
            if not node.lease_valid():
                continue
            if newest_leader_term > node.term:
                self._fail(
                    "lease: %s holds a lease in term %d; term %d has a leader",
                    node.id, node.term, newest_leader_term,
                )
            began = node.log.committed >= node.term_start_index
            if began and node.log.committed < self.max_committed:
                self._fail(
                    "lease: %s holds a lease at commit %d; %d is committed",
                    node.id, node.log.committed, self.max_committed,
                )
