"""Serf on top of the membership core.

``SerfNode`` wraps a ``Membership`` and keeps the agent's member list:
tags, the four statuses Consul shows (alive, leaving, left, failed), and
the events the rest of the agent subscribes to. It has the same driver
interface as the core (``handle_packet``, ``handle_stream``,
``handle_stream_reply``, ``stream_failed``, ``tick``, ``next_deadline``)
and passes the core's I/O effects through unchanged; membership events of
the core are turned into ``events.MemberEvent``.

Why a layer on top: the core can only tell "dead" from "left" by who sent
the news. Serf adds intents, stamped with a Lamport clock: a member that
leaves first gossips a leave intent (it becomes "leaving"), then the core's
leave message makes it "left". A member's status moves only on an intent
newer than the last one applied, so a late join intent cannot resurrect a
member that has left, and news of a left member from the core is accepted
only if it is really new (a higher incarnation, or a newer join intent).

Failed members are tried again every ``reconnect_interval`` and forgotten
after ``reconnect_timeout``; left ones after ``tombstone_timeout``.

User events (``user_event``) are gossiped as broadcasts of their own, with
a Lamport time from a separate event clock; each member reports an event
once (``events.UserEvent``), however often it hears it. Push-pull carries
the recent ones too, so a member cut off while an event spread still gets it
when the network heals, if it is not older than the event buffer. A join
may ask to ignore the events from before it (Consul's agents do).

Network coordinates (unless ``coordinates=False``, Serf's
DisableCoordinates): every ack we send carries our coordinate, and every
direct probe answered in time updates ours with the measured round trip
time and caches the peer's (``coordinate``, ``cached_coordinate``). Each
SerfNode has its own coordinate client, so the LAN and WAN pools keep
coordinates of their own.
"""

import random
from typing import Any, Iterable, Mapping, Optional

from pyconsul.codec.gossip import CodecError, decode_message, encode_message
from pyconsul.core.coordinate.client import CoordinateClient, CoordinateError
from pyconsul.core.coordinate.coordinate import DEFAULT_CONFIG as DEFAULT_COORDINATE_CONFIG
from pyconsul.core.coordinate.coordinate import Coordinate, CoordinateConfig
from pyconsul.core.coordinate.payload import PayloadError, decode_payload, encode_payload
from pyconsul.core.serf import events
from pyconsul.core.serf.clock import LamportClock
from pyconsul.core.serf.config import SerfConfig
from pyconsul.core.serf.member import Member, MemberStatus
from pyconsul.core.serf.messages import JoinIntent, LeaveIntent, SerfState, UserEventMessage
from pyconsul.core.serf.tags import decode_tags, encode_tags
from pyconsul.core.serf.user_events import RecentEvents, check_encoded_size, check_size
from pyconsul.core.swim import effects as swim_effects
from pyconsul.core.swim.config import SwimConfig
from pyconsul.core.swim.effects import Member as SwimMember
from pyconsul.core.swim.messages import DEFAULT_VSN, Address
from pyconsul.core.swim.node import Membership
from pyconsul.core.swim.timers import Timer, Timers

ALIVE = MemberStatus.ALIVE
LEAVING = MemberStatus.LEAVING
LEFT = MemberStatus.LEFT
FAILED = MemberStatus.FAILED

# Notify token of our own leave intent in the core's broadcast queue.
_LEAVE_INTENT = ("serf-leave-intent",)


def _intent_key(node: str) -> tuple[str, str]:
    """Broadcast key: a newer intent about a member replaces a queued one."""
    return ("intent", node)


class _MemberState:
    """A member and the bookkeeping behind its status."""

    __slots__ = (
        "name", "addr", "tags", "status", "vsn", "incarnation",
        "status_ltime", "left_ltime", "left_incarnation", "gone_since", "core_alive",
    )

    def __init__(self, core: SwimMember, status: MemberStatus):
        self.name = core.name
        self.addr = core.addr
        self.tags = decode_tags(core.meta)
        self.vsn = core.vsn
        self.incarnation = core.incarnation
        self.status = status
        self.status_ltime = 0  # Lamport time of the last intent applied
        self.left_ltime = 0  # ... and of the one in force when it left
        self.left_incarnation = 0  # its incarnation when it left
        self.gone_since: Optional[float] = None  # when it failed or left
        self.core_alive = True  # what the core last said, whatever our status

    def update_from(self, core: SwimMember) -> None:
        self.addr = core.addr
        self.tags = decode_tags(core.meta)
        self.vsn = core.vsn
        self.incarnation = core.incarnation

    def snapshot(self) -> Member:
        return Member(self.name, self.addr[0], self.addr[1], self.tags, self.status, self.vsn)


class _Intent:
    __slots__ = ("leave", "ltime", "seen_at")

    def __init__(self, leave: bool, ltime: int, seen_at: float):
        self.leave = leave
        self.ltime = ltime
        self.seen_at = seen_at


class SerfNode:
    def __init__(
        self,
        name: str,
        addr: Address,
        *,
        rng: random.Random,
        now: float,
        tags: Optional[Mapping[str, str]] = None,
        config: Optional[SerfConfig] = None,
        swim_config: Optional[SwimConfig] = None,
        vsn: tuple = DEFAULT_VSN,
        coordinates: bool = True,
        coordinate_config: Optional[CoordinateConfig] = None,
        coordinate_rng: Optional[random.Random] = None,
    ):
        """``coordinate_rng`` (the random direction of Vivaldi's first
        pushes) defaults to one seeded with the name, so that coordinates
        leave ``rng``'s sequence, and the gossip it drives, as they were."""
        self.name = name
        self.addr = addr
        self.config = config or SerfConfig()
        self._coordinates: Optional[CoordinateClient] = None
        self._coordinate_cache: dict[str, Coordinate] = {}
        self._encoded_coordinate: tuple = (None, b"")
        if coordinates:
            self._coordinates = CoordinateClient(
                coordinate_config or DEFAULT_COORDINATE_CONFIG,
                coordinate_rng if coordinate_rng is not None else random.Random(name),
            )
            self._coordinate_cache[name] = self._coordinates.coordinate
        # Start at 1 so an intent stamped now beats a member's initial 0.
        self.clock = LamportClock(start=1)
        self._ignore_old_from: set[Address] = set()  # joins that ignore earlier events
        self._rng = rng
        self._now = now
        self._swim = Membership(
            name,
            addr,
            rng=rng,
            now=now,
            config=swim_config,
            meta=encode_tags(tags or {}),
            vsn=vsn,
            user_state=self._local_state,
            ack_payload=self._ack_payload if coordinates else None,
        )
        self._members: dict[str, _MemberState] = {}
        self._recent_intents: dict[str, _Intent] = {}
        self._timers = Timers()
        self._out: list[Any] = []
        self._local_status = ALIVE  # ALIVE, then LEAVING and LEFT once asked to leave
        self._join_pending = False  # announce ourselves after the next successful join
        self._reconnecting: set[Address] = set()
        self._leave_phase: Optional[str] = None  # "intent", "core", "linger", "done"
        self._leave_timer: Optional[Timer] = None
        self.counters = self._swim.counters
        self._events = RecentEvents(self.config.event_buffer, self.counters)

        me = _MemberState(self._swim.local_member, ALIVE)
        self._members[name] = me
        self._timers.call_at(now + self.config.reap_interval, self._on_reap_tick)
        self._timers.call_at(now + self.config.reconnect_interval, self._on_reconnect_tick)

    # ------------------------------------------------------------------
    # Driver interface (as Membership's).

    def handle_packet(self, sender: Address, messages: Iterable[Any], now: float) -> list:
        self._now = now
        self._absorb(self._swim.handle_packet(sender, messages, now))
        return self._take()

    def handle_stream(self, conn_id: Any, sender: Address, message: Any, now: float) -> list:
        self._now = now
        self._absorb(self._swim.handle_stream(conn_id, sender, message, now))
        return self._take()

    def handle_stream_reply(self, exchange_id: int, message: Any, now: float) -> list:
        self._now = now
        self._absorb(self._swim.handle_stream_reply(exchange_id, message, now))
        return self._take()

    def stream_failed(self, exchange_id: int, reason: str, now: float) -> list:
        self._now = now
        self._absorb(self._swim.stream_failed(exchange_id, reason, now))
        return self._take()

    def tick(self, now: float) -> list:
        self._now = now
        self._absorb(self._swim.tick(now))
        self._timers.run_due(now)
        return self._take()

    def next_deadline(self) -> Optional[float]:
        ours = self._timers.next_deadline()
        theirs = self._swim.next_deadline()
        if ours is None:
            return theirs
        if theirs is None:
            return ours
        return min(ours, theirs)

    # ------------------------------------------------------------------
    # Commands.

    def join(self, addresses: Iterable[Address], now: float, ignore_old: bool = False) -> list:
        """Push-pull with each address (one ``JoinResult`` each comes back);
        after the first success we gossip a join intent. With
        ``ignore_old`` the user events the cluster had before are not
        reported (serf's ``Join(addrs, ignoreOld)``)."""
        self._now = now
        self._join_pending = True
        addresses = list(addresses)
        if ignore_old:
            self._ignore_old_from.update(addresses)
        self._absorb(self._swim.join(addresses, now))
        return self._take()

    def user_event(self, name: str, payload: bytes, now: float, coalesce: bool = False) -> list:
        """Gossip a user event to the whole cluster; it is reported here too.

        Raises ``UserEventTooLarge`` (serf's wording) when the name and
        payload, or the encoded message, exceed ``user_event_size_limit``."""
        self._now = now
        limit = self.config.user_event_size_limit
        check_size(name, payload, limit)
        message = UserEventMessage(self._events.clock.time(), name, payload, coalesce)
        check_encoded_size(encode_message(message), limit)
        self._events.stamp()
        self._on_user_event(message)
        return self._take()

    @property
    def event_clock(self) -> LamportClock:
        return self._events.clock

    def leave(self, now: float) -> list:
        """Leave gracefully: gossip a leave intent, then the core's leave
        message, then linger ``leave_propagate_delay``; ``LeaveComplete``
        comes back at the end. Each message waits at most
        ``broadcast_timeout`` to go out."""
        self._now = now
        if self._local_status != ALIVE:
            return self._take()
        self._local_status = LEAVING
        self._leave_phase = "intent"
        intent = LeaveIntent(self.clock.time(), self.name, False)
        self.clock.increment()
        self._on_leave_intent(intent, rebroadcast=False)
        if self._has_alive_peers():
            self._swim.queue_broadcast(_intent_key(self.name), intent, now, notify=_LEAVE_INTENT)
            self._leave_timer = self._timers.call_at(
                now + self.config.broadcast_timeout, self._leave_step_two
            )
        else:
            self._leave_step_two(now)
        return self._take()

    def set_tags(self, tags: Mapping[str, str], now: float) -> list:
        self._now = now
        self._absorb(self._swim.update_meta(encode_tags(tags), now))
        return self._take()

    def preload(self, members: Iterable[Any], now: float) -> list:
        """Start from a known view without gossiping (see Membership.preload);
        a join event comes back for each member learnt."""
        self._now = now
        self._swim.preload(members, now)
        for core in self._swim.members():
            if core.name not in self._members:
                self._on_core_join(core)
        return self._take()

    def force_leave(self, name: str, now: float, prune: bool = False) -> list:
        """Turn a failed member into a left one cluster-wide (and with
        ``prune``, forget it at once). A live member that hears this about
        itself refutes it."""
        self._now = now
        intent = LeaveIntent(self.clock.time(), name, prune)
        self.clock.increment()
        self._on_leave_intent(intent, rebroadcast=True)
        return self._take()

    # ------------------------------------------------------------------
    # Queries.

    def members(self) -> list[Member]:
        return [m.snapshot() for m in self._members.values()]

    def member(self, name: str) -> Optional[Member]:
        state = self._members.get(name)
        return state.snapshot() if state is not None else None

    def status_of(self, name: str) -> Optional[MemberStatus]:
        state = self._members.get(name)
        return state.status if state is not None else None

    @property
    def local_member(self) -> Member:
        return self._members[self.name].snapshot()

    @property
    def coordinate(self) -> Optional[Coordinate]:
        """Our own network coordinate (None with coordinates disabled)."""
        return self._coordinates.coordinate if self._coordinates is not None else None

    def cached_coordinate(self, name: str) -> Optional[Coordinate]:
        """The last coordinate a member sent us in an ack (ours for our own
        name), or None: Serf's GetCachedCoordinate."""
        return self._coordinate_cache.get(name)

    @property
    def coordinate_client(self) -> Optional[CoordinateClient]:
        return self._coordinates

    @property
    def membership(self) -> Membership:
        """The core underneath, for its counters and health score."""
        return self._swim

    # ------------------------------------------------------------------
    # Effects of the core.

    def _absorb(self, produced: list) -> None:
        """Act on the core's events; pass its I/O effects on."""
        for position, effect in enumerate(produced):
            kind = type(effect)
            if kind is swim_effects.MemberEvent:
                self._on_core_event(effect)
            elif kind is swim_effects.UserMessage:
                self._on_message(effect.message)
            elif kind is swim_effects.RemoteUserState:
                self._merge_remote_state(effect.state, self._answers_join(produced, position))
            elif kind is swim_effects.BroadcastFinished:
                if effect.token == _LEAVE_INTENT:
                    self._leave_step_two(self._now)
            elif kind is swim_effects.LeaveFinished:
                self._leave_step_three(self._now)
            elif kind is swim_effects.JoinResult:
                self._on_join_result(effect)
            elif kind is swim_effects.PingComplete:
                self._on_ping_complete(effect)
            else:
                self._out.append(effect)

    def _on_core_event(self, event: swim_effects.MemberEvent) -> None:
        kind = event.kind
        if kind == swim_effects.JOIN:
            self._on_core_join(event.member)
        elif kind == swim_effects.DEAD or kind == swim_effects.LEFT:
            self._on_core_gone(event.member, left=kind == swim_effects.LEFT)
        elif kind == swim_effects.UPDATE:
            state = self._members.get(event.member.name)
            if state is not None:
                state.update_from(event.member)
                if state.status == ALIVE:
                    self._emit(events.EventType.UPDATE, state)

    def _on_core_join(self, core: SwimMember) -> None:
        state = self._members.get(core.name)
        if state is None:
            state = _MemberState(core, ALIVE)
            # Intents may have arrived before the member itself.
            intent = self._recent_intents.pop(core.name, None)
            if intent is not None:
                state.status_ltime = intent.ltime
                if intent.leave:
                    state.status = LEAVING
            self._members[core.name] = state
            self._emit(events.EventType.JOIN, state)
            return
        state.core_alive = True
        if state.status == LEFT and not self._may_return(state, core.incarnation):
            # Late news from before it left: keep it left.
            self.counters["stale_joins_ignored"] += 1
            return
        state.update_from(core)
        state.status = ALIVE
        state.gone_since = None
        self._emit(events.EventType.JOIN, state)

    @staticmethod
    def _may_return(state: _MemberState, incarnation: int) -> bool:
        """A left member is back only if it says so with something newer
        than its leave: a higher incarnation, or a newer join intent."""
        return incarnation > state.left_incarnation or state.status_ltime > state.left_ltime

    def _on_core_gone(self, core: SwimMember, left: bool) -> None:
        state = self._members.get(core.name)
        if state is None:
            return
        state.core_alive = False
        if state.status == LEFT:
            return
        state.gone_since = self._now
        if left or state.status == LEAVING:
            self._mark_left(state, core.incarnation)
        else:
            state.status = FAILED
            self._emit(events.EventType.FAILED, state)

    def _mark_left(self, state: _MemberState, incarnation: int) -> None:
        state.status = LEFT
        state.left_ltime = state.status_ltime
        state.left_incarnation = max(incarnation, state.incarnation)
        state.gone_since = self._now
        self._emit(events.EventType.LEAVE, state)

    # ------------------------------------------------------------------
    # Network coordinates (Serf's ping delegate).

    def _ack_payload(self) -> bytes:
        coordinate = self._coordinates.coordinate
        cached, encoded = self._encoded_coordinate
        if cached is not coordinate:
            encoded = encode_payload(coordinate)
            self._encoded_coordinate = (coordinate, encoded)
        return encoded

    def _on_ping_complete(self, effect: swim_effects.PingComplete) -> None:
        client = self._coordinates
        if client is None:
            return
        try:
            other = decode_payload(effect.payload)
            client.update(effect.node, other, effect.rtt)
        except (PayloadError, CoordinateError):
            self.counters["coordinates_rejected"] += 1
            return
        self.counters["coordinate_updates"] += 1
        self._coordinate_cache[effect.node] = other
        self._coordinate_cache[self.name] = client.coordinate

    # ------------------------------------------------------------------
    # Intents.

    def _on_message(self, message: Any) -> None:
        if type(message) is JoinIntent:
            self._on_join_intent(message, rebroadcast=True)
        elif type(message) is LeaveIntent:
            self._on_leave_intent(message, rebroadcast=True)
        elif type(message) is UserEventMessage:
            self._on_user_event(message)

    # ------------------------------------------------------------------
    # User events.

    def _on_user_event(self, message: UserEventMessage) -> None:
        """Report and pass on an event the first time we hear it."""
        if self._events.accept(message):
            self._report_user_event(message)
            # No key: an event never supersedes another one in the queue.
            self._swim.queue_broadcast(None, message, self._now)

    def _report_user_event(self, message: UserEventMessage) -> None:
        self._out.append(events.UserEvent(message.ltime, message.name, message.payload, message.coalesce))

    def _answers_join(self, produced: list, position: int) -> bool:
        """Whether the push-pull state at ``position`` answers one of our
        joins that ignores old events: the core reports the state just
        before that join's successful ``JoinResult``."""
        if position + 1 >= len(produced):
            return False
        following = produced[position + 1]
        return (
            type(following) is swim_effects.JoinResult
            and following.error is None
            and following.addr in self._ignore_old_from
        )

    def _on_join_intent(self, intent: JoinIntent, rebroadcast: bool) -> None:
        self.clock.witness(intent.ltime)
        state = self._members.get(intent.node)
        if state is None:
            if self._remember_intent(intent.node, intent.ltime, leave=False) and rebroadcast:
                self._gossip(intent)
            return
        if intent.ltime <= state.status_ltime:
            return  # we have applied something newer: this one is late
        state.status_ltime = intent.ltime
        if state.status == LEAVING:
            state.status = ALIVE  # it changed its mind (or refuted a force-leave)
        elif state.status == LEFT and state.core_alive:
            # It came back: the core already knows it is alive.
            state.status = ALIVE
            state.gone_since = None
            self._emit(events.EventType.JOIN, state)
        if rebroadcast:
            self._gossip(intent)

    def _on_leave_intent(self, intent: LeaveIntent, rebroadcast: bool) -> None:
        self.clock.witness(intent.ltime)
        state = self._members.get(intent.node)
        if state is None:
            if self._remember_intent(intent.node, intent.ltime, leave=True) and rebroadcast:
                self._gossip(intent)
            return
        if intent.ltime <= state.status_ltime:
            return
        if intent.node == self.name and self._local_status == ALIVE:
            # Someone says we are leaving, and we are not: outbid them.
            self._announce_join()
            return
        state.status_ltime = intent.ltime
        if state.status == ALIVE:
            state.status = LEAVING
        elif state.status == FAILED:
            self._mark_left(state, state.incarnation)
        if intent.prune and state.status == LEFT:
            self._reap(state)
        if rebroadcast:
            self._gossip(intent)

    def _remember_intent(self, node: str, ltime: int, leave: bool) -> bool:
        """Keep the newest intent about a member we do not know yet."""
        known = self._recent_intents.get(node)
        if known is not None and known.ltime >= ltime:
            return False
        if known is None and len(self._recent_intents) >= self.config.max_recent_intents:
            return False
        self._recent_intents[node] = _Intent(leave, ltime, self._now)
        return True

    def _announce_join(self) -> None:
        """Gossip a join intent about ourselves at the current time."""
        intent = JoinIntent(self.clock.time(), self.name)
        me = self._members[self.name]
        if intent.ltime > me.status_ltime:
            me.status_ltime = intent.ltime
            self._gossip(intent)

    def _gossip(self, intent: Any) -> None:
        self._swim.queue_broadcast(_intent_key(intent.node), intent, self._now)

    def _on_join_result(self, result: swim_effects.JoinResult) -> None:
        self._ignore_old_from.discard(result.addr)
        if result.addr in self._reconnecting:
            self._reconnecting.discard(result.addr)
            self.counters["reconnects" if result.error is None else "failed_reconnects"] += 1
            return
        self._out.append(result)
        if result.error is None and self._join_pending and self._local_status == ALIVE:
            self._join_pending = False
            self._announce_join()

    # ------------------------------------------------------------------
    # Push-pull: our clocks travel with the core's full state.

    def _local_state(self, join: bool) -> bytes:
        members = self._members.values()
        return encode_message(
            SerfState(
                self.clock.time(),
                tuple((m.name, m.status_ltime) for m in members),
                tuple(m.name for m in members if m.status == LEFT),
                self._events.clock.time(),
                self._events.snapshot(),
            )
        )

    def _merge_remote_state(self, payload: bytes, ignore_old_events: bool = False) -> None:
        try:
            state = decode_message(payload)
        except CodecError:
            self.counters["bad_remote_state"] += 1
            return
        if type(state) is not SerfState:
            self.counters["bad_remote_state"] += 1
            return
        self.clock.witness(state.ltime)
        for message in self._events.merge(state.event_ltime, state.events, ignore_old_events):
            self._report_user_event(message)  # not gossiped on: push-pull spreads them
        ltimes = dict(state.status_ltimes)
        left = set(state.left_members)
        for name in left:
            self._on_leave_intent(LeaveIntent(ltimes.get(name, 0), name, False), rebroadcast=False)
        for name, ltime in ltimes.items():
            if name not in left:
                self._on_join_intent(JoinIntent(ltime, name), rebroadcast=False)

    # ------------------------------------------------------------------
    # Leaving.

    def _leave_step_two(self, now: float) -> None:
        """The leave intent has gone out (or timed out): now the core's leave."""
        if self._leave_phase != "intent":
            return
        self._leave_phase = "core"
        if self._leave_timer is not None:
            self._leave_timer.cancel()
        self._leave_timer = self._timers.call_at(
            now + self.config.broadcast_timeout, self._leave_step_three
        )
        self._absorb(self._swim.leave(now))

    def _leave_step_three(self, now: float) -> None:
        """The core's leave message has gone out (or timed out): linger."""
        if self._leave_phase != "core":
            return
        self._leave_phase = "linger"
        self._leave_timer.cancel()
        self._local_status = LEFT
        self._timers.call_at(now + self.config.leave_propagate_delay, self._leave_done)

    def _leave_done(self, now: float) -> None:
        self._leave_phase = "done"
        self._out.append(events.LeaveComplete())

    def _has_alive_peers(self) -> bool:
        return any(m.status == ALIVE and m.name != self.name for m in self._members.values())

    # ------------------------------------------------------------------
    # Reconnecting and reaping.

    def _on_reconnect_tick(self, now: float) -> None:
        self._timers.call_at(now + self.config.reconnect_interval, self._on_reconnect_tick)
        if self._local_status != ALIVE:
            return
        failed = [m for m in self._members.values() if m.status == FAILED]
        if not failed:
            return
        # Serf's rule: the more of the cluster has failed, the likelier we
        # try; a lone failure among many live members is tried rarely.
        alive = sum(1 for m in self._members.values() if m.status in (ALIVE, LEAVING))
        if self._rng.random() > len(failed) / max(alive, 1):
            return
        target = failed[int(self._rng.random() * len(failed))]
        self._reconnecting.add(target.addr)
        self._absorb(self._swim.join([target.addr], now))

    def _on_reap_tick(self, now: float) -> None:
        self._timers.call_at(now + self.config.reap_interval, self._on_reap_tick)
        config = self.config
        for state in list(self._members.values()):
            if state.gone_since is None:
                continue
            gone_for = now - state.gone_since
            if (state.status == FAILED and gone_for > config.reconnect_timeout) or (
                state.status == LEFT and gone_for > config.tombstone_timeout
            ):
                self._reap(state)
        horizon = now - config.recent_intent_timeout
        for name, intent in list(self._recent_intents.items()):
            if intent.seen_at < horizon:
                del self._recent_intents[name]

    def _reap(self, state: _MemberState) -> None:
        if state.name == self.name:
            return
        del self._members[state.name]
        self._swim.forget(state.name)
        if self._coordinates is not None:
            self._coordinates.forget_node(state.name)
            self._coordinate_cache.pop(state.name, None)
        self._emit(events.EventType.REAP, state)

    # ------------------------------------------------------------------

    def _emit(self, kind: events.EventType, state: _MemberState) -> None:
        self._out.append(events.MemberEvent(kind, state.snapshot()))

    def _take(self) -> list:
        out = self._out
        self._out = []
        return out
