"""Service and check definitions in agent config files, as Consul 1.10 reads them.

A file's ``service`` (an object) and ``services`` (a list) define services;
its ``check`` and ``checks`` define node checks (a ``service_id`` ties one to
a service). Keys are snake_case and match without regard to case; a few
CamelCase spellings that Consul's ``HookTranslateKeys`` maps are accepted
too (``ServiceID``, ``ScriptArgs``, ``DockerContainerID``, ``TLSSkipVerify``,
``DeregisterCriticalServiceAfter``). Durations are strings.

As Consul's decoder (mapstructure, with ``HookWeakDecodeFromSlice``), a
one-element list stands for its element where a single value is expected,
and a number with a fraction is cut to an integer where one is expected.

Consul's builder adds to what the HTTP API does: a service's ``checks`` come
before its ``check``, weights left out are 1 each, a check's
``output_max_size`` defaults to 4096. Errors name the file and the key, in
pyconsul's config style, with Consul's words for the problem.
"""

import json

import attr

from pyconsul.agent.definitions import validate
from pyconsul.agent.definitions.checks import CheckDefinition
from pyconsul.agent.definitions.services import (
    CONNECT_KINDS, ServiceAddress, ServiceDefinition, Weights, derived_tagged_addresses, sorted_pairs)
from pyconsul.config import ConfigError
from pyconsul.golang.duration import DurationError, parse_duration

DEFAULT_OUTPUT_MAX_SIZE = 4096  # checks.DefaultBufSize

STR, INT, BOOL, STRS, DURATION = "a string", "an integer", "a boolean", "a list of strings", "a duration"

_CHECK_KEYS = {
    "id": STR, "name": STR, "notes": STR, "service_id": STR, "token": STR, "status": STR,
    "args": STRS, "http": STR, "header": "header", "method": STR, "body": STR,
    "output_max_size": INT, "tcp": STR, "interval": DURATION, "docker_container_id": STR,
    "shell": STR, "grpc": STR, "grpc_use_tls": BOOL, "tls_server_name": STR,
    "tls_skip_verify": BOOL, "alias_node": STR, "alias_service": STR, "timeout": DURATION,
    "ttl": DURATION, "h2ping": STR, "success_before_passing": INT,
    "failures_before_warning": INT, "failures_before_critical": INT,
    "deregister_critical_service_after": DURATION,
}
# HookTranslateKeys: lower-cased alias -> key.
_CHECK_ALIASES = {
    "serviceid": "service_id", "scriptargs": "args", "dockercontainerid": "docker_container_id",
    "tlsskipverify": "tls_skip_verify", "deregistercriticalserviceafter": "deregister_critical_service_after",
}
# Keys of later Consul versions and of Consul Enterprise: accepted, with a warning.
_CHECK_IGNORED = frozenset(("udp", "os_service", "tcp_use_tls", "h2ping_use_tls", "disable_redirects",
                            "namespace", "partition"))

_SERVICE_KEYS = {
    "kind": STR, "id": STR, "name": STR, "tags": STRS, "address": STR,
    "tagged_addresses": "tagged_addresses", "meta": "meta", "port": INT, "socket_path": STR,
    "check": "check", "checks": "checks", "token": STR, "weights": "weights",
    "enable_tag_override": BOOL,
}
_SERVICE_IGNORED = frozenset(("proxy", "connect", "namespace", "partition"))

_KINDS = {
    STR: lambda value: isinstance(value, str),
    INT: lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    BOOL: lambda value: isinstance(value, bool),
    STRS: lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
    DURATION: lambda value: isinstance(value, str),
}


def _single(value):
    """HookWeakDecodeFromSlice: [x] where one value is expected is x (HCL's
    repeated blocks make such lists; Consul takes them from JSON too)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


@attr.s(frozen=True, slots=True)
class FileDefinitions:
    services: tuple = attr.ib()  # ServiceDefinitions
    checks: tuple = attr.ib()  # node CheckDefinitions (the ID is set: id, else name)
    warnings: tuple = attr.ib()


class _Reader:
    def __init__(self, source):
        self.source = source
        self.warnings = []

    def fail(self, path, problem):
        raise ConfigError("%s: %r %s" % (self.source, path, problem))

    def refuse(self, path, consul_message):
        raise ConfigError("%s: %r: %s" % (self.source, path, consul_message))

    def warn(self, path):
        self.warnings.append("%s: %r is a Consul setting pyconsul does not support; it is ignored"
                             % (self.source, path))

    def keys(self, value, path, known, aliases, ignored):
        """{key: value} with keys matched as mapstructure does; unknown keys fail."""
        value = _single(value)
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
        found = {}
        for key, item in value.items():
            lower = key.lower()
            canonical = aliases.get(lower, lower)
            if canonical in ignored:
                self.warn("%s.%s" % (path, key))
                continue
            if canonical not in known:
                raise ConfigError("%s: unknown configuration key %r" % (self.source, "%s.%s" % (path, key)))
            if item is None:
                continue
            if canonical in found and lower != canonical:
                continue  # the canonical spelling wins over an alias
            found[canonical] = (item, "%s.%s" % (path, key))
        return found

    def typed(self, found, name, kind, default):
        if name not in found:
            return default
        value, path = found[name]
        if kind != STRS:
            value = _single(value)
        if not _KINDS[kind](value):
            self.fail(path, "must be %s, not %s" % (kind, json.dumps(value)))
        if kind == INT:
            return int(value)  # mapstructure cuts a fraction off
        if kind == DURATION:
            try:
                return parse_duration(value)
            except DurationError as error:
                self.refuse(path, str(error))
        return tuple(value) if kind == STRS else value

    def string_map(self, found, name, element_kind):
        if name not in found:
            return {}
        value, path = _single(found[name][0]), found[name][1]
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
        result = {}
        for key, item in value.items():
            if element_kind != STRS:
                item = _single(item)
            if not _KINDS[element_kind](item):
                self.fail("%s.%s" % (path, key), "must be %s, not %s" % (element_kind, json.dumps(item)))
            result[key] = tuple(item) if element_kind == STRS else item
        return result

    def check(self, value, path):
        found = self.keys(value, path, _CHECK_KEYS, _CHECK_ALIASES, _CHECK_IGNORED)
        fields = {}
        for key, kind in _CHECK_KEYS.items():
            if kind in _KINDS:
                attribute = "script_args" if key == "args" else key
                fields[attribute] = self.typed(found, key, kind, attr.fields_dict(CheckDefinition)[attribute].default)
        fields["header"] = tuple(sorted(self.string_map(found, "header", STRS).items()))
        if "output_max_size" not in found:
            fields["output_max_size"] = DEFAULT_OUTPUT_MAX_SIZE
        check = CheckDefinition(**fields)
        problem = check.problem()
        if problem is not None:
            self.refuse(path, problem)
        if check.status and not validate.valid_status(check.status):
            self.refuse(path, "Status for checks must 'passing', 'warning', 'critical'")
        return check

    def service(self, value, path):
        found = self.keys(value, path, _SERVICE_KEYS, {}, _SERVICE_IGNORED)
        name = self.typed(found, "name", STR, "")
        if name == "":
            self.refuse(path, "Service name missing")
        kind = self.typed(found, "kind", STR, "")
        if kind in CONNECT_KINDS:
            self.warn(path + ".kind")
            kind = ""
        elif kind:
            kind = ""  # Consul's builder knows only the Connect kinds; others are typical
        checks = []
        if "checks" in found:
            items, checks_path = found["checks"]
            if not isinstance(items, list):
                self.fail(checks_path, "must be a list of objects")
            checks.extend(self.check(item, "%s[%d]" % (checks_path, index)) for index, item in enumerate(items))
        if "check" in found:
            checks.append(self.check(*found["check"]))
        meta = self.string_map(found, "meta", STR)
        problem = validate.meta_problem(tuple(meta.items()))
        if problem is not None:
            self.refuse(path + ".meta", "invalid meta for service %s: %s" % (name, problem))
        weights = self.weights(found, name)
        port = self.typed(found, "port", INT, 0)
        address = self.typed(found, "address", STR, "")
        socket_path = self.typed(found, "socket_path", STR, "")
        if socket_path and ("port" in found or "address" in found):
            self.refuse(path, "service %s cannot have both socket path %s and address/port" % (name, socket_path))
        tagged = sorted_pairs(self.tagged_addresses(found))
        problem = validate.tagged_address_problem(tagged)
        if problem is not None:
            self.refuse(path + ".tagged_addresses", problem)
        return ServiceDefinition(
            id=self.typed(found, "id", STR, "") or name,
            name=name,
            kind=kind,
            tags=self.typed(found, "tags", STRS, ()),
            address=address,
            tagged_addresses=derived_tagged_addresses(address, port, tagged),
            meta=sorted_pairs(meta),
            port=port,
            socket_path=socket_path,
            weights=weights,
            enable_tag_override=self.typed(found, "enable_tag_override", BOOL, False),
            token=self.typed(found, "token", STR, ""),
            checks=checks,
        )

    def weights(self, found, name):
        if "weights" not in found:
            return Weights()
        value, path = found["weights"]
        given = self.keys(value, path, {"passing": INT, "warning": INT}, {}, ())
        weights = Weights(self.typed(given, "passing", INT, 1), self.typed(given, "warning", INT, 1))
        problem = validate.weights_problem(weights.passing, weights.warning)
        if problem is not None:
            self.refuse(path, "Invalid weight definition for service %s: %s" % (name, problem))
        return weights

    def tagged_addresses(self, found):
        if "tagged_addresses" not in found:
            return {}
        value, path = _single(found["tagged_addresses"][0]), found["tagged_addresses"][1]
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
        addresses = {}
        for key, item in value.items():
            given = self.keys(item, "%s.%s" % (path, key), {"address": STR, "port": INT}, {}, ())
            addresses[key] = ServiceAddress(self.typed(given, "address", STR, ""), self.typed(given, "port", INT, 0))
        return addresses


def read_definitions(values, source):
    """The services and node checks in one config file's values (its parsed
    JSON object); ``source`` names the file in errors. Raises ConfigError."""
    reader = _Reader(source)
    services, checks = [], []
    lowered = {}
    for key, value in values.items():
        lowered.setdefault(key.lower(), []).append((key, value))
    for key, value in lowered.get("services", ()):
        if value is None:
            continue
        if not isinstance(value, list):
            reader.fail(key, "must be a list of objects")
        services.extend(reader.service(item, "%s[%d]" % (key, index)) for index, item in enumerate(value))
    for key, value in lowered.get("service", ()):
        if value is not None:
            services.append(reader.service(value, key))
    for key, value in lowered.get("checks", ()):
        if value is None:
            continue
        if not isinstance(value, list):
            reader.fail(key, "must be a list of objects")
        checks.extend(_node_check(reader, item, "%s[%d]" % (key, index)) for index, item in enumerate(value))
    for key, value in lowered.get("check", ()):
        if value is not None:
            checks.append(_node_check(reader, value, key))
    return FileDefinitions(tuple(services), tuple(checks), tuple(reader.warnings))


def _node_check(reader, value, path):
    check = reader.check(value, path)
    check_id = check.id or check.name
    if not check_id:
        reader.refuse(path, "CheckID missing")
    return attr.evolve(check, id=check_id)
