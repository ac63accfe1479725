"""Sessions, locks and transactions on real processes, through py-consul:
three servers and a client agent.

* A session tied to a service's TTL check ends when the check fails, and
  the lock it held is released.
* A TTL session renewed through a leader kill lives on; left alone, the new
  leader ends it.
* Transactions: all or nothing across servers.
"""

import base64
import os
import signal
import time

import consul
from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, wait_for
from tests.integration.cluster import FAST, Cluster
from tests.integration.test_catalog import write_json


def api(agent):
    return consul.Consul(host=agent.address, port=8500)


class SessionClusterTests(SynchronousTestCase):
    def setUp(self):
        self.cluster = Cluster(self, f"{NET}.42", 3, **{"check_update_interval": "0s"})
        self.cluster.start()

    def client(self, address, name):
        config = write_json(os.path.abspath(self.mktemp() + ".json"), dict(FAST, check_update_interval="0s"))
        args = ["--data-dir", os.path.abspath(self.mktemp()), "--node", name,
                "--retry-join", self.cluster.servers[0].address, "--config-file", config]
        return Agent(self, address, args).start()

    def test_a_session_tied_to_a_check_ends_when_it_fails(self):
        agent = self.client(f"{NET}.42.10", "worker")
        client = api(agent)
        wait_for(lambda: _node_passing(client, "worker"), what="the client in the catalog")
        client.agent.service.register("web", service_id="web1", port=80, check=consul.Check.ttl("60s"))
        client.agent.check.ttl_pass("service:web1")
        wait_for(lambda: _check_status(client, "worker", "service:web1") == "passing", what="the check passing")

        session = client.session.create(name="leader", checks=["serfHealth", "service:web1"], lock_delay=0)
        self.assertTrue(client.kv.put("service/web/leader", "worker", acquire=session))
        _, entry = client.kv.get("service/web/leader")
        self.assertEqual(entry["Session"], session)
        other = api(self.cluster.servers[2]).session.create(name="other", node="worker", lock_delay=0)
        self.assertFalse(client.kv.put("service/web/leader", "other", acquire=other))

        client.agent.check.ttl_fail("service:web1", notes="down")
        wait_for(lambda: client.session.info(session)[1] is None, timeout=30, what="the session to end")
        _, entry = client.kv.get("service/web/leader")
        self.assertNotIn("Session", entry)
        self.assertEqual(entry["Value"], b"worker")  # released, not deleted
        # Free to take now (the session had no lock-delay).
        self.assertTrue(api(self.cluster.servers[2]).kv.put("service/web/leader", "other", acquire=other))

    def test_a_renewed_session_outlives_its_leader(self):
        leader = self.cluster.leader()
        follower = self.cluster.followers()[0]
        client = api(follower)
        session = client.session.create(name="ttl", ttl=10, behavior="delete", lock_delay=0)
        self.assertTrue(client.kv.put("ttl/key", "v", acquire=session))
        leader.kill(signal.SIGKILL)
        self.cluster.wait_for_new_leader(self.cluster.running(), leader)
        # Renewed every 3 s for longer than twice its TTL: it must live on.
        deadline = time.monotonic() + 24
        while time.monotonic() < deadline:
            wait_for(lambda: _renewed(client, session), timeout=15, what="a renewal")
            time.sleep(3)  # the renewal period under test, not a wait for an outcome
        self.assertIsNotNone(client.session.info(session)[1])
        # Left alone, the new leader ends it within twice its TTL (and a margin).
        wait_for(lambda: client.session.info(session)[1] is None, timeout=40, what="the session to lapse")
        self.assertIsNone(client.kv.get("ttl/key")[1])  # Behavior delete

    def test_transactions_are_all_or_nothing(self):
        client = api(self.cluster.servers[1])
        client.kv.put("txn/a", "1")
        _, a = client.kv.get("txn/a")
        ok = client.txn.put([
            {"KV": {"Verb": "set", "Key": "txn/b", "Value": _b64("2")}},
            {"KV": {"Verb": "cas", "Key": "txn/a", "Value": _b64("3"), "Index": a["ModifyIndex"]}},
        ])
        self.assertEqual([r["KV"]["Key"] for r in ok["Results"]], ["txn/b", "txn/a"])
        with self.assertRaises(consul.ConsulException):
            client.txn.put([
                {"KV": {"Verb": "set", "Key": "txn/c", "Value": _b64("4")}},
                {"KV": {"Verb": "cas", "Key": "txn/a", "Value": _b64("5"), "Index": a["ModifyIndex"]}},
            ])
        reader = api(self.cluster.servers[2])
        self.assertIsNone(reader.kv.get("txn/c")[1])
        self.assertEqual(reader.kv.get("txn/a")[1]["Value"], b"3")
        read = reader.txn.put([{"KV": {"Verb": "get", "Key": "txn/b"}}])
        self.assertEqual(base64.b64decode(read["Results"][0]["KV"]["Value"]), b"2")


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _node_passing(client, node):
    try:
        _, checks = client.health.node(node)
    except (consul.ConsulException, OSError):
        return False
    return any(c["CheckID"] == "serfHealth" and c["Status"] == "passing" for c in checks)


def _check_status(client, node, check_id):
    _, checks = client.health.node(node)
    return next((c["Status"] for c in checks if c["CheckID"] == check_id), None)


def _renewed(client, session):
    try:
        return client.session.renew(session) is not None
    except (consul.ConsulException, OSError):
        return False  # no leader for a moment
