"""TCP 8300: one port, several protocols, chosen by a connection's first byte
(as Consul's server port does): 0 for server RPC, 1 for Raft."""

from twisted.internet import protocol

from pyconsul.logs import Logger

RPC_CONSUL = 0x00
RPC_RAFT = 0x01


def no_delay(transport):
    """Turn off Nagle's algorithm: Raft and RPC send small frames that must
    leave at once, not wait (up to the peer's 40 ms delayed ACK) to be
    coalesced with the next one."""
    set_no_delay = getattr(transport, "setTcpNoDelay", None)
    if set_no_delay is not None:
        set_no_delay(True)


class MuxProtocol(protocol.Protocol):
    log = Logger()

    def __init__(self, factory):
        self.factory = factory
        self.delegate = None

    def connectionMade(self):
        no_delay(self.transport)

    def dataReceived(self, data):
        if self.delegate is not None:
            self.delegate.dataReceived(data)
            return
        kind, rest = data[0], data[1:]
        make = self.factory.protocols.get(kind)
        if make is None:
            peer = self.transport.getPeer()
            self.log.warn(
                "Closing a connection to the server port from {host}:{port}: unknown protocol byte {kind}",
                host=peer.host,
                port=peer.port,
                kind=kind,
            )
            self.transport.abortConnection()
            return
        self.delegate = make()
        self.delegate.makeConnection(self.transport)
        if rest:
            self.delegate.dataReceived(rest)

    def connectionLost(self, reason):
        if self.delegate is not None:
            self.delegate.connectionLost(reason)


class MuxFactory(protocol.ServerFactory):
    noisy = False

    def __init__(self, protocols):
        # protocol byte -> callable building the protocol for that byte
        self.protocols = protocols

    def buildProtocol(self, addr):
        return MuxProtocol(self)
