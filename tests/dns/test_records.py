"""records: the resource records Consul makes of catalog entries.

Records are compared as readable tuples: (owner, type, ttl, data), where
data is the dig-style text of the payload (as the vectors write it).
"""

from io import BytesIO

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.dns import records
from pyconsul.dns.answers import SOA
from tests.vectors.dns import load_dns_vectors, rdata_text, type_text

IPV4, IPV6, HOST = "10.0.1.1", "2001:db8::6", "ext-svc.example.net"
QTYPES = {"A": dns.A, "AAAA": dns.AAAA, "ANY": dns.ALL_RECORDS, "MX": dns.MX, "TXT": dns.TXT}


def readable(rr):
    """(owner, type, ttl, data) of a record; the payload's TTL is the header's."""
    assert rr.payload.ttl == rr.ttl, (rr.payload.ttl, rr.ttl)
    return (rr.name.name.decode("utf-8"), type_text(rr.type), rr.ttl, rdata_text(rr.payload))


def readables(rrs):
    return [readable(rr) for rr in rrs]


class AddressKindTests(SynchronousTestCase):
    def test_kinds(self):
        for address, kind in [
            ("10.0.1.1", records.IPV4),
            ("192.0.2.10", records.IPV4),
            ("2001:db8::6", records.IPV6),
            ("::1", records.IPV6),
            ("ext-host.example.org", records.HOSTNAME),
            ("localhost", records.HOSTNAME),
            ("10.0.1", records.HOSTNAME),
            ("10.0.1.256", records.HOSTNAME),
        ]:
            self.assertEqual(records.address_kind(address), kind, address)


class AddressRecordsTests(SynchronousTestCase):
    """Every address kind against every question type."""

    TABLE = [
        # (address, qtype, expected (type, data) list)
        (IPV4, "A", [("A", "10.0.1.1")]),
        (IPV4, "AAAA", []),
        (IPV4, "ANY", [("A", "10.0.1.1")]),
        (IPV4, "MX", []),
        (IPV4, "TXT", []),
        (IPV6, "A", []),
        (IPV6, "AAAA", [("AAAA", "2001:db8::6")]),
        (IPV6, "ANY", [("AAAA", "2001:db8::6")]),
        (IPV6, "MX", []),
        (IPV6, "TXT", []),
        (HOST, "A", [("CNAME", "ext-svc.example.net.")]),
        (HOST, "AAAA", [("CNAME", "ext-svc.example.net.")]),
        (HOST, "ANY", [("CNAME", "ext-svc.example.net.")]),
    ]

    def test_table(self):
        for address, qtype, expected in self.TABLE:
            got = records.address_records("web.service.consul", address, QTYPES[qtype], 0)
            self.assertEqual(readables(got), [("web.service.consul", t, 0, d) for t, d in expected],
                             (address, qtype))

    def test_host_name_mx(self):
        self.assertEqual(records.address_records("ext.service.consul", HOST, dns.MX, 0), [])

    def test_host_name_txt_and_cname_questions(self):
        # Consul 1.10's node record for a host name (formatNodeRecord /
        # makeRecordFromNode) is a CNAME for ANY, CNAME, A, AAAA and TXT
        # questions alike, not only for the address types.
        for qtype in (dns.TXT, dns.CNAME):
            got = records.address_records("ext-1.node.consul", "ext-host.example.org", qtype, 0)
            self.assertEqual(readables(got), [("ext-1.node.consul", "CNAME", 0, "ext-host.example.org.")],
                             dns.QUERY_TYPES.get(qtype))

    def test_ttl(self):
        [a] = records.address_records("web.service.consul", IPV4, dns.A, 30)
        [cname] = records.address_records("web.service.consul", HOST, dns.A, 30.0)
        self.assertEqual((a.ttl, cname.ttl), (30, 30))
        self.assertIsInstance(cname.ttl, int)

    def test_owner_case_kept(self):
        [a] = records.address_records(b"WEB.Service.consul", IPV4, dns.A, 0)
        self.assertEqual(a.name.name, b"WEB.Service.consul")

    def test_authoritative_internet_records(self):
        for address, qtype, expected in self.TABLE:
            for rr in records.address_records("x.consul", address, QTYPES[qtype], 0):
                self.assertTrue(rr.auth)
                self.assertEqual(rr.cls, dns.IN)

    def test_ip_record(self):
        self.assertEqual(readable(records.ip_record("0a000264.addr.dc1.consul.", "10.0.2.100", 5)),
                         ("0a000264.addr.dc1.consul", "A", 5, "10.0.2.100"))
        self.assertEqual(readable(records.ip_record("x.addr.consul", "2001:db8::6", 0)),
                         ("x.addr.consul", "AAAA", 0, "2001:db8::6"))


class NameBytesTests(SynchronousTestCase):
    def test_name_bytes(self):
        self.assertEqual(records.name_bytes("web.service.consul."), b"web.service.consul")
        self.assertEqual(records.name_bytes(b"web.service.consul"), b"web.service.consul")
        self.assertEqual(records.name_bytes("Web.Node.consul"), b"Web.Node.consul")
        self.assertEqual(records.name_bytes("consul."), b"consul")


class RFC1464Tests(SynchronousTestCase):
    """Consul's encodeKVasRFC1464 (agent/dns.go)."""

    def test_table(self):
        for key, value, text in [
            ("rack", "r1", "rack=r1"),
            ("empty", "", "empty="),
            ("owner", "ops=team", "owner=ops=team"),  # "=" in values is not quoted
            ("tick", "a`b", "tick=a``b"),  # backquotes in values are doubled
            ("quote", 'say "hi"', 'quote=say "hi"'),
            ("spaced", "two words", "spaced=two words"),
            ("a=b", "v", "a`=b=v"),  # "=" in keys is quoted
            ("a`b", "v", "a``b=v"),  # backquotes in keys are doubled
            ("a`=b", "v", "a```=b=v"),  # doubled first, then "=" quoted
            (" k", "v", "` k=v"),  # leading spaces in keys
            ("  k", "v", "` ` k=v"),
            ("k ", "v", "k` =v"),  # trailing spaces
            ("k  ", "v", "k` ` =v"),
            (" k ", " v ", "` k` = v "),  # the value's spaces stay
            ("a b", "v", "a b=v"),  # inner spaces stay
            ("k", "a b ", "k=a b "),
            ("k=", "v", "k`==v"),
            ("=", "", "`=="),
        ]:
            self.assertEqual(records.rfc1464(key, value), text, (key, value))

    def test_rfc1035_prefix_gives_value(self):
        self.assertEqual(records.rfc1464("rfc1035-spf", "v=spf1 -all"), "v=spf1 -all")
        self.assertEqual(records.rfc1464("rfc1035-x", "a`b"), "a`b")  # nothing quoted
        self.assertEqual(records.rfc1464("rfc1035-", ""), "")

    def test_rfc1035_prefix_any_case(self):
        # Consul: strings.HasPrefix(strings.ToLower(key), "rfc1035-").
        self.assertEqual(records.rfc1464("RFC1035-spf", "v=spf1 -all"), "v=spf1 -all")
        self.assertEqual(records.rfc1464("Rfc1035-Txt", "free text"), "free text")

    def test_recorded_meta_node(self):
        """The fixture's meta-node and the TXT strings Consul gave for it
        (node-meta-txt-tcp)."""
        document = load_dns_vectors()
        [meta] = [step["body"]["NodeMeta"] for step in document["fixture"]
                  if step["body"].get("Node") == "meta-node"]
        self.assertEqual(meta, {"owner": "ops=team", "quote": 'say "hi"', "tick": "a`b", "spaced": "two words",
                                "rfc1035-spf": "v=spf1 -all", "empty": ""})
        [case] = [c for c in document["cases"] if c["name"] == "node-meta-txt-tcp"]
        recorded = sorted(line.split(" IN TXT ", 1)[1] for line in case["expect"]["answer"])
        got = sorted(rdata_text(rr.payload) for rr in records.meta_records("meta-node.node.consul", meta, 0))
        self.assertEqual(got, recorded)

    def test_recorded_meta_strings(self):
        meta = {"owner": "ops=team", "quote": 'say "hi"', "tick": "a`b", "spaced": "two words",
                "rfc1035-spf": "v=spf1 -all", "empty": ""}
        got = sorted(rr.payload.data for rr in records.meta_records("meta-node.node.consul", meta, 0))
        self.assertEqual(got, sorted([[b"empty="], [b"owner=ops=team"], [b'quote=say "hi"'],
                                      [b"spaced=two words"], [b"tick=a``b"], [b"v=spf1 -all"]]))


class MetaRecordsTests(SynchronousTestCase):
    def test_one_record_per_pair_in_key_order(self):
        got = records.meta_records("web-1.node.dc1.consul", {"rack": "r1", "env": "prod", "a": "1"}, 0)
        self.assertEqual(readables(got), [
            ("web-1.node.dc1.consul", "TXT", 0, '"a=1"'),
            ("web-1.node.dc1.consul", "TXT", 0, '"env=prod"'),
            ("web-1.node.dc1.consul", "TXT", 0, '"rack=r1"'),
        ])

    def test_no_meta(self):
        self.assertEqual(records.meta_records("x.node.consul", {}, 0), [])
        self.assertEqual(records.meta_records("x.node.consul", None, 0), [])

    def test_ttl(self):
        [rr] = records.meta_records("x.node.consul", {"k": "v"}, 12)
        self.assertEqual((rr.ttl, rr.payload.ttl), (12, 12))

    def test_empty_rfc1035_value_is_one_empty_string(self):
        [rr] = records.meta_records("x.node.consul", {"rfc1035-x": ""}, 0)
        self.assertEqual(rr.payload.data, [b""])

    def test_utf8(self):
        [rr] = records.meta_records("x.node.consul", {"k": "caf\u00e9"}, 0)
        self.assertEqual(rr.payload.data, [b"k=caf\xc3\xa9"])

    def test_long_values_in_255_byte_strings(self):
        for length, sizes in [(253, [255]), (254, [255, 1]), (300, [255, 47]), (508, [255, 255]),
                              (509, [255, 255, 1])]:
            [rr] = records.meta_records("x.node.consul", {"k": "v" * length}, 0)
            self.assertEqual([len(part) for part in rr.payload.data], sizes, length)
            self.assertEqual(b"".join(rr.payload.data), b"k=" + b"v" * length)

    def test_long_values_survive_the_wire(self):
        [rr] = records.meta_records("x.node.consul", {"k": "v" * 500}, 0)
        stream = BytesIO()
        rr.payload.encode(stream, {})
        encoded = stream.getvalue()
        decoded = dns.Record_TXT()
        decoded.decode(BytesIO(encoded), len(encoded))
        self.assertEqual(b"".join(decoded.data), b"k=" + b"v" * 500)


class SOARecordTests(SynchronousTestCase):
    def test_fields(self):
        rr = records.soa_record("consul.", 1700000000, SOA(), 0)
        self.assertEqual(readable(rr),
                         ("consul", "SOA", 0, "ns.consul. hostmaster.consul. 1700000000 3600 600 86400 0"))
        self.assertTrue(rr.auth)

    def test_configured_timers(self):
        rr = records.soa_record("consul.", 5, SOA(refresh=1, retry=2, expire=3, minimum=4), 4)
        self.assertEqual(readable(rr), ("consul", "SOA", 4, "ns.consul. hostmaster.consul. 5 1 2 3 4"))

    def test_alt_domain(self):
        rr = records.soa_record("alt.example.", 5, SOA(), 0)
        self.assertEqual(readable(rr), ("alt.example", "SOA", 0,
                                        "ns.alt.example. hostmaster.alt.example. 5 3600 600 86400 0"))

    def test_serial_is_32_bits(self):
        # Consul: uint32(time.Now().Unix()).
        self.assertEqual(records.soa_record("consul.", 2 ** 32 + 7, SOA(), 0).payload.serial, 7)
        self.assertEqual(records.soa_record("consul.", 2 ** 32 - 1, SOA(), 0).payload.serial, 2 ** 32 - 1)


class OtherRecordTests(SynchronousTestCase):
    def test_srv(self):
        rr = records.srv_record(b"_web._tcp.service.consul", 10, 5432, "db-1.node.dc1.consul.", 3)
        self.assertEqual(readable(rr), ("_web._tcp.service.consul", "SRV", 3, "1 10 5432 db-1.node.dc1.consul."))
        self.assertTrue(rr.auth)

    def test_srv_host_name_target(self):
        rr = records.srv_record("ext.service.consul", 1, 443, "ext-svc.example.net", 0)
        self.assertEqual(readable(rr), ("ext.service.consul", "SRV", 0, "1 1 443 ext-svc.example.net."))

    def test_ns(self):
        rr = records.ns_record("consul.", "s1.node.dc1.consul.", 0)
        self.assertEqual(readable(rr), ("consul", "NS", 0, "s1.node.dc1.consul."))

    def test_ptr(self):
        rr = records.ptr_record(b"1.1.0.10.IN-ADDR.ARPA", "web-1.node.dc1.consul.", 0)
        self.assertEqual(readable(rr), ("1.1.0.10.IN-ADDR.ARPA", "PTR", 0, "web-1.node.dc1.consul."))

    def test_rr(self):
        rr = records.rr("x.consul.", dns.Record_A("10.0.0.1", 7), 7.9)
        self.assertEqual((rr.name.name, rr.type, rr.cls, rr.ttl, rr.auth), (b"x.consul", dns.A, dns.IN, 7, True))
