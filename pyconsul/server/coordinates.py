"""The ``Coordinate.*`` RPC endpoints, and sorting answers by distance.

- ``Coordinate.Update``: an agent's LAN coordinate (forwarded to the
  leader). The leader keeps only the latest per node and segment, and every
  ``update_period`` writes what it has in batches of ``batch_size``
  entries, at most ``max_batches`` of them (the rest are discarded with a
  warning), as Consul's batchUpdate does. (The period's timer runs only
  while something waits to be written: an idle server keeps no timer.)
- ``Coordinate.ListNodes`` / ``Coordinate.Node``: blocking reads of the
  replicated table.
- ``Coordinate.ListDatacenters``: the WAN pool's servers by datacenter,
  from their cached coordinates; see ``datacenter_maps``. Without a WAN
  pool, just this datacenter, with no coordinates.

``sort_by_distance`` is Consul's sortNodesByDistanceFrom, for the catalog
and health endpoints' ``?near=``.
"""

from twisted.internet.defer import succeed

from pyconsul import timers
from pyconsul.core.coordinate.coordinate import Coordinate, compute_distance, intersect
from pyconsul.core.serf.member import MemberStatus
from pyconsul.logs import Logger
from pyconsul.server.errors import RPCError
from pyconsul.state import commands

# Consul's consul.DefaultConfig().
UPDATE_PERIOD = 5.0
UPDATE_BATCH_SIZE = 128
UPDATE_MAX_BATCHES = 5

AREA_WAN = "wan"  # types.AreaWAN


def datacenter_maps(members, cached_coordinate, local_datacenter=None):
    """Consul's router.GetDatacenterMaps for the WAN area, with
    ListDatacenters' clean-up: for each datacenter, its servers' WAN
    coordinates, node names without their ``.dc`` suffix.

    ``members``: the WAN pool's members (serf ``Member``s: name, tags,
    status); ``cached_coordinate(name)``: the coordinate the pool holds for
    a member, or None. Members that are not Consul servers, and servers that
    left, are skipped; a datacenter none of whose servers has a coordinate
    is not listed. With ``local_datacenter`` and nothing at all to list,
    that datacenter is listed without coordinates (a server without a WAN
    pool). Sorted by datacenter, then node.
    """
    found = {}
    for member in members:
        tags = member.tags
        if tags.get("role") != "consul" or not tags.get("dc"):
            continue
        if member.status == MemberStatus.LEFT:
            continue
        coordinate = cached_coordinate(member.name)
        if coordinate is None:
            continue
        datacenter = tags["dc"]
        suffix = "." + datacenter
        node = member.name[: -len(suffix)] if member.name.endswith(suffix) else member.name
        found.setdefault(datacenter, []).append({"Node": node, "Segment": "", "Coord": coordinate.to_dict()})
    if not found and local_datacenter is not None:
        found[local_datacenter] = []
    return [
        {"Datacenter": datacenter, "AreaID": AREA_WAN,
         "Coordinates": sorted(entries, key=lambda entry: entry["Node"])}
        for datacenter, entries in sorted(found.items())
    ]


def sort_by_distance(coordinates, source, datacenter, entries, node_of):
    """``entries`` stably sorted by their node's estimated RTT from
    ``source`` (``{"Node", "Datacenter"}``, Consul's QuerySource); nodes
    without a coordinate go last. Unsorted (the same list) when there is no
    source node, it is in another datacenter, or it has no coordinate.
    ``coordinates``: the state store's CoordinateTable."""
    if not source or not source.get("Node"):
        return entries
    if (source.get("Datacenter") or datacenter) != datacenter:
        return entries
    origin = coordinates.coordinates_of(source["Node"])
    if not origin:
        return entries
    cache = {}

    def distance(entry):
        node = node_of(entry)
        key = node.lower()
        if key not in cache:
            mine, theirs = intersect(origin, coordinates.coordinates_of(node))
            cache[key] = compute_distance(mine, theirs)
        return cache[key]

    return sorted(entries, key=distance)


class CoordinateEndpoints:
    log = Logger()

    def __init__(self, endpoints, clock, local_coordinate, wan=None, update_period=UPDATE_PERIOD,
                 batch_size=UPDATE_BATCH_SIZE, max_batches=UPDATE_MAX_BATCHES):
        """``local_coordinate()``: this server's LAN coordinate (None with
        coordinates disabled); ``wan()``: None, or the WAN pool as
        ``(members, cached_coordinate)`` for ``datacenter_maps``."""
        self.endpoints = endpoints
        self.server = endpoints.server
        self.clock = clock
        self.local_coordinate = local_coordinate
        self.wan = wan if wan is not None else (lambda: None)
        self.update_period = update_period
        self.batch_size = max(1, batch_size)
        self.max_batches = max(1, max_batches)
        self.pending = {}  # (node, segment) -> update, the latest of each
        self._timer = None
        self._running = False

    def methods(self):
        return {
            "Coordinate.Update": self.update,
            "Coordinate.ListNodes": self.list_nodes,
            "Coordinate.Node": self.node,
            "Coordinate.ListDatacenters": self.list_datacenters,
        }

    def set_wan(self, wan):
        """Wire the WAN pool in once it exists (see ``__init__``)."""
        self.wan = wan

    # -- the batch loop ----------------------------------------------------------

    def start(self):
        self._running = True
        if self.pending:
            self._schedule()

    def stop(self):
        self._running = False
        self._timer = timers.cancel(self._timer)

    def _schedule(self):
        if self._running and self._timer is None:
            self._timer = self.clock.callLater(self.update_period, self._flush)

    def _flush(self):
        self._timer = None
        d = self.apply_pending()
        d.addErrback(lambda failure: self.log.warn("Batch update failed: {error}", error=failure.value))
        d.addBoth(self._after_flush)

    def _after_flush(self, _):
        if self.pending:
            self._schedule()

    def apply_pending(self):
        """Write the pending updates now; a Deferred that fires when the
        batches are applied (or fails with the first error)."""
        pending, self.pending = self.pending, {}
        limit = self.batch_size * self.max_batches
        updates = list(pending.values())
        if len(updates) > limit:
            self.log.warn("Discarded coordinate updates: {number_discarded}", number_discarded=len(updates) - limit)
            updates = updates[:limit]
        batches = [updates[start:start + self.batch_size] for start in range(0, len(updates), self.batch_size)]
        d = succeed(None)
        for batch in batches:
            d.addCallback(lambda _, batch=batch: self.server.apply(commands.coordinate_batch_update(batch)))
        return d

    # -- RPC ---------------------------------------------------------------------

    def update(self, args):
        try:
            coordinate = Coordinate.from_dict(args.get("Coord"))
        except ValueError:
            raise RPCError("invalid coordinate")
        if args.get("Coord") is None or not coordinate.is_valid():
            # Consul: "Older clients can send coordinates with invalid
            # numeric values like NaN and Inf".
            raise RPCError("invalid coordinate")
        local = self.local_coordinate()
        if local is None:
            raise RPCError("Coordinates are disabled")
        if not local.is_compatible_with(coordinate):
            raise RPCError("incompatible coordinate")
        node = args.get("Node") or ""
        segment = args.get("Segment") or ""
        if not isinstance(node, str) or not isinstance(segment, str):
            raise RPCError("invalid coordinate update")
        self.pending[(node, segment)] = {"Node": node, "Segment": segment, "Coord": coordinate.to_dict()}
        self._schedule()
        return None

    def list_nodes(self, args):
        def run(watch):
            watch.key(("coordinates",))
            table = self.endpoints.store.coordinates
            return max(table.index, 1), {"Coordinates": table.all()}

        return self.endpoints._read(args, run, watches=self.endpoints.store.catalog_watches)

    def node(self, args):
        name = args.get("Node") or ""

        def run(watch):
            watch.key(("coordinate", name.lower()))
            table = self.endpoints.store.coordinates
            found = table.of_node(name)
            entries = [{"Node": name, "Segment": segment, "Coord": found[segment]} for segment in sorted(found)]
            return max(table.index, 1), {"Coordinates": entries}

        return self.endpoints._read(args, run, watches=self.endpoints.store.catalog_watches)

    def list_datacenters(self, args):
        pool = self.wan()
        if pool is None:
            return datacenter_maps((), lambda name: None, self.endpoints.datacenter)
        members, cached_coordinate = pool
        return datacenter_maps(members, cached_coordinate, self.endpoints.datacenter)


def nearest_first(coordinates, args, datacenter, field, node_of):
    """For an RPC reply: ``reply[field]`` sorted by ``args["Source"]``."""

    def sort(reply):
        source = args.get("Source")
        if source:
            entries = reply.get(field)
            if entries:
                reply[field] = sort_by_distance(coordinates(), source, datacenter, entries, node_of)
        return reply

    return sort

