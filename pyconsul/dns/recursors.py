"""Forwarding names outside the domain to the configured recursors.

Each recursor is asked in turn (or in a random order with
``recursor_strategy: random``), over the transport the question came by,
until one answers with NOERROR or NXDOMAIN within ``recursor_timeout``;
its reply is passed on with RA set. When none does, the asker gets
SERVFAIL. A UDP answer the recursor truncated is passed on truncated, so
that the asker retries over TCP, as it would with the recursor itself.
"""

from twisted.internet import defer
from twisted.names import client, dns

from pyconsul.dns import answers
from pyconsul.dns.authority import TCP, relayed
from pyconsul.logs import Logger


class Recursors:
    log = Logger()

    def __init__(self, addresses, timeout, strategy, reactor, rng):
        self.addresses = list(addresses)
        self.timeout = timeout
        self.strategy = strategy
        self.rng = rng
        self._resolvers = [client.Resolver(servers=[address], reactor=reactor) for address in self.addresses]

    def _order(self):
        order = list(range(len(self._resolvers)))
        if self.strategy == "random":
            self.rng.shuffle(order)
        return order

    @defer.inlineCallbacks
    def forward(self, question):
        """A Deferred of the Answer to pass on; never fails."""
        query = dns.Query(question.name, question.qtype, question.qclass)
        for index in self._order():
            resolver = self._resolvers[index]
            try:
                if question.transport == TCP:
                    message = yield resolver.queryTCP([query], timeout=self.timeout)
                else:
                    message = yield resolver.queryUDP([query], timeout=(self.timeout,))
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

    def close(self):
        for resolver in self._resolvers:
            for protocol in list(resolver.connections):
                protocol.transport.loseConnection()
