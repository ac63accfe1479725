"""An in-memory network for gossip cores, in virtual time.

``SimulatedNetwork`` drives any number of members that speak the core's
driver interface (``Membership`` and ``SerfNode`` both do)::

    addr                                   -> (host, port)
    handle_packet(sender, messages, now)   -> effects
    handle_stream(conn_id, sender, message, now)
    handle_stream_reply(exchange_id, message, now)
    stream_failed(exchange_id, reason, now)
    tick(now)
    next_deadline()                        -> float | None

It jumps from one event to the next (a delivery, a timer a member asked
for, a fault being injected), so a minute of a 500-member cluster takes as
long as the work in it, never a minute. Faults:

- ``loss``: each datagram is dropped with this probability (seeded).
- ``delay``: each datagram and stream message takes a uniform delay;
  ``link_delay(sender, to)``, if given, decides the delay of each datagram
  instead (a network of sites, for the coordinates).
- ``partition(*groups)`` / ``heal()``: members in different groups cannot
  reach each other (datagrams vanish, streams time out).
- ``kill(addr)``: the member stops for good (datagrams vanish, connections
  are refused).
- ``stall(addr, seconds)``: the member is frozen (a GC pause, SIGSTOP);
  what arrives for it waits, and when it wakes its overdue timers fire
  first, then it reads what queued up.

With ``wire=True`` every datagram and stream frame goes through the real
codec (and the keyring, if given); otherwise the message objects travel as
they are and only their encoded size is counted.
"""

import heapq
import random
from collections import Counter
from typing import Any, Callable, Iterable, Optional

from pyconsul.codec.gossip import (
    ENCRYPTION_OVERHEAD,
    STREAM_LENGTH_PREFIX,
    CodecError,
    Keyring,
    decode_message,
    decode_packet,
    encode_message,
    pack_packet,
    packed_size,
)
from pyconsul.core.swim.effects import OpenStream, ReplyStream, SendPacket

Address = tuple[str, int]
Listener = Callable[[Address, Any, float], None]

# Kinds of scheduled events.
_WAKE = 0  # a member's own deadline
_PACKET = 1
_STREAM_OPEN = 2  # a request reaches the responder
_STREAM_REPLY = 3  # the reply reaches the initiator
_STREAM_TIMEOUT = 4
_RESUME = 5  # a stalled member wakes up
_CALL = 6  # a scheduled action of the test itself


class TrafficStats:
    def __init__(self) -> None:
        self.packets_sent = 0
        self.packet_bytes = 0
        self.packets_lost = 0
        self.packets_undecodable = 0
        self.streams_opened = 0
        self.stream_bytes = 0
        self.bytes_by_member: Counter = Counter()

    @property
    def total_bytes(self) -> int:
        return self.packet_bytes + self.stream_bytes


class _Connection:
    __slots__ = ("initiator", "responder", "exchange_id", "open")

    def __init__(self, initiator: Address, responder: Address, exchange_id: int):
        self.initiator = initiator
        self.responder = responder
        self.exchange_id = exchange_id
        self.open = True


class SimulatedNetwork:
    def __init__(
        self,
        *,
        seed: int = 0,
        loss: float = 0.0,
        delay: tuple[float, float] = (0.0005, 0.002),
        start: float = 0.0,
        wire: bool = False,
        keyring: Optional[Keyring] = None,
        link_delay: Optional[Callable[[Address, Address], float]] = None,
    ):
        self.rng = random.Random(seed)
        self.loss = loss
        self.delay = delay
        self.link_delay = link_delay
        self.now = start
        self.wire = wire
        self.keyring = keyring
        self.members: dict[Address, Any] = {}
        self.listeners: list[Listener] = []
        self.stats = TrafficStats()
        self._events: list[tuple[float, int, int, Any]] = []
        self._serial = 0
        self._wake_at: dict[Address, float] = {}
        self._killed: set[Address] = set()
        self._stalled_until: dict[Address, float] = {}
        self._backlog: dict[Address, list[tuple[int, Any]]] = {}
        self._group: dict[Address, int] = {}
        self._connections: dict[int, _Connection] = {}
        self._connection_ids = 0

    # ------------------------------------------------------------------
    # Setting up and injecting faults.

    def add(self, member: Any, effects: Iterable[Any] = ()) -> Any:
        """Attach a member; ``effects`` it already produced are carried out."""
        self.members[member.addr] = member
        self._killed.discard(member.addr)
        self._carry_out(member.addr, list(effects))
        return member

    def listen(self, listener: Listener) -> None:
        """Call ``listener(addr, effect, now)`` for every event a member reports."""
        self.listeners.append(listener)

    def kill(self, addr: Address) -> None:
        self._killed.add(addr)
        self._stalled_until.pop(addr, None)
        self._backlog.pop(addr, None)
        self._wake_at.pop(addr, None)

    def is_killed(self, addr: Address) -> bool:
        return addr in self._killed

    def stall(self, addr: Address, seconds: float) -> None:
        until = max(self._stalled_until.get(addr, self.now), self.now + seconds)
        self._stalled_until[addr] = until
        self._push(until, _RESUME, addr)

    def is_stalled(self, addr: Address) -> bool:
        return addr in self._stalled_until

    def partition(self, *groups: Iterable[Address]) -> None:
        """Cut the network: each group only reaches itself; members named in
        no group form one more group together."""
        self._group = {}
        for number, group in enumerate(groups, start=1):
            for addr in group:
                self._group[addr] = number

    def heal(self) -> None:
        self._group = {}

    def reachable(self, a: Address, b: Address) -> bool:
        group = self._group
        return not group or group.get(a, 0) == group.get(b, 0)

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run ``action()`` at virtual time ``when`` (to inject a fault mid-run)."""
        self._push(when, _CALL, action)

    def call(self, addr: Address, method: str, *args: Any) -> None:
        """Give a member an input now, e.g. ``call(addr, "leave")``; its
        effects are carried out like any other."""
        member = self.members[addr]
        self._carry_out(addr, getattr(member, method)(*args, self.now))

    # ------------------------------------------------------------------
    # Running.

    def run_until(self, when: float) -> None:
        events = self._events
        while events and events[0][0] <= when:
            moment, _, kind, data = heapq.heappop(events)
            self.now = moment
            self._dispatch(kind, data)
        if when > self.now:
            self.now = when

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until_true(
        self, condition: Callable[[], bool], timeout: float, step: float = 0.1
    ) -> bool:
        """Advance in ``step``s until ``condition()`` holds; False on timeout."""
        deadline = self.now + timeout
        while not condition():
            if self.now >= deadline:
                return False
            self.run_until(min(self.now + step, deadline))
        return True

    # ------------------------------------------------------------------
    # Internals.

    def _push(self, when: float, kind: int, data: Any) -> None:
        self._serial += 1
        heapq.heappush(self._events, (when, self._serial, kind, data))

    def _schedule_wake(self, addr: Address) -> None:
        deadline = self.members[addr].next_deadline()
        if deadline is None:
            self._wake_at.pop(addr, None)
            return
        if deadline < self.now:
            deadline = self.now
        if self._wake_at.get(addr) != deadline:
            self._wake_at[addr] = deadline
            self._push(deadline, _WAKE, addr)

    def _dispatch(self, kind: int, data: Any) -> None:
        if kind == _WAKE:
            addr = data
            if self._wake_at.get(addr) != self.now or addr in self._stalled_until:
                return  # superseded, or frozen (it catches up when it resumes)
            del self._wake_at[addr]
            self._carry_out(addr, self.members[addr].tick(self.now))
        elif kind == _RESUME:
            self._resume(data)
        elif kind == _CALL:
            data()
        else:
            self._deliver(kind, data)

    def _deliver(self, kind: int, data: Any) -> None:
        addr = data[0]
        if addr in self._killed or addr not in self.members:
            if kind == _STREAM_OPEN:
                self._refuse(data[2])
            return
        if addr in self._stalled_until:
            self._backlog.setdefault(addr, []).append((kind, data))
            return
        member = self.members[addr]
        if kind == _PACKET:
            _, sender, payload = data
            if self.wire:
                try:
                    if self.keyring is not None:
                        payload = self.keyring.open(payload)
                    payload = decode_packet(payload)
                except CodecError:
                    self.stats.packets_undecodable += 1
                    return
            self._carry_out(addr, member.handle_packet(sender, payload, self.now))
        elif kind == _STREAM_OPEN:
            _, sender, conn_id, message = data
            connection = self._connections.get(conn_id)
            if connection is None or not connection.open:
                return
            self._carry_out(addr, member.handle_stream(conn_id, sender, message, self.now))
        elif kind == _STREAM_REPLY:
            _, conn_id, message = data
            connection = self._connections.pop(conn_id, None)
            if connection is None or not connection.open:
                return
            connection.open = False
            self._carry_out(
                addr, member.handle_stream_reply(connection.exchange_id, message, self.now)
            )
        elif kind == _STREAM_TIMEOUT:
            _, conn_id, reason = data
            connection = self._connections.pop(conn_id, None)
            if connection is None or not connection.open:
                return
            connection.open = False
            self._carry_out(
                addr, member.stream_failed(connection.exchange_id, reason, self.now)
            )

    def _resume(self, addr: Address) -> None:
        until = self._stalled_until.get(addr)
        if until is None or until > self.now:
            return  # killed meanwhile, or the stall was extended
        del self._stalled_until[addr]
        self._wake_at.pop(addr, None)
        member = self.members[addr]
        # Overdue timers first: the frozen process finds its timeouts expired
        # before it gets round to the packets waiting in its socket buffer.
        self._carry_out(addr, member.tick(self.now))
        for kind, data in self._backlog.pop(addr, []):
            if addr in self._stalled_until or addr in self._killed:
                break
            self._deliver(kind, data)

    def _carry_out(self, addr: Address, effects: list) -> None:
        for effect in effects:
            kind = type(effect)
            if kind is SendPacket:
                self._send_packet(addr, effect)
            elif kind is OpenStream:
                self._open_stream(addr, effect)
            elif kind is ReplyStream:
                self._reply_stream(addr, effect)
            else:
                for listener in self.listeners:
                    listener(addr, effect, self.now)
        if addr in self.members and addr not in self._killed:
            self._schedule_wake(addr)

    def _latency(self) -> float:
        low, high = self.delay
        return low + (high - low) * self.rng.random()

    def _stream_latency(self, handshake: bool) -> float:
        """A stream crosses the same lossy network as datagrams, but TCP
        resends what is lost: a lost handshake packet costs a 1 s
        retransmission timeout, a lost data segment 200 ms (each doubling)."""
        delay = self._latency()
        if self.loss:
            chance = self.rng.random
            for timeout, packets in ((1.0, 2 if handshake else 0), (0.2, 1)):
                for _ in range(packets):
                    while chance() < self.loss:
                        delay += timeout
                        timeout *= 2
        return delay

    def _send_packet(self, sender: Address, packet: SendPacket) -> None:
        stats = self.stats
        size = packed_size(packet.parts)
        if self.keyring is not None:
            size += ENCRYPTION_OVERHEAD
        stats.packets_sent += 1
        stats.packet_bytes += size
        stats.bytes_by_member[sender] += size
        to = packet.to
        if (self.loss and self.rng.random() < self.loss) or not self.reachable(sender, to):
            stats.packets_lost += 1
            return
        if self.wire:
            payload: Any = pack_packet(packet.parts)
            if self.keyring is not None:
                payload = self.keyring.seal(payload)
        else:
            payload = packet.messages
        latency = self.link_delay(sender, to) if self.link_delay is not None else self._latency()
        self._push(self.now + latency, _PACKET, (to, sender, payload))

    def _frame(self, sender: Address, message: Any) -> Any:
        """Count a stream frame's bytes; in wire mode, send it through the codec."""
        body = encode_message(message)
        size = STREAM_LENGTH_PREFIX + len(body)
        if self.keyring is not None:
            size += ENCRYPTION_OVERHEAD
        self.stats.stream_bytes += size
        self.stats.bytes_by_member[sender] += size
        if self.wire:
            if self.keyring is not None:
                body = self.keyring.open(self.keyring.seal(body))
            return decode_message(body)
        return message

    def _open_stream(self, initiator: Address, request: OpenStream) -> None:
        self.stats.streams_opened += 1
        self._connection_ids += 1
        conn_id = self._connection_ids
        self._connections[conn_id] = _Connection(initiator, request.to, request.exchange_id)
        responder = request.to
        if responder in self._killed or responder not in self.members:
            self._push(self.now + self._latency(), _STREAM_TIMEOUT, (initiator, conn_id, "connection refused"))
            return
        # Whatever happens, the initiator gives up after its timeout.
        self._push(self.now + request.timeout, _STREAM_TIMEOUT, (initiator, conn_id, "i/o timeout"))
        if not self.reachable(initiator, responder):
            return
        message = self._frame(initiator, request.message)
        self._push(
            self.now + self._stream_latency(handshake=True),
            _STREAM_OPEN,
            (responder, initiator, conn_id, message),
        )

    def _refuse(self, conn_id: int) -> None:
        connection = self._connections.get(conn_id)
        if connection is not None:
            self._push(
                self.now + self._latency(),
                _STREAM_TIMEOUT,
                (connection.initiator, conn_id, "connection reset"),
            )

    def _reply_stream(self, responder: Address, reply: ReplyStream) -> None:
        connection = self._connections.get(reply.conn_id)
        if connection is None or not connection.open:
            return
        if not self.reachable(responder, connection.initiator):
            return  # the initiator's timeout will fire
        message = self._frame(responder, reply.message)
        self._push(
            self.now + self._stream_latency(handshake=False),
            _STREAM_REPLY,
            (connection.initiator, reply.conn_id, message),
        )


# ----------------------------------------------------------------------
# Building simulated clusters.


def member_name(index: int) -> str:
    return f"node-{index:04d}"


def member_address(index: int, port: int = 8301) -> Address:
    """A distinct private address per member: 10.x.y.z."""
    return (f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}", port)


def swim_cluster(
    size: int,
    *,
    network: SimulatedNetwork,
    seed: int = 0,
    config: Any = None,
    joined: bool = True,
    first_index: int = 0,
) -> list:
    """``size`` membership cores on ``network``.

    With ``joined`` every member starts knowing all the others as alive, as
    a cluster does once it has converged; otherwise each knows only itself.
    """
    from pyconsul.core.swim.messages import DEFAULT_VSN, PushNodeState, Status
    from pyconsul.core.swim.node import Membership

    members = [
        Membership(
            member_name(index),
            member_address(index),
            rng=random.Random(seed * 1_000_003 + index),
            now=network.now,
            config=config,
        )
        for index in range(first_index, first_index + size)
    ]
    view = [
        PushNodeState(m.name, m.addr, b"", m.incarnation, int(Status.ALIVE), DEFAULT_VSN)
        for m in members
    ]
    for member in members:
        if joined:
            member.preload(view, network.now)
        network.add(member)
    return members


def serf_cluster(
    size: int,
    *,
    network: SimulatedNetwork,
    seed: int = 0,
    swim_config: Any = None,
    serf_config: Any = None,
    joined: bool = True,
    first_index: int = 0,
    tags: Optional[Callable[[int], dict]] = None,
) -> list:
    """``size`` Serf nodes on ``network`` (see ``swim_cluster``); ``tags(i)``
    gives member i's tags."""
    from pyconsul.core.serf.node import SerfNode
    from pyconsul.core.swim.messages import DEFAULT_VSN, PushNodeState, Status

    nodes = [
        SerfNode(
            member_name(index),
            member_address(index),
            rng=random.Random(seed * 1_000_003 + index),
            now=network.now,
            tags=tags(index) if tags else None,
            config=serf_config,
            swim_config=swim_config,
        )
        for index in range(first_index, first_index + size)
    ]
    view = []
    for node in nodes:
        me = node.membership.local_member
        view.append(
            PushNodeState(me.name, me.addr, me.meta, me.incarnation, int(Status.ALIVE), DEFAULT_VSN)
        )
    for node in nodes:
        network.add(node, node.preload(view, network.now) if joined else [])
    return nodes
