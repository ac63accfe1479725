"""An in-memory network of Raft cores, for deterministic tests.

Each node runs on a :class:`MemoryLogStore`; :meth:`RaftNetwork.run` plays the
driver's part (persist, send, apply, advance) for every node until nothing is
left to do. Messages can be dropped between pairs of nodes or for isolated
nodes, as etcd's raft tests do.
"""

import random

from pyconsul.core.raft import Configuration, EntryType, RaftNode, Server
from pyconsul.storage import Batch
from pyconsul.storage.memory import MemoryLogStore


class RaftNetwork:
    def __init__(self, ids, seed=0, election_ticks=10, bootstrap=True):
        self.rng = random.Random(seed)
        self.ids = list(ids)
        self.stores = {i: MemoryLogStore() for i in self.ids}
        self.applied = {i: [] for i in self.ids}
        self.nodes = {}
        self.cut = set()  # (src, dst) pairs whose messages are dropped
        self.isolated = set()
        self.election_ticks = election_ticks
        for node_id in self.ids:
            self.nodes[node_id] = self._make(node_id)
        if bootstrap:
            configuration = Configuration(Server(i, "addr-" + i) for i in self.ids)
            for node in self.nodes.values():
                node.bootstrap(configuration)
        self.run()

    def _make(self, node_id, applied=0):
        return RaftNode(
            node_id,
            self.stores[node_id],
            random.Random(self.rng.random()),
            election_ticks=self.election_ticks,
            applied=applied,
        )

    def restart(self, node_id):
        """A crash and restart: the node keeps only what it persisted."""
        applied = self.applied[node_id]
        self.applied[node_id] = []
        self.nodes[node_id] = self._make(node_id)
        del applied
        self.run()

    def isolate(self, node_id):
        self.isolated.add(node_id)

    def heal(self):
        self.isolated.clear()
        self.cut.clear()

    def _delivers(self, msg):
        return (
            msg.src not in self.isolated
            and msg.dst not in self.isolated
            and (msg.src, msg.dst) not in self.cut
            and msg.dst in self.nodes
        )

    def run(self, max_rounds=10000):
        """Process Ready batches and deliver messages until all is quiet."""
        for _ in range(max_rounds):
            busy = False
            for node_id, node in list(self.nodes.items()):
                while node.has_ready():
                    busy = True
                    ready = node.ready()
                    store = self.stores[node_id]
                    batch = Batch(ready.hard_state, ready.entries, ready.snapshot)
                    store.write(batch)
                    store.written(batch)
                    for entry in ready.committed_entries:
                        if entry.type is EntryType.COMMAND:
                            self.applied[node_id].append(entry.data)
                    node.advance(ready)
                    for msg in ready.messages:
                        if self._delivers(msg):
                            self.nodes[msg.dst].step(msg)
            if not busy:
                return
        raise AssertionError("the network did not settle")

    def tick(self, times=1):
        for _ in range(times):
            for node in self.nodes.values():
                node.tick()
            self.run()

    def elect(self, node_id):
        self.nodes[node_id].campaign()
        self.run()

    def leader(self):
        leaders = [n for n in self.nodes.values() if n.role.value == "Leader"]
        return leaders[-1] if leaders else None
