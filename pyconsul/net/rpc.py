"""Server RPC over TCP: agents call a server's endpoints, servers forward to
the leader. Requests carry a sequence number so many can share one
connection; each address keeps one connection, made when first needed and
again after it breaks."""

import itertools

from twisted.internet import defer, protocol
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint

from pyconsul.codec import rpc as codec
from pyconsul.logs import Logger
from pyconsul.net.faults import NO_FAULTS, host_of
from pyconsul.net.mux import RPC_CONSUL, no_delay
from pyconsul.server.errors import RPCError, RPCNotSent, RPCUnavailable

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
                self.log.debug("RPC {method} from {host}", method=request["Method"],
                               host=self.transport.getPeer().host)
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
        no_delay(self.transport)
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


class _Address:
    """The pool's state for one server address: a connection, or callers
    waiting for one."""

    def __init__(self):
        self.client = None
        self.waiting = []  # Deferreds of callers until the connection is up


class RPCClientPool:
    """One connection per server address, shared by all calls to it.

    A call that fails before its request went out raises RPCNotSent, which
    is always safe to retry elsewhere; once a request is on the wire, a
    broken connection or a timeout is reported as RPCUnavailable: the server
    may or may not have acted on it.
    """

    def __init__(self, reactor, faults=NO_FAULTS, bind_address=None):
        self.reactor = reactor
        self.faults = faults
        self.bind_address = bind_address
        self._addresses = {}  # address -> _Address
        faults.listeners.append(self._drop_blocked)

    def _drop_blocked(self, blocked):
        for address in [a for a in self._addresses if host_of(a) in blocked]:
            state = self._addresses.pop(address)
            if state.client is not None:
                state.client.transport.abortConnection()
            self._fail_waiting(state, RPCNotSent("cannot reach server %s: blocked" % address))

    def call(self, address, method, args, timeout=None):
        if self.faults.blocks(host_of(address)):
            return defer.fail(RPCNotSent("cannot reach server %s: blocked" % address))
        d = self._client(address)
        d.addCallback(lambda client: client.request(method, args))
        if timeout is not None:
            d.addTimeout(timeout, self.reactor)
            d.addErrback(self._timed_out, address, method)
        return d

    @staticmethod
    def _timed_out(failure, address, method):
        failure.trap(defer.TimeoutError)
        raise RPCUnavailable("%s to %s timed out" % (method, address))

    def _client(self, address):
        state = self._addresses.get(address)
        if state is not None and state.client is not None:
            return defer.succeed(state.client)
        waiting = defer.Deferred()
        if state is None:
            state = self._addresses[address] = _Address()
            self._connect(address, state)
        state.waiting.append(waiting)
        return waiting

    def _connect(self, address, state):
        host, port = host_of(address), int(address.rpartition(":")[2])
        endpoint_type = TCP6ClientEndpoint if ":" in host else TCP4ClientEndpoint
        bind = (self.bind_address, 0) if self.bind_address else None
        endpoint = endpoint_type(self.reactor, host, port, timeout=CONNECT_TIMEOUT, bindAddress=bind)
        factory = protocol.Factory.forProtocol(RPCClientProtocol)
        factory.noisy = False

        def connected(client):
            client.lost.addCallback(lambda _: self._forget(address, state))
            if self._addresses.get(address) is not state:
                client.transport.abortConnection()  # dropped meanwhile
                return
            state.client = client
            waiting, state.waiting = state.waiting, []
            for d in waiting:
                d.callback(client)

        def failed(failure):
            self._forget(address, state)
            self._fail_waiting(state, RPCNotSent("cannot reach server %s: %s" % (address, failure.value)))

        endpoint.connect(factory).addCallbacks(connected, failed)

    @staticmethod
    def _fail_waiting(state, error):
        waiting, state.waiting = state.waiting, []
        for d in waiting:
            d.errback(error)

    def _forget(self, address, state):
        if self._addresses.get(address) is state:
            del self._addresses[address]

    def close(self):
        for address, state in list(self._addresses.items()):
            if state.client is not None:
                state.client.transport.loseConnection()
            self._fail_waiting(state, RPCNotSent("shutting down"))
        self._addresses.clear()
