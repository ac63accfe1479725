"""Wiring: ``twistd pyconsul`` options and the agent's service tree.

This is the only module that picks the reactor and constructs the parts;
everything else takes its collaborators as arguments.
"""

import gc
import os
import random

import attrs

from twisted.internet.threads import deferToThreadPool
from twisted.python import usage
from twisted.python.threadpool import ThreadPool
from twisted.web.http import HTTPChannel
from twisted.web.server import Site

from pyconsul import config as agent_config
from pyconsul import logs
from pyconsul.agent.agent import Agent, build_tag
from pyconsul.agent.cache import AgentCache
from pyconsul.agent.coordinates import CoordinateSender
from pyconsul.agent.checks import CheckDeps
from pyconsul.agent.events import UserEvents, local_services
from pyconsul.agent.localagent import LocalAgent
from pyconsul.agent.router import RPCRouter, server_addresses
from pyconsul.agent.shared import SharedReads
from pyconsul.codec.gossip import Keyring
from pyconsul.core.serf.node import SerfNode
from pyconsul.core.serf.tags import consul_tags
from pyconsul.core.swim.config import SwimConfig
from pyconsul.dns.answers import Settings as DNSSettings
from pyconsul.dns.authority import Authority
from pyconsul.dns.queries import PreparedQueries
from pyconsul.dns.recursors import Recursors
from pyconsul.dns.server import ConsulDNSFactory, listen_udp
from pyconsul.dns.source import CatalogSource
from pyconsul.http.api import HTTPApi
from pyconsul.logs import Logger
from pyconsul.net.faults import NO_FAULTS, Faults
from pyconsul.net.gossip import GossipDriver
from pyconsul.net.mux import RPC_CONSUL, RPC_RAFT, MuxFactory
from pyconsul.net.raft_driver import RaftDriver
from pyconsul.net.raft_transport import RaftTransport
from pyconsul.net.rpc import RPCClientPool, RPCServerProtocol
from pyconsul.server.endpoints import ServerEndpoints
from pyconsul.server.coordinates import CoordinateEndpoints
from pyconsul.server.event_fire import EventFireEndpoint
from pyconsul.server.flood import WANFlooder
from pyconsul.server.membership import ServerMembership
from pyconsul.server.reconcile import CatalogReconciler
from pyconsul.server.server import ConsulServer
from pyconsul.service import (
    AgentService,
    CallbackService,
    DataDirLock,
    GossipService,
    JoinService,
    ListeningService,
    StartError,
    ThreadPoolService,
)
from pyconsul.state.store import FSM
from pyconsul.storage.memory import MemoryLogStore, MemorySnapshotStore
from pyconsul.storage.snapshots import FileSnapshotStore
from pyconsul.storage.sqlite import StorageError, open_log_store
from pyconsul.ui.resource import with_ui
from pyconsul.watch.service import AgentWatches, api_address

log = Logger()

# One Raft tick is a tenth of the heartbeat timeout; Consul's timeouts are
# 1 s times performance.raft_multiplier (5 by default, 1 with -dev).
TICKS_PER_TIMEOUT = 10


def _list_option(name):
    def option(self, value):
        self.values.setdefault(name, []).append(value)

    option.__doc__ = next(f.help for f in agent_config.AGENT_FLAGS if f.name == name)
    return option


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = (
        "Run a pyconsul agent: a Consul-compatible server (--server) or client. "
        "--dev runs a single in-memory server for development."
    )
    optFlags = [
        [f.name, None, f.help] for f in agent_config.AGENT_FLAGS if f.kind == agent_config.BOOL
    ]
    optParameters = [
        [f.name, None, None, f.help, int if f.kind == agent_config.INT else None]
        for f in agent_config.AGENT_FLAGS
        if f.kind in (agent_config.STR, agent_config.INT)
    ]

    def __init__(self):
        super().__init__()
        self.values = {}

    def postOptions(self):
        for flag in agent_config.AGENT_FLAGS:
            if flag.kind == agent_config.BOOL and self[flag.name]:
                self.values[flag.name] = True
            elif flag.kind in (agent_config.STR, agent_config.INT) and self[flag.name] is not None:
                self.values[flag.name] = self[flag.name]
        try:
            self.config, self.warnings = agent_config.build_from_flags(self.values)
        except agent_config.ConfigError as e:
            raise usage.UsageError(str(e))


for _flag in agent_config.AGENT_FLAGS:
    if _flag.kind == agent_config.STR_LIST:
        setattr(Options, "opt_" + _flag.name.replace("-", "_"), _list_option(_flag.name))


def makeService(options, reactor=None):
    if reactor is None:
        from twisted.internet import reactor
    config = options.config
    logs.set_level(config.log_level)
    for warning in options.warnings:
        log.warn("{warning}", warning=warning)
    try:
        service = build_agent(config, reactor, flag_values=options.values)
    except (StartError, StorageError) as e:
        raise SystemExit("pyconsul: %s" % (e,))
    # Once started, the agent's tens of thousands of long-lived objects
    # (modules, classes, the restored state) need no more garbage
    # collection: without this every full collection scans them all and
    # stalls requests for tens of milliseconds (the p99 of a busy server).
    reactor.callWhenRunning(gc.freeze)
    return service


def _reloader(flag_values, local_agent, watches):
    """SIGHUP and /v1/agent/reload: the flags and config files read again,
    and what may change while the agent runs applied: the log level, the
    services and checks the files define, and the watches (a bad file raises
    ConfigError, and the agent goes on as it was)."""

    def reload():
        config, warnings = agent_config.build_from_flags(flag_values)
        for warning in warnings:
            log.warn("{warning}", warning=warning)
        logs.set_level(config.log_level)
        local_agent.reload(config)
        watches.replace(config.watches)
        return "log level %s, %d services, %d checks and %d watches from the files" % (
            config.log_level, len(config.services), len(config.checks), len(config.watches))

    return reload


def build_agent(config, reactor, flag_values=None):
    lock = None
    if config.data_dir is not None:
        lock = DataDirLock(config.data_dir)
        lock.acquire()
    faults = Faults() if config.fault_injection else NO_FAULTS
    lan = _build_gossip(config, reactor, faults)
    # Servers also gossip with the servers of every datacenter (-1 turns it off).
    wan = _build_gossip(config, reactor, faults, wan=True) if config.server and config.ports.serf_wan != -1 else None
    pool = RPCClientPool(reactor, faults=faults, bind_address=config.bind_addr)
    server = endpoints = None
    pools, listeners, extras = [], [], []
    if config.server:
        server, pools, transport = _build_server(config, reactor, faults)
        endpoints = ServerEndpoints(
            server,
            reactor,
            random.Random(),
            pool=pool,
            node_name=lambda node_id: _node_name(lan, node_id),
            datacenter=config.datacenter,
            wan=wan,
        )
        endpoints.methods.update(EventFireEndpoint(lan).methods())
        # Network coordinates (the WAN pool's for Coordinate.ListDatacenters).
        endpoints.coordinates = CoordinateEndpoints(
            endpoints, reactor, lambda: lan.node.coordinate,
            update_period=config.coordinate_update_period,
            batch_size=config.coordinate_update_batch_size,
            max_batches=config.coordinate_update_max_batches,
        )
        endpoints.methods.update(endpoints.coordinates.methods())
        if wan is not None:
            endpoints.coordinates.set_wan(lambda: (wan.members(), wan.node.cached_coordinate))
        extras.append(CallbackService(endpoints.coordinates.start, endpoints.coordinates.stop))
        mux = MuxFactory({RPC_CONSUL: lambda: RPCServerProtocol(endpoints.call), RPC_RAFT: transport.inbound})
        listeners.append(_listener("server RPC", reactor, config.bind_addr, config.ports.server, mux))
        membership = ServerMembership(config, server.driver, lan, reactor)
        extras.append(CallbackService(membership.start, membership.stop))
        if wan is not None:
            flooder = WANFlooder(lan, wan, config.datacenter, config.node_name, reactor)
            extras.append(CallbackService(flooder.start, flooder.stop))
        reconciler = CatalogReconciler(config.datacenter, server, lan, reactor)
        extras.append(CallbackService(reconciler.start, reconciler.stop))
        extras.append(CallbackService(lambda: None, transport.stop))
    extras.append(CallbackService(lambda: None, pool.close))
    rpc = RPCRouter(
        config.datacenter,
        endpoints,
        pool=pool,
        servers=lambda: server_addresses(lan.members(), config.datacenter),
    )
    local_agent = LocalAgent(config, reactor, random.Random(), rpc, lan,
                             CheckDeps.for_reactor(reactor, random.Random(), config.check_output_max_size))
    user_events = UserEvents(config.node_name, local_services(local_agent), rpc)
    lan.subscribe(user_events.on_serf_event)
    # The watches read the agent's own HTTP API: started after it listens.
    watches = AgentWatches(reactor, api_address(config), config.watches)
    reload = _reloader(flag_values, local_agent, watches) if flag_values is not None else None
    agent = Agent(config, lan, server, shutdown=reactor.stop, rpc=rpc, clock=reactor, local=local_agent, wan=wan)
    agent_cache = AgentCache(rpc, reactor, random.Random())
    extras.append(CallbackService(lambda: None, agent_cache.stop))
    coordinate_sender = CoordinateSender(config, lan, rpc, reactor, random.Random())
    extras.append(CallbackService(coordinate_sender.start, coordinate_sender.stop))
    api = HTTPApi(
        SharedReads(rpc),
        agent=agent,
        clock=reactor,
        max_value_size=config.kv_max_value_size,
        max_txn_size=config.txn_max_req_len,
        faults=faults if config.fault_injection else None,
        agent_cache=agent_cache,
        reload=reload,
        events=user_events,
    )
    # The node's own services start once the servers and gossip run.
    extras.append(CallbackService(local_agent.start, local_agent.stop))
    if config.ports.http != -1:
        site = APISite(with_ui(api.resource(), config))
        for address in config.client_addrs:
            listeners.append(_listener("HTTP", reactor, address, config.ports.http, site))
    if config.ports.dns != -1:
        listeners.extend(_build_dns(config, reactor, rpc, agent_cache, extras))
    extras.append(CallbackService(watches.start, watches.stop))  # last: stopped first
    service = AgentService(
        config,
        reactor,
        agent=agent,
        server=server,
        gossip=GossipService(lan, config.bind_addr, config.ports.serf_lan),
        wan_gossip=GossipService(wan, config.bind_addr, config.ports.serf_wan, "WAN") if wan is not None else None,
        listeners=listeners,
        pools=pools,
        joiner=JoinService(agent, reactor, config.start_join, config.retry_join),
        wan_joiner=JoinService(agent, reactor, config.start_join_wan, config.retry_join_wan, wan=True)
        if wan is not None else None,
        extras=extras,
        on_stopped=lock.release if lock else None,
        reload=reload,
    )
    reactor.callWhenRunning(service.take_signals, reactor)
    return service


def _build_dns(config, reactor, rpc, agent_cache, extras):
    """The DNS interface's listeners, UDP and TCP on every client address."""
    settings = DNSSettings.from_config(config)
    source = CatalogSource(agent_cache, rpc, config.datacenter, allow_stale=config.dns.allow_stale,
                           max_stale=config.dns.max_stale, translate_wan_addrs=config.translate_wan_addrs)
    recursors = None
    if config.recursors:
        recursors = Recursors(config.recursors, config.dns.recursor_timeout, config.dns.recursor_strategy,
                              reactor, random.Random())
        extras.append(CallbackService(lambda: None, recursors.close))
    queries = PreparedQueries(rpc, config.datacenter, config.node_name, allow_stale=config.dns.allow_stale,
                              max_stale=config.dns.max_stale, translate_wan_addrs=config.translate_wan_addrs)
    authority = Authority(settings, source, reactor, recursors, queries=queries)
    factory = ConsulDNSFactory(authority, settings, reactor, random.Random())
    port = config.ports.dns
    listeners = []
    for address in config.client_addrs:
        listeners.append(ListeningService(
            "DNS (UDP)", lambda address=address: listen_udp(reactor, port, factory, address), address, port))
        listeners.append(_listener("DNS (TCP)", reactor, address, port, factory))
    return listeners


def _node_name(lan, node_id):
    for member in lan.members():
        if member.tags.get("id") == node_id:
            return member.name
    return ""


# Twisted listens with a backlog of 50: a burst of new connections (clients
# reconnecting after a restart, thousands of watchers) would be refused.
# Go asks for the kernel's maximum; so does this (the kernel caps it).
LISTEN_BACKLOG = 4096


def _listener(what, reactor, address, port, factory):
    return ListeningService(
        what, lambda: reactor.listenTCP(port, factory, interface=address, backlog=LISTEN_BACKLOG), address, port
    )


def _build_gossip(config, reactor, faults, wan=False):
    """The LAN pool's gossip, or with ``wan`` the WAN pool's (servers only:
    named node.datacenter, the WAN timings, the same tags and key)."""
    tags = consul_tags(
        server=config.server,
        datacenter=config.datacenter,
        node_id=config.node_id,
        build=build_tag(),
        server_port=config.ports.server if config.server else None,
        bootstrap_expect=config.bootstrap_expect or None,
        wan_join_port=config.ports.serf_wan if config.server and config.ports.serf_wan != -1 and not wan else None,
    )
    if config.bootstrap:
        tags["bootstrap"] = "1"
    keyring = None
    if config.encrypt:
        keyring = Keyring.from_base64([config.encrypt])
    if wan:
        name = "%s.%s" % (config.node_name, config.datacenter)
        address = (config.advertise_addr_wan, config.ports.serf_wan)
        timings, overrides = SwimConfig.wan(), config.gossip_wan
    else:
        name, address = config.node_name, (config.advertise_addr, config.ports.serf_lan)
        timings, overrides = SwimConfig.lan(), config.gossip_lan
    node = SerfNode(
        name,
        address,
        rng=random.Random(),
        now=reactor.seconds(),
        tags=tags,
        coordinates=not config.disable_coordinates,
        swim_config=attrs.evolve(SwimConfig.local() if config.dev else timings, **overrides),
    )
    return GossipDriver(node, reactor, keyring=keyring, pool="WAN" if wan else "LAN", faults=faults)


def _build_server(config, reactor, faults):
    fsm = FSM(clock=reactor)
    pools = []
    if config.data_dir is None:
        log_store, snapshot_store = MemoryLogStore(), MemorySnapshotStore()
        run_in_thread = run_snapshot = None
    else:
        raft_dir = os.path.join(config.data_dir, "raft")
        log_store = open_log_store(raft_dir)
        snapshot_store = FileSnapshotStore(os.path.join(raft_dir, "snapshots"))
        # One thread writes the log (writes must stay in order); another
        # writes snapshots so a large one does not hold up the log.
        disk, snapshots = ThreadPool(1, 1, "raft-log"), ThreadPool(1, 1, "raft-snapshots")
        pools = [ThreadPoolService(disk), ThreadPoolService(snapshots)]

        def run_in_thread(function, *args):
            return deferToThreadPool(reactor, disk, function, *args)

        def run_snapshot(function, *args):
            return deferToThreadPool(reactor, snapshots, function, *args)

    driver_options = {}
    if run_in_thread is not None:
        driver_options = {"run_in_thread": run_in_thread, "run_snapshot_in_thread": run_snapshot}
    transport = RaftTransport(reactor, snapshot_store, faults=faults, bind_address=config.bind_addr)
    driver = RaftDriver(
        node_id=config.node_id,
        address=config.server_address,
        log_store=log_store,
        snapshot_store=snapshot_store,
        fsm=fsm,
        clock=reactor,
        rng=random.Random(),
        tick_seconds=1.0 * config.raft_multiplier / TICKS_PER_TIMEOUT,
        bootstrap=config.bootstrap,
        snapshot_threshold=config.raft_snapshot_threshold,
        trailing_logs=config.raft_trailing_logs,
        on_fatal=lambda failure: _stop_after_fatal(reactor),
        transport=transport,
        **driver_options,
    )
    return ConsulServer(driver=driver, fsm=fsm, clock=reactor), pools, transport


def _stop_after_fatal(reactor):
    # Raft cannot go on once its log may not match the disk: stop, and exit
    # non-zero so a supervisor notices.
    reactor.addSystemEventTrigger("after", "shutdown", os._exit, 1)
    reactor.stop()


class APIChannel(HTTPChannel):
    """HTTP/1.1 connections of the API. A connection's addresses do not
    change, so they are looked up once, not for every request."""

    _host = _peer = None

    def getHost(self):
        if self._host is None:
            self._host = super().getHost()
        return self._host

    def getPeer(self):
        if self._peer is None:
            self._peer = super().getPeer()
        return self._peer


class APISite(Site):
    """The HTTP API's site. Consul does not log each request; neither do we,
    except at debug level."""

    protocol = APIChannel
    displayTracebacks = False
    noisy = False

    def log(self, request):
        if logs.enabled(logs.LogLevel.debug):
            log.debug(
                "HTTP {method} {uri} {code}",
                method=request.method.decode("latin-1"),
                uri=request.uri.decode("latin-1"),
                code=request.code,
            )
