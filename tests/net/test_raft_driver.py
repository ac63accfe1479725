"""The Raft driver on a fake clock: group commit, snapshots, restarts."""

import random

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import (
    AppendRequest,
    AppendResponse,
    Configuration,
    Entry,
    EntryType,
    Role,
    Server,
)
from pyconsul.net.raft_driver import LeadershipLost, RaftDriver, ShuttingDown
from pyconsul.state import commands
from pyconsul.state.store import FSM
from pyconsul.storage.memory import MemoryLogStore, MemorySnapshotStore
from pyconsul.storage.snapshots import FileSnapshotStore
from pyconsul.storage.sqlite import open_log_store


class ManualThread:
    """Stands in for the disk thread: each write waits until the test says."""

    def __init__(self):
        self.pending = []

    def __call__(self, function, *args):
        d = Deferred()
        self.pending.append((function, args, d))
        return d

    def run_one(self):
        function, args, d = self.pending.pop(0)
        d.callback(function(*args))

    def run_all(self):
        while self.pending:
            self.run_one()


class RecordingTransport:
    """Keeps what the driver sends; the test delivers messages itself."""

    def __init__(self):
        self.sent = []

    def send(self, messages):
        self.sent.extend(messages)


class DriverTests(SynchronousTestCase):
    def make(self, log_store=None, snapshot_store=None, threshold=16384, trailing=10240, thread=None,
             transport=None, bootstrap=True):
        self.clock = Clock()
        self.fsm = FSM()
        options = {"run_in_thread": thread} if thread else {}
        if transport is not None:
            options["transport"] = transport
        driver = RaftDriver(
            node_id="n1",
            address="127.0.0.1:8300",
            log_store=log_store or MemoryLogStore(),
            snapshot_store=snapshot_store or MemorySnapshotStore(),
            fsm=self.fsm,
            clock=self.clock,
            rng=random.Random(0),
            tick_seconds=0.1,
            bootstrap=bootstrap,
            snapshot_threshold=threshold,
            trailing_logs=trailing,
            **options,
        )
        driver.start()
        self.settle()
        self.clock.advance(0.1)
        self.settle()
        return driver

    def settle(self):
        for _ in range(100):
            self.clock.advance(0)

    def put(self, driver, key, value):
        d = driver.propose(commands.kv_set(key, value))
        self.settle()
        return self.successResultOf(d)

    def test_becomes_leader_and_applies(self):
        driver = self.make()
        self.assertTrue(driver.is_leader)
        self.assertEqual(driver.leader_address, "127.0.0.1:8300")
        self.assertIs(self.put(driver, "a", b"1"), True)
        self.assertEqual(self.fsm.store.kv.get("a")[1].value, b"1")

    def test_proposals_during_a_write_share_the_next_batch(self):
        thread = ManualThread()
        driver = self.make(thread=thread)
        thread.run_all()
        self.settle()
        thread.run_all()
        self.settle()
        self.assertTrue(driver.is_leader)
        first = driver.propose(commands.kv_set("a", b"1"))
        self.settle()
        self.assertEqual(len(thread.pending), 1)  # batch 1 is being written
        later = [driver.propose(commands.kv_set("k%d" % n, b"v")) for n in range(50)]
        self.settle()
        self.assertEqual(len(thread.pending), 1)  # the others wait for it
        thread.run_one()
        self.settle()
        self.assertEqual(len(thread.pending), 1)  # ... and go to disk together
        batch = thread.pending[0][1][0]
        self.assertEqual(len(batch.entries), 50)
        while thread.pending:
            thread.run_all()
            self.settle()
        self.assertIs(self.successResultOf(first), True)
        for d in later:
            self.assertIs(self.successResultOf(d), True)

    def test_a_follower_applies_while_it_writes_and_answers_after(self):
        thread, transport = ManualThread(), RecordingTransport()
        driver = self.make(thread=thread, transport=transport, bootstrap=False)
        configuration = Configuration([Server("n0", "127.0.0.2:8300"), Server("n1", "127.0.0.1:8300")])
        first = [
            Entry(1, 1, EntryType.CONFIGURATION, configuration.encode()),
            Entry(2, 1, EntryType.COMMAND, commands.kv_set("a", b"1")),
        ]
        driver.receive(AppendRequest(1, "n0", "n1", 0, 0, first, 0))
        self.settle()
        thread.run_all()
        self.settle()
        transport.sent.clear()
        # Entry 3 arrives with the news that 1 and 2 are committed.
        later = [Entry(3, 1, EntryType.COMMAND, commands.kv_set("b", b"2"))]
        driver.receive(AppendRequest(1, "n0", "n1", 2, 1, later, 2))
        self.settle()
        self.assertEqual(len(thread.pending), 1)  # entry 3 is being written
        self.assertEqual(self.fsm.store.kv.get("a")[1].value, b"1")  # applied meanwhile
        self.assertEqual(transport.sent, [])  # no promise about entry 3 yet
        thread.run_all()
        self.settle()
        [answer] = transport.sent
        self.assertIsInstance(answer, AppendResponse)
        self.assertEqual((answer.success, answer.index), (True, 3))

    def test_a_write_that_lands_after_a_step_down_changes_no_role(self):
        thread, transport = ManualThread(), RecordingTransport()
        driver = self.make(thread=thread, transport=transport)

        def drain():
            for _ in range(5):
                thread.run_all()
                self.settle()

        drain()
        term = driver.node.term
        added = driver.add_server("n0", "127.0.0.2:8300")
        drain()
        driver.receive(AppendResponse(term, "n0", "n1", True, driver.node.log.last_index()))
        drain()
        self.successResultOf(added)
        first = driver.propose(commands.kv_set("a", b"1"))
        drain()  # on this server's disk; n0 has not answered
        second = driver.propose(commands.kv_set("b", b"2"))
        self.settle()
        self.assertEqual(len(thread.pending), 1)
        roles = []
        driver.on_leadership = roles.append
        # While the second is being written, n0 leads a newer term and says
        # the first is committed.
        index = driver.node.log.last_index() - 1
        driver.receive(AppendRequest(term + 1, "n0", "n1", index, term, (), index))
        self.settle()
        self.assertIs(self.successResultOf(first), True)
        self.failureResultOf(second, LeadershipLost)
        self.assertEqual(roles, [Role.FOLLOWER])
        thread.run_all()
        self.settle()
        self.assertEqual(roles, [Role.FOLLOWER])
        self.assertFalse(driver.is_leader)

    def test_snapshot_truncates_the_log_and_restart_restores(self):
        directory = self.mktemp()
        log_store = open_log_store(directory)
        snapshots = FileSnapshotStore(directory + "/snapshots")
        driver = self.make(log_store, snapshots, threshold=100, trailing=10)
        for n in range(250):
            self.put(driver, "k%03d" % n, b"v%d" % n)
        self.assertGreater(log_store.first_index(), 150)
        self.successResultOf(driver.stop())

        log_store = open_log_store(directory)
        again = self.make(log_store, FileSnapshotStore(directory + "/snapshots"))
        self.assertTrue(again.is_leader)
        self.assertEqual(len(self.fsm.store.kv.entries), 250)
        self.assertEqual(self.fsm.store.kv.get("k249")[1].value, b"v249")
        self.assertIs(self.put(again, "after", b"x"), True)
        self.successResultOf(again.stop())

    def test_read_index_and_barrier_on_a_sole_voter(self):
        driver = self.make()
        d = driver.read_index()
        self.settle()
        self.successResultOf(d)
        self.assertIsNone(driver.barrier())

    def test_stop_fails_what_is_pending(self):
        thread = ManualThread()
        driver = self.make(thread=thread)
        for _ in range(3):
            thread.run_all()
            self.settle()
        d = driver.propose(commands.kv_set("a", b"1"))
        self.settle()
        stopped = driver.stop()
        self.failureResultOf(d, ShuttingDown)
        self.assertNoResult(stopped)
        thread.run_all()
        self.successResultOf(stopped)

    def test_a_disk_failure_stops_the_driver(self):
        class BrokenStore(MemoryLogStore):
            broken = False

            def write(self, batch):
                if self.broken:
                    raise OSError(28, "No space left on device")

        store = BrokenStore()
        fatal = []
        driver = self.make(log_store=store)
        driver.on_fatal = fatal.append
        store.broken = True
        d = driver.propose(commands.kv_set("a", b"1"))
        self.settle()
        self.failureResultOf(d, ShuttingDown)
        self.assertEqual(len(fatal), 1)
        self.flushLoggedErrors(OSError)
