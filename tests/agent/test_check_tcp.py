"""TCP checks against a fake connector, and once against loopback."""

import socket

from twisted.internet import error as net
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pyconsul.agent.checks.tcp import TCPConnector, TCPProbe
from pyconsul.agent.definitions import CRITICAL, PASSING
from pyconsul.golang.duration import SECOND

from tests.agent.checkfakes import FakeConnector


class TCPProbeTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.connector = FakeConnector()
        self.results = []

    def run_check(self, address, timeout=0):
        running = TCPProbe("db", address, timeout, self.connector, self.clock)()
        running.addCallback(self.results.append)
        return running

    def test_a_connection_is_passing(self):
        self.run_check("localhost:5432")
        host, port, attempt = self.connector.attempts[-1]
        self.assertEqual((host, port), ("localhost", 5432))
        attempt.callback(None)
        self.assertEqual(self.results, [(PASSING, "TCP connect localhost:5432: Success")])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_ipv6_and_service_names(self):
        self.run_check("[::1]:80")
        self.assertEqual(self.connector.attempts[-1][:2], ["::1", 80])
        self.run_check("127.0.0.1:%s" % socket.getservbyport(22, "tcp"))
        self.assertEqual(self.connector.attempts[-1][:2], ["127.0.0.1", 22])

    def test_refusals_and_timeouts_as_go_words_them(self):
        self.run_check("127.0.0.1:1")
        self.connector.attempts[-1][2].errback(net.ConnectionRefusedError())
        self.assertEqual(self.results[-1], (CRITICAL, "dial tcp 127.0.0.1:1: connect: connection refused"))
        self.run_check("db.invalid:1")
        self.connector.attempts[-1][2].errback(net.DNSLookupError("db.invalid"))
        self.assertEqual(self.results[-1], (CRITICAL, "dial tcp: lookup db.invalid: no such host"))

    def test_a_connect_that_hangs(self):
        self.run_check("10.255.255.1:80", timeout=3 * SECOND)
        self.clock.advance(2.9)
        self.assertEqual(self.results, [])
        self.clock.advance(0.1)
        self.assertIn("cancelled", self.connector.attempts[-1])
        self.assertEqual(self.results, [(CRITICAL, "dial tcp 10.255.255.1:80: i/o timeout")])

    def test_the_default_timeout_is_ten_seconds(self):
        self.run_check("10.255.255.1:80")
        self.clock.advance(10)
        self.assertEqual(self.results[-1][0], CRITICAL)

    def test_addresses_go_cannot_dial(self):
        cases = [
            ("localhost", "dial tcp: address localhost: missing port in address"),
            ("::1:80", "dial tcp: address ::1:80: too many colons in address"),
            ("[::1:80", "dial tcp: address [::1:80: missing ']' in address"),
            ("host:99999", "dial tcp: address 99999: invalid port"),
            ("host:nosuchservice", "dial tcp: lookup tcp/nosuchservice: unknown port"),
        ]
        for address, text in cases:
            self.run_check(address)
            self.assertEqual(self.results[-1], (CRITICAL, text))
        self.assertEqual(self.connector.attempts, [])

    def test_cancelling(self):
        running = self.run_check("127.0.0.1:1")
        running.cancel()
        self.assertIn("cancelled", self.connector.attempts[-1])
        self.assertEqual(self.results, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.failureResultOf(running)


class _Accepted(Protocol):
    def connectionMade(self):
        self.factory.accepted.append(self)


class LoopbackTests(TestCase):
    def test_a_real_connection_and_a_real_refusal(self):
        factory = Factory.forProtocol(_Accepted)
        factory.accepted = []
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        address = "127.0.0.1:%d" % port.getHost().port
        connector = TCPConnector(reactor)

        def refused(result):
            self.assertEqual(result, (CRITICAL, "dial tcp %s: connect: connection refused" % address))

        def connected(result):
            self.assertEqual(result, (PASSING, "TCP connect %s: Success" % address))
            self.assertEqual(len(factory.accepted), 1)
            stopped = port.stopListening()
            stopped.addCallback(lambda _: TCPProbe("db", address, SECOND, connector, reactor)())
            return stopped.addCallback(refused)

        return TCPProbe("db", address, SECOND, connector, reactor)().addCallback(connected)
