"""User events through the gossip adapter: fired, handed to subscribers,
sent as datagrams, refused when too large; joins ignore older events."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.codec import gossip as codec
from pyconsul.core.serf import events
from pyconsul.core.serf.messages import UserEventMessage
from pyconsul.core.serf.user_events import UserEventTooLarge
from pyconsul.core.swim.messages import DEFAULT_VSN, PushNodeState
from pyconsul.net.gossip import GossipDriver

from tests.net.test_gossip import FakeReactor, make_node


class GossipEventTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = FakeReactor()
        self.node = make_node()
        self.node.preload([PushNodeState("b", ("127.0.0.2", 8301), b"", 1, 0, DEFAULT_VSN)], 0.0)
        self.driver = GossipDriver(self.node, self.reactor)
        self.driver.start("127.0.0.1", 8301)
        self.heard = []
        self.driver.subscribe(lambda e: self.heard.append(e) if isinstance(e, events.UserEvent) else None)

    def sent_messages(self):
        return [m for data, _ in self.reactor.udp.sent for m in codec.decode_packet(data)]

    def test_a_fired_event_reaches_subscribers_and_the_wire(self):
        self.driver.user_event("consul:event:deploy", b"payload")
        self.assertEqual(self.heard, [events.UserEvent(1, "consul:event:deploy", b"payload", False)])
        self.reactor.advance(1.0)
        self.assertIn(UserEventMessage(1, "consul:event:deploy", b"payload", False), self.sent_messages())

    def test_an_event_from_a_peer_is_handed_on_once(self):
        datagram = codec.encode_packet([UserEventMessage(4, "consul:event:x", b"", False)])
        self.reactor.protocol.datagramReceived(datagram, ("127.0.0.2", 8301))
        self.reactor.protocol.datagramReceived(datagram, ("127.0.0.2", 8301))
        self.assertEqual([e.ltime for e in self.heard], [4])

    def test_too_large(self):
        with self.assertRaises(UserEventTooLarge):
            self.driver.user_event("consul:event:x", b"x" * 600)
        self.assertEqual(self.heard, [])

    def test_joins_ignore_older_events(self):
        calls = []
        self.node.join = lambda addresses, now, ignore_old=False: calls.append(ignore_old) or []
        self.driver.join(["127.0.0.3"])
        self.assertEqual(calls, [True])
