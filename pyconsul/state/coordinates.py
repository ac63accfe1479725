"""Network coordinates of the catalog's nodes, as the servers keep them.

Agents send their LAN coordinate to the servers now and then; the leader
collects them and writes them in batches (``coordinate-batch-update``).
Consul's rules:

- an update for a node the catalog does not have is dropped quietly (the
  node may not have registered yet; its next update will do);
- a node's coordinates go when the node leaves the catalog;
- entries are keyed by node (without regard to case) and network segment
  (always "" without Enterprise), listed in that order;
- the table's index moves with every batch, even one that stored nothing.

Records keep Consul's shape: ``{"Node", "Segment", "Coord"}`` with Coord as
``coordinate.Coordinate`` (``Vec``, ``Error``, ``Adjustment``, ``Height``).
Blocking reads watch ``("coordinates",)`` (any change) and
``("coordinate", node)``.
"""

from sortedcontainers import SortedDict

from pyconsul.core.coordinate.coordinate import Coordinate


def _key(name):
    return name.lower()


def check_update(update):
    """One update as the log carries it, checked and normalised; raises
    ValueError (the FSM then skips the whole entry)."""
    if not isinstance(update, dict):
        raise ValueError("a coordinate update must be an object")
    node = update.get("Node")
    segment = update.get("Segment") or ""
    if not isinstance(node, str) or not isinstance(segment, str):
        raise ValueError("a coordinate update needs a Node and a Segment")
    coordinate = Coordinate.from_dict(update.get("Coord"))
    if not coordinate.is_valid():
        raise ValueError("invalid coordinate")
    return {"Node": node, "Segment": segment, "Coord": coordinate.to_dict()}


class CoordinateTable:
    def __init__(self, watches):
        self.watches = watches
        self.entries = SortedDict()  # (node key, segment) -> record
        self.index = 0

    # -- reads ---------------------------------------------------------------------

    def all(self):
        return list(self.entries.values())

    def of_node(self, name):
        """Segment -> coordinate record (``Coord``) of one node."""
        key = _key(name)
        return {
            segment: self.entries[(node, segment)]["Coord"]
            for node, segment in self.entries.irange((key, ""), (key, "\uffff"))
        }

    def coordinates_of(self, name):
        """Segment -> Coordinate of one node (for distance sorting)."""
        return {segment: Coordinate.from_dict(coord) for segment, coord in self.of_node(name).items()}

    # -- writes --------------------------------------------------------------------

    def batch_update(self, index, updates, catalog):
        checked = [check_update(update) for update in updates]
        for record in checked:
            if catalog.node(record["Node"]) is None:
                continue
            key = (_key(record["Node"]), record["Segment"])
            self.entries[key] = record
            self.watches.changed(("coordinate", key[0]))
        self.index = index
        self.watches.changed(("coordinates",))
        return None

    def prune(self, index, catalog):
        """Drop the coordinates of nodes the catalog no longer has."""
        gone = [key for key in self.entries if catalog.nodes.get(key[0]) is None]
        for key in gone:
            del self.entries[key]
            self.watches.changed(("coordinate", key[0]))
        if gone:
            self.index = index
            self.watches.changed(("coordinates",))

    def all_views(self):
        return [("coordinates",)] + [("coordinate", node) for node, _ in self.entries]

    # -- snapshots -------------------------------------------------------------------

    def snapshot_records(self):
        entries = list(self.entries.values())
        index = self.index

        def records():
            yield ["coordinates-index", index]
            for record in entries:
                yield ["coordinate", record]

        return records()

    def restore_record(self, record):
        if record[0] == "coordinates-index":
            self.index = record[1]
        elif record[0] == "coordinate":
            entry = check_update(record[1])
            self.entries[(_key(entry["Node"]), entry["Segment"])] = entry
        else:
            return False
        return True
