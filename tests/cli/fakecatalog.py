"""The catalog and local-agent parts of the in-memory agent (``FakeAgent``).

``FakeCatalog`` answers the catalog reads the CLI makes, in the shapes Consul
1.10.3 gives (see tests/data/consul-catalog/vectors.json):

* ``GET /v1/catalog/datacenters``: ``datacenters``, in order;
* ``GET /v1/catalog/nodes``, ``/v1/catalog/service/<name>`` (``?tag``),
  ``/v1/catalog/node/<name>`` (``null`` for a node it does not hold) and
  ``/v1/catalog/services`` (tags made unique);
* ``?node-meta=key:value`` (every pair must match), ``?near=<node>`` (by the
  one-dimensional ``coordinates`` a test sets: nearest first, nodes without
  one last, and no sorting at all when the named node has none, as Consul),
  ``?dc`` (a datacenter it does not list gets Consul's 500 "No path to
  datacenter");
* ``?filter``: only the form ``Selector == "value"`` / ``!=`` on a field
  (``Meta.env`` reaches into a map) -- enough to show the CLI passes the
  expression on. Anything else gets a 400 in the words of Consul's.

``FakeLocalAgent`` is the agent's own state: services registered through
``PUT /v1/agent/service/register`` (the raw bodies kept in
``registrations``), ``deregister/<id>`` (200 even for an unknown ID, as
Consul 1.10), ``GET /v1/agent/checks``, node and service maintenance (the
``_node_maintenance`` and ``_service_maintenance:<id>`` checks, with
Consul's default reasons and errors), ``PUT /v1/agent/reload`` and ``GET
/v1/agent/self``.
"""

import json
import re

NO_PATH = "No path to datacenter"
FILTER_ERROR = "Failed to create boolean expression evaluator: "
_SIMPLE_FILTER = re.compile(r'\s*([A-Za-z][A-Za-z0-9_.]*)\s*(==|!=)\s*"([^"]*)"\s*\Z')

NODE_MAINTENANCE = "_node_maintenance"
SERVICE_MAINTENANCE_PREFIX = "_service_maintenance:"
DEFAULT_NODE_REASON = ("Maintenance mode is enabled for this node, but no reason was provided. "
                       "This is a default message.")
DEFAULT_SERVICE_REASON = ("Maintenance mode is enabled for this service, but no reason was provided. "
                          "This is a default message.")
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def text_answer(status, text):
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()


def json_answer(value, index=None):
    headers = {"Content-Type": "application/json"}
    if index is not None:
        headers.update({"X-Consul-Index": str(index), "X-Consul-Knownleader": "true",
                        "X-Consul-Lastcontact": "0"})
    return 200, headers, json.dumps(value).encode()


def _first(query, name, default=""):
    return query.get(name, [default])[0]


def _meta_filters(query):
    pairs = []
    for text in query.get("node-meta", []):
        key, _, value = text.partition(":")
        pairs.append((key, value))
    return pairs


def _selected(record, selector):
    value = record
    for part in selector.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class FilterError(Exception):
    pass


def _filter(records, expression):
    if not expression:
        return records
    match = _SIMPLE_FILTER.match(expression)
    if match is None:
        raise FilterError(FILTER_ERROR + "the fake agent only evaluates Selector == \"value\"")
    selector, operator, wanted = match.groups()
    equal = operator == "=="
    return [record for record in records if (_selected(record, selector) == wanted) == equal]


class FakeCatalog:
    def __init__(self, agent_node="fake-agent"):
        self.datacenters = ["dc1"]
        self.nodes = {}  # name -> the node as /v1/catalog/nodes lists it
        self.services = {}  # node name -> {service ID: the service as /v1/catalog/node shows it}
        self.coordinates = {}  # node name -> position on a line, for ?near
        self.agent_node = agent_node  # what ?near=_agent means
        self.index = 20

    # ------------------------------------------------------------- filling

    def add_node(self, name, address, node_id="", datacenter="dc1", tagged_addresses=None, meta=None):
        self.index += 1
        self.nodes[name] = {"ID": node_id, "Node": name, "Address": address, "Datacenter": datacenter,
                            "TaggedAddresses": tagged_addresses, "Meta": meta,
                            "CreateIndex": self.index, "ModifyIndex": self.index}
        self.services.setdefault(name, {})
        return self.nodes[name]

    def add_service(self, node, service, service_id="", tags=(), port=0, address="", meta=None):
        self.index += 1
        service_id = service_id or service
        self.services[node][service_id] = {
            "ID": service_id, "Service": service, "Tags": list(tags), "Address": address, "Meta": meta,
            "Port": port, "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False,
            "Proxy": {"Mode": "", "MeshGateway": {}, "Expose": {}}, "Connect": {},
            "CreateIndex": self.index, "ModifyIndex": self.index,
        }

    # -------------------------------------------------------------- reading

    def handle(self, method, rest, query):
        if method != "GET":
            return 405, {"Allow": "OPTIONS,GET"}, ("method %s not allowed" % method).encode()
        datacenter = _first(query, "dc")
        if datacenter and datacenter not in self.datacenters:
            return text_answer(500, NO_PATH)
        endpoint, _, argument = rest.partition("/")
        try:
            if endpoint == "datacenters" and not argument:
                return json_answer(self.datacenters)
            if endpoint == "nodes" and not argument:
                return json_answer(self._nodes(query), self.index)
            if endpoint == "service" and argument:
                return json_answer(self._instances(argument, query), self.index)
            if endpoint == "node" and argument:
                return json_answer(self._node(argument), self.index)
            if endpoint == "services" and not argument:
                return json_answer(self._service_tags(query), self.index)
        except FilterError as error:
            return text_answer(400, str(error))
        return None

    def _meta_matches(self, node_name, query):
        meta = self.nodes[node_name]["Meta"] or {}
        return all(key in meta and meta[key] == value for key, value in _meta_filters(query))

    def _near(self, records, query):
        origin = _first(query, "near")
        if origin == "_agent":
            origin = self.agent_node
        if not origin or origin not in self.coordinates:
            return records
        here = self.coordinates[origin]

        def distance(record):
            there = self.coordinates.get(record["Node"])
            return (there is None, abs(there - here) if there is not None else 0)

        return sorted(records, key=distance)

    def _nodes(self, query):
        records = [self.nodes[name] for name in sorted(self.nodes) if self._meta_matches(name, query)]
        return self._near(_filter(records, _first(query, "filter")), query)

    def _instances(self, service, query):
        tags = query.get("tag", [])
        records = []
        for node_name in sorted(self.services):
            if not self._meta_matches(node_name, query):
                continue
            node = self.nodes[node_name]
            for entry in self.services[node_name].values():
                if entry["Service"] != service or not all(tag in entry["Tags"] for tag in tags):
                    continue
                records.append({
                    "ID": node["ID"], "Node": node_name, "Address": node["Address"],
                    "Datacenter": node["Datacenter"], "TaggedAddresses": node["TaggedAddresses"],
                    "NodeMeta": node["Meta"], "ServiceKind": "", "ServiceID": entry["ID"],
                    "ServiceName": service, "ServiceTags": entry["Tags"], "ServiceAddress": entry["Address"],
                    "ServiceWeights": entry["Weights"], "ServiceMeta": entry["Meta"] or {},
                    "ServicePort": entry["Port"], "ServiceSocketPath": "", "ServiceEnableTagOverride": False,
                    "ServiceProxy": entry["Proxy"], "ServiceConnect": {},
                    "CreateIndex": entry["CreateIndex"], "ModifyIndex": entry["ModifyIndex"],
                })
        return self._near(_filter(records, _first(query, "filter")), query)

    def _node(self, name):
        if name not in self.nodes:
            return None
        return {"Node": self.nodes[name], "Services": self.services[name]}

    def _service_tags(self, query):
        tags = {}
        for node_name in sorted(self.services):
            if self._meta_matches(node_name, query):
                for entry in self.services[node_name].values():
                    known = tags.setdefault(entry["Service"], [])
                    known.extend(tag for tag in entry["Tags"] if tag not in known)
        return {name: tags[name] for name in sorted(tags)}


class FakeLocalAgent:
    def __init__(self, node_name="fake-agent", datacenter="dc1"):
        self.node_name = node_name
        self.datacenter = datacenter
        self.services = {}  # ID -> the registration as decoded from its body
        self.registrations = []  # (raw body, query) of every registration accepted
        self.deregistered = []  # IDs, in order
        self.checks = {}  # check ID -> the check as /v1/agent/checks shows it
        self.reloads = 0
        self.reload_error = None  # text of a 500 answer to the next reloads

    def handle(self, method, endpoint, argument, query, body):
        """An answer for the endpoints this part serves, or None."""
        routes = {
            ("self", False): ("GET", self._self),
            ("checks", False): ("GET", self._checks),
            ("reload", False): ("PUT", self._reload),
            ("maintenance", False): ("PUT", self._node_maintenance),
        }
        route = routes.get((endpoint, bool(argument)))
        if route is not None:
            allowed, handler = route
            return _only(method, allowed) or handler(query)
        if endpoint == "service":
            action, _, service_id = argument.partition("/")
            if action == "register" and not service_id:
                return _only(method, "PUT") or self._register(body, query)
            if action == "deregister":
                return _only(method, "PUT") or self._deregister(service_id)
            if action == "maintenance":
                return _only(method, "PUT") or self._service_maintenance(service_id, query)
        return None

    def _self(self, query):
        return json_answer({
            "Config": {"Datacenter": self.datacenter, "NodeName": self.node_name,
                       "NodeID": "7c5a1c3e-0000-4000-8000-000000000001", "Server": True,
                       "Revision": "c976ffd2d", "Version": "1.10.3"},
            "Member": {"Name": self.node_name, "Addr": "127.0.0.1", "Port": 8301, "Status": 1},
        })

    def _checks(self, query):
        return json_answer({check_id: self.checks[check_id] for check_id in sorted(self.checks)})

    def _reload(self, query):
        if self.reload_error is not None:
            return text_answer(500, self.reload_error)
        self.reloads += 1
        return 200, {}, b""

    def _register(self, body, query):
        try:
            definition = json.loads(body or b"")
        except ValueError as error:
            return text_answer(400, "Request decode failed: %s" % error)
        if not isinstance(definition, dict):
            return text_answer(400, "Request decode failed: not an object")
        if not definition.get("Name"):
            return text_answer(400, "Missing service name")
        self.registrations.append((body, query))
        self.services[definition.get("ID") or definition["Name"]] = definition
        return 200, {}, b""

    def _deregister(self, service_id):
        self.deregistered.append(service_id)
        if self.services.pop(service_id, None) is not None:
            for check_id in [key for key, check in self.checks.items() if check["ServiceID"] == service_id]:
                del self.checks[check_id]
        return 200, {}, b""

    def _check(self, check_id, name, reason, service_id="", service_name="", tags=()):
        return {"Node": self.node_name, "CheckID": check_id, "Name": name, "Status": "critical",
                "Notes": reason, "Output": "", "ServiceID": service_id, "ServiceName": service_name,
                "ServiceTags": list(tags), "Type": "", "Interval": "", "Timeout": "", "ExposedPort": 0,
                "Definition": {}, "CreateIndex": 0, "ModifyIndex": 0}

    def _node_maintenance(self, query):
        enable = _parse_enable(query)
        if isinstance(enable, tuple):
            return enable
        if enable:
            reason = _first(query, "reason") or DEFAULT_NODE_REASON
            self.checks[NODE_MAINTENANCE] = self._check(NODE_MAINTENANCE, "Node Maintenance Mode", reason)
        else:
            self.checks.pop(NODE_MAINTENANCE, None)
        return 200, {}, b""

    def _service_maintenance(self, service_id, query):
        if not service_id:
            return text_answer(400, "Missing service ID")
        enable = _parse_enable(query)
        if isinstance(enable, tuple):
            return enable
        service = self.services.get(service_id)
        if service is None:
            return text_answer(404, 'No service registered with ID "%s"' % service_id)
        check_id = SERVICE_MAINTENANCE_PREFIX + service_id
        if enable:
            reason = _first(query, "reason") or DEFAULT_SERVICE_REASON
            self.checks[check_id] = self._check(check_id, "Service Maintenance Mode", reason, service_id,
                                                service["Name"], service.get("Tags") or ())
        else:
            self.checks.pop(check_id, None)
        return 200, {}, b""


def _parse_enable(query):
    """The enable parameter as Consul reads it (strconv.ParseBool), or its 400."""
    if "enable" not in query:
        return text_answer(400, "Missing value for enable")
    raw = _first(query, "enable")
    if raw in GO_TRUE:
        return True
    if raw in GO_FALSE:
        return False
    return text_answer(400, 'Invalid value for enable: "%s"' % raw)


def _only(method, allowed):
    """Consul's 405 for a method the endpoint does not take, else None."""
    if method == allowed:
        return None
    return 405, {"Allow": "OPTIONS," + allowed}, ("method %s not allowed" % method).encode()
