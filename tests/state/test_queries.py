"""Prepared queries in the state store, through the FSM as Raft drives it:
Consul 1.10's rules for names, IDs, templates and sessions (with its
messages), lookups by ID, name and template prefix, the table index and
the views blocking reads watch, queries ending with their session, and
snapshots (state/prepared_query.go as the reference)."""

import io

from pyconsul.state import commands
from pyconsul.state.queries import QueryError, is_uuid, query_record
from pyconsul.state.store import FSM
from pyconsul.storage.snapshots import pack_records, unpack_records
from tests.state.fsmcase import FSMTestCase
from tests.state.test_sessions import Recorder, serf, session_record

Q1 = "aaaaaaaa-0000-4000-8000-000000000001"
Q2 = "aaaaaaaa-0000-4000-8000-000000000002"
Q3 = "aaaaaaaa-0000-4000-8000-000000000003"
S1 = "11111111-1111-1111-1111-111111111111"


def query(query_id, name="", service="redis", session="", **fields):
    record = {"ID": query_id, "Name": name, "Session": session, "Service": {"Service": service}}
    record.update(fields)
    return record


def template(query_id, name, service="${name.suffix}", regexp=""):
    return query(query_id, name, service, Template={"Type": "name_prefix_match", "Regexp": regexp})


class QueryTestCase(FSMTestCase):
    def set(self, record, op="create"):
        return self.apply(commands.prepared_query({"Op": op, "Query": record}))

    def refused(self, record):
        result = self.set(record)
        self.assertIsInstance(result, QueryError)
        return str(result)

    def delete(self, query_id):
        return self.apply(commands.prepared_query({"Op": "delete", "Query": {"ID": query_id}}))

    @property
    def queries(self):
        return self.store.queries

    def resolve(self, name, source=None):
        found = self.queries.resolve(name, source)
        return None if found is None else found


class WriteTests(QueryTestCase):
    def test_create_keeps_consuls_shape_and_indexes(self):
        stored = self.set(query(Q1, "redis"))
        self.assertEqual(list(stored), ["ID", "Name", "Session", "Token", "Template", "Service", "DNS",
                                        "CreateIndex", "ModifyIndex"])
        self.assertEqual(list(stored["Service"]), ["Service", "Failover", "OnlyPassing", "IgnoreCheckIDs",
                                                   "Near", "Tags", "NodeMeta", "ServiceMeta", "Connect"])
        self.assertEqual((stored["CreateIndex"], stored["ModifyIndex"]), (1, 1))
        self.assertEqual(self.queries.index, 1)

    def test_update_keeps_the_create_index(self):
        self.set(query(Q1, "redis"))
        updated = self.set(query(Q1, "redis", service="db"), op="update")
        self.assertEqual((updated["CreateIndex"], updated["ModifyIndex"]), (1, 2))
        self.assertEqual(self.queries.get(Q1)["Service"]["Service"], "db")

    def test_a_missing_id(self):
        self.assertEqual(self.refused(query("", "x")), "Missing query ID")

    def test_names_are_unique_without_case(self):
        self.set(query(Q1, "Redis"))
        self.assertEqual(self.refused(query(Q2, "rEDIS")), "name 'rEDIS' aliases an existing query name")
        self.assertEqual(self.refused(template(Q2, "redis")), "name 'redis' aliases an existing query name")
        self.set(query(Q1, "REDIS"), op="update")  # its own name is no alias

    def test_a_name_may_not_be_another_querys_id(self):
        self.set(query(Q1, "first"))
        self.assertEqual(self.refused(query(Q2, Q1.upper())), "name '%s' aliases an existing query ID" % Q1.upper())
        self.set(query(Q2, Q3))  # a UUID nobody has is a name like any other

    def test_one_template_with_the_empty_name(self):
        self.set(template(Q1, ""))
        self.assertEqual(self.refused(template(Q2, "")), "a query template with an empty name already exists")
        self.set(query(Q2, "", session=""))  # not a template: allowed (the endpoint asks for a session)

    def test_the_session_must_exist(self):
        self.assertEqual(self.refused(query(Q1, "x", session=S1)), 'invalid session "%s"' % S1)
        self.assertEqual(self.refused(query(Q1, "x", session="nope")),
                         "invalid session: index error: UUID must be 36 characters")

    def test_templates_are_compiled_on_write(self):
        self.assertEqual(self.refused(template(Q1, "geo-", regexp="(")),
                         "failed compiling template: Bad Regexp: error parsing regexp: missing closing ): `(`")
        self.assertEqual(self.refused(query(Q1, "geo-", Template={"Type": "prefix"})),
                         "failed compiling template: Bad Template.Type 'prefix'")
        self.assertIsNone(self.queries.queries.get(Q1))
        self.assertEqual(self.queries.index, 0)

    def test_unknown_op(self):
        result = self.apply(commands.prepared_query({"Op": "merge", "Query": query(Q1)}))
        self.assertEqual(str(result), "Unknown prepared query operation: merge")

    def test_delete(self):
        self.set(query(Q1, "redis"))
        self.delete(Q1)
        self.assertEqual((self.queries.all(), self.queries.index), ([], 2))
        self.assertIsNone(self.resolve("redis"))
        self.delete(Q1)  # again: no error
        self.set(query(Q2, "redis"))  # the name is free

    def test_a_rename_frees_the_old_name(self):
        self.set(template(Q1, "geo-"))
        self.set(query(Q1, "plain"), op="update")
        self.assertIsNone(self.resolve("geo-x"))
        self.set(template(Q2, "geo-"))


class LookupTests(QueryTestCase):
    def test_get_by_id_in_any_case(self):
        self.set(query(Q1, "redis"))
        self.assertEqual(self.queries.get(Q1.upper())["ID"], Q1)
        self.assertIsNone(self.queries.get(Q2))
        with self.assertRaises(QueryError) as raised:
            self.queries.get("redis")
        self.assertEqual(str(raised.exception), "failed prepared query lookup: index error: UUID must be 36 characters")

    def test_list_in_id_order(self):
        for query_id in (Q3, Q1, Q2):
            self.set(query(query_id))
        self.assertEqual([q["ID"] for q in self.queries.all()], [Q1, Q2, Q3])

    def test_resolve_by_id_then_name(self):
        self.set(query(Q1, "redis"))
        self.assertEqual(self.resolve(Q1)["Name"], "redis")
        self.assertEqual(self.resolve("REDIS")["ID"], Q1)
        self.assertIsNone(self.resolve("nope"))
        with self.assertRaises(QueryError) as raised:
            self.resolve("")
        self.assertEqual(str(raised.exception), "Missing query ID")

    def test_templates_by_longest_prefix(self):
        self.set(template(Q1, "", service="catch-all-${name.full}"))
        self.set(template(Q2, "geo-", service="geo-${name.suffix}"))
        self.set(template(Q3, "geo-db-", service="db-${name.suffix}"))
        self.assertEqual(self.resolve("geo-db-mysql")["Service"]["Service"], "db-mysql")
        self.assertEqual(self.resolve("geo-web")["Service"]["Service"], "geo-web")
        self.assertEqual(self.resolve("other")["Service"]["Service"], "catch-all-other")
        # Found without case, but name.suffix is Go's (case-sensitive) TrimPrefix.
        self.assertEqual(self.resolve("GEO-DB-x")["Service"]["Service"], "db-GEO-DB-x")

    def test_an_exact_name_beats_a_template(self):
        self.set(template(Q1, "geo-"))
        self.set(query(Q2, "geo-web", service="exact"))
        self.assertEqual(self.resolve("geo-web")["Service"]["Service"], "exact")

    def test_a_template_is_not_resolved_by_id(self):
        self.set(template(Q1, "geo-"))
        with self.assertRaises(QueryError) as raised:
            self.resolve(Q1)
        self.assertEqual(str(raised.exception), "prepared query templates can only be resolved up by name, not by ID")

    def test_a_template_renders_with_the_asking_agents_segment(self):
        self.set(template(Q1, "geo-", service="s${agent.segment}"))
        self.assertEqual(self.resolve("geo-x", {"Segment": "b"})["Service"]["Service"], "sb")

    def test_a_template_that_fails_to_render(self):
        # Renders for its own name (the trial render), not for others.
        self.set(template(Q1, "geo-", service='${10 / (name.suffix == "" ? 1 : 0)}'))
        with self.assertRaises(QueryError) as raised:
            self.resolve("geo-x")
        self.assertIn("Bad evaluation for", str(raised.exception))

    def test_is_uuid(self):
        self.assertTrue(is_uuid(Q1.upper()))
        for text in ("", Q1[:-1], Q1 + "0", Q1.replace("-", "x"), "g" + Q1[1:]):
            self.assertFalse(is_uuid(text))


class SessionTests(QueryTestCase):
    def setUp(self):
        super().setUp()
        self.apply(commands.catalog_register({"Node": "n1", "Address": "10.0.0.1", "Check": serf()}))
        self.apply(commands.session_create(session_record(S1)))

    def test_a_query_goes_with_its_session(self):
        self.set(query(Q1, "bound", session=S1))
        self.set(query(Q2, "free"))
        self.apply(commands.session_destroy(S1))
        self.assertEqual([q["ID"] for q in self.queries.all()], [Q2])

    def test_and_when_the_session_is_invalidated(self):
        self.set(query(Q1, "", session=S1))
        self.apply(commands.catalog_register({"Node": "n1", "Address": "10.0.0.1", "Check": serf("critical")}))
        self.assertEqual(self.queries.all(), [])

    def test_and_when_a_transaction_ends_it(self):
        self.set(query(Q1, "", session=S1))
        self.apply(commands.txn([{"Node": {"Verb": "delete", "Node": {"Node": "n1"}}}]))
        self.assertEqual(self.queries.all(), [])


class WatchTests(QueryTestCase):
    def test_views(self):
        woken = Recorder(self.store.catalog_watches, ("prepared-queries",), ("prepared-query", Q1.lower()),
                         ("prepared-query", Q2.lower()))
        self.set(query(Q1, "redis"))
        self.assertEqual(woken.woken, {("prepared-queries",), ("prepared-query", Q1.lower())})

    def test_a_refused_write_wakes_nothing(self):
        woken = Recorder(self.store.catalog_watches, ("prepared-queries",))
        self.refused(query(Q1, "x", session=S1))
        self.assertEqual(woken.woken, set())


class SnapshotTests(QueryTestCase):
    def restored(self):
        blob = io.BytesIO()
        pack_records(self.fsm.snapshot(), blob)
        blob.seek(0)
        copy = FSM()
        copy.restore(unpack_records(blob))
        return copy.store

    def test_queries_and_templates_survive(self):
        self.set(query(Q1, "redis", DNS={"TTL": "10s"}))
        self.set(template(Q2, "geo-"))
        self.set(query(Q3, "gone"))
        self.delete(Q3)
        store = self.restored()
        self.assertEqual(store.queries.all(), self.queries.all())
        self.assertEqual(store.queries.index, 4)
        self.assertEqual(store.queries.resolve("geo-web")["Service"]["Service"], "web")
        self.assertEqual(store.queries.resolve("REDIS")["ID"], Q1)

    def test_a_restore_wakes_query_watchers(self):
        self.set(query(Q1, "redis"))
        woken = Recorder(self.store.catalog_watches, ("prepared-queries",), ("prepared-query", Q1.lower()))
        self.fsm.restore(iter([["applied", 9]]))
        self.fsm.notify()
        self.assertEqual(woken.woken, {("prepared-queries",), ("prepared-query", Q1.lower())})
        self.assertEqual(self.store.queries.all(), [])


class RecordTests(QueryTestCase):
    def test_go_zero_values_for_what_is_missing_or_mistyped(self):
        record = query_record({"ID": 7, "Service": {"Tags": "x", "Failover": {"NearestN": "3"}}, "DNS": None})
        self.assertEqual(record["ID"], "")
        self.assertEqual(record["Service"]["Tags"], None)
        self.assertEqual(record["Service"]["Failover"], {"NearestN": 0, "Datacenters": None})
        self.assertEqual(record["DNS"], {"TTL": ""})
