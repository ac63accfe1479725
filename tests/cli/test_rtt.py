"""``pyconsul rtt``: Consul 1.10's output, defaults and errors, against a
scripted agent."""

import json

from pyconsul.cli.http import Response

from tests.cli.clitest import CliTestCase, answering, lines, refusing_agent
from tests.cli.test_http import ScriptedTransport


def coord(x, height=0.0):
    return {"Vec": [x] + [0] * 7, "Error": 0.5, "Adjustment": 0, "Height": height}


LAN = [
    {"Node": "alpha", "Segment": "", "Coord": coord(0.0, 0.0001)},
    {"Node": "beta", "Segment": "", "Coord": coord(0.00041, 0.0001)},
    {"Node": "gamma", "Segment": "", "Coord": None},
]
WAN = [
    {"Datacenter": "dc1", "AreaID": "wan", "Coordinates": [{"Node": "s1", "Segment": "", "Coord": coord(0.0)}]},
    {"Datacenter": "dc2", "AreaID": "wan", "Coordinates": [{"Node": "s2", "Segment": "", "Coord": coord(0.0425)}]},
]
SELF = {"Config": {"NodeName": "alpha", "Datacenter": "dc1"}, "Member": {}}


def agent(lan=LAN, wan=WAN, self_status=200):
    def answer(request):
        path = request.target.split("?")[0]
        if path == "/v1/coordinate/nodes":
            return Response(200, {}, json.dumps(lan).encode())
        if path == "/v1/coordinate/datacenters":
            return Response(200, {}, json.dumps(wan).encode())
        if path == "/v1/agent/self":
            return Response(self_status, {}, json.dumps(SELF).encode() if self_status == 200 else b"boom")
        return Response(404, {}, b"")

    return ScriptedTransport(answer)


class LANTests(CliTestCase):
    command = ("rtt",)

    def test_two_nodes(self):
        # 0.41 ms apart plus two heights of 0.1 ms.
        self.assertRun(self.run_command("alpha", "beta", agent=agent()), 0,
                       lines("Estimated alpha <-> beta rtt: 0.610 ms (using LAN coordinates)"))

    def test_the_second_node_defaults_to_the_agent_and_names_ignore_case(self):
        transport = agent()
        self.assertRun(self.run_command("BETA", agent=transport), 0,
                       lines("Estimated BETA <-> alpha rtt: 0.610 ms (using LAN coordinates)"))
        self.assertEqual([r.target for r in transport.requests], ["/v1/agent/self", "/v1/coordinate/nodes"])

    def test_missing_coordinates(self):
        self.assertRun(self.run_command("alpha", "nobody", agent=agent()), 1,
                       stderr=lines('Could not find a coordinate for node "nobody"'))
        self.assertRun(self.run_command("gamma", "alpha", agent=agent()), 1,
                       stderr=lines('Could not find a coordinate for node "gamma"'))

    def test_argument_count(self):
        status, stdout, stderr = self.run_command(agent=agent())
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"One or two node names must be specified\n\nUsage: pyconsul rtt"), stderr)
        status, _, stderr = self.run_command("a", "b", "c", agent=agent())
        self.assertEqual(status, 1)
        self.assertTrue(stderr.startswith(b"One or two node names must be specified\n"))

    def test_errors(self):
        self.assertRun(self.run_command("alpha", "beta", agent=refusing_agent()), 1, stderr=lines(
            'Error getting coordinates: Get "http://127.0.0.1:8500/v1/coordinate/nodes": dial tcp '
            '127.0.0.1:8500: connect: connection refused'))
        self.assertRun(self.run_command("alpha", agent=agent(self_status=403)), 1,
                       stderr=lines("Unable to look up agent info: Unexpected response code: 403 (boom)"))
        self.assertRun(self.run_command("alpha", "beta", agent=answering(500, b"No cluster leader")), 1,
                       stderr=lines("Error getting coordinates: Unexpected response code: 500 (No cluster leader)"))

    def test_help(self):
        status, stdout, _ = self.run_command("-h")
        self.assertEqual(status, 0)
        self.assertIn(b"Usage: pyconsul rtt [options] node1 [node2]", stdout)
        self.assertIn(b"-wan", stdout)


class WANTests(CliTestCase):
    command = ("rtt", "-wan")

    def test_two_servers(self):
        self.assertRun(self.run_command("s1.dc1", "s2.dc2", agent=agent()), 0,
                       lines("Estimated s1.dc1 <-> s2.dc2 rtt: 42.500 ms (using WAN coordinates)"))

    def test_the_agent_as_node_dot_datacenter(self):
        wan = [dict(WAN[0], Coordinates=WAN[0]["Coordinates"] + [{"Node": "alpha", "Coord": coord(0.001)}]),
               WAN[1]]
        self.assertRun(self.run_command("s2.dc2", agent=agent(wan=wan)), 0,
                       lines("Estimated s2.dc2 <-> alpha.dc1 rtt: 41.500 ms (using WAN coordinates)"))

    def test_names_need_a_datacenter(self):
        self.assertRun(self.run_command("s1", "s2.dc2", agent=agent()), 1,
                       stderr=lines("Node names must be specified as <node name>.<datacenter> with -wan"))

    def test_unknown_and_other_areas(self):
        self.assertRun(self.run_command("s1.dc1", "s9.dc2", agent=agent()), 1,
                       stderr=lines('Could not find a coordinate for node "s1.dc1"'))
        other_area = [WAN[0], dict(WAN[1], AreaID="elsewhere")]
        self.assertRun(self.run_command("s1.dc1", "s2.dc2", agent=agent(wan=other_area)), 1,
                       stderr=lines('Could not find a coordinate for node "s1.dc1"'))
