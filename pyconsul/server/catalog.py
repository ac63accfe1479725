"""The catalog's and health's server RPC endpoints, with Consul's method
names and argument shapes (``Catalog.ServiceNodes``, ``Health.ServiceNodes``...).

Writes are checked here, as Consul's endpoints check them before they
reach Raft, then applied as one log entry. Reads go through the server's one
read path (consistency, blocking) and record the catalog views they read,
so that a write wakes only the queries it can change. The ``?filter``
expression, node-meta filters, tags and ``passing`` are applied here, on the
server, so that a filtered query too wakes only when its own answer changes.
"""

from pyconsul import filter as bexpr
from pyconsul.filter import schemas
from pyconsul.server.coordinates import nearest_first
from pyconsul.server.errors import BadRequest, RPCError
from pyconsul.state import commands
from pyconsul.state.records import PASSING

def _key(name):
    return name.lower()


def _filter(args, schema):
    """The compiled ``?filter`` over records of ``schema``, or None when
    there is none. A bad expression is the client's mistake: 400 with
    go-bexpr's message (Consul answers 500)."""
    expression = args.get("Filter") or ""
    if expression == "":
        return None
    try:
        return bexpr.compile_filter(expression, schema)
    except bexpr.FilterError as error:
        raise BadRequest(str(error))


def _marks(catalog, views):
    """What must not change for a remembered answer to hold: the index of
    every view it read (and of the tables, for a view that does not exist)."""
    marks = tuple(catalog.view_index.get(view) for view in views)
    if None in marks:
        marks += tuple(catalog.table_index.values())
    return marks


def _keep(found, compiled):
    return found if compiled is None else [record for record in found if compiled.matches(record)]


def _meta_matches(meta, filters):
    meta = meta or {}
    return all(meta.get(key) == value for key, value in (filters or {}).items())


def _has_tags(service, tags):
    """Every one of ``tags``, compared without case, as Consul's tag filter."""
    own = {tag.lower() for tag in service["Tags"] or ()}
    return all(tag.lower() in own for tag in tags)


def service_node(node, service):
    """A catalog/service entry: node and service fields flattened (structs.ServiceNode)."""
    return {
        "ID": node["ID"],
        "Node": node["Node"],
        "Address": node["Address"],
        "Datacenter": node["Datacenter"],
        "TaggedAddresses": node["TaggedAddresses"],
        "NodeMeta": node["Meta"],
        "ServiceKind": service["Kind"],
        "ServiceID": service["ID"],
        "ServiceName": service["Service"],
        "ServiceTags": service["Tags"],
        "ServiceAddress": service["Address"],
        "ServiceTaggedAddresses": service["TaggedAddresses"],
        "ServiceWeights": service["Weights"],
        "ServiceMeta": service["Meta"],
        "ServicePort": service["Port"],
        "ServiceSocketPath": service["SocketPath"],
        "ServiceEnableTagOverride": service["EnableTagOverride"],
        "ServiceProxy": service["Proxy"],
        "ServiceConnect": service["Connect"],
        "CreateIndex": service["CreateIndex"],
        "ModifyIndex": service["ModifyIndex"],
    }


def all_passing(checks):
    return all(check["Status"] == PASSING for check in checks)


class _Recorder:
    """Passes a query's watches on, and remembers the views it read."""

    def __init__(self, watch):
        self.watch = watch
        self.views = []

    def key(self, view):
        self.views.append(view)
        self.watch.key(view)


MEMO_SIZE = 1024


class CatalogEndpoints:
    """Reads keep their last answer per query until a view it read changes:
    a repeated read is computed (and, by the HTTP layer, rendered) once per
    change, however often it is asked."""

    def __init__(self, endpoints):
        self.endpoints = endpoints
        self.server = endpoints.server
        self._memo = {}  # query -> (catalog, marks, views, (index, result))

    @property
    def catalog(self):
        return self.endpoints.store.catalog  # a restore replaces the table

    def methods(self):
        return {
            "Catalog.Register": self.register,
            "Catalog.Deregister": self.deregister,
            "Catalog.ListDatacenters": self.list_datacenters,
            "Catalog.ListNodes": self.list_nodes,
            "Catalog.ListServices": self.list_services,
            "Catalog.ServiceNodes": self.service_nodes,
            "Catalog.NodeServices": self.node_services,
            "Catalog.NodeServiceList": self.node_service_list,
            "Health.ChecksInState": self.checks_in_state,
            "Health.NodeChecks": self.node_checks,
            "Health.ServiceChecks": self.service_checks,
            "Health.ServiceNodes": self.health_service_nodes,
        }

    def _read(self, method, args, run):
        # repr is cheap, and one endpoint builds a query's arguments in one order.
        query = method + repr([item for item in args.items() if item[0] != "QueryOptions"])

        def remembered(watch):
            catalog = self.catalog
            entry = self._memo.get(query)
            if entry is not None and entry[0] is catalog and entry[1] == _marks(catalog, entry[2]):
                for view in entry[2]:
                    watch.key(view)
                return entry[3]
            recorder = _Recorder(watch)
            outcome = run(recorder)
            if len(self._memo) >= MEMO_SIZE:
                del self._memo[next(iter(self._memo))]
            self._memo[query] = (catalog, _marks(catalog, recorder.views), recorder.views, outcome)
            return outcome

        return self.endpoints._read(args, remembered, watches=self.endpoints.store.catalog_watches)

    def _near(self, args, d, field, node_of):
        """``?near``: the answer sorted by distance from args["Source"] (after
        the read and its memo, as Consul sorts after its query)."""
        if not args.get("Source"):
            return d
        store = self.endpoints.store
        return d.addCallback(nearest_first(lambda: store.coordinates, args, self.endpoints.datacenter, field, node_of))

    # -- writes ----------------------------------------------------------------

    def register(self, args):
        request = _register_request(args)
        return self._apply(commands.catalog_register(request))

    def deregister(self, args):
        if not args.get("Node"):
            raise RPCError("Must provide node")
        request = {key: args[key] for key in ("Node", "ServiceID", "CheckID") if args.get(key)}
        return self._apply(commands.catalog_deregister(request))

    def _apply(self, command):
        def outcome(result):
            if isinstance(result, Exception):
                raise RPCError(str(result))
            return None

        return self.server.apply(command).addCallback(outcome)

    # -- catalog reads -----------------------------------------------------------

    def list_datacenters(self, args):
        return self.endpoints.datacenters_by_distance()

    def list_nodes(self, args):
        compiled = _filter(args, schemas.NODE)
        meta = args.get("NodeMetaFilters")

        def run(watch):
            watch.key(("nodes",))
            found = [n for n in self.catalog.nodes.values() if _meta_matches(n["Meta"], meta)]
            return self.catalog.index_of(("nodes",), "nodes"), {"Nodes": _keep(found, compiled)}

        return self._near(args, self._read("Catalog.ListNodes", args, run), "Nodes", _entry_node)

    def list_services(self, args):
        meta = args.get("NodeMetaFilters")

        def run(watch):
            watch.key(("services",))
            catalog = self.catalog
            if meta:
                watch.key(("nodes",))
                names = {}
                for (node_key, _), service in catalog.services.items():
                    if _meta_matches(catalog.nodes[node_key]["Meta"], meta):
                        tags = names.setdefault(service["Service"], set())
                        tags.update(service["Tags"] or ())
                services = {name: sorted(tags) for name, tags in sorted(names.items())}
            else:
                services = catalog.service_names()
            return catalog.index_of(("services",), "services"), {"Services": services}

        return self._read("Catalog.ListServices", args, run)

    def service_nodes(self, args):
        return self._near(args, self._service_nodes(args), "ServiceNodes", _entry_node)

    def _service_nodes(self, args):
        if not args.get("ServiceName") and args.get("ServiceAddress"):
            return self._service_address_nodes(args)
        name = _service_name(args)
        compiled = _filter(args, schemas.SERVICE_NODE)
        tags = _tags(args)
        meta = args.get("NodeMetaFilters")

        def run(watch):
            view = ("service", _key(name))
            watch.key(view)
            found = [
                service_node(node, service)
                for node, service in self.catalog.service_instances(name)
                if _has_tags(service, tags) and _meta_matches(node["Meta"], meta)
            ]
            return self.catalog.index_of(view, "nodes", "services"), {"ServiceNodes": _keep(found, compiled)}

        return self._read("Catalog.ServiceNodes", args, run)

    def _service_address_nodes(self, args):
        """Every instance with this service address (Consul's
        ServiceAddressNodes: what a reverse DNS lookup reads)."""
        address = args["ServiceAddress"]

        def run(watch):
            watch.key(("services",))
            catalog = self.catalog
            found = [
                service_node(catalog.nodes[node_key], service)
                for (node_key, _), service in sorted(catalog.services.items())
                if service["Address"] == address
            ]
            return catalog.index_of(("services",), "services"), {"ServiceNodes": found}

        return self._read("Catalog.ServiceNodes", args, run)

    def node_services(self, args):
        return self._node_services(args, as_list=False)

    def node_service_list(self, args):
        return self._node_services(args, as_list=True)

    def _node_services(self, args, as_list):
        node_name = args.get("Node") or ""
        if not node_name:
            raise RPCError("Must provide node")
        compiled = _filter(args, schemas.NODE_SERVICE)

        def run(watch):
            view = ("node", _key(node_name))
            watch.key(view)
            node = self.catalog.node(node_name)
            index = self.catalog.index_of(view)
            if node is None:
                return index, {"NodeServices": None}
            services = _keep(self.catalog.node_services(node_name), compiled)
            if not as_list:
                services = {service["ID"]: service for service in services}
            return index, {"NodeServices": {"Node": node, "Services": services}}

        return self._read("Catalog.NodeServiceList" if as_list else "Catalog.NodeServices", args, run)

    # -- health reads --------------------------------------------------------------

    def checks_in_state(self, args):
        state = args.get("State") or ""  # an unknown state lists nothing, as in Consul
        compiled = _filter(args, schemas.HEALTH_CHECK)
        meta = args.get("NodeMetaFilters")

        def run(watch):
            view = ("state", state)
            watch.key(view)
            found = self.catalog.checks_in_state(state)
            if meta:
                watch.key(("nodes",))
                found = self._on_nodes_with(found, meta)
            return self.catalog.index_of(view, "checks"), {"HealthChecks": _keep(found, compiled)}

        return self._near(args, self._read("Health.ChecksInState", args, run), "HealthChecks", _entry_node)

    def _on_nodes_with(self, checks, meta):
        """The checks whose nodes carry every node-meta pair asked for."""
        return [c for c in checks if _meta_matches(self.catalog.node(c["Node"])["Meta"], meta)]

    def node_checks(self, args):
        node_name = args.get("Node") or ""
        if not node_name:
            raise RPCError("Must provide node")
        compiled = _filter(args, schemas.HEALTH_CHECK)

        def run(watch):
            view = ("node-checks", _key(node_name))
            watch.key(view)
            found = self.catalog.node_checks(node_name)
            return self.catalog.index_of(view, "checks"), {"HealthChecks": _keep(found, compiled)}

        return self._read("Health.NodeChecks", args, run)

    def service_checks(self, args):
        name = _service_name(args)
        compiled = _filter(args, schemas.HEALTH_CHECK)
        meta = args.get("NodeMetaFilters")

        def run(watch):
            view = ("health", _key(name))
            watch.key(view)
            found = self.catalog.service_checks(name)
            if meta:  # the service's views cover its nodes' changes
                found = self._on_nodes_with(found, meta)
            return self.catalog.index_of(view, "nodes", "services", "checks"), {"HealthChecks": _keep(found, compiled)}

        return self._near(args, self._read("Health.ServiceChecks", args, run), "HealthChecks", _entry_node)

    def health_service_nodes(self, args):
        name = _service_name(args)
        compiled = _filter(args, schemas.CHECK_SERVICE_NODE)
        tags = _tags(args)
        meta = args.get("NodeMetaFilters")
        passing_only = bool(args.get("PassingOnly"))

        def run(watch):
            view = ("health", _key(name))
            watch.key(view)
            found = []
            for node, service in self.catalog.service_instances(name):
                if not (_has_tags(service, tags) and _meta_matches(node["Meta"], meta)):
                    continue
                checks = self.catalog.instance_checks(node["Node"], service["ID"])
                if passing_only and not all_passing(checks):
                    continue
                found.append({"Node": node, "Service": service, "Checks": checks})
            return self.catalog.index_of(view, "nodes", "services", "checks"), {"Nodes": _keep(found, compiled)}

        return self._near(args, self._read("Health.ServiceNodes", args, run), "Nodes",
                          lambda entry: entry["Node"]["Node"])


def _entry_node(entry):
    return entry["Node"]


def _service_name(args):
    name = args.get("ServiceName") or ""
    if not name:
        raise RPCError("Must provide service name")
    return name


def _tags(args):
    if not args.get("TagFilter"):
        return ()
    return list(args.get("ServiceTags") or ())


def uuid_problem(text):
    """What go-uuid's ParseUUID says of a malformed UUID, or None."""
    if len(text) != 36:
        return "uuid string is wrong length"
    if any(text[i] != "-" for i in (8, 13, 18, 23)):
        return "uuid is improperly formatted"
    for char in text.replace("-", ""):
        if char not in "0123456789abcdefABCDEF":
            return "encoding/hex: invalid byte: U+%04X %r" % (ord(char), char)
    return None


def _register_request(args):
    """The register request Consul's Catalog.Register checks and fixes up."""
    node = args.get("Node") or ""
    if not node:
        raise RPCError("Must provide node")
    node_id = args.get("ID") or ""
    if node_id:
        problem = uuid_problem(node_id)
        if problem:
            raise RPCError("Bad node ID: " + problem)
    if not args.get("Address") and not args.get("SkipNodeUpdate"):
        raise RPCError("Must provide address if SkipNodeUpdate is not set")
    request = {key: args[key] for key in ("ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta",
                                          "SkipNodeUpdate") if key in args}
    service = args.get("Service")
    if service:
        service = dict(service)
        if not service.get("ID") and service.get("Service"):
            service["ID"] = service["Service"]
        if service.get("ID") and not service.get("Service"):
            raise RPCError("Must provide service name with ID")
        if service.get("Address") in ("0.0.0.0", "::", "[::]"):
            raise RPCError("Invalid service address")
        request["Service"] = service
    checks = list(args.get("Checks") or ())
    if args.get("Check"):
        checks.append(args["Check"])
    fixed = []
    for check in checks:
        check = dict(check)
        check.setdefault("Node", node)
        if not check.get("Node"):
            check["Node"] = node
        if not check.get("CheckID") and check.get("Name"):
            check["CheckID"] = check["Name"]
        fixed.append(check)
    if fixed:
        request["Checks"] = fixed
    return request
