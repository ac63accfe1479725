"""Gossip on the reactor: UDP datagrams and TCP streams for a Serf node.

The membership core (``pyconsul.core.serf.SerfNode``) decides everything;
this module moves its bytes and its time. One UDP port and one TCP port, the
same number (8301 on the LAN), carry the gossip: datagrams for probes and
piggybacked news, short TCP exchanges for push-pull state syncs and joins.
After every input the driver carries out the core's effects and re-arms a
single timer at the core's next deadline.

Malformed or foreign input (wrong gossip key, truncated, garbage) is counted
and logged, never raised: anyone can send a datagram to 8301.
"""

import itertools
import socket
import struct

from twisted.internet import defer, protocol
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint

from pyconsul.codec import gossip as codec
from pyconsul.core.serf import events as serf_events
from pyconsul.core.swim import effects
from pyconsul.logs import Logger
from pyconsul.net.faults import NO_FAULTS

DEFAULT_PORT = 8301
STREAM_IDLE_TIMEOUT = 10.0  # memberlist's TCPTimeout on the LAN
MALFORMED_LOG_INTERVAL = 10.0  # at most one "malformed packet" line per sender per interval


class JoinFailed(Exception):
    """No address given to join answered."""


def parse_join_address(text, default_port=DEFAULT_PORT):
    """ "10.0.0.1", "10.0.0.1:8301", "[::1]:8301", "host" -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError("no host in %r" % text)
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("bad port in %r" % text)
        return host, int(port)
    return host, default_port


class Wire:
    """Gossip bytes, sealed with the keyring when encryption is on."""

    def __init__(self, keyring=None):
        self.keyring = keyring

    def seal(self, data):
        return self.keyring.seal(data) if self.keyring is not None else data

    def open(self, data):
        return self.keyring.open(data) if self.keyring is not None else data

    def packet(self, parts):
        return self.seal(codec.pack_packet(parts))

    def messages(self, datagram):
        return codec.decode_packet(self.open(datagram))

    def frame(self, message):
        body = self.seal(codec.encode_message(message))
        return struct.pack(">I", len(body)) + body

    def frame_message(self, body):
        return codec.decode_message(self.open(body))


class FrameReader:
    """Splits a TCP byte stream into length-prefixed frames."""

    def __init__(self):
        self._buffer = b""
        self._length = None

    def feed(self, data):
        """Complete frame bodies so far; raises CodecError on a bad length."""
        self._buffer += data
        frames = []
        while True:
            if self._length is None:
                if len(self._buffer) < codec.STREAM_LENGTH_PREFIX:
                    return frames
                prefix = self._buffer[: codec.STREAM_LENGTH_PREFIX]
                self._length = codec.stream_frame_length(prefix)
                self._buffer = self._buffer[codec.STREAM_LENGTH_PREFIX :]
            if len(self._buffer) < self._length:
                return frames
            frames.append(self._buffer[: self._length])
            self._buffer = self._buffer[self._length :]
            self._length = None


class GossipDatagrams(protocol.DatagramProtocol):
    def __init__(self, driver):
        self.driver = driver

    def datagramReceived(self, data, addr):
        self.driver.datagram_received(data, (addr[0], addr[1]))


class IncomingStream(protocol.Protocol):
    """A peer's push-pull (or fallback ping): one frame in, one frame out."""

    def __init__(self, driver, conn_id):
        self.driver = driver
        self.conn_id = conn_id
        self.reader = FrameReader()
        self.timeout = None

    def connectionMade(self):
        self.timeout = self.driver.clock.callLater(STREAM_IDLE_TIMEOUT, self.transport.abortConnection)

    def dataReceived(self, data):
        peer = self.transport.getPeer()
        try:
            frames = self.reader.feed(data)
            for body in frames:
                message = self.driver.wire.frame_message(body)
                self.driver.stream_received(self, (peer.host, peer.port), message)
                return
        except codec.CodecError as error:
            self.driver.malformed((peer.host, peer.port), error, "stream")
            self.transport.abortConnection()

    def reply(self, message):
        self.transport.write(self.driver.wire.frame(message))
        self.transport.loseConnection()

    def connectionLost(self, reason):
        if self.timeout is not None and self.timeout.active():
            self.timeout.cancel()
        self.driver.stream_closed(self.conn_id)


class IncomingStreams(protocol.ServerFactory):
    noisy = False

    def __init__(self, driver):
        self.driver = driver
        self.ids = itertools.count(1)

    def buildProtocol(self, addr):
        return IncomingStream(self.driver, next(self.ids))


class OutgoingStream(protocol.Protocol):
    """Our side of an exchange: send one frame, read one frame back."""

    def __init__(self, driver, exchange_id, message):
        self.driver = driver
        self.exchange_id = exchange_id
        self.message = message
        self.reader = FrameReader()

    def connectionMade(self):
        self.transport.write(self.driver.wire.frame(self.message))

    def dataReceived(self, data):
        try:
            frames = self.reader.feed(data)
            if frames:
                reply = self.driver.wire.frame_message(frames[0])
                self.driver.exchange_finished(self.exchange_id, reply=reply)
                self.transport.loseConnection()
        except codec.CodecError as error:
            self.driver.exchange_finished(self.exchange_id, error="bad reply: %s" % error)
            self.transport.abortConnection()

    def connectionLost(self, reason):
        self.driver.exchange_finished(self.exchange_id, error="connection closed: %s" % reason.value)


class GossipDriver:
    """Runs one Serf node (a LAN or WAN pool) on the reactor."""

    log = Logger()

    def __init__(self, node, clock, reactor=None, keyring=None, pool="LAN", faults=NO_FAULTS):
        self.node = node
        self.faults = faults
        self.clock = clock
        self.reactor = reactor or clock
        self.wire = Wire(keyring)
        self.pool = pool
        self.udp = None  # the listening UDP port, set by start()
        self.tcp = None
        self.counters = {"malformed_packets": 0, "malformed_streams": 0}
        self._timer = None
        self._incoming = {}  # conn_id -> IncomingStream
        self._exchanges = {}  # exchange_id -> (connector Deferred, timer, connection)
        self._joins = []  # [pending addresses, successes, errors, Deferred]
        self._leaves = []
        self._listeners = []
        self._last_malformed_log = {}
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------

    def start(self, interface, port):
        """Listen on UDP and TCP ``port`` (raises CannotListenError)."""
        self.udp = self.reactor.listenUDP(port, GossipDatagrams(self), interface=interface)
        try:
            self.tcp = self.reactor.listenTCP(port, IncomingStreams(self), interface=interface)
        except Exception:
            self.udp.stopListening()
            raise
        self._rearm()

    def stop(self):
        self._stopped = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        for connecting, timer, connection in list(self._exchanges.values()):
            connecting.cancel()
            if timer.active():
                timer.cancel()
            if connection is not None:
                connection.transport.abortConnection()
        self._exchanges.clear()
        ports = [p for p in (self.udp, self.tcp) if p is not None]
        return defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])

    def subscribe(self, listener):
        """Call ``listener(event)`` for every Serf event (member events,
        ``serf_events.UserEvent``...)."""
        self._listeners.append(listener)

    # -- commands --------------------------------------------------------------

    def join(self, addresses):
        """Contact each ``host[:port]``; fires with how many answered.

        Fails with JoinFailed (naming every error) when none did."""
        try:
            # An address without a port means this pool's own port (memberlist's BindPort).
            targets = [parse_join_address(a, self.node.addr[1]) for a in addresses]
        except ValueError as error:
            return defer.fail(JoinFailed(str(error)))
        if not targets:
            return defer.fail(JoinFailed("no address to join"))
        d = defer.gatherResults([self._resolve(host) for host, _ in targets], consumeErrors=True)
        d.addCallback(lambda hosts: self._join_resolved(list(zip(hosts, (p for _, p in targets)))))
        d.addErrback(self._unwrap_first_error)
        return d

    def _resolve(self, host):
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
            return defer.succeed(host)
        except OSError:
            pass
        d = self.reactor.resolve(host)
        d.addErrback(lambda f: defer.fail(JoinFailed("cannot resolve %s: %s" % (host, f.value))))
        return d

    @staticmethod
    def _unwrap_first_error(failure):
        if failure.check(defer.FirstError):
            return failure.value.subFailure
        return failure

    def _join_resolved(self, addresses):
        done = defer.Deferred()
        self._joins.append([list(addresses), 0, [], done])
        # As Consul's agents join: the user events from before are not replayed.
        self._run(self.node.join(addresses, self.clock.seconds(), ignore_old=True))
        return done

    def user_event(self, name, payload, coalesce=False):
        """Gossip a user event; raises UserEventTooLarge with serf's wording."""
        self._run(self.node.user_event(name, payload, self.clock.seconds(), coalesce=coalesce))

    def leave(self):
        """Leave gracefully; fires when the leave has gone out to the cluster."""
        d = defer.Deferred()
        self._leaves.append(d)
        self._run(self.node.leave(self.clock.seconds()))
        return d

    def force_leave(self, name, prune=False):
        if self.node.member(name) is None:
            raise KeyError(name)
        self._run(self.node.force_leave(name, self.clock.seconds(), prune=prune))

    def set_tags(self, tags):
        self._run(self.node.set_tags(tags, self.clock.seconds()))

    def members(self):
        return self.node.members()

    @property
    def local_member(self):
        return self.node.local_member

    # -- inputs ----------------------------------------------------------------

    def datagram_received(self, data, sender):
        try:
            messages = self.wire.messages(data)
        except codec.CodecError as error:
            self.malformed(sender, error, "packet")
            return
        self._run(self.node.handle_packet(sender, messages, self.clock.seconds()))

    def stream_received(self, connection, sender, message):
        self._incoming[connection.conn_id] = connection
        self._run(self.node.handle_stream(connection.conn_id, sender, message, self.clock.seconds()))

    def stream_closed(self, conn_id):
        self._incoming.pop(conn_id, None)

    def exchange_finished(self, exchange_id, reply=None, error=None):
        pending = self._exchanges.pop(exchange_id, None)
        if pending is None:
            return  # already answered, failed or timed out
        _, timer, _ = pending
        if timer.active():
            timer.cancel()
        now = self.clock.seconds()
        if error is None:
            self._run(self.node.handle_stream_reply(exchange_id, reply, now))
        else:
            self._run(self.node.stream_failed(exchange_id, error, now))

    def malformed(self, sender, error, kind):
        self.counters["malformed_%ss" % kind] += 1
        now = self.clock.seconds()
        last = self._last_malformed_log.get(sender[0])
        if last is not None and now - last < MALFORMED_LOG_INTERVAL:
            return
        if len(self._last_malformed_log) > 1024:
            self._last_malformed_log.clear()
        self._last_malformed_log[sender[0]] = now
        hint = (
            "is -encrypt set to the same key on every agent?"
            if self.wire.keyring is not None or "key" in str(error)
            else "a peer with gossip encryption on cannot talk to this agent, which has it off"
        )
        self.log.warn(
            "serf ({pool}): dropped a malformed gossip {kind} from {host}:{port}: {error} ({hint})",
            pool=self.pool,
            kind=kind,
            host=sender[0],
            port=sender[1],
            error=error,
            hint=hint,
        )

    def _tick(self):
        self._timer = None
        if not self._stopped:
            self._run(self.node.tick(self.clock.seconds()))

    # -- effects ---------------------------------------------------------------

    def _run(self, results):
        for effect in results:
            self._carry_out(effect)
        self._rearm()

    def _rearm(self):
        if self._stopped:
            return
        deadline = self.node.next_deadline()
        if self._timer is not None:
            if deadline is not None and abs(self._timer.getTime() - deadline) < 1e-6:
                return
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        if deadline is not None:
            delay = max(0.0, deadline - self.clock.seconds())
            self._timer = self.clock.callLater(delay, self._tick)

    def _carry_out(self, effect):
        if isinstance(effect, effects.SendPacket):
            if self.udp is not None and not self._stopped and not self.faults.blocks(effect.to[0]):
                try:
                    self.udp.write(self.wire.packet(effect.parts), effect.to)
                except OSError as error:
                    self.log.debug("serf: sending to {to} failed: {error}", to=effect.to, error=error)
        elif isinstance(effect, effects.OpenStream):
            self._open_stream(effect)
        elif isinstance(effect, effects.ReplyStream):
            connection = self._incoming.pop(effect.conn_id, None)
            if connection is not None:
                connection.reply(effect.message)
        elif isinstance(effect, effects.JoinResult):
            self._join_result(effect)
        elif isinstance(effect, serf_events.MemberEvent):
            self._member_event(effect)
        elif isinstance(effect, serf_events.LeaveComplete):
            leaves, self._leaves = self._leaves, []
            for d in leaves:
                d.callback(None)
        for listener in self._listeners:
            listener(effect)

    def _open_stream(self, effect):
        if self._stopped:
            return
        host, port = effect.to
        if self.faults.blocks(host):
            self.clock.callLater(0, self._blocked_stream, effect.exchange_id)
            return
        endpoint_type = TCP6ClientEndpoint if ":" in host else TCP4ClientEndpoint
        endpoint = endpoint_type(self.reactor, host, port, timeout=effect.timeout)
        factory = protocol.Factory.forProtocol(
            lambda: OutgoingStream(self, effect.exchange_id, effect.message)
        )
        factory.noisy = False
        connecting = endpoint.connect(factory)
        timer = self.clock.callLater(
            effect.timeout, self.exchange_finished, effect.exchange_id, error="timed out"
        )
        self._exchanges[effect.exchange_id] = (connecting, timer, None)

        def connected(connection):
            if effect.exchange_id in self._exchanges:
                self._exchanges[effect.exchange_id] = (connecting, timer, connection)
            else:
                connection.transport.abortConnection()

        def failed(failure):
            self.exchange_finished(effect.exchange_id, error=str(failure.value))

        connecting.addCallbacks(connected, failed)

    def _blocked_stream(self, exchange_id):
        self._run(self.node.stream_failed(exchange_id, "blocked by fault injection", self.clock.seconds()))

    def _join_result(self, result):
        for join in self._joins:
            pending, _, errors, d = join
            if result.addr in pending:
                pending.remove(result.addr)
                if result.error is None:
                    join[1] += 1
                else:
                    errors.append("%s:%d: %s" % (result.addr[0], result.addr[1], result.error))
                if not pending:
                    self._joins.remove(join)
                    if join[1]:
                        d.callback(join[1])
                    else:
                        d.errback(JoinFailed("; ".join(errors)))
                return

    def _member_event(self, event):
        member = event.member
        self.log.info(
            "serf ({pool}): {kind}: {name} {addr}",
            pool=self.pool,
            kind=event.type.value,
            name=member.name,
            addr="%s:%d" % (member.addr, member.port),
        )
