"""The agent's set of watches: where they connect, start, stop and reload."""

from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.config import build
from pyconsul.watch.service import AgentWatches, api_address
from pyconsul.watch.spec import parse_agent_watch

from tests.watch.test_runner import ScriptedGet


def specs(*entries):
    return [parse_agent_watch(entry) for entry in entries]


class APIAddressTests(SynchronousTestCase):
    def test_the_first_client_address_and_the_http_port(self):
        config, _ = build({"client_addr": "127.0.0.9 10.0.0.1", "ports": {"http": 9500}}, dev=True)
        self.assertEqual(api_address(config), ("127.0.0.9", 9500))

    def test_a_wildcard_is_reached_on_loopback(self):
        self.assertEqual(api_address(build({"client_addr": "0.0.0.0"}, dev=True)[0]), ("127.0.0.1", 8500))
        self.assertEqual(api_address(build({"client_addr": "::"}, dev=True)[0]), ("::1", 8500))


class AgentWatchesTests(SynchronousTestCase):
    def setUp(self):
        self.get = ScriptedGet()
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def watches(self, *entries):
        return AgentWatches(Clock(), ("127.0.0.1", 8500), specs(*entries), environ={}, get=self.get)

    def test_nothing_is_asked_before_start(self):
        watches = self.watches({"type": "nodes", "args": ["true"]}, {"type": "key", "key": "k", "args": ["true"]})
        self.assertEqual(self.get.requests, [])
        watches.start()
        self.assertEqual(self.get.targets, ["/v1/catalog/nodes", "/v1/kv/k"])

    def test_stop_cancels_every_open_question(self):
        watches = self.watches({"type": "nodes", "args": ["true"]}, {"type": "services", "args": ["true"]})
        watches.start()
        watches.stop()
        self.assertEqual(sorted(self.get.cancelled), ["/v1/catalog/nodes", "/v1/catalog/services"])

    def test_a_reload_replaces_the_watches(self):
        watches = self.watches({"type": "nodes", "args": ["true"]})
        watches.start()
        watches.replace(specs({"type": "services", "args": ["true"]}))
        self.assertEqual(self.get.cancelled, ["/v1/catalog/nodes"])
        self.assertEqual(self.get.targets, ["/v1/catalog/nodes", "/v1/catalog/services"])

    def test_a_reload_before_start_only_keeps_the_new_set(self):
        watches = self.watches({"type": "nodes", "args": ["true"]})
        watches.replace(specs({"type": "services", "args": ["true"]}))
        self.assertEqual(self.get.requests, [])
        watches.start()
        self.assertEqual(self.get.targets, ["/v1/catalog/services"])

    def test_the_deprecated_handler_key_is_warned_about(self):
        self.watches({"type": "nodes", "handler": "true"}).start()
        self.assertTrue(any("'handler' field in watches has been deprecated" in (event.get("log_format") or "")
                            for event in self.events))
