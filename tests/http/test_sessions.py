"""/v1/session and the KV lock parameters (?acquire, ?release) on an
in-memory server, through StubTreq: status codes, bodies and JSON shapes
as Consul 1.10 answers them.

The server's own node, ``node-1``, is in the catalog with a passing
``serfHealth``: the node and check a session gets by default.
"""

import base64
import json
import uuid

from tests.http.test_kv import APITestCase

NODE = "node-1"
SECOND = 10 ** 9
SESSION_FIELDS = ["ID", "Name", "Node", "LockDelay", "Behavior", "TTL", "NodeChecks", "ServiceChecks",
                  "CreateIndex", "ModifyIndex"]


class SessionTestCase(APITestCase):
    def create(self, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        response, content = self.request("PUT", "/v1/session/create", data)
        self.assertEqual(response.code, 200, content)
        self.assertEqual(self.header(response, "Content-Type"), "application/json")
        reply = json.loads(content)
        self.assertEqual(list(reply), ["ID"])
        return reply["ID"]

    def get(self, path):
        response, content = self.request("GET", path)
        self.assertEqual(response.code, 200, content)
        return json.loads(content), int(self.header(response, "X-Consul-Index"))

    def info(self, session_id):
        sessions, _ = self.get("/v1/session/info/" + session_id)
        return sessions[0] if sessions else None

    def refused(self, body, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        response, content = self.request("PUT", "/v1/session/create", data)
        self.assertEqual(self.header(response, "Content-Type"), "text/plain; charset=utf-8")
        return response.code, content.decode()

    def kv(self, key):
        response, content = self.request("GET", "/v1/kv/" + key)
        if response.code == 404:
            return None
        [entry] = json.loads(content)
        return entry

    def set_check(self, check_id, status, node=NODE):
        body = {"Node": node, "SkipNodeUpdate": True,
                "Check": {"CheckID": check_id, "Name": check_id, "Status": status}}
        self.assertEqual(self.put("/v1/catalog/register", json.dumps(body).encode()), True)


class CreateTests(SessionTestCase):
    def test_defaults(self):
        session_id = self.create()
        self.assertEqual(str(uuid.UUID(session_id)), session_id)
        session, index = self.get("/v1/session/info/" + session_id)
        self.assertEqual(session, [{
            "ID": session_id, "Name": "", "Node": NODE, "LockDelay": 15 * SECOND, "Behavior": "release", "TTL": "",
            "NodeChecks": ["serfHealth"], "ServiceChecks": None, "CreateIndex": index, "ModifyIndex": index,
        }])

    def test_an_empty_object_is_the_defaults_too(self):
        session = self.info(self.create({}))
        self.assertEqual((session["Node"], session["NodeChecks"], session["LockDelay"]),
                         (NODE, ["serfHealth"], 15 * SECOND))

    def test_the_fields_given(self):
        self.set_check("disk", "passing")
        session_id = self.create({"Name": "lock", "TTL": "15s", "Behavior": "delete", "LockDelay": "5s",
                                  "NodeChecks": ["serfHealth", "disk"], "ServiceChecks": [{"ID": "disk"}]})
        session = self.info(session_id)
        self.assertEqual(list(session), SESSION_FIELDS)  # Consul's field order
        self.assertEqual({k: session[k] for k in SESSION_FIELDS[1:8]}, {
            "Name": "lock", "Node": NODE, "LockDelay": 5 * SECOND, "Behavior": "delete", "TTL": "15s",
            "NodeChecks": ["serfHealth", "disk"], "ServiceChecks": [{"ID": "disk", "Namespace": ""}]})

    def test_field_names_without_case(self):
        session = self.info(self.create({"name": "lc", "ttl": "20s", "behavior": "release", "node": "NODE-1"}))
        self.assertEqual((session["Name"], session["TTL"], session["Node"]), ("lc", "20s", "NODE-1"))

    def test_lock_delay_forms(self):
        cases = [(7, 7 * SECOND), (0, 0), ("20s", 20 * SECOND), ("1m", 60 * SECOND), ("0s", 0),
                 (2 * SECOND, 2 * SECOND), (999, 999 * SECOND), (1000, 1000), (None, 15 * SECOND),
                 ("500ns", 500 * SECOND), (1.5, SECOND), (-5, -5 * SECOND), ("2", None)]
        for given, expected in cases:
            if expected is None:
                self.assertEqual(self.refused({"LockDelay": given}),
                                 (400, 'Request decode failed: time: missing unit in duration "2"'))
                continue
            session = self.info(self.create({"LockDelay": given}))
            self.assertEqual(session["LockDelay"], expected, given)

    def test_no_checks(self):
        session = self.info(self.create({"NodeChecks": []}))
        self.assertEqual(session["NodeChecks"], [])
        self.set_check("serfHealth", "critical")
        self.assertIsNotNone(self.info(session["ID"]))  # tied to no check

    def test_an_empty_legacy_checks_list_takes_out_the_default(self):
        # Consul's fixupEmptySessionChecks: "Checks": [] (as before 1.7)
        # means no checks at all.
        session = self.info(self.create({"Checks": []}))
        self.assertEqual(session["NodeChecks"], [])
        self.set_check("serfHealth", "critical")
        self.assertIsNotNone(self.info(session["ID"]))

    def test_legacy_checks_come_on_top_of_the_default(self):
        # "Checks" other than the default stays in Checks (shown, omitempty)
        # and NodeChecks keeps its default: the session is tied to both.
        self.set_check("disk", "passing")
        first = self.create({"Checks": ["disk"]})
        session = self.info(first)
        self.assertEqual((session["NodeChecks"], session.get("Checks")), (["serfHealth"], ["disk"]))
        second = self.create({"Checks": ["disk"]})
        self.set_check("serfHealth", "warning")
        self.set_check("disk", "critical")
        self.assertEqual((self.info(first), self.info(second)), (None, None))

    def test_refusals(self):
        cases = [
            ({"TTL": "1s"}, 500, "Invalid Session TTL '1000000000', must be between [10s=24h0m0s]"),
            ({"TTL": "25h"}, 500, "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]"),
            ({"TTL": "abc"}, 500, 'Session TTL \'abc\' invalid: time: invalid duration "abc"'),
            ({"Behavior": "bogus"}, 500, "Invalid Behavior setting 'bogus'"),
            ({"Node": "ghost"}, 500, "apply failed: Missing node registration"),
            ({"NodeChecks": ["nope"]}, 500, "apply failed: Missing check 'nope' registration"),
            ({"ServiceChecks": [{"ID": "svc-check"}]}, 500, "apply failed: Missing check 'svc-check' registration"),
            ({"TTL": 5}, 400,
             "Request decode failed: json: cannot unmarshal number into Go struct field Session.TTL of type string"),
            ({"NodeChecks": "serfHealth"}, 400,
             "Request decode failed: json: cannot unmarshal string into Go struct field Session.NodeChecks of type "
             "[]string"),
            ({"LockDelay": "soon"}, 400, 'Request decode failed: time: invalid duration "soon"'),
            ([], 400, "Request decode failed: json: cannot unmarshal array into Go value of type structs.Session"),
        ]
        for body, status, message in cases:
            self.assertEqual(self.refused(body), (status, message), body)
        self.assertEqual(self.refused(None, raw=b"xx"),
                         (400, "Request decode failed: invalid character 'x' looking for beginning of value"))
        self.assertEqual(self.refused(None, raw=b'{"Name": '), (400, "Request decode failed: unexpected EOF"))
        self.assertEqual(self.get("/v1/session/list")[0], [])

    def test_a_critical_check(self):
        self.set_check("serfHealth", "critical")
        self.assertEqual(self.refused({}), (500, "apply failed: Check 'serfHealth' is in critical state"))


class EndpointTests(SessionTestCase):
    def test_destroy(self):
        session_id = self.create()
        response, content = self.request("PUT", "/v1/session/destroy/" + session_id)
        self.assertEqual((response.code, content), (200, b"true"))
        self.assertIsNone(self.info(session_id))
        response, content = self.request("PUT", "/v1/session/destroy/" + session_id)
        self.assertEqual((response.code, content), (200, b"true"))

    def test_info_of_an_unknown_session(self):
        sessions, index = self.get("/v1/session/info/00000000-0000-0000-0000-000000000000")
        self.assertEqual(sessions, [])
        self.assertGreaterEqual(index, 1)

    def test_list_and_node(self):
        first, second = self.create({"Name": "a"}), self.create({"Name": "b"})
        listed, index = self.get("/v1/session/list")
        self.assertEqual([s["ID"] for s in listed], sorted([first, second]))
        self.assertEqual(index, max(s["CreateIndex"] for s in listed))
        on_node, node_index = self.get("/v1/session/node/" + NODE)
        self.assertEqual((sorted(s["ID"] for s in on_node), node_index), (sorted([first, second]), index))
        self.assertEqual(self.get("/v1/session/node/NODE-1")[0], on_node)
        self.assertEqual(self.get("/v1/session/node/ghost"), ([], index))
        response, _ = self.request("GET", "/v1/session/list")
        self.assertEqual((self.header(response, "X-Consul-KnownLeader"), self.header(response, "X-Consul-LastContact")),
                         ("true", "0"))

    def test_the_index_follows_the_session_table(self):
        session_id = self.create()
        _, created = self.get("/v1/session/list")
        self.put("/v1/kv/unrelated", b"x")
        self.assertEqual(self.get("/v1/session/list")[1], created)
        self.assertEqual(self.get("/v1/session/info/" + session_id)[1], created)
        self.request("PUT", "/v1/session/destroy/" + session_id)
        _, destroyed = self.get("/v1/session/info/" + session_id)
        self.assertGreater(destroyed, created)

    def test_renew(self):
        session_id = self.create({"TTL": "10s"})
        response, content = self.request("PUT", "/v1/session/renew/" + session_id)
        self.assertEqual(response.code, 200)
        self.assertEqual(self.header(response, "Content-Type"), "application/json")
        self.assertEqual(json.loads(content), [self.info(session_id)])
        response, content = self.request("PUT", "/v1/session/renew/nope")
        self.assertEqual((response.code, content), (404, b"Session id 'nope' not found"))
        self.assertEqual(self.header(response, "Content-Type"), "text/plain; charset=utf-8")

    def test_renewals_keep_a_ttl_session_alive(self):
        session_id = self.create({"TTL": "10s"})
        for _ in range(4):
            self.agent.advance(15)
            self.assertEqual(self.request("PUT", "/v1/session/renew/" + session_id)[0].code, 200)
        self.agent.advance(19.5)
        self.assertIsNotNone(self.info(session_id))
        self.agent.advance(1)
        self.assertIsNone(self.info(session_id))
        self.assertEqual(self.request("PUT", "/v1/session/renew/" + session_id)[0].code, 404)

    def test_missing_ids(self):
        for method, path, message in (("PUT", "/v1/session/destroy/", b"Missing session"),
                                      ("PUT", "/v1/session/renew/", b"Missing session"),
                                      ("GET", "/v1/session/info/", b"Missing session"),
                                      ("GET", "/v1/session/node/", b"Missing node name")):
            response, content = self.request(method, path)
            self.assertEqual((response.code, content), (400, message), path)

    def test_methods_not_allowed(self):
        cases = [("GET", "/v1/session/create", "OPTIONS,PUT"), ("POST", "/v1/session/create", "OPTIONS,PUT"),
                 ("DELETE", "/v1/session/destroy/x", "OPTIONS,PUT"), ("GET", "/v1/session/renew/x", "OPTIONS,PUT"),
                 ("PUT", "/v1/session/info/x", "OPTIONS,GET"), ("PUT", "/v1/session/node/x", "OPTIONS,GET"),
                 ("POST", "/v1/session/list", "OPTIONS,GET")]
        for method, path, allow in cases:
            response, content = self.request(method, path)
            self.assertEqual((response.code, content, self.header(response, "Allow")),
                             (405, ("method %s not allowed" % method).encode(), allow), (method, path))
        self.assertEqual(self.get("/v1/session/list")[0], [])

    def test_pretty(self):
        session_id = self.create()
        response, content = self.request("GET", "/v1/session/info/%s?pretty" % session_id)
        self.assertTrue(content.startswith(b'[\n    {\n        "ID": "%s",' % session_id.encode()), content)


class BlockingTests(SessionTestCase):
    def test_list_wakes_when_a_session_is_created(self):
        _, index = self.get("/v1/session/list")
        d = self.started("GET", "/v1/session/list?index=%d&wait=60s" % index)
        self.agent.advance(5)
        self.assertNoResult(d)
        session_id = self.create()
        response, content = self.finished(d)
        self.assertEqual([s["ID"] for s in json.loads(content)], [session_id])
        self.assertGreater(int(self.header(response, "X-Consul-Index")), index)

    def test_info_wakes_when_the_session_ends(self):
        session_id = self.create()
        _, index = self.get("/v1/session/info/" + session_id)
        d = self.started("GET", "/v1/session/info/%s?index=%d" % (session_id, index))
        self.put("/v1/kv/k", b"x")
        self.assertNoResult(d)
        self.set_check("serfHealth", "critical")
        response, content = self.finished(d)
        self.assertEqual(json.loads(content), [])
        self.assertGreater(int(self.header(response, "X-Consul-Index")), index)

    def test_node_times_out_with_the_same_index(self):
        self.create()
        _, index = self.get("/v1/session/node/" + NODE)
        d = self.started("GET", "/v1/session/node/%s?index=%d&wait=10s" % (NODE, index))
        self.agent.advance(9)
        self.assertNoResult(d)
        self.agent.advance(2)
        response, content = self.finished(d)
        self.assertEqual((response.code, int(self.header(response, "X-Consul-Index"))), (200, index))


class KVLockTests(SessionTestCase):
    def test_acquire_and_release(self):
        first, second = self.create(), self.create()
        self.assertIs(self.put("/v1/kv/lock?acquire=" + first, b"me"), True)
        entry = self.kv("lock")
        self.assertEqual((entry["Session"], entry["LockIndex"], base64.b64decode(entry["Value"])), (first, 1, b"me"))
        self.assertEqual(list(entry), ["LockIndex", "Key", "Flags", "Value", "Session", "CreateIndex", "ModifyIndex"])
        self.assertIs(self.put("/v1/kv/lock?acquire=" + first, b"again"), True)
        self.assertEqual((self.kv("lock")["LockIndex"], base64.b64decode(self.kv("lock")["Value"])), (1, b"again"))
        self.assertIs(self.put("/v1/kv/lock?acquire=" + second, b"them"), False)
        self.assertIs(self.put("/v1/kv/lock?release=" + second), False)
        self.assertIs(self.put("/v1/kv/lock?release=" + first), True)
        entry = self.kv("lock")
        self.assertEqual((entry["Value"], entry["LockIndex"]), (None, 1))
        self.assertNotIn("Session", entry)
        self.assertIs(self.put("/v1/kv/lock?acquire=%s&flags=42" % second, b"them"), True)
        entry = self.kv("lock")
        self.assertEqual((entry["Session"], entry["LockIndex"], entry["Flags"]), (second, 2, 42))

    def test_release_writes_the_value_given(self):
        session_id = self.create()
        self.put("/v1/kv/k?acquire=" + session_id, b"held")
        self.assertIs(self.put("/v1/kv/k?release=%s&flags=3" % session_id, b"done"), True)
        entry = self.kv("k")
        self.assertEqual((base64.b64decode(entry["Value"]), entry["Flags"]), (b"done", 3))

    def test_acquire_wins_over_cas(self):
        session_id = self.create()
        self.put("/v1/kv/k", b"x")
        self.assertIs(self.put("/v1/kv/k?cas=99999&acquire=" + session_id, b"mine"), True)
        self.assertEqual(self.kv("k")["Session"], session_id)
        self.assertIs(self.put("/v1/kv/k?cas=99999&release=" + session_id, b"free"), True)
        self.assertNotIn("Session", self.kv("k"))

    def test_bad_sessions(self):
        response, content = self.request("PUT", "/v1/kv/k?acquire=nope", b"x")
        self.assertEqual((response.code, content), (500, b"failed session lookup: UUID must be 36 characters"))
        response, content = self.request("PUT", "/v1/kv/k?acquire=00000000-0000-4000-8000-000000000000", b"x")
        self.assertEqual((response.code, content), (500, b'invalid session "00000000-0000-4000-8000-000000000000"'))
        response, content = self.request("PUT", "/v1/kv/k?acquire=", b"x")
        self.assertEqual((response.code, content), (500, b"missing session"))
        self.assertIsNone(self.kv("k"))
        self.assertIs(self.put("/v1/kv/k?release=nope", b"x"), False)

    def test_release_without_a_session(self):
        # kvsUnlockTxn refuses an empty session before looking at the key.
        response, content = self.request("PUT", "/v1/kv/k?release=", b"x")
        self.assertEqual((response.code, content), (500, b"missing session"))

    def test_a_plain_put_keeps_the_lock(self):
        session_id = self.create()
        self.put("/v1/kv/k?acquire=" + session_id, b"held")
        self.assertIs(self.put("/v1/kv/k", b"overwritten"), True)
        entry = self.kv("k")
        self.assertEqual((entry["Session"], base64.b64decode(entry["Value"])), (session_id, b"overwritten"))
        self.request("PUT", "/v1/session/destroy/" + session_id)
        self.assertNotIn("Session", self.kv("k"))

    def test_a_plain_put_zeroes_the_lock_index(self):
        # Consul's kvsSetTxn keeps the holder, not the LockIndex: the entry
        # a plain PUT sends has LockIndex 0.
        session_id = self.create()
        self.put("/v1/kv/k?acquire=" + session_id, b"held")
        self.put("/v1/kv/k", b"overwritten")
        self.assertEqual(self.kv("k")["LockIndex"], 0)

    def test_destroy_releases_or_deletes(self):
        release = self.create()
        delete = self.create({"Behavior": "delete"})
        self.put("/v1/kv/r?acquire=" + release, b"v")
        self.put("/v1/kv/d?acquire=" + delete, b"v")
        self.request("PUT", "/v1/session/destroy/" + release)
        _, released = self.get("/v1/session/list")
        self.request("PUT", "/v1/session/destroy/" + delete)
        _, deleted = self.get("/v1/session/list")
        entry = self.kv("r")
        self.assertEqual((base64.b64decode(entry["Value"]), entry["LockIndex"], entry["ModifyIndex"]),
                         (b"v", 1, released))
        self.assertNotIn("Session", entry)
        self.assertIsNone(self.kv("d"))
        response, _ = self.request("GET", "/v1/kv/d")
        self.assertEqual(int(self.header(response, "X-Consul-Index")), deleted)

    def test_the_lock_delay_after_a_session_ends(self):
        holder = self.create({"LockDelay": "10s"})
        waiter = self.create({"LockDelay": 0})
        self.put("/v1/kv/k?acquire=" + holder, b"v")
        self.request("PUT", "/v1/session/destroy/" + holder)
        self.assertIs(self.put("/v1/kv/k?acquire=" + waiter, b"w"), False)
        self.agent.advance(9.9)
        self.assertIs(self.put("/v1/kv/k?acquire=" + waiter, b"w"), False)
        self.agent.advance(0.2)
        self.assertIs(self.put("/v1/kv/k?acquire=" + waiter, b"w"), True)
        # A zero lock-delay: the next holder takes it at once.
        self.request("PUT", "/v1/session/destroy/" + waiter)
        self.assertIs(self.put("/v1/kv/k?acquire=" + self.create(), b"x"), True)

    def test_a_ttl_expiry_releases_the_lock(self):
        session_id = self.create({"TTL": "10s", "LockDelay": "1s"})
        self.put("/v1/kv/k?acquire=" + session_id, b"v")
        self.agent.advance(20.5)
        self.assertNotIn("Session", self.kv("k"))
        self.agent.advance(1)
        self.assertIs(self.put("/v1/kv/k?acquire=" + self.create(), b"x"), True)

    def test_a_blocking_get_on_a_locked_key_wakes_when_its_session_ends(self):
        session_id = self.create()
        self.put("/v1/kv/k?acquire=" + session_id, b"v")
        response, _ = self.request("GET", "/v1/kv/k")
        index = int(self.header(response, "X-Consul-Index"))
        d = self.started("GET", "/v1/kv/k?index=%d" % index)
        self.assertNoResult(d)
        self.request("PUT", "/v1/session/destroy/" + session_id)
        response, content = self.finished(d)
        [entry] = json.loads(content)
        self.assertNotIn("Session", entry)
        self.assertEqual(int(self.header(response, "X-Consul-Index")), entry["ModifyIndex"])
