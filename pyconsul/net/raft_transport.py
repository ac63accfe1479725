"""Raft messages between servers, over the server port (8300).

Each peer gets one outgoing connection that starts with the Raft protocol
byte and then carries framed messages one way; the peer answers on its own
connection to us. Raft tolerates loss (heartbeats and retries regenerate
what matters), so a peer that cannot be reached just has its queue bounded
and is retried with a back-off.

A core's SnapshotRequest does not travel as is: the snapshot's bytes are
read from the snapshot store and sent as SnapshotChunks. The receiving side
assembles them, hands the bytes to its driver (``on_snapshot``), and only
then its core the SnapshotRequest; the driver stores the snapshot if and
when its core accepts it.
"""

import io

from twisted.internet import defer, protocol
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint

from pyconsul.codec import raft as codec
from pyconsul.core.raft import SnapshotRequest
from pyconsul.logs import Logger
from pyconsul.net.faults import NO_FAULTS, host_of
from pyconsul.net.mux import RPC_RAFT, no_delay

CHUNK_SIZE = 256 * 1024
MAX_QUEUED = 4096  # frames waiting for a connection; older ones are dropped
CONNECT_TIMEOUT = 2.0
FIRST_RETRY, MAX_RETRY = 0.1, 2.0
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024 * 1024


def _split(address):
    return host_of(address), int(address.rpartition(":")[2])


class _Outgoing(protocol.Protocol):
    def __init__(self, link):
        self.link = link

    def connectionMade(self):
        no_delay(self.transport)
        self.transport.write(bytes((RPC_RAFT,)))
        self.link.connected(self)

    def dataReceived(self, data):
        pass  # nothing comes back on this connection

    def connectionLost(self, reason):
        self.link.disconnected(self, reason.value)


class PeerLink:
    """The connection to one peer, with its queue and back-off."""

    def __init__(self, transport, peer_id):
        self.transport = transport
        self.peer_id = peer_id
        self.queue = []
        self.protocol = None
        self.connecting = None
        self.retry = None
        self.delay = FIRST_RETRY

    def send(self, data):
        if self.protocol is not None:
            self.protocol.transport.write(data)
            return
        self.queue.append(data)
        if len(self.queue) > MAX_QUEUED:
            del self.queue[: len(self.queue) - MAX_QUEUED]
        self._connect()

    def _connect(self):
        if self.connecting is not None or self.retry is not None or self.transport.stopped:
            return
        address = self.transport.address_of(self.peer_id)
        if not address:
            self.queue = []
            return
        host, port = _split(address)
        endpoint_type = TCP6ClientEndpoint if ":" in host else TCP4ClientEndpoint
        bind = (self.transport.bind_address, 0) if self.transport.bind_address else None
        endpoint = endpoint_type(
            self.transport.reactor, host, port, timeout=CONNECT_TIMEOUT, bindAddress=bind
        )
        factory = protocol.Factory.forProtocol(lambda: _Outgoing(self))
        factory.noisy = False
        self.connecting = endpoint.connect(factory)
        self.connecting.addErrback(self._failed)

    def connected(self, outgoing):
        self.connecting = None
        self.protocol = outgoing
        self.delay = FIRST_RETRY
        queued, self.queue = self.queue, []
        if queued:
            outgoing.transport.writeSequence(queued)

    def _failed(self, failure):
        self.connecting = None
        self.transport.unreachable(self.peer_id)
        self._retry_later()

    def disconnected(self, outgoing, reason):
        if self.protocol is outgoing:
            self.protocol = None
            self.transport.unreachable(self.peer_id)
            if self.queue:
                self._retry_later()

    def _retry_later(self):
        if self.transport.stopped or self.retry is not None:
            return
        self.retry = self.transport.reactor.callLater(self.delay, self._retry)
        self.delay = min(self.delay * 2, MAX_RETRY)

    def _retry(self):
        self.retry = None
        if self.queue:
            self._connect()

    def close(self):
        if self.retry is not None and self.retry.active():
            self.retry.cancel()
        if self.connecting is not None:
            self.connecting.cancel()
        if self.protocol is not None:
            self.protocol.transport.abortConnection()


class _Incoming(protocol.Protocol):
    log = Logger()

    def __init__(self, transport):
        self.raft = transport
        self.reader = codec.FrameReader()

    def dataReceived(self, data):
        try:
            for body in self.reader.feed(data):
                self.raft.received(codec.decode(body))
        except codec.CodecError as error:
            peer = self.transport.getPeer()
            self.log.warn("Closing a Raft connection from {host}: {error}", host=peer.host, error=error)
            self.transport.abortConnection()


class _SnapshotAssembly:
    def __init__(self, chunk):
        self.meta = chunk.meta
        self.src = chunk.src
        self.buffer = io.BytesIO()

    def add(self, chunk):
        if chunk.meta != self.meta or chunk.offset != self.buffer.tell():
            raise codec.CodecError("snapshot chunk out of order")
        if self.buffer.tell() + len(chunk.data) > MAX_SNAPSHOT_BYTES:
            raise codec.CodecError("snapshot too large")
        self.buffer.write(chunk.data)


class RaftTransport:
    log = Logger()

    def __init__(self, reactor, snapshot_store, faults=NO_FAULTS, bind_address=None):
        self.reactor = reactor
        self.faults = faults
        self.bind_address = bind_address  # outgoing connections leave from here
        self.snapshot_store = snapshot_store  # where snapshots to send come from
        self.stopped = False
        self.links = {}
        self.assemblies = {}
        # Set by the driver: address lookup by server ID, and callbacks.
        self.address_of = lambda server_id: None
        self.on_message = lambda message: None
        self.on_unreachable = lambda server_id: None
        self.on_snapshot_sent = lambda server_id, success: None
        self.on_snapshot = lambda meta, data: None

    def inbound(self):
        """The protocol for a connection whose first byte chose Raft."""
        return _Incoming(self)

    # -- sending -------------------------------------------------------------

    def send(self, messages):
        for message in messages:
            if self.stopped:
                return
            address = self.address_of(message.dst)
            if address and self.faults.blocks(host_of(address)):
                continue
            if isinstance(message, SnapshotRequest):
                self._send_snapshot(message)
            else:
                self._link(message.dst).send(codec.frame(message))

    def _link(self, peer_id):
        link = self.links.get(peer_id)
        if link is None:
            link = self.links[peer_id] = PeerLink(self, peer_id)
        return link

    def _send_snapshot(self, request):
        latest = self.snapshot_store.latest()
        if latest is None:
            self.on_snapshot_sent(request.dst, False)
            return
        meta, blob = latest
        data = blob.read()
        link = self._link(request.dst)
        offset = 0
        while True:
            piece = data[offset : offset + CHUNK_SIZE]
            done = offset + len(piece) >= len(data)
            chunk = codec.SnapshotChunk(request.term, request.src, request.dst, meta, offset, piece, done)
            link.send(codec.frame(chunk))
            offset += len(piece)
            if done:
                break
        self.log.info(
            "Raft: sent snapshot {index} ({size} bytes) to {peer}",
            index=meta.index,
            size=len(data),
            peer=request.dst,
        )
        self.on_snapshot_sent(request.dst, link.protocol is not None)

    def unreachable(self, peer_id):
        self.on_unreachable(peer_id)

    # -- receiving -------------------------------------------------------------

    def received(self, message):
        if not isinstance(message, codec.SnapshotChunk):
            self.on_message(message)
            return
        key = message.src
        assembly = self.assemblies.get(key)
        if assembly is None or message.offset == 0:
            assembly = self.assemblies[key] = _SnapshotAssembly(message)
        assembly.add(message)
        if message.done:
            del self.assemblies[key]
            self._store_snapshot(message, assembly.buffer.getvalue())

    def _store_snapshot(self, last_chunk, data):
        meta = last_chunk.meta
        self.log.info("Raft: received snapshot {index} from {src}", index=meta.index, src=last_chunk.src)
        self.on_snapshot(meta, data)
        self.on_message(SnapshotRequest(last_chunk.term, last_chunk.src, last_chunk.dst, meta))

    def stop(self):
        self.stopped = True
        for link in self.links.values():
            link.close()
        self.links.clear()
        return defer.succeed(None)
