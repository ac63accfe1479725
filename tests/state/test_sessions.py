"""Sessions in the state store: what a session may be tied to, what ends
it, what its end does to the keys it holds, lock-delays on a fake clock,
LockIndex, the blocking-query views, and snapshots.

Everything goes through the FSM as Raft would drive it (one index per
command, ``notify`` after each), with Consul 1.10's state store
(agent/consul/state/session.go, kvs.go, catalog.go) as the reference.
"""

import io


from pyconsul.state import commands
from pyconsul.state.catalog import CatalogError
from pyconsul.state.sessions import SessionError
from pyconsul.state.store import FSM
from pyconsul.storage.snapshots import pack_records, unpack_records
from tests.state.fsmcase import FSMTestCase

# Session IDs are UUIDs: the session table is indexed by them.
S1 = "11111111-1111-1111-1111-111111111111"
S2 = "22222222-2222-2222-2222-222222222222"
S3 = "33333333-3333-3333-3333-333333333333"
S4 = "44444444-4444-4444-4444-444444444444"

SECOND = 10 ** 9
NODE_ID = "11111111-2222-3333-4444-555555555555"


def serf(status="passing"):
    return {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": status}


def check(check_id, status="passing", service_id=""):
    return {"CheckID": check_id, "Name": check_id, "Status": status, "ServiceID": service_id}


def session_record(session_id, node="n1", lock_delay=15 * SECOND, behavior="release", ttl="",
                   node_checks=("serfHealth",), service_checks=None, name=""):
    """A session as Session.Apply hands it to the log."""
    return {
        "ID": session_id,
        "Name": name,
        "Node": node,
        "LockDelay": lock_delay,
        "Behavior": behavior,
        "TTL": ttl,
        "NodeChecks": None if node_checks is None else list(node_checks),
        "ServiceChecks": None if service_checks is None else [{"ID": c, "Namespace": ""} for c in service_checks],
    }


class Recorder:
    """Which watched views (or keys) woke."""

    def __init__(self, registry, *names):
        self.woken = set()
        for name in names:
            registry.watch_key(name, lambda name=name: self.woken.add(name))


class SessionStoreTestCase(FSMTestCase):

    def register(self, node="n1", checks=(serf(),), service=None, address="10.0.0.1", **extra):
        request = {"Node": node, "Address": address, **extra}
        if checks:
            request["Checks"] = list(checks)
        if service is not None:
            request["Service"] = service
        result = self.apply(commands.catalog_register(request))
        self.assertIs(result, True, result)
        return self.index

    def deregister(self, **request):
        self.assertIs(self.apply(commands.catalog_deregister(request)), True)
        return self.index

    def create(self, session_id=S1, **fields):
        result = self.apply(commands.session_create(session_record(session_id, **fields)))
        self.assertEqual(result, session_id)
        return self.index

    def refused(self, session_id=S1, **fields):
        result = self.apply(commands.session_create(session_record(session_id, **fields)))
        self.assertIsInstance(result, SessionError)
        return str(result)

    def destroy(self, session_id):
        self.assertIs(self.apply(commands.session_destroy(session_id)), True)
        return self.index

    def lock(self, key, session_id, value=b"v", flags=0):
        return self.apply(commands.kv_lock(key, value, flags, session_id))

    def unlock(self, key, session_id, value=b"v", flags=0):
        return self.apply(commands.kv_unlock(key, value, flags, session_id))

    def entry(self, key):
        return self.store.kv.get(key)[1]

    def session(self, session_id):
        return self.store.sessions.get(session_id)

    def alive(self):
        return [s["ID"] for s in self.store.sessions.all()]


class CreateTests(SessionStoreTestCase):
    def test_a_session_is_stored_with_its_indexes(self):
        self.register()
        at = self.create(name="web-lock", ttl="15s")
        stored = self.session(S1)
        self.assertEqual(stored, dict(session_record(S1, name="web-lock", ttl="15s"), CreateIndex=at, ModifyIndex=at))
        self.assertEqual(self.store.sessions.index, at)
        self.assertEqual([s["ID"] for s in self.store.sessions.on_node("N1")], [S1])  # node names without case
        self.assertEqual(self.store.sessions.on_node("n2"), [])

    def test_listing_is_by_id(self):
        self.register()
        for session_id in ("c", "a", "b"):
            self.create(session_id)
        self.assertEqual(self.alive(), ["a", "b", "c"])

    def test_the_node_must_be_registered(self):
        self.assertEqual(self.refused(node="ghost"), "Missing node registration")
        self.assertEqual((self.alive(), self.store.sessions.index), ([], 0))

    def test_the_node_is_found_without_case(self):
        self.register(node="Web-1")
        self.create(node="WEB-1")
        self.assertEqual(self.session(S1)["Node"], "WEB-1")
        self.assertEqual(len(self.store.sessions.on_node("web-1")), 1)

    def test_every_check_must_be_registered(self):
        self.register(checks=[serf(), check("disk")])
        self.assertEqual(self.refused(node_checks=["serfHealth", "memory"]), "Missing check 'memory' registration")
        self.assertEqual(self.refused(node_checks=[], service_checks=["web-check"]),
                         "Missing check 'web-check' registration")
        self.create(node_checks=["serfHealth", "disk"])

    def test_the_default_serf_check_must_exist(self):
        self.register(checks=[check("disk")])
        self.assertEqual(self.refused(), "Missing check 'serfHealth' registration")

    def test_a_check_on_another_node_does_not_count(self):
        self.register(node="n1", checks=[serf()])
        self.register(node="n2", checks=[serf(), check("disk")], address="10.0.0.2")
        self.assertEqual(self.refused(node_checks=["disk"]), "Missing check 'disk' registration")

    def test_no_check_may_be_critical(self):
        self.register(checks=[serf(), check("disk", "critical")])
        self.assertEqual(self.refused(node_checks=["serfHealth", "disk"]), "Check 'disk' is in critical state")
        self.register(checks=[serf("critical")])
        self.assertEqual(self.refused(), "Check 'serfHealth' is in critical state")
        self.assertEqual(self.alive(), [])

    def test_a_warning_check_is_fine(self):
        self.register(checks=[serf("warning")])
        self.create()
        self.assertEqual(self.alive(), [S1])

    def test_check_ids_match_without_case(self):
        self.register(checks=[serf(), check("Disk")])
        self.create(node_checks=["SERFHEALTH", "disk"])
        self.register(checks=[check("Disk", "critical")])
        self.assertEqual(self.alive(), [])

    def test_no_checks_at_all(self):
        self.register(checks=[serf("critical")])
        self.create(node_checks=[])
        self.create(S2, node_checks=None)
        self.assertEqual(self.alive(), [S1, S2])

    def test_a_service_check(self):
        self.register(service={"Service": "web", "ID": "web1"}, checks=[serf(), check("web-check", service_id="web1")])
        self.create(node_checks=[], service_checks=["web-check"])
        self.assertEqual(self.session(S1)["ServiceChecks"], [{"ID": "web-check", "Namespace": ""}])


class InvalidationTests(SessionStoreTestCase):
    """What ends a session besides a destroy, in the catalog write that causes it."""

    def setUp(self):
        super().setUp()
        self.register(service={"Service": "web", "ID": "web1"},
                      checks=[serf(), check("disk"), check("web-check", service_id="web1")])
        self.register(node="n2", address="10.0.0.2", checks=[serf(), check("disk")])

    def test_a_linked_node_check_turning_critical(self):
        self.create(S1, node_checks=["serfHealth", "disk"])
        self.create(S2)  # serfHealth only
        self.create(S3, node="n2", node_checks=["serfHealth", "disk"])
        self.lock("k", S1)
        at = self.register(checks=[check("disk", "critical")])
        self.assertEqual(self.alive(), [S2, S3])
        self.assertEqual(self.store.sessions.index, at)
        entry = self.entry("k")
        self.assertEqual((entry.session, entry.modify_index, entry.lock_index, entry.value), (None, at, 1, b"v"))

    def test_the_serf_check_turning_critical_ends_every_default_session(self):
        self.create(S1)
        self.create(S2, node_checks=["disk"])
        self.register(checks=[serf("critical")])
        self.assertEqual(self.alive(), [S2])

    def test_a_warning_or_another_check_changes_nothing(self):
        self.create(S1, node_checks=["serfHealth", "disk"])
        self.register(checks=[check("disk", "warning")])
        self.register(checks=[check("web-check", "critical", service_id="web1")])
        self.register(node="n2", address="10.0.0.2", checks=[check("disk", "critical")])
        self.register(checks=[check("new-check", "critical")])
        self.assertEqual(self.alive(), [S1])

    def test_a_linked_service_check_turning_critical(self):
        self.create(S1, node_checks=[], service_checks=["web-check"])
        self.create(S2, node_checks=[])
        self.register(checks=[check("web-check", "critical", service_id="web1")])
        self.assertEqual(self.alive(), [S2])

    def test_a_linked_check_deregistered(self):
        self.create(S1, node_checks=["disk"])
        self.create(S2, node_checks=["serfHealth"])
        self.deregister(Node="n1", CheckID="disk")
        self.assertEqual(self.alive(), [S2])

    def test_a_service_deregistered_takes_its_checks_and_their_sessions(self):
        self.create(S1, node_checks=[], service_checks=["web-check"])
        self.create(S2)
        self.lock("web/leader", S1)
        at = self.deregister(Node="n1", ServiceID="web1")
        self.assertEqual(self.alive(), [S2])
        self.assertIsNone(self.entry("web/leader").session)
        self.assertEqual(self.entry("web/leader").modify_index, at)

    def test_a_node_deregistered_ends_all_its_sessions(self):
        self.create(S1)
        self.create(S2, node_checks=[])  # tied to no check, still tied to the node
        self.create(S3, node="n2")
        self.lock("a", S1)
        self.lock("b", S2)
        at = self.deregister(Node="n1")
        self.assertEqual(self.alive(), [S3])
        self.assertEqual(self.store.sessions.on_node("n1"), [])
        self.assertEqual([(self.entry(k).session, self.entry(k).modify_index) for k in "ab"], [(None, at)] * 2)

    def test_a_node_renamed_under_its_id_ends_the_sessions_of_its_old_name(self):
        # Consul's ensureNodeTxn deletes the node under its old name
        # (deleteNodeTxn), which invalidates that node's sessions.
        self.register(node="old", address="10.0.0.3", ID=NODE_ID)
        self.create(S1, node="old")
        self.lock("k", S1)
        at = self.register(node="new", address="10.0.0.3", ID=NODE_ID)
        self.assertIsNone(self.store.catalog.node("old"))
        self.assertEqual(self.alive(), [])
        self.assertEqual(self.store.sessions.on_node("old"), [])
        self.assertEqual((self.entry("k").session, self.entry("k").modify_index), (None, at))

    def test_a_refused_registration_ends_nothing(self):
        self.create(S1, node_checks=["disk"])
        result = self.apply(commands.catalog_register({
            "Node": "n1", "Address": "10.0.0.1",
            "Checks": [check("disk", "critical"), check("x", service_id="no-such-service")]}))
        self.assertIsInstance(result, CatalogError)
        self.assertEqual(self.alive(), [S1])


class DestroyTests(SessionStoreTestCase):
    def setUp(self):
        super().setUp()
        self.register()

    def test_release_keeps_the_keys_without_their_holder(self):
        self.create(S1)
        self.lock("a", S1, b"va", flags=7)
        self.lock("b", S1, b"vb")
        self.apply(commands.kv_set("c", b"free"))
        self.assertEqual(self.store.kv.keys_locked_by(S1), ["a", "b"])
        at = self.destroy(S1)
        for key, value, flags in (("a", b"va", 7), ("b", b"vb", 0)):
            entry = self.entry(key)
            self.assertEqual((entry.session, entry.value, entry.flags, entry.lock_index, entry.modify_index),
                             (None, value, flags, 1, at), key)
        self.assertEqual(self.entry("c").modify_index, at - 1)
        self.assertEqual(self.store.kv.keys_locked_by(S1), [])
        self.assertEqual((self.alive(), self.store.sessions.index, self.store.kv.index), ([], at, at))

    def test_delete_removes_the_keys(self):
        self.create(S1, behavior="delete")
        self.lock("a", S1)
        self.lock("b/c", S1)
        self.apply(commands.kv_set("b/d", b"stays"))
        at = self.destroy(S1)
        self.assertEqual(list(self.store.kv.entries), ["b/d"])
        self.assertEqual(self.store.kv.get("a"), (at, None))
        self.assertEqual(self.store.kv.list("b/")[0], at)  # the deletion's tombstone
        self.assertEqual(self.store.kv.tombstones["a"], at)

    def test_a_released_key_is_not_held_any_more(self):
        self.create(S1, behavior="delete")
        self.lock("a", S1)
        self.assertIs(self.unlock("a", S1, None), True)
        self.destroy(S1)
        self.assertEqual(self.entry("a").value, None)  # a key given up before the end stays

    def test_destroying_an_unknown_session_is_no_error(self):
        self.create(S1)
        before = self.store.sessions.index
        self.destroy("nope")
        self.destroy("nope")
        self.assertEqual((self.alive(), self.store.sessions.index), ([S1], before))

    def test_destroying_twice(self):
        self.create(S1)
        at = self.destroy(S1)
        self.destroy(S1)
        self.assertEqual(self.store.sessions.index, at)

    def test_a_destroyed_session_cannot_lock(self):
        self.create(S1)
        self.destroy(S1)
        result = self.lock("a", S1)
        self.assertIsInstance(result, SessionError)
        self.assertEqual(str(result), 'invalid session "%s"' % S1)


class LockTests(SessionStoreTestCase):
    def setUp(self):
        super().setUp()
        self.register()
        for session_id in (S1, S2, S3):
            self.create(session_id)

    def test_lock_index_over_holders(self):
        self.assertIs(self.lock("k", S1, b"one"), True)
        first = self.index
        entry = self.entry("k")
        self.assertEqual((entry.session, entry.lock_index, entry.create_index, entry.modify_index, entry.value),
                         (S1, 1, first, first, b"one"))
        # The holder acquiring again: same LockIndex, new value.
        self.assertIs(self.lock("k", S1, b"again"), True)
        entry = self.entry("k")
        self.assertEqual((entry.lock_index, entry.value, entry.modify_index), (1, b"again", self.index))
        # Someone else: refused, nothing written.
        self.assertIs(self.lock("k", S2, b"two"), False)
        self.assertIs(self.unlock("k", S2, b"two"), False)
        entry = self.entry("k")
        self.assertEqual((entry.session, entry.value, entry.modify_index), (S1, b"again", self.index - 2))
        # Released with a value (None: an empty body).
        self.assertIs(self.unlock("k", S1, None), True)
        entry = self.entry("k")
        self.assertEqual((entry.session, entry.lock_index, entry.value, entry.modify_index),
                         (None, 1, None, self.index))
        # A release is not a lock-delay: s2 takes it at once, a new holder.
        self.assertFalse(self.store.lock_delays.active("k"))
        self.assertIs(self.lock("k", S2, b"two"), True)
        self.assertEqual((self.entry("k").lock_index, self.entry("k").create_index), (2, first))
        # Its session ends: the key keeps its LockIndex.
        self.destroy(S2)
        self.assertEqual((self.entry("k").session, self.entry("k").lock_index), (None, 2))
        self.clock.advance(15)
        self.assertIs(self.lock("k", S3), True)
        self.assertEqual(self.entry("k").lock_index, 3)

    def test_locking_an_existing_key_keeps_its_create_index(self):
        self.apply(commands.kv_set("k", b"plain"))
        created = self.index
        self.assertIs(self.lock("k", S1, b"locked", flags=3), True)
        entry = self.entry("k")
        self.assertEqual((entry.create_index, entry.lock_index, entry.flags, entry.value), (created, 1, 3, b"locked"))

    def test_unknown_and_missing_sessions(self):
        result = self.lock("k", "no-such-session")
        # The session table is indexed by UUID: go-memdb refuses anything else.
        self.assertEqual((type(result), str(result)),
                         (SessionError, "failed session lookup: UUID must be 36 characters"))
        result = self.lock("k", "00000000-0000-4000-8000-000000000000")
        self.assertEqual((type(result), str(result)), (SessionError, 'invalid session \"00000000-0000-4000-8000-000000000000\"'))
        result = self.lock("k", "")
        self.assertEqual((type(result), str(result)), (SessionError, "missing session"))
        self.assertIsNone(self.entry("k"))
        # Checked before the holder: an unknown session on a held key is an error too.
        self.lock("k", S1)
        self.assertIsInstance(self.lock("k", "ghost"), SessionError)

    def test_release_with_no_session_is_an_error(self):
        # kvsUnlockTxn: "missing session", before it looks at the key.
        self.lock("k", S1)
        result = self.unlock("k", "")
        self.assertIsInstance(result, SessionError)
        self.assertEqual(str(result), "missing session")
        self.assertEqual(self.entry("k").session, S1)

    def test_releasing_a_missing_or_free_key(self):
        self.assertIs(self.unlock("nothing", S1), False)
        self.assertIsNone(self.entry("nothing"))
        self.apply(commands.kv_set("free", b"x"))
        self.assertIs(self.unlock("free", S1), False)
        self.assertEqual(self.entry("free").value, b"x")

    def test_releasing_with_an_unknown_session_is_just_false(self):
        self.lock("k", S1)
        self.assertIs(self.unlock("k", "ghost"), False)

    def test_a_plain_write_keeps_the_holder(self):
        self.lock("k", S1, b"locked")
        self.assertIs(self.apply(commands.kv_set("k", b"overwritten", 0)), True)
        entry = self.entry("k")
        self.assertEqual((entry.session, entry.value, entry.modify_index), (S1, b"overwritten", self.index))
        self.assertIs(self.apply(commands.kv_cas("k", b"cas", 0, self.index)), True)
        self.assertEqual((self.entry("k").session, self.entry("k").value), (S1, b"cas"))
        self.assertEqual(self.store.kv.keys_locked_by(S1), ["k"])
        # ... so the session's end still releases it.
        self.destroy(S1)
        self.assertIsNone(self.entry("k").session)

    def test_a_plain_write_resets_the_lock_index(self):
        # Consul's kvsSetTxn keeps the holder but takes the LockIndex of the
        # entry written, which a plain PUT (or ?cas) sends as 0.
        self.lock("k", S1, b"locked")
        self.assertIs(self.apply(commands.kv_set("k", b"overwritten", 0)), True)
        self.assertEqual((self.entry("k").session, self.entry("k").lock_index), (S1, 0))
        self.assertIs(self.unlock("k", S1), True)
        self.assertIs(self.lock("k", S2), True)
        self.assertEqual(self.entry("k").lock_index, 1)

    def test_a_deleted_lock_is_gone_from_the_session(self):
        self.lock("a", S1)
        self.lock("b/c", S1)
        self.apply(commands.kv_delete("a"))
        self.apply(commands.kv_delete_tree("b/"))
        self.assertEqual(self.store.kv.keys_locked_by(S1), [])
        self.apply(commands.kv_set("a", b"new"))
        self.destroy(S1)
        self.assertEqual((self.entry("a").value, self.entry("a").modify_index), (b"new", self.index - 1))

    def test_each_session_ends_only_its_own_locks(self):
        self.lock("a", S1)
        self.lock("b", S2)
        self.destroy(S1)
        self.assertEqual((self.entry("a").session, self.entry("b").session), (None, S2))
        self.assertEqual(self.store.kv.keys_locked_by(S2), ["b"])


class LockDelayTests(SessionStoreTestCase):
    def setUp(self):
        super().setUp()
        self.register(checks=[serf(), check("disk")])

    def delayed(self, key):
        return self.store.lock_delays.active(key)

    def test_the_end_of_a_session_starts_its_lock_delay(self):
        self.create(S1, lock_delay=10 * SECOND)
        self.lock("a", S1)
        self.lock("b", S1)
        self.clock.advance(100)
        self.destroy(S1)
        self.assertEqual((self.delayed("a"), self.delayed("b"), self.delayed("c")), (True, True, False))
        self.clock.advance(9.9)
        self.assertTrue(self.delayed("a"))
        self.clock.advance(0.1)
        self.assertEqual((self.delayed("a"), self.delayed("b")), (False, False))

    def test_delete_behavior_delays_too(self):
        self.create(S1, lock_delay=5 * SECOND, behavior="delete")
        self.lock("a", S1)
        self.destroy(S1)
        self.assertTrue(self.delayed("a"))
        self.clock.advance(5)
        self.assertFalse(self.delayed("a"))

    def test_an_invalidation_delays_too(self):
        self.create(S1, node_checks=["disk"])
        self.lock("a", S1)
        self.register(checks=[check("disk", "critical")])
        self.assertTrue(self.delayed("a"))
        self.clock.advance(14.9)
        self.assertTrue(self.delayed("a"))
        self.clock.advance(0.1)
        self.assertFalse(self.delayed("a"))

    def test_no_delay(self):
        self.create(S1, lock_delay=0)
        self.lock("a", S1)
        self.destroy(S1)
        self.assertFalse(self.delayed("a"))

    def test_only_keys_held_at_the_end(self):
        self.create(S1)
        self.lock("a", S1)
        self.unlock("a", S1)
        self.lock("b", S1)
        self.destroy(S1)
        self.assertEqual((self.delayed("a"), self.delayed("b")), (False, True))

    def test_the_delay_is_at_most_a_minute(self):
        # structs.MaxLockDelay: deleteSessionTxn caps the session's LockDelay at 60s.
        self.create(S1, lock_delay=120 * SECOND)
        self.lock("a", S1)
        self.destroy(S1)
        self.clock.advance(59.9)
        self.assertTrue(self.delayed("a"))
        self.clock.advance(0.1)
        self.assertFalse(self.delayed("a"))

    def test_the_state_store_does_not_enforce_the_delay(self):
        # The leader's KVS.Apply refuses the lock; the log entry itself
        # (already accepted) must apply the same on every server.
        self.create(S1)
        self.create(S2)
        self.lock("a", S1)
        self.destroy(S1)
        self.assertTrue(self.delayed("a"))
        self.assertIs(self.lock("a", S2), True)


class WatchTests(SessionStoreTestCase):
    def setUp(self):
        super().setUp()
        self.register(checks=[serf(), check("disk")])
        self.register(node="n2", address="10.0.0.2")

    VIEWS = (("sessions",), ("session", S1), ("session", S2), ("node-sessions", "n1"), ("node-sessions", "n2"))

    def woken_by(self, data, *keys):
        views = Recorder(self.store.catalog_watches, *self.VIEWS)
        kv = Recorder(self.store.watches, *keys)
        self.apply(data)
        return views.woken, kv.woken

    def test_create_wakes_its_views(self):
        views, _ = self.woken_by(commands.session_create(session_record(S1, node="N1")))
        self.assertEqual(views, {("sessions",), ("session", S1), ("node-sessions", "n1")})

    def test_a_refused_create_wakes_nothing(self):
        views, _ = self.woken_by(commands.session_create(session_record(S1, node="ghost")))
        self.assertEqual(views, set())

    def test_destroy_wakes_its_views_and_its_keys(self):
        self.create(S1)
        self.create(S2, node="n2")
        self.lock("held", S1)
        self.apply(commands.kv_set("other", b"x"))
        views, keys = self.woken_by(commands.session_destroy(S1), "held", "other")
        self.assertEqual(views, {("sessions",), ("session", S1), ("node-sessions", "n1")})
        self.assertEqual(keys, {"held"})

    def test_an_unknown_destroy_wakes_nothing(self):
        self.create(S1)
        views, _ = self.woken_by(commands.session_destroy(S2))
        self.assertEqual(views, set())

    def test_an_invalidation_wakes_the_session_views(self):
        self.create(S1, node_checks=["disk"])
        self.create(S2, node="n2")
        self.lock("held", S1)
        views, keys = self.woken_by(
            commands.catalog_register({"Node": "n1", "Address": "10.0.0.1", "Checks": [check("disk", "critical")]}),
            "held")
        self.assertEqual(views, {("sessions",), ("session", S1), ("node-sessions", "n1")})
        self.assertEqual(keys, {"held"})

    def test_lock_and_release_wake_the_key_not_the_sessions(self):
        self.create(S1)
        views, keys = self.woken_by(commands.kv_lock("k", b"v", 0, S1), "k")
        self.assertEqual((views, keys), (set(), {"k"}))
        views, keys = self.woken_by(commands.kv_unlock("k", b"v", 0, S1), "k")
        self.assertEqual((views, keys), (set(), {"k"}))


class SnapshotTests(SessionStoreTestCase):
    def setUp(self):
        super().setUp()
        self.register(checks=[serf(), check("disk")])
        self.create(S1, behavior="delete", ttl="30s", lock_delay=5 * SECOND)
        self.create(S2, node_checks=["disk"])
        self.lock("a", S1, b"va")
        self.lock("b", S2, b"vb")
        self.lock("b", S2, b"vb2")
        self.unlock("b", S2, b"vb3")
        self.lock("b", S2, b"vb4")

    def roundtrip(self, fsm=None):
        """A copy restored from this FSM's snapshot, through msgpack as on disk."""
        blob = io.BytesIO()
        pack_records(self.fsm.snapshot(), blob)
        blob.seek(0)
        copy = fsm or FSM(clock=self.clock)
        copy.restore(unpack_records(blob))
        copy.notify()
        return copy

    def test_sessions_and_locks_survive(self):
        copy = self.roundtrip()
        store = copy.store
        self.assertEqual(store.sessions.all(), self.store.sessions.all())
        self.assertEqual(store.sessions.index, self.store.sessions.index)
        self.assertEqual([s["ID"] for s in store.sessions.on_node("n1")], [S1, S2])
        self.assertEqual((store.kv.keys_locked_by(S1), store.kv.keys_locked_by(S2)), (["a"], ["b"]))
        self.assertEqual(store.kv.entries["b"], self.store.kv.entries["b"])
        self.assertEqual(store.kv.entries["b"].lock_index, 2)

    def test_a_restored_session_ends_as_the_original(self):
        copy = self.roundtrip()
        index = self.index + 1
        self.assertIs(copy.apply(index, commands.session_destroy(S1)), True)
        self.assertEqual(copy.store.kv.get("a"), (index, None))  # Behavior delete
        self.assertTrue(copy.store.lock_delays.active("a"))
        # s2 is still tied to its check.
        register = {"Node": "n1", "Address": "10.0.0.1", "Checks": [check("disk", "critical")]}
        self.assertIs(copy.apply(index + 1, commands.catalog_register(register)), True)
        self.assertEqual(copy.store.sessions.all(), [])
        entry = copy.store.kv.entries["b"]
        self.assertEqual((entry.session, entry.lock_index, entry.value, entry.modify_index),
                         (None, 2, b"vb4", index + 1))

    def test_a_restored_lock_still_refuses_others(self):
        copy = self.roundtrip()
        copy.apply(self.index + 1, commands.session_create(session_record(S3)))
        self.assertIs(copy.apply(self.index + 2, commands.kv_lock("a", b"x", 0, S3)), False)

    def test_the_snapshot_is_a_copy(self):
        records = self.fsm.snapshot()
        self.destroy(S1)
        self.create("s9")
        copy = FSM(clock=self.clock)
        copy.restore(records)
        self.assertEqual([s["ID"] for s in copy.store.sessions.all()], [S1, S2])
        self.assertEqual(copy.store.kv.keys_locked_by(S1), ["a"])

    def test_restore_replaces_what_was_there(self):
        other = FSM(clock=self.clock)
        other.apply(1, commands.catalog_register({"Node": "x", "Address": "10.0.0.9", "Checks": [serf()]}))
        other.apply(2, commands.session_create(session_record("old", node="x")))
        other.apply(3, commands.kv_lock("old-key", b"", 0, "old"))
        self.roundtrip(other)
        self.assertEqual([s["ID"] for s in other.store.sessions.all()], [S1, S2])
        self.assertEqual((other.store.sessions.on_node("x"), other.store.kv.keys_locked_by("old")), ([], []))

    def test_restore_wakes_session_watchers(self):
        # Consul's Restore abandons the old state store: every blocking
        # query wakes, session ones included.
        copy = FSM(clock=self.clock)
        woken = Recorder(copy.store.catalog_watches, ("sessions",), ("session", S1), ("node-sessions", "n1"))
        self.roundtrip(copy)
        self.assertEqual(woken.woken, {("sessions",), ("session", S1), ("node-sessions", "n1")})

    def test_restore_wakes_watchers_of_sessions_that_went(self):
        other = FSM(clock=self.clock)
        other.apply(1, commands.catalog_register({"Node": "x", "Address": "10.0.0.9", "Checks": [serf()]}))
        other.apply(2, commands.session_create(session_record("old", node="x")))
        other.notify()
        woken = Recorder(other.store.catalog_watches, ("session", "old"), ("node-sessions", "x"))
        self.roundtrip(other)
        self.assertEqual(woken.woken, {("session", "old"), ("node-sessions", "x")})
