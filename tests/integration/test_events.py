"""User events with real processes: a server and two clients (NET.19.x).

An event fired on a client (over its HTTP API, and with ``pyconsul event``)
goes to a server over RPC, is gossiped, and shows in ``/v1/event/list`` on
every agent its filters select -- and only there; py-consul's event calls
work against them.
"""

import json
import urllib.request

import consul
from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, pyconsul_cli, wait_for
from tests.integration.cluster import Cluster

WEB = {"Name": "web", "ID": "web-1", "Port": 8080, "Tags": ["canary"]}


def listed(agent, query=""):
    status, body = agent.request("GET", "/v1/event/list" + query, timeout=5)
    assert status == 200, body
    return json.loads(body)


def ids(agent, name):
    return {event["ID"] for event in listed(agent, "?name=" + name)}


class EventTests(SynchronousTestCase):
    def setUp(self):
        self.cluster = Cluster(self, f"{NET}.19", 1).start()
        self.server = self.cluster.servers[0]
        self.a = self.cluster.client(f"{NET}.19.11", "client-a")
        self.b = self.cluster.client(f"{NET}.19.12", "client-b")
        self.agents = [self.server, self.a, self.b]
        wait_for(lambda: all(self._members(agent) == 3 for agent in self.agents), 60, what="three members")
        status, body = self.b.request("PUT", "/v1/agent/service/register", json.dumps(WEB).encode())
        self.assertEqual(status, 200, body)

    def _members(self, agent):
        try:
            status, body = agent.request("GET", "/v1/agent/members", timeout=2)
        except OSError:
            return 0
        return sum(1 for m in json.loads(body) if m["Status"] == 1) if status == 200 else 0

    def fire(self, agent, name, payload=b"", query=""):
        status, body = agent.request("PUT", "/v1/event/fire/%s%s" % (name, query), payload)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_an_event_fired_on_a_client_reaches_every_agent(self):
        event = self.fire(self.a, "deploy", b"v1.2.3")
        for agent in self.agents:
            wait_for(lambda agent=agent: event["ID"] in ids(agent, "deploy"), 30, what="the event on " + agent.http)
        [seen] = listed(self.b, "?name=deploy")
        self.assertEqual((seen["Payload"], seen["Version"]), ("djEuMi4z", 1))
        self.assertGreater(seen["LTime"], 0)

    def test_filters_pick_the_agents(self):
        by_service = self.fire(self.a, "restart", query="?service=^web-1$&tag=canary")
        by_node = self.fire(self.a, "restart", query="?node=^client-a$")
        everyone = self.fire(self.a, "restart", b"last")
        # The unfiltered one fired last: once every agent has it, the others have arrived where they go.
        for agent in self.agents:
            wait_for(lambda agent=agent: everyone["ID"] in ids(agent, "restart"), 30, what="the last event")
        self.assertEqual(ids(self.b, "restart"), {by_service["ID"], everyone["ID"]})
        self.assertEqual(ids(self.a, "restart"), {by_node["ID"], everyone["ID"]})
        self.assertEqual(ids(self.server, "restart"), {everyone["ID"]})

    def test_the_cli_fires_through_a_client(self):
        status, out, err = pyconsul_cli("event", "-name=cli", "-service=web", "hello", http=self.a.http)
        self.assertEqual((status, err), (0, ""), out)
        self.assertTrue(out.startswith("Event ID: "), out)
        event_id = out.split()[-1]
        wait_for(lambda: event_id in ids(self.b, "cli"), 30, what="the CLI's event on client-b")
        self.assertEqual(ids(self.a, "cli"), set())  # client-a has no web service

    def test_a_blocking_list_on_one_client_wakes_for_an_event_from_the_other(self):
        self.fire(self.a, "wake")
        wait_for(lambda: ids(self.b, "wake"), 30, what="the first event")
        index = self._index(self.b, "?name=wake")
        second = self.fire(self.a, "wake", b"2")
        status, body = self.b.request("GET", "/v1/event/list?name=wake&index=%d&wait=30s" % index, timeout=40)
        self.assertEqual(status, 200)
        self.assertIn(second["ID"], {e["ID"] for e in json.loads(body)})

    def _index(self, agent, query):
        with urllib.request.urlopen("http://%s/v1/event/list%s" % (agent.http, query), timeout=5) as response:
            return int(response.headers["X-Consul-Index"])

    def test_py_consul_fires_lists_and_blocks(self):
        a = consul.Consul(host=self.a.address, port=8500)
        b = consul.Consul(host=self.b.address, port=8500)
        fired = a.event.fire("py", "one", service="web")
        self.assertTrue(fired)
        wait_for(lambda: b.event.list(name="py")[1], 30, what="py-consul's event on client-b")
        index, [seen] = b.event.list(name="py")
        self.assertEqual(seen["Payload"], b"one")
        a.event.fire("py", "two", service="web")
        index, events = b.event.list(name="py", index=index, wait="30s")
        self.assertEqual([e["Payload"] for e in events], [b"one", b"two"])
        self.assertEqual(a.event.list(name="py")[1], [])  # client-a has no web service

    def test_an_event_too_large_is_refused_by_the_server(self):
        status, body = self.a.request("PUT", "/v1/event/fire/big", b"x" * 600)
        self.assertEqual((status, body), (500, b"user event exceeds configured limit of 512 bytes before encoding"))
