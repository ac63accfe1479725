"""/v1/coordinate: the network coordinates the servers hold, as Consul 1.10
answers them (agent/coordinate_endpoint.go).

- ``GET /v1/coordinate/datacenters``: ``[{Datacenter, AreaID, Coordinates}]``
  from the WAN pool (``Coordinates`` always a list);
- ``GET /v1/coordinate/nodes``: blocking; ``[{Node, Segment, Coord}]``,
  ``[]`` when none;
- ``GET /v1/coordinate/node/<node>``: blocking; the node's entries, or a
  404 (with the query headers, and no body) when it has none;
- ``PUT /v1/coordinate/update``: body ``{Node, Segment, Coord}``; 400
  ``Request decode failed: ...`` for a body Go could not decode.

``?segment=`` keeps the entries of that segment only (every entry is in
segment "" without Enterprise). With ``disable_coordinates`` every one is a
401 ``Coordinate support disabled``. Numbers are written as Go writes
float64s (``0.00001``, not ``1e-05``).
"""

from pyconsul.golang import floatjson
from pyconsul.golang import gostruct as go
from pyconsul.golang.floatjson import COORDINATE
from pyconsul.http.request import BadRequest
from pyconsul.http.response import empty_body, error_body


UPDATE_REQUEST = go.Struct("CoordinateUpdateRequest", "structs.CoordinateUpdateRequest", [
    go.Field("Datacenter", go.String()), go.Field("Node", go.String()), go.Field("Segment", go.String()),
    go.Field("Coord", COORDINATE), go.Field("Token", go.String()),
])

DISABLED = "Coordinate support disabled"


def coord_json(coord):
    """coordinate.Coordinate in Go's field order."""
    return {
        "Vec": [float(x) for x in coord.get("Vec") or ()],
        "Error": float(coord.get("Error", 0.0)),
        "Adjustment": float(coord.get("Adjustment", 0.0)),
        "Height": float(coord.get("Height", 0.0)),
    }


def entry_json(entry):
    return {"Node": entry["Node"], "Segment": entry.get("Segment", ""), "Coord": coord_json(entry["Coord"])}


class CoordinateEndpoint:
    def __init__(self, rpc, datacenter, disabled=False):
        self.rpc = rpc
        self.datacenter = datacenter
        self.disabled = disabled

    def _render(self, call, value):
        call.request.setHeader(b"content-type", b"application/json")
        text = floatjson.marshal(value, "    ") if call.pretty else floatjson.marshal(value)
        return text.encode("utf-8")

    def _refused(self, call):
        if self.disabled:
            return error_body(call.request, 401, DISABLED)
        return None

    def _segment_filter(self, call, entries):
        if call.params.has("segment"):
            segment = call.params.get("segment")
            entries = [entry for entry in entries if (entry.get("Segment") or "") == segment]
        return [entry_json(entry) for entry in entries]

    def _read_args(self, call, **args):
        options = call.read_options()
        args.update(Datacenter=options.datacenter or self.datacenter, QueryOptions=options.as_rpc())
        return args

    def datacenters(self, call):
        refused = self._refused(call)
        if refused is not None:
            return refused

        def answer(maps):
            out = [
                {"Datacenter": m["Datacenter"], "AreaID": m["AreaID"],
                 "Coordinates": [entry_json(entry) for entry in m.get("Coordinates") or ()]}
                for m in maps or ()
            ]
            return self._render(call, out)

        return self.rpc.call("Coordinate.ListDatacenters", {}).addCallback(answer)

    def nodes(self, call):
        refused = self._refused(call)
        if refused is not None:
            return refused

        def answer(reply):
            call.query_meta(reply)
            return self._render(call, self._segment_filter(call, reply.get("Coordinates") or ()))

        return self.rpc.call("Coordinate.ListNodes", self._read_args(call)).addCallback(answer)

    def node(self, call, name):
        refused = self._refused(call)
        if refused is not None:
            return refused
        args = self._read_args(call, Node=name)

        def answer(reply):
            call.query_meta(reply)
            found = self._segment_filter(call, reply.get("Coordinates") or ())
            if not found:
                return empty_body(call.request, 404)
            return self._render(call, found)

        return self.rpc.call("Coordinate.Node", args).addCallback(answer)

    def update(self, call):
        refused = self._refused(call)
        if refused is not None:
            return refused
        try:
            args = go.decode(call.body(), UPDATE_REQUEST)
        except go.GoError as error:
            raise BadRequest("Request decode failed: %s" % error)
        args["Datacenter"] = call.params.get("dc") or args.get("Datacenter") or self.datacenter
        token = call.write_args()["Token"]
        if token:
            args["Token"] = token
        return self.rpc.call("Coordinate.Update", args).addCallback(lambda _: empty_body(call.request, 200))
