"""The Serf layer: statuses, Lamport-clocked intents, events, reconnect and
reaping."""

import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.serf import events, tags
from pyconsul.core.serf.clock import LamportClock
from pyconsul.core.serf.config import SerfConfig
from pyconsul.core.serf.member import MemberStatus
from pyconsul.core.serf.messages import JoinIntent, LeaveIntent
from pyconsul.core.serf.node import SerfNode
from pyconsul.core.swim.effects import JoinResult, SendPacket
from pyconsul.core.swim.messages import DEFAULT_VSN, Alive, Dead, PushNodeState
from pyconsul.testing.gossip import SimulatedNetwork, member_address, serf_cluster

ALIVE, LEAVING, LEFT, FAILED = (
    MemberStatus.ALIVE, MemberStatus.LEAVING, MemberStatus.LEFT, MemberStatus.FAILED,
)
ME = ("10.0.0.1", 8301)
X = ("10.0.0.2", 8301)
Y = ("10.0.0.3", 8301)


def lone_node(peers=(("x", X), ("y", Y))):
    node = SerfNode("me", ME, rng=random.Random(4), now=0.0)
    node.preload([PushNodeState(name, addr, b"", 1, 0, DEFAULT_VSN) for name, addr in peers], 0.0)
    return node


def sent_messages(effect_list):
    return [m for e in effect_list if isinstance(e, SendPacket) for m in e.messages]


def run(node, until):
    out = []
    while (deadline := node.next_deadline()) is not None and deadline <= until:
        out.extend(node.tick(deadline))
    return out


class LamportClockTests(SynchronousTestCase):
    def test_increment_and_witness(self):
        clock = LamportClock()
        self.assertEqual(clock.increment(), 1)
        clock.witness(0)
        self.assertEqual(clock.time(), 1)
        clock.witness(1)
        self.assertEqual(clock.time(), 2)
        clock.witness(10)
        self.assertEqual(clock.time(), 11)


class StatusNumberTests(SynchronousTestCase):
    def test_consul_numbering(self):
        self.assertEqual(
            [(s.label, int(s)) for s in MemberStatus],
            [("none", 0), ("alive", 1), ("leaving", 2), ("left", 3), ("failed", 4)],
        )


class IntentTests(SynchronousTestCase):
    def test_leave_intent_makes_a_member_leaving_then_left(self):
        node = lone_node()
        node.handle_packet(X, [LeaveIntent(5, "x", False)], 1.0)
        self.assertEqual(node.status_of("x"), LEAVING)
        out = node.handle_packet(X, [Dead(1, "x", "x")], 1.1)
        self.assertEqual([e.type for e in out if isinstance(e, events.MemberEvent)],
                         [events.EventType.LEAVE])
        self.assertEqual(node.status_of("x"), LEFT)

    def test_leaving_member_that_fails_counts_as_left(self):
        node = lone_node()
        node.handle_packet(X, [LeaveIntent(5, "x", False)], 1.0)
        node.handle_packet(Y, [Dead(1, "x", "y")], 1.1)
        self.assertEqual(node.status_of("x"), LEFT)

    def test_failure_without_intent_is_failed(self):
        node = lone_node()
        out = node.handle_packet(Y, [Dead(1, "x", "y")], 1.0)
        self.assertEqual([e.type for e in out if isinstance(e, events.MemberEvent)],
                         [events.EventType.FAILED])
        self.assertEqual(node.status_of("x"), FAILED)

    def test_late_join_intent_cannot_undo_a_leave(self):
        node = lone_node()
        node.handle_packet(X, [LeaveIntent(10, "x", False)], 1.0)
        node.handle_packet(Y, [JoinIntent(7, "x")], 1.1)  # sent before the leave
        self.assertEqual(node.status_of("x"), LEAVING)
        node.handle_packet(X, [Dead(1, "x", "x")], 1.2)
        node.handle_packet(Y, [JoinIntent(9, "x")], 1.3)
        self.assertEqual(node.status_of("x"), LEFT)

    def test_late_news_from_the_core_cannot_resurrect_a_left_member(self):
        node = lone_node()
        node.handle_packet(X, [LeaveIntent(10, "x", False)], 1.0)
        node.handle_packet(X, [Dead(1, "x", "x")], 1.1)
        # Long after, the core has forgotten x; an Alive from before the
        # leave turns up (a stale push-pull, a delayed datagram).
        run(node, 120.0)
        self.assertIsNone(node.membership.status_of("x"))
        out = node.handle_packet(Y, [Alive(1, "x", X, b"", DEFAULT_VSN)], 120.0)
        self.assertEqual(node.status_of("x"), LEFT)
        self.assertEqual([e for e in out if isinstance(e, events.MemberEvent)], [])
        # Its real return is announced with a newer join intent.
        out = node.handle_packet(X, [JoinIntent(11, "x")], 121.0)
        self.assertEqual(node.status_of("x"), ALIVE)
        self.assertEqual([e.type for e in out if isinstance(e, events.MemberEvent)],
                         [events.EventType.JOIN])

    def test_a_left_member_that_refutes_with_a_higher_incarnation_is_back(self):
        node = lone_node()
        node.handle_packet(X, [LeaveIntent(10, "x", False)], 1.0)
        node.handle_packet(X, [Dead(1, "x", "x")], 1.1)
        node.handle_packet(X, [Alive(2, "x", X, b"", DEFAULT_VSN)], 2.0)
        self.assertEqual(node.status_of("x"), ALIVE)

    def test_intent_about_an_unknown_member_waits_for_it(self):
        node = lone_node()
        node.handle_packet(Y, [LeaveIntent(3, "z", False)], 1.0)
        node.handle_packet(Y, [Alive(1, "z", ("10.0.0.9", 8301), b"", DEFAULT_VSN)], 1.1)
        self.assertEqual(node.status_of("z"), LEAVING)

    def test_we_refute_a_leave_intent_about_ourselves(self):
        node = lone_node()
        node.handle_packet(X, [LeaveIntent(20, "me", False)], 1.0)
        self.assertEqual(node.status_of("me"), ALIVE)
        joins = [m for m in sent_messages(run(node, 3.0)) if isinstance(m, JoinIntent)]
        self.assertTrue(joins)
        self.assertTrue(all(j.node == "me" and j.ltime > 20 for j in joins))

    def test_accepted_intents_are_regossiped_and_duplicates_are_not(self):
        node = lone_node()
        node.handle_packet(X, [LeaveIntent(5, "x", False)], 1.0)
        node.handle_packet(Y, [LeaveIntent(5, "x", False)], 1.0)
        intents = [m for m in sent_messages(run(node, 10.0)) if isinstance(m, LeaveIntent)]
        self.assertTrue(intents)
        self.assertEqual(set(intents), {LeaveIntent(5, "x", False)})

    def test_force_leave_turns_failed_into_left_and_prune_forgets(self):
        node = lone_node()
        node.handle_packet(Y, [Dead(1, "x", "y"), Dead(1, "y", "x")], 1.0)
        out = node.force_leave("x", 2.0)
        self.assertEqual(node.status_of("x"), LEFT)
        self.assertEqual([e.type for e in out if isinstance(e, events.MemberEvent)],
                         [events.EventType.LEAVE])
        out = node.force_leave("y", 3.0, prune=True)
        self.assertIsNone(node.member("y"))
        self.assertEqual([e.type for e in out if isinstance(e, events.MemberEvent)],
                         [events.EventType.LEAVE, events.EventType.REAP])


class TagTests(SynchronousTestCase):
    def test_round_trip_and_limit(self):
        self.assertEqual(tags.decode_tags(tags.encode_tags({"a": "1"})), {"a": "1"})
        self.assertEqual(tags.decode_tags(b"\xc1garbage"), {})
        self.assertEqual(tags.decode_tags(b"\x92\x01\x02"), {})
        self.assertRaises(ValueError, tags.encode_tags, {"k": "v" * 600})

    def test_consul_tags(self):
        server = tags.consul_tags(server=True, datacenter="dc1", node_id="abc",
                                  build="1.17.0:deadbeef", server_port=8300, bootstrap_expect=3)
        parsed = tags.ConsulTags.parse(server)
        self.assertEqual(parsed, tags.ConsulTags(True, "dc1", "1.17.0:deadbeef", 2, 8300))
        client = tags.consul_tags(server=False, datacenter="dc1", node_id="def", build="x")
        self.assertEqual(client["role"], "node")
        self.assertFalse(tags.ConsulTags.parse(client).is_server)
        self.assertIsNone(tags.ConsulTags.parse(client).server_port)


def statuses(nodes, name):
    return {n.status_of(name) for n in nodes if n.name != name}


class ClusterTests(SynchronousTestCase):
    def cluster(self, size=12, seed=7, **kwargs):
        network = SimulatedNetwork(seed=seed, wire=True)
        nodes = serf_cluster(
            size, network=network, seed=seed,
            tags=lambda i: tags.consul_tags(server=i < 3, datacenter="dc1",
                                            node_id=str(i), build="0.1.0"),
            **kwargs,
        )
        log = []
        network.listen(lambda addr, e, now: log.append((now, addr, e)))
        network.run_for(3.0)
        return network, nodes, log

    def test_left_versus_failed(self):
        network, nodes, log = self.cluster()
        leaver, victim = nodes[4], nodes[5]
        network.call(leaver.addr, "leave")
        self.assertTrue(network.run_until_true(
            lambda: any(isinstance(e, events.LeaveComplete) for _, a, e in log), 15.0))
        network.kill(leaver.addr)
        network.kill(victim.addr)
        rest = [n for n in nodes if n not in (leaver, victim)]
        self.assertTrue(network.run_until_true(
            lambda: statuses(rest, leaver.name) == {LEFT} and statuses(rest, victim.name) == {FAILED},
            60.0))
        self.assertEqual(leaver.local_member.status, LEFT)

    def test_leave_takes_at_most_two_broadcast_timeouts_and_the_linger(self):
        network, nodes, log = self.cluster()
        started = network.now
        network.call(nodes[0].addr, "leave")
        config = SerfConfig()
        bound = 2 * config.broadcast_timeout + config.leave_propagate_delay
        self.assertTrue(network.run_until_true(
            lambda: any(isinstance(e, events.LeaveComplete) for _, a, e in log), bound))
        self.assertLessEqual(network.now - started, bound)

    def test_tag_update_reaches_everyone(self):
        network, nodes, log = self.cluster()
        network.call(nodes[2].addr, "set_tags", {"role": "node", "dc": "dc2"})
        self.assertTrue(network.run_until_true(
            lambda: all(n.member(nodes[2].name).tags.get("dc") == "dc2" for n in nodes), 10.0))
        updates = {a for _, a, e in log
                   if isinstance(e, events.MemberEvent) and e.type == events.EventType.UPDATE}
        self.assertEqual(len(updates), len(nodes))

    def test_failed_member_comes_back_through_reconnect(self):
        network, nodes, log = self.cluster(size=8)
        lost = nodes[1]
        network.partition([lost.addr])
        self.assertTrue(network.run_until_true(lambda: statuses(nodes, lost.name) == {FAILED}, 60.0))
        network.run_for(120.0)  # both sides have long forgotten each other in the core
        network.heal()
        self.assertTrue(network.run_until_true(
            lambda: all(n.status_of(m.name) == ALIVE for n in nodes for m in nodes), 300.0))

    def test_failed_and_left_members_are_reaped(self):
        config = SerfConfig(reconnect_timeout=100.0, tombstone_timeout=200.0)
        network, nodes, log = self.cluster(size=8, serf_config=config)
        network.call(nodes[1].addr, "leave")
        network.run_for(12.0)
        network.kill(nodes[1].addr)
        network.kill(nodes[2].addr)
        rest = nodes[3:] + nodes[:1]
        self.assertTrue(network.run_until_true(
            lambda: statuses(rest, nodes[2].name) == {FAILED}, 60.0))
        self.assertTrue(network.run_until_true(
            lambda: all(n.member(nodes[2].name) is None for n in rest), 150.0))
        self.assertTrue(all(n.status_of(nodes[1].name) == LEFT for n in rest))
        self.assertTrue(network.run_until_true(
            lambda: all(n.member(nodes[1].name) is None for n in rest), 150.0))
        reaped = {(a, e.member.name) for _, a, e in log
                  if isinstance(e, events.MemberEvent) and e.type == events.EventType.REAP}
        self.assertEqual(reaped, {(n.addr, m.name) for n in rest for m in nodes[1:3]})

    def test_member_that_left_can_restart_and_rejoin(self):
        network, nodes, log = self.cluster(size=8)
        leaver = nodes[3]
        network.call(leaver.addr, "leave")
        network.run_for(12.0)
        network.kill(leaver.addr)
        network.run_for(120.0)  # the cores forget it; Serf keeps it as left
        self.assertEqual(statuses(nodes, leaver.name), {LEFT})
        (again,) = serf_cluster(1, network=network, seed=99, joined=False, first_index=3)
        self.assertEqual(again.addr, member_address(3))
        network.call(again.addr, "join", [nodes[0].addr])
        everyone = [n for n in nodes if n is not leaver] + [again]
        self.assertTrue(network.run_until_true(
            lambda: all(n.status_of(leaver.name) == ALIVE for n in everyone), 30.0))

    def test_cluster_forms_through_joins(self):
        network = SimulatedNetwork(seed=8, wire=True)
        nodes = serf_cluster(10, network=network, seed=8, joined=False)
        results, joins = [], set()

        def record(addr, event, now):
            if isinstance(event, JoinResult):
                results.append(event)
            elif isinstance(event, events.MemberEvent) and event.type == events.EventType.JOIN:
                joins.add((addr, event.member.name))

        network.listen(record)
        for node in nodes[1:]:
            network.call(node.addr, "join", [nodes[0].addr])
        self.assertTrue(network.run_until_true(
            lambda: all(n.status_of(m.name) == ALIVE for n in nodes for m in nodes), 30.0))
        self.assertEqual([r.error for r in results], [None] * 9)
        self.assertEqual(joins, {(n.addr, m.name) for n in nodes for m in nodes if n is not m})
