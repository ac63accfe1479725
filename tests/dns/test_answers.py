"""answers: the whole answer to a question, from hand-built catalog data.

The catalog here is the recordings' fixture (``tests/data/consul-dns``)
written out in the state store's shapes, so that the answers can be held
against what Consul 1.10 answered; the other tests build what they need.
Records are compared as dig-style lines ("OWNER TTL IN TYPE RDATA").
"""

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.dns import answers, names
from pyconsul.dns.answers import SOA, Settings
from tests.vectors.dns import RCODES, Record, fill, load_dns_vectors, qtype_code

NOW = 1700000000
AGENT_IP = "127.0.0.2"
SETTINGS = Settings(datacenter="dc1")
ALT_SETTINGS = Settings(datacenter="dc1", alt_domain="alt.example.")
SOA_LINE = "consul. 0 IN SOA ns.consul. hostmaster.consul. %d 3600 600 86400 0" % NOW


def line(rr):
    return str(Record.of(rr))


def lines(rrs):
    return sorted(line(rr) for rr in rrs)


def additional(answer):
    """Every additional record the answer can send: its items' extras and its own."""
    return [extra for item in answer.items for extra in item.extras] + answer.additional


# -- catalog shapes --------------------------------------------------------------------


def node(name, address, meta=None, datacenter="dc1"):
    return {"ID": "", "Node": name, "Address": address, "Datacenter": datacenter, "TaggedAddresses": {},
            "Meta": dict(meta or {}), "CreateIndex": 1, "ModifyIndex": 1}


def check(status, service_id="", check_id=None, node_name=""):
    return {"Node": node_name, "CheckID": check_id or ("svc:" + service_id if service_id else "node-check"),
            "Name": "check", "Status": status, "ServiceID": service_id, "ServiceName": ""}


def entry(node_record, name, port, service_id=None, tags=(), address="", weights=None, checks=()):
    service_id = service_id or name
    return {
        "Node": node_record,
        "Service": {"ID": service_id, "Service": name, "Tags": list(tags), "Address": address, "Port": port,
                    "Weights": weights if weights is not None else {"Passing": 1, "Warning": 1},
                    "Meta": {}},
        "Checks": [dict(c, Node=node_record["Node"]) for c in checks],
    }


def passing(service_id):
    return check("passing", service_id)


# -- the recordings' fixture -----------------------------------------------------------

SERF = check("passing", check_id="serfHealth")
N = {
    "s1": node("s1", AGENT_IP, {"consul-network-segment": ""}),
    "web-1": node("web-1", "10.0.1.1", {"rack": "r1", "env": "prod"}),
    "web-2": node("web-2", "10.0.1.2", {"rack": "r2"}),
    "web-3": node("web-3", "10.0.1.3"),
    "web-6": node("web-6", "2001:db8::6"),
    "down-1": node("down-1", "10.0.3.1"),
    "db-1": node("db-1", "10.0.2.1", {"role": "db"}),
    "db-2": node("db-2", "10.0.2.2"),
    "Billing-Node": node("Billing-Node", "10.0.6.1", {"team": "payments"}),
    "billing-node-2": node("billing-node-2", "10.0.6.2"),
    "auth-1": node("auth-1", "10.0.7.1"),
    "multi-1": node("multi-1", "10.0.9.1"),
    "ext-1": node("ext-1", "ext-host.example.org"),
    "meta-node": node("meta-node", "10.0.8.1", {"owner": "ops=team", "quote": 'say "hi"', "tick": "a`b",
                                                 "spaced": "two words", "rfc1035-spf": "v=spf1 -all",
                                                 "empty": ""}),
}
for _i in range(1, 41):
    N["big-%02d" % _i] = node("big-%02d" % _i, "10.2.0.%d" % _i)

DOWN = check("critical", check_id="node-alive")
SERVICES = {
    "consul": [entry(N["s1"], "consul", 8300, checks=[SERF])],
    "web": [
        entry(N["web-1"], "web", 80, tags=["v1", "primary"], checks=[passing("web")]),
        entry(N["web-2"], "web", 80, tags=["v1"], checks=[check("warning", "web")]),
        entry(N["web-3"], "web", 8080, tags=["v2"], checks=[check("critical", "web")]),
        entry(N["web-6"], "web", 80, tags=["v2"], checks=[passing("web")]),
        entry(N["down-1"], "web", 80, tags=["v1"], checks=[DOWN]),
    ],
    "cache": [entry(N["down-1"], "cache", 6379, checks=[DOWN])],
    "db": [
        entry(N["db-1"], "db", 5432, tags=["primary"], address="10.0.2.100",
              weights={"Passing": 10, "Warning": 1}, checks=[passing("db")]),
        entry(N["db-2"], "db", 5432, tags=["replica"], weights={"Passing": 10, "Warning": 3},
              checks=[check("warning", "db")]),
    ],
    "billing-api-v2": [
        entry(N["Billing-Node"], "billing-api-v2", 8443, "billing-api-v2-1", tags=["blue", "Canary"]),
        entry(N["billing-node-2"], "billing-api-v2", 8443, "billing-api-v2-2", tags=["green"]),
    ],
    "authsvc": [entry(N["auth-1"], "AuthSvc", 9090)],
    "multi": [entry(N["multi-1"], "multi", 1000, "multi-a"), entry(N["multi-1"], "multi", 1001, "multi-b")],
    "ext": [entry(N["ext-1"], "ext", 443, address="ext-svc.example.net")],
    "ext-plain": [entry(N["ext-1"], "ext-plain", 8080)],
    "big": [entry(N["big-%02d" % i], "big", 9000, tags=["bulk"]) for i in range(1, 41)],
    "local-api": [
        entry(N["s1"], "local-api", 7000, "local-api-1", tags=["internal"], checks=[SERF, passing("local-api-1")]),
        entry(N["s1"], "local-api", 7001, "local-api-2", tags=["internal", "edge"], address="192.0.2.10",
              checks=[SERF, passing("local-api-2")]),
    ],
    "local-warn": [entry(N["s1"], "local-warn", 7100, checks=[SERF, check("warning", "local-warn")])],
    "local-crit": [entry(N["s1"], "local-crit", 7200, checks=[SERF, check("critical", "local-crit")])],
}
NODES = sorted(N.values(), key=lambda n: n["Node"])
BY_NODE = {n["Node"].lower(): n for n in NODES}


def service_nodes_at(address):
    """Catalog.ServiceNodes entries whose service address is ``address``."""
    return [{"Node": e["Node"]["Node"], "Address": e["Node"]["Address"], "Datacenter": "dc1",
             "ServiceName": e["Service"]["Service"], "ServiceAddress": e["Service"]["Address"]}
            for es in SERVICES.values() for e in es if e["Service"]["Address"] == address]


def answer_case(qname, qtype, settings=SETTINGS):
    """What the answers module gives for a question, chosen as the authority chooses."""
    lookup = names.parse(qname, qtype == dns.SRV, settings.domains)
    if isinstance(lookup, names.Outside):
        return answers.refused()
    if isinstance(lookup, names.Reverse):
        found = answers.reverse_answer(qname.encode(), lookup.address, NODES, (), settings)
        if found is None:
            found = answers.reverse_answer(qname.encode(), lookup.address, (), service_nodes_at(lookup.address),
                                           settings)
        return found if found is not None else answers.server_failure()
    if qtype in (dns.SOA, dns.NS):
        return answers.apex_answer(qname, qtype, SERVICES["consul"], settings, NOW)
    in_dc = lookup.__class__ in (names.Service, names.Node) and lookup.datacenter in (None, "dc1")
    if isinstance(lookup, names.Service):
        entries = SERVICES.get(lookup.service) if in_dc else None
        return answers.service_answer(qname.encode(), qtype, lookup, entries, settings, NOW)
    if isinstance(lookup, names.Node):
        return answers.node_answer(qname.encode(), qtype, lookup, BY_NODE.get(lookup.node) if in_dc else None,
                                   settings, NOW)
    if isinstance(lookup, names.Addr):
        return answers.addr_answer(qname.encode(), lookup, settings)
    return answers.nxdomain(lookup.domain, settings, NOW)


# -- the recordings ---------------------------------------------------------------------

CASES = {case["name"]: case for case in load_dns_vectors()["cases"]}


def recorded_lines(section):
    """A recorded section's lines; a random sample's candidates."""
    if isinstance(section, dict):
        section = section["from"]
    return sorted(fill(text, AGENT_IP).replace("{$UNIXTIME}", str(NOW)) for text in section)


class RecordedAnswerTests(SynchronousTestCase):
    """Each recorded question answered from the fixture above: the answer
    holds exactly the records Consul gave (before the UDP trimming that
    picks a sample of them), with the code and SOA it gave."""

    def check_case(self, name):
        case = CASES[name]
        expect = case["expect"]
        qname = fill(case["qname"], AGENT_IP).rstrip(".")
        got = answer_case(qname, qtype_code(case["qtype"]))
        self.assertEqual(RCODES[got.rcode], expect["rcode"])
        self.assertEqual(lines(got.answers), recorded_lines(expect["answer"]), "answer")
        self.assertEqual(lines(got.authority), recorded_lines(expect["authority"]), "authority")
        self.assertEqual(lines(additional(got)), recorded_lines(expect["additional"]), "additional")
        self.assertEqual(got.authoritative, "aa" in expect["flags"])


def _recorded_test(name):
    def test(self):
        self.check_case(name)
    test.__name__ = "test_" + name.replace("-", "_")
    test.__doc__ = "The recorded case %s." % name
    return test


for _name in CASES:
    setattr(RecordedAnswerTests, "test_" + _name.replace("-", "_"), _recorded_test(_name))


class RecordedCoverageTests(SynchronousTestCase):
    def test_every_case(self):
        self.assertEqual(len(CASES), 119)


# -- settings -------------------------------------------------------------------------


class ServiceTTLTests(SynchronousTestCase):
    def ttl(self, table, service):
        return Settings(datacenter="dc1", service_ttl=table).ttl_for_service(service)

    def test_none_configured(self):
        self.assertEqual(self.ttl({}, "web"), 0)

    def test_exact(self):
        self.assertEqual(self.ttl({"web": 10}, "web"), 10)
        self.assertEqual(self.ttl({"web": 10}, "web-1"), 0)
        self.assertEqual(self.ttl({"web": 10}, "we"), 0)

    def test_exact_beats_prefix(self):
        self.assertEqual(self.ttl({"web*": 5, "web": 10}, "web"), 10)
        self.assertEqual(self.ttl({"web*": 5, "web": 10}, "web-api"), 5)

    def test_longest_prefix_wins(self):
        table = {"w*": 1, "web*": 2, "web-a*": 3}
        self.assertEqual(self.ttl(table, "wx"), 1)
        self.assertEqual(self.ttl(table, "web-b"), 2)
        self.assertEqual(self.ttl(table, "web-api"), 3)
        self.assertEqual(self.ttl(table, "db"), 0)

    def test_prefix_matches_itself(self):
        self.assertEqual(self.ttl({"web*": 2}, "web"), 2)

    def test_wildcard(self):
        self.assertEqual(self.ttl({"*": 7}, "anything"), 7)
        self.assertEqual(self.ttl({"*": 7, "db*": 3}, "db-1"), 3)
        self.assertEqual(self.ttl({"*": 7, "db*": 3}, "web"), 7)
        self.assertEqual(self.ttl({"*": 7, "web": 1}, "web"), 1)

    def test_case(self):
        # The name comes from the lower-cased question.
        self.assertEqual(self.ttl({"web": 10}, "WEB"), 10)
        self.assertEqual(self.ttl({"web*": 5}, "Web-Api"), 5)

    def test_domains(self):
        self.assertEqual(SETTINGS.domains, ("consul.",))
        self.assertEqual(ALT_SETTINGS.domains, ("consul.", "alt.example."))


# -- health -------------------------------------------------------------------------------


class HealthyTests(SynchronousTestCase):
    def one(self, *checks, only_passing=False):
        e = entry(node("n1", "10.0.0.1"), "web", 80, checks=checks)
        return answers.healthy([e], only_passing) == [e]

    def test_passing(self):
        self.assertTrue(self.one(passing("web"), SERF))

    def test_no_checks(self):
        self.assertTrue(self.one())
        self.assertTrue(self.one(only_passing=True))

    def test_critical_service_check(self):
        self.assertFalse(self.one(passing("web"), check("critical", "web")))

    def test_critical_node_check(self):
        self.assertFalse(self.one(passing("web"), check("critical", check_id="serfHealth")))

    def test_maintenance(self):
        # Maintenance mode is a critical check of its own.
        self.assertFalse(self.one(passing("web"), check("critical", check_id="_node_maintenance")))
        self.assertFalse(self.one(passing("web"), check("critical", "web", check_id="_service_maintenance:web")))

    def test_warning(self):
        self.assertTrue(self.one(check("warning", "web")))
        self.assertFalse(self.one(check("warning", "web"), only_passing=True))
        self.assertFalse(self.one(passing("web"), check("warning", check_id="serfHealth"), only_passing=True))

    def test_passing_with_only_passing(self):
        self.assertTrue(self.one(passing("web"), SERF, only_passing=True))

    def test_order_kept(self):
        web = SERVICES["web"]
        self.assertEqual(answers.healthy(web, False), [web[0], web[1], web[3]])
        self.assertEqual(answers.healthy(web, True), [web[0], web[3]])


class WeightTests(SynchronousTestCase):
    def weight(self, weights, *checks):
        e = entry(node("n1", "10.0.0.1"), "db", 5432, weights=weights, checks=checks)
        return answers.weight(e)

    def test_passing_and_warning_weights(self):
        weights = {"Passing": 10, "Warning": 3}
        self.assertEqual(self.weight(weights, passing("db")), 10)
        self.assertEqual(self.weight(weights, check("warning", "db")), 3)
        self.assertEqual(self.weight(weights, passing("db"), check("warning", check_id="serfHealth")), 3)

    def test_no_checks_is_passing(self):
        self.assertEqual(self.weight({"Passing": 10, "Warning": 3}), 10)

    def test_default_weights(self):
        self.assertEqual(self.weight({}, passing("db")), 1)
        e = entry(node("n1", "10.0.0.1"), "db", 5432, checks=[check("warning", "db")])
        del e["Service"]["Weights"]
        self.assertEqual(answers.weight(e), 1)
        e["Service"]["Weights"] = None
        self.assertEqual(answers.weight(e), 1)

    def test_recorded(self):
        # db-srv: db-1 (passing) weighs 10, db-2 (warning) 3.
        self.assertEqual([answers.weight(e) for e in SERVICES["db"]], [10, 3])


# -- service answers ------------------------------------------------------------------------


def service(qname, qtype, entries, settings=SETTINGS):
    lookup = names.parse(qname, qtype == dns.SRV, settings.domains)
    return answers.service_answer(qname.encode(), qtype, lookup, entries, settings, NOW)


class ServiceNotFoundTests(SynchronousTestCase):
    def assertNXDomain(self, answer, soa=SOA_LINE):
        self.assertEqual(answer.rcode, dns.ENAME)
        self.assertEqual(answer.items, [])
        self.assertEqual(lines(answer.authority), [soa])
        self.assertTrue(answer.holds_serial)

    def test_unknown_service(self):
        self.assertNXDomain(service("nosuch.service.consul", dns.A, None))

    def test_no_instances(self):
        self.assertNXDomain(service("web.service.consul", dns.A, []))

    def test_no_healthy_instance(self):
        self.assertNXDomain(service("cache.service.consul", dns.A, SERVICES["cache"]))
        self.assertNXDomain(service("local-crit.service.consul", dns.SRV, SERVICES["local-crit"]))

    def test_only_passing(self):
        settings = Settings(datacenter="dc1", only_passing=True)
        self.assertNXDomain(service("local-warn.service.consul", dns.A, SERVICES["local-warn"], settings))
        got = service("web.service.consul", dns.A, SERVICES["web"], settings)
        self.assertEqual(lines(got.answers), ["web.service.consul. 0 IN A 10.0.1.1"])

    def test_no_instance_with_the_tag(self):
        self.assertNXDomain(service("v3.web.service.consul", dns.A, SERVICES["web"]))
        self.assertNXDomain(service("a.b.web.service.consul", dns.A, SERVICES["web"]))

    def test_dotted_tag_matches(self):
        web = [entry(node("n1", "10.0.0.1"), "web", 80, tags=["a.b"])]
        self.assertEqual(lines(service("a.b.web.service.consul", dns.A, web).answers),
                         ["a.b.web.service.consul. 0 IN A 10.0.0.1"])

    def test_alt_domain_soa(self):
        answer = service("nosuch.service.alt.example", dns.A, None, ALT_SETTINGS)
        self.assertNXDomain(answer, "alt.example. 0 IN SOA ns.alt.example. hostmaster.alt.example. %d 3600 600 86400 0"
                            % NOW)

    def test_soa_settings(self):
        settings = Settings(datacenter="dc1", soa=SOA(refresh=10, retry=20, expire=30, minimum=40))
        answer = service("nosuch.service.consul", dns.A, None, settings)
        self.assertEqual(lines(answer.authority),
                         ["consul. 40 IN SOA ns.consul. hostmaster.consul. %d 10 20 30 40" % NOW])


class ServiceNoDataTests(SynchronousTestCase):
    """A known name without records of the type: NOERROR with the SOA."""

    def assertNoData(self, answer):
        self.assertEqual(answer.rcode, dns.OK)
        self.assertEqual(answer.items, [])
        self.assertEqual(lines(answer.authority), [SOA_LINE])
        self.assertTrue(answer.holds_serial)

    def test_aaaa_of_ipv4_only(self):
        self.assertNoData(service("db.service.consul", dns.AAAA, SERVICES["db"]))

    def test_a_of_ipv6_only(self):
        self.assertNoData(service("v2.web.service.consul", dns.A, SERVICES["web"]))

    def test_mx(self):
        self.assertNoData(service("web.service.consul", dns.MX, SERVICES["web"]))

    def test_txt(self):
        self.assertNoData(service("web.service.consul", dns.TXT, SERVICES["web"]))


class ServiceAddressTests(SynchronousTestCase):
    def test_a(self):
        got = service("web.service.consul", dns.A, SERVICES["web"])
        self.assertEqual(got.rcode, dns.OK)
        self.assertEqual(lines(got.answers), ["web.service.consul. 0 IN A 10.0.1.1",
                                              "web.service.consul. 0 IN A 10.0.1.2"])
        self.assertEqual((got.authority, additional(got)), ([], []))
        self.assertTrue(got.shuffle)
        self.assertTrue(got.trim)

    def test_any_has_both_families(self):
        got = service("web.service.consul", dns.ALL_RECORDS, SERVICES["web"])
        self.assertEqual(lines(got.answers), ["web.service.consul. 0 IN A 10.0.1.1",
                                              "web.service.consul. 0 IN A 10.0.1.2",
                                              "web.service.consul. 0 IN AAAA 2001:db8::6"])

    def test_service_address_first(self):
        got = service("db.service.consul", dns.A, SERVICES["db"])
        self.assertEqual(lines(got.answers), ["db.service.consul. 0 IN A 10.0.2.100",
                                              "db.service.consul. 0 IN A 10.0.2.2"])

    def test_owner_is_the_question(self):
        got = service("WEB.Service.Consul", dns.A, SERVICES["web"])
        self.assertEqual({rr.name.name for rr in got.answers}, {b"WEB.Service.Consul"})

    def test_tag_case_insensitive(self):
        billing = SERVICES["billing-api-v2"]
        for qname in ("canary.billing-api-v2.service.consul", "CANARY.billing-api-v2.service.consul"):
            got = service(qname, dns.A, billing)
            self.assertEqual([rr.payload.dottedQuad() for rr in got.answers], ["10.0.6.1"], qname)
        lower_tag = [entry(node("n1", "10.0.0.1"), "web", 80, tags=["blue"])]
        self.assertEqual(len(service("BLUE.web.service.consul", dns.A, lower_tag).answers), 1)

    def test_dedup_by_address(self):
        shared = node("n1", "10.0.0.1")
        entries = [
            entry(shared, "web", 80, "web-a"),
            entry(shared, "web", 81, "web-b"),
            entry(node("n2", "10.0.0.2"), "web", 80, address="10.0.0.1"),
            entry(node("n3", "10.0.0.3"), "web", 80),
        ]
        got = service("web.service.consul", dns.A, entries)
        self.assertEqual(lines(got.answers), ["web.service.consul. 0 IN A 10.0.0.1",
                                              "web.service.consul. 0 IN A 10.0.0.3"])

    def test_recorded_multi(self):
        got = service("multi.service.consul", dns.A, SERVICES["multi"])
        self.assertEqual(lines(got.answers), ["multi.service.consul. 0 IN A 10.0.9.1"])

    def test_a_record_limit(self):
        self.assertEqual(service("big.service.consul", dns.A, SERVICES["big"]).limit, 0)
        settings = Settings(datacenter="dc1", a_record_limit=2)
        got = service("big.service.consul", dns.A, SERVICES["big"], settings)
        self.assertEqual((len(got.items), got.limit), (40, 2))

    def test_ttl(self):
        settings = Settings(datacenter="dc1", service_ttl={"web": 30, "*": 5})
        got = service("web.service.consul", dns.A, SERVICES["web"], settings)
        self.assertEqual({rr.ttl for rr in got.answers}, {30})
        got = service("db.service.consul", dns.A, SERVICES["db"], settings)
        self.assertEqual({rr.ttl for rr in got.answers}, {5})


class ServiceCNAMETests(SynchronousTestCase):
    def test_host_name_alone(self):
        got = service("ext.service.consul", dns.A, SERVICES["ext"])
        self.assertEqual(lines(got.answers), ["ext.service.consul. 0 IN CNAME ext-svc.example.net."])
        self.assertEqual(got.limit, 1)

    def test_node_host_name(self):
        got = service("ext-plain.service.consul", dns.AAAA, SERVICES["ext-plain"])
        self.assertEqual(lines(got.answers), ["ext-plain.service.consul. 0 IN CNAME ext-host.example.org."])

    def test_ip_answers_win(self):
        entries = [
            entry(node("h1", "10.0.0.1"), "web", 80, address="one.example.net"),
            entry(node("i1", "10.0.0.2"), "web", 80),
        ]
        got = service("web.service.consul", dns.A, entries)
        self.assertEqual(lines(got.answers), ["web.service.consul. 0 IN A 10.0.0.2"])
        self.assertEqual(got.limit, 0)

    def test_ip_of_another_family_does_not_count(self):
        entries = [
            entry(node("h1", "10.0.0.1"), "web", 80, address="one.example.net"),
            entry(node("i1", "10.0.0.2"), "web", 80),
        ]
        got = service("web.service.consul", dns.AAAA, entries)
        self.assertEqual(lines(got.answers), ["web.service.consul. 0 IN CNAME one.example.net."])

    def test_one_cname_of_several(self):
        entries = [
            entry(node("h1", "10.0.0.1"), "web", 80, address="one.example.net"),
            entry(node("h2", "10.0.0.2"), "web", 80, address="two.example.net"),
            entry(node("h3", "10.0.0.3"), "web", 80, address="one.example.net"),
        ]
        got = service("web.service.consul", dns.A, entries, Settings(datacenter="dc1", a_record_limit=5))
        self.assertEqual(lines(got.answers), ["web.service.consul. 0 IN CNAME one.example.net.",
                                              "web.service.consul. 0 IN CNAME two.example.net."])
        self.assertEqual(got.limit, 1)
        self.assertTrue(got.shuffle)


class ServiceSRVTests(SynchronousTestCase):
    def srv(self, qname, entries, settings=SETTINGS):
        got = service(qname, dns.SRV, entries, settings)
        self.assertEqual(got.rcode, dns.OK)
        return got

    def items(self, answer):
        return sorted((line(item.record), [line(extra) for extra in item.extras]) for item in answer.items)

    def test_node_targets_with_extras(self):
        got = self.srv("v1.web.service.consul", SERVICES["web"])
        self.assertEqual(self.items(got), [
            ("v1.web.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul.",
             ["web-1.node.dc1.consul. 0 IN A 10.0.1.1",
              'web-1.node.dc1.consul. 0 IN TXT "env=prod"',
              'web-1.node.dc1.consul. 0 IN TXT "rack=r1"']),
            ("v1.web.service.consul. 0 IN SRV 1 1 80 web-2.node.dc1.consul.",
             ["web-2.node.dc1.consul. 0 IN A 10.0.1.2",
              'web-2.node.dc1.consul. 0 IN TXT "rack=r2"']),
        ])
        self.assertTrue(got.shuffle)
        self.assertTrue(got.trim)
        self.assertEqual(got.limit, 0)

    def test_service_address_target(self):
        got = self.srv("db.service.consul", SERVICES["db"])
        self.assertEqual(self.items(got), [
            ("db.service.consul. 0 IN SRV 1 10 5432 0a000264.addr.dc1.consul.",
             ["0a000264.addr.dc1.consul. 0 IN A 10.0.2.100",
              'db-1.node.dc1.consul. 0 IN TXT "role=db"']),
            ("db.service.consul. 0 IN SRV 1 3 5432 db-2.node.dc1.consul.",
             ["db-2.node.dc1.consul. 0 IN A 10.0.2.2"]),
        ])

    def test_ipv6_service_address_target(self):
        entries = [entry(node("n1", "10.0.0.1"), "web", 80, address="2001:db8::6")]
        got = self.srv("web.service.consul", entries)
        self.assertEqual(self.items(got), [
            ("web.service.consul. 0 IN SRV 1 1 80 20010db8000000000000000000000006.addr.dc1.consul.",
             ["20010db8000000000000000000000006.addr.dc1.consul. 0 IN AAAA 2001:db8::6"]),
        ])

    def test_service_address_of_the_node(self):
        entries = [entry(node("n1", "10.0.0.1", {"k": "v"}), "web", 80, address="10.0.0.1")]
        got = self.srv("web.service.consul", entries)
        self.assertEqual(self.items(got), [
            ("web.service.consul. 0 IN SRV 1 1 80 n1.node.dc1.consul.",
             ["n1.node.dc1.consul. 0 IN A 10.0.0.1", 'n1.node.dc1.consul. 0 IN TXT "k=v"']),
        ])

    def test_host_name_target(self):
        got = self.srv("ext.service.consul", SERVICES["ext"])
        self.assertEqual(self.items(got), [("ext.service.consul. 0 IN SRV 1 1 443 ext-svc.example.net.", [])])

    def test_extras_order(self):
        # The address record first, then the node's meta.
        [item] = self.srv("primary.web.service.consul", SERVICES["web"]).items
        self.assertEqual([extra.type for extra in item.extras], [dns.A, dns.TXT, dns.TXT])

    def test_without_node_meta_txt(self):
        settings = Settings(datacenter="dc1", node_meta_txt=False)
        got = self.srv("db.service.consul", SERVICES["db"], settings)
        self.assertEqual(self.items(got), [
            ("db.service.consul. 0 IN SRV 1 10 5432 0a000264.addr.dc1.consul.",
             ["0a000264.addr.dc1.consul. 0 IN A 10.0.2.100"]),
            ("db.service.consul. 0 IN SRV 1 3 5432 db-2.node.dc1.consul.",
             ["db-2.node.dc1.consul. 0 IN A 10.0.2.2"]),
        ])

    def test_dedup_by_node_address_and_port(self):
        n1 = node("n1", "10.0.0.1")
        entries = [
            entry(n1, "web", 80, "web-a"),
            entry(n1, "web", 80, "web-b"),  # same node, address and port: once
            entry(n1, "web", 81, "web-c"),  # another port
            entry(n1, "web", 80, "web-d", address="10.0.0.9"),  # another service address
            entry(node("n2", "10.0.0.2"), "web", 80),  # another node
        ]
        got = self.srv("web.service.consul", entries)
        self.assertEqual([line(item.record) for item in got.items], [
            "web.service.consul. 0 IN SRV 1 1 80 n1.node.dc1.consul.",
            "web.service.consul. 0 IN SRV 1 1 81 n1.node.dc1.consul.",
            "web.service.consul. 0 IN SRV 1 1 80 0a000009.addr.dc1.consul.",
            "web.service.consul. 0 IN SRV 1 1 80 n2.node.dc1.consul.",
        ])

    def test_recorded_multi(self):
        got = self.srv("multi.service.consul", SERVICES["multi"])
        self.assertEqual(self.items(got), [
            ("multi.service.consul. 0 IN SRV 1 1 1000 multi-1.node.dc1.consul.",
             ["multi-1.node.dc1.consul. 0 IN A 10.0.9.1"]),
            ("multi.service.consul. 0 IN SRV 1 1 1001 multi-1.node.dc1.consul.",
             ["multi-1.node.dc1.consul. 0 IN A 10.0.9.1"]),
        ])

    def test_weights(self):
        got = self.srv("_db._tcp.service.consul", SERVICES["db"])
        self.assertEqual(sorted(item.record.payload.weight for item in got.items), [3, 10])

    def test_node_name_case_kept(self):
        got = self.srv("canary.billing-api-v2.service.consul", SERVICES["billing-api-v2"])
        [item] = got.items
        self.assertEqual(item.record.payload.target.name, b"Billing-Node.node.dc1.consul")
        self.assertEqual(item.extras[0].name.name, b"Billing-Node.node.dc1.consul")

    def test_datacenter_in_targets(self):
        got = self.srv("db.service.dc1.consul", SERVICES["db"])
        self.assertEqual(sorted(str(item.record.payload.target) for item in got.items),
                         ["0a000264.addr.dc1.consul", "db-2.node.dc1.consul"])
        got = self.srv("db.service.consul", SERVICES["db"], Settings(datacenter="east"))
        self.assertEqual(sorted(str(item.record.payload.target) for item in got.items),
                         ["0a000264.addr.east.consul", "db-2.node.east.consul"])

    def test_alt_domain_targets(self):
        got = self.srv("v1.web.service.alt.example", SERVICES["web"], ALT_SETTINGS)
        self.assertEqual(sorted(str(item.record.payload.target) for item in got.items),
                         ["web-1.node.dc1.alt.example", "web-2.node.dc1.alt.example"])
        self.assertEqual(sorted(str(extra.name) for item in got.items for extra in item.extras), [
            "web-1.node.dc1.alt.example", "web-1.node.dc1.alt.example", "web-1.node.dc1.alt.example",
            "web-2.node.dc1.alt.example", "web-2.node.dc1.alt.example"])

    def test_main_domain_targets_with_alt_configured(self):
        got = self.srv("primary.web.service.consul", SERVICES["web"], ALT_SETTINGS)
        self.assertEqual([str(item.record.payload.target) for item in got.items], ["web-1.node.dc1.consul"])

    def test_ttl(self):
        settings = Settings(datacenter="dc1", service_ttl={"db": 20}, node_ttl=99)
        got = self.srv("db.service.consul", SERVICES["db"], settings)
        ttls = {rr.ttl for item in got.items for rr in (item.record,) + tuple(item.extras)}
        self.assertEqual(ttls, {20})


# -- node answers -----------------------------------------------------------------------------


def node_lookup(qname, qtype, record, settings=SETTINGS):
    lookup = names.parse(qname, qtype == dns.SRV, settings.domains)
    return answers.node_answer(qname.encode(), qtype, lookup, record, settings, NOW)


class NodeAnswerTests(SynchronousTestCase):
    WEB1 = N["web-1"]

    def sections(self, answer):
        return lines(answer.answers), lines(answer.additional), lines(answer.authority)

    def test_unknown(self):
        got = node_lookup("nosuch.node.consul", dns.A, None)
        self.assertEqual(got.rcode, dns.ENAME)
        self.assertEqual(lines(got.authority), [SOA_LINE])

    def test_a(self):
        got = node_lookup("web-1.node.consul", dns.A, self.WEB1)
        self.assertEqual(got.rcode, dns.OK)
        self.assertEqual(self.sections(got), (["web-1.node.consul. 0 IN A 10.0.1.1"],
                                              ['web-1.node.consul. 0 IN TXT "env=prod"',
                                               'web-1.node.consul. 0 IN TXT "rack=r1"'], []))
        self.assertTrue(got.trim)

    def test_a_without_node_meta_txt(self):
        got = node_lookup("web-1.node.consul", dns.A, self.WEB1, Settings(datacenter="dc1", node_meta_txt=False))
        self.assertEqual(self.sections(got), (["web-1.node.consul. 0 IN A 10.0.1.1"], [], []))

    def test_aaaa_of_ipv4_node(self):
        # Recorded as node-web1-aaaa: nothing in the answer, the meta still
        # additional, and no SOA.
        got = node_lookup("web-1.node.consul", dns.AAAA, self.WEB1)
        self.assertEqual(got.rcode, dns.OK)
        self.assertEqual(self.sections(got), ([], ['web-1.node.consul. 0 IN TXT "env=prod"',
                                                   'web-1.node.consul. 0 IN TXT "rack=r1"'], []))

    def test_any(self):
        got = node_lookup("db-1.node.consul", dns.ALL_RECORDS, N["db-1"])
        self.assertEqual(self.sections(got), (["db-1.node.consul. 0 IN A 10.0.2.1",
                                               'db-1.node.consul. 0 IN TXT "role=db"'], [], []))

    def test_txt(self):
        for settings in (SETTINGS, Settings(datacenter="dc1", node_meta_txt=False)):
            got = node_lookup("web-1.node.dc1.consul", dns.TXT, self.WEB1, settings)
            self.assertEqual(self.sections(got), (['web-1.node.dc1.consul. 0 IN TXT "env=prod"',
                                                   'web-1.node.dc1.consul. 0 IN TXT "rack=r1"'], [], []))

    def test_txt_without_meta(self):
        got = node_lookup("web-3.node.consul", dns.TXT, N["web-3"])
        self.assertEqual((got.rcode, self.sections(got)), (dns.OK, ([], [], [])))

    def test_srv_and_mx(self):
        for qtype in (dns.SRV, dns.MX):
            got = node_lookup("web-1.node.consul", qtype, self.WEB1)
            self.assertEqual((got.rcode, self.sections(got)), (dns.OK, ([], [], [])), qtype)

    def test_ipv6_node(self):
        web6 = N["web-6"]
        self.assertEqual(self.sections(node_lookup("web-6.node.consul", dns.AAAA, web6)),
                         (["web-6.node.consul. 0 IN AAAA 2001:db8::6"], [], []))
        self.assertEqual(self.sections(node_lookup("web-6.node.consul", dns.A, web6)), ([], [], []))
        self.assertEqual(self.sections(node_lookup("web-6.node.consul", dns.ALL_RECORDS, web6)),
                         (["web-6.node.consul. 0 IN AAAA 2001:db8::6"], [], []))

    def test_host_name_node(self):
        for qtype in (dns.A, dns.AAAA, dns.ALL_RECORDS):
            got = node_lookup("ext-1.node.consul", qtype, N["ext-1"])
            self.assertEqual(self.sections(got), (["ext-1.node.consul. 0 IN CNAME ext-host.example.org."], [], []))

    def test_host_name_node_txt(self):
        # Consul 1.10 builds the node's CNAME for a TXT question too
        # (formatNodeRecord: ip == nil and qType TXT), then adds the meta.
        record = node("ext-2", "ext-host.example.org", {"k": "v"})
        got = node_lookup("ext-2.node.consul", dns.TXT, record)
        self.assertEqual(self.sections(got), (["ext-2.node.consul. 0 IN CNAME ext-host.example.org.",
                                               'ext-2.node.consul. 0 IN TXT "k=v"'], [], []))

    def test_node_ttl(self):
        settings = Settings(datacenter="dc1", node_ttl=15, service_ttl={"*": 99})
        got = node_lookup("web-1.node.consul", dns.A, self.WEB1, settings)
        self.assertEqual({rr.ttl for rr in got.answers + got.additional}, {15})

    def test_owner_is_the_question(self):
        got = node_lookup("BILLING-NODE.NODE.CONSUL", dns.TXT, N["Billing-Node"])
        self.assertEqual(lines(got.answers), ['BILLING-NODE.NODE.CONSUL. 0 IN TXT "team=payments"'])


class AddrAnswerTests(SynchronousTestCase):
    def addr(self, qname, settings=SETTINGS):
        lookup = names.parse(qname, False, settings.domains)
        return answers.addr_answer(qname.encode(), lookup, settings)

    def test_ipv4(self):
        got = self.addr("0a000101.addr.dc1.consul")
        self.assertEqual((got.rcode, lines(got.answers)), (dns.OK, ["0a000101.addr.dc1.consul. 0 IN A 10.0.1.1"]))
        self.assertEqual((got.authority, got.additional), ([], []))

    def test_ipv6(self):
        got = self.addr("20010db8000000000000000000000006.addr.consul")
        self.assertEqual(lines(got.answers), ["20010db8000000000000000000000006.addr.consul. 0 IN AAAA 2001:db8::6"])

    def test_no_address(self):
        got = self.addr("0a0001.addr.dc1.consul")
        self.assertEqual((got.rcode, got.items, got.authority, got.additional), (dns.OK, [], [], []))

    def test_node_ttl(self):
        got = self.addr("0a000101.addr.consul", Settings(datacenter="dc1", node_ttl=8))
        self.assertEqual([rr.ttl for rr in got.answers], [8])

    def test_owner_is_the_question(self):
        got = self.addr("0A000101.ADDR.Consul")
        self.assertEqual([rr.name.name for rr in got.answers], [b"0A000101.ADDR.Consul"])


# -- the domain's own records ---------------------------------------------------------------


def server(name, address, status="passing", datacenter="dc1"):
    return entry(node(name, address, datacenter=datacenter), "consul", 8300,
                 checks=[check(status, check_id="serfHealth")])


class ApexAnswerTests(SynchronousTestCase):
    def test_soa(self):
        got = answers.apex_answer("consul", dns.SOA, SERVICES["consul"], SETTINGS, NOW)
        self.assertEqual(got.rcode, dns.OK)
        self.assertEqual(lines(got.answers), [SOA_LINE])
        self.assertEqual(lines(got.authority), ["consul. 0 IN NS s1.node.dc1.consul."])
        self.assertEqual(lines(additional(got)), ["s1.node.dc1.consul. 0 IN A %s" % AGENT_IP])
        self.assertTrue(got.holds_serial)

    def test_ns(self):
        got = answers.apex_answer("web.service.consul", dns.NS, SERVICES["consul"], SETTINGS, NOW)
        self.assertEqual(lines(got.answers), ["consul. 0 IN NS s1.node.dc1.consul."])
        self.assertEqual(got.authority, [])
        self.assertEqual(lines(additional(got)), ["s1.node.dc1.consul. 0 IN A %s" % AGENT_IP])

    def test_no_servers(self):
        got = answers.apex_answer("consul", dns.SOA, [], SETTINGS, NOW)
        self.assertEqual((lines(got.answers), got.authority, additional(got)), ([SOA_LINE], [], []))

    def test_alt_domain(self):
        got = answers.apex_answer("web.service.alt.example", dns.SOA, SERVICES["consul"], ALT_SETTINGS, NOW)
        self.assertEqual(lines(got.answers), [
            "alt.example. 0 IN SOA ns.alt.example. hostmaster.alt.example. %d 3600 600 86400 0" % NOW])
        self.assertEqual(lines(got.authority), ["alt.example. 0 IN NS s1.node.dc1.alt.example."])
        self.assertEqual(lines(additional(got)), ["s1.node.dc1.alt.example. 0 IN A %s" % AGENT_IP])

    def test_alt_domain_any_case(self):
        got = answers.apex_answer("ALT.EXAMPLE", dns.NS, SERVICES["consul"], ALT_SETTINGS, NOW)
        self.assertEqual(lines(got.answers), ["alt.example. 0 IN NS s1.node.dc1.alt.example."])

    def test_main_domain_with_alt_configured(self):
        got = answers.apex_answer("consul", dns.NS, SERVICES["consul"], ALT_SETTINGS, NOW)
        self.assertEqual(lines(got.answers), ["consul. 0 IN NS s1.node.dc1.consul."])


class NameserversTests(SynchronousTestCase):
    def ns(self, entries, settings=SETTINGS, domain="consul."):
        ns, glue = answers.nameservers(domain, entries, settings)
        return lines(ns), lines(glue)

    def test_healthy_servers(self):
        entries = [server("s1", "10.0.0.1"), server("s2", "10.0.0.2", "warning"), server("s3", "10.0.0.3", "critical")]
        self.assertEqual(self.ns(entries), (
            ["consul. 0 IN NS s1.node.dc1.consul.", "consul. 0 IN NS s2.node.dc1.consul."],
            ["s1.node.dc1.consul. 0 IN A 10.0.0.1", "s2.node.dc1.consul. 0 IN A 10.0.0.2"]))

    def test_only_passing(self):
        # Consul's nameservers() reads the servers through lookupServiceNodes,
        # which filters with dns_config.only_passing like any service lookup.
        entries = [server("s1", "10.0.0.1"), server("s2", "10.0.0.2", "warning")]
        self.assertEqual(self.ns(entries, Settings(datacenter="dc1", only_passing=True)), (
            ["consul. 0 IN NS s1.node.dc1.consul."], ["s1.node.dc1.consul. 0 IN A 10.0.0.1"]))

    def test_at_most_three(self):
        entries = [server("s%d" % i, "10.0.0.%d" % i) for i in range(1, 6)]
        ns, glue = answers.nameservers("consul.", entries, SETTINGS)
        self.assertEqual((len(ns), len(glue)), (3, 3))
        targets = {str(rr.payload.name) for rr in ns}
        self.assertEqual(targets, {str(rr.name) for rr in glue})
        self.assertTrue(targets <= {"s%d.node.dc1.consul" % i for i in range(1, 6)})

    def test_lower_case_names(self):
        self.assertEqual(self.ns([server("Server-One", "10.0.0.1", datacenter="DC1")]), (
            ["consul. 0 IN NS server-one.node.dc1.consul."], ["server-one.node.dc1.consul. 0 IN A 10.0.0.1"]))

    def test_ipv6_glue(self):
        self.assertEqual(self.ns([server("s1", "2001:db8::1")])[1], ["s1.node.dc1.consul. 0 IN AAAA 2001:db8::1"])

    def test_servers_datacenter(self):
        self.assertEqual(self.ns([server("s1", "10.0.0.1", datacenter="east")])[0],
                         ["consul. 0 IN NS s1.node.east.consul."])

    def test_invalid_node_names_skipped(self):
        # Consul skips a server whose name is no DNS label
        # (InvalidDnsRe, "Skipping invalid node ... for NS records").
        entries = [server("bad_name", "10.0.0.1"), server("s2", "10.0.0.2")]
        self.assertEqual(self.ns(entries), (["consul. 0 IN NS s2.node.dc1.consul."],
                                            ["s2.node.dc1.consul. 0 IN A 10.0.0.2"]))

    def test_node_ttl(self):
        ns, glue = answers.nameservers("consul.", [server("s1", "10.0.0.1")], Settings(datacenter="dc1", node_ttl=9))
        self.assertEqual([rr.ttl for rr in ns + glue], [9, 9])


class ReverseAnswerTests(SynchronousTestCase):
    QNAME = b"1.1.0.10.in-addr.arpa"

    def test_node(self):
        got = answers.reverse_answer(self.QNAME, "10.0.1.1", NODES, (), SETTINGS)
        self.assertEqual(lines(got.answers), ["1.1.0.10.in-addr.arpa. 0 IN PTR web-1.node.dc1.consul."])
        self.assertEqual(got.rcode, dns.OK)

    def test_first_node_with_the_address(self):
        nodes = [node("a", "10.0.0.1"), node("b", "10.0.0.1")]
        got = answers.reverse_answer(b"1.0.0.10.in-addr.arpa", "10.0.0.1", nodes, (), SETTINGS)
        self.assertEqual(lines(got.answers), ["1.0.0.10.in-addr.arpa. 0 IN PTR a.node.dc1.consul."])

    def test_service_address(self):
        got = answers.reverse_answer(b"100.2.0.10.in-addr.arpa", "10.0.2.100", NODES,
                                     service_nodes_at("10.0.2.100"), SETTINGS)
        self.assertEqual(lines(got.answers), ["100.2.0.10.in-addr.arpa. 0 IN PTR db.service.dc1.consul."])

    def test_node_before_service(self):
        instances = [{"ServiceName": "web", "ServiceAddress": "10.0.1.1", "Datacenter": "dc1"}]
        got = answers.reverse_answer(self.QNAME, "10.0.1.1", NODES, instances, SETTINGS)
        self.assertEqual(lines(got.answers), ["1.1.0.10.in-addr.arpa. 0 IN PTR web-1.node.dc1.consul."])

    def test_none(self):
        self.assertIsNone(answers.reverse_answer(b"99.99.99.10.in-addr.arpa", "10.99.99.99", NODES,
                                                 service_nodes_at("10.99.99.99"), SETTINGS))

    def test_ipv6(self):
        qname = b"6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        got = answers.reverse_answer(qname, "2001:db8::6", NODES, (), SETTINGS)
        self.assertEqual([str(rr.payload.name) for rr in got.answers], ["web-6.node.dc1.consul"])

    def test_node_datacenter(self):
        got = answers.reverse_answer(b"1.0.0.10.in-addr.arpa", "10.0.0.1", [node("a", "10.0.0.1", datacenter="east")],
                                     (), SETTINGS)
        self.assertEqual([str(rr.payload.name) for rr in got.answers], ["a.node.east.consul"])

    def test_main_domain_even_with_alt(self):
        got = answers.reverse_answer(self.QNAME, "10.0.1.1", NODES, (), ALT_SETTINGS)
        self.assertEqual([str(rr.payload.name) for rr in got.answers], ["web-1.node.dc1.consul"])

    # Consul's handlePtr writes its PTR records with Ttl: 0, whatever
    # node_ttl and service_ttl say.
    TTLS = Settings(datacenter="dc1", node_ttl=30, service_ttl={"db": 20})

    def test_node_ptr_ttl_is_zero(self):
        got = answers.reverse_answer(self.QNAME, "10.0.1.1", NODES, (), self.TTLS)
        self.assertEqual([rr.ttl for rr in got.answers], [0])

    def test_service_ptr_ttl_is_zero(self):
        got = answers.reverse_answer(b"100.2.0.10.in-addr.arpa", "10.0.2.100", (), service_nodes_at("10.0.2.100"),
                                     self.TTLS)
        self.assertEqual([rr.ttl for rr in got.answers], [0])


class OtherAnswerTests(SynchronousTestCase):
    def test_nxdomain(self):
        got = answers.nxdomain("consul.", SETTINGS, NOW + 0.75)
        self.assertEqual((got.rcode, got.items, lines(got.authority)), (dns.ENAME, [], [SOA_LINE]))
        self.assertTrue(got.holds_serial)
        self.assertTrue(got.authoritative)

    def test_nxdomain_alt(self):
        got = answers.nxdomain("alt.example.", ALT_SETTINGS, NOW)
        self.assertEqual([str(rr.name) for rr in got.authority], ["alt.example"])

    def test_no_records(self):
        got = answers.no_records("consul.", SETTINGS, NOW)
        self.assertEqual((got.rcode, got.items, lines(got.authority)), (dns.OK, [], [SOA_LINE]))

    def test_refused(self):
        got = answers.refused()
        self.assertEqual((got.rcode, got.authoritative, got.items, got.authority), (dns.EREFUSED, False, [], []))

    def test_server_failure(self):
        got = answers.server_failure()
        self.assertEqual((got.rcode, got.authoritative, got.recursion_available), (dns.ESERVER, False, True))

    def test_response_domain(self):
        self.assertEqual(answers.response_domain("web.service.consul", ALT_SETTINGS), "consul.")
        self.assertEqual(answers.response_domain("web.service.alt.example", ALT_SETTINGS), "alt.example.")
        self.assertEqual(answers.response_domain("WEB.SERVICE.ALT.EXAMPLE", ALT_SETTINGS), "alt.example.")
        self.assertEqual(answers.response_domain("web.service.alt.example", SETTINGS), "consul.")
