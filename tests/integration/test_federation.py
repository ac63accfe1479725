"""Two datacenters of real processes: three servers and a client each
(dc1 on NET.30.x, dc2 on NET.31.x), the servers joined in one WAN pool.

A request with ``?dc=`` goes from the client to its servers, across the WAN
to a server of the other datacenter, and comes back as if asked there; DNS
names with a datacenter and prepared-query failover take the same road.
"""

import json
import os
import time
import urllib.request

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, pyconsul_cli, wait_for
from tests.integration.cluster import Cluster
from tests.integration.test_dns import answers_of, dig_at

WAN2 = f"{NET}.31.99"
FAST_WAN = {
    "gossip_wan": {"probe_interval": "200ms", "probe_timeout": "100ms", "gossip_interval": "50ms",
                   "suspicion_mult": 2},
}


def body(agent, method, path, payload=None, expect=200):
    data = payload if isinstance(payload, (bytes, type(None))) else json.dumps(payload).encode()
    status, content = agent.request(method, path, data)
    assert status == expect, (method, path, status, content)
    try:
        return json.loads(content)
    except ValueError:
        return content


class TwoDatacenters:
    """dc1 and dc2, each three servers and a client; started by setUp."""

    def start_datacenters(self):
        self.dc1 = Cluster(self, f"{NET}.30", 3, datacenter="dc1", **FAST_WAN)
        self.dc2 = Cluster(self, f"{NET}.31", 3, datacenter="dc2",
                           args=["--retry-join-wan", self.dc1.servers[0].address], **FAST_WAN)
        for server in self.dc1.servers + self.dc2.servers:
            server.start()
        self.dc1.wait_for_leader()
        self.dc2.wait_for_leader()
        self.client1 = self.dc1.client(f"{NET}.30.10", "client1")
        # client2's node says it is reached from other datacenters at WAN2.
        self.client2 = self.dc2.client(f"{NET}.31.10", "client2", "--advertise-wan", WAN2)
        wait_for(lambda: all(self.wan_alive(server) == 6 for server in self.dc1.servers + self.dc2.servers), 60,
                 what="every server seeing six alive in the WAN pool")
        wait_for(lambda: self._knows_servers(self.client1) and self._knows_servers(self.client2), 60,
                 what="the clients to know their servers")

    def wan_alive(self, server, datacenter=None):
        try:
            members = body(server, "GET", "/v1/agent/members?wan=1")
        except (AssertionError, OSError):
            return 0
        return sum(1 for m in members if m["Status"] == 1 and (datacenter is None or m["Tags"]["dc"] == datacenter))

    @staticmethod
    def _knows_servers(client):
        try:
            status, _ = client.request("GET", "/v1/catalog/nodes", timeout=2)
        except OSError:
            return False
        return status == 200


class FederationTests(TwoDatacenters, SynchronousTestCase):
    def setUp(self):
        self.start_datacenters()

    def test_reads_writes_dns_and_failover_across_datacenters(self):
        # Every server lists both datacenters, its own first (nearest).
        datacenters = body(self.client2, "GET", "/v1/catalog/datacenters")
        self.assertEqual(datacenters, ["dc2", "dc1"])
        self.assertEqual(body(self.client1, "GET", "/v1/catalog/datacenters"), ["dc1", "dc2"])

        # KV written in dc1, read through dc2's client, headers from dc1.
        self.assertIs(body(self.client1, "PUT", "/v1/kv/shared/config", b"from-dc1"), True)
        [entry] = body(self.client2, "GET", "/v1/kv/shared/config?dc=dc1")
        self.assertEqual(entry["Value"], "ZnJvbS1kYzE=")
        self.assertEqual(self.client2.request("GET", "/v1/kv/shared/config")[0], 404)  # not in dc2's own
        status, _ = self.client2.request("PUT", "/v1/kv/written/from-dc2?dc=dc1", b"x")
        self.assertEqual(status, 200)
        self.assertEqual(len(body(self.client1, "GET", "/v1/kv/written/from-dc2")), 1)

        # A blocking read across the WAN wakes for a write in its datacenter.
        index = int(_header(self.client2, "/v1/kv/shared/config?dc=dc1", "X-Consul-Index"))
        started = time.monotonic()
        body(self.client1, "PUT", "/v1/kv/shared/config", b"changed")
        [changed] = body(self.client2, "GET", "/v1/kv/shared/config?dc=dc1&index=%d&wait=20s" % index)
        self.assertEqual(changed["Value"], "Y2hhbmdlZA==")
        self.assertLess(time.monotonic() - started, 15)

        # The other endpoints take ?dc= the same way: status, sessions, transactions, events.
        leader = body(self.client1, "GET", "/v1/status/leader?dc=dc2")
        self.assertIn(leader.rpartition(":")[0], [s.address for s in self.dc2.servers])
        session = body(self.client1, "PUT", "/v1/session/create?dc=dc2", {"Node": "client2", "TTL": "30s"})
        self.assertEqual([s["ID"] for s in body(self.client2, "GET", "/v1/session/list")], [session["ID"]])
        txn = body(self.client1, "PUT", "/v1/txn?dc=dc2", [{"KV": {"Verb": "set", "Key": "t", "Value": "dA=="}}])
        self.assertEqual(txn["Results"][0]["KV"]["Key"], "t")
        event = body(self.client1, "PUT", "/v1/event/fire/deploy?dc=dc2", b"v2")
        wait_for(lambda: event["ID"] in {e["ID"] for e in body(self.client2, "GET", "/v1/event/list")}, 30,
                 what="dc1's event in dc2")

        # A service in dc2 is found from dc1, over HTTP and DNS.
        web = {"Name": "web", "ID": "web2", "Port": 8080, "Check": {"TTL": "60s", "Status": "passing"}}
        body(self.client2, "PUT", "/v1/agent/service/register", web)
        wait_for(lambda: body(self.client1, "GET", "/v1/health/service/web?dc=dc2&passing"), 30,
                 what="dc2's web through dc1")
        [instance] = body(self.client1, "GET", "/v1/health/service/web?dc=dc2")
        self.assertEqual((instance["Node"]["Node"], instance["Node"]["Datacenter"]), ("client2", "dc2"))
        srv = answers_of(dig_at(self.client1, "web.service.dc2.consul", "SRV"))
        self.assertEqual([(kind, data.split()[-1]) for _, kind, data in srv], [("SRV", "client2.node.dc2.consul.")])
        a = answers_of(dig_at(self.client1, "client2.node.dc2.consul", "A"))
        self.assertEqual([data for _, _, data in a], [self.client2.address])
        self.assertEqual(instance["Node"]["TaggedAddresses"]["wan"], WAN2)

        # An agent with translate_wan_addrs gives dc2's nodes by their WAN address.
        config = os.path.abspath(self.mktemp() + ".json")
        with open(config, "w") as f:
            json.dump({"translate_wan_addrs": True}, f)
        translating = self.dc1.client(f"{NET}.30.11", "client3", "--config-file", config)
        wait_for(lambda: self._knows_servers(translating), 60, what="the translating agent")
        [instance] = body(translating, "GET", "/v1/health/service/web?dc=dc2")
        self.assertEqual(instance["Node"]["Address"], WAN2)
        self.assertEqual(_header(translating, "/v1/catalog/nodes?dc=dc2", "X-Consul-Translate-Addresses"), "true")
        a = answers_of(dig_at(translating, "client2.node.dc2.consul", "A"))
        self.assertEqual([data for _, _, data in a], [WAN2])

        # A prepared query in dc1 fails over to dc2 once dc1's instances are critical.
        local = {"Name": "web", "ID": "web1", "Port": 8080, "Check": {"TTL": "60s", "Status": "passing"}}
        body(self.client1, "PUT", "/v1/agent/service/register", local)
        query = body(self.client1, "POST", "/v1/query",
                     {"Name": "web", "Service": {"Service": "web", "OnlyPassing": True,
                                                 "Failover": {"Datacenters": ["dc2"]}}})
        answer = wait_for(lambda: self._executed(query["ID"], "dc1"), 30, what="dc1's own instance")
        self.assertEqual(answer["Failovers"], 0)
        body(self.client1, "PUT", "/v1/agent/check/fail/service:web1")
        answer = wait_for(lambda: self._executed(query["ID"], "dc2"), 30, what="the failover to dc2")
        self.assertEqual(answer["Failovers"], 1)
        self.assertEqual([n["Node"]["Node"] for n in answer["Nodes"]], ["client2"])
        srv = answers_of(dig_at(self.client1, "web.query.consul", "SRV"))
        self.assertEqual([data.split()[-1] for _, _, data in srv], ["client2.node.dc2.consul."])

        # dc1's DNS follows dc2's catalog: the cached answer goes when the instance does.
        body(self.client2, "PUT", "/v1/agent/service/deregister/web2")
        try:
            wait_for(lambda: not answers_of(dig_at(self.client1, "web.service.dc2.consul", "SRV")), 30,
                     what="dc2's web gone from dc1's DNS")
        except AssertionError as error:
            raise AssertionError("%s; dc2's catalog: %r, through dc1: %r, cached through dc1: %r" % (
                error, body(self.client2, "GET", "/v1/catalog/service/web"),
                body(self.client1, "GET", "/v1/catalog/service/web?dc=dc2"),
                body(self.client1, "GET", "/v1/health/service/web?dc=dc2&cached")))

        # An unknown datacenter: Consul's answer, at once.
        started = time.monotonic()
        status, content = self.client1.request("GET", "/v1/kv/x?dc=dc9")
        self.assertEqual((status, content), (500, b"No path to datacenter"))
        self.assertLess(time.monotonic() - started, 2)

    def _executed(self, query_id, datacenter):
        answer = body(self.client1, "GET", "/v1/query/%s/execute" % query_id)
        return answer if answer["Datacenter"] == datacenter and answer["Nodes"] else None

    def test_a_datacenter_whose_servers_are_all_down_fails_fast(self):
        body(self.client1, "PUT", "/v1/kv/k", b"v")
        self.assertEqual(len(body(self.client1, "GET", "/v1/kv/k?dc=dc1")), 1)
        # One of dc2's servers leaves: it leaves both pools. The others are killed.
        first, *others = self.dc2.servers
        status, out, err = pyconsul_cli("leave", http=first.http)
        self.assertEqual(status, 0, out + err)
        wait_for(lambda: first.process.poll() is not None, 30, what="the server to leave and stop")
        wait_for(lambda: {m["Name"]: m["Status"] for m in body(others[0], "GET", "/v1/agent/members")}["s1"] == 3,
                 30, what="s1 left in dc2's LAN")
        for server in others:
            server.kill()
        for attempt in range(3):
            started = time.monotonic()
            status, content = self.client1.request("GET", "/v1/kv/k?dc=dc2", timeout=30)
            self.assertEqual(status, 500, content)
            self.assertLess(time.monotonic() - started, 6, "a request for dc2 took too long")
            # dc1 answers as before, at once.
            started = time.monotonic()
            self.assertEqual(len(body(self.client1, "GET", "/v1/kv/k")), 1)
            self.assertLess(time.monotonic() - started, 1)
        # Once the WAN pool sees them failed (in every dc1 server's view, as
        # the client may ask any of them): no path, without trying.
        wait_for(lambda: all(self.wan_alive(server, "dc2") == 0 for server in self.dc1.servers), 60,
                 what="dc2's servers failed")
        self.assertEqual(self.client1.request("GET", "/v1/kv/k?dc=dc2"), (500, b"No path to datacenter"))
        members = body(self.dc1.servers[1], "GET", "/v1/agent/members?wan=1")
        self.assertEqual({m["Name"]: m["Status"] for m in members if m["Tags"]["dc"] == "dc2"},
                         {"s1.dc2": 3, "s2.dc2": 4, "s3.dc2": 4})  # left, failed, failed

    def test_a_wan_partition_that_heals(self):
        dc1_hosts = [s.address for s in self.dc1.servers]
        dc2_hosts = [s.address for s in self.dc2.servers]
        for server in self.dc1.servers:
            server.request("PUT", "/v1/debug/faults", json.dumps({"Block": dc2_hosts}).encode())
        for server in self.dc2.servers:
            server.request("PUT", "/v1/debug/faults", json.dumps({"Block": dc1_hosts}).encode())
        wait_for(lambda: all(self.wan_alive(server, "dc2") == 0 for server in self.dc1.servers), 60,
                 what="dc2 failed from dc1")
        self.assertEqual(self.client1.request("GET", "/v1/kv/k?dc=dc2"), (500, b"No path to datacenter"))
        self.assertEqual(body(self.client2, "PUT", "/v1/kv/k", b"still-writable"), True)  # dc2 goes on alone
        for server in self.dc1.servers + self.dc2.servers:
            server.request("PUT", "/v1/debug/faults", b'{"Block": []}')
        wait_for(lambda: all(self.wan_alive(server) == 6 for server in self.dc1.servers + self.dc2.servers), 90,
                 what="the WAN pool whole again")
        wait_for(lambda: self.client1.request("GET", "/v1/kv/k?dc=dc2")[0] == 200, 30, what="dc2 through dc1 again")
        [entry] = body(self.client1, "GET", "/v1/kv/k?dc=dc2")
        self.assertEqual(entry["Value"], "c3RpbGwtd3JpdGFibGU=")


def _header(agent, path, name):
    with urllib.request.urlopen("http://%s%s" % (agent.http, path), timeout=10) as response:
        return response.headers[name]
