"""``<query>.query[.<dc>].consul`` on an agent's DNS server in this process:
answers from executing the query, its TTL, the servers' order, templates,
NXDOMAIN and SERVFAIL, and replies never kept by the fast path."""

import json

from twisted.internet.defer import succeed
from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.dns.answers import Settings
from pyconsul.dns.names import PreparedQuery
from pyconsul.dns.queries import PreparedQueries, ecs_address, query_answer, query_ttl
from tests.dns.inprocess import InProcessDNS
from tests.dns.messages import decoded, query


class QueryDNSTestCase(SynchronousTestCase):
    def setUp(self):
        self.agent = InProcessDNS()
        for number, status in ((1, "passing"), (2, "warning"), (3, "critical")):
            self.agent.register({
                "Node": "db-%d" % number, "Address": "10.4.0.%d" % number,
                "Service": {"Service": "db", "Port": 5000 + number, "Tags": ["v%d" % number]},
                "Check": {"CheckID": "db", "Name": "db", "Status": status, "ServiceID": "db"},
            })
        self.agent.server.advance(1)

    def create(self, body):
        result = self.agent.http.http("POST", "/v1/query", body=json.dumps(body).encode())
        assert result.status == 200, result
        return json.loads(result.body)["ID"]

    def ask(self, name, qtype=dns.A, tcp=False):
        data = query(name, qtype)
        [reply] = self.agent.ask_tcp(data) if tcp else self.agent.ask_udp(data)
        return decoded(reply)

    def answers(self, message):
        return sorted(record.payload.dottedQuad() for record in message.answers if record.type == dns.A)


class AnswerTests(QueryDNSTestCase):
    def test_a_records_of_the_healthy_instances(self):
        self.create({"Name": "db", "Service": {"Service": "db"}})
        message = self.ask("db.query.consul")
        self.assertEqual(message.rCode, dns.OK)
        self.assertTrue(message.auth)
        self.assertEqual(self.answers(message), ["10.4.0.1", "10.4.0.2"])  # the query allows warning
        self.assertEqual({record.ttl for record in message.answers}, {0})

    def test_only_passing_in_the_query_not_in_dns_config(self):
        self.create({"Name": "db", "Service": {"Service": "db", "OnlyPassing": True}})
        self.assertEqual(self.answers(self.ask("db.query.consul")), ["10.4.0.1"])

    def test_srv_with_the_querys_ttl(self):
        self.create({"Name": "db", "Service": {"Service": "db", "Tags": ["v1"]}, "DNS": {"TTL": "30s"}})
        message = self.ask("db.query.consul", dns.SRV)
        [srv] = message.answers
        self.assertEqual((srv.payload.port, srv.payload.target.name, srv.ttl),
                         (5001, b"db-1.node.dc1.consul", 30))
        [extra] = [r for r in message.additional if r.type == dns.A]
        self.assertEqual((extra.name.name, extra.payload.dottedQuad(), extra.ttl), (b"db-1.node.dc1.consul",
                                                                                   "10.4.0.1", 30))

    def test_by_id_with_a_datacenter_and_in_any_case(self):
        query_id = self.create({"Name": "", "Template": {"Type": "name_prefix_match"},
                                "Service": {"Service": "db"}})
        self.assertEqual(self.ask(query_id + ".query.consul").rCode, dns.ESERVER)  # templates: by name only
        plain = self.create({"Name": "primary", "Service": {"Service": "db", "Tags": ["v1"]}})
        self.assertEqual(self.answers(self.ask(plain.upper() + ".query.dc1.consul")), ["10.4.0.1"])
        self.assertEqual(self.answers(self.ask("PRIMARY.query.consul", tcp=True)), ["10.4.0.1"])

    def test_a_template_with_a_regexp(self):
        self.create({"Name": "geo-", "Template": {"Type": "name_prefix_match", "Regexp": r"^geo-(\w+)-(v\d)$"},
                     "Service": {"Service": "${match(1)}", "Tags": ["${match(2)}"]}})
        self.assertEqual(self.answers(self.ask("geo-db-v2.query.consul")), ["10.4.0.2"])

    def test_unknown_and_empty_are_nxdomain(self):
        self.create({"Name": "nothing", "Service": {"Service": "nothing"}})
        for name in ("nope.query.consul", "nothing.query.consul"):
            message = self.ask(name)
            self.assertEqual(message.rCode, dns.ENAME)
            self.assertEqual([r.type for r in message.authority], [dns.SOA])

    def test_no_records_of_the_type_is_an_empty_answer(self):
        self.create({"Name": "db", "Service": {"Service": "db"}})
        message = self.ask("db.query.consul", dns.AAAA)
        self.assertEqual((message.rCode, message.answers), (dns.OK, []))
        self.assertEqual([r.type for r in message.authority], [dns.SOA])

    def test_another_datacenter_without_a_path_is_a_server_failure(self):
        self.create({"Name": "db", "Service": {"Service": "db"}})
        self.assertEqual(self.ask("db.query.dc9.consul").rCode, dns.ESERVER)

    def test_never_kept_by_the_fast_path(self):
        self.create({"Name": "db", "Service": {"Service": "db"}})
        self.ask("db.query.consul")
        self.ask("nope.query.consul")
        self.assertEqual(len(self.agent.factory.prepared), 0)
        # A query that changes answers at once, as Consul's do.
        [listed] = json.loads(self.agent.http.http("GET", "/v1/query").body)
        self.agent.http.http("DELETE", "/v1/query/" + listed["ID"])
        self.assertEqual(self.ask("db.query.consul").rCode, dns.ENAME)

    def test_the_order_is_the_servers(self):
        self.create({"Name": "db", "Service": {"Service": "db", "Near": "db-2"}})
        self.agent.server.endpoints.sort_by_distance = lambda source, nodes: sorted(
            nodes, key=lambda e: e["Node"]["Node"], reverse=True)
        for _ in range(5):
            message = self.ask("db.query.consul")
            self.assertEqual([r.payload.dottedQuad() for r in message.answers], ["10.4.0.2", "10.4.0.1"])

    def test_the_asking_agent_and_the_client_subnet_go_to_the_servers(self):
        seen = []
        self.agent.server.endpoints.sort_by_distance = lambda source, nodes: seen.append(source)
        self.create({"Name": "near-agent", "Service": {"Service": "db", "Near": "_agent"}})
        self.create({"Name": "near-ip", "Service": {"Service": "db", "Near": "_ip"}})
        self.ask("near-agent.query.consul")
        message = dns.Message(id=9, recDes=1)
        message.queries = [dns.Query("near-ip.query.consul", dns.A)]
        subnet = b"\x00\x01\x18\x00" + bytes([10, 4, 0])  # 10.4.0.0/24
        message.additional.append(dns._OPTHeader(udpPayloadSize=4096, options=[dns._OPTVariableOption(8, subnet)]))
        self.agent.ask_udp(message.toStr())
        self.assertEqual([s["Node"] for s in seen], ["s1"])  # no node has 10.4.0.0: no sort for near-ip
        self.assertEqual(ecs_address((1, 24, bytes([10, 4, 0]))), "10.4.0.0")


class PureTests(SynchronousTestCase):
    settings = Settings(datacenter="dc1", service_ttl={"db": 12.0})
    lookup = PreparedQuery("consul.", "db", None)

    def reply(self, ttl="", nodes=(), datacenter="dc2"):
        return {"Service": "db", "DNS": {"TTL": ttl}, "Datacenter": datacenter, "Nodes": list(nodes)}

    def test_ttl(self):
        self.assertEqual(query_ttl(self.reply("1m30s"), self.settings), 90)
        self.assertEqual(query_ttl(self.reply("1500ms"), self.settings), 1)
        self.assertEqual(query_ttl(self.reply(""), self.settings), 12.0)
        self.assertEqual(query_ttl(self.reply("junk"), self.settings), 0)

    def test_srv_targets_name_the_answering_datacenter(self):
        entry = {"Node": {"Node": "n1", "Address": "10.9.0.1", "Meta": None},
                 "Service": {"Address": "", "Port": 99, "Weights": {"Passing": 3, "Warning": 1}},
                 "Checks": [{"Status": "passing"}]}
        answer = query_answer(b"db.query.consul", dns.SRV, self.lookup, self.reply(nodes=[entry]), self.settings, 0)
        [item] = answer.items
        self.assertEqual((item.record.payload.target.name, item.record.payload.weight),
                         (b"n1.node.dc2.consul", 3))
        self.assertFalse(answer.shuffle)

    def test_the_source_ip_is_sent(self):
        calls = []

        class RPC:
            def call(self, method, args):
                calls.append((method, args))
                return succeed({"LastContact": 0})

        PreparedQueries(RPC(), "dc1", "agent-1").execute("db", None, "10.0.0.9")
        [(method, args)] = calls
        self.assertEqual(method, "PreparedQuery.Execute")
        self.assertEqual((args["Datacenter"], args["Source"], args["Agent"]["Node"], args["QueryOptions"]),
                         ("dc1", {"Ip": "10.0.0.9"}, "agent-1", {"AllowStale": True}))

    def test_too_stale_is_asked_again_of_the_leader(self):
        calls = []

        class RPC:
            def call(self, method, args):
                calls.append(args["QueryOptions"])
                return succeed({"LastContact": 5000 if len(calls) == 1 else 0})

        self.successResultOf(PreparedQueries(RPC(), "dc1", "a", max_stale=2.0).execute("db"))
        self.assertEqual(calls, [{"AllowStale": True}, {"AllowStale": False}])
