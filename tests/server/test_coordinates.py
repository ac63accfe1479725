"""The Coordinate RPC endpoints (Consul 1.10's agent/consul/coordinate_endpoint.go),
the leader's batches, the datacenter map of the WAN pool, and ``?near``
sorting on the catalog and health endpoints (Consul's rtt.go), on one
in-memory server whose own node is ``node-1``."""

import math
from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.coordinate.coordinate import Coordinate
from pyconsul.core.serf.member import MemberStatus
from pyconsul.server.coordinates import CoordinateEndpoints, datacenter_maps, sort_by_distance
from pyconsul.server.endpoints import ANSWERED_LOCALLY
from pyconsul.state import commands
from pyconsul.testing.server import InMemoryServer
from tests.server.servercase import ServerTestCase


def coord(x=0.0, height=1e-5, dims=8):
    return {"Vec": [x] + [0.0] * (dims - 1), "Error": 1.5, "Adjustment": 0.0, "Height": height}


class CoordinateTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.period = self.agent.config.coordinate_update_period

    def register(self, node, address="10.0.0.9", service=None):
        args = {"Datacenter": "dc1", "Node": node, "Address": address}
        if service:
            args["Service"] = {"ID": service, "Service": service}
            args["Check"] = {"CheckID": "check-" + service, "Name": "up", "ServiceID": service, "Status": "passing"}
        self.call("Catalog.Register", args)

    def update(self, node, x=0.0, segment=""):
        return self.call("Coordinate.Update", {"Datacenter": "dc1", "Node": node, "Segment": segment,
                                               "Coord": coord(x)})

    def settle(self):
        """Let the leader write its batch."""
        self.agent.advance(self.period)
        self.agent.advance()

    def listed(self):
        return self.call("Coordinate.ListNodes", {"Datacenter": "dc1", "QueryOptions": {}})


class UpdateTests(CoordinateTestCase):
    def test_written_after_the_update_period(self):
        self.register("web-1")
        self.assertIsNone(self.update("web-1", 0.002))
        self.assertEqual(self.listed()["Coordinates"], [])
        self.settle()
        reply = self.listed()
        self.assertEqual(reply["Coordinates"], [{"Node": "web-1", "Segment": "", "Coord": coord(0.002)}])
        self.assertEqual(reply["Index"], self.store.coordinates.index)
        self.assertTrue(reply["KnownLeader"])

    def test_the_latest_per_node_wins_and_unknown_nodes_are_dropped(self):
        self.register("web-1")
        self.update("web-1", 0.001)
        self.update("ghost", 0.003)
        self.update("web-1", 0.002)
        self.settle()
        self.assertEqual([(c["Node"], c["Coord"]["Vec"][0]) for c in self.listed()["Coordinates"]],
                         [("web-1", 0.002)])

    def test_no_timer_while_nothing_waits(self):
        self.settle()
        self.assertIsNone(self.agent.coordinates._timer)
        self.update("node-1")
        self.assertIsNotNone(self.agent.coordinates._timer)
        self.settle()
        self.assertIsNone(self.agent.coordinates._timer)
        self.assertEqual(len(self.listed()["Coordinates"]), 1)

    def test_refused(self):
        bad = {"Datacenter": "dc1", "Node": "node-1"}
        self.assertEqual(self.error("Coordinate.Update", dict(bad, Coord=dict(coord(), Error=math.nan))),
                         "invalid coordinate")
        self.assertEqual(self.error("Coordinate.Update", dict(bad, Coord={"Vec": ["x"]})), "invalid coordinate")
        self.assertEqual(self.error("Coordinate.Update", bad), "invalid coordinate")
        self.assertEqual(self.error("Coordinate.Update", dict(bad, Coord=coord(dims=4))), "incompatible coordinate")
        self.assertEqual(self.agent.coordinates.pending, {})

    def test_a_server_with_coordinates_disabled_refuses(self):
        self.agent.coordinates.local_coordinate = lambda: None
        self.assertEqual(self.error("Coordinate.Update", {"Node": "node-1", "Coord": coord()}),
                         "Coordinates are disabled")


class BatchTests(SynchronousTestCase):
    def test_batches_and_the_rate_limit(self):
        agent = InMemoryServer()
        applied = []
        apply = agent.server.apply
        agent.server.apply = lambda command: applied.append(commands.decode(command)) or apply(command)
        coordinates = CoordinateEndpoints(agent.endpoints, agent.clock, lambda: Coordinate.origin(),
                                          update_period=1.0, batch_size=2, max_batches=2)
        coordinates.start()
        for number in range(5):
            coordinates.update({"Node": "n%d" % number, "Coord": coord(0.001 * number)})
        self.assertEqual(len(coordinates.pending), 5)
        agent.advance(1.0)
        agent.advance()
        # 2 x 2 written, in two log entries; the fifth discarded (Consul: "Discarded coordinate updates").
        self.assertEqual([(name, [u["Node"] for u in batch]) for name, (batch,) in applied],
                         [("coordinate-batch-update", ["n0", "n1"]), ("coordinate-batch-update", ["n2", "n3"])])
        self.assertEqual(coordinates.pending, {})
        coordinates.stop()
        self.flushLoggedErrors()


class ReadTests(CoordinateTestCase):
    def test_node(self):
        self.register("web-1")
        self.update("web-1", 0.004)
        self.update("node-1", 0.001)
        self.settle()
        reply = self.call("Coordinate.Node", {"Datacenter": "dc1", "Node": "WEB-1", "QueryOptions": {}})
        # The node as asked for, as Consul answers.
        self.assertEqual(reply["Coordinates"], [{"Node": "WEB-1", "Segment": "", "Coord": coord(0.004)}])
        self.assertEqual(reply["Index"], self.store.coordinates.index)
        reply = self.call("Coordinate.Node", {"Datacenter": "dc1", "Node": "nobody", "QueryOptions": {}})
        self.assertEqual(reply["Coordinates"], [])

    def test_list_nodes_blocks_until_a_batch(self):
        self.register("web-1")
        first = self.listed()
        self.assertEqual(first["Index"], 1)  # never 0, as Consul
        d = self.endpoints.call("Coordinate.ListNodes", {
            "Datacenter": "dc1", "QueryOptions": {"MinQueryIndex": first["Index"], "MaxQueryTime": 60}})
        self.agent.advance(1.0)
        self.assertNoResult(d)
        self.update("web-1", 0.002)
        self.settle()
        reply = self.successResultOf(d)
        self.assertEqual([c["Node"] for c in reply["Coordinates"]], ["web-1"])

    def test_datacenters_without_a_wan_pool(self):
        self.assertEqual(self.call("Coordinate.ListDatacenters", {}),
                         [{"Datacenter": "dc1", "AreaID": "wan", "Coordinates": []}])

    def test_datacenters_from_the_wan_pool(self):
        coordinates = {"s1.dc1": Coordinate.origin(), "s2.dc2": Coordinate.origin()}
        members = [member("s1.dc1", "dc1"), member("s2.dc2", "dc2")]
        self.agent.coordinates.set_wan(lambda: (members, coordinates.get))
        self.assertEqual([(m["Datacenter"], [c["Node"] for c in m["Coordinates"]])
                          for m in self.call("Coordinate.ListDatacenters", {})],
                         [("dc1", ["s1"]), ("dc2", ["s2"])])

    def test_datacenters_is_answered_by_any_server(self):
        self.assertIn("Coordinate.ListDatacenters", ANSWERED_LOCALLY)


def member(name, dc, role="consul", status=MemberStatus.ALIVE):
    return SimpleNamespace(name=name, tags={"role": role, "dc": dc}, status=status)


class DatacenterMapTests(SynchronousTestCase):
    def test_servers_by_datacenter(self):
        origin = Coordinate.origin()
        moved = Coordinate((0.01,) + (0.0,) * 7, 1.0, 0.0, 1e-5)
        cached = {"b.dc1": moved, "a.dc1": origin, "c.dc2": origin, "client.dc1": origin, "gone.dc2": origin,
                  "left.dc3": origin}.get
        members = [
            member("b.dc1", "dc1"), member("a.dc1", "dc1"), member("c.dc2", "dc2"),
            member("client.dc1", "dc1", role="node"),  # not a server: skipped
            member("nocoord.dc2", "dc2"),  # no coordinate: not listed
            member("left.dc3", "dc3", status=MemberStatus.LEFT),  # left: skipped, and dc3 with it
            member("failed.dc4", "dc4", status=MemberStatus.FAILED),
        ]
        self.assertEqual(datacenter_maps(members, cached, "dc1"), [
            {"Datacenter": "dc1", "AreaID": "wan", "Coordinates": [
                {"Node": "a", "Segment": "", "Coord": origin.to_dict()},
                {"Node": "b", "Segment": "", "Coord": moved.to_dict()}]},
            {"Datacenter": "dc2", "AreaID": "wan", "Coordinates": [
                {"Node": "c", "Segment": "", "Coord": origin.to_dict()}]},
        ])

    def test_nothing_known(self):
        self.assertEqual(datacenter_maps([], lambda name: None), [])
        self.assertEqual(datacenter_maps([], lambda name: None, "dc7"),
                         [{"Datacenter": "dc7", "AreaID": "wan", "Coordinates": []}])


class NearTests(CoordinateTestCase):
    """Consul's sortNodesByDistanceFrom: nearest first, nodes without a
    coordinate last in their own order, and no sort without a usable source."""

    def setUp(self):
        super().setUp()
        # node-1 registers itself; x says where each sits (seconds along one axis).
        for name in ("a", "b", "c", "d"):
            self.register(name, service="web")
        self.register("node-1", address="127.0.0.1", service="web")
        for name, x in (("node-1", 0.0), ("a", 0.030), ("b", 0.010), ("c", 0.020)):
            self.update(name, x)
        self.settle()

    def nodes(self, source=None, method="Catalog.ListNodes", **args):
        args = dict(args, Datacenter="dc1", QueryOptions={})
        if source is not None:
            args["Source"] = source
        reply = self.call(method, args)
        field = {"Catalog.ListNodes": "Nodes", "Catalog.ServiceNodes": "ServiceNodes",
                 "Health.ServiceNodes": "Nodes", "Health.ChecksInState": "HealthChecks",
                 "Health.ServiceChecks": "HealthChecks"}[method]
        names = []
        for entry in reply[field]:
            name = entry["Node"]["Node"] if method == "Health.ServiceNodes" else entry["Node"]
            if name not in names:
                names.append(name)
        return names

    def test_catalog_nodes(self):
        self.assertEqual(self.nodes(), ["a", "b", "c", "d", "node-1"])
        here = {"Node": "node-1", "Datacenter": "dc1"}
        self.assertEqual(self.nodes(here), ["node-1", "b", "c", "a", "d"])
        self.assertEqual(self.nodes({"Node": "a", "Datacenter": "dc1"}), ["a", "c", "b", "node-1", "d"])
        # The remembered answer is not disturbed.
        self.assertEqual(self.nodes(), ["a", "b", "c", "d", "node-1"])

    def test_service_and_health_endpoints(self):
        here = {"Node": "node-1", "Datacenter": "dc1"}
        expected = ["node-1", "b", "c", "a", "d"]
        self.assertEqual(self.nodes(here, "Catalog.ServiceNodes", ServiceName="web"), expected)
        self.assertEqual(self.nodes(here, "Health.ServiceNodes", ServiceName="web"), expected)
        self.assertEqual(self.nodes(here, "Health.ServiceChecks", ServiceName="web"), expected)
        self.assertEqual(self.nodes(here, "Health.ChecksInState", State="any"), expected)
        self.assertEqual(self.nodes(None, "Health.ChecksInState", State="any"), ["a", "b", "c", "d", "node-1"])

    def test_no_sort_without_a_usable_source(self):
        order = ["a", "b", "c", "d", "node-1"]
        self.assertEqual(self.nodes({"Node": "d", "Datacenter": "dc1"}), order)  # no coordinate
        self.assertEqual(self.nodes({"Node": "node-1", "Datacenter": "dc2"}), order)  # another datacenter
        self.assertEqual(self.nodes({"Node": "", "Datacenter": "dc1"}), order)

    def test_sort_by_distance_directly(self):
        table = self.store.coordinates
        entries = [{"Node": n} for n in ("d", "x", "c", "B")]
        self.assertEqual([e["Node"] for e in sort_by_distance(table, {"Node": "node-1"}, "dc1", entries,
                                                              lambda e: e["Node"])],
                         ["B", "c", "d", "x"])
