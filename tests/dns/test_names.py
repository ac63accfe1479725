"""names.parse: a question's name read as Consul 1.10 reads it.

The expected lookups follow Consul's ``agent/dns.go`` ``dispatch`` (the
right-most kind label wins; the labels left of it say what to look up; at
most one label right of it, the datacenter) and the recorded answers in
``tests/data/consul-dns/vectors.json``.
"""

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.dns import names
from pyconsul.dns.names import Addr, Invalid, Node, Outside, PreparedQuery, Reverse, Service, Unsupported
from tests.vectors.dns import load_dns_vectors, qtype_code

D = "consul."
ALT = "alt.example."
DOMAINS = (D,)
BOTH = (D, ALT)

IP6_NIBBLES = "6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"


class TableCase(SynchronousTestCase):
    """Checks (name, srv_question, expected) rows with the domains given."""

    domains = DOMAINS

    def check(self, rows, domains=None):
        for name, srv, expected in rows:
            got = names.parse(name, srv, domains or self.domains)
            self.assertEqual(got, expected, "parse(%r, srv=%r)" % (name, srv))


class ServiceNameTests(TableCase):
    def test_plain(self):
        self.check([
            ("web.service.consul", False, Service(D, "web", "", None)),
            ("web.service.consul", True, Service(D, "web", "", None)),
        ])

    def test_datacenter(self):
        self.check([
            ("web.service.dc1.consul", False, Service(D, "web", "", "dc1")),
            ("v1.web.service.dc2.consul", True, Service(D, "web", "v1", "dc2")),
        ])

    def test_dc_label_is_not_in_consul_1_10(self):
        # Consul 1.10 (OSS parseDatacenterAndEnterpriseMeta) takes zero or
        # one label after the kind; the explicit "<dc>.dc" form came later,
        # so two labels there name no datacenter: NXDOMAIN.
        self.check([
            ("web.service.dc1.dc.consul", False, Invalid(D)),
            ("web-1.node.dc1.dc.consul", False, Invalid(D)),
        ])

    def test_tag(self):
        self.check([
            ("v1.web.service.consul", False, Service(D, "web", "v1", None)),
            ("primary.web.service.dc1.consul", True, Service(D, "web", "primary", "dc1")),
        ])

    def test_dotted_tag(self):
        # Every label left of the service name is the tag, joined by dots.
        self.check([
            ("a.b.web.service.consul", False, Service(D, "web", "a.b", None)),
            ("a.b.c.web.service.dc1.consul", False, Service(D, "web", "a.b.c", "dc1")),
        ])

    def test_rfc2782_tag(self):
        self.check([
            ("_web._v1.service.consul", True, Service(D, "web", "v1", None)),
            ("_web._v1.service.consul", False, Service(D, "web", "v1", None)),
            ("_web._udp.service.consul", True, Service(D, "web", "udp", None)),
        ])

    def test_rfc2782_tcp_is_any_tag(self):
        self.check([
            ("_web._tcp.service.consul", True, Service(D, "web", "", None)),
            ("_web._tcp.service.dc1.consul", True, Service(D, "web", "", "dc1")),
            ("_web._tcp.service.consul", False, Service(D, "web", "", None)),
        ])

    def test_service_label_optional_for_srv(self):
        self.check([
            ("_web._tcp.consul", True, Service(D, "web", "", None)),
            ("_web._tcp.dc1.consul", True, Service(D, "web", "", "dc1")),
            ("_web._v1.dc1.consul", True, Service(D, "web", "v1", "dc1")),
        ])

    def test_service_label_required_otherwise(self):
        self.check([
            ("_web._tcp.consul", False, Invalid(D)),
            ("_web._tcp.dc1.consul", False, Invalid(D)),
        ])

    def test_srv_optional_label_too_many_dc_labels(self):
        self.check([("_web._tcp.dc1.extra.consul", True, Invalid(D))])

    def test_one_underscore_is_not_rfc2782(self):
        # Recorded as rfc2782-one-underscore: NXDOMAIN, no service "tcp".
        self.check([
            ("_web.tcp.service.consul", True, Service(D, "tcp", "_web", None)),
            ("web._tcp.service.consul", True, Service(D, "_tcp", "web", None)),
        ])

    def test_three_underscored_labels(self):
        # Only exactly two labels make the RFC 2782 form.
        self.check([("_a._b._c.service.consul", True, Service(D, "_c", "_a._b", None))])

    def test_case(self):
        self.check([
            ("WEB.SERVICE.CONSUL", False, Service(D, "web", "", None)),
            ("Web.Service.Consul", True, Service(D, "web", "", None)),
            ("web.service.DC1.consul", False, Service(D, "web", "", "dc1")),
            ("CANARY.Billing-Api-V2.service.consul", True, Service(D, "billing-api-v2", "canary", None)),
            ("_WEB._TCP.service.consul", True, Service(D, "web", "", None)),
        ])

    def test_kind_label_alone(self):
        self.check([
            ("service.consul", False, Invalid(D)),
            ("service.consul", True, Invalid(D)),
            ("service.dc1.consul", False, Invalid(D)),
        ])

    def test_too_many_datacenter_labels(self):
        self.check([
            ("web.service.dc1.extra.consul", False, Invalid(D)),
            ("web.service.a.b.c.consul", False, Invalid(D)),
        ])

    def test_right_most_kind_wins(self):
        self.check([
            ("x.node.web.service.consul", False, Service(D, "web", "x.node", None)),
            ("web.service.node.consul", False, Node(D, "web.service", None)),
        ])


class NodeNameTests(TableCase):
    def test_plain(self):
        self.check([
            ("web-1.node.consul", False, Node(D, "web-1", None)),
            ("web-1.node.dc1.consul", True, Node(D, "web-1", "dc1")),
        ])

    def test_dotted_node_name(self):
        self.check([
            ("x.web-1.node.consul", False, Node(D, "x.web-1", None)),
            ("a.b.c.node.dc1.consul", False, Node(D, "a.b.c", "dc1")),
        ])

    def test_case(self):
        self.check([
            ("BILLING-NODE.NODE.CONSUL", False, Node(D, "billing-node", None)),
            ("Billing-Node.node.DC1.consul", False, Node(D, "billing-node", "dc1")),
        ])

    def test_kind_label_alone(self):
        self.check([("node.consul", False, Invalid(D)), ("node.dc1.consul", False, Invalid(D))])

    def test_too_many_datacenter_labels(self):
        self.check([("web-1.node.dc1.extra.consul", False, Invalid(D))])


class AddrNameTests(TableCase):
    def test_ipv4(self):
        self.check([
            ("0a000101.addr.consul", False, Addr(D, "10.0.1.1")),
            ("0a000101.addr.dc1.consul", False, Addr(D, "10.0.1.1")),
            ("0a000264.addr.dc1.consul", True, Addr(D, "10.0.2.100")),
        ])

    def test_any_datacenter(self):
        # Recorded as addr-other-dc: the address is in the name.
        self.check([("0a000101.addr.dc2.consul", False, Addr(D, "10.0.1.1"))])

    def test_ipv6(self):
        self.check([
            ("20010db8000000000000000000000006.addr.dc1.consul", False, Addr(D, "2001:db8::6")),
            ("00000000000000000000000000000001.addr.consul", False, Addr(D, "::1")),
        ])

    def test_case(self):
        self.check([
            ("0A000101.ADDR.DC1.CONSUL", False, Addr(D, "10.0.1.1")),
            ("20010DB8000000000000000000000006.Addr.consul", False, Addr(D, "2001:db8::6")),
        ])

    def test_neither_4_nor_16_bytes(self):
        # Recorded as addr-short: NOERROR with nothing, no SOA.
        self.check([
            ("0a0001.addr.dc1.consul", False, Addr(D, None)),
            ("0a00.addr.consul", False, Addr(D, None)),
            ("0a00010100.addr.consul", False, Addr(D, None)),
            ("0a00010.addr.consul", False, Addr(D, None)),  # 7 digits: 3 bytes by Consul's count
        ])

    def test_bad_hex(self):
        # Recorded as addr-bad-hex: NXDOMAIN.
        self.check([
            ("zzzzzzzz.addr.dc1.consul", False, Invalid(D)),
            ("0a00010g.addr.consul", False, Invalid(D)),
            ("20010db800000000000000000000000x.addr.consul", False, Invalid(D)),
        ])

    def test_odd_number_of_digits(self):
        # 9 and 33 digits count as 4 and 16 bytes, and then do not decode.
        self.check([
            ("0a0001011.addr.consul", False, Invalid(D)),
            ("20010db80000000000000000000000061.addr.consul", False, Invalid(D)),
        ])

    def test_not_one_label(self):
        self.check([
            ("addr.consul", False, Invalid(D)),
            ("x.0a000101.addr.consul", False, Invalid(D)),
        ])


class QueryNameTests(TableCase):
    def test_plain(self):
        self.check([
            ("x.query.consul", False, PreparedQuery(D, "x", None)),
            ("x.query.dc1.consul", True, PreparedQuery(D, "x", "dc1")),
            ("NoSuchQuery.Query.Consul", False, PreparedQuery(D, "nosuchquery", None)),
        ])

    def test_dotted_query_name(self):
        self.check([("a.b.query.consul", False, PreparedQuery(D, "a.b", None))])

    def test_rfc2782_form_is_not_in_consul_1_10(self):
        # Consul 1.10 joins every label left of "query": "_x._tcp". The
        # RFC 2782 form for prepared queries came with Consul 1.14
        # (hashicorp/consul#14465).
        self.check([
            ("_x._tcp.query.consul", True, PreparedQuery(D, "_x._tcp", None)),
            ("_x._tcp.query.dc1.consul", False, PreparedQuery(D, "_x._tcp", "dc1")),
        ])

    def test_kind_label_alone(self):
        self.check([("query.consul", False, Invalid(D))])

    def test_too_many_datacenter_labels(self):
        self.check([("x.query.dc1.extra.consul", False, Invalid(D))])


class OtherNameTests(TableCase):
    def test_connect_ingress_virtual(self):
        self.check([
            ("web.connect.consul", False, Unsupported(D)),
            ("web.connect.dc1.consul", True, Unsupported(D)),
            ("web.ingress.consul", False, Unsupported(D)),
            ("web.virtual.consul", False, Unsupported(D)),
        ])

    def test_apex(self):
        self.check([
            ("consul", False, Invalid(D)),
            ("CONSUL", True, Invalid(D)),
        ])

    def test_unknown_kind(self):
        self.check([
            ("web.nosuchkind.consul", False, Invalid(D)),
            ("web.nosuchkind.consul", True, Invalid(D)),
            ("dc1.consul", False, Invalid(D)),
        ])

    def test_outside(self):
        self.check([
            ("example.com", False, Outside()),
            ("consul.example", False, Outside()),
            ("notconsul", True, Outside()),
            ("localhost", False, Outside()),
            ("", False, Outside()),
            ("web.service.consulx", False, Outside()),
        ])


class AltDomainTests(TableCase):
    domains = BOTH

    def test_alt_domain(self):
        self.check([
            ("web.service.alt.example", False, Service(ALT, "web", "", None)),
            ("v1.web.service.dc1.alt.example", True, Service(ALT, "web", "v1", "dc1")),
            ("_web._tcp.alt.example", True, Service(ALT, "web", "", None)),
            ("web-1.node.alt.example", False, Node(ALT, "web-1", None)),
            ("0a000101.addr.alt.example", False, Addr(ALT, "10.0.1.1")),
        ])

    def test_alt_domain_case(self):
        self.check([("WEB.SERVICE.ALT.EXAMPLE", False, Service(ALT, "web", "", None))])

    def test_main_domain_still_served(self):
        self.check([("web.service.consul", False, Service(D, "web", "", None))])

    def test_alt_apex(self):
        self.check([("alt.example", False, Invalid(ALT)), ("consul", False, Invalid(D))])

    def test_outside_both(self):
        self.check([
            ("example", False, Outside()),
            ("other.example", False, Outside()),
            ("xalt.example", False, Outside()),
        ])

    def test_alt_domain_needs_configuring(self):
        self.check([("web.service.alt.example", False, Outside())], domains=DOMAINS)


class ReverseNameTests(TableCase):
    def test_in_addr(self):
        self.check([
            ("1.1.0.10.in-addr.arpa", True, Reverse("10.0.1.1")),
            ("100.2.0.10.in-addr.arpa", False, Reverse("10.0.2.100")),
        ])

    def test_any_case(self):
        self.check([("1.1.0.10.IN-ADDR.ARPA", False, Reverse("10.0.1.1"))])

    def test_whatever_the_domains(self):
        self.check([("1.1.0.10.in-addr.arpa", False, Reverse("10.0.1.1"))], domains=BOTH)

    def test_fewer_octets(self):
        self.check([
            ("0.10.in-addr.arpa", False, Reverse(None)),
            ("1.0.10.in-addr.arpa", False, Reverse(None)),
            ("in-addr.arpa", False, Reverse(None)),
            ("arpa", False, Reverse(None)),
        ])

    def test_more_octets(self):
        self.check([("1.1.1.0.10.in-addr.arpa", False, Reverse(None))])

    def test_octet_out_of_range(self):
        self.check([
            ("256.1.0.10.in-addr.arpa", False, Reverse(None)),
            ("1.1.0.300.in-addr.arpa", False, Reverse(None)),
            ("x.1.0.10.in-addr.arpa", False, Reverse(None)),
            ("-1.1.0.10.in-addr.arpa", False, Reverse(None)),
        ])

    def test_ip6(self):
        self.check([
            (IP6_NIBBLES + ".ip6.arpa", False, Reverse("2001:db8::6")),
            (IP6_NIBBLES.upper() + ".IP6.ARPA", False, Reverse("2001:db8::6")),
        ])

    def test_ip6_wrong_nibble_count(self):
        self.check([
            (IP6_NIBBLES[2:] + ".ip6.arpa", False, Reverse(None)),
            ("0." + IP6_NIBBLES + ".ip6.arpa", False, Reverse(None)),
            ("8.b.d.0.1.0.0.2.ip6.arpa", False, Reverse(None)),
            ("ip6.arpa", False, Reverse(None)),
        ])

    def test_ip6_bad_nibble(self):
        self.check([
            ("g" + IP6_NIBBLES[1:] + ".ip6.arpa", False, Reverse(None)),
            ("10." + IP6_NIBBLES[4:] + ".ip6.arpa", False, Reverse(None)),
        ])

    def test_other_arpa(self):
        self.check([("1.1.0.10.e164.arpa", False, Reverse(None))])


class HexAddressTests(SynchronousTestCase):
    def test_ipv4(self):
        self.assertEqual(names.hex_address("10.0.2.100"), "0a000264")
        self.assertEqual(names.hex_address("192.0.2.10"), "c000020a")

    def test_ipv6(self):
        self.assertEqual(names.hex_address("2001:db8::6"), "20010db8000000000000000000000006")

    def test_round_trip(self):
        for address in ("10.0.1.1", "255.255.255.255", "2001:db8::6", "::1"):
            name = names.hex_address(address) + ".addr.dc1.consul"
            self.assertEqual(names.parse(name, False, DOMAINS), Addr(D, address))


class InDomainTests(SynchronousTestCase):
    def test_in_domain(self):
        self.assertTrue(names.in_domain("consul", D))
        self.assertTrue(names.in_domain("web.service.consul", D))
        self.assertFalse(names.in_domain("notconsul", D))
        self.assertFalse(names.in_domain("consul.example", D))


class RecordedNamesTests(SynchronousTestCase):
    """What the recordings say of each name's kind."""

    def setUp(self):
        self.cases = load_dns_vectors()["cases"]

    def parsed(self, case):
        qname = case["qname"].rstrip(".").replace("{$AGENT_IP_REV}", "1.0.0.127")
        return names.parse(qname, qtype_code(case["qtype"]) == dns.SRV, DOMAINS)

    def test_refused_names_are_outside(self):
        for case in self.cases:
            outside = isinstance(self.parsed(case), Outside)
            self.assertEqual(outside, case["expect"]["rcode"] == "REFUSED", case["name"])

    def test_arpa_names_are_reverse(self):
        for case in self.cases:
            reverse = isinstance(self.parsed(case), Reverse)
            self.assertEqual(reverse, case["qname"].lower().endswith(".arpa."), case["name"])

    def test_invalid_names_are_nxdomain(self):
        for case in self.cases:
            if isinstance(self.parsed(case), (Invalid, Unsupported)) and case["qtype"] not in ("SOA", "NS"):
                self.assertEqual(case["expect"]["rcode"], "NXDOMAIN", case["name"])
