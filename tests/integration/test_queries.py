"""Prepared queries on real ``--dev`` agents, with real clients: py-consul
creates, reads, executes, explains and deletes them; dig asks for them as
``<name>.query.consul``; a template picks the service from the name.

(py-consul makes every query a ``name_prefix_match`` template, so its
queries are found by name, as they are on Consul.) Each test has an
address of its own in ``{NET}.15``.
"""

import json
import shutil
import subprocess

import consul
from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, wait_for

DIG = shutil.which("dig")


def dig(agent, name, qtype="A"):
    """(status, [(name, ttl, type, data)]) of dig's answer section."""
    if DIG is None:
        raise AssertionError("these tests run dig: install it (on Debian: apt-get install dnsutils)")
    output = subprocess.run([DIG, "@" + agent.address, "-p", "8600", "+time=2", "+tries=1", name, qtype],
                            capture_output=True, text=True, timeout=30).stdout
    status, records, inside = None, [], False
    for line in output.splitlines():
        if "status:" in line:
            status = line.split("status:")[1].split(",")[0].strip()
        if line.startswith(";; ANSWER SECTION"):
            inside = True
        elif inside and not line.strip():
            inside = False
        elif inside:
            owner, ttl, _cls, rtype, data = line.split(None, 4)
            records.append((owner, int(ttl), rtype, data))
    return status, records


class QueryAgentTestCase(SynchronousTestCase):
    def agent(self, number):
        agent = Agent(self, f"{NET}.15.{number}", ["--dev", "--node", "s%d" % number]).start()
        agent.wait_until_leader()
        self.client = consul.Consul(host=agent.address, port=8500)
        return agent

    def register(self, name, port, tags=(), address=None, service_id=None):
        self.client.agent.service.register(name, service_id=service_id, port=port, tags=list(tags), address=address)
        wait_for(lambda: len(self.client.health.service(name)[1]) >= 1, what="%s in the catalog" % name)


class PyConsulTests(QueryAgentTestCase):
    def test_create_read_execute_explain_delete(self):
        agent = self.agent(1)
        self.register("redis", 6379, tags=["primary"])
        created = self.client.query.create("redis", name="cache", ttl="10s", tags=["primary"])
        query_id = created["ID"]
        [stored] = self.client.query.get(query_id)
        self.assertEqual((stored["ID"], stored["Name"], stored["Service"]["Service"], stored["DNS"]["TTL"]),
                         (query_id, "cache", "redis", "10s"))
        self.assertEqual([q["ID"] for q in self.client.query.list()], [query_id])

        answer = self.client.query.execute("cache")
        self.assertEqual((answer["Service"], answer["Datacenter"], answer["Failovers"]), ("redis", "dc1", 0))
        [node] = answer["Nodes"]
        self.assertEqual((node["Node"]["Node"], node["Service"]["Port"]), ("s1", 6379))
        self.assertEqual(len(self.client.query.execute("cache", limit=1)["Nodes"]), 1)

        explained = self.client.query.explain("cache")
        self.assertEqual(explained["Query"]["ID"], query_id)

        status, body = agent.request("GET", "/v1/query/%s/execute" % query_id)
        self.assertEqual((status, body.decode()),
                         (500, "prepared query templates can only be resolved up by name, not by ID"))
        status, body = agent.request("GET", "/v1/query/nope/execute")
        self.assertEqual((status, body), (404, b"Query not found"))

        self.assertTrue(self.client.query.update(query_id, "redis", name="cache", ttl="20s"))
        self.assertEqual(self.client.query.get(query_id)[0]["DNS"]["TTL"], "20s")
        self.assertTrue(self.client.query.delete(query_id))
        self.assertEqual(self.client.query.list(), [])
        self.assertIsNone(self.client.query.execute("cache"))  # py-consul's answer to a 404

    def test_a_plain_query_by_id_over_http(self):
        agent = self.agent(2)
        self.register("web", 8080)
        body = {"Name": "web", "Service": {"Service": "web", "OnlyPassing": True}}
        status, created = agent.request("POST", "/v1/query", json.dumps(body).encode())
        self.assertEqual(status, 200, created)
        query_id = json.loads(created)["ID"]
        status, answer = agent.request("GET", "/v1/query/%s/execute" % query_id)
        self.assertEqual(status, 200, answer)
        self.assertEqual([n["Service"]["Service"] for n in json.loads(answer)["Nodes"]], ["web"])


class DNSTests(QueryAgentTestCase):
    def test_srv_and_a_with_the_querys_ttl(self):
        agent = self.agent(3)
        self.register("redis", 6379, address="10.15.0.7")
        self.client.query.create("redis", name="cache", ttl="10s")
        status, records = dig(agent, "cache.query.consul", "SRV")
        self.assertEqual(status, "NOERROR")
        [(owner, ttl, rtype, data)] = records
        self.assertEqual((owner, ttl, rtype), ("cache.query.consul.", 10, "SRV"))
        self.assertEqual(data.split()[2], "6379")
        status, records = dig(agent, "cache.query.dc1.consul", "A")
        self.assertEqual((status, [(r[2], r[3]) for r in records]), ("NOERROR", [("A", "10.15.0.7")]))
        self.assertEqual(dig(agent, "nosuch.query.consul")[0], "NXDOMAIN")

    def test_a_template(self):
        agent = self.agent(4)
        self.register("web", 80, address="10.15.1.1", service_id="web-1")
        self.register("api", 81, address="10.15.1.2", service_id="api-1")
        self.client.query.create("${match(1)}", name="geo-", regexp="^geo-(.+)$")
        for name, address in (("web", "10.15.1.1"), ("api", "10.15.1.2")):
            status, records = dig(agent, "geo-%s.query.consul" % name)
            self.assertEqual((status, [r[3] for r in records]), ("NOERROR", [address]))
            self.assertEqual(self.client.query.execute("geo-" + name)["Service"], name)
        self.assertEqual(self.client.query.explain("geo-web")["Query"]["Service"]["Service"], "web")
        status, records = dig(agent, "geo-nothing.query.consul")
        self.assertEqual((status, records), ("NXDOMAIN", []))
        # A check failing takes the instance out of the query's answers at once.
        self.client.agent.check.register("web-ttl", check=consul.Check.ttl("10m"), service_id="web-1")
        wait_for(lambda: dig(agent, "geo-web.query.consul")[0] == "NXDOMAIN", what="the critical instance to go")
