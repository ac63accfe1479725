"""The HTTP API's routes. Each area of the API is a class of its own; this
module only maps paths to them, all through the same plumbing."""

import json
import random

from klein import Klein
from twisted.internet.defer import Deferred
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from pyconsul.logs import Logger
from pyconsul.server.errors import RPCError

from pyconsul.http.agent import AgentEndpoint
from pyconsul.http.agent_services import AgentServicesEndpoint
from pyconsul.http.catalog import CatalogEndpoint, HealthEndpoint
from pyconsul.http.coordinates import CoordinateEndpoint
from pyconsul.http.events import EventEndpoint
from pyconsul.http.kv import KVEndpoint
from pyconsul.http.operator import OperatorEndpoint
from pyconsul.http.queries import QueryEndpoint
from pyconsul.http.sessions import SessionEndpoint
from pyconsul.http.plumbing import endpoint, index
from pyconsul.http.request import NAMESPACE, PARTITION, BadRequest
from pyconsul.http.response import json_body
from pyconsul.http.status import StatusEndpoint
from pyconsul.http.txn import TxnEndpoint


def _suffix(call, prefix):
    """What follows an endpoint's prefix in the (decoded) path: an ID or a name."""
    return call.path[len(prefix):]


def routed_subtrees(app):
    """The paths routed with everything below them ("/v1/kv/")."""
    return frozenset(rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith("/") and rule.rule != "/")


class HTTPApi:
    app = Klein()
    # Keys may contain anything, "//" included: the plumbing, not the
    # router, decides what to do with such paths (Consul redirects them).
    app.url_map.merge_slashes = False

    def __init__(self, rpc, agent=None, clock=None, max_value_size=None, faults=None, agent_cache=None,
                 reload=None, max_txn_size=None, events=None):
        self.rpc = rpc
        self.events = EventEndpoint(events, clock) if events is not None else None
        kwargs = {} if max_value_size is None else {"max_value_size": max_value_size}
        self.kv = KVEndpoint(rpc, **kwargs)
        self.status = StatusEndpoint(rpc)
        self.operator = OperatorEndpoint(rpc)
        node_name = agent.config.node_name if agent is not None else None
        # Consul says on every answer that the agent translates addresses.
        self.translate_wan_addrs = agent is not None and agent.config.translate_wan_addrs
        self.catalog = CatalogEndpoint(rpc, getattr(rpc, "datacenter", "dc1"), node_name, agent_cache,
                                       translate_wan_addrs=self.translate_wan_addrs)
        self.health = HealthEndpoint(rpc, node_name, agent_cache, translator=self.catalog.translator)
        self.coordinates = CoordinateEndpoint(
            rpc, getattr(rpc, "datacenter", "dc1"),
            disabled=agent is not None and getattr(agent.config, "disable_coordinates", False))
        self.sessions = SessionEndpoint(rpc, node_name)
        self.queries = QueryEndpoint(rpc, node_name, translator=self.catalog.translator)
        if max_txn_size is not None:
            kwargs["max_request"] = max_txn_size
        self.txn = TxnEndpoint(rpc, **kwargs)
        self.agent = AgentEndpoint(agent, clock) if agent is not None else None
        self.local = None
        if agent is not None and agent.local is not None:
            self.local = AgentServicesEndpoint(agent.local.services, agent.config.datacenter, clock,
                                               random.Random(), reload=reload)
        self.faults = faults  # only with -enable-fault-injection
        self.subtrees = routed_subtrees(self.app)

    def resource(self):
        # KV and service lookups are the API's hot paths, and Klein's
        # per-request route matching costs about a fifth of such a request:
        # their subtrees are dispatched directly, through the same plumbing.
        return PrefixDispatch(self.app.resource(), {
            b"/v1/kv/": self.kv_route,
            b"/v1/health/service/": self.health_service,
            b"/v1/catalog/service/": self.catalog_service,
        })

    @app.route("/v1/kv/", branch=True)
    @endpoint("GET", "PUT", "DELETE", tenancy=(NAMESPACE, PARTITION))
    def kv_route(self, call):
        return self.kv.handle(call)

    @app.route("/v1/status/leader")
    @endpoint("GET")
    def status_leader(self, call):
        return self.status.leader(call)

    @app.route("/v1/status/peers")
    @endpoint("GET")
    def status_peers(self, call):
        return self.status.peers(call)

    @app.route("/v1/catalog/register")
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def catalog_register(self, call):
        return self.catalog.register(call)

    @app.route("/v1/catalog/deregister")
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def catalog_deregister(self, call):
        return self.catalog.deregister(call)

    @app.route("/v1/catalog/datacenters")
    @endpoint("GET")
    def catalog_datacenters(self, call):
        return self.catalog.datacenters(call)

    @app.route("/v1/catalog/nodes")
    @endpoint("GET", tenancy=(PARTITION,))
    def catalog_nodes(self, call):
        return self.catalog.nodes(call)

    @app.route("/v1/catalog/services")
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def catalog_services(self, call):
        return self.catalog.services(call)

    @app.route("/v1/catalog/service/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def catalog_service(self, call):
        return self.catalog.service(call)

    @app.route("/v1/catalog/node/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def catalog_node(self, call):
        return self.catalog.node(call)

    @app.route("/v1/catalog/node-services/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def catalog_node_services(self, call):
        return self.catalog.node_services(call)

    @app.route("/v1/health/node/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def health_node(self, call):
        return self.health.node(call)

    @app.route("/v1/health/checks/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def health_checks(self, call):
        return self.health.checks(call)

    @app.route("/v1/health/state/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def health_state(self, call):
        return self.health.state(call)

    @app.route("/v1/health/service/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def health_service(self, call):
        return self.health.service(call)

    @app.route("/v1/coordinate/datacenters")
    @endpoint("GET")
    def coordinate_datacenters(self, call):
        return self.coordinates.datacenters(call)

    @app.route("/v1/coordinate/nodes")
    @endpoint("GET", tenancy=(PARTITION,))
    def coordinate_nodes(self, call):
        return self.coordinates.nodes(call)

    @app.route("/v1/coordinate/node/", branch=True)
    @endpoint("GET", tenancy=(PARTITION,))
    def coordinate_node(self, call):
        return self.coordinates.node(call, _suffix(call, "/v1/coordinate/node/"))

    @app.route("/v1/coordinate/update")
    @endpoint("PUT", tenancy=(PARTITION,))
    def coordinate_update(self, call):
        return self.coordinates.update(call)

    @app.route("/v1/operator/raft/configuration")
    @endpoint("GET")
    def operator_raft_configuration(self, call):
        return self.operator.raft_configuration(call)

    @app.route("/v1/operator/raft/peer")
    @endpoint("DELETE")
    def operator_raft_peer(self, call):
        return self.operator.raft_remove_peer(call)

    @app.route("/v1/agent/members")
    @endpoint("GET", tenancy=(PARTITION,))
    def agent_members(self, call):
        return self._agent().members(call)

    @app.route("/v1/agent/self")
    @endpoint("GET")
    def agent_self(self, call):
        return self._agent().self(call)

    @app.route("/v1/agent/join/", branch=True)
    @endpoint("PUT", tenancy=(PARTITION,))
    def agent_join(self, call):
        return self._agent().join(call, call.path[len("/v1/agent/join/") :])

    @app.route("/v1/agent/leave")
    @endpoint("PUT")
    def agent_leave(self, call):
        return self._agent().leave(call)

    @app.route("/v1/agent/force-leave/", branch=True)
    @endpoint("PUT", tenancy=(PARTITION,))
    def agent_force_leave(self, call):
        return self._agent().force_leave(call, call.path[len("/v1/agent/force-leave/") :])

    def _agent(self):
        if self.agent is None:
            raise RPCError("this API has no agent attached")
        return self.agent

    def _local(self):
        if self.local is None:
            raise RPCError("this API has no agent attached")
        return self.local

    @app.route("/v1/agent/reload")
    @endpoint("PUT")
    def agent_reload(self, call):
        return self._local().reload(call)

    @app.route("/v1/agent/services")
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def agent_services(self, call):
        return self._local().list_services(call)

    @app.route("/v1/agent/service/register")
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_service_register(self, call):
        return self._local().register_service(call)

    @app.route("/v1/agent/service/deregister/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_service_deregister(self, call):
        return self._local().deregister_service(call, _suffix(call, "/v1/agent/service/deregister/"))

    @app.route("/v1/agent/service/maintenance/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_service_maintenance(self, call):
        return self._local().service_maintenance(call, _suffix(call, "/v1/agent/service/maintenance/"))

    @app.route("/v1/agent/service/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def agent_service(self, call):
        return self._local().service(call, _suffix(call, "/v1/agent/service/"))

    @app.route("/v1/agent/maintenance")
    @endpoint("PUT", tenancy=(PARTITION,))
    def agent_maintenance(self, call):
        return self._local().node_maintenance(call)

    @app.route("/v1/agent/checks")
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def agent_checks(self, call):
        return self._local().list_checks(call)

    @app.route("/v1/agent/check/register")
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_check_register(self, call):
        return self._local().register_check(call)

    @app.route("/v1/agent/check/deregister/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_check_deregister(self, call):
        return self._local().deregister_check(call, _suffix(call, "/v1/agent/check/deregister/"))

    @app.route("/v1/agent/check/pass/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_check_pass(self, call):
        return self._local().ttl(call, "passing", _suffix(call, "/v1/agent/check/pass/"))

    @app.route("/v1/agent/check/warn/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_check_warn(self, call):
        return self._local().ttl(call, "warning", _suffix(call, "/v1/agent/check/warn/"))

    @app.route("/v1/agent/check/fail/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_check_fail(self, call):
        return self._local().ttl(call, "critical", _suffix(call, "/v1/agent/check/fail/"))

    @app.route("/v1/agent/check/update/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def agent_check_update(self, call):
        return self._local().update(call, _suffix(call, "/v1/agent/check/update/"))

    @app.route("/v1/agent/health/service/id/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def agent_health_by_id(self, call):
        return self._local().health_by_id(call, _suffix(call, "/v1/agent/health/service/id/"))

    @app.route("/v1/agent/health/service/name/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def agent_health_by_name(self, call):
        return self._local().health_by_name(call, _suffix(call, "/v1/agent/health/service/name/"))

    @app.route("/v1/session/create")
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def session_create(self, call):
        return self.sessions.create(call)

    @app.route("/v1/session/destroy/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def session_destroy(self, call):
        return self.sessions.destroy(call)

    @app.route("/v1/session/renew/", branch=True)
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def session_renew(self, call):
        return self.sessions.renew(call)

    @app.route("/v1/session/info/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def session_info(self, call):
        return self.sessions.info(call)

    @app.route("/v1/session/node/", branch=True)
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def session_node(self, call):
        return self.sessions.node(call)

    @app.route("/v1/session/list")
    @endpoint("GET", tenancy=(NAMESPACE, PARTITION))
    def session_list(self, call):
        return self.sessions.list(call)

    @app.route("/v1/query")
    @endpoint("GET", "POST")
    def query_general(self, call):
        return self.queries.general(call)

    @app.route("/v1/query/", branch=True)
    @endpoint("GET", "PUT", "DELETE")
    def query_specific(self, call):
        return self.queries.specific(call)

    @app.route("/v1/txn")
    @endpoint("PUT", tenancy=(NAMESPACE, PARTITION))
    def txn_route(self, call):
        return self.txn.handle(call)

    @app.route("/v1/event/fire/", branch=True)
    @endpoint("PUT")
    def event_fire(self, call):
        return self._events().fire(call, _suffix(call, "/v1/event/fire/"))

    @app.route("/v1/event/list")
    @endpoint("GET")
    def event_list(self, call):
        return self._events().list(call)

    def _events(self):
        if self.events is None:
            raise RPCError("this API has no agent attached")
        return self.events

    @app.route("/v1/debug/faults")
    def debug_faults(self, request):
        # Only with -enable-fault-injection; otherwise no such path exists.
        if self.faults is None:
            return index(request, self.subtrees)
        return self._set_faults(request)

    @endpoint("PUT")
    def _set_faults(self, call):
        try:
            hosts = json.loads(call.body() or b"{}").get("Block", [])
            if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
                raise ValueError
        except (ValueError, AttributeError):
            raise BadRequest('Expected {"Block": ["host", ...]}')
        self.faults.block(hosts)
        return json_body(call.request, sorted(self.faults.blocked))

    @app.route("/", branch=True)
    def unrouted(self, request):
        return index(request, self.subtrees)



# Go's ServeMux redirects a subtree's name without its slash ("/v1/kv") into
# the subtree. Without a rule of its own such a path would get werkzeug's 308.
_routed = {_rule.rule for _rule in HTTPApi.app.url_map.iter_rules()}
for _subtree in routed_subtrees(HTTPApi.app):
    if _subtree[:-1] not in _routed:  # /v1/query is an endpoint of its own
        HTTPApi.app.route(_subtree[:-1], endpoint="unrouted" + _subtree)(HTTPApi.unrouted)


class PrefixDispatch(Resource):
    """Sends requests under some path prefixes straight to their handler,
    and everything else to ``fallback`` (the Klein app)."""

    isLeaf = True
    log = Logger()

    def __init__(self, fallback, handlers):
        super().__init__()
        self.fallback = fallback
        self.handlers = handlers

    def render(self, request):
        for prefix, handler in self.handlers.items():
            if request.path.startswith(prefix):
                return self._render(request, handler(request))
        return self.fallback.render(request)

    def _render(self, request, result):
        if not isinstance(result, Deferred):
            return result
        gone = []
        request.notifyFinish().addErrback(gone.append)

        def write(body):
            if not gone:
                request.write(body)
                request.finish()

        result.addCallback(write)
        result.addErrback(lambda f: self.log.failure("Answering {uri}", f, uri=request.uri))
        return NOT_DONE_YET
