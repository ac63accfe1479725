"""The prepared query RPC endpoints (Consul 1.10's
``agent/consul/prepared_query_endpoint.go``): ``PreparedQuery.Apply``,
``.Get``, ``.List``, ``.Explain``, ``.Execute`` and ``.ExecuteRemote``.

Execute resolves the query (by ID, by name, or by rendering the template
whose name prefixes the one asked), reads the service's instances with
their checks from the catalog, keeps the healthy ones (critical checks
out; warning too with ``OnlyPassing``; ``IgnoreCheckIDs`` not counted),
filters them by node and service meta and by tags (``!tag`` excludes),
shuffles them, sorts them by distance from the source when asked
(``Near``, ``?near``, ``_agent``, ``_ip``) and applies the limit. When no
instance is left it fails over: to the nearest ``NearestN`` other
datacenters, then to the listed ``Datacenters`` it knows of, each asked
with ``PreparedQuery.ExecuteRemote`` (the whole query travels; the remote
does no failover of its own), until one answers with instances.

The collaborators that live elsewhere are looked up when needed, each
either given to the constructor or found on the ServerEndpoints:

- ``sort_by_distance(source, nodes)``: sorts ``nodes`` (CheckServiceNodes)
  by network distance from ``source`` (a QuerySource); returns the sorted
  list, or None having sorted in place. Without one, the network
  coordinates in the state store sort them (``pyconsul.server.coordinates``).
- ``datacenters_by_distance()``: the other datacenters' names, nearest
  first. Without one, no other datacenter is known.
- ``forward_datacenter(dc, method, args)``: a Deferred of the reply of
  ``method`` in datacenter ``dc``. Without one, every datacenter but this
  one has no path.
"""

import random

from twisted.internet.defer import maybeDeferred, succeed

from pyconsul.golang import duration
from pyconsul.logs import Logger
from pyconsul.server.blocking import consistency_of
from pyconsul.server.coordinates import sort_by_distance as sort_by_coordinates
from pyconsul.server.errors import NoPathToDatacenter, RPCError
from pyconsul.state import commands
from pyconsul.state.queries import CREATE, DELETE, QUERY_NOT_FOUND, UPDATE, QueryError, query_record
from pyconsul.state.records import CRITICAL, PASSING

REDACTED_TOKEN = "<hidden>"
NEAR_SWAP_DEPTH = 10  # how far into the sorted list the source node is looked for
META_MAX_PAIRS, META_KEY_MAX, META_VALUE_MAX = 64, 128, 512
CONNECT_PROXY = "connect-proxy"


class QueryNotFound(RPCError):
    status = 404

    def __init__(self):
        super().__init__(QUERY_NOT_FOUND)


def go_uuid(rng):
    """go-uuid's GenerateUUID: 16 random bytes as 8-4-4-4-12 hex digits."""
    text = "%032x" % rng.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])


# -- validation (parseQuery) -------------------------------------------------------


def _meta_problem(meta):
    """structs.ValidateNodeMetadata(meta, allowConsulPrefix=true)."""
    if len(meta) > META_MAX_PAIRS:
        return "Node metadata cannot contain more than %d key/value pairs" % META_MAX_PAIRS
    for key in sorted(meta):
        value = meta[key]
        if key == "":
            problem = "Key cannot be blank"
        elif not all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
            problem = "Key contains invalid characters"
        elif len(key) > META_KEY_MAX:
            problem = "Key is too long (limit: %d characters)" % META_KEY_MAX
        elif len(value.encode("utf-8", "surrogateescape")) > META_VALUE_MAX:
            problem = "Value is too long (limit: %d characters)" % META_VALUE_MAX
        else:
            continue
        return "Couldn't load metadata pair ('%s', '%s'): %s" % (key, value, problem)
    return None


def query_problem(query):
    """What Consul's parseQuery says of a query to create or update, or None."""
    service = query["Service"]
    if not query["Name"] and not query["Template"]["Type"] and not query["Session"]:
        return "Must be bound to a session"
    if query["Token"] == REDACTED_TOKEN:
        return ("Bad Token '%s', it looks like a query definition with a redacted token was submitted"
                % REDACTED_TOKEN)
    if not service["Service"]:
        return "Must provide a Service name to query"
    if service["Failover"]["NearestN"] < 0:
        return "Bad NearestN '%d', must be >= 0" % service["Failover"]["NearestN"]
    problem = _meta_problem(service["NodeMeta"] or {})
    if problem is not None:
        return problem
    ttl = query["DNS"]["TTL"]
    if ttl:
        try:
            nanoseconds = duration.parse_duration(ttl)
        except duration.DurationError as error:
            return "Bad DNS TTL '%s': %s" % (ttl, error)
        if nanoseconds < 0:
            return "DNS TTL '%d', must be >=0" % nanoseconds
    return None


# -- execution (pure) -----------------------------------------------------------------


def filter_ignore(nodes, only_passing, ignore_check_ids):
    """CheckServiceNodes.FilterIgnore: drop instances with a critical check
    (or, with only_passing, any check not passing), not counting the
    ignored check IDs."""
    ignored = set(ignore_check_ids or ())
    kept = []
    for entry in nodes:
        for check in entry["Checks"]:
            if check["CheckID"] in ignored:
                continue
            if check["Status"] == CRITICAL or (only_passing and check["Status"] != PASSING):
                break
        else:
            kept.append(entry)
    return kept


def _meta_satisfies(meta, filters):
    meta = meta or {}
    return all(key in meta and meta[key] == value for key, value in filters.items())


def tag_filter(tags, nodes):
    """Every tag required, none of the ``!tag`` ones present; without case."""
    must, must_not = [], []
    for tag in tags:
        tag = tag.lower()
        if tag.startswith("!"):
            must_not.append(tag[1:])
        else:
            must.append(tag)
    kept = []
    for entry in nodes:
        own = {tag.lower() for tag in entry["Service"]["Tags"] or ()}
        if all(tag in own for tag in must) and not any(tag in own for tag in must_not):
            kept.append(entry)
    return kept


def connect_instances(catalog, name):
    """Connect-capable instances of a service: its proxies and its native
    instances (Consul's connect index)."""
    lower = name.lower()
    found = []
    for (node_key, _), service in catalog.services.items():
        proxy = service.get("Proxy") or {}
        if service["Kind"] == CONNECT_PROXY:
            if (proxy.get("DestinationServiceName") or "").lower() != lower:
                continue
        elif not ((service.get("Connect") or {}).get("Native") and service["Service"].lower() == lower):
            continue
        found.append((catalog.nodes[node_key], service))
    return found


def run_query(catalog, query, datacenter, connect=False):
    """The query's instances in this datacenter, filtered, in catalog order
    (Consul's execute, before sorting and the limit)."""
    service = query["Service"]
    if connect or service["Connect"]:
        instances = connect_instances(catalog, service["Service"])
    else:
        instances = catalog.service_instances(service["Service"])
    nodes = [{"Node": node, "Service": instance, "Checks": catalog.instance_checks(node["Node"], instance["ID"])}
             for node, instance in instances]
    nodes = filter_ignore(nodes, service["OnlyPassing"], service["IgnoreCheckIDs"])
    if service["NodeMeta"]:
        nodes = [n for n in nodes if _meta_satisfies(n["Node"]["Meta"], service["NodeMeta"])]
    if service["ServiceMeta"]:
        nodes = [n for n in nodes if _meta_satisfies(n["Service"]["Meta"], service["ServiceMeta"])]
    if service["Tags"]:
        nodes = tag_filter(service["Tags"], nodes)
    return {
        "Service": service["Service"],
        "Nodes": nodes,
        "DNS": dict(query["DNS"]),
        "Datacenter": datacenter,
        "Failovers": 0,
    }


def failover_targets(query, nearest):
    """The datacenters to try, in order: the NearestN nearest, then the
    listed ones that are known (each listed one once it is not already in)."""
    failover = query["Service"]["Failover"]
    targets = list(nearest[:failover["NearestN"]]) if failover["NearestN"] > 0 else []
    known, chosen = set(nearest), set(targets)
    for dc in failover["Datacenters"] or ():
        if dc in known and dc not in chosen:
            targets.append(dc)
    return targets


class PreparedQueryEndpoints:
    log = Logger()

    def __init__(self, endpoints, sort_by_distance=None, datacenters_by_distance=None, execute_remote=None):
        self.endpoints = endpoints
        self.server = endpoints.server
        self._sort = sort_by_distance
        self._datacenters = datacenters_by_distance
        self._remote = execute_remote  # (dc, args) -> Deferred of the reply
        self.rng = getattr(endpoints, "rng", None) or random.Random()

    @property
    def queries(self):
        return self.endpoints.store.queries  # a restore replaces the table

    def methods(self):
        return {
            "PreparedQuery.Apply": self.apply,
            "PreparedQuery.Get": self.get,
            "PreparedQuery.List": self.list,
            "PreparedQuery.Explain": self.explain,
            "PreparedQuery.Execute": self.execute,
            "PreparedQuery.ExecuteRemote": self.execute_remote,
        }

    # -- collaborators, found when needed ------------------------------------------

    def _sort_by_distance(self):
        sort = self._sort or getattr(self.endpoints, "sort_by_distance", None)
        if sort is not None:
            return sort
        store, datacenter = self.endpoints.store, self.endpoints.datacenter
        if getattr(store, "coordinates", None) is None:
            return None
        return lambda source, nodes: sort_by_coordinates(store.coordinates, source, datacenter, nodes,
                                                         lambda entry: entry["Node"]["Node"])

    def _other_datacenters(self):
        find = self._datacenters or getattr(self.endpoints, "datacenters_by_distance", None)
        if find is None:
            return succeed([])
        local = self.endpoints.datacenter
        return maybeDeferred(find).addCallback(lambda names: [dc for dc in names or () if dc != local])

    def _execute_in(self, dc, args):
        if self._remote is not None:
            return maybeDeferred(self._remote, dc, args)
        forward = getattr(self.endpoints, "forward_datacenter", None)
        if forward is None:
            return maybeDeferred(_no_path)
        return maybeDeferred(forward, dc, "PreparedQuery.ExecuteRemote", args)

    # -- writes --------------------------------------------------------------------

    def apply(self, args):
        op = args.get("Op")
        query = dict(args.get("Query") or {})
        if op == CREATE:
            if query.get("ID"):
                raise RPCError("ID must be empty when creating a new prepared query")
            query["ID"] = go_uuid(self.rng)
            while self.queries.get(query["ID"]) is not None:
                query["ID"] = go_uuid(self.rng)
        else:
            query_id = query.get("ID") if isinstance(query.get("ID"), str) else ""
            try:
                existing = self.queries.get(query_id)
            except QueryError as error:
                raise RPCError("Prepared Query lookup failed: %s" % error)
            if existing is None:
                raise RPCError("Cannot modify non-existent prepared query: '%s'" % query_id)
        if op in (CREATE, UPDATE):
            query = query_record(query)
            problem = query_problem(query)
            if problem is not None:
                raise RPCError("Invalid prepared query: %s" % problem)
        elif op == DELETE:
            query = {"ID": query.get("ID")}
        else:
            raise RPCError("Unknown prepared query operation: %s" % op)

        def applied(result):
            if isinstance(result, Exception):
                raise RPCError(str(result))
            return query["ID"]

        return self.server.apply(commands.prepared_query({"Op": op, "Query": query})).addCallback(applied)

    # -- reads ---------------------------------------------------------------------

    def _index(self):
        return max(self.queries.index, 1)

    def get(self, args):
        query_id = args.get("QueryID") or ""

        def run(watch):
            try:
                query = self.queries.get(query_id)
            except QueryError as error:
                raise RPCError(str(error))
            watch.key(("prepared-query", query_id.lower()))
            if query is None:
                raise QueryNotFound()
            return self._index(), {"Queries": [query]}

        return self.endpoints._read(args, run, watches=self.endpoints.store.catalog_watches)

    def list(self, args):
        def run(watch):
            watch.key(("prepared-queries",))
            return self._index(), {"Queries": self.queries.all()}

        return self.endpoints._read(args, run, watches=self.endpoints.store.catalog_watches)

    def _ready(self, args):
        ready = self.server.read_ready(consistency_of(args.get("QueryOptions") or {}))
        return succeed(None) if ready is None else ready

    def _resolve(self, args):
        try:
            query = self.queries.resolve(args.get("QueryIDOrName") or "", args.get("Agent") or {})
        except QueryError as error:
            raise RPCError(str(error))
        if query is None:
            raise QueryNotFound()
        return query

    def _meta(self, reply):
        reply["Index"] = 0  # not a blocking read: Consul leaves it unset
        reply.update(self.server.query_meta())
        return reply

    def explain(self, args):
        return self._ready(args).addCallback(lambda _: self._meta({"Query": self._resolve(args)}))

    def execute(self, args):
        def local(_):
            query = self._resolve(args)
            reply = self._meta(run_query(self.endpoints.store.catalog, query, self.endpoints.datacenter,
                                         bool(args.get("Connect"))))
            nodes = reply["Nodes"]
            self.rng.shuffle(nodes)
            source = self._source(args, query)
            if source["Node"]:
                nodes = self._sorted(source, nodes)
                if reply["Datacenter"] == source["Datacenter"]:
                    _source_first(nodes, source["Node"])
            reply["Nodes"] = _limited(nodes, args.get("Limit"))
            if reply["Nodes"]:
                return reply
            return self._failover(query, args, reply)

        return self._ready(args).addCallback(local)

    def _source(self, args, query):
        """The QuerySource to sort from: the request's, the query's Near, the
        asking agent for ``_agent``, the node with the asker's address for ``_ip``."""
        given = args.get("Source") or {}
        agent = args.get("Agent") or {}
        source = {"Datacenter": given.get("Datacenter") or agent.get("Datacenter") or "",
                  "Segment": given.get("Segment") or "", "Node": given.get("Node") or "",
                  "Ip": given.get("Ip") or ""}
        if query["Service"]["Near"] and not source["Node"]:
            source["Node"] = query["Service"]["Near"]
        if source["Node"] == "_agent":
            source["Node"] = agent.get("Node") or ""
        elif source["Node"] == "_ip":
            source["Node"] = ""
            if source["Ip"]:
                for node in self.endpoints.store.catalog.nodes.values():
                    if node["Address"] == source["Ip"]:
                        source["Node"] = node["Node"]
                        break
            else:
                self.log.warn("Prepared Query using near=_ip requires the source IP to be set but none was "
                              "provided. No distance sorting will be done.")
        return source

    def _sorted(self, source, nodes):
        sort = self._sort_by_distance()
        if sort is None:
            return nodes
        result = sort(source, nodes)
        return nodes if result is None else list(result)

    def _failover(self, query, args, reply):
        def tried(nearest):
            targets = failover_targets(query, nearest)
            return self._try(targets, 0, query, args, reply)

        return self._other_datacenters().addCallback(tried)

    def _try(self, targets, position, query, args, reply):
        if position == len(targets):
            reply["Failovers"] = position
            return reply
        dc = targets[position]
        reply["Nodes"] = []
        remote = {
            "Datacenter": dc,
            "Query": query,
            "Limit": args.get("Limit") or 0,
            "QueryOptions": dict(args.get("QueryOptions") or {}),
            "Connect": bool(args.get("Connect")),
        }
        if args.get("Token"):
            remote["Token"] = args["Token"]

        def answered(remote_reply):
            remote_reply = dict(remote_reply)
            if remote_reply.get("Nodes"):
                remote_reply["Failovers"] = position + 1
                return remote_reply
            return self._try(targets, position + 1, query, args, remote_reply)

        def failed(failure):
            self.log.warn("Failed querying for service in datacenter: service={service} datacenter={dc} "
                          "error={error}", service=query["Service"]["Service"], dc=dc,
                          error=failure.getErrorMessage())
            return self._try(targets, position + 1, query, args, reply)

        return self._execute_in(dc, remote).addCallbacks(answered, failed)

    def execute_remote(self, args):
        """A query shipped whole from another datacenter: run here, no
        distance sort (the asker is elsewhere), no further failover."""
        def local(_):
            query = query_record(args.get("Query") or {})
            reply = self._meta(run_query(self.endpoints.store.catalog, query, self.endpoints.datacenter,
                                         bool(args.get("Connect"))))
            self.rng.shuffle(reply["Nodes"])
            reply["Nodes"] = _limited(reply["Nodes"], args.get("Limit"))
            return reply

        return self._ready(args).addCallback(local)


def _no_path():
    raise NoPathToDatacenter()


def _source_first(nodes, name):
    """Put the source node first, if it is among the first few."""
    lower = name.lower()
    for i, entry in enumerate(nodes[:NEAR_SWAP_DEPTH]):
        if entry["Node"]["Node"].lower() == lower:
            nodes[0], nodes[i] = nodes[i], nodes[0]
            return


def _limited(nodes, limit):
    if isinstance(limit, int) and limit > 0 and len(nodes) > limit:
        return nodes[:limit]
    return nodes
