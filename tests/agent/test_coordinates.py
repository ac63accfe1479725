"""The agent's coordinate updates to the servers (Consul's sendCoordinate):
when, what, and what a failure does; and the config keys behind them."""

import json
import random
from types import SimpleNamespace

from twisted.internet.defer import fail, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.coordinates import CoordinateSender, rate_scaled_interval
from pyconsul.config import ConfigError, build
from pyconsul.core.coordinate.coordinate import Coordinate
from pyconsul.server.errors import RPCError

NODE_ID = "2ef7cbd8-9ee5-4a2d-8a34-0a3a8b3c1d42"


class FakeRPC:
    def __init__(self):
        self.calls = []
        self.failing = False

    def call(self, method, args):
        self.calls.append((method, args))
        return fail(RPCError("No cluster leader")) if self.failing else succeed(None)


def config(**values):
    values.setdefault("node_id", NODE_ID)
    return build(values, dev=True, hostname="web-1")[0]


class SenderTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.rpc = FakeRPC()
        self.coordinate = Coordinate((0.001,) + (0.0,) * 7, 0.5, 0.0, 1e-5)
        self.lan = SimpleNamespace(members=lambda: [object()] * 3,
                                   node=SimpleNamespace(coordinate=self.coordinate))

    def sender(self, **values):
        return CoordinateSender(config(**values), self.lan, self.rpc, self.clock, random.Random(3))

    def test_rate_scaled_interval(self):
        self.assertEqual(rate_scaled_interval(64.0, 15.0, 3), 15.0)
        self.assertEqual(rate_scaled_interval(64.0, 15.0, 6400), 100.0)
        self.assertEqual(rate_scaled_interval(0.0, 15.0, 6400), 15.0)

    def test_sends_every_interval_with_a_stagger(self):
        sender = self.sender()
        sender.start()
        [timer] = self.clock.getDelayedCalls()
        self.assertTrue(15.0 <= timer.getTime() < 30.0, timer.getTime())
        self.clock.advance(30.0)
        self.assertEqual(self.rpc.calls, [("Coordinate.Update", {
            "Datacenter": "dc1", "Node": "web-1", "Segment": "", "Coord": self.coordinate.to_dict()})])
        self.assertEqual(sender.sent, 1)
        self.clock.advance(30.0)
        self.assertEqual(len(self.rpc.calls), 2)
        sender.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_a_failure_is_logged_and_the_next_round_tries_again(self):
        self.rpc.failing = True
        sender = self.sender()
        sender.start()
        self.clock.advance(30.0)
        self.clock.advance(30.0)
        self.assertEqual(len(self.rpc.calls), 2)
        self.assertEqual(sender.sent, 0)
        sender.stop()

    def test_the_tunables(self):
        sender = self.sender(sync_coordinate_interval_min="500ms", sync_coordinate_rate_target=1.0)
        # 3 members at one update a second: 3 s, plus up to 3 s.
        self.assertTrue(3.0 <= sender.interval() < 6.0)

    def test_nothing_when_disabled(self):
        sender = self.sender(disable_coordinates=True)
        sender.start()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.lan.node.coordinate = None  # and a node without coordinates sends nothing either
        sender = self.sender()
        sender.start()
        self.clock.advance(30.0)
        self.assertEqual(self.rpc.calls, [])
        sender.stop()


class ConfigTests(SynchronousTestCase):
    def read(self, values, dev=True):
        path = self.mktemp() + ".json"
        with open(path, "w") as f:
            json.dump(values, f)
        return build({"node_id": NODE_ID}, config_files=[path], dev=dev, hostname="n")

    def test_defaults_and_dev(self):
        normal = build({"node_id": NODE_ID, "data_dir": self.mktemp()}, hostname="n")[0]
        self.assertEqual((normal.disable_coordinates, normal.coordinate_update_period,
                          normal.coordinate_update_batch_size, normal.coordinate_update_max_batches,
                          normal.sync_coordinate_interval_min, normal.sync_coordinate_rate_target),
                         (False, 5.0, 128, 5, 15.0, 64.0))
        self.assertEqual(config().coordinate_update_period, 0.1)  # Consul's -dev

    def test_from_a_file(self):
        loaded, warnings = self.read({"disable_coordinates": True, "sync_coordinate_interval_min": "1s",
                                      "sync_coordinate_rate_target": 2,
                                      "consul": {"coordinate": {"update_period": "250ms", "update_batch_size": 7,
                                                                "update_max_batches": 2},
                                                 "raft": {"election_timeout": "1s"}}})
        self.assertEqual((loaded.disable_coordinates, loaded.coordinate_update_period,
                          loaded.coordinate_update_batch_size, loaded.coordinate_update_max_batches,
                          loaded.sync_coordinate_interval_min, loaded.sync_coordinate_rate_target),
                         (True, 0.25, 7, 2, 1.0, 2.0))
        self.assertEqual(len(warnings), 1)  # consul.raft: accepted, not acted on
        self.assertIn("'consul.raft'", warnings[0])

    def test_bad_values(self):
        for values, message in (
            ({"disable_coordinates": "yes"}, "'disable_coordinates' must be a boolean"),
            ({"consul": {"coordinate": {"update_batch_size": 0}}}, "'consul.coordinate.update_batch_size' must be"),
            ({"consul": {"coordinate": {"update_period": "soon"}}}, "'consul.coordinate.update_period' must be"),
            ({"sync_coordinate_rate_target": 0}, "'sync_coordinate_rate_target' must be more than 0"),
            ({"sync_coordinate_rate_target": "fast"}, "'sync_coordinate_rate_target' must be a number"),
        ):
            with self.assertRaises(ConfigError) as raised:
                self.read(values)
            self.assertIn(message, str(raised.exception))
