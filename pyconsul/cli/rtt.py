"""``pyconsul rtt``: the round trip time between two nodes, estimated from
their network coordinates, as Consul 1.10's ``consul rtt``:

* one or two node names; without a second, the agent's own node (asked of
  ``/v1/agent/self``);
* LAN coordinates from ``/v1/coordinate/nodes`` (names compared without
  case, the pair chosen by segment as Consul's CoordinateSet.Intersect);
* with ``-wan``, names as ``<node>.<datacenter>`` (the agent's own is
  ``NodeName.Datacenter``) and the WAN coordinates of
  ``/v1/coordinate/datacenters``, both in the same area;
* prints ``Estimated a <-> b rtt: 0.610 ms (using LAN coordinates)``;
  errors go to stderr with Consul's words and exit 1.
"""

from pyconsul.cli.agentlocal import SELF
from pyconsul.cli.catalogapi import decode_answer
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag
from pyconsul.cli.http import ApiError, UnexpectedStatus
from pyconsul.cli.httpflags import CLIENT_FLAGS, make_client
from pyconsul.core.coordinate.coordinate import Coordinate, intersect
from pyconsul.golang import gostruct as go
from pyconsul.golang.floatjson import COORDINATE
from pyconsul.golang.strconv import quote

ENTRY = go.Struct("CoordinateEntry", "api.CoordinateEntry", [
    go.Field("Node", go.String()), go.Field("Segment", go.String()), go.Field("Coord", COORDINATE),
], pointer=True)
ENTRIES = go.Slice(ENTRY)
DATACENTER_MAP = go.Struct("CoordinateDatacenterMap", "api.CoordinateDatacenterMap", [
    go.Field("Datacenter", go.String()), go.Field("AreaID", go.String()), go.Field("Coordinates", ENTRIES),
], pointer=True)
DATACENTER_MAPS = go.Slice(DATACENTER_MAP)


class _Api:
    def __init__(self, client):
        self.client = client

    def get(self, path, schema):
        response = self.client.request("GET", path)
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        return decode_answer(response.body, schema)

    def agent_config(self):
        return (self.get("/v1/agent/self", SELF) or {}).get("Config") or {}


def _coordinate(entry):
    coord = entry.get("Coord")
    return None if coord is None else Coordinate.from_dict(coord)


def _go_text(value):
    """fmt's %s of what an interface{} holds (a missing key prints as Go's nil)."""
    if value is None:
        return "%!s(<nil>)"
    return value if isinstance(value, str) else str(value)


class RTTCommand(Command):
    synopsis = "Estimates network round trip time between nodes"
    usage = """
Usage: {prog} rtt [options] node1 [node2]

  Estimates the round trip time between two nodes using the network
  coordinates pyconsul keeps of the cluster (Consul's model).

  At least one node name is required. If the second node name isn't given,
  it is set to the agent's node name. These are node names as "members"
  shows them, not IP addresses.

  By default both nodes are taken to be in the local datacenter and their
  LAN coordinates are used. With -wan the WAN coordinates are used, and the
  node names must end with a period and the datacenter (eg. "myserver.dc1").

  LAN and WAN coordinates come from different gossip pools, so a LAN node
  cannot be measured against a WAN one.
"""
    flag_groups = (
        (BoolFlag("wan", "Use WAN coordinates instead of LAN coordinates."),),
        CLIENT_FLAGS,
    )

    def execute(self, parsed, console):
        nodes = list(parsed.args)
        if not 1 <= len(nodes) <= 2:
            console.err("One or two node names must be specified")
            console.err("")
            console.err(self.help_text())
            return 1
        try:
            api = _Api(make_client(parsed, console))
        except ApiError as error:
            console.err("Error connecting to Consul agent: %s" % error)
            return 1
        if parsed.wan:
            found = self._wan(api, nodes, console)
            source = "WAN"
        else:
            found = self._lan(api, nodes, console)
            source = "LAN"
        if found is None:
            return 1
        first, second = found
        if first is None:
            console.err("Could not find a coordinate for node %s" % quote(nodes[0]))
            return 1
        if second is None:
            console.err("Could not find a coordinate for node %s" % quote(nodes[1]))
            return 1
        if not first.is_compatible_with(second):
            # consul panics here; we say what it would have panicked with.
            console.err("Error: coordinate dimensionality does not match")
            return 1
        milliseconds = first.distance_to(second) * 1000.0
        console.out("Estimated %s <-> %s rtt: %.3f ms (using %s coordinates)"
                    % (nodes[0], nodes[1], milliseconds, source))
        return 0

    def _lan(self, api, nodes, console):
        if len(nodes) < 2:
            try:
                name = api.agent_config().get("NodeName")
            except ApiError as error:
                console.err("Unable to look up agent info: %s" % error)
                return None
            nodes.append(name if isinstance(name, str) else "")
        try:
            entries = api.get("/v1/coordinate/nodes", ENTRIES) or []
        except ApiError as error:
            console.err("Error getting coordinates: %s" % error)
            return None
        mine, theirs = {}, {}
        for entry in entries:
            if entry is None:
                continue
            node = entry.get("Node", "")
            if node.casefold() == nodes[0].casefold():
                mine[entry.get("Segment", "")] = _coordinate(entry)
            if node.casefold() == nodes[1].casefold():
                theirs[entry.get("Segment", "")] = _coordinate(entry)
        return intersect(mine, theirs)

    def _wan(self, api, nodes, console):
        if len(nodes) < 2:
            try:
                config = api.agent_config()
            except ApiError as error:
                console.err("Unable to look up agent info: %s" % error)
                return None
            nodes.append("%s.%s" % (_go_text(config.get("NodeName")), _go_text(config.get("Datacenter"))))
        parts = [name.split(".") for name in nodes]
        if any(len(part) != 2 for part in parts):
            console.err("Node names must be specified as <node name>.<datacenter> with -wan")
            return None
        (node1, dc1), (node2, dc2) = parts
        try:
            maps = api.get("/v1/coordinate/datacenters", DATACENTER_MAPS) or []
        except ApiError as error:
            console.err("Error getting coordinates: %s" % error)
            return None
        # Only coordinates of the same area compare.
        area1 = area2 = ""
        first = second = None
        for datacenter in maps:
            if datacenter is None:
                continue
            for entry in datacenter.get("Coordinates") or ():
                if entry is None:
                    continue
                node = entry.get("Node", "")
                if datacenter.get("Datacenter", "") == dc1 and node.casefold() == node1.casefold():
                    area1, first = datacenter.get("AreaID", ""), _coordinate(entry)
                if datacenter.get("Datacenter", "") == dc2 and node.casefold() == node2.casefold():
                    area2, second = datacenter.get("AreaID", ""), _coordinate(entry)
                if area1 == area2 and first is not None and second is not None:
                    return first, second
        return None, None


command = RTTCommand()
