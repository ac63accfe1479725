"""Server RPC over TCP: agents call a server's endpoints, servers forward to
the leader. Requests carry a sequence number so many can share one
connection; each address keeps one connection, made when first needed and
again after it breaks."""

import itertools

from twisted.internet import defer, protocol
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.python.failure import Failure

from pyconsul.codec import rpc as codec
from pyconsul.logs import Logger
from pyconsul.net.faults import NO_FAULTS, host_of
from pyconsul.net.mux import RPC_CONSUL
from pyconsul.server.errors import RPCError, RPCUnavailable

CONNECT_TIMEOUT = 5.0


class RPCServerProtocol(protocol.Protocol):
    """Answers requests with ``call(method, args) -> Deferred``."""

    log = Logger()

    def __init__(self, call):
        self.call = call
        self.reader = codec.FrameReader()
        self.open = True

    def dataReceived(self, data):
        try:
            for body in self.reader.feed(data):
                request = codec.decode_request(body)
                d = defer.maybeDeferred(self.call, request["Method"], request["Args"])
                d.addCallbacks(self._result, self._error, (request["Seq"],), None, (request["Seq"],))
        except codec.CodecError as error:
            peer = self.transport.getPeer()
            self.log.warn("Closing an RPC connection from {host}: {error}", host=peer.host, error=error)
            self.transport.abortConnection()

    def _result(self, result, seq):
        self._send({"Seq": seq, "Error": None, "Result": result})

    def _error(self, failure, seq):
        if failure.check(RPCError):
            error = failure.value
            self._send({"Seq": seq, "Error": error.message, "Status": error.status})
            return
        self.log.failure("RPC failed", failure)
        self._send({"Seq": seq, "Error": "rpc error: %s" % failure.value, "Status": 500})

    def _send(self, reply):
        if self.open:
            self.transport.write(codec.frame(reply))

    def connectionLost(self, reason):
        self.open = False


class RPCClientProtocol(protocol.Protocol):
    def __init__(self):
        self.reader = codec.FrameReader()
        self.pending = {}
        self.sequence = itertools.count(1)
        self.lost = defer.Deferred()

    def connectionMade(self):
        self.transport.write(bytes((RPC_CONSUL,)))

    def request(self, method, args):
        seq = next(self.sequence)
        d = defer.Deferred(lambda _: self.pending.pop(seq, None))
        self.pending[seq] = d
        self.transport.write(codec.frame({"Seq": seq, "Method": method, "Args": args}))
        return d

    def dataReceived(self, data):
        try:
            for body in self.reader.feed(data):
                reply = codec.decode_reply(body)
                d = self.pending.pop(reply["Seq"], None)
                if d is None:
                    continue
                if reply.get("Error") is not None:
                    error = RPCError(str(reply["Error"]))
                    error.status = reply.get("Status", 500)
                    d.errback(error)
                else:
                    d.callback(reply.get("Result"))
        except codec.CodecError as error:
            self.transport.abortConnection()
            self._fail_all(RPCUnavailable("bad reply from the server: %s" % error))

    def connectionLost(self, reason):
        self._fail_all(RPCUnavailable("connection to the server lost: %s" % reason.value))
        self.lost.callback(None)

    def _fail_all(self, error):
        pending, self.pending = self.pending, {}
        for d in pending.values():
            d.errback(error)


class RPCClientPool:
    """One connection per server address, shared by all calls to it."""

    def __init__(self, reactor, faults=NO_FAULTS, bind_address=None):
        self.reactor = reactor
        self.faults = faults
        self.bind_address = bind_address
        self._connections = {}  # address -> Deferred of RPCClientProtocol
        faults.listeners.append(self._drop_blocked)

    def _drop_blocked(self, blocked):
        for address in [a for a in self._connections if host_of(a) in blocked]:
            connecting = self._connections.pop(address)
            connecting.addCallback(lambda client: client.transport.abortConnection())
            connecting.addErrback(lambda _: None)

    def call(self, address, method, args, timeout=None):
        if self.faults.blocks(host_of(address)):
            return defer.fail(RPCUnavailable("cannot reach server %s: blocked" % address))
        d = self._connection(address)
        d.addCallback(lambda client: client.request(method, args))
        if timeout is not None:
            d.addTimeout(timeout, self.reactor)
            d.addErrback(self._timed_out, address, method)
        return d

    @staticmethod
    def _timed_out(failure, address, method):
        failure.trap(defer.TimeoutError)
        raise RPCUnavailable("%s to %s timed out" % (method, address))

    def _connection(self, address):
        existing = self._connections.get(address)
        if existing is not None:
            return _copy(existing)
        host, port = host_of(address), int(address.rpartition(":")[2])
        endpoint_type = TCP6ClientEndpoint if ":" in host else TCP4ClientEndpoint
        bind = (self.bind_address, 0) if self.bind_address else None
        endpoint = endpoint_type(self.reactor, host, port, timeout=CONNECT_TIMEOUT, bindAddress=bind)
        factory = protocol.Factory.forProtocol(RPCClientProtocol)
        factory.noisy = False
        connecting = endpoint.connect(factory)
        self._connections[address] = connecting

        def connected(client):
            client.lost.addCallback(lambda _: self._forget(address, connecting))
            return client

        def failed(failure):
            self._forget(address, connecting)
            raise RPCUnavailable("cannot reach server %s: %s" % (address, failure.value))

        connecting.addCallbacks(connected, failed)
        return _copy(connecting)

    def _forget(self, address, connecting):
        if self._connections.get(address) is connecting:
            del self._connections[address]

    def close(self):
        for connecting in list(self._connections.values()):
            connecting.addCallback(lambda client: client.transport.loseConnection())
            connecting.addErrback(lambda _: None)
        self._connections.clear()


def _copy(shared):
    """A Deferred of ``shared``'s outcome that one caller may chain freely."""
    copy = defer.Deferred()

    def deliver(result):
        if isinstance(result, Failure):
            copy.errback(result)
            return None  # handled: each waiting caller got its own copy
        copy.callback(result)
        return result

    shared.addBoth(deliver)
    return copy
