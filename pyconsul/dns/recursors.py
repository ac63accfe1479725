"""Forwarding names outside the domain to the configured recursors.

Each recursor is asked in turn (or in a random order with
``recursor_strategy: random``), over the transport the question came by,
until one answers with NOERROR or NXDOMAIN within ``recursor_timeout``;
its reply is passed on with RA set. When none does, the asker gets
SERVFAIL. A UDP answer the recursor truncated is passed on truncated, so
that the asker retries over TCP, as it would with the recursor itself.
"""

from twisted.internet import defer
from twisted.internet.protocol import ClientFactory
from twisted.names import client, dns

from pyconsul.dns import answers
from pyconsul.dns.authority import TCP, relayed
from pyconsul.logs import Logger


class _OneConnection(ClientFactory):
    """A TCP connection to a recursor, for one question: twisted.names'
    protocol reports to it (as its controller) when it is made."""

    def __init__(self, reactor):
        self.reactor = reactor
        self.made = defer.Deferred()

    def buildProtocol(self, addr):
        return dns.DNSProtocol(self, reactor=self.reactor)

    def connectionMade(self, protocol):
        self.made.callback(protocol)

    def connectionLost(self, protocol):
        pass

    def messageReceived(self, message, protocol, address=None):
        pass  # a reply nobody waits for any more

    def clientConnectionFailed(self, connector, reason):
        self.made.errback(reason)


class Recursors:
    log = Logger()

    def __init__(self, addresses, timeout, strategy, reactor, rng):
        self.addresses = list(addresses)
        self.timeout = timeout
        self.strategy = strategy
        self.reactor = reactor
        self.rng = rng
        self._resolvers = [client.Resolver(servers=[address], reactor=reactor) for address in self.addresses]
        self._connecting = set()  # connectors of TCP connections being made
        self._connected = set()  # and made

    def _order(self):
        order = list(range(len(self.addresses)))
        if self.strategy == "random":
            self.rng.shuffle(order)
        return order

    @defer.inlineCallbacks
    def forward(self, question):
        """A Deferred of the Answer to pass on; never fails."""
        query = dns.Query(question.name, question.qtype, question.qclass)
        for index in self._order():
            try:
                if question.transport == TCP:
                    message = yield self._over_tcp(self.addresses[index], query)
                else:
                    message = yield self._resolvers[index].queryUDP([query], timeout=(self.timeout,))
            except Exception as error:  # a timeout, a refused connection, a bad reply
                self.log.debug("Recursor {recursor} failed for {name}: {error!r}",
                               recursor=self.addresses[index], name=question.name, error=error)
                continue
            if message.rCode in (dns.OK, dns.ENAME):
                return relayed(message)
            self.log.debug("Recursor {recursor} answered {name} with rcode {rcode}",
                           recursor=self.addresses[index], name=question.name, rcode=message.rCode)
        self.log.warn("All recursors failed for {name}", name=question.name.decode("utf-8", "replace"))
        return answers.server_failure()

    @defer.inlineCallbacks
    def _over_tcp(self, address, query):
        """One question on a connection of its own, connecting and asking
        within the timeout together (as Consul's DNS client does)."""
        host, port = address
        started = self.reactor.seconds()
        factory = _OneConnection(self.reactor)
        connector = self.reactor.connectTCP(host, port, factory, timeout=self.timeout)
        self._connecting.add(connector)
        try:
            protocol = yield factory.made
        finally:
            self._connecting.discard(connector)
        self._connected.add(protocol)
        try:
            remaining = max(0.05, self.timeout - (self.reactor.seconds() - started))
            message = yield protocol.query([query], timeout=remaining)
        finally:
            self._connected.discard(protocol)
            protocol.transport.loseConnection()
        return message

    def close(self):
        for connector in list(self._connecting):
            if connector.state == "connecting":
                connector.stopConnecting()
        for protocol in list(self._connected):
            protocol.transport.loseConnection()
