"""Check definitions: what a check is, read from an HTTP body, and how it shows.

One class, ``CheckDefinition``, stands for both of Consul's structs: the
``CheckDefinition`` of ``PUT /v1/agent/check/register`` (keyed ``ID``) and the
``CheckType`` inside a service definition (keyed ``CheckID``). Each decodes
its JSON as Consul 1.10 does; the aliases they accept differ, and Consul
answers the other spelling with ``json: unknown field``.

``HealthCheck`` is the check as ``/v1/agent/checks`` and the catalog show it.
"""

import attr

from pyconsul.agent.definitions import validate
from pyconsul.agent.definitions.errors import DefinitionError
from pyconsul.golang import gostruct as go
from pyconsul.golang.duration import format_duration, parse_duration

# Check types, as HealthCheck.Type names them.
TTL, HTTP, TCP, SCRIPT, GRPC, ALIAS, DOCKER, H2PING = (
    "ttl", "http", "tcp", "script", "grpc", "alias", "docker", "h2ping")


@attr.s(frozen=True, slots=True, kw_only=True)
class CheckDefinition:
    """A check as registered. Durations are Go durations (int nanoseconds);
    ``header`` is ``((name, (value, ...)), ...)``; "" and 0 mean "not given"."""

    id: str = attr.ib(default="")
    name: str = attr.ib(default="")
    notes: str = attr.ib(default="")
    status: str = attr.ib(default="")  # the initial status; "" is critical
    service_id: str = attr.ib(default="")  # check/register and node checks only
    token: str = attr.ib(default="")
    script_args: tuple = attr.ib(default=(), converter=tuple)
    http: str = attr.ib(default="")
    header: tuple = attr.ib(default=())
    method: str = attr.ib(default="")
    body: str = attr.ib(default="")
    tcp: str = attr.ib(default="")
    interval: int = attr.ib(default=0)
    timeout: int = attr.ib(default=0)
    ttl: int = attr.ib(default=0)
    docker_container_id: str = attr.ib(default="")
    shell: str = attr.ib(default="")
    grpc: str = attr.ib(default="")
    grpc_use_tls: bool = attr.ib(default=False)
    h2ping: str = attr.ib(default="")
    tls_server_name: str = attr.ib(default="")
    tls_skip_verify: bool = attr.ib(default=False)
    alias_node: str = attr.ib(default="")
    alias_service: str = attr.ib(default="")
    success_before_passing: int = attr.ib(default=0)
    failures_before_warning: int = attr.ib(default=0)  # Consul 1.11's; 0 means as critical
    failures_before_critical: int = attr.ib(default=0)
    deregister_critical_service_after: int = attr.ib(default=0)
    output_max_size: int = attr.ib(default=0)  # 0: the agent's limit

    @property
    def type(self):
        """CheckType.Type(): the first kind that applies, in Consul's order."""
        periodic = self.interval > 0
        if self.grpc and periodic:
            return GRPC
        if self.http and periodic:
            return HTTP
        if self.ttl > 0:
            return TTL
        if self.tcp and periodic:
            return TCP
        if self.alias_node or self.alias_service:
            return ALIAS
        if self.script_args and self.docker_container_id and periodic:
            return DOCKER
        if self.script_args:
            return SCRIPT
        if self.h2ping and periodic:
            return H2PING
        return ""

    @property
    def runner(self):
        """Which runner the agent starts: Consul's addCheck tries the kinds in
        another order than Type() (a check with both HTTP and gRPC shows as
        grpc and runs HTTP). None if no kind applies."""
        periodic = self.interval > 0
        if self.ttl > 0:
            return TTL
        if self.http and periodic:
            return HTTP
        if self.tcp and periodic:
            return TCP
        if self.grpc and periodic:
            return GRPC
        if self.script_args and periodic:
            return DOCKER if self.docker_container_id else SCRIPT
        if self.h2ping and periodic:
            return H2PING
        if self.alias_node or self.alias_service:
            return ALIAS
        return None

    def problem(self):
        """CheckType.Validate's complaint, or None."""
        return validate.check_problem(self)

    @property
    def run_interval(self):
        """The interval the runner uses: below one second, one second."""
        return max(self.interval, validate.MIN_INTERVAL)

    @property
    def reap_after(self):
        """How long the check may stay critical before its service is
        deregistered (0: never); at least a minute."""
        if self.deregister_critical_service_after <= 0:
            return 0
        return max(self.deregister_critical_service_after, validate.MIN_DEREGISTER_AFTER)

    def output_limit(self, agent_limit):
        """The output cap: the agent's check_output_max_size, lowered (never
        raised) by the check's own output_max_size."""
        if 0 < self.output_max_size < agent_limit:
            return self.output_max_size
        return agent_limit

    def is_script(self):
        return bool(self.script_args)

    def header_dict(self):
        return {name: list(values) for name, values in self.header}

    def to_registration(self):
        """api.AgentServiceCheck, as the consul CLI sends a check of a service
        read from a file: Go's field order, durations as Go writes them,
        every field left out when empty (the struct says omitempty)."""
        shape = {}
        for key, attribute in _REGISTRATION_FIELDS:
            value = getattr(self, attribute)
            if attribute in _DURATIONS:
                value = format_duration(value) if value else ""
            elif attribute == "header":
                value = self.header_dict()
            elif attribute == "script_args":
                value = list(value)
            if value:
                shape[key] = value
        return shape


# api.AgentServiceCheck's fields, in its order (OutputMaxSize is not one of them).
_REGISTRATION_FIELDS = (
    ("CheckID", "id"), ("Name", "name"), ("ScriptArgs", "script_args"),
    ("DockerContainerID", "docker_container_id"), ("Shell", "shell"), ("Interval", "interval"),
    ("Timeout", "timeout"), ("TTL", "ttl"), ("HTTP", "http"), ("Header", "header"), ("Method", "method"),
    ("Body", "body"), ("TCP", "tcp"), ("Status", "status"), ("Notes", "notes"),
    ("TLSServerName", "tls_server_name"), ("TLSSkipVerify", "tls_skip_verify"), ("GRPC", "grpc"),
    ("GRPCUseTLS", "grpc_use_tls"), ("H2PING", "h2ping"), ("AliasNode", "alias_node"),
    ("AliasService", "alias_service"), ("SuccessBeforePassing", "success_before_passing"),
    ("FailuresBeforeWarning", "failures_before_warning"), ("FailuresBeforeCritical", "failures_before_critical"),
    ("DeregisterCriticalServiceAfter", "deregister_critical_service_after"),
)
_DURATIONS = frozenset(("interval", "timeout", "ttl", "deregister_critical_service_after"))


@attr.s(frozen=True, slots=True, kw_only=True)
class HealthCheck:
    """structs.HealthCheck, as /v1/agent/checks, /v1/health/* and the catalog show it."""

    node: str = attr.ib()
    check_id: str = attr.ib()
    name: str = attr.ib()
    status: str = attr.ib(default=validate.CRITICAL)
    notes: str = attr.ib(default="")
    output: str = attr.ib(default="")
    service_id: str = attr.ib(default="")
    service_name: str = attr.ib(default="")
    service_tags: tuple = attr.ib(default=(), converter=tuple)
    type: str = attr.ib(default="")
    interval: str = attr.ib(default="")
    timeout: str = attr.ib(default="")
    exposed_port: int = attr.ib(default=0)

    def for_service(self, service):
        """The check bound to a registered service (its name and tags)."""
        return attr.evolve(self, service_id=service.id, service_name=service.name,
                           service_tags=service.tags)

    def to_json(self, create_index=0, modify_index=0):
        # The agent fills Definition only for checks registered through the
        # catalog; for its own checks every field is empty and omitted.
        return {
            "Node": self.node,
            "CheckID": self.check_id,
            "Name": self.name,
            "Status": self.status,
            "Notes": self.notes,
            "Output": self.output,
            "ServiceID": self.service_id,
            "ServiceName": self.service_name,
            "ServiceTags": list(self.service_tags),
            "Type": self.type,
            "Interval": self.interval,
            "Timeout": self.timeout,
            "ExposedPort": self.exposed_port,
            "Definition": {},
            "CreateIndex": create_index,
            "ModifyIndex": modify_index,
        }


def registered_check(check, node):
    """The HealthCheck that check/register makes (CheckDefinition.HealthCheck):
    the ID defaults to the name, and Interval and Timeout are always written,
    "0s" when not given."""
    return HealthCheck(
        node=node,
        check_id=check.id or check.name,
        name=check.name,
        status=check.status or validate.CRITICAL,
        notes=check.notes,
        service_id=check.service_id,
        type=check.type,
        interval=format_duration(check.interval),
        timeout=format_duration(check.timeout),
    )


# -- Go's JSON shape ---------------------------------------------------------------------

_STRING = go.String()
_STRINGS = go.Slice(_STRING, "[]string")
_HEADER = go.Map(_STRINGS, "map[string][]string")


def _aux_fields(extra_snake, alias_fields):
    """The aux struct of the UnmarshalJSON methods: durations taken as any
    value, the snake_case aliases, then the struct's own fields (promoted from
    the embedded *Alias, minus the four the aux fields hide)."""
    fields = [
        go.Field("Interval", go.Any(), "interval"),
        go.Field("Timeout", go.Any(), "timeout"),
        go.Field("TTL", go.Any(), "ttl"),
        go.Field("DeregisterCriticalServiceAfter", go.Any(), "deregister_critical_service_after"),
        go.Field("args", _STRINGS, "args"),
        go.Field("script_args", _STRINGS, "script_args_snake"),
        go.Field("deregister_critical_service_after", go.Any(), "deregister_snake"),
        go.Field("docker_container_id", _STRING, "docker_container_id_snake"),
        go.Field("tls_server_name", _STRING, "tls_server_name_snake"),
        go.Field("tls_skip_verify", go.Bool(), "tls_skip_verify_snake"),
        go.Field("grpc_use_tls", go.Bool(), "grpc_use_tls_snake"),
    ]
    return fields + extra_snake + alias_fields


def _go_type(fields):
    """How Go's reflect writes the aux struct's (anonymous) type."""
    parts = []
    for field in fields:
        attribute = field.attribute
        if attribute in _AUX_GO_NAMES:
            go_name, tag = _AUX_GO_NAMES[attribute]
            parts.append("%s %s%s" % (go_name, field.type.name, ' "json:\\"%s\\""' % tag if tag else ""))
    parts.append("*structs.Alias")
    return "struct { %s }" % "; ".join(parts)


_AUX_GO_NAMES = {
    "interval": ("Interval", None),
    "timeout": ("Timeout", None),
    "ttl": ("TTL", None),
    "deregister_critical_service_after": ("DeregisterCriticalServiceAfter", None),
    "args": ("Args", "args"),
    "script_args_snake": ("ScriptArgsSnake", "script_args"),
    "deregister_snake": ("DeregisterCriticalServiceAfterSnake", "deregister_critical_service_after"),
    "docker_container_id_snake": ("DockerContainerIDSnake", "docker_container_id"),
    "tls_server_name_snake": ("TLSServerNameSnake", "tls_server_name"),
    "tls_skip_verify_snake": ("TLSSkipVerifySnake", "tls_skip_verify"),
    "grpc_use_tls_snake": ("GRPCUseTLSSnake", "grpc_use_tls"),
    "ignored_service_id": ("ServiceID", "ServiceID"),
    "ignored_service_id_snake": ("ServiceIDSnake", "service_id"),
    "service_id_snake": ("ServiceIDSnake", "service_id"),
}


def _common_fields():
    """The fields both structs share, in their order, after their identity fields."""
    return [
        go.Field("ScriptArgs", _STRINGS, "script_args"),
        go.Field("HTTP", _STRING, "http"),
        go.Field("H2PING", _STRING, "h2ping"),
        go.Field("Header", _HEADER, "header"),
        go.Field("Method", _STRING, "method"),
        go.Field("Body", _STRING, "body"),
        go.Field("TCP", _STRING, "tcp"),
    ]


_INT = go.Int()
_BOOL = go.Bool()

# structs.CheckType: a service's Check and Checks.
_CHECK_TYPE_FIELDS = _aux_fields(
    [go.Field("ServiceID", _STRING, "ignored_service_id"),
     go.Field("service_id", _STRING, "ignored_service_id_snake")],
    [go.Field("CheckID", go.String("types.CheckID"), "id"),
     go.Field("Name", _STRING, "name"),
     go.Field("Status", _STRING, "status"),
     go.Field("Notes", _STRING, "notes")]
    + _common_fields()
    + [go.Field("AliasNode", _STRING, "alias_node"),
       go.Field("AliasService", _STRING, "alias_service"),
       go.Field("DockerContainerID", _STRING, "docker_container_id"),
       go.Field("Shell", _STRING, "shell"),
       go.Field("GRPC", _STRING, "grpc"),
       go.Field("GRPCUseTLS", _BOOL, "grpc_use_tls"),
       go.Field("TLSServerName", _STRING, "tls_server_name"),
       go.Field("TLSSkipVerify", _BOOL, "tls_skip_verify"),
       go.Field("SuccessBeforePassing", _INT, "success_before_passing"),
       go.Field("FailuresBeforeWarning", _INT, "failures_before_warning"),
       go.Field("FailuresBeforeCritical", _INT, "failures_before_critical"),
       go.Field("ProxyHTTP", _STRING, "proxy_http"),
       go.Field("ProxyGRPC", _STRING, "proxy_grpc"),
       go.Field("OutputMaxSize", _INT, "output_max_size")],
)
CHECK_TYPE_AUX = go.Struct("", _go_type(_CHECK_TYPE_FIELDS), _CHECK_TYPE_FIELDS)

# structs.CheckDefinition: PUT /v1/agent/check/register.
_CHECK_DEFINITION_FIELDS = _aux_fields(
    [go.Field("service_id", _STRING, "service_id_snake")],
    [go.Field("ID", go.String("types.CheckID"), "id"),
     go.Field("Name", _STRING, "name"),
     go.Field("Notes", _STRING, "notes"),
     go.Field("ServiceID", _STRING, "service_id"),
     go.Field("Token", _STRING, "token"),
     go.Field("Status", _STRING, "status")]
    + _common_fields()
    + [go.Field("DockerContainerID", _STRING, "docker_container_id"),
       go.Field("Shell", _STRING, "shell"),
       go.Field("GRPC", _STRING, "grpc"),
       go.Field("GRPCUseTLS", _BOOL, "grpc_use_tls"),
       go.Field("TLSServerName", _STRING, "tls_server_name"),
       go.Field("TLSSkipVerify", _BOOL, "tls_skip_verify"),
       go.Field("AliasNode", _STRING, "alias_node"),
       go.Field("AliasService", _STRING, "alias_service"),
       go.Field("SuccessBeforePassing", _INT, "success_before_passing"),
       go.Field("FailuresBeforeWarning", _INT, "failures_before_warning"),
       go.Field("FailuresBeforeCritical", _INT, "failures_before_critical"),
       go.Field("OutputMaxSize", _INT, "output_max_size")],
)
CHECK_DEFINITION_AUX = go.Struct("", _go_type(_CHECK_DEFINITION_FIELDS), _CHECK_DEFINITION_FIELDS, pointer=True)

_ATTRIBUTES = frozenset(field.name for field in attr.fields(CheckDefinition))


def _json_duration(value):
    """A duration given as a string (time.ParseDuration, whose error is the
    answer) or a number of nanoseconds; any other value is ignored, as
    Consul ignores it."""
    if isinstance(value, go.Number):
        number = float(value)
        if not go.INT64_MIN <= number < 2.0 ** 63:
            return go.INT64_MIN  # what a float64 beyond int64 becomes on amd64
        return int(number)
    if isinstance(value, str):
        return parse_duration(value)
    return 0


_IGNORED = frozenset(("ignored_service_id", "ignored_service_id_snake"))


def _finish(fields):
    """The UnmarshalJSON methods' work after the decode: the aliases fill
    what the canonical fields left empty, then the durations are parsed.

    Returns (definition, empty); ``empty`` is Consul's CheckType.Empty().
    """
    if not fields.get("script_args"):
        fields["script_args"] = fields.get("args") or fields.get("script_args_snake") or ()
    for name in ("docker_container_id", "tls_server_name"):
        if not fields.get(name):
            fields[name] = fields.get(name + "_snake") or ""
    for name in ("tls_skip_verify", "grpc_use_tls"):
        if fields.get(name + "_snake"):
            fields[name] = True
    if not fields.get("service_id"):
        fields["service_id"] = fields.get("service_id_snake") or ""
    if fields.get("deregister_critical_service_after") is None:
        fields["deregister_critical_service_after"] = fields.get("deregister_snake")
    for name in ("interval", "timeout", "ttl", "deregister_critical_service_after"):
        fields[name] = _json_duration(fields.get(name))
    header = fields.get("header")
    empty = header is None and not any(
        value for name, value in fields.items() if name not in _IGNORED and name != "header")
    values = {name: value for name, value in fields.items() if name in _ATTRIBUTES and value is not None}
    values["header"] = tuple((name, tuple(items or ())) for name, items in sorted((header or {}).items()))
    return CheckDefinition(**values), empty


def check_type_from_json(value):
    """structs.CheckType.UnmarshalJSON: (definition, empty) or GoError.

    ``empty`` is Consul's CheckType.Empty(): a service's ``Check`` that sets
    nothing is no check at all.
    """
    fields = go.unmarshal(value, CHECK_TYPE_AUX, disallow_unknown_fields=True)
    if value is None or fields is go.SKIP:
        return CheckDefinition(), True
    return _finish(dict(fields))


def check_definition_from_json(value):
    """structs.CheckDefinition.UnmarshalJSON; raises GoError."""
    fields = go.unmarshal(value, CHECK_DEFINITION_AUX, disallow_unknown_fields=True)
    return _finish(dict(fields or {}))[0]


def parse_check_register(body):
    """The check of ``PUT /v1/agent/check/register``; raises DefinitionError (400).

    What the agent still decides: a ServiceID that names no local service
    (500 ``ServiceID "x" does not exist``) and whether script checks are
    allowed (see ``script_check_refusal``).
    """
    try:
        value = go.first_value(body)
        check = CheckDefinition() if value is None else check_definition_from_json(value)
    except go.GoError as error:
        raise DefinitionError("Request decode failed: %s" % error) from None
    if check.name == "":
        raise DefinitionError("Missing check name")
    if check.status and not validate.valid_status(check.status):
        raise DefinitionError("Bad check status")
    problem = check.problem()
    if problem is not None:
        raise DefinitionError("Invalid check: %s" % problem)
    return check


# -- PUT /v1/agent/check/update/<id> ---------------------------------------------------

_UPDATE = go.Struct("checkUpdate", "agent.checkUpdate", [
    go.Field("Status", _STRING, "status"),
    go.Field("Output", _STRING, "output"),
], pointer=True)


def parse_check_update(body):
    """(status, output) of a TTL update body; raises DefinitionError (400)."""
    try:
        value = go.first_value(body)
        fields = go.unmarshal(value, _UPDATE, disallow_unknown_fields=True) or {}
    except go.GoError as error:
        raise DefinitionError("Request decode failed: %s" % error) from None
    status = fields.get("status", "")
    if not validate.valid_status(status):
        raise DefinitionError("Invalid check status: '%s'" % status)
    return status, fields.get("output", "")


def script_check_refusal(check, remote, enable_script_checks, enable_local_script_checks):
    """Consul's refusal of a script check, or None if the agent runs it.

    ``remote``: registered over HTTP (rather than from a config file), which
    only ``enable_script_checks`` allows; files need either flag. The agent
    answers the HTTP refusal with a 500, as Consul does.
    """
    if not check.is_script():
        return None
    if remote and not enable_script_checks:
        return ("Scripts are disabled on this agent from remote calls; "
                "to enable, configure 'enable_script_checks' to true")
    if not remote and not (enable_script_checks or enable_local_script_checks):
        return ("Scripts are disabled on this agent; to enable, configure "
                "'enable_script_checks' or 'enable_local_script_checks' to true")
    return None
