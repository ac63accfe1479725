"""Watches with real processes: ``pyconsul watch`` against a real agent, and
agents running the watches of their configuration files (script and HTTP
handlers, a SIGHUP reload, a bad watch refused at start).

Every handler appends what it got to a file, and every wait polls that file
(or the test's HTTP server) with a deadline.
"""

import base64
import http.server
import json
import os
import signal
import subprocess
import sys
import threading

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, environment, wait_for

# A handler, run with the shell: "$CONSUL_INDEX <the JSON on stdin>" as one line.
RECORD = 'printf "%%s " "$CONSUL_INDEX" >> %(path)s; cat >> %(path)s'


def dev_agent(testcase, address, *extra):
    return Agent(testcase, address, ["--dev", "--node", "watch-" + address, *extra]).start().wait_until_leader()


def records(path):
    """The handler's runs so far: (index, decoded JSON) per line."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        lines = f.read().decode().splitlines()
    runs = []
    for line in lines:
        index, _, data = line.partition(" ")
        runs.append((int(index), json.loads(data)))
    return runs


def wait_for_runs(path, count, what):
    return wait_for(lambda: records(path) if len(records(path)) >= count else None, what=what)


def put(agent, key, value):
    status, body = agent.request("PUT", "/v1/kv/" + key, value.encode())
    assert (status, body) == (200, b"true"), (status, body)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


class WatchCommandTests(SynchronousTestCase):
    def start_watch(self, agent, *argv):
        log = open(os.path.join(self.mktemp() + ".log"), "wb")
        self.addCleanup(log.close)
        env = environment()
        env["CONSUL_HTTP_ADDR"] = agent.http
        process = subprocess.Popen([sys.executable, "-m", "pyconsul", "watch", *argv], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)

        def stop():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)

        self.addCleanup(stop)
        return process

    def test_a_key_handler_runs_at_start_and_once_per_change(self):
        agent = dev_agent(self, f"{NET}.51.1")
        path = os.path.abspath(self.mktemp())
        watch = self.start_watch(agent, "-type=key", "-key=app/x", RECORD % {"path": path})
        [(first_index, first)] = wait_for_runs(path, 1, "the first run")
        self.assertIsNone(first)  # no such key yet

        put(agent, "app/x", "one")
        runs = wait_for_runs(path, 2, "the run for the first write")
        self.assertEqual(base64.b64decode(runs[1][1]["Value"]), b"one")
        self.assertEqual(runs[1][0], runs[1][1]["ModifyIndex"])

        put(agent, "app/other", "not watched")  # the index moves, the key does not
        put(agent, "app/x", "two")
        runs = wait_for_runs(path, 3, "the run for the second write")
        self.assertEqual([base64.b64decode(data["Value"]) for _, data in runs[1:]], [b"one", b"two"])
        self.assertEqual(list(runs[2][1]), ["Key", "CreateIndex", "ModifyIndex", "LockIndex", "Flags", "Value",
                                            "Session"])
        self.assertIsNone(watch.poll())

        watch.send_signal(signal.SIGTERM)
        self.assertEqual(watch.wait(timeout=30), 0)
        self.assertEqual(len(records(path)), 3)

    def test_without_a_handler_the_view_is_printed_once(self):
        agent = dev_agent(self, f"{NET}.51.2")
        put(agent, "cfg/a", "1")
        env = environment()
        env["CONSUL_HTTP_ADDR"] = agent.http
        done = subprocess.run([sys.executable, "-m", "pyconsul", "watch", "-type=keyprefix", "-prefix=cfg/"],
                              env=env, capture_output=True, timeout=60)
        self.assertEqual((done.returncode, done.stderr), (0, b""))
        self.assertTrue(done.stdout.startswith(b'[\n    {\n        "Key": "cfg/a",\n'), done.stdout)
        self.assertEqual([pair["Key"] for pair in json.loads(done.stdout)], ["cfg/a"])


class HookServer:
    """A small HTTP server on loopback that records each request it gets."""

    def __init__(self, testcase, address):
        self.requests = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                hook.requests.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_PUT = do_POST

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.url = "http://%s:%d" % (address, self.server.server_address[1])
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        testcase.addCleanup(self.server.server_close)
        testcase.addCleanup(self.server.shutdown)


class AgentWatchTests(SynchronousTestCase):
    def config(self, value):
        path = os.path.abspath(self.mktemp() + ".json")
        write_json(path, value)
        return path

    def test_a_script_handler_runs_when_a_service_is_registered(self):
        path = os.path.abspath(self.mktemp())
        config = self.config({"watches": [
            {"type": "service", "service": "web", "args": ["/bin/sh", "-c", RECORD % {"path": path}]},
        ]})
        agent = dev_agent(self, f"{NET}.51.3", "--config-file", config)
        [(_, first)] = wait_for_runs(path, 1, "the first run")
        self.assertEqual(first, [])

        status, _ = agent.request("PUT", "/v1/agent/service/register",
                                  json.dumps({"Name": "web", "ID": "web-1", "Port": 8080, "Tags": ["v1"]}).encode())
        self.assertEqual(status, 200)
        runs = wait_for(lambda: [run for run in records(path) if run[1]], what="a run that lists web-1")
        [entry] = runs[0][1]
        self.assertEqual((entry["Service"]["ID"], entry["Service"]["Port"], entry["Service"]["Tags"]),
                         ("web-1", 8080, ["v1"]))
        self.assertEqual(entry["Node"]["Node"], f"watch-{NET}.51.3")

    def test_an_http_handler_posts_the_view(self):
        hook = HookServer(self, f"{NET}.51.4")
        config = self.config({"watches": [
            {"type": "key", "key": "deploy/version", "handler_type": "http",
             "http_handler_config": {"path": hook.url + "/hook", "header": {"X-Watch": ["deploy"]}}},
        ]})
        agent = dev_agent(self, f"{NET}.51.5", "--config-file", config)
        wait_for(lambda: hook.requests, what="the first post")
        put(agent, "deploy/version", "1.2.3")
        wait_for(lambda: len(hook.requests) >= 2, what="the post for the write")
        first, second = hook.requests[:2]
        self.assertEqual((first[0], first[1], first[3]), ("POST", "/hook", b"null\n"))
        method, uri, headers, body = second
        pair = json.loads(body)
        self.assertEqual(base64.b64decode(pair["Value"]), b"1.2.3")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["X-Consul-Index"], str(pair["ModifyIndex"]))
        self.assertEqual(headers["X-Watch"], "deploy")

    def test_sighup_replaces_the_watches(self):
        before, after = os.path.abspath(self.mktemp()), os.path.abspath(self.mktemp())
        config = self.config({"watches": [{"type": "nodes", "handler": RECORD % {"path": before}}]})
        agent = dev_agent(self, f"{NET}.51.6", "--config-file", config)
        wait_for_runs(before, 1, "the first watch's run")
        write_json(config, {"watches": [{"type": "key", "key": "k", "args": ["/bin/sh", "-c",
                                                                              RECORD % {"path": after}]}]})
        agent.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "1 watches from the files" in agent.log(), what="the reload")
        [(_, value)] = wait_for_runs(after, 1, "the new watch's run")
        self.assertIsNone(value)
        self.assertIn("The 'handler' field in watches has been deprecated", agent.log())

    def test_a_bad_watch_stops_the_agent_from_starting(self):
        config = self.config({"watches": [{"type": "key", "args": ["true"]}]})
        agent = Agent(self, f"{NET}.51.7", ["--dev", "--config-file", config])
        status, output = agent.run_to_exit()
        self.assertNotEqual(status, 0)
        self.assertIn(config, output)
        self.assertIn("Must specify a single key to watch", output)
