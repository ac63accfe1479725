"""The server port on real loopback sockets: protocol byte, RPC, Raft frames
and snapshot chunks, and a peer that sends garbage."""

import socket

from twisted.internet import defer, reactor, threads
from twisted.trial.unittest import TestCase

from pyconsul.core.raft import AppendResponse, Configuration, Server, SnapshotMeta, SnapshotRequest
from pyconsul.net.faults import Faults
from pyconsul.net.mux import RPC_CONSUL, RPC_RAFT, MuxFactory
from pyconsul.net.raft_transport import RaftTransport
from pyconsul.net.rpc import RPCClientPool, RPCServerProtocol
from pyconsul.server.errors import NoClusterLeader, RPCError, RPCNotSent, RPCUnavailable
from pyconsul.state.kv import DirEntry
from pyconsul.storage.memory import MemorySnapshotStore


def later(delay=0.01):
    d = defer.Deferred()
    reactor.callLater(delay, d.callback, None)
    return d


class ServerPortTests(TestCase):
    timeout = 15

    def setUp(self):
        self.calls = []
        self.received = []
        self.snapshots = MemorySnapshotStore()
        self.transport = RaftTransport(reactor, self.snapshots)
        self.transport.on_message = self.received.append
        self.arrived = []
        self.transport.on_snapshot = lambda meta, data: self.arrived.append((meta, data))

        def call(method, args):
            self.calls.append((method, args))
            if method == "Fail":
                raise NoClusterLeader()
            if method == "Hang":
                return defer.Deferred()
            if method == "Entries":
                return {"Entries": [DirEntry("k", b"v", 0, 1, 2)]}
            return {"Echo": args}

        factory = MuxFactory({RPC_CONSUL: lambda: RPCServerProtocol(call), RPC_RAFT: self.transport.inbound})
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.address = "127.0.0.1:%d" % self.port.getHost().port
        self.pool = RPCClientPool(reactor)
        self.addCleanup(self.pool.close)

    @defer.inlineCallbacks
    def test_rpc_calls_share_a_connection(self):
        results = yield defer.gatherResults(
            [self.pool.call(self.address, "Echo", {"n": n}) for n in range(20)]
        )
        self.assertEqual([r["Echo"]["n"] for r in results], list(range(20)))
        self.assertEqual(len(self.pool._addresses), 1)
        reply = yield self.pool.call(self.address, "Entries", {})
        self.assertEqual(reply["Entries"], [DirEntry("k", b"v", 0, 1, 2)])

    @defer.inlineCallbacks
    def test_rpc_errors_keep_their_status(self):
        with self.assertRaises(RPCError) as caught:
            yield self.pool.call(self.address, "Fail", {})
        self.assertEqual((caught.exception.message, caught.exception.status), ("No cluster leader", 500))

    @defer.inlineCallbacks
    def test_unreachable_server(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = s.getsockname()[1]
        # Several callers wait on the same failed connection: each is told.
        calls = [self.pool.call("127.0.0.1:%d" % free, "Echo", {}) for _ in range(3)]
        for call in calls:
            with self.assertRaises(RPCNotSent):
                yield call

    @defer.inlineCallbacks
    def test_a_request_lost_on_the_wire_is_not_safe_to_resend(self):
        # The server never answers "Hang" and the connection drops.
        hanging = self.pool.call(self.address, "Hang", {})
        yield self.pool.call(self.address, "Echo", {})  # the request is out
        [state] = self.pool._addresses.values()
        state.client.transport.abortConnection()
        with self.assertRaises(RPCUnavailable) as caught:
            yield hanging
        self.assertNotIsInstance(caught.exception, RPCNotSent)

    @defer.inlineCallbacks
    def test_blocked_by_fault_injection(self):
        faults = Faults()
        pool = RPCClientPool(reactor, faults=faults)
        self.addCleanup(pool.close)
        yield pool.call(self.address, "Echo", {})
        faults.block(["127.0.0.1"])
        with self.assertRaises(RPCNotSent):
            yield pool.call(self.address, "Echo", {})

    @defer.inlineCallbacks
    def test_raft_messages_and_snapshots_arrive(self):
        meta = SnapshotMeta(7, 2, Configuration([Server("a", "x")]))
        sender_store = MemorySnapshotStore()
        sender_store.save(meta, lambda f: f.write(b"s" * 600_000))
        sender = RaftTransport(reactor, sender_store)
        self.addCleanup(sender.stop)
        sender.address_of = lambda server_id: self.address
        sent = []
        sender.on_snapshot_sent = lambda peer, ok: sent.append((peer, ok))
        sender.send([AppendResponse(2, "a", "b", True, 5)])
        deadline = reactor.seconds() + 5
        while len(self.received) < 1 and reactor.seconds() < deadline:
            yield later()
        sender.send([SnapshotRequest(2, "a", "b", meta)])
        while len(self.received) < 2 and reactor.seconds() < deadline:
            yield later()
        self.assertEqual(self.received, [AppendResponse(2, "a", "b", True, 5), SnapshotRequest(2, "a", "b", meta)])
        self.assertEqual(self.arrived, [(meta, b"s" * 600_000)])
        self.assertEqual(sent, [("b", True)])

    @defer.inlineCallbacks
    def test_garbage_closes_only_that_connection(self):
        port = self.port.getHost().port

        def send_garbage(garbage):
            # A plain socket, in a thread: the reactor must keep running.
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(garbage)
                client.settimeout(5)
                try:
                    return client.recv(10)
                except ConnectionResetError:
                    return b""  # aborted: closed all the same

        for garbage in (b"\x07hello", b"\x01\x00\x00\x00\x03\xc1\xc1\xc1", b"\x00\xff\xff\xff\xff"):
            answer = yield threads.deferToThread(send_garbage, garbage)
            self.assertEqual(answer, b"")  # closed by the server
        reply = yield self.pool.call(self.address, "Echo", {"still": "works"})
        self.assertEqual(reply["Echo"], {"still": "works"})
        self.flushLoggedErrors()
