"""/v1/agent: this agent's services and checks, their maintenance mode and
aggregated health, and reloading its configuration."""

from twisted.internet.defer import Deferred, maybeDeferred

from pyconsul.agent import definitions
from pyconsul.agent.contenthash import content_hash
from pyconsul.filter import apply_to_map, compile_filter, FilterError, schemas
from pyconsul.golang.strconv import NumError, parse_bool
from pyconsul.http.request import BadRequest
from pyconsul.http.response import empty_body, error_body, json_body
from pyconsul.server.blocking import query_timeout
from pyconsul.server.errors import RPCError
from pyconsul.state.records import CRITICAL, PASSING, WARNING

MAINTENANCE = "maintenance"
STATUS_CODES = {PASSING: 200, WARNING: 429}  # anything else: 503


def _refused(error):
    """A DefinitionError as the HTTP error Consul answers with."""
    if error.status == 400:
        return BadRequest(error.message)
    failure = RPCError(error.message)
    failure.status = error.status
    return failure


def _filter(call, schema):
    expression = call.params.get("filter", "")
    if expression == "":
        return None
    try:
        return compile_filter(expression, schema)
    except FilterError as error:
        raise BadRequest(str(error))


def _enable(call):
    if not call.params.has("enable"):
        raise BadRequest("Missing value for enable")
    raw = call.params.get("enable")
    try:
        return parse_bool(raw)
    except NumError:
        raise BadRequest('Invalid value for enable: "%s"' % raw)


def aggregated_status(checks):
    """api.HealthChecks.AggregatedStatus: maintenance, then critical, warning, passing."""
    status = PASSING
    for check in checks:
        check_id = check["CheckID"]
        if check_id == "_node_maintenance" or check_id.startswith("_service_maintenance:"):
            return MAINTENANCE
        if check["Status"] == CRITICAL:
            status = CRITICAL
        elif check["Status"] == WARNING and status == PASSING:
            status = WARNING
    return status


class AgentServicesEndpoint:
    def __init__(self, services, datacenter, clock, rng, reload=None):
        self.services = services  # AgentServices
        self.datacenter = datacenter
        self.clock = clock
        self.rng = rng
        self.reload_config = reload  # () -> Deferred or value; raises ConfigError

    # -- services --------------------------------------------------------------

    def register_service(self, call):
        body = call.body()
        try:
            service = definitions.parse_service_register(body)
            self.services.add_service(service, replace_existing_checks=call.flag("replace-existing-checks"),
                                      body=body)
        except definitions.DefinitionError as error:
            raise _refused(error)
        return empty_body(call.request, 200)

    def deregister_service(self, call, service_id):
        self.services.remove_service(service_id)
        return empty_body(call.request, 200)

    def list_services(self, call):
        compiled = _filter(call, schemas.AGENT_SERVICE)
        found = {sid: s.definition.to_agent_json(self.datacenter) for sid, s in sorted(self.services.services.items())}
        if compiled is not None:
            found = apply_to_map(compiled, found)
        return json_body(call.request, found, call.pretty)

    def service(self, call, service_id):
        """One service, with Consul's hash-based blocking (``?hash=&wait=``)."""
        wanted = call.params.get("hash", "")
        if not wanted:
            return self._service_answer(call, service_id)
        deadline = self.clock.seconds() + query_timeout(_wait(call), self.rng)
        return self._wait_for_change(call, service_id, wanted, deadline)

    def _service_answer(self, call, service_id):
        definition = self.services.agent_service(service_id)
        if definition is None:
            return error_body(call.request, 404, "unknown service ID: %s" % service_id)
        digest = self._hash(definition)
        call.request.setHeader(b"x-consul-contenthash", digest.encode("ascii"))
        return json_body(call.request, definition.to_agent_json(self.datacenter, content_hash=digest), call.pretty)

    def _hash(self, definition):
        return content_hash(definition.to_agent_json(self.datacenter))

    def _wait_for_change(self, call, service_id, wanted, deadline):
        definition = self.services.agent_service(service_id)
        remaining = deadline - self.clock.seconds()
        if definition is None or self._hash(definition) != wanted or remaining <= 0:
            return self._service_answer(call, service_id)
        changed = Deferred()

        def wake():
            if not changed.called:
                changed.callback(None)

        self.services.listeners.append(wake)
        timer = self.clock.callLater(remaining, wake)

        def again(_):
            if wake in self.services.listeners:
                self.services.listeners.remove(wake)
            if timer.active():
                timer.cancel()
            return self._wait_for_change(call, service_id, wanted, deadline)

        return changed.addCallback(again)

    def service_maintenance(self, call, service_id):
        if not service_id:
            raise BadRequest("Missing service ID")
        enable = _enable(call)
        try:
            self.services.service_maintenance(service_id, enable, call.params.get("reason", ""))
        except definitions.DefinitionError as error:
            return error_body(call.request, error.status, error.message)
        return empty_body(call.request, 200)

    def node_maintenance(self, call):
        self.services.node_maintenance(_enable(call), call.params.get("reason", ""))
        return empty_body(call.request, 200)

    # -- checks ------------------------------------------------------------------

    def list_checks(self, call):
        compiled = _filter(call, schemas.HEALTH_CHECK)
        found = dict(sorted(self.services.check_records().items()))
        if compiled is not None:
            found = apply_to_map(compiled, found)
        return json_body(call.request, found, call.pretty)

    def register_check(self, call):
        body = call.body()
        try:
            check = definitions.parse_check_register(body)
            self.services.add_check(check, body=body)
        except definitions.DefinitionError as error:
            raise _refused(error)
        return empty_body(call.request, 200)

    def deregister_check(self, call, check_id):
        self.services.remove_check(check_id)
        return empty_body(call.request, 200)

    def ttl(self, call, status, check_id):
        self._update(check_id, status, call.params.get("note", ""))
        return empty_body(call.request, 200)

    def update(self, call, check_id):
        try:
            status, output = definitions.parse_check_update(call.body())
        except definitions.DefinitionError as error:
            raise _refused(error)
        self._update(check_id, status, output)
        return empty_body(call.request, 200)

    def _update(self, check_id, status, output):
        try:
            self.services.update_ttl(check_id, status, output)
        except definitions.DefinitionError as error:
            raise _refused(error)

    # -- aggregated health ------------------------------------------------------------

    def health_by_id(self, call, service_id):
        if not service_id:
            raise BadRequest("Missing serviceID")
        definition = self.services.agent_service(service_id)
        if definition is None:
            reason = "ServiceId %s not found" % service_id
            if call.params.get("format") == "text":
                return self._text(call, 404, reason, reason)
            return self._with_reason(call, 404, reason,
                                     {"AggregatedStatus": CRITICAL, "Service": None, "Checks": None})
        status, info = self._health(definition)
        code = STATUS_CODES.get(status, 503)
        if call.params.get("format") == "text":
            return self._text(call, code, status, status)
        return self._with_reason(call, code, status, info)

    def health_by_name(self, call, name):
        if not name:
            raise BadRequest("Missing service Name")
        found = [s.definition for _, s in sorted(self.services.services.items()) if s.definition.name == name]
        if not found:
            reason = "ServiceName %s Not Found" % name
            if call.params.get("format") == "text":
                return self._text(call, 404, reason, reason)
            return self._with_reason(call, 404, reason, [])
        results = [self._health(definition) for definition in found]
        code = max(STATUS_CODES.get(status, 503) for status, _ in results)
        status = {200: PASSING, 429: WARNING}.get(code, CRITICAL)
        if code == 503 and any(s == MAINTENANCE for s, _ in results):
            status = MAINTENANCE
        if call.params.get("format") == "text":
            return self._text(call, code, status, status)
        return self._with_reason(call, code, status, [info for _, info in results])

    def _health(self, definition):
        checks = [record for record in self.services.check_records().values()
                  if record["ServiceID"] in ("", definition.id)]
        checks.sort(key=lambda c: c["CheckID"])
        status = aggregated_status(checks)
        return status, {"AggregatedStatus": status, "Service": definition.to_agent_json(self.datacenter),
                        "Checks": checks}

    @staticmethod
    def _with_reason(call, code, reason, value):
        call.request.setHeader(b"x-consul-reason", reason.encode("utf-8"))
        call.request.setResponseCode(code)
        return json_body(call.request, value, call.pretty)

    @staticmethod
    def _text(call, code, reason, text):
        call.request.setHeader(b"x-consul-reason", reason.encode("utf-8"))
        call.request.setResponseCode(code)
        call.request.setHeader(b"content-type", b"text/plain")
        return text.encode("utf-8")

    # -- reload --------------------------------------------------------------------

    def reload(self, call):
        if self.reload_config is None:
            return empty_body(call.request, 200)
        d = maybeDeferred(self.reload_config)

        def failed(failure):
            raise RPCError("Failed to reload configs: %s" % failure.value)

        return d.addCallbacks(lambda _: empty_body(call.request, 200), failed)


def _wait(call):
    options = call.read_options()
    return options.wait
