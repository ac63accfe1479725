"""The KV table: Consul's write rules and the index each query answers."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.state import commands
from pyconsul.state.store import FSM, CommandFailed
from pyconsul.state.watch import WatchRegistry
from pyconsul.state.kv import KVTable


class KVTableTests(SynchronousTestCase):
    def setUp(self):
        self.watches = WatchRegistry()
        self.kv = KVTable(self.watches)

    def test_set_and_get(self):
        self.kv.set(5, "a", b"1", 0)
        index, entry = self.kv.get("a")
        self.assertEqual((index, entry.value, entry.create_index, entry.modify_index), (5, b"1", 5, 5))

    def test_same_value_changes_nothing(self):
        self.kv.set(5, "a", b"1", 0)
        self.kv.set(6, "a", b"1", 0)
        self.assertEqual(self.kv.get("a")[1].modify_index, 5)
        self.assertEqual(self.kv.index, 5)
        self.kv.set(7, "a", b"1", 3)
        self.assertEqual(self.kv.get("a")[1].modify_index, 7)

    def test_missing_key_answers_the_table_index(self):
        self.assertEqual(self.kv.get("x"), (1, None))
        self.kv.set(5, "a", b"1", 0)
        self.kv.delete(8, "a")
        self.assertEqual(self.kv.get("a"), (8, None))

    def test_cas(self):
        self.assertTrue(self.kv.check_and_set(5, "c", b"1", 0, 0))
        self.assertFalse(self.kv.check_and_set(6, "c", b"2", 0, 0))
        self.assertFalse(self.kv.check_and_set(7, "c", b"2", 0, 4))
        self.assertTrue(self.kv.check_and_set(8, "c", b"2", 0, 5))
        self.assertFalse(self.kv.check_and_set(9, "missing", b"2", 0, 5))
        self.assertEqual(self.kv.get("c")[1].create_index, 5)

    def test_delete_cas(self):
        self.kv.set(5, "d", b"1", 0)
        self.assertFalse(self.kv.delete_cas(6, "d", 4))
        self.assertTrue(self.kv.delete_cas(7, "missing", 4))
        self.assertTrue(self.kv.delete_cas(8, "d", 5))
        self.assertIsNone(self.kv.get("d")[1])

    def test_listing_index_counts_deletions_under_the_prefix(self):
        self.kv.set(5, "gone/a", b"1", 0)
        self.kv.set(6, "gone/b", b"1", 0)
        self.kv.set(7, "stay", b"1", 0)
        self.kv.delete_tree(8, "gone")
        self.kv.set(9, "stay", b"2", 0)
        self.assertEqual(self.kv.list("gone"), (8, []))
        self.assertEqual(self.kv.list(""), (9, [self.kv.entries["stay"]]))
        self.assertEqual(self.kv.list("never"), (9, []))

    def test_keys_roll_up_at_the_separator(self):
        for i, key in enumerate(["a", "a/b", "a/b/c", "a/e/f", "a/g/", "ab", "b/c"], 1):
            self.kv.set(i, key, b"", 0)
        self.assertEqual(self.kv.keys("a", "/")[1], ["a", "a/", "ab"])
        self.assertEqual(self.kv.keys("a/", "/")[1], ["a/b", "a/b/", "a/e/", "a/g/"])
        self.assertEqual(self.kv.keys("", "b")[1], ["a", "a/b", "a/e/f", "a/g/", "ab", "b"])
        self.assertEqual(self.kv.keys("", "")[1], ["a", "a/b", "a/b/c", "a/e/f", "a/g/", "ab", "b/c"])

    def test_delete_tree_is_a_string_prefix(self):
        for i, key in enumerate(["a", "a/b", "ab", "b"], 1):
            self.kv.set(i, key, b"", 0)
        self.kv.delete_tree(9, "a")
        self.assertEqual(list(self.kv.entries), ["b"])

    def test_reaping_tombstones(self):
        self.kv.set(5, "a/x", b"1", 0)
        self.kv.delete(6, "a/x")
        self.kv.set(7, "b", b"1", 0)
        self.kv.reap_tombstones(8, 6)
        self.assertEqual(self.kv.list("a/"), (8, []))


class WatchTests(SynchronousTestCase):
    def test_key_and_prefix_watches_fire_once(self):
        watches = WatchRegistry()
        fired = []
        watches.watch_key("a/b", lambda: fired.append("key"))
        watches.watch_prefix("a/", lambda: fired.append("prefix"))
        watches.watch_prefix("z", lambda: fired.append("other"))
        watches.changed("a/b")
        watches.fire()
        watches.changed("a/b")
        watches.fire()
        self.assertEqual(sorted(fired), ["key", "prefix"])

    def test_cancel(self):
        watches = WatchRegistry()
        fired = []
        cancel = watches.watch_prefix("", lambda: fired.append(1))
        cancel()
        watches.changed("x")
        watches.fire()
        self.assertEqual(fired, [])

    def test_many_prefixes_and_a_short_key(self):
        watches = WatchRegistry()
        fired = []
        for n in range(50):
            watches.watch_prefix("p%d" % n, lambda n=n: fired.append(n))
        watches.changed("p7")
        watches.fire()
        self.assertEqual(fired, [7])


class FSMTests(SynchronousTestCase):
    def test_commands_apply_in_order(self):
        fsm = FSM()
        self.assertTrue(fsm.apply(3, commands.kv_set("a", b"1")))
        self.assertTrue(fsm.apply(4, commands.kv_cas("a", b"2", 0, 3)))
        self.assertFalse(fsm.apply(5, commands.kv_cas("a", b"3", 0, 3)))
        self.assertEqual(fsm.store.kv.get("a")[1].value, b"2")
        self.assertEqual(fsm.store.last_applied, 5)

    def test_garbage_is_skipped_not_fatal(self):
        fsm = FSM()
        self.assertIsInstance(fsm.apply(3, b"\xc1garbage"), CommandFailed)
        self.assertIsInstance(fsm.apply(4, commands.encode("no-such-command")), CommandFailed)
        self.assertIsInstance(fsm.apply(5, commands.encode("kv-set")), CommandFailed)
        self.assertTrue(fsm.apply(6, commands.kv_set("a", b"1")))
        self.flushLoggedErrors()

    def test_snapshot_restore_roundtrip_wakes_watchers(self):
        fsm = FSM()
        fsm.apply(3, commands.kv_set("a", b"1", 4))
        fsm.apply(4, commands.kv_set("b", None))
        fsm.apply(5, commands.kv_delete("b"))
        records = list(fsm.snapshot())
        fsm.apply(6, commands.kv_set("a", b"changed"))
        fired = []
        fsm.store.watches.watch_key("a", lambda: fired.append("a"))
        fsm.restore(iter(records))
        fsm.notify()
        self.assertEqual(fired, ["a"])
        self.assertEqual(fsm.store.kv.get("a")[1].value, b"1")
        self.assertEqual(fsm.store.kv.get("b"), (5, None))
        self.assertEqual(fsm.store.last_applied, 5)

    def test_snapshot_is_a_copy(self):
        fsm = FSM()
        fsm.apply(3, commands.kv_set("a", b"1"))
        records = fsm.snapshot()
        fsm.apply(4, commands.kv_set("b", b"2"))
        self.assertEqual([r[1] for r in records if r[0] == "kv"], ["a"])
