"""``pyconsul operator raft list-peers|remove-peer`` against the fake agent."""

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.cli.fakeagent import FakeAgent
from tests.vectors.targets import run_cli

CONFIGURATION = {
    "Servers": [
        {"ID": "e35bde83-4e9c-434f-a6ef-453f44ee21ea", "Node": "alice", "Address": "10.0.1.8:8300",
         "Leader": True, "Voter": True, "ProtocolVersion": "3"},
        {"ID": "5f3b2c1a-0000-4000-8000-000000000002", "Node": "bob-long-name", "Address": "10.0.1.10:8300",
         "Leader": False, "Voter": False, "ProtocolVersion": "3"},
    ],
    "Index": 22,
}


class ListPeersTests(SynchronousTestCase):
    def setUp(self):
        self.agent = FakeAgent()
        self.agent.overrides[("GET", "/v1/operator/raft/configuration")] = (
            200, {}, json.dumps(CONFIGURATION).encode())

    def test_table(self):
        status, out, err = run_cli(["operator", "raft", "list-peers"], self.agent)
        self.assertEqual((status, err), (0, b""))
        self.assertEqual(out.decode(), (
            "Node           ID                                    Address         State     Voter  RaftProtocol\n"
            "alice          e35bde83-4e9c-434f-a6ef-453f44ee21ea  10.0.1.8:8300   leader    true   3\n"
            "bob-long-name  5f3b2c1a-0000-4000-8000-000000000002  10.0.1.10:8300  follower  false  3\n"
        ))

    def test_stale_is_passed_on(self):
        run_cli(["operator", "raft", "list-peers", "-stale"], self.agent)
        self.assertIn("stale", self.agent.requests[-1][1])

    def test_errors(self):
        self.agent.overrides[("GET", "/v1/operator/raft/configuration")] = (500, {}, b"No cluster leader")
        status, out, err = run_cli(["operator", "raft", "list-peers"], self.agent)
        self.assertEqual((status, out), (1, b""))
        self.assertEqual(err, b"Error getting peers: Unexpected response code: 500 (No cluster leader)\n")


class RemovePeerTests(SynchronousTestCase):
    def setUp(self):
        self.agent = FakeAgent()
        self.agent.overrides[("DELETE", "/v1/operator/raft/peer")] = (200, {}, b"")

    def test_by_id_and_by_address(self):
        self.assertEqual(run_cli(["operator", "raft", "remove-peer", "-id=abc"], self.agent),
                         (0, b'Removed peer with id "abc"\n', b""))
        self.assertIn("id=abc", self.agent.requests[-1][1])
        self.assertEqual(run_cli(["operator", "raft", "remove-peer", "-address=10.0.0.2:8300"], self.agent),
                         (0, b'Removed peer with address "10.0.0.2:8300"\n', b""))

    def test_needs_exactly_one_of_id_and_address(self):
        status, _, err = run_cli(["operator", "raft", "remove-peer"], self.agent)
        self.assertEqual((status, err), (1, b"Error removing peer: an address or id is required for the peer to remove\n"))
        status, _, err = run_cli(["operator", "raft", "remove-peer", "-id=a", "-address=b:1"], self.agent)
        self.assertEqual((status, err), (1, b"Error removing peer: cannot give both an address and id\n"))

    def test_unknown_peer(self):
        self.agent.overrides[("DELETE", "/v1/operator/raft/peer")] = (
            500, {}, b'id "x" was not found in the Raft configuration')
        status, _, err = run_cli(["operator", "raft", "remove-peer", "-id=x"], self.agent)
        self.assertEqual(status, 1)
        self.assertIn(b'was not found in the Raft configuration', err)
