"""Service discovery with real processes and a real client library.

* The recorded catalog, agent and health vectors, each against a fresh
  ``twistd pyconsul --dev`` (as they were recorded, one agent per vector).
* py-consul against three servers and a client agent: registration through
  the agent with a TTL and an HTTP check, a blocking ``?passing`` watch that
  sees the instance leave and come back, a client killed and restarted,
  a service file registered at start and changed under SIGHUP, and the
  servers losing all their data: anti-entropy puts everything back.
"""

import http.server
import json
import os
import signal
import tempfile
import threading

import consul
from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, wait_for
from tests.integration.cluster import FAST, Cluster
from tests.vectors import load
from tests.vectors.runner import run_vector
from tests.vectors.targets import LiveAgent

FAST_AGENT = dict(FAST, check_update_interval="0s")


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)
    return path


class RecordedVectorsTests(SynchronousTestCase):
    def test_every_catalog_vector_on_a_fresh_agent(self):
        kinds = {"agent-service", "agent-check", "catalog", "health", "session", "txn"}
        vectors = [v for v in load("consul-catalog", "vectors.json") if v["kind"] in kinds]
        self.assertEqual(len(vectors), 44)
        failed = []
        for vector in vectors:
            agent = Agent(self, f"{NET}.4.1", ["--dev", "--node", "s1"]).start()
            wait_for(lambda: _has_own_node(agent), what="a dev agent with its node in the catalog")
            with tempfile.TemporaryDirectory() as directory:
                for number, title, diffs in run_vector(vector, LiveAgent(agent.http), directory):
                    failed.append("%s step %d (%s): %s" % (vector["name"], number, title, "; ".join(diffs)))
            agent.stop()
        self.assertEqual(failed, [], "\n".join(failed))


def _has_own_node(agent):
    try:
        status, body = agent.request("GET", "/v1/catalog/nodes", timeout=2)
    except OSError:
        return False
    return status == 200 and any(node["Meta"] for node in json.loads(body))


class StatusServer:
    """An HTTP server whose health endpoint answers the status a test sets."""

    def __init__(self, testcase, address):
        outer = self
        self.status = 200

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"status %d" % outer.status)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.url = "http://%s:%d/health" % (address, self.server.server_address[1])
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        testcase.addCleanup(self.server.server_close)
        testcase.addCleanup(self.server.shutdown)


class ClusterTests(SynchronousTestCase):
    def setUp(self):
        self.cluster = Cluster(self, f"{NET}.41", 3, **{"check_update_interval": "0s"})
        self.cluster.start()
        self.config = write_json(os.path.abspath(self.mktemp() + ".json"), FAST_AGENT)

    def client(self, address, name, *extra, data_dir=None):
        args = ["--data-dir", data_dir or os.path.abspath(self.mktemp()), "--node", name,
                "--retry-join", self.cluster.servers[0].address, "--config-file", self.config, *extra]
        return Agent(self, address, args).start()

    def api(self, agent):
        return consul.Consul(host=agent.address, port=8500)

    def passing(self, agent, name):
        _, nodes = self.api(agent).health.service(name, passing=True)
        return sorted(entry["Node"]["Node"] for entry in nodes)

    def passing_checks(self, agent, name):
        _, entries = self.api(agent).health.service(name, passing=True)
        return sorted(c["CheckID"] for e in entries for c in e["Checks"] if c["ServiceID"])

    def test_register_watch_and_flip_with_py_consul(self):
        client = self.client(f"{NET}.41.10", "client1")
        wait_for(lambda: _answers(client) and self.passing(client, "consul"), what="the client agent")
        status = StatusServer(self, f"{NET}.41.10")
        api = self.api(client)
        api.agent.service.register("web", service_id="web1", port=80, check=consul.Check.ttl("30s"))
        api.agent.check.register("web-http", check=consul.Check.http(status.url, "1s"), service_id="web1")
        api.agent.check.ttl_pass("service:web1")
        watcher = self.api(self.cluster.servers[1])
        # Both checks in the catalog and passing: the agent syncs each entry on
        # its own, so "web passing" alone may come before the HTTP check arrives,
        # and its arrival would wake the watch below with the instance still there.
        wait_for(lambda: self.passing_checks(self.cluster.servers[1], "web") == ["service:web1", "web-http"],
                 what="web passing with both checks")
        index, _ = watcher.health.service("web", passing=True)

        results = []

        def watch(index):
            results.append(watcher.health.service("web", passing=True, index=index, wait="60s"))

        thread = threading.Thread(target=watch, args=(index,))
        thread.start()
        status.status = 500  # the HTTP check fails: the instance leaves ?passing
        thread.join(60)
        self.assertFalse(thread.is_alive())
        new_index, nodes = results[0]
        self.assertEqual((nodes, new_index > index), ([], True))
        status.status = 200
        wait_for(lambda: self.passing(self.cluster.servers[1], "web") == ["client1"], what="web back")
        api.agent.check.ttl_fail("service:web1", notes="broken")
        wait_for(lambda: self.passing(client, "web") == [], what="the TTL failure to show")
        _, checks = api.health.checks("web")
        self.assertIn("broken", [c["Output"] for c in checks])

    def test_a_killed_client_drops_out_and_comes_back(self):
        data_dir = os.path.abspath(self.mktemp())
        client = self.client(f"{NET}.41.11", "client2", data_dir=data_dir)
        wait_for(lambda: _answers(client), what="the client")
        self.api(client).agent.service.register("cache", port=6379)
        server = self.cluster.servers[0]
        wait_for(lambda: self.passing(server, "cache") == ["client2"], what="cache passing")
        client.kill(signal.SIGKILL)
        wait_for(lambda: self.passing(server, "cache") == [], timeout=60, what="client2 failed")
        _, checks = self.api(server).health.node("client2")
        serf = [c for c in checks if c["CheckID"] == "serfHealth"][0]
        self.assertEqual((serf["Status"], serf["Output"]), ("critical", "Agent not live or unreachable"))
        client.start()  # the same data dir: its registration comes back with it
        wait_for(lambda: self.passing(server, "cache") == ["client2"], timeout=60, what="client2 back")

    def test_a_service_file_at_start_and_after_sighup(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        write_json(os.path.join(directory, "web.json"), {"service": {"name": "web", "tags": ["rails"], "port": 80}})
        client = self.client(f"{NET}.41.12", "client3", "--config-dir", directory)
        server = self.cluster.servers[0]
        wait_for(lambda: self.api(server).catalog.service("web")[1], what="web from the file")
        _, [entry] = self.api(server).catalog.service("web")
        self.assertEqual((entry["ServiceTags"], entry["ServicePort"]), (["rails"], 80))
        write_json(os.path.join(directory, "web.json"), {"service": {"name": "web", "tags": ["rails"], "port": 8080}})
        write_json(os.path.join(directory, "db.json"), {"service": {"name": "db", "port": 5432}})
        client.process.send_signal(signal.SIGHUP)
        wait_for(lambda: [e["ServicePort"] for e in self.api(server).catalog.service("web")[1]] == [8080],
                 what="the changed port")
        wait_for(lambda: self.api(server).catalog.service("db")[1], what="the new service")
        os.remove(os.path.join(directory, "db.json"))
        client.process.send_signal(signal.SIGHUP)
        wait_for(lambda: not self.api(server).catalog.service("db")[1], what="the removed service")

    def test_servers_that_lose_their_data_get_the_catalog_back(self):
        client = self.client(f"{NET}.41.13", "client4")
        wait_for(lambda: _answers(client), what="the client")
        api = self.api(client)
        api.agent.service.register("api", port=9000, check=consul.Check.ttl("60s"))
        api.agent.check.ttl_pass("service:api")
        wait_for(lambda: self.passing(self.cluster.servers[0], "api") == ["client4"], what="api passing")
        # Every server stops and comes back with an empty data directory.
        for server in self.cluster.servers:
            server.kill(signal.SIGKILL)
        for number, server in enumerate(self.cluster.servers):
            data_dir = os.path.abspath(self.mktemp())
            server.args[server.args.index("--data-dir") + 1] = data_dir
            server.start()
        self.cluster.wait_for_leader(timeout=90)
        wait_for(lambda: self.passing(self.cluster.servers[0], "api") == ["client4"], timeout=120,
                 what="anti-entropy to register api again")


def _answers(agent):
    try:
        return agent.request("GET", "/v1/agent/self", timeout=2)[0] == 200
    except OSError:
        return False
