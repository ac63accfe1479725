"""Serf user events: the event clock, de-duplication with the recent-events
buffer, the size limits, and delivery to every member of a simulated
cluster exactly once (after a partition heals too, unless too old)."""

import random

import msgpack
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.codec.gossip import CodecError, decode_message, encode_message
from pyconsul.core.serf import events
from pyconsul.core.serf.config import SerfConfig
from pyconsul.core.serf.messages import SerfState, UserEventMessage
from pyconsul.core.serf.node import SerfNode
from pyconsul.core.serf.user_events import RecentEvents, UserEventTooLarge
from pyconsul.testing.gossip import SimulatedNetwork, serf_cluster

ME = ("10.0.0.1", 8301)
X = ("10.0.0.2", 8301)


def user_events(effect_list):
    return [e for e in effect_list if isinstance(e, events.UserEvent)]


def message(ltime, name="deploy", payload=b"v1"):
    return UserEventMessage(ltime, name, payload, False)


class RecentEventsTests(SynchronousTestCase):
    def test_the_event_clock_starts_at_one_and_stamps_move_it_on(self):
        recent = RecentEvents()
        self.assertEqual(recent.clock.time(), 1)
        self.assertEqual(recent.stamp(), 1)
        self.assertEqual(recent.stamp(), 2)
        self.assertEqual(recent.clock.time(), 3)

    def test_an_event_is_accepted_once(self):
        recent = RecentEvents()
        self.assertTrue(recent.accept(message(5)))
        self.assertFalse(recent.accept(message(5)))
        self.assertEqual(recent.counters["duplicate_user_events"], 1)

    def test_same_time_other_name_or_payload_is_another_event(self):
        recent = RecentEvents()
        self.assertTrue(recent.accept(message(5)))
        self.assertTrue(recent.accept(message(5, payload=b"v2")))
        self.assertTrue(recent.accept(message(5, name="restart")))
        self.assertFalse(recent.accept(message(5, payload=b"v2")))

    def test_witnessing_moves_the_clock_past_the_event(self):
        recent = RecentEvents()
        recent.accept(message(41))
        self.assertEqual(recent.clock.time(), 42)
        recent.accept(message(3))
        self.assertEqual(recent.clock.time(), 42)

    def test_an_event_older_than_the_buffer_is_dropped(self):
        recent = RecentEvents(size=8)
        recent.accept(message(100))  # the clock is now 101
        self.assertFalse(recent.accept(message(92)))
        self.assertTrue(recent.accept(message(93)))
        self.assertEqual(recent.counters["old_user_events_dropped"], 1)

    def test_a_reused_slot_forgets_the_older_time(self):
        recent = RecentEvents(size=8)
        self.assertTrue(recent.accept(message(3)))
        self.assertTrue(recent.accept(message(11)))  # same slot, newer time
        self.assertEqual(recent.snapshot(), ((11, (("deploy", b"v1"),)),))

    def test_merge_reports_what_is_new_and_witnesses_the_peer_clock(self):
        recent = RecentEvents()
        recent.accept(message(2))
        new = recent.merge(30, [(2, [("deploy", b"v1")]), (7, [("a", b""), ("b", b"x")])])
        self.assertEqual([(e.ltime, e.name, e.payload) for e in new], [(7, "a", b""), (7, "b", b"x")])
        self.assertEqual(recent.clock.time(), 30)

    def test_merge_that_ignores_old_events_drops_them_for_good(self):
        recent = RecentEvents()
        self.assertEqual(recent.merge(30, [(7, [("a", b"")])], ignore_old=True), [])
        self.assertEqual(recent.min_time, 30)
        self.assertFalse(recent.accept(message(7, name="a", payload=b"")))
        self.assertTrue(recent.accept(message(30)))


class SizeLimitTests(SynchronousTestCase):
    def node(self, **config):
        return SerfNode("me", ME, rng=random.Random(1), now=0.0, config=SerfConfig(**config))

    def test_name_and_payload_over_the_limit_are_refused_before_encoding(self):
        node = self.node()
        with self.assertRaises(UserEventTooLarge) as raised:
            node.user_event("n" * 12, b"x" * 501, 1.0)
        self.assertEqual(str(raised.exception), "user event exceeds configured limit of 512 bytes before encoding")
        self.assertEqual(node.event_clock.time(), 1)  # nothing was stamped

    def test_the_encoded_message_must_fit_too(self):
        node = self.node()
        with self.assertRaises(UserEventTooLarge) as raised:
            node.user_event("n" * 12, b"x" * 500, 1.0)  # 512 before, a few more once encoded
        self.assertEqual(str(raised.exception),
                         "encoded user event exceeds configured limit of 512 bytes after encoding")

    def test_name_length_counts_bytes(self):
        node = self.node(user_event_size_limit=20)
        with self.assertRaises(UserEventTooLarge):
            node.user_event("é" * 6, b"x" * 9, 1.0)  # 12 bytes + 9

    def test_a_larger_limit_is_honoured(self):
        node = self.node(user_event_size_limit=2048)
        [event] = user_events(node.user_event("big", b"x" * 1500, 1.0))
        self.assertEqual(len(event.payload), 1500)

    def test_the_limit_cannot_pass_serfs_sane_limit(self):
        with self.assertRaises(ValueError) as raised:
            SerfConfig(user_event_size_limit=9 * 1024 + 1)
        self.assertEqual(str(raised.exception), "user event size limit exceeds limit of 9216 bytes")


class LocalNodeTests(SynchronousTestCase):
    def test_firing_reports_the_event_here_and_stamps_it_with_the_event_clock(self):
        node = SerfNode("me", ME, rng=random.Random(1), now=0.0)
        intents_before = node.clock.time()
        [first] = user_events(node.user_event("deploy", b"v1", 1.0))
        [second] = user_events(node.user_event("deploy", b"v1", 1.0, coalesce=True))
        self.assertEqual((first.ltime, first.name, first.payload, first.coalesce), (1, "deploy", b"v1", False))
        self.assertEqual((second.ltime, second.coalesce), (2, True))
        self.assertEqual(node.event_clock.time(), 3)
        self.assertEqual(node.clock.time(), intents_before)  # the intents' clock is another one

    def test_a_gossiped_event_is_reported_and_passed_on_once(self):
        node = SerfNode("me", ME, rng=random.Random(1), now=0.0)
        heard = message(9)
        queued = node.membership.pending_broadcasts
        first = node.handle_packet(X, [heard], 1.0)
        again = node.handle_packet(X, [heard], 1.1)
        self.assertEqual(len(user_events(first)), 1)
        self.assertEqual(user_events(again), [])
        self.assertEqual(node.membership.pending_broadcasts, queued + 1)

    def test_push_pull_state_carries_the_clock_and_recent_events(self):
        node = SerfNode("me", ME, rng=random.Random(1), now=0.0)
        node.user_event("deploy", b"v1", 1.0)
        state = decode_message(node._local_state(False))
        self.assertEqual((state.event_ltime, state.events), (2, ((1, (("deploy", b"v1"),)),)))

    def test_events_in_a_peers_state_are_reported_not_regossiped(self):
        node = SerfNode("me", ME, rng=random.Random(1), now=0.0)
        state = SerfState(5, (), (), 12, ((10, (("deploy", b"v1"),)),))
        queued = node.membership.pending_broadcasts
        node._merge_remote_state(encode_message(state))
        [event] = user_events(node.tick(1.0))
        self.assertEqual((event.ltime, event.name, event.payload), (10, "deploy", b"v1"))
        self.assertEqual(node.event_clock.time(), 12)
        self.assertEqual(node.membership.pending_broadcasts, queued)


class ClusterTests(SynchronousTestCase):
    def cluster(self, size=20, seed=3, **kwargs):
        network = SimulatedNetwork(seed=seed, wire=True)
        nodes = serf_cluster(size, network=network, seed=seed, **kwargs)
        received = []
        network.listen(lambda addr, e, now: received.append((addr, e)) if isinstance(e, events.UserEvent) else None)
        network.run_for(2.0)
        return network, nodes, received

    def fire(self, network, node, name, payload=b""):
        network.call(node.addr, "user_event", name, payload)

    def test_every_member_gets_the_event_exactly_once(self):
        network, nodes, received = self.cluster()
        self.fire(network, nodes[4], "deploy", b"v1")
        network.run_for(30.0)
        self.assertEqual(sorted(addr for addr, _ in received), sorted(n.addr for n in nodes))
        self.assertEqual({(e.ltime, e.name, e.payload) for _, e in received}, {(1, "deploy", b"v1")})
        self.assertTrue(all(n.event_clock.time() >= 2 for n in nodes))

    def test_many_events_from_many_members_each_arrive_once_everywhere(self):
        network, nodes, received = self.cluster()
        for i in range(10):
            self.fire(network, nodes[i % 3], "e%d" % i, b"%d" % i)
            network.run_for(0.05)
        network.run_for(60.0)
        by_member = {}
        for addr, event in received:
            by_member.setdefault(addr, []).append(event.name)
        self.assertEqual(set(by_member), {n.addr for n in nodes})
        for names in by_member.values():
            self.assertEqual(sorted(names), sorted("e%d" % i for i in range(10)))

    def test_the_event_clock_moves_forward_everywhere(self):
        network, nodes, received = self.cluster(size=8)
        self.fire(network, nodes[0], "one")
        network.run_for(10.0)
        self.fire(network, nodes[5], "two")
        network.run_for(10.0)
        times = {e.name: e.ltime for _, e in received}
        self.assertGreater(times["two"], times["one"])
        self.assertTrue(all(n.event_clock.time() > times["two"] for n in nodes))

    def test_a_partitioned_member_gets_the_event_after_healing(self):
        network, nodes, received = self.cluster(size=8)
        lost = nodes[7]
        network.partition([lost.addr])
        network.run_for(1.0)
        self.fire(network, nodes[0], "deploy", b"v2")
        network.run_for(30.0)
        self.assertNotIn(lost.addr, [addr for addr, _ in received])
        network.heal()
        self.assertTrue(network.run_until_true(
            lambda: lost.addr in [addr for addr, _ in received], 300.0))
        network.run_for(60.0)
        self.assertEqual(sorted(addr for addr, _ in received), sorted(n.addr for n in nodes))

    def test_a_partitioned_member_misses_an_event_older_than_the_buffer(self):
        network, nodes, received = self.cluster(size=8, serf_config=SerfConfig(event_buffer=4))
        lost = nodes[7]
        network.partition([lost.addr])
        network.run_for(1.0)
        self.fire(network, nodes[0], "early")
        for i in range(6):  # the rest of the cluster moves the event clock far past it
            network.run_for(1.0)
            self.fire(network, nodes[1], "later", b"%d" % i)
        network.run_for(30.0)
        network.heal()
        self.assertTrue(network.run_until_true(
            lambda: any(addr == lost.addr for addr, _ in received), 300.0))
        network.run_for(60.0)
        heard_by_lost = sorted((e.name, e.payload) for addr, e in received if addr == lost.addr)
        self.assertNotIn(("early", b""), heard_by_lost)
        # What it does get is what the others still remember.
        self.assertEqual(heard_by_lost, [("later", b"%d" % i) for i in range(2, 6)])
        self.assertEqual(sum(1 for addr, e in received if e.name == "early"), 7)

    def test_a_join_that_ignores_old_events_does_not_replay_them(self):
        network, nodes, received = self.cluster(size=6)
        self.fire(network, nodes[0], "before")
        network.run_for(10.0)
        newcomers = serf_cluster(2, network=network, seed=11, joined=False, first_index=6)
        network.call(newcomers[0].addr, "join", [nodes[0].addr], True)
        network.call(newcomers[1].addr, "join", [nodes[0].addr])  # serf's default: replay
        self.assertTrue(network.run_until_true(
            lambda: all(len(n.members()) == 8 for n in nodes + newcomers), 60.0))
        network.run_for(120.0)  # periodic push-pulls bring the old event again: still ignored
        heard = {addr for addr, e in received if e.name == "before"}
        self.assertNotIn(newcomers[0].addr, heard)
        self.assertIn(newcomers[1].addr, heard)
        self.fire(network, nodes[2], "after")
        network.run_for(20.0)
        self.assertIn(newcomers[0].addr, {addr for addr, e in received if e.name == "after"})

    def test_events_are_broadcasts_of_their_own(self):
        network, nodes, received = self.cluster(size=4)
        self.fire(network, nodes[0], "a")
        self.fire(network, nodes[0], "a")  # the same name and payload, a later time
        self.assertEqual(nodes[0].membership.pending_broadcasts, 2)  # neither supersedes the other
        network.run_for(10.0)
        self.assertEqual(sorted(e.ltime for addr, e in received if addr == nodes[3].addr), [1, 2])


class CodecTests(SynchronousTestCase):
    def test_user_event_round_trip(self):
        event = UserEventMessage(2**40, "consul:event:deploy", b"\x00\xff", True)
        self.assertEqual(decode_message(encode_message(event)), event)

    def test_state_with_recent_events_round_trip(self):
        state = SerfState(9, (("a", 3),), ("b",), 17, ((16, (("x", b""), ("y", b"1"))),))
        self.assertEqual(decode_message(encode_message(state)), state)

    def test_state_from_an_agent_without_user_events(self):
        old = bytes((34,)) + msgpack.packb([9, [["a", 3]], []])
        self.assertEqual(decode_message(old), SerfState(9, (("a", 3),), (), 0, ()))

    def test_malformed_user_events_are_codec_errors(self):
        for fields in ([1, "n", "not bytes", False], [1, "n", b"", "no"], [-1, "n", b"", False],
                       [1, "n" * 10000, b"", False], [1, "n", b""]):
            with self.assertRaises(CodecError):
                decode_message(bytes((35,)) + msgpack.packb(fields, use_bin_type=True))
        with self.assertRaises(CodecError):
            decode_message(bytes((34,)) + msgpack.packb([9, [], [], 1, [[1, [["x"]]]]], use_bin_type=True))
