"""Transactions in the state store: the ``txn`` log command and read-only
transactions (pyconsul.state.txn), driven through the FSM as Raft would
(one index per command, ``notify`` after each).

The reference is Consul 1.10's state store: agent/consul/state/txn.go
(txnKVS, txnNode, txnService, txnCheck, txnDispatch, TxnRW, TxnRO), kvs.go
(kvsSetTxn, kvsSetCASTxn, kvsLockTxn, kvsUnlockTxn, kvsCheckSessionTxn,
kvsCheckIndexTxn, kvsDeleteCASTxn) and catalog.go (ensureCheckTxn and
friends). Every operation runs in order inside one memdb transaction, sees
what the ones before it did, and adds its error (``OpIndex``, ``What``) to
the list; any error aborts the whole transaction, so nothing of it is
visible afterwards, not even to watchers.
"""


from pyconsul.state import commands
from pyconsul.state import txn as state_txn
from pyconsul.state.kv import DirEntry
from tests.state.fsmcase import FSMTestCase

SECOND = 10 ** 9
S1 = "11111111-1111-4111-8111-111111111111"
S2 = "22222222-2222-4222-8222-222222222222"
GHOST = "99999999-9999-4999-8999-999999999999"


def kv(verb, key, **fields):
    return {"KV": dict(fields, Verb=verb, Key=key)}


def node_op(verb, name, **fields):
    return {"Node": {"Verb": verb, "Node": dict(fields, Node=name)}}


def service_op(verb, node, service_id, name=None, **fields):
    service = dict(fields, ID=service_id)
    service["Service"] = name if name is not None else service_id
    return {"Service": {"Verb": verb, "Node": node, "Service": service}}


def check_op(verb, node, check_id, **fields):
    return {"Check": {"Verb": verb, "Check": dict(fields, Node=node, CheckID=check_id)}}


def serf(status="passing"):
    return {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": status}


def session_record(session_id, node="n1", lock_delay=15 * SECOND, behavior="release",
                   node_checks=("serfHealth",), service_checks=None):
    """A session as Session.Apply hands it to the log."""
    return {
        "ID": session_id, "Name": "", "Node": node, "LockDelay": lock_delay, "Behavior": behavior, "TTL": "",
        "NodeChecks": list(node_checks),
        "ServiceChecks": None if service_checks is None else [{"ID": c, "Namespace": ""} for c in service_checks],
    }


def entry(key, value=None, flags=0, create_index=0, modify_index=0, lock_index=0, session=None):
    return DirEntry(key=key, value=value, flags=flags, create_index=create_index, modify_index=modify_index,
                    lock_index=lock_index, session=session)


class TxnTestCase(FSMTestCase):

    @property
    def next_index(self):
        return self.index + 1

    def txn(self, *ops):
        return self.apply(commands.txn(list(ops)))

    def ok(self, *ops):
        """A transaction that must succeed: its results."""
        result = self.txn(*ops)
        self.assertEqual(result["Errors"], None, result)
        return result["Results"]

    def errors(self, *ops):
        """A transaction that must fail: (OpIndex, What) of every error."""
        result = self.txn(*ops)
        self.assertEqual(result["Results"], None, result)
        self.assertTrue(result["Errors"], result)
        return [(e["OpIndex"], e["What"]) for e in result["Errors"]]

    def set(self, key, value=b"v", flags=0):
        self.assertIs(self.apply(commands.kv_set(key, value, flags)), True)
        return self.index

    def register(self, node="n1", address="10.0.0.1", checks=(serf(),), service=None):
        request = {"Node": node, "Address": address}
        if checks:
            request["Checks"] = list(checks)
        if service is not None:
            request["Service"] = service
        self.assertIs(self.apply(commands.catalog_register(request)), True)
        return self.index

    def create_session(self, session_id=S1, **fields):
        self.assertEqual(self.apply(commands.session_create(session_record(session_id, **fields))), session_id)
        return self.index

    def lock(self, key, session_id=S1, value=b"locked"):
        self.assertIs(self.apply(commands.kv_lock(key, value, 0, session_id)), True)
        return self.index

    def entry(self, key):
        return self.store.kv.entries.get(key)

    def state(self):
        """Everything a transaction could change, copied."""
        store = self.store
        records = [r for r in self.fsm.snapshot() if r[0] != "applied"]
        kv, catalog, sessions = store.kv, store.catalog, store.sessions
        return {
            "records": records,
            "kv": (dict(kv.entries), dict(kv.tombstones), kv.entries_index, kv.tombstones_index,
                   {s: set(keys) for s, keys in kv.locks.items()}),
            "catalog": (dict(catalog.nodes), dict(catalog.node_ids), dict(catalog.services), dict(catalog.checks),
                        {k: set(v) for k, v in catalog.by_service_name.items()},
                        {k: set(v) for k, v in catalog.checks_by_service.items()},
                        dict(catalog.view_index), dict(catalog.table_index)),
            "sessions": (dict(sessions.sessions), {k: set(v) for k, v in sessions.by_node.items()}, sessions.index),
            "lock_delays": dict(store.lock_delays.expiry),
        }


class KVSetAndCASTests(TxnTestCase):
    def test_set_answers_the_entry_without_its_value(self):
        at = self.next_index
        results = self.ok(kv("set", "a", Value=b"1"), kv("set", "b", Value=b"2", Flags=7))
        self.assertEqual(results, [{"KV": entry("a", create_index=at, modify_index=at)},
                                   {"KV": entry("b", flags=7, create_index=at, modify_index=at)}])
        self.assertEqual(self.entry("a"), entry("a", b"1", create_index=at, modify_index=at))
        self.assertEqual((self.store.kv.index, self.store.last_applied), (at, at))

    def test_setting_the_same_value_again_keeps_the_entry_and_its_index(self):
        first = self.set("a", b"1")
        [result] = self.ok(kv("set", "a", Value=b"1"))
        self.assertEqual(result["KV"], entry("a", create_index=first, modify_index=first))
        self.assertEqual((self.entry("a").modify_index, self.store.kv.index), (first, first))

    def test_set_keeps_the_holder_but_not_the_lock_index(self):
        # kvsSetTxn keeps the existing Session; the LockIndex is the op's (0).
        self.register()
        self.create_session()
        locked = self.lock("k")
        at = self.next_index
        [result] = self.ok(kv("set", "k", Value=b"plain"))
        self.assertEqual(result["KV"], entry("k", create_index=locked, modify_index=at, session=S1))
        self.assertEqual(self.entry("k"), entry("k", b"plain", create_index=locked, modify_index=at, session=S1))

    def test_cas(self):
        first = self.next_index
        [created] = self.ok(kv("cas", "c", Value=b"1", Index=0))
        self.assertEqual(created["KV"], entry("c", create_index=first, modify_index=first))
        self.assertEqual(self.errors(kv("cas", "c", Value=b"2", Index=0)),
                         [(0, 'failed to set key "c", index is stale')])
        self.assertEqual(self.errors(kv("cas", "c", Value=b"2", Index=first + 100)),
                         [(0, 'failed to set key "c", index is stale')])
        self.assertEqual(self.errors(kv("cas", "missing", Value=b"2", Index=first)),
                         [(0, 'failed to set key "missing", index is stale')])
        at = self.next_index
        [changed] = self.ok(kv("cas", "c", Value=b"2", Flags=3, Index=first))
        self.assertEqual(changed["KV"], entry("c", flags=3, create_index=first, modify_index=at))
        self.assertEqual(self.entry("c").value, b"2")
        self.assertNotIn("missing", self.store.kv.entries)


class KVLockTests(TxnTestCase):
    def setUp(self):
        super().setUp()
        self.register()
        self.create_session(S1)
        self.create_session(S2)

    def test_lock_then_unlock(self):
        at = self.next_index
        [locked] = self.ok(kv("lock", "k", Value=b"mine", Session=S1))
        self.assertEqual(locked["KV"], entry("k", create_index=at, modify_index=at, lock_index=1, session=S1))
        self.assertEqual(self.store.kv.keys_locked_by(S1), ["k"])
        # The holder locking again keeps the LockIndex.
        again = self.next_index
        [relocked] = self.ok(kv("lock", "k", Value=b"again", Session=S1))
        self.assertEqual(relocked["KV"], entry("k", create_index=at, modify_index=again, lock_index=1, session=S1))
        released = self.next_index
        [unlocked] = self.ok(kv("unlock", "k", Value=b"free", Session=S1))
        self.assertEqual(unlocked["KV"], entry("k", create_index=at, modify_index=released, lock_index=1))
        self.assertEqual(self.entry("k"), entry("k", b"free", create_index=at, modify_index=released, lock_index=1))
        self.assertEqual(self.store.kv.keys_locked_by(S1), [])
        # A new holder increments it.
        [taken] = self.ok(kv("lock", "k", Session=S2))
        self.assertEqual((taken["KV"].lock_index, taken["KV"].session), (2, S2))

    def test_a_lock_held_by_another_session(self):
        self.lock("k", S1)
        before = self.state()
        self.assertEqual(self.errors(kv("lock", "k", Value=b"x", Session=S2)),
                         [(0, 'failed to lock key "k", lock is already held')])
        self.assertEqual(self.state(), before)

    def test_lock_needs_a_live_session(self):
        self.assertEqual(self.errors(kv("lock", "k", Value=b"x")), [(0, "missing session")])
        self.assertEqual(self.errors(kv("lock", "k", Value=b"x", Session=GHOST)), [(0, 'invalid session "%s"' % GHOST)])
        self.assertNotIn("k", self.store.kv.entries)

    def test_lock_with_a_session_id_that_is_no_uuid(self):
        # The sessions table is indexed by UUID: memdb refuses the lookup.
        self.assertEqual(self.errors(kv("lock", "k", Value=b"x", Session="nope")),
                         [(0, "failed session lookup: UUID must be 36 characters")])

    def test_unlock_by_another_session_or_of_a_free_key(self):
        self.lock("k", S1)
        message = 'failed to unlock key "%s", lock isn\'t held, or is held by another session'
        self.assertEqual(self.errors(kv("unlock", "k", Session=S2)), [(0, message % "k")])
        self.assertEqual(self.errors(kv("unlock", "missing", Session=S1)), [(0, message % "missing")])
        self.set("free")
        self.assertEqual(self.errors(kv("unlock", "free", Session=S1)), [(0, message % "free")])
        self.assertEqual(self.entry("k").session, S1)

    def test_unlock_needs_a_session(self):
        # kvsUnlockTxn checks for a session before looking at the key.
        self.lock("k", S1)
        self.assertEqual(self.errors(kv("unlock", "k", Value=b"x")), [(0, "missing session")])
        self.assertEqual(self.errors(kv("unlock", "missing")), [(0, "missing session")])
        self.assertEqual(self.entry("k").session, S1)


class KVReadTests(TxnTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.set("a", b"1", 5)
        self.t1 = self.set("tree/1", b"x")
        self.t2 = self.set("tree/2", b"y")

    def test_get_answers_the_value(self):
        self.assertEqual(self.ok(kv("get", "a")), [{"KV": entry("a", b"1", 5, self.a, self.a)}])
        self.assertEqual(self.errors(kv("get", "missing")), [(0, 'key "missing" doesn\'t exist')])

    def test_get_tree_answers_every_value_under_the_prefix(self):
        self.assertEqual(self.ok(kv("get-tree", "tree/")), [{"KV": entry("tree/1", b"x", 0, self.t1, self.t1)},
                                                          {"KV": entry("tree/2", b"y", 0, self.t2, self.t2)}])
        self.assertEqual(self.ok(kv("get-tree", "nothing/")), [])

    def test_get_or_empty(self):
        # get-or-empty came with Consul 1.14 (hashicorp/consul#14474), after
        # the 1.10 this answers as; it is kept, as newer clients send it: a
        # key's entry with its value, or the operation's own entry, empty.
        [found] = self.ok(kv("get-or-empty", "a"))
        self.assertEqual(found["KV"], self.entry("a"))
        self.assertEqual(self.ok(kv("get-or-empty", "missing")), [{"KV": entry("missing")}])

    def test_check_index(self):
        self.assertEqual(self.ok(kv("check-index", "a", Index=self.a)), [{"KV": entry("a", None, 5, self.a, self.a)}])
        self.assertEqual(self.errors(kv("check-index", "a", Index=self.a + 7)),
                         [(0, 'failed index check for key "a", current modify index %d != %d' % (self.a, self.a + 7))])

    def test_check_index_of_a_missing_key(self):
        self.assertEqual(self.errors(kv("check-index", "missing", Index=3)),
                         [(0, 'failed to check index, key "missing" doesn\'t exist')])

    def test_check_session(self):
        self.register()
        self.create_session(S1)
        locked = self.lock("k", S1)
        self.assertEqual(self.ok(kv("check-session", "k", Session=S1)),
                         [{"KV": entry("k", None, 0, locked, locked, 1, S1)}])
        self.assertEqual(self.ok(kv("check-session", "a")), [{"KV": entry("a", None, 5, self.a, self.a)}])
        self.assertEqual(self.errors(kv("check-session", "k", Session=S2)),
                         [(0, 'failed session check for key "k", current session "%s" != "%s"' % (S1, S2))])
        self.assertEqual(self.errors(kv("check-session", "a", Session=S1)),
                         [(0, 'failed session check for key "a", current session "" != "%s"' % S1)])

    def test_check_session_of_a_missing_key(self):
        self.assertEqual(self.errors(kv("check-session", "missing", Session=S1)),
                         [(0, 'failed to check session, key "missing" doesn\'t exist')])

    def test_check_not_exists(self):
        self.assertEqual(self.ok(kv("check-not-exists", "missing")), [])
        self.assertEqual(self.errors(kv("check-not-exists", "a")), [(0, 'key "a" exists')])

    def test_reads_change_nothing(self):
        before = self.state()
        self.ok(kv("get", "a"), kv("get-tree", "tree/"), kv("check-index", "a", Index=self.a),
                kv("check-not-exists", "b"), kv("check-session", "a"))
        self.assertEqual(self.state(), before)

    def test_unknown_verbs_and_operations(self):
        self.assertEqual(self.errors(kv("bogus", "a")), [(0, 'unknown KV verb "bogus"')])
        self.assertEqual(self.errors(kv("", "a")), [(0, 'unknown KV verb ""')])

    def test_an_operation_of_no_kind(self):
        self.assertEqual(self.errors(kv("get", "a"), {}), [(1, "no operation specified")])


class KVDeleteTests(TxnTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.set("a", b"1")
        self.set("tree/1")
        self.set("tree/2")
        self.set("treehouse")

    def test_delete(self):
        at = self.next_index
        self.assertEqual(self.ok(kv("delete", "a"), kv("delete", "missing")), [])
        self.assertNotIn("a", self.store.kv.entries)
        self.assertEqual(dict(self.store.kv.tombstones), {"a": at})
        self.assertEqual(self.store.kv.index, at)

    def test_delete_cas(self):
        self.assertEqual(self.errors(kv("delete-cas", "a", Index=self.a + 1)),
                         [(0, 'failed to delete key "a", index is stale')])
        self.assertEqual(self.errors(kv("delete-cas", "a")), [(0, 'failed to delete key "a", index is stale')])
        self.assertIn("a", self.store.kv.entries)
        # Nothing to delete is no failure.
        self.assertEqual(self.ok(kv("delete-cas", "missing", Index=12)), [])
        self.assertEqual(self.ok(kv("delete-cas", "a", Index=self.a)), [])
        self.assertNotIn("a", self.store.kv.entries)

    def test_delete_tree(self):
        at = self.next_index
        self.assertEqual(self.ok(kv("delete-tree", "tree/")), [])
        self.assertEqual(list(self.store.kv.entries), ["a", "treehouse"])
        self.assertEqual(dict(self.store.kv.tombstones), {"tree/1": at, "tree/2": at})

    def test_tombstones_are_reported_for_a_committed_transaction_only(self):
        reported = []
        self.fsm.on_tombstone = reported.append
        self.errors(kv("delete", "a"), kv("get", "missing"))
        self.assertEqual(reported, [])
        self.ok(kv("delete", "a"))
        self.assertEqual(reported, [self.index])


class OrderTests(TxnTestCase):
    """Each operation sees what the ones before it did."""

    def test_set_then_cas_with_the_transactions_index(self):
        at = self.next_index
        results = self.ok(kv("set", "c", Value=b"1"), kv("cas", "c", Value=b"2", Index=at), kv("get", "c"))
        self.assertEqual(results[2], {"KV": entry("c", b"2", 0, at, at)})
        self.assertEqual(self.entry("c"), entry("c", b"2", 0, at, at))

    def test_set_then_cas_as_if_absent(self):
        self.assertEqual(self.errors(kv("set", "d", Value=b"1"), kv("cas", "d", Value=b"2", Index=0)),
                         [(1, 'failed to set key "d", index is stale')])
        self.assertNotIn("d", self.store.kv.entries)

    def test_set_then_get(self):
        at = self.next_index
        results = self.ok(kv("set", "e", Value=b"new", Flags=2), kv("get", "e"), kv("get-tree", "e"))
        self.assertEqual(results, [{"KV": entry("e", None, 2, at, at)}, {"KV": entry("e", b"new", 2, at, at)},
                                   {"KV": entry("e", b"new", 2, at, at)}])

    def test_delete_then_read(self):
        self.set("a")
        self.assertEqual(self.errors(kv("delete", "a"), kv("get", "a")), [(1, 'key "a" doesn\'t exist')])
        self.assertEqual(self.ok(kv("delete-tree", "a"), kv("check-not-exists", "a"), kv("get-tree", "a")), [])

    def test_lock_then_check_session(self):
        self.register()
        self.create_session(S1)
        at = self.next_index
        results = self.ok(kv("lock", "k", Value=b"v", Session=S1), kv("check-session", "k", Session=S1),
                          kv("unlock", "k", Session=S1), kv("check-session", "k"))
        self.assertEqual([r["KV"].session for r in results], [S1, S1, None, None])
        self.assertEqual(self.entry("k"), entry("k", None, 0, at, at, 1))

    def test_check_index_after_a_write_in_the_same_transaction(self):
        old = self.set("a")
        at = self.next_index
        self.assertEqual(self.errors(kv("set", "a", Value=b"changed"), kv("check-index", "a", Index=old)),
                         [(1, 'failed index check for key "a", current modify index %d != %d' % (at, old))])
        self.assertEqual(self.entry("a").value, b"v")


class RollbackTests(TxnTestCase):
    """A transaction with any error leaves no trace."""

    def setUp(self):
        super().setUp()
        self.register(service={"Service": "web", "ID": "web1", "Port": 80})
        self.create_session(S1)
        self.set("a", b"1")
        self.set("b", b"2")
        self.set("tree/1", b"x")
        self.set("tree/2", b"y")
        self.set("gone")
        self.assertIs(self.apply(commands.kv_delete("gone")), True)
        self.lock("held", S1)

    def test_a_failure_at_the_fifth_operation_changes_nothing(self):
        before = self.state()
        errors = self.errors(
            kv("set", "new", Value=b"n"),
            kv("delete", "a"),
            kv("delete-tree", "tree/"),
            kv("set", "gone", Value=b"back"),
            kv("cas", "b", Value=b"3", Index=1),  # stale: the 5th operation fails
            kv("unlock", "held", Session=S1),
            kv("lock", "b", Session=S1),
        )
        self.assertEqual(errors, [(4, 'failed to set key "b", index is stale')])
        self.assertEqual(self.state(), before)
        self.assertEqual(self.store.kv.keys_locked_by(S1), ["held"])
        self.assertEqual(self.store.last_applied, self.index)

    def test_every_failure_is_reported_not_only_the_first(self):
        before = self.state()
        errors = self.errors(
            kv("get", "missing"),
            kv("set", "x", Value=b"1"),
            kv("cas", "x", Value=b"2", Index=0),
            kv("check-not-exists", "a"),
            kv("lock", "held", Session=S2),
            kv("delete-cas", "a", Index=1),
            node_op("get", "ghost"),
            kv("get", "x"),
        )
        self.assertEqual(errors, [
            (0, 'key "missing" doesn\'t exist'),
            (2, 'failed to set key "x", index is stale'),
            (3, 'key "a" exists'),
            (4, 'invalid session "%s"' % S2),
            (5, 'failed to delete key "a", index is stale'),
            (6, 'node "ghost" doesn\'t exist'),
        ])
        self.assertEqual(self.state(), before)

    def test_a_mixed_transaction_with_catalog_writes_changes_nothing(self):
        before = self.state()
        errors = self.errors(
            kv("delete", "held"),  # would release S1's lock
            node_op("set", "n2", Address="10.0.0.2"),
            service_op("set", "n1", "db1", "db", Port=5432),
            check_op("set", "n1", "serfHealth", Name="Serf Health Status", Status="critical"),  # would end S1
            kv("cas", "a", Value=b"x", Index=9999),
            service_op("delete", "n1", "web1"),
        )
        self.assertEqual(errors, [(4, 'failed to set key "a", index is stale')])
        self.assertEqual(self.state(), before)
        self.assertIsNotNone(self.store.sessions.get(S1))
        self.assertEqual(self.store.lock_delays.expiry, {})

    def test_a_catalog_failure_undoes_the_kv_operations(self):
        before = self.state()
        errors = self.errors(
            kv("set", "x", Value=b"1"),
            kv("delete-tree", ""),
            node_op("set", "n2", Address="10.0.0.2"),
            service_op("set", "ghost", "svc"),
        )
        self.assertEqual(errors, [(3, "Missing node registration")])
        self.assertEqual(self.state(), before)

    def test_the_table_indexes_come_back(self):
        kv_index, catalog_index = self.store.kv.index, self.store.catalog.index
        self.errors(kv("delete-tree", ""), node_op("delete", "n1"), kv("get", "nothing"))
        self.assertEqual((self.store.kv.index, self.store.catalog.index), (kv_index, catalog_index))
        self.assertEqual(self.store.kv.list("tree/")[0], self.store.kv.entries["tree/2"].modify_index)

    def test_a_later_transaction_works_on_the_restored_tables(self):
        self.errors(kv("delete", "a"), kv("set", "z", Value=b"z"), kv("get", "missing"))
        at = self.next_index
        self.ok(kv("delete", "a"), kv("set", "z", Value=b"z"))
        self.assertEqual(dict(self.store.kv.tombstones)["a"], at)
        self.assertEqual(self.entry("z"), entry("z", b"z", 0, at, at))


class NodeTests(TxnTestCase):
    def test_set_get_and_their_results(self):
        at = self.next_index
        [result] = self.ok(node_op("set", "n1", Address="10.0.0.1", Meta={"rack": "r1"}))
        expected = {"ID": "", "Node": "n1", "Address": "10.0.0.1", "Datacenter": "", "TaggedAddresses": None,
                    "Meta": {"rack": "r1"}, "CreateIndex": at, "ModifyIndex": at}
        self.assertEqual(result, {"Node": expected})
        self.assertEqual(self.ok(node_op("get", "n1")), [{"Node": expected}])
        self.assertEqual(self.store.catalog.node("n1"), expected)
        self.assertEqual(self.errors(node_op("get", "ghost")), [(0, 'node "ghost" doesn\'t exist')])

    def test_cas(self):
        created = self.next_index
        self.ok(node_op("cas", "n1", Address="10.0.0.1"))  # ModifyIndex 0: only if absent
        self.assertEqual(self.errors(node_op("cas", "n1", Address="10.0.0.2")),
                         [(0, 'failed to set node "n1", index is stale')])
        self.assertEqual(self.errors(node_op("cas", "n1", Address="10.0.0.2", ModifyIndex=created + 5)),
                         [(0, 'failed to set node "n1", index is stale')])
        self.assertEqual(self.errors(node_op("cas", "ghost", Address="10.0.0.2", ModifyIndex=created)),
                         [(0, 'failed to set node "ghost", index is stale')])
        at = self.next_index
        [result] = self.ok(node_op("cas", "n1", Address="10.0.0.2", ModifyIndex=created))
        self.assertEqual((result["Node"]["Address"], result["Node"]["CreateIndex"], result["Node"]["ModifyIndex"]),
                         ("10.0.0.2", created, at))

    def test_delete_and_delete_cas(self):
        created = self.register(service={"Service": "web", "ID": "web1"})
        self.assertEqual(self.errors(node_op("delete-cas", "n1", ModifyIndex=created + 1)),
                         [(0, 'failed to delete node "n1", index is stale')])
        self.assertEqual(self.errors(node_op("delete-cas", "ghost", ModifyIndex=created)),
                         [(0, 'failed to delete node "ghost", index is stale')])
        self.assertEqual(self.ok(node_op("delete-cas", "n1", ModifyIndex=created)), [])
        self.assertEqual((self.store.catalog.node("n1"), dict(self.store.catalog.services)), (None, {}))
        self.register(node="n2")
        self.assertEqual(self.ok(node_op("delete", "n2"), node_op("delete", "ghost")), [])
        self.assertEqual(dict(self.store.catalog.nodes), {})

    def test_unknown_verb(self):
        self.assertEqual(self.errors(node_op("bogus", "n1")), [(0, 'unknown Node verb "bogus"')])


class ServiceTests(TxnTestCase):
    def setUp(self):
        super().setUp()
        self.register()

    def test_set_get_and_their_results(self):
        at = self.next_index
        [result] = self.ok(service_op("set", "n1", "web1", "web", Port=80, Tags=["a"]))
        stored = self.store.catalog.services[("n1", "web1")]
        self.assertEqual(result, {"Service": stored})
        self.assertEqual((stored["ID"], stored["Service"], stored["Port"], stored["Tags"], stored["CreateIndex"],
                          stored["ModifyIndex"]), ("web1", "web", 80, ["a"], at, at))
        self.assertEqual(self.ok(service_op("get", "n1", "web1", "web")), [{"Service": stored}])
        self.assertEqual(self.errors(service_op("get", "n1", "nope")),
                         [(0, 'service "nope" on node "n1" doesn\'t exist')])
        self.assertEqual(self.errors(service_op("get", "n2", "web1")),
                         [(0, 'service "web1" on node "n2" doesn\'t exist')])

    def test_set_needs_the_node(self):
        self.assertEqual(self.errors(service_op("set", "ghost", "web1", "web")), [(0, "Missing node registration")])

    def test_cas(self):
        created = self.next_index
        self.ok(service_op("cas", "n1", "web1", "web"))
        self.assertEqual(self.errors(service_op("cas", "n1", "web1", "web", Port=1)),
                         [(0, 'failed to set service "web1" on node "n1", index is stale')])
        self.assertEqual(self.errors(service_op("cas", "n1", "web1", "web", Port=1, ModifyIndex=created + 1)),
                         [(0, 'failed to set service "web1" on node "n1", index is stale')])
        self.assertEqual(self.errors(service_op("cas", "n1", "db1", "db", ModifyIndex=created)),
                         [(0, 'failed to set service "db1" on node "n1", index is stale')])
        at = self.next_index
        [result] = self.ok(service_op("cas", "n1", "web1", "web", Port=1, ModifyIndex=created))
        self.assertEqual((result["Service"]["Port"], result["Service"]["ModifyIndex"]), (1, at))

    def test_delete_and_delete_cas(self):
        created = self.register(service={"Service": "web", "ID": "web1"},
                                checks=[serf(), {"CheckID": "web-check", "Name": "w", "Status": "passing",
                                                 "ServiceID": "web1"}])
        self.assertEqual(self.errors(service_op("delete-cas", "n1", "web1", "web", ModifyIndex=created + 1)),
                         [(0, 'failed to delete service "web1" on node "n1", index is stale')])
        self.assertEqual(self.errors(service_op("delete-cas", "n1", "nope", "nope", ModifyIndex=created)),
                         [(0, 'failed to delete service "nope" on node "n1", index is stale')])
        self.assertEqual(self.ok(service_op("delete-cas", "n1", "web1", "web", ModifyIndex=created)), [])
        self.assertEqual(dict(self.store.catalog.services), {})
        self.assertEqual(list(self.store.catalog.checks), [("n1", "serfhealth")])
        self.register(service={"Service": "db", "ID": "db1"})
        self.assertEqual(self.ok(service_op("delete", "n1", "db1", "db"), service_op("delete", "n1", "nope")), [])
        self.assertEqual(dict(self.store.catalog.services), {})

    def test_unknown_verb(self):
        self.assertEqual(self.errors(service_op("bogus", "n1", "web1")), [(0, 'unknown Service verb "bogus"')])


class CheckTests(TxnTestCase):
    def setUp(self):
        super().setUp()
        self.register(service={"Service": "web", "ID": "web1", "Tags": ["t"]})

    def test_set_get_and_their_results(self):
        at = self.next_index
        [result] = self.ok(check_op("set", "n1", "web-check", Name="Web", Status="passing", ServiceID="web1"))
        stored = self.store.catalog.checks[("n1", "web-check")]
        self.assertEqual(result, {"Check": stored})
        self.assertEqual((stored["Status"], stored["ServiceName"], stored["ServiceTags"], stored["CreateIndex"],
                          stored["ModifyIndex"]), ("passing", "web", ["t"], at, at))
        self.assertEqual(self.ok(check_op("get", "n1", "web-check")), [{"Check": stored}])
        self.assertEqual(self.errors(check_op("get", "n1", "nope")), [(0, 'check "nope" on node "n1" doesn\'t exist')])

    def test_a_check_without_status_is_critical(self):
        [result] = self.ok(check_op("set", "n1", "disk", Name="Disk"))
        self.assertEqual(result["Check"]["Status"], "critical")

    def test_set_needs_the_node_and_the_service(self):
        # ensureCheckTxn answers ErrMissingNode and ErrMissingService as they are.
        self.assertEqual(self.errors(check_op("set", "ghost", "c", Name="c")), [(0, "Missing node registration")])
        self.assertEqual(self.errors(check_op("set", "n1", "c", Name="c", ServiceID="nope")),
                         [(0, "Missing service registration")])

    def test_cas(self):
        created = self.next_index
        self.ok(check_op("cas", "n1", "disk", Name="Disk", Status="passing"))
        self.assertEqual(self.errors(check_op("cas", "n1", "disk", Name="Disk", Status="warning")),
                         [(0, 'failed to set check "disk" on node "n1", index is stale')])
        self.assertEqual(self.errors(check_op("cas", "n1", "disk", Name="Disk", Status="warning",
                                              ModifyIndex=created + 3)),
                         [(0, 'failed to set check "disk" on node "n1", index is stale')])
        at = self.next_index
        [result] = self.ok(check_op("cas", "n1", "disk", Name="Disk", Status="warning", ModifyIndex=created))
        self.assertEqual((result["Check"]["Status"], result["Check"]["ModifyIndex"]), ("warning", at))

    def test_delete_and_delete_cas(self):
        created = self.next_index
        self.ok(check_op("set", "n1", "disk", Name="Disk", Status="passing"))
        self.assertEqual(self.errors(check_op("delete-cas", "n1", "disk", ModifyIndex=created + 1)),
                         [(0, 'failed to delete check "disk" on node "n1", index is stale')])
        self.assertEqual(self.errors(check_op("delete-cas", "n1", "nope", ModifyIndex=created)),
                         [(0, 'failed to delete check "nope" on node "n1", index is stale')])
        self.assertEqual(self.ok(check_op("delete-cas", "n1", "disk", ModifyIndex=created)), [])
        self.assertNotIn(("n1", "disk"), self.store.catalog.checks)
        self.assertEqual(self.ok(check_op("delete", "n1", "serfHealth"), check_op("delete", "n1", "nope")), [])
        self.assertEqual(dict(self.store.catalog.checks), {})

    def test_unknown_verb(self):
        self.assertEqual(self.errors(check_op("bogus", "n1", "disk")), [(0, 'unknown Check verb "bogus"')])

    def test_operations_see_earlier_catalog_operations(self):
        at = self.next_index
        results = self.ok(node_op("set", "n2", Address="10.0.0.2"), service_op("set", "n2", "db1", "db"),
                          check_op("set", "n2", "db-check", Name="db", Status="passing", ServiceID="db1"),
                          check_op("get", "n2", "db-check"), node_op("get", "n2"))
        self.assertEqual([sorted(r) for r in results], [["Node"], ["Service"], ["Check"], ["Check"], ["Node"]])
        self.assertEqual(results[3]["Check"]["ServiceName"], "db")
        self.assertEqual(results[4]["Node"]["CreateIndex"], at)


class SessionTests(TxnTestCase):
    """Catalog writes in a transaction end the sessions they break, as any
    catalog write does."""

    def setUp(self):
        super().setUp()
        self.register(service={"Service": "web", "ID": "web1"},
                      checks=[serf(), {"CheckID": "web-check", "Name": "w", "Status": "passing", "ServiceID": "web1"}])
        self.create_session(S1)
        self.lock("k", S1)

    def test_a_check_turned_critical_ends_the_session(self):
        at = self.next_index
        self.ok(kv("set", "other", Value=b"1"),
                check_op("set", "n1", "serfHealth", Name="Serf Health Status", Status="critical"))
        self.assertIsNone(self.store.sessions.get(S1))
        released = self.entry("k")
        self.assertEqual((released.session, released.modify_index, released.lock_index), (None, at, 1))
        self.assertEqual(self.store.kv.keys_locked_by(S1), [])
        self.assertTrue(self.store.lock_delays.active("k"))
        self.clock.advance(15)
        self.assertFalse(self.store.lock_delays.active("k"))

    def test_a_deleted_node_ends_its_sessions(self):
        self.create_session(S2, behavior="delete")
        self.lock("d", S2)
        at = self.next_index
        self.ok(node_op("delete", "n1"))
        self.assertEqual(self.store.sessions.all(), [])
        self.assertNotIn("d", self.store.kv.entries)
        self.assertEqual(dict(self.store.kv.tombstones), {"d": at})
        self.assertIsNone(self.entry("k").session)

    def test_a_deleted_service_ends_the_sessions_of_its_checks(self):
        self.create_session(S2, node_checks=(), service_checks=["web-check"])
        self.lock("w", S2)
        self.ok(service_op("delete", "n1", "web1", "web"))
        self.assertEqual([s["ID"] for s in self.store.sessions.all()], [S1])
        self.assertIsNone(self.entry("w").session)

    def test_a_healthy_check_write_keeps_the_session(self):
        self.ok(check_op("set", "n1", "serfHealth", Name="Serf Health Status", Status="warning"))
        self.assertIsNotNone(self.store.sessions.get(S1))
        self.assertEqual(self.entry("k").session, S1)

    def test_later_operations_see_the_session_ended(self):
        # ensureCheckTxn deletes the session inside the transaction: its lock
        # is already released for the operations after it, and it cannot
        # take new ones. Both fail, so the check stays passing.
        before = self.state()
        errors = self.errors(
            check_op("set", "n1", "serfHealth", Name="Serf Health Status", Status="critical"),
            kv("check-session", "k", Session=S1),
            kv("lock", "k2", Session=S1),
        )
        self.assertEqual(errors, [(1, 'failed session check for key "k", current session "" != "%s"' % S1),
                                  (2, 'invalid session "%s"' % S1)])
        self.assertEqual(self.state(), before)


class ReadOnlyTests(TxnTestCase):
    """state.txn.read: the same operations on the store as it is, no log entry."""

    def setUp(self):
        super().setUp()
        self.register(service={"Service": "web", "ID": "web1"})
        self.a = self.set("a", b"1")
        self.set("tree/1", b"x")

    def test_results(self):
        before = self.state()
        result = state_txn.read(self.store, [
            kv("get", "a"), kv("get-tree", "tree/"), kv("check-index", "a", Index=self.a), kv("check-not-exists", "b"),
            node_op("get", "n1"), service_op("get", "n1", "web1"), check_op("get", "n1", "serfHealth"),
        ])
        self.assertEqual(result["Errors"], None)
        self.assertEqual([r.get("KV") for r in result["Results"][:3]],
                         [self.entry("a"), self.entry("tree/1"), entry("a", None, 0, self.a, self.a)])
        self.assertEqual(result["Results"][3:], [{"Node": self.store.catalog.node("n1")},
                                                 {"Service": self.store.catalog.services[("n1", "web1")]},
                                                 {"Check": self.store.catalog.checks[("n1", "serfhealth")]}])
        self.assertEqual(self.state(), before)

    def test_errors(self):
        before = self.state()
        last = self.store.last_applied
        result = state_txn.read(self.store, [kv("get", "a"), kv("get", "missing"), kv("check-not-exists", "a"),
                                             node_op("get", "ghost")])
        self.assertEqual(result, {"Results": None, "Errors": [
            {"OpIndex": 1, "What": 'key "missing" doesn\'t exist'},
            {"OpIndex": 2, "What": 'key "a" exists'},
            {"OpIndex": 3, "What": 'node "ghost" doesn\'t exist'},
        ]})
        self.assertEqual((self.state(), self.store.last_applied), (before, last))

    def test_nothing_to_do(self):
        self.assertEqual(state_txn.read(self.store, []), {"Results": [], "Errors": None})


class WatchTests(TxnTestCase):
    def setUp(self):
        super().setUp()
        self.register()
        self.set("a")
        self.set("tree/1")
        self.woken = []

    def watch_key(self, key):
        self.store.watches.watch_key(key, lambda: self.woken.append(key))

    def watch_prefix(self, prefix):
        self.store.watches.watch_prefix(prefix, lambda: self.woken.append(prefix + "*"))

    def test_committed_keys_wake_their_watchers(self):
        for key in ("a", "b", "untouched"):
            self.watch_key(key)
        self.watch_prefix("tree/")
        self.watch_prefix("other/")
        self.ok(kv("set", "a", Value=b"new"), kv("set", "b", Value=b"1"), kv("delete-tree", "tree/"),
                kv("get-tree", "untouched"))
        self.assertEqual(sorted(self.woken), ["a", "b", "tree/*"])

    def test_catalog_views_wake_for_committed_catalog_operations(self):
        woken = []
        self.store.catalog_watches.watch_key(("node", "n2"), lambda: woken.append("n2"))
        self.store.catalog_watches.watch_key(("nodes",), lambda: woken.append("nodes"))
        self.ok(node_op("set", "n2", Address="10.0.0.2"))
        self.assertEqual(sorted(woken), ["n2", "nodes"])

    def test_a_failed_transaction_wakes_nobody(self):
        # memdb closes watch channels only when a transaction commits.
        self.watch_key("a")
        self.watch_prefix("tree/")
        woken = []
        self.store.catalog_watches.watch_key(("nodes",), lambda: woken.append("nodes"))
        self.errors(kv("set", "a", Value=b"new"), kv("delete-tree", "tree/"), node_op("set", "n2", Address="1"),
                    kv("get", "missing"))
        self.assertEqual((self.woken, woken), ([], []))
        self.ok(kv("set", "a", Value=b"new"))
        self.assertEqual(self.woken, ["a"])

    def test_reads_wake_nobody(self):
        self.watch_key("a")
        self.ok(kv("get", "a"), kv("check-index", "a", Index=self.store.kv.entries["a"].modify_index))
        self.assertEqual(self.woken, [])
