"""Network coordinates through gossip: acks carry the acker's coordinate,
direct probes answered in time feed the prober's (memberlist's ping
delegate, as Serf uses it), and a simulated network of two sites is
learnt from the probes' round trip times alone."""

import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.coordinate.coordinate import Coordinate
from pyconsul.core.coordinate.payload import decode_payload, encode_payload
from pyconsul.core.serf.config import SerfConfig
from pyconsul.core.serf.node import SerfNode
from pyconsul.core.swim import effects
from pyconsul.core.swim.config import SwimConfig
from pyconsul.core.swim.effects import SendPacket
from pyconsul.core.swim.messages import DEFAULT_VSN, Ack, IndirectPing, Ping, PushNodeState
from pyconsul.core.swim.node import Membership
from pyconsul.testing.gossip import SimulatedNetwork, serf_cluster

ME = ("10.0.0.1", 8301)
B = ("10.0.0.2", 8301)
C = ("10.0.0.3", 8301)


def sent(effect_list):
    return [(e.to, m) for e in effect_list if isinstance(e, SendPacket) for m in e.messages]


def core_with_peers(ack_payload=None):
    core = Membership("a", ME, rng=random.Random(1), now=0.0, ack_payload=ack_payload)
    core.preload([PushNodeState(n, addr, b"", 1, 0, DEFAULT_VSN) for n, addr in (("b", B), ("c", C))], 0.0)
    return core


def first_probe(core):
    """Tick until the core pings someone: (time, to, ping)."""
    while True:
        now = core.next_deadline()
        for to, message in sent(core.tick(now)):
            if isinstance(message, Ping):
                return now, to, message


class MembershipPayloadTests(SynchronousTestCase):
    def test_acks_to_our_pings_carry_the_payload(self):
        core = core_with_peers(ack_payload=lambda: b"coordinate")
        out = core.handle_packet(B, [Ping(9, "a", B, "b")], 1.0)
        self.assertIn((B, Ack(9, b"coordinate")), sent(out))

    def test_without_a_payload_source_acks_are_bare(self):
        core = core_with_peers()
        out = core.handle_packet(B, [Ping(9, "a", B, "b")], 1.0)
        self.assertIn((B, Ack(9)), sent(out))

    def test_direct_ack_in_time_reports_the_round_trip(self):
        core = core_with_peers()
        now, to, ping = first_probe(core)
        name = "b" if to == B else "c"
        out = core.handle_packet(to, [Ack(ping.seq, b"theirs")], now + 0.125)
        self.assertEqual([e for e in out if isinstance(e, effects.PingComplete)],
                         [effects.PingComplete(name, 0.125, b"theirs")])

    def test_no_report_for_an_ack_without_payload(self):
        core = core_with_peers()
        now, to, ping = first_probe(core)
        out = core.handle_packet(to, [Ack(ping.seq)], now + 0.125)
        self.assertEqual([e for e in out if isinstance(e, effects.PingComplete)], [])

    def test_no_report_once_the_direct_ping_timed_out(self):
        # memberlist reports only an ack that beats the probe timeout.
        core = core_with_peers()
        now, to, ping = first_probe(core)
        late = now + core.config.probe_timeout + 0.01
        core.tick(late)  # indirect pings (and a stream ping) go out
        out = core.handle_packet(to, [Ack(ping.seq, b"theirs")], late + 0.01)
        self.assertEqual([e for e in out if isinstance(e, effects.PingComplete)], [])

    def test_relayed_acks_carry_no_payload(self):
        core = core_with_peers(ack_payload=lambda: b"mine")
        out = core.handle_packet(B, [IndirectPing(4, "c", C, True, B, "b")], 1.0)
        [(to, relay_ping)] = [(to, m) for to, m in sent(out) if isinstance(m, Ping)]
        out = core.handle_packet(C, [Ack(relay_ping.seq, b"from c")], 1.01)
        self.assertIn((B, Ack(4)), sent(out))


def serf_node(name, addr, **kwargs):
    node = SerfNode(name, addr, rng=random.Random(5), now=0.0, **kwargs)
    node.preload([PushNodeState(n, a, b"", 1, 0, DEFAULT_VSN) for n, a in (("b", B), ("c", C)) if n != name], 0.0)
    return node


class SerfCoordinateTests(SynchronousTestCase):
    def test_starts_at_the_origin_and_caches_itself(self):
        node = serf_node("a", ME)
        self.assertEqual(node.coordinate, Coordinate.origin())
        self.assertEqual(node.cached_coordinate("a"), Coordinate.origin())
        self.assertIsNone(node.cached_coordinate("b"))

    def test_acks_carry_our_coordinate(self):
        node = serf_node("a", ME)
        out = node.handle_packet(B, [Ping(3, "a", B, "b")], 1.0)
        [ack] = [m for _, m in sent(out) if isinstance(m, Ack)]
        self.assertEqual(decode_payload(ack.payload), node.coordinate)

    def test_a_probe_answered_updates_ours_and_caches_theirs(self):
        node = serf_node("a", ME)
        now, to, ping = first_probe(node)
        theirs = Coordinate((0.01,) + (0.0,) * 7, 1.0, 0.0, 0.001)
        node.handle_packet(to, [Ack(ping.seq, encode_payload(theirs))], now + 0.02)
        name = "b" if to == B else "c"
        self.assertEqual(node.cached_coordinate(name), theirs)
        self.assertNotEqual(node.coordinate, Coordinate.origin())
        self.assertEqual(node.cached_coordinate("a"), node.coordinate)
        self.assertEqual(node.counters["coordinate_updates"], 1)

    def test_garbage_payloads_are_counted_and_change_nothing(self):
        node = serf_node("a", ME)
        for payload in (b"\x01garbage", b"\x07", encode_payload(Coordinate((0.0,) * 4, 1.0, 0.0, 0.0))):
            now, to, ping = first_probe(node)
            node.handle_packet(to, [Ack(ping.seq, payload)], now + 0.02)
        self.assertEqual(node.coordinate, Coordinate.origin())
        self.assertEqual(node.counters["coordinates_rejected"], 3)
        self.assertIsNone(node.cached_coordinate("b"))

    def test_disabled(self):
        node = serf_node("a", ME, coordinates=False)
        self.assertIsNone(node.coordinate)
        self.assertIsNone(node.cached_coordinate("a"))
        out = node.handle_packet(B, [Ping(3, "a", B, "b")], 1.0)
        self.assertIn(Ack(3), [m for _, m in sent(out)])
        now, to, ping = first_probe(node)
        node.handle_packet(to, [Ack(ping.seq, encode_payload(Coordinate.origin()))], now + 0.02)
        self.assertIsNone(node.cached_coordinate("b"))

    def test_reaped_members_are_forgotten(self):
        network = SimulatedNetwork(seed=2)
        config = SerfConfig(reconnect_timeout=30.0, reap_interval=5.0)
        nodes = serf_cluster(3, network=network, seed=2, swim_config=SwimConfig.local(), serf_config=config)
        network.run_for(10.0)
        gone = nodes[2]
        self.assertIsNotNone(nodes[0].cached_coordinate(gone.name))
        network.kill(gone.addr)
        network.run_for(120.0)
        self.assertIsNone(nodes[0].member(gone.name))
        self.assertIsNone(nodes[0].cached_coordinate(gone.name))


class TwoSitesTests(SynchronousTestCase):
    """Three members in each of two sites: 0.5 ms one way inside a site,
    10 ms between them (round trips of 1 and 20 ms). Probes alone teach
    every member where the others are."""

    def test_learns_the_round_trip_times_from_probes(self):
        site = {}

        def link_delay(sender, to):
            return 0.0005 if site[sender] == site[to] else 0.010

        network = SimulatedNetwork(seed=11, link_delay=link_delay)
        nodes = serf_cluster(6, network=network, seed=11)
        for number, node in enumerate(nodes):
            site[node.addr] = number // 3
        network.run_for(300.0)
        for a in nodes:
            for b in nodes:
                if a is b:
                    continue
                estimate = a.coordinate.distance_to(b.coordinate)
                if site[a.addr] == site[b.addr]:
                    self.assertLess(abs(estimate - 0.001), 0.001, (a.name, b.name, estimate))
                else:
                    self.assertLess(abs(estimate - 0.020) / 0.020, 0.15, (a.name, b.name, estimate))
                # What a learnt of b through b's acks is b's recent coordinate.
                cached = a.cached_coordinate(b.name)
                self.assertIsNotNone(cached)
                self.assertLess(abs(a.coordinate.distance_to(cached) - estimate), 0.003)
