"""Rules of the membership core, driven input by input."""

import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.swim import effects
from pyconsul.core.swim.config import SwimConfig
from pyconsul.core.swim.effects import JoinResult, LeaveFinished, MemberEvent, OpenStream, ReplyStream, SendPacket
from pyconsul.core.swim.messages import (
    DEFAULT_VSN,
    Ack,
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
from pyconsul.core.swim.node import Membership

ME = ("10.0.0.1", 8301)
B = ("10.0.0.2", 8301)
C = ("10.0.0.3", 8301)
D = ("10.0.0.4", 8301)


def make(peers=(), config=None, seed=1, now=0.0):
    """A core named "a", already knowing ``peers`` as alive at incarnation 1."""
    core = Membership("a", ME, rng=random.Random(seed), now=now, config=config or SwimConfig.lan())
    core.preload(
        [PushNodeState(name, addr, b"", 1, 0, DEFAULT_VSN) for name, addr in peers], now
    )
    return core


def sent(effect_list):
    """(to, message) for every message in every packet."""
    return [(e.to, m) for e in effect_list if isinstance(e, SendPacket) for m in e.messages]


def of_type(effect_list, kind):
    return [m for _, m in sent(effect_list) if isinstance(m, kind)]


def events(effect_list, kind=None):
    found = [e for e in effect_list if isinstance(e, MemberEvent)]
    return [e for e in found if kind is None or e.kind == kind]


def run_until(core, until, answering=False, silent=()):
    """Tick the core at each of its deadlines up to ``until``; all effects.

    With ``answering``, every ping it sends (except to ``silent`` addresses)
    is acked at once, as by healthy peers."""
    out = []
    while True:
        deadline = core.next_deadline()
        if deadline is None or deadline > until:
            return out
        produced = core.tick(deadline)
        out.extend(produced)
        if answering:
            for to, message in sent(produced):
                if isinstance(message, Ping) and to not in silent:
                    out.extend(core.handle_packet(to, [Ack(message.seq)], deadline))


class IncarnationTests(SynchronousTestCase):
    def test_suspicion_about_us_is_refuted_with_a_higher_incarnation(self):
        core = make([("b", B)])
        core.handle_packet(B, [Suspect(5, "a", "b")], 1.0)
        self.assertEqual(core.incarnation, 6)
        self.assertEqual(core.local_member.status, Status.ALIVE)
        self.assertEqual(core.health_score, 1)  # refuting hints we are slow
        # The refutation goes out with the next packet.
        out = core.handle_packet(B, [Ping(1, "a", B, "b")], 1.1)
        self.assertIn(Alive(6, "a", ME, b"", DEFAULT_VSN), of_type(out, Alive))

    def test_old_suspicion_about_us_still_needs_outbidding(self):
        core = make([("b", B)])
        core.handle_packet(B, [Suspect(1, "a", "b")], 1.0)
        self.assertEqual(core.incarnation, 2)

    def test_dead_about_us_is_refuted_unless_we_are_leaving(self):
        core = make([("b", B)])
        core.handle_packet(B, [Dead(3, "a", "b")], 1.0)
        self.assertEqual(core.incarnation, 4)
        self.assertEqual(core.local_member.status, Status.ALIVE)

    def test_alive_needs_a_higher_incarnation(self):
        core = make([("b", B)])
        self.assertEqual(core.handle_packet(B, [Alive(1, "b", B, b"new", DEFAULT_VSN)], 1.0), [])
        self.assertEqual(core.member("b").meta, b"")
        out = core.handle_packet(B, [Alive(2, "b", B, b"new", DEFAULT_VSN)], 1.0)
        self.assertEqual([e.kind for e in events(out)], [effects.UPDATE])
        self.assertEqual(core.member("b").meta, b"new")

    def test_suspect_with_an_older_incarnation_is_ignored(self):
        core = make([("b", B)])
        core.handle_packet(B, [Alive(3, "b", B, b"", DEFAULT_VSN)], 1.0)
        self.assertEqual(core.handle_packet(C, [Suspect(2, "b", "c")], 1.0), [])
        self.assertEqual(core.status_of("b"), Status.ALIVE)

    def test_alive_refutes_suspicion_only_with_a_higher_incarnation(self):
        core = make([("b", B), ("c", C)])
        core.handle_packet(C, [Suspect(1, "b", "c")], 1.0)
        self.assertEqual(core.status_of("b"), Status.SUSPECT)
        core.handle_packet(B, [Alive(1, "b", B, b"", DEFAULT_VSN)], 1.1)
        self.assertEqual(core.status_of("b"), Status.SUSPECT)
        core.handle_packet(B, [Alive(2, "b", B, b"", DEFAULT_VSN)], 1.2)
        self.assertEqual(core.status_of("b"), Status.ALIVE)
        # and the suspicion timer is gone
        self.assertEqual(events(run_until(core, 100.0, answering=True), effects.DEAD), [])

    def test_dead_then_alive_again_with_a_new_incarnation_is_a_join(self):
        core = make([("b", B), ("c", C)])
        out = core.handle_packet(C, [Dead(1, "b", "c")], 1.0)
        self.assertEqual([(e.kind, e.source) for e in events(out)], [(effects.DEAD, "c")])
        self.assertEqual(core.handle_packet(B, [Alive(1, "b", B, b"", DEFAULT_VSN)], 1.1), [])
        out = core.handle_packet(B, [Alive(2, "b", B, b"", DEFAULT_VSN)], 1.2)
        self.assertEqual([e.kind for e in events(out)], [effects.JOIN])

    def test_dead_from_the_member_itself_means_it_left(self):
        core = make([("b", B)])
        out = core.handle_packet(B, [Dead(1, "b", "b")], 1.0)
        self.assertEqual([e.kind for e in events(out)], [effects.LEFT])
        self.assertEqual(core.status_of("b"), Status.LEFT)

    def test_another_address_for_a_live_name_is_refused(self):
        core = make([("b", B)])
        core.handle_packet(C, [Alive(5, "b", C, b"", DEFAULT_VSN)], 1.0)
        self.assertEqual(core.member("b").addr, B)
        self.assertEqual(core.counters["address_conflicts"], 1)

    def test_a_left_member_may_come_back_under_a_new_address(self):
        core = make([("b", B)])
        core.handle_packet(B, [Dead(1, "b", "b")], 1.0)
        out = core.handle_packet(C, [Alive(2, "b", C, b"", DEFAULT_VSN)], 2.0)
        self.assertEqual([e.kind for e in events(out)], [effects.JOIN])
        self.assertEqual(core.member("b").addr, C)

    def test_bad_protocol_versions_are_ignored(self):
        core = make()
        core.handle_packet(B, [Alive(1, "b", B, b"", (0, 5, 2, 2, 5, 4))], 1.0)
        core.handle_packet(B, [Alive(1, "b", B, b"", (5, 1, 2, 2, 5, 4))], 1.0)
        self.assertIsNone(core.member("b"))


class SuspicionTests(SynchronousTestCase):
    def test_independent_confirmations_shorten_the_timer_and_are_regossiped(self):
        peers = [(f"p{i}", ("10.0.1.%d" % i, 8301)) for i in range(1, 100)]
        core = make(peers)
        core.handle_packet(B, [Suspect(1, "p1", "p2")], 10.0)
        # 100 members: min 8 s, max 48 s, two confirmations wanted
        self.assertEqual(events(run_until(core, 57.9, answering=True), effects.DEAD), [])
        self.assertEqual(len(events(run_until(core, 58.0, answering=True), effects.DEAD)), 1)
        core2 = make(peers)
        core2.handle_packet(B, [Suspect(1, "p1", "p2")], 10.0)
        core2.handle_packet(B, [Suspect(1, "p1", "p3")], 11.0)
        core2.handle_packet(B, [Suspect(1, "p1", "p4")], 12.0)
        out = run_until(core2, 17.99, answering=True)
        self.assertEqual(events(out, effects.DEAD), [])
        out = run_until(core2, 18.0, answering=True)
        self.assertEqual([e.member.name for e in events(out, effects.DEAD)], ["p1"])
        self.assertEqual(core2.counters["suspicion_confirmations"], 2)

    def test_maximum_timeout_when_too_small_to_expect_confirmations(self):
        core = make([("b", B), ("c", C)])  # 3 members: 4 s min, 24 s max, none expected
        core.handle_packet(C, [Suspect(1, "b", "c")], 0.0)
        self.assertEqual(events(run_until(core, 23.9), effects.DEAD), [])
        self.assertEqual(len(events(run_until(core, 24.0), effects.DEAD)), 1)

    def test_suspicion_of_a_newer_incarnation_starts_over(self):
        peers = [(f"p{i}", ("10.0.1.%d" % i, 8301)) for i in range(1, 100)]
        core = make(peers)
        core.handle_packet(B, [Suspect(1, "p1", "p2")], 0.0)
        core.handle_packet(B, [Suspect(1, "p1", "p3")], 1.0)
        # p1 refuted (we missed it) and is suspected again at incarnation 2:
        # that does not hasten the old timer (which would now say 8 s).
        core.handle_packet(B, [Suspect(2, "p1", "p4")], 2.0)
        self.assertEqual(core.member("p1").incarnation, 2)
        self.assertEqual(events(run_until(core, 49.9, answering=True), effects.DEAD), [])
        deaths = events(run_until(core, 50.0, answering=True), effects.DEAD)
        self.assertEqual([(e.member.name, e.member.incarnation) for e in deaths], [("p1", 2)])

    def test_suspect_is_asked_directly_one_interval_before_the_verdict(self):
        core = make([("b", B), ("c", C)])
        core.handle_packet(C, [Suspect(1, "b", "c")], 0.0)
        run_until(core, 22.9)
        self.assertEqual(core.counters["suspicion_checks"], 0)
        out = run_until(core, 23.0)
        self.assertEqual(core.counters["suspicion_checks"], 1)
        self.assertIn((B, Suspect(1, "b", "a")), sent(out))
        out = run_until(core, 23.5)
        self.assertEqual(core.counters["suspicion_checks"], 2)  # asked twice
        self.assertIn((B, Suspect(1, "b", "a")), sent(out))
        # b had refuted long ago; its answer comes back in time.
        out = core.handle_packet(B, [Alive(2, "b", B, b"", DEFAULT_VSN)], 23.6)
        self.assertEqual(core.status_of("b"), Status.ALIVE)
        # The verdict that was due at 24 s does not come.
        deaths = events(run_until(core, 24.5), effects.DEAD)
        self.assertNotIn("b", [e.member.name for e in deaths])

    def test_stale_accusation_from_the_accuser_is_answered_directly(self):
        core = make([("b", B), ("c", C)])
        core.handle_packet(B, [Suspect(1, "a", "b")], 1.0)  # refuted: now at 2
        out = core.handle_packet(B, [Ping(5, "a", B, "b"), Suspect(1, "a", "b")], 2.0)
        self.assertIn((B, Alive(2, "a", ME, b"", DEFAULT_VSN)), sent(out))
        out = core.handle_packet(B, [Dead(1, "a", "b")], 2.1)
        self.assertIn((B, Alive(2, "a", ME, b"", DEFAULT_VSN)), sent(out))
        self.assertEqual(core.incarnation, 2)

    def test_stale_accusation_relayed_by_gossip_is_not_answered(self):
        core = make([("b", B), ("c", C)])
        core.handle_packet(B, [Suspect(1, "a", "b")], 1.0)
        core.tick(core.next_deadline())  # let the refutation go out
        out = core.handle_packet(C, [Suspect(1, "a", "b")], 2.0)
        self.assertEqual(core.counters["stale_accusations_answered"], 0)
        self.assertEqual(out, [])


class ProbeTests(SynchronousTestCase):
    config = SwimConfig.lan()

    def first_ping(self, core):
        out = run_until(core, 1.0)
        pings = [(to, m) for to, m in sent(out) if isinstance(m, Ping)]
        self.assertEqual(len(pings), 1)
        return pings[0]

    def test_ack_ends_the_probe_and_improves_health(self):
        core = make([("b", B), ("c", C)])
        core._awareness.score = 2
        to, ping = self.first_ping(core)
        core.handle_packet(to, [Ack(ping.seq)], core._now + 0.01)
        self.assertEqual(core.health_score, 1)
        self.assertEqual(events(run_until(core, 30.0, answering=True), effects.SUSPECT), [])

    def test_no_ack_means_indirect_pings_then_suspicion(self):
        core = make([("b", B), ("c", C), ("d", D)])
        to, ping = self.first_ping(core)
        started = core._now
        out = run_until(core, started + 0.5)
        requests = of_type(out, IndirectPing)
        self.assertEqual(len(requests), 2)  # everyone but us and the target
        self.assertTrue(all(r.seq == ping.seq and r.target == ping.target for r in requests))
        stream_pings = [e for e in out if isinstance(e, OpenStream)]
        self.assertEqual([(e.to, type(e.message)) for e in stream_pings], [(to, Ping)])
        out = run_until(core, started + 1.0)
        suspected = events(out, effects.SUSPECT)
        self.assertEqual([e.member.name for e in suspected], [ping.target])
        # Both relays stayed silent (no nack): the fault may be ours.
        self.assertEqual(core.health_score, 2)

    def test_nacks_clear_us_of_blame(self):
        core = make([("b", B), ("c", C), ("d", D)])
        to, ping = self.first_ping(core)
        started = core._now
        run_until(core, started + 0.5)
        core.handle_packet(C, [Nack(ping.seq)], started + 0.8)
        core.handle_packet(D, [Nack(ping.seq)], started + 0.8)
        run_until(core, started + 1.0)
        self.assertEqual(core.health_score, 0)

    def test_an_indirect_ack_is_as_good_as_a_direct_one(self):
        core = make([("b", B), ("c", C), ("d", D)])
        to, ping = self.first_ping(core)
        started = core._now
        run_until(core, started + 0.5)
        core.handle_packet(C, [Ack(ping.seq)], started + 0.6)
        self.assertEqual(
            events(run_until(core, started + 5.0, answering=True), effects.SUSPECT), []
        )

    def test_stream_ping_saves_a_member_udp_cannot_reach(self):
        core = make([("b", B), ("c", C)])
        to, ping = self.first_ping(core)
        started = core._now
        out = run_until(core, started + 0.5)
        (stream,) = [e for e in out if isinstance(e, OpenStream)]
        core.handle_stream_reply(stream.exchange_id, Ack(ping.seq), started + 0.7)
        self.assertEqual(events(run_until(core, started + 1.0), effects.SUSPECT), [])
        self.assertEqual(core.counters["stream_ping_saves"], 1)

    def test_a_suspect_is_told_so_along_with_the_ping(self):
        core = make([("b", B)])
        core.handle_packet(D, [Suspect(1, "b", "d")], 0.0)
        out = run_until(core, 1.0)
        (probe,) = [e for e in out if isinstance(e, SendPacket) and isinstance(e.messages[0], Ping)]
        self.assertEqual(probe.to, B)
        self.assertEqual(probe.messages[1], Suspect(1, "b", "a"))

    def test_probes_go_round_every_member(self):
        peers = [(f"p{i}", ("10.0.1.%d" % i, 8301)) for i in range(1, 11)]
        core = make(peers)
        targets = []
        for second in range(1, 11):
            out = run_until(core, float(second))
            for to, message in sent(out):
                if isinstance(message, Ping):
                    targets.append(message.target)
                    core.handle_packet(to, [Ack(message.seq)], float(second))
        self.assertEqual(sorted(targets), sorted(name for name, _ in peers))

    def test_an_unhealthy_member_probes_less_often(self):
        core = make([("b", B), ("c", C)], config=SwimConfig.lan())
        core._awareness.score = 3  # probe deadline 4 s instead of 1 s
        pings = of_type(run_until(core, 10.0), Ping)
        self.assertLessEqual(len(pings), 4)


class AnsweringTests(SynchronousTestCase):
    def test_ping_for_us_is_acked_to_the_source(self):
        core = make([("b", B)])
        out = core.handle_packet(B, [Ping(9, "a", C, "b")], 1.0)
        self.assertIn((C, Ack(9)), sent(out))

    def test_ping_for_someone_else_is_ignored(self):
        core = make([("b", B)])
        self.assertEqual(of_type(core.handle_packet(B, [Ping(9, "z", B, "b")], 1.0), Ack), [])

    def test_relay_forwards_the_ack(self):
        core = make([("b", B), ("c", C)])
        out = core.handle_packet(B, [IndirectPing(4, "c", C, True, B, "b")], 1.0)
        (ping,) = of_type(out, Ping)
        self.assertEqual(ping.target, "c")
        out = core.handle_packet(C, [Ack(ping.seq)], 1.1)
        self.assertIn((B, Ack(4)), sent(out))
        self.assertEqual(of_type(run_until(core, 2.0), Nack), [])

    def test_relay_nacks_when_the_target_is_silent(self):
        core = make([("b", B), ("c", C)])
        core.handle_packet(B, [IndirectPing(4, "c", C, True, B, "b")], 1.0)
        out = run_until(core, 1.5)
        self.assertIn((B, Nack(4)), sent(out))

    def test_stream_ping_is_answered(self):
        core = make()
        out = core.handle_stream("conn", B, Ping(3, "a", B, "b"), 1.0)
        self.assertEqual(out, [ReplyStream("conn", Ack(3))])


class GossipTests(SynchronousTestCase):
    def test_news_is_piggybacked_and_gossiped_until_sent_enough(self):
        core = make([("b", B), ("c", C), ("d", D)])
        core.handle_packet(B, [Dead(1, "c", "b")], 0.0)
        out = run_until(core, 10.0)
        deaths = [m for m in of_type(out, Dead) if m.node == "c"]
        # 4 members: retransmit limit 4 * ceil(log10 5) = 4
        self.assertEqual(len(deaths), 4)

    def test_no_gossip_rounds_with_nothing_to_say(self):
        core = make([("b", B)])
        run_until(core, 10.0)
        self.assertEqual(core.pending_broadcasts, 0)
        deadline = core.next_deadline()
        out = core.tick(deadline)
        self.assertFalse([m for m in of_type(out, Alive)])

    def test_datagrams_stay_under_the_buffer_size(self):
        from pyconsul.codec.gossip import ENCRYPTION_OVERHEAD, packed_size

        peers = [(f"member-with-a-long-name-{i}", ("10.0.1.%d" % i, 8301)) for i in range(1, 200)]
        core = make(peers[:3])
        for name, addr in peers[3:]:
            core.handle_packet(B, [Alive(2, name, addr, b"m" * 100, DEFAULT_VSN)], 0.0)
        for effect in run_until(core, 5.0):
            if isinstance(effect, SendPacket):
                self.assertLessEqual(packed_size(effect.parts) + ENCRYPTION_OVERHEAD, 1400)


class JoinLeaveTests(SynchronousTestCase):
    def test_join_is_a_push_pull(self):
        core = make()
        (request,) = core.join([B], 0.0)
        self.assertIsInstance(request, OpenStream)
        self.assertTrue(request.message.join)
        reply = PushPull(False, (PushNodeState("b", B, b"", 3, 0, DEFAULT_VSN),), b"")
        out = core.handle_stream_reply(request.exchange_id, reply, 0.1)
        self.assertIn(JoinResult(B, None), out)
        self.assertEqual([e.member.name for e in events(out, effects.JOIN)], ["b"])

    def test_failed_join_is_reported(self):
        core = make()
        (request,) = core.join([B], 0.0)
        out = core.stream_failed(request.exchange_id, "connection refused", 0.1)
        self.assertEqual(out, [JoinResult(B, "connection refused")])

    def test_push_pull_request_is_answered_with_our_state_then_merged(self):
        core = make([("b", B)])
        request = PushPull(False, (PushNodeState("c", C, b"", 1, 0, DEFAULT_VSN),), b"")
        out = core.handle_stream(7, C, request, 0.0)
        (reply,) = [e for e in out if isinstance(e, ReplyStream)]
        self.assertEqual(sorted(n.name for n in reply.message.nodes), ["a", "b"])
        self.assertEqual(core.status_of("c"), Status.ALIVE)

    def test_remote_dead_is_only_a_suspicion_here(self):
        core = make([("b", B), ("c", C)])
        request = PushPull(False, (PushNodeState("b", B, b"", 1, 2, DEFAULT_VSN),), b"")
        core.handle_stream(7, C, request, 0.0)
        self.assertEqual(core.status_of("b"), Status.SUSPECT)

    def test_leave_alone_finishes_at_once(self):
        core = make()
        self.assertIn(LeaveFinished(), core.leave(0.0))
        self.assertEqual(core.local_member.status, Status.LEFT)

    def test_leave_finishes_once_the_message_has_gone_out(self):
        core = make([("b", B), ("c", C)])
        out = core.leave(0.0)
        self.assertNotIn(LeaveFinished(), out)
        out = run_until(core, 5.0)
        self.assertEqual(out.count(LeaveFinished()), 1)
        left = [m for m in of_type(out, Dead) if m.node == "a"]
        self.assertTrue(left)
        self.assertTrue(all(m.sender == "a" for m in left))
        # A leaving member no longer refutes, and no longer probes.
        core.handle_packet(B, [Suspect(9, "a", "b")], 6.0)
        self.assertEqual(core.local_member.status, Status.LEFT)
        self.assertEqual(of_type(run_until(core, 20.0), Ping), [])

    def test_updated_meta_is_broadcast_with_a_new_incarnation(self):
        core = make([("b", B)])
        out = core.update_meta(b"tags", 0.0)
        self.assertEqual([e.kind for e in events(out)], [effects.UPDATE])
        out = run_until(core, 1.0)
        self.assertIn(Alive(2, "a", ME, b"tags", DEFAULT_VSN), of_type(out, Alive))


class LoneMemberTests(SynchronousTestCase):
    def test_a_member_alone_keeps_time_moving(self):
        """Nobody to gossip to: its own Alive stays queued, and each gossip
        round is scheduled strictly after the last."""
        core = make()
        previous = -1.0
        for _ in range(50):
            deadline = core.next_deadline()
            self.assertGreater(deadline, previous)
            core.tick(deadline)
            previous = deadline
        self.assertEqual(core.pending_broadcasts, 1)
