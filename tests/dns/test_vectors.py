"""Every recorded Consul answer, asked of the DNS server in this process:
once decoded by twisted.names and answered through the authority, and
again from the prepared reply of the fast path (for UDP). The prepared
reply must be the bytes the authority renders, but for ID and order."""

import copy
import random

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.dns.authority import UDP, render
from pyconsul.dns.prepared import FixedReply, RenderedReply, ShuffledReply, prepare
from pyconsul.dns.server import decode, question_from
from tests.dns.inprocess import recorded_agent
from tests.dns.messages import query
from tests.vectors.dns import build_query, judge, load_dns_vectors

AGENT_IP = "127.0.0.1"
CASES = load_dns_vectors()["cases"]

# The only replies the fast path renders afresh for every query: a node's
# meta TXT owned by a name that is not the SRV target (the others are kept
# as pieces when shuffled, as bytes when not).
RENDERED = {"db-srv"}
# Replies built from reads that are not kept up to date (reverse lookups of
# service addresses, other datacenters, prepared queries: executed for every
# question, as Consul does), or not worth keeping (REFUSED).
NOT_KEPT = {"ptr-service-address-db", "ptr-service-address-local", "ptr-unknown", "svc-web-unknown-dc-a",
            "query-unknown-a", "query-unknown-srv", "query-unknown-dc1"}


class FixedOrder:
    """Stands in for the random generator: samples come in a set order."""

    def __init__(self, order):
        self.order = order

    def sample(self, population, k):
        return [population[i] for i in self.order[:k]]


class RecordedVectorTests(SynchronousTestCase):
    def test_every_case_is_here(self):
        self.assertEqual(len(CASES), 119)

    def ask(self, case, query):
        agent = recorded_agent()
        if case["transport"] == "tcp":
            return agent.ask_tcp(query)
        return agent.ask_udp(query)

    def check_case(self, case):
        agent = recorded_agent()
        agent.factory.prepared.clear()
        query = build_query(case, 4242, AGENT_IP)
        [first] = self.ask(case, query)
        self.assertEqual(judge(case, first, AGENT_IP, 4242, now=agent.clock.seconds()), [])
        if case["transport"] != "udp":
            self.assertEqual(len(agent.factory.prepared), 0)
            return
        again = b"\x30\x39" + query[2:]
        [second] = self.ask(case, again)
        self.assertEqual(judge(case, second, AGENT_IP, 0x3039, now=agent.clock.seconds()), [])
        prepared = agent.factory.prepared.get(query[2:])
        if case["expect"]["rcode"] == "REFUSED" or case["name"] in NOT_KEPT:
            self.assertIsNone(prepared)
            return
        self.assertIsNotNone(prepared, "no prepared reply kept")
        answer = self.successResultOf(agent.authority.resolve(question_from(decode(query), UDP))).answer
        if case["name"] in RENDERED:
            self.assertIsInstance(prepared, RenderedReply)
        elif answer.shuffle and len(answer.items) > 1:
            self.assertIsInstance(prepared, ShuffledReply)
        else:
            self.assertIsInstance(prepared, FixedReply)
        if isinstance(prepared, FixedReply):
            self.assertEqual(second[2:], first[2:])
        self.check_same_bytes(agent, query)

    def check_same_bytes(self, agent, query):
        """The fast path's reply is the authority's, for several orders."""
        question = question_from(decode(query), UDP)
        resolution = self.successResultOf(agent.authority.resolve(question))
        answer = resolution.answer
        prepared = prepare(answer, copy.copy(question), agent.settings, resolution.dependencies,
                           agent.clock.seconds())
        for seed in range(4):
            order = list(range(len(answer.items)))
            random.Random(seed).shuffle(order)
            rendered_question = copy.copy(question)
            rendered_question.message_id = 0x0309
            expected = render(answer, rendered_question, agent.settings, FixedOrder(order))
            self.assertEqual(prepared.reply(b"\x03\x09", FixedOrder(order)), expected)


def _make_test(case):
    def test(self):
        self.check_case(case)

    test.__doc__ = "%s %s over %s" % (case["qname"], case["qtype"], case["transport"])
    return test


for _case in CASES:
    setattr(RecordedVectorTests, "test_" + _case["name"].replace("-", "_"), _make_test(_case))


class PreparedReplyTests(SynchronousTestCase):
    def test_a_kept_reply_goes_when_the_catalog_changes_what_it_shows(self):
        agent = recorded_agent()
        data = query(b"billing-api-v2.service.consul", dns.A, message_id=1)
        [before] = agent.ask_udp(data)
        self.assertIn(data[2:], agent.factory.prepared)
        agent.register({"Node": "billing-node-3", "Address": "10.0.6.3",
                        "Service": {"ID": "billing-api-v2-3", "Service": "billing-api-v2", "Port": 8443}})
        agent.server.advance(1)
        [after] = agent.ask_udp(data)
        addresses = sorted(r.payload.dottedQuad() for r in decode(after).answers)
        self.assertEqual(addresses, ["10.0.6.1", "10.0.6.2", "10.0.6.3"])
        agent.http.http("PUT", "/v1/catalog/deregister", body=b'{"Node": "billing-node-3"}')
        agent.server.advance(1)
        [last] = agent.ask_udp(data)
        self.assertEqual(sorted(r.payload.dottedQuad() for r in decode(last).answers), ["10.0.6.1", "10.0.6.2"])
        self.assertEqual(len(decode(before).answers), 2)

    def test_an_unrelated_change_keeps_the_reply(self):
        agent = recorded_agent()
        data = query(b"multi.service.consul", dns.SRV, message_id=1)
        agent.ask_udp(data)
        kept = agent.factory.prepared[data[2:]]
        agent.register({"Node": "other-1", "Address": "10.9.9.9",
                        "Service": {"ID": "other", "Service": "other", "Port": 1}})
        agent.server.advance(1)
        self.assertTrue(kept.holds(agent.clock.seconds()))
        agent.ask_udp(data)
        self.assertIs(agent.factory.prepared[data[2:]], kept)
        agent.http.http("PUT", "/v1/catalog/deregister", body=b'{"Node": "other-1"}')
        agent.server.advance(1)

    def test_a_reply_with_an_soa_is_kept_for_a_second(self):
        agent = recorded_agent()
        data = query(b"nosuch.service.consul", dns.A, message_id=1)
        agent.ask_udp(data)
        kept = agent.factory.prepared[data[2:]]
        self.assertTrue(kept.holds(agent.clock.seconds()))
        self.assertFalse(kept.holds(agent.clock.seconds() + 1))
