"""Network coordinates in the state store, as Consul 1.10's
(agent/consul/state/coordinate.go): batches through the FSM, updates for
unknown nodes dropped, coordinates gone with their node, the table index,
the blocking-query views, and snapshots."""

import io

from pyconsul.core.coordinate.coordinate import Coordinate
from pyconsul.state import commands
from pyconsul.state.store import FSM, CommandFailed
from pyconsul.storage.snapshots import pack_records, unpack_records
from tests.state.fsmcase import FSMTestCase


def coord(x=0.0, height=1e-5, error=1.5, adjustment=0.0):
    return {"Vec": [x] + [0.0] * 7, "Error": error, "Adjustment": adjustment, "Height": height}


def update(node, x=0.0, segment=""):
    return {"Node": node, "Segment": segment, "Coord": coord(x)}


class Recorder:
    def __init__(self, registry, *views):
        self.woken = set()
        for view in views:
            registry.watch_key(view, lambda view=view: self.woken.add(view))


class CoordinateStoreTests(FSMTestCase):
    def setUp(self):
        super().setUp()
        for node in ("n1", "n2", "N3"):
            self.register(node)

    def register(self, node):
        self.apply(commands.catalog_register({"Node": node, "Address": "10.0.0.1"}))

    def batch(self, *updates):
        return self.apply(commands.coordinate_batch_update(list(updates)))

    def test_batch_update_stores_known_nodes_only(self):
        self.assertIsNone(self.batch(update("n1", 0.001), update("ghost", 0.002), update("n3", 0.003)))
        # Sorted by node without regard to case; the node as sent.
        self.assertEqual(self.store.coordinates.all(), [
            {"Node": "n1", "Segment": "", "Coord": coord(0.001)},
            {"Node": "n3", "Segment": "", "Coord": coord(0.003)},
        ])
        self.assertEqual(self.store.coordinates.index, self.index)
        self.assertEqual(self.store.coordinates.of_node("N1"), {"": coord(0.001)})
        self.assertEqual(self.store.coordinates.of_node("ghost"), {})
        self.assertEqual(self.store.coordinates.coordinates_of("n3"),
                         {"": Coordinate.from_dict(coord(0.003))})

    def test_a_later_update_replaces_and_segments_are_apart(self):
        self.batch(update("n1", 0.001))
        self.batch(update("n1", 0.005), update("n1", 0.007, segment="alpha"))
        self.assertEqual(self.store.coordinates.of_node("n1"), {"": coord(0.005), "alpha": coord(0.007)})

    def test_the_index_moves_even_when_nothing_is_stored(self):
        # As Consul: the table's index entry is written for every batch.
        self.batch(update("ghost"))
        self.assertEqual(self.store.coordinates.all(), [])
        self.assertEqual(self.store.coordinates.index, self.index)

    def test_a_bad_update_skips_the_whole_entry(self):
        self.batch(update("n1", 0.001))
        before = self.store.coordinates.index
        for bad in ({"Node": "n2", "Coord": {"Vec": ["x"]}}, {"Node": 7, "Coord": coord()}, "junk",
                    {"Node": "n2", "Coord": dict(coord(), Error=float("nan"))}):
            result = self.batch(update("n2"), bad)
            self.assertIsInstance(result, CommandFailed)
        self.assertEqual(self.store.coordinates.of_node("n2"), {})
        self.assertEqual(self.store.coordinates.index, before)

    def test_deregistering_the_node_removes_its_coordinates(self):
        self.batch(update("n1", 0.001), update("n2", 0.002))
        woken = Recorder(self.store.catalog_watches, ("coordinates",), ("coordinate", "n1"), ("coordinate", "n2"))
        self.apply(commands.catalog_deregister({"Node": "n1"}))
        self.assertEqual([r["Node"] for r in self.store.coordinates.all()], ["n2"])
        self.assertEqual(self.store.coordinates.index, self.index)
        self.assertEqual(woken.woken, {("coordinates",), ("coordinate", "n1")})

    def test_a_service_write_leaves_coordinates_alone(self):
        self.batch(update("n1", 0.001))
        index = self.store.coordinates.index
        self.apply(commands.catalog_register({"Node": "n1", "Address": "10.0.0.1", "Service": {
            "ID": "web", "Service": "web"}}))
        self.apply(commands.catalog_deregister({"Node": "n1", "ServiceID": "web"}))
        self.assertEqual(self.store.coordinates.index, index)
        self.assertEqual(len(self.store.coordinates.all()), 1)

    def test_a_transaction_deleting_the_node_removes_them_too(self):
        self.batch(update("n2", 0.002))
        result = self.apply(commands.txn([{"Node": {"Verb": "delete", "Node": {"Node": "n2"}}}]))
        self.assertEqual(result["Errors"], None)
        self.assertEqual(self.store.coordinates.all(), [])

    def test_views_woken(self):
        woken = Recorder(self.store.catalog_watches, ("coordinates",), ("coordinate", "n1"), ("coordinate", "n2"))
        self.batch(update("n1"))
        self.assertEqual(woken.woken, {("coordinates",), ("coordinate", "n1")})


class CoordinateSnapshotTests(FSMTestCase):
    def test_snapshot_and_restore(self):
        self.apply(commands.catalog_register({"Node": "n1", "Address": "10.0.0.1"}))
        self.apply(commands.coordinate_batch_update([update("n1", 0.004)]))
        blob = io.BytesIO()
        pack_records(self.fsm.snapshot(), blob)
        blob.seek(0)
        copy = FSM(clock=self.clock)
        copy.apply(1, commands.catalog_register({"Node": "other", "Address": "10.0.0.2"}))
        copy.apply(2, commands.coordinate_batch_update([update("other")]))
        woken = Recorder(copy.store.catalog_watches, ("coordinates",), ("coordinate", "other"), ("coordinate", "n1"))
        copy.restore(unpack_records(blob))
        copy.notify()
        self.assertEqual(copy.store.coordinates.all(), self.store.coordinates.all())
        self.assertEqual(copy.store.coordinates.index, self.store.coordinates.index)
        self.assertEqual(woken.woken, {("coordinates",), ("coordinate", "other"), ("coordinate", "n1")})
