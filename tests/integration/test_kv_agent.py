"""A real durable server process: the recorded Consul vectors, the user's
CLI transcript, a real client library, crashes and restarts."""

import base64
import json
import os
import re
import signal
import sqlite3
import tempfile
import threading

import consul
from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, pyconsul_cli, wait_for
from tests.vectors import load
from tests.vectors.runner import run_vector
from tests.vectors.targets import LiveAgent


def server(testcase, address, data_dir=None, extra=()):
    data_dir = data_dir or os.path.abspath(testcase.mktemp())
    return Agent(
        testcase,
        address,
        ["--server", "--bootstrap", "--data-dir", data_dir, "--node", "n-" + address, *extra],
    )


class RecordedVectorsTests(SynchronousTestCase):
    def test_every_kv_vector_matches(self):
        """All 74 recorded KV, status and CLI vectors against one real server.

        Before each vector the KV store is emptied: every vector's indexes
        are compared only within the vector, and every listing it expects
        to be empty is under a prefix no other vector writes.
        """
        vectors = load("consul-kv", "vectors.json")
        self.assertEqual(len(vectors), 74)
        self.check(vectors)

    def test_router_and_enterprise_selectors(self):
        """Consul's router for unserved paths, and the Enterprise selectors it
        refuses; with the recorded redirects of unclean paths, which pyconsul
        answers as Consul does (the other quirks it answers in its own words)."""
        redirects = {"key-leading-slash-redirect", "recurse-on-kv-without-slash", "get-without-key"}
        quirks = [vector for vector in load("consul-kv", "quirks.json") if vector["name"] in redirects]
        self.assertEqual(len(quirks), len(redirects))
        self.check(load("consul-http", "router.json") + quirks)

    def check(self, vectors):
        agent = server(self, f"{NET}.2.1").start().wait_until_leader()
        target = LiveAgent(agent.http)
        failed = []
        for vector in vectors:
            self.assertEqual(target.http("DELETE", "/v1/kv/?recurse").status, 200)
            with tempfile.TemporaryDirectory() as directory:
                for number, title, diffs in run_vector(vector, target, directory):
                    failed.append("%s step %d (%s): %s" % (vector["name"], number, title, "; ".join(diffs)))
        self.assertEqual(failed, [], "\n".join(failed))


class TranscriptTests(SynchronousTestCase):
    def test_the_users_session_word_for_word(self):
        agent = server(self, f"{NET}.2.2").start().wait_until_leader()

        def run(*argv):
            return pyconsul_cli(*argv, http=agent.http)

        self.assertEqual(run("kv", "put", "foo", "1"), (0, "Success! Data written to: foo\n", ""))
        self.assertEqual(run("kv", "get", "foo"), (0, "1\n", ""))
        self.assertEqual(run("kv", "delete", "foo"), (0, "Success! Deleted key: foo\n", ""))
        self.assertEqual(run("kv", "get", "foo"), (1, "", "Error! No key exists at: foo\n"))
        run("kv", "put", "redis/config/maxconns", "20")
        status, out, _ = run("kv", "get", "-detailed", "redis/config/maxconns")
        self.assertEqual(status, 0)
        index = int(re.search(r"^ModifyIndex\s+(\d+)$", out, re.M).group(1))
        self.assertEqual(
            out,
            "CreateIndex      %d\nFlags            0\nKey              redis/config/maxconns\n"
            "LockIndex        0\nModifyIndex      %d\nSession          -\nValue            20\n"
            % (index, index),
        )
        cas = ("kv", "put", "-cas", "--modify-index=%d" % index, "redis/config/maxconns")
        self.assertEqual(run(*cas, "25"), (0, "Success! Data written to: redis/config/maxconns\n", ""))
        self.assertEqual(
            run(*cas, "26"),
            (1, "", "Error! Did not write to redis/config/maxconns: CAS failed\n"),
        )

    def test_an_agent_that_is_not_running(self):
        status, out, err = pyconsul_cli("kv", "get", "foo", http=f"{NET}.2.250:8500")
        self.assertEqual(status, 1)
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("connection refused", err)


class ClientLibraryTests(SynchronousTestCase):
    def test_py_consul(self):
        agent = server(self, f"{NET}.2.3").start().wait_until_leader()
        client = consul.Consul(host=agent.address, port=8500)
        self.assertTrue(client.kv.put("app/config", "v1", flags=3))
        index, entry = client.kv.get("app/config")
        self.assertEqual((entry["Value"], entry["Flags"]), (b"v1", 3))
        self.assertFalse(client.kv.put("app/config", "v2", cas=entry["ModifyIndex"] + 100))
        self.assertTrue(client.kv.put("app/config", "v2", cas=entry["ModifyIndex"]))

        woken = {}
        index, _ = client.kv.get("app/config")

        def block():
            woken["result"] = client.kv.get("app/config", index=index, wait="10s")

        watcher = threading.Thread(target=block)
        watcher.start()
        client.kv.put("app/other", "x")
        client.kv.put("app/config", "v3")
        watcher.join(timeout=15)
        self.assertEqual(woken["result"][1]["Value"], b"v3")
        _, keys = client.kv.get("app/", keys=True)
        self.assertEqual(keys, ["app/config", "app/other"])
        self.assertTrue(client.kv.delete("app/", recurse=True))
        self.assertEqual(client.kv.get("app/config")[1], None)
        self.assertEqual(client.status.leader(), f"{NET}.2.3:8300")


class CrashTests(SynchronousTestCase):
    def test_every_acknowledged_write_survives_kill_9(self):
        data_dir = os.path.abspath(self.mktemp())
        agent = server(self, f"{NET}.2.4", data_dir).start().wait_until_leader()
        acknowledged = {}
        stop = threading.Event()

        def writer(number):
            sequence = 0
            while not stop.is_set():
                key = "crash/w%d/%06d" % (number, sequence)
                value = b"value-%d-%d" % (number, sequence)
                try:
                    status, body = agent.request("PUT", "/v1/kv/" + key, value, timeout=5)
                except OSError:
                    return  # the agent is gone: this write was not acknowledged
                if status == 200 and body == b"true":
                    acknowledged[key] = value
                sequence += 1

        writers = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in writers:
            thread.start()
        wait_for(lambda: len(acknowledged) >= 1500, timeout=60, what="1500 acknowledged writes")
        agent.kill(signal.SIGKILL)
        stop.set()
        for thread in writers:
            thread.join(timeout=30)

        again = server(self, f"{NET}.2.4", data_dir).start().wait_until_leader()
        status, body = again.request("GET", "/v1/kv/crash/?recurse")
        self.assertEqual(status, 200)
        stored = {e["Key"]: e["Value"] for e in json.loads(body)}
        missing = [k for k, v in acknowledged.items() if base64.b64decode(stored.get(k) or "") != v]
        self.assertGreater(len(acknowledged), 1500)
        self.assertEqual(missing, [])


class SnapshotRestartTests(SynchronousTestCase):
    def test_restart_after_the_log_was_truncated(self):
        data_dir = os.path.abspath(self.mktemp())
        config = os.path.abspath(self.mktemp() + ".json")
        with open(config, "w") as f:
            json.dump({"raft_snapshot_threshold": 100, "raft_trailing_logs": 10}, f)
        extra = ("--config-file", config)
        agent = server(self, f"{NET}.2.5", data_dir, extra).start().wait_until_leader()
        for n in range(350):
            status, _ = agent.request("PUT", "/v1/kv/snap/%04d" % n, b"v%d" % n)
            self.assertEqual(status, 200)
        snapshots = os.path.join(data_dir, "raft", "snapshots")
        wait_for(lambda: os.listdir(snapshots), what="a snapshot file")
        agent.stop()

        with sqlite3.connect(os.path.join(data_dir, "raft", "raft.db")) as db:
            (first,) = db.execute("SELECT min(idx) FROM log").fetchone()
        self.assertGreater(first, 200)

        again = server(self, f"{NET}.2.5", data_dir, extra).start().wait_until_leader()
        status, body = again.request("GET", "/v1/kv/snap/?keys")
        self.assertEqual(json.loads(body), ["snap/%04d" % n for n in range(350)])
        status, body = again.request("GET", "/v1/kv/snap/0349?raw")
        self.assertEqual(body, b"v349")


class StartupErrorTests(SynchronousTestCase):
    def test_a_bad_config_file_stops_the_agent_with_one_clear_message(self):
        config = os.path.abspath(self.mktemp() + ".json")
        with open(config, "w") as f:
            json.dump({"ports": {"http": 99999}}, f)
        agent = Agent(self, f"{NET}.2.6", ["--dev", "--config-file", config])
        status, output = agent.run_to_exit()
        self.assertNotEqual(status, 0)
        self.assertIn(config, output)
        self.assertIn("'ports.http' must be a port number", output)
        self.assertNotIn("Traceback", output)

    def test_a_taken_port(self):
        first = Agent(self, f"{NET}.2.7", ["--dev"]).start().wait_until_leader()
        second = Agent(self, f"{NET}.2.7", ["--dev"])
        status, output = second.run_to_exit()
        self.assertNotEqual(status, 0)
        self.assertIn(f"pyconsul: cannot listen for gossip on {NET}.2.7:8301", output)
        self.assertNotIn("Traceback", output)
        self.assertTrue(first.process.poll() is None)
