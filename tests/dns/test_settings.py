"""The DNS answers an agent's configuration changes: domains, TTLs,
health filtering, limits, stale reads, and the shuffle."""

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from tests.dns.inprocess import InProcessDNS
from tests.dns.messages import decoded, query


def ask(agent, name, qtype=dns.A, **options):
    [reply] = agent.ask_udp(query(name, qtype, **options))
    return decoded(reply)


def with_instances(config=None, count=3, status="passing"):
    agent = InProcessDNS(config=config)
    for number in range(1, count + 1):
        agent.register({"Node": "web-%d" % number, "Address": "10.4.0.%d" % number,
                        "Service": {"Service": "web", "Port": 80},
                        "Check": {"CheckID": "web-%d" % number, "Name": "web", "Status": status, "ServiceID": "web"}})
    agent.server.advance(1)
    return agent


class DomainTests(SynchronousTestCase):
    def test_another_domain(self):
        agent = with_instances({"domain": "example.internal"})
        reply = ask(agent, b"web.service.example.internal", dns.SRV)
        self.assertEqual(sorted(r.payload.target.name for r in reply.answers),
                         [b"web-%d.node.dc1.example.internal" % n for n in (1, 2, 3)])
        self.assertEqual(ask(agent, b"web.service.consul").rCode, dns.EREFUSED)
        self.assertEqual([r.name.name for r in ask(agent, b"nosuch.service.example.internal").authority],
                         [b"example.internal"])

    def test_the_alternative_domain_answers_in_its_own_names(self):
        agent = with_instances({"alt_domain": "alt.example"})
        reply = ask(agent, b"web.service.alt.example", dns.SRV)
        self.assertEqual(sorted(r.payload.target.name for r in reply.answers),
                         [b"web-%d.node.dc1.alt.example" % n for n in (1, 2, 3)])
        self.assertEqual(sorted(r.name.name for r in reply.additional),
                         [b"web-%d.node.dc1.alt.example" % n for n in (1, 2, 3)])
        primary = ask(agent, b"web.service.consul", dns.SRV)
        self.assertEqual(sorted(r.payload.target.name for r in primary.answers),
                         [b"web-%d.node.dc1.consul" % n for n in (1, 2, 3)])
        soa = ask(agent, b"alt.example", dns.SOA)
        self.assertEqual((soa.answers[0].name.name, soa.answers[0].payload.mname.name), (b"alt.example",
                                                                                        b"ns.alt.example"))


class TTLTests(SynchronousTestCase):
    def test_service_and_node_ttls(self):
        agent = with_instances({"dns_config": {"node_ttl": "30s",
                                               "service_ttl": {"*": "5s", "we*": "7s", "web": "11s"}}})
        self.assertEqual({r.ttl for r in ask(agent, b"web.service.consul").answers}, {11})
        srv = ask(agent, b"web.service.consul", dns.SRV)
        self.assertEqual({r.ttl for r in srv.answers + srv.additional}, {11})
        self.assertEqual([r.ttl for r in ask(agent, b"web-1.node.consul").answers], [30])
        agent.register({"Node": "west-1", "Address": "10.4.1.1", "Service": {"Service": "west", "Port": 1}})
        agent.register({"Node": "db-1", "Address": "10.4.2.1", "Service": {"Service": "db", "Port": 1}})
        agent.server.advance(1)
        self.assertEqual([r.ttl for r in ask(agent, b"west.service.consul").answers], [7])
        self.assertEqual([r.ttl for r in ask(agent, b"db.service.consul").answers], [5])


class HealthTests(SynchronousTestCase):
    def test_warnings_are_answered_unless_only_passing(self):
        agent = with_instances(status="warning")
        self.assertEqual(len(ask(agent, b"web.service.consul").answers), 3)
        strict = with_instances({"dns_config": {"only_passing": True}}, status="warning")
        self.assertEqual(ask(strict, b"web.service.consul").rCode, dns.ENAME)


class LimitTests(SynchronousTestCase):
    def test_a_record_limit_caps_every_transport(self):
        agent = with_instances({"dns_config": {"a_record_limit": 2}}, count=6)
        self.assertEqual(len(ask(agent, b"web.service.consul", edns=4096).answers), 2)
        [reply] = agent.ask_tcp(query(b"web.service.consul"))
        self.assertEqual(len(decoded(reply).answers), 2)
        self.assertEqual(len(ask(agent, b"web.service.consul", dns.SRV, edns=4096).answers), 6)

    def test_udp_answer_limit_and_truncation(self):
        agent = with_instances({"dns_config": {"udp_answer_limit": 2, "enable_truncate": True}}, count=6)
        reply = ask(agent, b"web.service.consul")
        self.assertEqual((len(reply.answers), reply.trunc), (2, 1))
        # Again, from the prepared reply: the same count and flag.
        reply = ask(agent, b"web.service.consul")
        self.assertEqual((len(reply.answers), reply.trunc), (2, 1))
        roomy = ask(agent, b"web.service.consul", edns=4096)
        self.assertEqual((len(roomy.answers), roomy.trunc), (6, 0))

    def test_without_enable_truncate_there_is_no_tc(self):
        agent = with_instances(count=6)
        reply = ask(agent, b"web.service.consul")
        self.assertEqual((len(reply.answers), reply.trunc), (3, 0))


class ShuffleTests(SynchronousTestCase):
    def test_every_query_gets_its_own_order(self):
        agent = with_instances(count=8)
        firsts = {ask(agent, b"web.service.consul", message_id=n).answers[0].payload.dottedQuad()
                  for n in range(40)}
        self.assertGreater(len(firsts), 3)
        orders = {tuple(r.payload.target.name for r in ask(agent, b"web.service.consul", dns.SRV,
                                                             edns=4096, message_id=n).answers) for n in range(40)}
        self.assertGreater(len(orders), 10)


class StaleTests(SynchronousTestCase):
    def test_without_allow_stale_every_question_is_read_afresh(self):
        agent = with_instances({"dns_config": {"allow_stale": False}})
        calls = []
        call = agent.server.rpc.call

        def counted(method, args):
            calls.append((method, (args.get("QueryOptions") or {}).get("AllowStale")))
            return call(method, args)

        agent.server.rpc.call = counted
        for _ in range(3):
            self.assertEqual(len(ask(agent, b"web.service.consul").answers), 3)
        self.assertEqual(calls.count(("Health.ServiceNodes", None)), 3)
        self.assertEqual(len(agent.factory.prepared), 0)

    def test_with_allow_stale_the_cache_answers(self):
        agent = with_instances()
        ask(agent, b"web.service.consul")
        calls = []
        call = agent.server.rpc.call
        agent.server.rpc.call = lambda method, args: calls.append(method) or call(method, args)
        agent.factory.prepared.clear()  # through the authority, not the fast path
        for _ in range(3):
            self.assertEqual(len(ask(agent, b"web.service.consul").answers), 3)
        self.assertEqual(calls, [])
