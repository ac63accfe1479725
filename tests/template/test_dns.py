"""The real resolver, against a DNS server on the loopback interface."""

import socket
import threading

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import MemKV, World, render
from pyconsul.template.dns import SRVRecord, SystemResolver, format_ip


class FakeNameServer:
    """Answers one SRV query on 127.0.0.1 with fixed records."""

    def __init__(self, records):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.address = self.sock.getsockname()
        self.records = records
        self.thread = threading.Thread(target=self.serve_one)
        self.thread.start()

    def serve_one(self):
        try:
            data, peer = self.sock.recvfrom(65535)
        except OSError:
            return
        query = dns.Message()
        query.fromStr(data)
        answer = dns.Message(id=query.id, answer=1, recDes=query.recDes, recAv=1)
        answer.queries = query.queries
        name = query.queries[0].name.name
        answer.answers = [
            dns.RRHeader(name, dns.SRV, dns.IN, 60, dns.Record_SRV(prio, weight, port, target))
            for target, port, prio, weight in self.records
        ]
        self.sock.sendto(answer.toStr(), peer)

    def close(self):
        self.thread.join()
        self.sock.close()


class SystemResolverTests(SynchronousTestCase):
    def test_srv_query(self):
        server = FakeNameServer([("b.example.com", 389, 10, 5), ("a.example.com", 636, 20, 5)])
        self.addCleanup(server.close)
        resolver = SystemResolver(nameservers=[server.address])
        records = resolver.lookup_srv("_ldap._tcp.example.com")
        self.assertEqual(
            sorted(records, key=lambda r: r.target),
            [SRVRecord("a.example.com.", 636, 20, 5), SRVRecord("b.example.com.", 389, 10, 5)],
        )

    def test_srv_through_template(self):
        server = FakeNameServer([("b.example.com", 389, 10, 5), ("a.example.com", 636, 20, 5)])
        self.addCleanup(server.close)
        world = World(resolver=SystemResolver(nameservers=[server.address]))
        out = render('{{range lookupSRV "ldap" "tcp" "example.com"}}{{.Target}}:{{.Port}} {{end}}', MemKV(), world=world)
        self.assertEqual(out, "a.example.com.:636 b.example.com.:389 ")

    def test_lookup_ip_localhost(self):
        addresses = SystemResolver().lookup_ip("localhost")
        self.assertIn("127.0.0.1", addresses)
        self.assertEqual(addresses, sorted(set(addresses)))

    def test_format_ip(self):
        self.assertEqual(format_ip("::ffff:10.0.0.1"), "10.0.0.1")
        self.assertEqual(format_ip("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1")
