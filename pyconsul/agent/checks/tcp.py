"""TCP checks: passing if a connection opens within the timeout (10s by default)."""

import socket

from twisted.internet.defer import CancelledError, succeed
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory, Protocol

from pyconsul.agent.checks.goerrors import dial_error, split_host_port
from pyconsul.agent.definitions import CRITICAL, PASSING
from pyconsul.golang.duration import SECOND
from pyconsul.logs import Logger

DEFAULT_TIMEOUT = 10 * SECOND


class _Hangup(Protocol):
    def connectionMade(self):
        self.transport.loseConnection()


class TCPConnector:
    """Opens (and at once closes) a connection: ``connect(host, port)`` is a
    Deferred that fires on success and can be cancelled. Names resolve off
    the reactor's thread, through the reactor's resolver."""

    def __init__(self, reactor):
        self.reactor = reactor

    def connect(self, host, port):
        return HostnameEndpoint(self.reactor, host, port).connect(Factory.forProtocol(_Hangup))


def _port_number(text):
    """Go's dial takes a number or a service name from /etc/services."""
    if text.isdigit():
        number = int(text)
        if number > 65535:
            raise ValueError("address %s: invalid port" % text)
        return number
    try:
        return socket.getservbyname(text, "tcp")
    except OSError:
        raise ValueError("lookup tcp/%s: unknown port" % text) from None


class TCPProbe:
    log = Logger()

    def __init__(self, check_id, address, timeout, connector, clock):
        self.check_id = check_id
        self.address = address  # host:port, as given
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.connector = connector
        self.clock = clock

    def __call__(self):
        try:
            host, port = split_host_port(self.address)
            port = _port_number(port)
        except ValueError as problem:
            return succeed(self._failed("dial tcp: %s" % problem))
        connecting = self.connector.connect(host, port)
        timer = self.clock.callLater(self.timeout / SECOND, connecting.cancel)

        def connected(_):
            return PASSING, "TCP connect %s: Success" % self.address

        def failed(failure):
            if timer.called:
                return self._failed("dial tcp %s: i/o timeout" % self.address)
            if failure.check(CancelledError):
                return failure  # stopped: nobody waits for the result
            return self._failed(dial_error(failure, self.address, host))

        def done(result):
            if timer.active():
                timer.cancel()
            return result

        connecting.addBoth(done)
        return connecting.addCallbacks(connected, failed)

    def _failed(self, text):
        self.log.warn("Check socket connection failed: check {check}, error {error}",
                      check=self.check_id, error=text)
        return CRITICAL, text
