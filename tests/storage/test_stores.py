"""The log stores (SQLite and in-memory) behave alike; snapshots survive crashes."""

import io
import os

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import Configuration, Entry, EntryType, HardState, Server, SnapshotMeta
from pyconsul.storage import Batch
from pyconsul.storage.memory import MemoryLogStore, MemorySnapshotStore
from pyconsul.storage.snapshots import FileSnapshotStore, pack_records, unpack_records
from pyconsul.storage.sqlite import SQLiteLogStore, StorageError


def entries(lo, hi, term=1):
    return tuple(Entry(i, term, EntryType.COMMAND, b"v%d" % i) for i in range(lo, hi))


def save(store, batch):
    store.write(batch)
    store.written(batch)


class LogStoreContract:
    """Tests every log store must pass."""

    def make(self):
        raise NotImplementedError

    def test_empty(self):
        store = self.make()
        self.assertEqual(store.first_index(), 1)
        self.assertEqual(store.last_index(), 0)
        self.assertEqual(store.term(0), 0)
        self.assertEqual(store.initial_state(), HardState())

    def test_append_and_read(self):
        store = self.make()
        save(store, Batch(HardState(1, "a", 0), entries(1, 11)))
        self.assertEqual(store.last_index(), 10)
        self.assertEqual(store.entries(3, 6), list(entries(3, 6)))
        self.assertEqual(store.term(10), 1)
        self.assertEqual(store.initial_state(), HardState(1, "a", 0))

    def test_a_new_batch_replaces_a_conflicting_suffix(self):
        store = self.make()
        save(store, Batch(None, entries(1, 11)))
        save(store, Batch(None, entries(5, 7, term=2)))
        self.assertEqual(store.last_index(), 6)
        self.assertEqual([e.term for e in store.entries(1, 7)], [1, 1, 1, 1, 2, 2])

    def test_compaction_keeps_the_boundary_term(self):
        store = self.make()
        save(store, Batch(None, entries(1, 21)))
        meta = SnapshotMeta(15, 1, Configuration([Server("a", "x")]))
        snapshot, boundary = store.compacted(meta, keep_from=11)
        store.compact(snapshot, boundary)
        self.assertEqual(store.first_index(), 11)
        self.assertEqual(store.term(10), 1)
        self.assertEqual(store.snapshot_meta(), meta)
        self.assertEqual(store.entries(11, 21), list(entries(11, 21)))

    def test_installed_snapshot_replaces_the_log(self):
        store = self.make()
        save(store, Batch(None, entries(1, 5)))
        meta = SnapshotMeta(100, 3, Configuration([Server("a", "x")]))
        save(store, Batch(HardState(3, None, 100), (), meta))
        self.assertEqual(store.first_index(), 101)
        self.assertEqual(store.last_index(), 100)
        self.assertEqual(store.term(100), 3)

    def test_configuration_entries(self):
        store = self.make()
        config = Entry(2, 1, EntryType.CONFIGURATION, Configuration([Server("a", "x")]).encode())
        save(store, Batch(None, (Entry(1, 1, EntryType.NOOP), config)))
        self.assertEqual(store.configuration_entries(), [config])


class MemoryLogStoreTests(LogStoreContract, SynchronousTestCase):
    def make(self):
        return MemoryLogStore()


class SQLiteLogStoreTests(LogStoreContract, SynchronousTestCase):
    def make(self):
        self.path = os.path.join(self.mktemp() + ".db")
        store = SQLiteLogStore(self.path, cache_entries=4)
        self.addCleanup(store.close)
        return store

    def test_reopen_reads_everything_back(self):
        store = self.make()
        save(store, Batch(HardState(4, "b", 7), entries(1, 51)))
        snapshot, boundary = store.compacted(SnapshotMeta(30, 1), keep_from=21)
        store.compact(snapshot, boundary)
        store.close()
        again = SQLiteLogStore(self.path)
        self.addCleanup(again.close)
        self.assertEqual(again.initial_state(), HardState(4, "b", 7))
        self.assertEqual(again.first_index(), 21)
        self.assertEqual(again.last_index(), 50)
        self.assertEqual(again.entries(21, 51), list(entries(21, 51)))
        self.assertEqual(again.snapshot_meta().index, 30)

    def test_reads_past_the_cache_come_from_disk(self):
        store = self.make()
        save(store, Batch(None, entries(1, 100)))
        self.assertEqual(store.entries(1, 100), list(entries(1, 100)))

    def test_a_file_that_is_not_a_database(self):
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"this is not sqlite" * 100)
        self.assertRaises(StorageError, SQLiteLogStore, path)

    def test_commit_only_batches_need_no_sync(self):
        batch = Batch(HardState(1, "a", 5))
        self.assertFalse(batch.needs_sync(HardState(1, "a", 4)))
        self.assertTrue(batch.needs_sync(HardState(0, None, 4)))
        self.assertTrue(Batch(None, entries(1, 2)).needs_sync(None))


class SnapshotStoreTests(SynchronousTestCase):
    def meta(self, index):
        return SnapshotMeta(index, 2, Configuration([Server("a", "127.0.0.1:8300")]))

    def roundtrip(self, store):
        records = [["kv", "k%d" % i, b"v", 0] for i in range(3000)]
        store.save(self.meta(10), lambda f: pack_records(records, f))
        meta, f = store.latest()
        self.assertEqual(meta, self.meta(10))
        self.assertEqual(list(unpack_records(f)), records)

    def test_memory_roundtrip(self):
        self.roundtrip(MemorySnapshotStore())
        self.assertIsNone(MemorySnapshotStore().latest())

    def test_file_roundtrip(self):
        self.roundtrip(FileSnapshotStore(self.mktemp()))

    def test_keeps_the_newest_two(self):
        store = FileSnapshotStore(self.mktemp())
        for index in (5, 10, 15):
            store.save(self.meta(index), lambda f: f.write(b"x"))
        self.assertEqual(len(os.listdir(store.directory)), 2)
        self.assertEqual(store.latest()[0].index, 15)

    def test_a_damaged_snapshot_falls_back_to_the_previous_one(self):
        store = FileSnapshotStore(self.mktemp())
        store.save(self.meta(5), lambda f: f.write(b"old"))
        store.save(self.meta(10), lambda f: f.write(b"new"))
        newest = sorted(os.listdir(store.directory))[-1]
        with open(os.path.join(store.directory, newest), "r+b") as f:
            f.seek(20)
            f.write(b"\xff\xff")
        meta, data = store.latest()
        self.assertEqual((meta.index, data.read()), (5, b"old"))

    def test_an_unfinished_snapshot_is_ignored(self):
        store = FileSnapshotStore(self.mktemp())
        store.save(self.meta(5), lambda f: f.write(b"old"))
        with open(os.path.join(store.directory, "snapshot-9.snap.tmp"), "wb") as f:
            f.write(b"partial")
        self.assertEqual(store.latest()[0].index, 5)

    def test_records_stream(self):
        buffer = io.BytesIO()
        pack_records(iter([[1], ["a", b"b"]]), buffer, chunk=1)
        buffer.seek(0)
        self.assertEqual(list(unpack_records(buffer)), [[1], ["a", b"b"]])
