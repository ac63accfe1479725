"""The membership state machine: SWIM failure detection with Lifeguard.

``Membership`` is one member's view of the cluster. It does no I/O and reads
no clock: every input carries ``now`` (seconds, any origin), randomness comes
from the ``random.Random`` it is given, and every input returns a list of
effects (see ``effects``) for the driver to carry out. Between inputs the
driver asks ``next_deadline()`` and calls ``tick(now)`` once it has passed.

The protocol, as memberlist runs it:

- Every probe interval, ping the next member of a shuffled round-robin list.
  No ack within the probe timeout: ask ``indirect_checks`` others to ping it
  for us (they nack if they get nothing either). Still no ack by the end of
  the (health-scaled) probe interval: suspect it.
- A suspect is declared dead when its suspicion timer runs out; the timer
  shrinks as other members independently suspect it too. A member that hears
  it is suspected (or declared dead) refutes by raising its incarnation.
- Every change is queued as a broadcast, piggybacked on other packets and
  sent to a few random members every gossip interval.
- Now and then, exchange the full state with a random member over a stream
  (push-pull); joining is a push-pull with the addresses given.
"""

import math
import random
from collections import Counter
from typing import Any, Callable, Hashable, Iterable, Optional

from pyconsul.codec.gossip import (
    COMPOUND_HEADER_OVERHEAD,
    COMPOUND_PART_OVERHEAD,
    ENCRYPTION_OVERHEAD,
    encode_message,
)
from pyconsul.core.swim import effects
from pyconsul.core.swim.broadcasts import BroadcastQueue
from pyconsul.core.swim.config import SwimConfig
from pyconsul.core.swim.effects import Member, MemberEvent, OpenStream, SendPacket
from pyconsul.core.swim.messages import (
    DEFAULT_VSN,
    Ack,
    Address,
    Alive,
    Dead,
    IndirectPing,
    Nack,
    Ping,
    PushNodeState,
    PushPull,
    Status,
    Suspect,
)
from pyconsul.core.swim.suspicion import Suspicion
from pyconsul.core.swim.timers import Timer, Timers
from pyconsul.core.swim.timing import (
    Awareness,
    expected_confirmations,
    push_pull_interval,
    retransmit_limit,
    suspicion_timeout,
)

ALIVE, SUSPECT, DEAD, LEFT = Status.ALIVE, Status.SUSPECT, Status.DEAD, Status.LEFT

# The notify token of our own leave broadcast.
_LEAVE = object()

# When a suspect is asked directly whether it is still there, in probe
# intervals before the suspicion's deadline.
_CHECKS_BEFORE_VERDICT = (1.0, 0.5)


class NodeState:
    """What we know about one member (ourselves included)."""

    __slots__ = ("name", "addr", "meta", "vsn", "incarnation", "status", "changed_at")

    def __init__(self, name: str, addr: Address, meta: bytes, vsn: tuple, now: float):
        self.name = name
        self.addr = addr
        self.meta = meta
        self.vsn = vsn
        self.incarnation = 0
        self.status = DEAD  # until an Alive says otherwise
        self.changed_at = now

    def snapshot(self) -> Member:
        return Member(self.name, self.addr, self.meta, self.vsn, self.incarnation, self.status)


class _Probe:
    """The probe in flight (there is at most one)."""

    __slots__ = (
        "seq", "target", "incarnation", "expected_nacks", "nacks", "timers", "reached_by_stream",
        "sent_at", "direct",
    )

    def __init__(self, seq: int, target: NodeState, sent_at: float):
        self.seq = seq
        self.target = target
        self.incarnation = target.incarnation
        self.expected_nacks = 0
        self.nacks = 0
        self.timers: list[Timer] = []
        self.reached_by_stream = False
        self.sent_at = sent_at
        self.direct = True  # until the direct ping times out


class _Relay:
    """A ping we send on behalf of another member's indirect probe."""

    __slots__ = ("origin_addr", "origin_seq", "want_nack", "timer")

    def __init__(self, origin_addr: Address, origin_seq: int, want_nack: bool):
        self.origin_addr = origin_addr
        self.origin_seq = origin_seq
        self.want_nack = want_nack
        self.timer: Optional[Timer] = None


class _Exchange:
    """A stream we opened and wait to hear back from: a push-pull (for a
    join or the periodic sync) or the stream ping of a probe."""

    __slots__ = ("addr", "join", "probe")

    def __init__(self, addr: Address, join: bool = False, probe: Optional[_Probe] = None):
        self.addr = addr
        self.join = join
        self.probe = probe


class Membership:
    def __init__(
        self,
        name: str,
        addr: Address,
        *,
        rng: random.Random,
        now: float,
        config: Optional[SwimConfig] = None,
        meta: bytes = b"",
        vsn: tuple = DEFAULT_VSN,
        user_state: Optional[Callable[[bool], bytes]] = None,
        ack_payload: Optional[Callable[[], bytes]] = None,
    ):
        """``user_state(join)`` supplies the layer above's part of a push-pull;
        ``ack_payload()`` what it attaches to our acks (memberlist's ping
        delegate): the prober gets it back in a ``PingComplete``."""
        self.name = name
        self.addr = addr
        self.config = config or SwimConfig.lan()
        self._rng = rng
        self._user_state = user_state
        self._ack_payload = ack_payload
        self._now = now

        self._nodes: dict[str, NodeState] = {}
        self._probe_list: list[NodeState] = []
        self._probe_index = 0
        self._incarnation = 1
        self._seq = 0
        self._awareness = Awareness(self.config.awareness_max_multiplier)
        self._broadcasts = BroadcastQueue()
        self._suspicions: dict[str, tuple[Suspicion, Timer]] = {}
        self._timers = Timers()
        self._probe: Optional[_Probe] = None
        self._probe_owed = False  # a probe tick came while a probe was running
        self._ack_handlers: dict[int, Any] = {}
        self._exchanges: dict[int, _Exchange] = {}
        self._exchange_ids = 0
        self._leaving = False
        self._leave_pending = False
        self._effects: list[Any] = []
        self.counters: Counter = Counter()  # for metrics and benchmarks

        # Room for messages in one datagram, leaving space for the compound
        # header and for encryption whether or not it is on.
        self._room = (
            self.config.udp_buffer_size - ENCRYPTION_OVERHEAD - COMPOUND_HEADER_OVERHEAD
        )

        # Start each periodic task at a random phase so members do not march
        # in step.
        config = self.config
        self._gossip_phase = now + rng.random() * config.gossip_interval
        self._gossip_timer: Optional[Timer] = None

        me = NodeState(name, addr, meta, vsn, now)
        me.incarnation = self._incarnation
        me.status = ALIVE
        self._me = me
        self._nodes[name] = me
        self._list(me)
        self._broadcast(name, Alive(me.incarnation, name, addr, meta, vsn))

        first_probe = now + rng.random() * config.probe_interval
        self._timers.call_at(first_probe, self._on_probe_tick, first_probe)
        first_push_pull = now + rng.random() * config.push_pull_interval
        self._timers.call_at(first_push_pull, self._on_push_pull_tick)

    # ------------------------------------------------------------------
    # Inputs. Each returns the effects it caused.

    def handle_packet(self, sender: Address, messages: Iterable[Any], now: float) -> list:
        """Messages decoded from one datagram that came from ``sender``."""
        self._now = now
        handlers = self._packet_handlers
        for message in messages:
            handler = handlers.get(type(message))
            if handler is None:
                self._effects.append(effects.UserMessage(sender, message))
            else:
                handler(self, sender, message)
        return self._take_effects()

    def handle_stream(self, conn_id: Any, sender: Address, message: Any, now: float) -> list:
        """A message read from an incoming stream (a push-pull request)."""
        self._now = now
        if isinstance(message, PushPull):
            # Answer with our state as it was before theirs changes it.
            self._effects.append(effects.ReplyStream(conn_id, self._push_pull_message(False)))
            self._merge_remote(message)
        elif isinstance(message, Ping) and message.target in ("", self.name):
            self._effects.append(effects.ReplyStream(conn_id, Ack(message.seq)))
        return self._take_effects()

    def handle_stream_reply(self, exchange_id: int, message: Any, now: float) -> list:
        self._now = now
        exchange = self._exchanges.pop(exchange_id, None)
        if exchange is not None and exchange.probe is not None:
            probe = exchange.probe
            if probe is self._probe and isinstance(message, Ack) and message.seq == probe.seq:
                probe.reached_by_stream = True
        elif exchange is not None:
            if isinstance(message, PushPull):
                self._merge_remote(message)
                if exchange.join:
                    self._effects.append(effects.JoinResult(exchange.addr, None))
            elif exchange.join:
                self._effects.append(effects.JoinResult(exchange.addr, "unexpected reply"))
        return self._take_effects()

    def stream_failed(self, exchange_id: int, reason: str, now: float) -> list:
        self._now = now
        exchange = self._exchanges.pop(exchange_id, None)
        if exchange is not None and exchange.probe is None:
            self.counters["push_pull_failures"] += 1
            if exchange.join:
                self._effects.append(effects.JoinResult(exchange.addr, reason))
        return self._take_effects()

    def tick(self, now: float) -> list:
        self._now = now
        self._timers.run_due(now)
        return self._take_effects()

    def next_deadline(self) -> Optional[float]:
        return self._timers.next_deadline()

    def join(self, addresses: Iterable[Address], now: float) -> list:
        """Push-pull with each address; one ``JoinResult`` each comes back."""
        self._now = now
        for address in addresses:
            self._open_exchange(address, join=True)
        return self._take_effects()

    def leave(self, now: float) -> list:
        """Tell the cluster we are leaving on purpose. ``LeaveFinished`` comes
        back once the message has been sent as often as a broadcast is (at
        once if there is nobody to tell). Probing stops; the driver keeps
        ticking until then."""
        self._now = now
        if not self._leaving:
            self._leaving = True
            self._leave_pending = True
            me = self._me
            anyone_to_tell = any(
                node.status == ALIVE and node is not me for node in self._probe_list
            )
            self._on_dead(None, Dead(me.incarnation, me.name, me.name))
            if not anyone_to_tell:
                self._finish_leave()
        return self._take_effects()

    def update_meta(self, meta: bytes, now: float) -> list:
        """Publish new metadata (Serf tags) under a new incarnation."""
        self._now = now
        me = self._me
        me.meta = meta
        self._incarnation += 1
        me.incarnation = self._incarnation
        self._broadcast(me.name, Alive(me.incarnation, me.name, me.addr, meta, me.vsn))
        self._event(effects.UPDATE, me, me.name)
        return self._take_effects()

    def queue_broadcast(
        self, key: Optional[Hashable], message: Any, now: float, notify: Any = None
    ) -> None:
        """Gossip a message of the layer above. A later broadcast with the same
        key supersedes a queued one; ``notify`` comes back in a
        ``BroadcastFinished`` when it is done."""
        self._now = now
        self._queue(key, message, notify)

    def forget(self, name: str) -> None:
        """Drop a dead or left member now rather than after
        gossip_to_the_dead_time (force-leave -prune)."""
        node = self._nodes.get(name)
        if node is None or node is self._me or node.status in (ALIVE, SUSPECT):
            return
        del self._nodes[name]
        index = self._probe_list.index(node)
        del self._probe_list[index]
        if index < self._probe_index:
            self._probe_index -= 1

    def preload(self, members: Iterable[PushNodeState], now: float) -> None:
        """Start from a known view (a snapshot, or a simulated cluster that
        has already converged): the live members in it become known at once,
        without gossip and without events. Members we know already are left
        as they are."""
        self._now = now
        for remote in members:
            if remote.status != ALIVE or remote.name in self._nodes:
                continue
            node = NodeState(remote.name, remote.addr, remote.meta, remote.vsn, now)
            node.incarnation = remote.incarnation
            node.status = ALIVE
            self._nodes[remote.name] = node
            self._list(node)

    # ------------------------------------------------------------------
    # Queries.

    def members(self) -> list[Member]:
        return [node.snapshot() for node in self._nodes.values()]

    def member(self, name: str) -> Optional[Member]:
        node = self._nodes.get(name)
        return node.snapshot() if node is not None else None

    def status_of(self, name: str) -> Optional[Status]:
        node = self._nodes.get(name)
        return node.status if node is not None else None

    @property
    def local_member(self) -> Member:
        return self._me.snapshot()

    @property
    def incarnation(self) -> int:
        return self._incarnation

    @property
    def health_score(self) -> int:
        return self._awareness.score

    @property
    def estimated_size(self) -> int:
        """Members in the probe list (ourselves and the recently dead included),
        which is what memberlist scales its timeouts and limits by."""
        return len(self._probe_list)

    @property
    def pending_broadcasts(self) -> int:
        return len(self._broadcasts)

    # ------------------------------------------------------------------
    # Probing.

    def _on_probe_tick(self, now: float, scheduled: float) -> None:
        following = scheduled + self.config.probe_interval
        self._timers.call_at(following, self._on_probe_tick, following)
        if self._leaving:
            return
        if self._probe is not None:
            # Like a Go ticker behind a slow reader: one tick waits, the rest
            # are dropped. So an unhealthy member probes less often.
            self._probe_owed = True
            return
        self._start_probe(now)

    def _start_probe(self, now: float) -> None:
        target = self._next_probe_target(now)
        if target is None:
            return
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        probe = _Probe(self._seq, target, now)
        self._probe = probe
        self._ack_handlers[probe.seq] = probe
        self.counters["probes"] += 1

        ping = Ping(probe.seq, target.name, self.addr, self.name)
        if target.status == ALIVE:
            self._send(target.addr, ping)
        else:
            # Lifeguard's buddy system: tell a suspect directly, so it can
            # refute without waiting for the gossip to reach it.
            self._send(target.addr, ping, Suspect(target.incarnation, target.name, self.name))

        config = self.config
        probe.timers = [
            self._timers.call_at(now + config.probe_timeout, self._on_direct_timeout, probe),
            self._timers.call_at(
                now + self._awareness.scale(config.probe_interval),
                self._on_probe_deadline,
                probe,
            ),
        ]

    def _next_probe_target(self, now: float) -> Optional[NodeState]:
        checked = 0
        while checked < len(self._probe_list):
            if self._probe_index >= len(self._probe_list):
                self._reshuffle_probe_list(now)
                self._probe_index = 0
                checked += 1
                continue
            node = self._probe_list[self._probe_index]
            self._probe_index += 1
            if node is self._me or node.status == DEAD or node.status == LEFT:
                checked += 1
                continue
            return node
        return None

    def _reshuffle_probe_list(self, now: float) -> None:
        """At the end of each round: forget members dead or gone for longer
        than gossip_to_the_dead_time, and shuffle the rest.

        Forgetting is what lets two halves of a long partition merge again:
        news of a member we no longer know is taken as a join. (Telling a
        left member's late news from a real return is the Serf layer's job,
        with its Lamport clocks.)"""
        keep = []
        horizon = now - self.config.gossip_to_the_dead_time
        for node in self._probe_list:
            if node.status in (DEAD, LEFT) and node.changed_at < horizon:
                del self._nodes[node.name]
            else:
                keep.append(node)
        self._rng.shuffle(keep)
        self._probe_list = keep

    def _on_direct_timeout(self, now: float, probe: _Probe) -> None:
        if self._probe is not probe:
            return
        probe.direct = False
        target = probe.target
        me = self._me
        relays = self._random_nodes(
            self.config.indirect_checks,
            lambda node: node.status == ALIVE and node is not me and node is not target,
        )
        request = IndirectPing(probe.seq, target.name, target.addr, True, self.addr, self.name)
        for relay in relays:
            self._send(relay.addr, request)
        probe.expected_nacks = len(relays)
        self.counters["indirect_probes"] += 1

        if not self.config.disable_tcp_pings and target.vsn[1] >= 3:
            # The stream ping has until the probe's deadline to get through.
            self._exchange_ids += 1
            self._exchanges[self._exchange_ids] = _Exchange(target.addr, probe=probe)
            remaining = probe.timers[1].when - now
            self._effects.append(
                OpenStream(
                    self._exchange_ids,
                    target.addr,
                    Ping(probe.seq, target.name, self.addr, self.name),
                    remaining,
                )
            )

    def _on_probe_deadline(self, now: float, probe: _Probe) -> None:
        if self._probe is not probe:
            return
        self._ack_handlers.pop(probe.seq, None)
        self._probe = None
        if probe.reached_by_stream:
            # UDP is lossy or blocked on the way, but the member is there.
            self.counters["stream_ping_saves"] += 1
            self._awareness.apply_delta(-1)
            self._probe_done(now)
            return
        # Lifeguard: if relays we asked did not even nack, the trouble is
        # probably on our side; without relays, any failure counts against us.
        if probe.expected_nacks > 0:
            self._awareness.apply_delta(max(0, probe.expected_nacks - probe.nacks))
        else:
            self._awareness.apply_delta(1)
        self.counters["failed_probes"] += 1
        self._on_suspect(None, Suspect(probe.incarnation, probe.target.name, self.name))
        self._probe_done(now)

    def _probe_succeeded(self, probe: _Probe) -> None:
        for timer in probe.timers:
            timer.cancel()
        self._probe = None
        self._awareness.apply_delta(-1)
        self._probe_done(self._now)

    def _probe_done(self, now: float) -> None:
        if self._probe_owed:
            self._probe_owed = False
            if not self._leaving:
                self._start_probe(now)

    def _on_relay_timeout(self, now: float, seq: int, relay: _Relay) -> None:
        if self._ack_handlers.get(seq) is relay:
            del self._ack_handlers[seq]
            if relay.want_nack:
                self._send(relay.origin_addr, Nack(relay.origin_seq))

    # ------------------------------------------------------------------
    # Packet handlers.

    def _on_ping(self, sender: Address, ping: Ping) -> None:
        if ping.target and ping.target != self.name:
            return  # meant for whoever had this address before us
        payload = self._ack_payload() if self._ack_payload is not None else b""
        self._send(ping.source_addr, Ack(ping.seq, payload))

    def _on_indirect_ping(self, sender: Address, request: IndirectPing) -> None:
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        seq = self._seq
        relay = _Relay(request.source_addr, request.seq, request.want_nack)
        self._ack_handlers[seq] = relay
        relay.timer = self._timers.call_at(
            self._now + self.config.probe_timeout, self._on_relay_timeout, seq, relay
        )
        self._send(request.target_addr, Ping(seq, request.target, self.addr, self.name))

    def _on_ack(self, sender: Address, ack: Ack) -> None:
        handler = self._ack_handlers.pop(ack.seq, None)
        if handler is None:
            return
        if isinstance(handler, _Probe):
            if handler is self._probe:
                if handler.direct and ack.payload:
                    # Answered within the probe timeout, so the round trip
                    # is a fair sample (memberlist's NotifyPingComplete).
                    self._effects.append(
                        effects.PingComplete(handler.target.name, self._now - handler.sent_at, ack.payload)
                    )
                self._probe_succeeded(handler)
        else:
            handler.timer.cancel()
            self._send(handler.origin_addr, Ack(handler.origin_seq))

    def _on_nack(self, sender: Address, nack: Nack) -> None:
        handler = self._ack_handlers.get(nack.seq)
        if handler is not None and handler is self._probe:
            handler.nacks += 1

    def _on_alive(self, sender: Optional[Address], alive: Alive) -> None:
        node = self._nodes.get(alive.node)
        if (
            node is not None
            and alive.incarnation <= node.incarnation
            and node is not self._me
            and alive.addr == node.addr
        ):
            return  # old news: by far the most common case, so checked first
        if self._leaving and alive.node == self.name:
            return
        vsn = alive.vsn
        if vsn[0] == 0 or vsn[1] == 0 or vsn[0] > vsn[1]:
            self.counters["bad_versions"] += 1
            return

        is_new = node is None
        readdressed = False
        if is_new:
            node = NodeState(alive.node, alive.addr, alive.meta, vsn, self._now)
            self._nodes[alive.node] = node
        elif node.addr != alive.addr:
            # Another process claims the name. Allowed only for a member that
            # left, or that has been dead long enough to be reclaimed.
            reclaim = self.config.dead_node_reclaim_time
            if node.status == LEFT or (
                node.status == DEAD and reclaim > 0 and self._now - node.changed_at > reclaim
            ):
                readdressed = True
            else:
                self.counters["address_conflicts"] += 1
                return

        is_local = node is self._me
        if not is_new and not readdressed:
            if is_local:
                if alive.incarnation < node.incarnation:
                    return
            elif alive.incarnation <= node.incarnation:
                return

        self._drop_suspicion(alive.node)
        old_status = node.status
        old_meta = node.meta

        if is_local:
            if (
                alive.incarnation == node.incarnation
                and alive.meta == node.meta
                and alive.vsn == node.vsn
            ):
                return  # our own news, come back round
            # Someone speaks for us with stale data (we restarted under the
            # same name, say): override it.
            self._refute(alive.incarnation)
            return

        self._broadcast(alive.node, alive)
        node.incarnation = alive.incarnation
        node.meta = alive.meta
        node.addr = alive.addr
        node.vsn = vsn
        if node.status != ALIVE:
            node.status = ALIVE
            node.changed_at = self._now
        if is_new:
            self._list(node)

        if is_new or old_status in (DEAD, LEFT):
            self._event(effects.JOIN, node, alive.node)
        elif old_meta != node.meta:
            self._event(effects.UPDATE, node, alive.node)

    def _on_suspect(self, sender: Optional[Address], suspect: Suspect) -> None:
        node = self._nodes.get(suspect.node)
        if node is None:
            return
        if suspect.incarnation < node.incarnation:
            if node is self._me:
                self._answer_stale_accusation(sender, suspect.sender)
            return

        pending = self._suspicions.get(suspect.node)
        if pending is not None and suspect.incarnation == node.incarnation:
            suspicion = pending[0]
            if suspicion.confirm(suspect.sender):
                self.counters["suspicion_confirmations"] += 1
                self._broadcast(suspect.node, suspect)
                self._arm_suspicion(suspect.node, suspicion)
            return
        if pending is not None:
            # A suspicion about a newer incarnation: the member refuted the
            # one we hold (we missed its Alive), and this is a new one. It
            # starts its own timer instead of hastening the old one, which
            # memberlist would do.
            self._drop_suspicion(suspect.node)
        elif node.status != ALIVE:
            return
        if node is self._me:
            self._refute(suspect.incarnation)
            return

        self._broadcast(suspect.node, suspect)
        node.incarnation = suspect.incarnation
        node.status = SUSPECT
        node.changed_at = self._now
        self.counters["suspicions"] += 1

        config = self.config
        size = len(self._probe_list)
        minimum = suspicion_timeout(config.suspicion_mult, size, config.probe_interval)
        suspicion = Suspicion(
            suspect.sender,
            expected_confirmations(config.suspicion_mult, size),
            minimum,
            minimum * config.suspicion_max_timeout_mult,
            self._now,
        )
        self._arm_suspicion(suspect.node, suspicion)
        self._event(effects.SUSPECT, node, suspect.sender)

    def _arm_suspicion(self, name: str, suspicion: Suspicion) -> None:
        """(Re)schedule a suspicion's next step: the direct checks shortly
        before its deadline, then the deadline itself."""
        pending = self._suspicions.get(name)
        if pending is not None:
            pending[1].cancel()
        interval = self.config.probe_interval
        when = suspicion.deadline
        if suspicion.checks < len(_CHECKS_BEFORE_VERDICT):
            when -= _CHECKS_BEFORE_VERDICT[suspicion.checks] * interval
        elif suspicion.last_check_at is not None:
            # Confirmations may have pulled the deadline in on top of the
            # checks: leave the last one time to be answered.
            when = max(when, suspicion.last_check_at + _CHECKS_BEFORE_VERDICT[-1] * interval)
        self._suspicions[name] = (
            suspicion,
            self._timers.call_at(max(when, self._now), self._on_suspicion_timer, name, suspicion),
        )

    def _on_suspicion_timer(self, now: float, name: str, suspicion: Suspicion) -> None:
        pending = self._suspicions.get(name)
        node = self._nodes.get(name)
        if pending is None or pending[0] is not suspicion or node is None:
            return
        if node.status != SUSPECT:
            return
        if suspicion.checks < len(_CHECKS_BEFORE_VERDICT):
            # Shortly before the verdict, tell the member directly that we
            # still suspect it. If it refuted and the news missed us (gossip
            # reaches each member with high probability, not certainty), it
            # answers this stale accusation with its current Alive in time.
            # Asked twice, so one lost datagram does not decide. An extension
            # of Lifeguard's buddy system; memberlist has no such check.
            suspicion.checks += 1
            suspicion.last_check_at = now
            self.counters["suspicion_checks"] += 1
            self._send(node.addr, Suspect(node.incarnation, name, self.name))
            self._arm_suspicion(name, suspicion)
            return
        self.counters["declared_dead"] += 1
        self._on_dead(None, Dead(node.incarnation, name, self.name))

    def _on_dead(self, sender: Optional[Address], dead: Dead) -> None:
        node = self._nodes.get(dead.node)
        if node is None:
            return
        if dead.incarnation < node.incarnation:
            if node is self._me:
                self._answer_stale_accusation(sender, dead.sender)
            return
        self._drop_suspicion(dead.node)
        if node.status in (DEAD, LEFT):
            return

        if node is self._me:
            if not self._leaving:
                self._refute(dead.incarnation)
                return
            self._broadcast(dead.node, dead, notify=_LEAVE)
        else:
            self._broadcast(dead.node, dead)

        node.incarnation = dead.incarnation
        node.status = LEFT if dead.node == dead.sender else DEAD
        node.changed_at = self._now
        self._event(effects.LEFT if node.status == LEFT else effects.DEAD, node, dead.sender)

    _packet_handlers: dict[type, Callable[..., None]] = {
        Ping: _on_ping,
        IndirectPing: _on_indirect_ping,
        Ack: _on_ack,
        Nack: _on_nack,
        Alive: _on_alive,
        Suspect: _on_suspect,
        Dead: _on_dead,
    }

    def _refute(self, accused_incarnation: int) -> None:
        """Outbid an accusation about ourselves with a fresh Alive."""
        incarnation = self._incarnation + 1
        if accused_incarnation >= incarnation:
            incarnation = accused_incarnation + 1
        self._incarnation = incarnation
        me = self._me
        me.incarnation = incarnation
        # Having to defend ourselves hints that we are the slow one.
        self._awareness.apply_delta(1)
        self.counters["refutations"] += 1
        self._broadcast(me.name, Alive(incarnation, me.name, me.addr, me.meta, me.vsn))

    def _answer_stale_accusation(self, sender: Optional[Address], accuser: str) -> None:
        """The accuser has not heard our refutation: send our current Alive
        straight back. Only to an accuser speaking for itself, so gossip
        relays of old suspicions do not make us answer the whole cluster."""
        known = self._nodes.get(accuser)
        if sender is None or known is None or known.addr != sender:
            return
        me = self._me
        self.counters["stale_accusations_answered"] += 1
        self._send(sender, Alive(me.incarnation, me.name, me.addr, me.meta, me.vsn))

    def _drop_suspicion(self, name: str) -> None:
        if name in self._suspicions:
            self._suspicions.pop(name)[1].cancel()

    # ------------------------------------------------------------------
    # Push-pull.

    def _on_push_pull_tick(self, now: float) -> None:
        interval = push_pull_interval(self.config.push_pull_interval, len(self._probe_list))
        self._timers.call_at(now + interval, self._on_push_pull_tick)
        if self._leaving:
            return
        me = self._me
        peers = self._random_nodes(1, lambda node: node.status == ALIVE and node is not me)
        if peers:
            self._open_exchange(peers[0].addr, join=False)

    def _open_exchange(self, addr: Address, join: bool) -> None:
        self._exchange_ids += 1
        self._exchanges[self._exchange_ids] = _Exchange(addr, join=join)
        self._effects.append(
            OpenStream(
                self._exchange_ids, addr, self._push_pull_message(join), self.config.tcp_timeout
            )
        )

    def _push_pull_message(self, join: bool) -> PushPull:
        nodes = tuple(
            PushNodeState(n.name, n.addr, n.meta, n.incarnation, int(n.status), n.vsn)
            for n in self._probe_list
        )
        user_state = self._user_state(join) if self._user_state is not None else b""
        return PushPull(join, nodes, user_state)

    def _merge_remote(self, message: PushPull) -> None:
        self._merge_nodes(message.nodes)
        if message.user_state:
            self._effects.append(effects.RemoteUserState(message.user_state, message.join))

    def _merge_nodes(self, nodes: Iterable[PushNodeState]) -> None:
        known = self._nodes
        for remote in nodes:
            node = known.get(remote.name)
            if node is not None and node is not self._me:
                # Most of a push-pull is news we already have; skip it before
                # building messages (the handlers would ignore it anyway).
                if remote.incarnation < node.incarnation:
                    continue
                if (
                    remote.status == ALIVE
                    and remote.incarnation == node.incarnation
                    and remote.addr == node.addr
                ):
                    continue
            if remote.status == ALIVE:
                self._on_alive(
                    None,
                    Alive(remote.incarnation, remote.name, remote.addr, remote.meta, remote.vsn),
                )
            elif remote.status == LEFT:
                self._on_dead(None, Dead(remote.incarnation, remote.name, remote.name))
            else:
                # Their "dead" is only a suspicion to us: we give the member
                # the chance to refute rather than trusting one peer's view.
                self._on_suspect(None, Suspect(remote.incarnation, remote.name, self.name))

    # ------------------------------------------------------------------
    # Gossip and sending.

    def _broadcast(self, key: Hashable, message: Any, notify: Any = None) -> None:
        self._queue(key, message, notify)

    def _queue(self, key: Optional[Hashable], message: Any, notify: Any) -> None:
        wire = encode_message(message)
        self._broadcasts.queue(key, message, wire, len(wire) + COMPOUND_PART_OVERHEAD, notify)
        self._arm_gossip()

    def _arm_gossip(self) -> None:
        """Schedule the next gossip round on the fixed grid of gossip ticks.
        With nothing to say the rounds are skipped, not shifted."""
        if self._gossip_timer is None:
            interval = self.config.gossip_interval
            rounds = math.floor((self._now - self._gossip_phase) / interval) + 1
            when = self._gossip_phase + rounds * interval
            if when <= self._now:  # float rounding put us on the tick just run
                when += interval
            self._gossip_timer = self._timers.call_at(when, self._on_gossip_tick)

    def _on_gossip_tick(self, now: float) -> None:
        self._gossip_timer = None
        if not self._broadcasts:
            return
        me = self._me
        horizon = now - self.config.gossip_to_the_dead_time

        def worth_telling(node: NodeState) -> bool:
            if node is me:
                return False
            status = node.status
            return status == ALIVE or status == SUSPECT or (
                status == DEAD and node.changed_at >= horizon
            )

        limit = self._transmit_limit()
        for node in self._random_nodes(self.config.gossip_nodes, worth_telling):
            chosen = self._broadcasts.take(self._room, limit)
            if not chosen:
                break
            self._effects.append(
                SendPacket(
                    node.addr,
                    tuple(b.wire for b in chosen),
                    tuple(b.message for b in chosen),
                )
            )
        if self._broadcasts:
            self._arm_gossip()

    def _send(self, to: Address, *messages: Any) -> None:
        """Send ``messages`` in one datagram, filling the rest with broadcasts."""
        parts = [encode_message(message) for message in messages]
        if self._broadcasts:
            room = self._room - sum(len(part) + COMPOUND_PART_OVERHEAD for part in parts)
            chosen = self._broadcasts.take(room, self._transmit_limit())
            if chosen:
                parts.extend(b.wire for b in chosen)
                messages = messages + tuple(b.message for b in chosen)
        self._effects.append(SendPacket(to, tuple(parts), messages))

    def _transmit_limit(self) -> int:
        return retransmit_limit(self.config.retransmit_mult, len(self._probe_list))

    # ------------------------------------------------------------------
    # Helpers.

    def _list(self, node: NodeState) -> None:
        """Put ``node`` in the probe list at a random place, so a newcomer is
        not always probed last (which would lengthen detection)."""
        members = self._probe_list
        members.append(node)
        last = len(members) - 1
        if last > 0:
            offset = int(self._rng.random() * last)
            members[offset], members[last] = members[last], members[offset]

    def _random_nodes(self, count: int, accept: Callable[[NodeState], bool]) -> list[NodeState]:
        """Up to ``count`` distinct members chosen at random among those
        ``accept`` takes; like memberlist, gives up after 3n draws."""
        members = self._probe_list
        size = len(members)
        chosen: list[NodeState] = []
        draw = self._rng.random
        for _ in range(3 * size):
            if len(chosen) >= count:
                break
            node = members[int(draw() * size)]
            if node not in chosen and accept(node):
                chosen.append(node)
        return chosen

    def _event(self, kind: str, node: NodeState, source: str) -> None:
        self._effects.append(MemberEvent(kind, node.snapshot(), source))

    def _finish_leave(self) -> None:
        if self._leave_pending:
            self._leave_pending = False
            self._effects.append(effects.LeaveFinished())

    def _take_effects(self) -> list:
        finished = self._broadcasts.finished
        if finished:
            for token in finished:
                if token is _LEAVE:
                    self._finish_leave()
                else:
                    self._effects.append(effects.BroadcastFinished(token))
            finished.clear()
        out = self._effects
        self._effects = []
        return out
