"""The agent's user events: Consul's payload encoding, the filters, the ring
of kept events, firing through Internal.EventFire, and the server's side."""

import random

import msgpack
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent import events
from pyconsul.agent.events import EventLog, InvalidEvent, UserEvent, UserEvents
from pyconsul.core.serf import events as serf_events
from pyconsul.core.serf.user_events import UserEventTooLarge
from pyconsul.server.errors import RPCError
from pyconsul.server.event_fire import EventFireEndpoint


def serf_event(event, ltime=7, name=None):
    return serf_events.UserEvent(ltime, name or events.SERF_PREFIX + event.name, events.encode(event), False)


class EncodingTests(SynchronousTestCase):
    def test_consul_codec_tags_and_omitempty(self):
        event = UserEvent(id="abc", name="deploy", version=1)
        self.assertEqual(msgpack.unpackb(events.encode(event)), {"ID": "abc", "n": "deploy", "v": 1})
        full = UserEvent(id="abc", name="deploy", payload=b"\x00x", node_filter="a", service_filter="b",
                         tag_filter="c", version=1, ltime=99)
        fields = msgpack.unpackb(events.encode(full))
        self.assertEqual(list(fields), ["ID", "n", "p", "nf", "sf", "tf", "v"])  # Go's field order, no LTime
        self.assertEqual(fields["p"], b"\x00x")

    def test_round_trip_takes_the_serf_ltime(self):
        event = UserEvent(id="abc", name="deploy", payload=b"p", service_filter="web", version=1)
        self.assertEqual(events.decode(events.encode(event), ltime=12), UserEvent(
            id="abc", name="deploy", payload=b"p", service_filter="web", version=1, ltime=12))

    def test_no_payload_decodes_as_none(self):
        self.assertIsNone(events.decode(events.encode(UserEvent(id="a", name="n"))).payload)

    def test_garbage_is_a_value_error(self):
        for data in (b"\xc1", msgpack.packb([1, 2]), msgpack.packb({"n": 5}), msgpack.packb({"v": "1"}),
                     msgpack.packb({"p": 3})):
            with self.assertRaises(ValueError):
                events.decode(data)

    def test_ids_look_like_go_uuids(self):
        self.assertRegex(events.new_id(random.Random(1)), r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")

    def test_json(self):
        self.assertEqual(events.event_json(UserEvent(id="i", name="n", payload=b"hi", version=1, ltime=3)), {
            "ID": "i", "Name": "n", "Payload": "aGk=", "NodeFilter": "", "ServiceFilter": "",
            "TagFilter": "", "Version": 1, "LTime": 3})


class ValidationTests(SynchronousTestCase):
    def refused(self, **fields):
        with self.assertRaises(InvalidEvent) as raised:
            events.validate(UserEvent(**fields))
        return str(raised.exception)

    def test_consul_messages(self):
        self.assertEqual(self.refused(), "User event missing name")
        self.assertEqual(self.refused(name="x", tag_filter="t"), "Cannot provide tag filter without service filter")
        self.assertEqual(self.refused(name="x", node_filter="("),
                         "Invalid node filter: error parsing regexp: missing closing ): `(`")
        self.assertTrue(self.refused(name="x", service_filter="s", tag_filter="\\").startswith("Invalid tag filter: "))

    def test_valid(self):
        events.validate(UserEvent(name="x", node_filter="^n", service_filter="s", tag_filter="t"))


class MatchTests(SynchronousTestCase):
    SERVICES = {"web-1": ["v1", "canary"], "db": []}

    def matches(self, **filters):
        return events.matches(UserEvent(name="x", **filters), "node-7", self.SERVICES)

    def test_no_filter_matches(self):
        self.assertTrue(self.matches())

    def test_node_filter_is_a_search_not_a_full_match(self):
        self.assertTrue(self.matches(node_filter="de-"))
        self.assertFalse(self.matches(node_filter="^de"))

    def test_service_filter_on_ids(self):
        self.assertTrue(self.matches(service_filter="^web-1$"))
        self.assertFalse(self.matches(service_filter="^web$"))

    def test_tag_filter_on_a_matching_service(self):
        self.assertTrue(self.matches(service_filter="web", tag_filter="^can"))
        self.assertFalse(self.matches(service_filter="db", tag_filter="^can"))

    def test_an_agent_without_services_is_no_service_target(self):
        self.assertFalse(events.matches(UserEvent(name="x", service_filter="."), "n", {}))


class EventLogTests(SynchronousTestCase):
    def test_ring_keeps_the_newest_oldest_first(self):
        log = EventLog(size=3)
        self.assertEqual((log.events(), log.last()), ([], None))
        for i in range(5):
            log.ingest(UserEvent(id=str(i)))
        self.assertEqual([e.id for e in log.events()], ["2", "3", "4"])
        self.assertEqual(log.last().id, "4")

    def test_an_id_is_kept_once_until_it_leaves_the_ring(self):
        log = EventLog(size=2)
        self.assertTrue(log.ingest(UserEvent(id="a")))
        self.assertFalse(log.ingest(UserEvent(id="a")))
        log.ingest(UserEvent(id="b"))
        log.ingest(UserEvent(id="c"))
        self.assertTrue(log.ingest(UserEvent(id="a")))

    def test_next_change_fires_on_ingest_or_times_out(self):
        clock, log = Clock(), EventLog()
        changed = log.next_change(clock, 5)
        log.ingest(UserEvent(id="a"))
        self.assertIs(self.successResultOf(changed), True)
        self.assertEqual(clock.getDelayedCalls(), [])
        waiting = log.next_change(clock, 5)
        clock.advance(5)
        self.assertIs(self.successResultOf(waiting), False)

    def test_a_cancelled_wait_leaves_nothing_behind(self):
        clock, log = Clock(), EventLog()
        waiting = log.next_change(clock, 5)
        waiting.cancel()
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual(clock.getDelayedCalls(), [])
        log.ingest(UserEvent(id="a"))


class FakeRPC:
    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def call(self, method, args):
        self.calls.append((method, args))
        return defer.fail(self.error) if self.error else defer.succeed({})


class UserEventsTests(SynchronousTestCase):
    def setUp(self):
        self.rpc = FakeRPC()
        self.services = {"web": ["v1"]}
        self.events = UserEvents("node-1", lambda: self.services, self.rpc, rng=random.Random(3))

    def test_fire_sends_consuls_payload_to_internal_event_fire(self):
        sent = self.successResultOf(self.events.fire(UserEvent(name="deploy", payload=b"v2"), "dc1", "tok"))
        [(method, args)] = self.rpc.calls
        self.assertEqual(method, "Internal.EventFire")
        self.assertEqual((args["Datacenter"], args["Name"], args["Token"]), ("dc1", "deploy", "tok"))
        self.assertTrue(args["QueryOptions"]["AllowStale"])
        self.assertEqual(events.decode(args["Payload"]), sent)
        self.assertEqual((sent.version, sent.ltime), (1, 0))
        self.assertEqual(self.events.events(), [])  # kept when heard back from gossip

    def test_an_invalid_event_is_not_sent(self):
        self.failureResultOf(self.events.fire(UserEvent(name="")), InvalidEvent)
        self.assertEqual(self.rpc.calls, [])

    def test_rpc_errors_come_back(self):
        self.events.rpc = FakeRPC(RPCError("No known Consul servers"))
        self.failureResultOf(self.events.fire(UserEvent(name="x")), RPCError)

    def test_takes_a_consul_event_heard_on_gossip(self):
        event = UserEvent(id="e1", name="deploy", version=1)
        self.events.on_serf_event(serf_event(event, ltime=7))
        self.assertEqual(self.events.events(), [UserEvent(id="e1", name="deploy", version=1, ltime=7)])

    def test_ignores_what_is_not_a_consul_user_event(self):
        event = UserEvent(id="e1", name="deploy", version=1)
        self.events.on_serf_event(serf_event(event, name="deploy"))  # no consul:event: prefix
        self.events.on_serf_event(serf_events.UserEvent(1, "consul:event:x", b"\xc1", False))  # undecodable
        self.events.on_serf_event(serf_events.LeaveComplete())
        self.assertEqual(self.events.events(), [])

    def test_filters_decide(self):
        for i, filters in enumerate(({"node_filter": "other"}, {"service_filter": "db"},
                                     {"service_filter": "web", "tag_filter": "v2"})):
            self.events.on_serf_event(serf_event(UserEvent(id="no%d" % i, name="x", **filters)))
        self.events.on_serf_event(serf_event(UserEvent(id="yes", name="x", service_filter="web", tag_filter="v1")))
        self.assertEqual([e.id for e in self.events.events()], ["yes"])

    def test_services_are_read_when_the_event_arrives(self):
        self.services = {}
        self.events.on_serf_event(serf_event(UserEvent(id="a", name="x", service_filter="web")))
        self.services = {"web": []}
        self.events.on_serf_event(serf_event(UserEvent(id="b", name="x", service_filter="web")))
        self.assertEqual([e.id for e in self.events.events()], ["b"])

    def test_a_bad_filter_from_a_peer_drops_the_event(self):
        self.events.on_serf_event(serf_event(UserEvent(id="a", name="x", node_filter="(")))
        self.assertEqual(self.events.events(), [])

    def test_a_newer_version_is_still_taken(self):
        self.events.on_serf_event(serf_event(UserEvent(id="a", name="x", version=2)))
        self.assertEqual(len(self.events.events()), 1)

    def test_remote_exec_is_not_kept(self):
        self.events.on_serf_event(serf_event(UserEvent(id="a", name="_rexec", version=1)))
        self.assertEqual(self.events.events(), [])


class FakeLan:
    def __init__(self, error=None):
        self.sent = []
        self.error = error

    def user_event(self, name, payload, coalesce=False):
        if self.error:
            raise self.error
        self.sent.append((name, payload, coalesce))


class EventFireEndpointTests(SynchronousTestCase):
    def test_broadcasts_with_consuls_prefix_without_coalescing(self):
        lan = FakeLan()
        self.assertEqual(EventFireEndpoint(lan).event_fire({"Name": "deploy", "Payload": b"p"}), {})
        self.assertEqual(lan.sent, [("consul:event:deploy", b"p", False)])

    def test_serfs_size_error_is_the_rpc_error(self):
        endpoint = EventFireEndpoint(FakeLan(UserEventTooLarge("user event exceeds configured limit")))
        with self.assertRaises(RPCError) as raised:
            endpoint.event_fire({"Name": "x", "Payload": b""})
        self.assertEqual(str(raised.exception), "user event exceeds configured limit")

    def test_malformed_arguments(self):
        with self.assertRaises(RPCError) as raised:
            EventFireEndpoint(FakeLan()).event_fire({"Name": 3})
        self.assertEqual(raised.exception.status, 400)

    def test_registered_under_consuls_name(self):
        self.assertEqual(list(EventFireEndpoint(FakeLan()).methods()), ["Internal.EventFire"])
