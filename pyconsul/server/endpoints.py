"""The server's RPC endpoints: one dispatch table, Consul's method names.

Arguments and replies are plain dicts with Consul's field names, so the same
calls can later travel between agents as msgpack. Reads take Consul's
``QueryOptions`` (``MinQueryIndex``, ``MaxQueryTime`` in seconds,
``AllowStale``, ``RequireConsistent``) and answer ``Index``, ``KnownLeader``
and ``LastContact`` beside their result.
"""

from twisted.internet.defer import fail, maybeDeferred
from twisted.internet.task import deferLater

from pyconsul.server.blocking import blocking_query, consistency_of, query_timeout_bound
from pyconsul.server.catalog import CatalogEndpoints
from pyconsul.server.errors import BadRequest, NoClusterLeader, RPCError, RPCNotSent, RPCUnavailable
from pyconsul.server.federation import Federation
from pyconsul.server.queries import PreparedQueryEndpoints
from pyconsul.server.sessions import SessionEndpoints, SessionTimers
from pyconsul.server.txn import TxnEndpoints
from pyconsul.state import commands


# Any server answers these itself; everything else but a stale read is the
# leader's to answer, and a follower forwards it there.
ANSWERED_LOCALLY = frozenset({"Status.Leader", "Status.Peers", "Coordinate.ListDatacenters"})
# Answered by any server for its own datacenter, whatever the request's.
DATACENTER_BLIND = frozenset({"Catalog.ListDatacenters", "Coordinate.ListDatacenters"})
# Calls that change state: never re-sent once they may have arrived.
WRITES = frozenset(
    {
        "KVS.Apply",
        "Session.Apply",
        "Txn.Apply",
        "Catalog.Register",
        "Catalog.Deregister",
        "PreparedQuery.Apply",
        "Operator.RaftRemovePeerByID",
        "Operator.RaftRemovePeerByAddress",
    }
)

MAX_FORWARDS = 3  # a request that keeps meeting deposed leaders gives up
FORWARD_RETRY = 0.25  # wait before asking again when the leader did not answer
WRITE_TIMEOUT = 30.0
BLOCKING_MARGIN = 30.0


def resendable_error(method):
    """The failure after which ``method`` may be sent again: any for a read,
    for a write only one that never left (it may have been applied)."""
    return RPCNotSent if method in WRITES else RPCUnavailable


def forwarding_timeout(args):
    """How long a forwarded call may take: a blocking read its whole wait."""
    options = args.get("QueryOptions") or {}
    if options.get("MinQueryIndex"):
        return query_timeout_bound(options.get("MaxQueryTime")) + BLOCKING_MARGIN
    return WRITE_TIMEOUT


class ServerEndpoints:
    def __init__(self, server, clock, rng, pool=None, node_name=lambda node_id: "", datacenter="dc1", wan=None):
        self.server = server
        self.datacenter = datacenter
        # Other datacenters' servers, through the WAN pool (GossipDriver or None).
        self.federation = Federation(datacenter, wan, pool, rng, forwarding_timeout)
        self.node_name = node_name  # node ID -> node name, from gossip
        self.store = server.store
        self.clock = clock
        self.rng = rng
        self.pool = pool  # RPCClientPool, for forwarding to the leader
        self.methods = {
            "KVS.Apply": self.kvs_apply,
            "KVS.Get": self.kvs_get,
            "KVS.List": self.kvs_list,
            "KVS.ListKeys": self.kvs_list_keys,
            "Status.Leader": self.status_leader,
            "Status.Peers": self.status_peers,
            "Operator.RaftGetConfiguration": self.raft_configuration,
            "Operator.RaftRemovePeerByID": self.raft_remove_by_id,
            "Operator.RaftRemovePeerByAddress": self.raft_remove_by_address,
        }
        self.methods.update(CatalogEndpoints(self).methods())
        self.session_timers = SessionTimers(server, clock)
        self.methods.update(SessionEndpoints(self, self.session_timers).methods())
        self.methods.update(TxnEndpoints(self).methods())
        self.methods.update(PreparedQueryEndpoints(self).methods())

    def call(self, method, args):
        handler = self.methods.get(method)
        if handler is None:
            return maybeDeferred(self._unknown, method)
        datacenter = args.get("Datacenter")
        if datacenter and datacenter != self.datacenter and method not in DATACENTER_BLIND:
            return self.forward_datacenter(datacenter, method, args)
        if self._must_forward(method, args):
            return self._forward(method, args)
        return maybeDeferred(handler, args)

    def _must_forward(self, method, args):
        if method in ANSWERED_LOCALLY or self.server.driver.is_leader:
            return False
        options = args.get("QueryOptions") or {}
        return not options.get("AllowStale")

    def _forward(self, method, args, deadline=None):
        """Send the call to the leader once one is known (Consul's forward).

        While an election settles, the leader we know of may be gone: the
        call is retried until the hold timeout, then fails with Consul's
        "No cluster leader"."""
        hops = args.get("ForwardHops", 0)
        if self.pool is None or hops >= MAX_FORWARDS:
            return fail(NoClusterLeader())
        if deadline is None:
            deadline = self.clock.seconds() + self.server.hold_timeout

        def leader_known(_):
            if self.server.driver.is_leader:
                return self.call(method, args)  # we won an election meanwhile
            address = self.server.driver.leader_address
            if not address:
                raise NoClusterLeader()
            forwarded = dict(args, ForwardHops=hops + 1)
            d = self.pool.call(address, method, forwarded, timeout=forwarding_timeout(args))
            return d.addErrback(retry)

        def retry(failure):
            failure.trap(resendable_error(method))
            if self.clock.seconds() + FORWARD_RETRY > deadline:
                raise NoClusterLeader()
            d = deferLater(self.clock, FORWARD_RETRY, lambda: None)
            return d.addCallback(lambda _: self._forward(method, args, deadline))

        return self.server.wait_for_leader().addCallback(leader_known)

    def forward_datacenter(self, datacenter, method, args):
        """The call answered by a server of ``datacenter`` (Consul's forwardDC)."""
        return self.federation.forward(datacenter, method, args, resendable_error(method))

    def datacenters_by_distance(self):
        """Every known datacenter's name, this one included, nearest first."""
        return self.federation.datacenters()

    @staticmethod
    def _unknown(method):
        raise RPCError("rpc: can't find method %s" % (method,))

    # -- reads -------------------------------------------------------------

    def _read(self, args, run, watches=None):
        """The one read path: consistency, blocking, and query metadata.
        ``watches``: the registry ``run`` records its reads in (KV's by default)."""
        options = args.get("QueryOptions", {})
        consistency = consistency_of(options)
        d = blocking_query(
            self.clock,
            self.rng,
            watches if watches is not None else self.store.watches,
            options.get("MinQueryIndex", 0),
            options.get("MaxQueryTime"),
            run,
            before_each=lambda: self.server.read_ready(consistency),
        )
        return d.addCallback(self._reply)

    def _reply(self, outcome):
        index, result = outcome
        reply = {"Index": index}
        reply.update(self.server.query_meta())
        reply.update(result)
        return reply

    def kvs_get(self, args):
        key = args["Key"]

        def run(watch):
            watch.key(key)
            index, entry = self.store.kv.get(key)
            return index, {"Entries": [] if entry is None else [entry]}

        return self._read(args, run)

    def kvs_list(self, args):
        prefix = args["Key"]

        def run(watch):
            watch.prefix(prefix)
            index, entries = self.store.kv.list(prefix)
            return index, {"Entries": entries}

        return self._read(args, run)

    def kvs_list_keys(self, args):
        prefix = args["Prefix"]
        separator = args.get("Seperator", "")  # sic: Consul's field name

        def run(watch):
            watch.prefix(prefix)
            index, keys = self.store.kv.keys(prefix, separator)
            return index, {"Keys": keys}

        return self._read(args, run)

    # -- writes --------------------------------------------------------------

    _KV_OPS = {
        "set": lambda e: commands.kv_set(e["Key"], e.get("Value"), e.get("Flags", 0)),
        "cas": lambda e: commands.kv_cas(
            e["Key"], e.get("Value"), e.get("Flags", 0), e.get("ModifyIndex", 0)
        ),
        "delete": lambda e: commands.kv_delete(e["Key"]),
        "delete-cas": lambda e: commands.kv_delete_cas(e["Key"], e.get("ModifyIndex", 0)),
        "delete-tree": lambda e: commands.kv_delete_tree(e["Key"]),
    }

    def kvs_apply(self, args):
        op = args.get("Op")
        entry = args["DirEnt"]
        if op in ("lock", "unlock"):
            return self._kvs_lock(op, entry)
        build = self._KV_OPS.get(op)
        if build is None:
            raise BadRequest("Unknown KV operation %r" % (op,))
        return self.server.apply(build(entry))

    def _kvs_lock(self, op, entry):
        key, value, flags, session = entry["Key"], entry.get("Value"), entry.get("Flags", 0), entry.get("Session")
        if op == "lock":
            if self.store.lock_delays.active(key):
                # Checked by the leader before the write, as in Consul: a
                # lock given up by a session's end stays free for a while.
                return False
            command = commands.kv_lock(key, value, flags, session)
        else:
            command = commands.kv_unlock(key, value, flags, session)

        def outcome(result):
            if isinstance(result, Exception):
                raise RPCError(str(result))
            return result

        return self.server.apply(command).addCallback(outcome)

    # -- status ---------------------------------------------------------------

    def status_leader(self, args):
        return self.server.driver.leader_address

    def status_peers(self, args):
        return self.server.driver.peers()

    # -- operator ------------------------------------------------------------

    def raft_configuration(self, args):
        """The Raft configuration as /v1/operator/raft/configuration shows it."""
        driver = self.server.driver
        configuration = driver.configuration()
        leader = driver.node.leader
        return {
            "Servers": [
                {
                    "ID": s.id,
                    "Node": self.node_name(s.id),
                    "Address": s.address,
                    "Leader": s.id == leader,
                    "Voter": s.voter,
                    "ProtocolVersion": "3",
                }
                for s in configuration.servers
            ],
            "Index": self.store.last_applied,
        }

    def raft_remove_by_id(self, args):
        server_id = args.get("ID")
        if self.server.driver.configuration().server(server_id) is None:
            raise RPCError('id "%s" was not found in the Raft configuration' % (server_id,))
        return self.server.driver.remove_server(server_id).addCallback(lambda _: None)

    def raft_remove_by_address(self, args):
        address = args.get("Address")
        for server in self.server.driver.configuration().servers:
            if server.address == address:
                return self.server.driver.remove_server(server.id).addCallback(lambda _: None)
        raise RPCError('address "%s" was not found in the Raft configuration' % (address,))
