"""A single in-memory server on a fake clock, for tests of everything above Raft."""

import random

from twisted.internet.task import Clock

from pyconsul.agent.agent import Agent
from pyconsul.agent.cache import AgentCache
from pyconsul.agent.checks import CheckDeps
from pyconsul.agent.events import UserEvents, local_services
from pyconsul.agent.localagent import LocalAgent
from pyconsul.agent.router import RPCRouter
from pyconsul.config import build
from pyconsul.core.serf.node import SerfNode
from pyconsul.net.gossip import GossipDriver
from pyconsul.http.api import HTTPApi
from pyconsul.net.raft_driver import RaftDriver
from pyconsul.server.coordinates import CoordinateEndpoints
from pyconsul.server.endpoints import ServerEndpoints
from pyconsul.server.event_fire import EventFireEndpoint
from pyconsul.server.reconcile import CatalogReconciler
from pyconsul.server.server import ConsulServer
from pyconsul.state.store import FSM
from pyconsul.storage.memory import MemoryLogStore, MemorySnapshotStore


NODE_ID = "2ef7cbd8-9ee5-4a2d-8a34-0a3a8b3c1d42"


class InMemoryServer:
    """Raft, state store, RPC endpoints and HTTP API, wired as in an agent.

    Time only moves when the test calls :meth:`advance`.
    """

    def __init__(self, datacenter="dc1", seed=0, snapshot_threshold=16384, clock=None, bootstrap=True,
                 local_agent=True, config=None, node_name="node-1"):
        self.clock = clock or Clock()
        self.rng = random.Random(seed)
        self.fsm = FSM(clock=self.clock)
        self.log_store = MemoryLogStore()
        self.snapshot_store = MemorySnapshotStore()
        self.driver = RaftDriver(
            node_id="node-1",
            address="127.0.0.1:8300",
            log_store=self.log_store,
            snapshot_store=self.snapshot_store,
            fsm=self.fsm,
            clock=self.clock,
            rng=self.rng,
            tick_seconds=0.1,
            bootstrap=bootstrap,
            snapshot_threshold=snapshot_threshold,
        )
        self.server = ConsulServer(driver=self.driver, fsm=self.fsm, clock=self.clock)
        self.endpoints = ServerEndpoints(self.server, self.clock, self.rng, datacenter=datacenter)
        self.rpc = RPCRouter(datacenter, self.endpoints)
        self.config = config or build({"datacenter": datacenter, "node_id": NODE_ID}, dev=True, hostname=node_name)[0]
        # Gossip that never touches a socket: no peers, so nothing is sent.
        node = SerfNode(node_name, ("127.0.0.1", 8301), rng=self.rng, now=self.clock.seconds(),
                        coordinates=not self.config.disable_coordinates,
                        tags={"role": "consul", "dc": datacenter, "build": "1.10.3:x", "vsn": "2",
                              "id": NODE_ID, "port": "8300", "raft_vsn": "3"})
        self.lan = GossipDriver(node, self.clock)
        self.endpoints.methods.update(EventFireEndpoint(self.lan).methods())
        self.coordinates = self.endpoints.coordinates = CoordinateEndpoints(
            self.endpoints, self.clock, lambda: node.coordinate,
            update_period=self.config.coordinate_update_period,
            batch_size=self.config.coordinate_update_batch_size,
            max_batches=self.config.coordinate_update_max_batches,
        )
        self.endpoints.methods.update(self.coordinates.methods())
        self.coordinates.start()
        self.reconciler = CatalogReconciler(datacenter, self.server, self.lan, self.clock)
        self.reconciler.start()
        self.stopped = []
        # This node's own services and checks, kept in the catalog (tests
        # that drive anti-entropy themselves go without).
        self.local = None
        if local_agent:
            self.local = LocalAgent(self.config, self.clock, self.rng, self.rpc, self.lan,
                                    CheckDeps(self.clock, self.rng))
        self.events = UserEvents(self.config.node_name, local_services(self.local), self.rpc,
                                 rng=random.Random(seed))
        self.lan.subscribe(self.events.on_serf_event)
        self.agent = Agent(self.config, self.lan, self.server, shutdown=lambda: self.stopped.append(1),
                           local=self.local)
        self.cache = AgentCache(self.rpc, self.clock, self.rng)
        self.http = HTTPApi(self.rpc, agent=self.agent, clock=self.clock, agent_cache=self.cache,
                            events=self.events)
        self.server.start()
        self.advance(0.1)
        if self.local is not None:
            self.local.start()
            self.advance(0)

    def advance(self, seconds=0.0):
        """Move time on, running everything that falls due (callLater(0) too)."""
        self.clock.advance(seconds)
        for _ in range(1000):
            if not any(c.getTime() <= self.clock.seconds() for c in self.clock.getDelayedCalls()):
                return
            self.clock.advance(0)
        raise AssertionError("work keeps scheduling itself")
