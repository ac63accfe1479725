"""Network coordinates with real processes: three servers and a client
(NET.13.x). Probes' round trip times feed every agent's coordinate, the
agents send them to the servers, and they show in /v1/coordinate/nodes;
``pyconsul rtt`` estimates from them, and ``?near=_agent`` sorts by them.

Consul's own timings would take 15-30 s per update round: the cluster runs
with Consul's -dev update period (100 ms) and agents that send every
0.5-1 s.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, pyconsul_cli, wait_for
from tests.integration.cluster import Cluster

FAST_COORDINATES = {
    "consul": {"coordinate": {"update_period": "100ms"}},
    "sync_coordinate_interval_min": "500ms",
}
NAMES = {"s1", "s2", "s3", "client"}


def get(agent, path):
    status, body = agent.request("GET", path, timeout=5)
    assert status == 200, (path, status, body)
    return json.loads(body)


class CoordinateTests(SynchronousTestCase):
    def test_coordinates_rtt_and_near(self):
        cluster = Cluster(self, f"{NET}.13", 3, **FAST_COORDINATES).start()
        client = cluster.client(f"{NET}.13.4", "client")

        def every_node_has_one():
            try:
                listed = get(client, "/v1/coordinate/nodes")
            except (AssertionError, OSError):
                return None
            found = {entry["Node"]: entry["Coord"] for entry in listed}
            # Learnt from probes: no longer the origin every agent starts at.
            if set(found) == NAMES and all(any(coord["Vec"]) for coord in found.values()):
                return listed
            return None

        listed = wait_for(every_node_has_one, 25, interval=0.2, what="a coordinate for every node")
        for entry in listed:
            self.assertEqual(entry["Segment"], "")
            self.assertEqual(sorted(entry["Coord"]), ["Adjustment", "Error", "Height", "Vec"])
            self.assertEqual(len(entry["Coord"]["Vec"]), 8)
        [own] = get(client, "/v1/coordinate/node/client")
        self.assertEqual(own["Node"], "client")
        status, _ = client.request("GET", "/v1/coordinate/node/nobody")
        self.assertEqual(status, 404)
        self.assertEqual([dc["Datacenter"] for dc in get(client, "/v1/coordinate/datacenters")], ["dc1"])

        status, stdout, stderr = pyconsul_cli("rtt", "s1", "client", http=client.http)
        self.assertEqual(status, 0, stderr)
        self.assertRegex(stdout, r"^Estimated s1 <-> client rtt: \d+\.\d{3} ms \(using LAN coordinates\)\n$")
        status, stdout, stderr = pyconsul_cli("rtt", "s2", http=client.http)  # the agent's own node by default
        self.assertEqual(status, 0, stderr)
        self.assertTrue(stdout.startswith("Estimated s2 <-> client rtt: "), stdout)
        status, _, stderr = pyconsul_cli("rtt", "s1", "nobody", http=client.http)
        self.assertEqual((status, stderr), (1, 'Could not find a coordinate for node "nobody"\n'))

        def names(path):
            return [node["Node"] for node in get(client, path)]

        self.assertEqual(sorted(names("/v1/catalog/nodes")), sorted(NAMES))
        # Nearest first: a node is at its own coordinate, so the agent (or the
        # node named) comes first once the coordinates have settled.
        wait_for(lambda: names("/v1/catalog/nodes?near=_agent")[0] == "client", 20, interval=0.2,
                 what="the agent first with ?near=_agent")
        wait_for(lambda: names("/v1/catalog/nodes?near=s3")[0] == "s3", 20, interval=0.2,
                 what="s3 first with ?near=s3")
