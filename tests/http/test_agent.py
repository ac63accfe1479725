"""/v1/agent: members, self, join, leave and force-leave, through StubTreq."""

import json

from tests.http.test_kv import APITestCase


class AgentEndpointTests(APITestCase):
    def test_members(self):
        response, content = self.request("GET", "/v1/agent/members")
        [member] = json.loads(content)
        self.assertEqual(member["Name"], "node-1")
        self.assertEqual((member["Addr"], member["Port"], member["Status"]), ("127.0.0.1", 8301, 1))
        self.assertEqual(member["Tags"]["role"], "consul")
        for field in ("ProtocolMin", "ProtocolMax", "ProtocolCur", "DelegateMin", "DelegateMax",
                      "DelegateCur"):
            self.assertIsInstance(member[field], int)

    def test_an_agent_without_a_wan_pool(self):
        response, content = self.request("GET", "/v1/agent/members?wan=1")
        self.assertEqual((response.code, json.loads(content)), (200, []))
        response, content = self.request("PUT", "/v1/agent/join/10.0.0.1?wan=1")
        self.assertEqual((response.code, content), (500, b"Must be a server to join WAN cluster"))

    def test_self(self):
        _, content = self.request("GET", "/v1/agent/self")
        info = json.loads(content)
        self.assertEqual(set(info), {"Config", "DebugConfig", "Coord", "Member", "Stats", "Meta"})
        self.assertEqual(info["Config"]["NodeName"], "node-1")
        self.assertEqual(info["Member"]["Name"], "node-1")
        self.assertEqual(info["Stats"]["consul"]["leader_addr"], "127.0.0.1:8300")

    def test_join_a_bad_address(self):
        response, content = self.request("PUT", "/v1/agent/join/10.0.0.1:99999")
        self.assertEqual(response.code, 500)
        self.assertIn(b"Failed to join", content)

    def test_join_needs_put(self):
        response, _ = self.request("GET", "/v1/agent/join/10.0.0.1")
        self.assertEqual(response.code, 405)

    def test_force_leave_unknown(self):
        response, content = self.request("PUT", "/v1/agent/force-leave/nobody")
        self.assertEqual((response.code, content), (500, b"agent: No node found with name 'nobody'"))

    def test_leave_then_shutdown(self):
        d = self.treq.request("PUT", "http://127.0.0.1:8500/v1/agent/leave")
        self.agent.advance(2)
        self.treq.flush()
        response = self.successResultOf(d)
        self.assertEqual(response.code, 200)
        self.assertEqual(self.agent.stopped, [1])
