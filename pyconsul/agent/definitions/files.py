"""Service and check definitions in agent config files, as Consul 1.10 reads them.

A file's ``service`` (an object) and ``services`` (a list) define services;
its ``check`` and ``checks`` define node checks (a ``service_id`` ties one to
a service). Keys are snake_case and match without regard to case; a few
CamelCase spellings that Consul's ``HookTranslateKeys`` maps are accepted
too (``ServiceID``, ``ScriptArgs``, ``DockerContainerID``, ``TLSSkipVerify``,
``DeregisterCriticalServiceAfter``). Durations are strings. Keys of later
Consul versions, of Consul Enterprise and of Connect are ignored with a
warning.

As Consul's decoder (mapstructure, with ``HookWeakDecodeFromSlice``), a
one-element list stands for its element where a single value is expected, a
number with a fraction is cut to an integer where one is expected, and a null
inside a list or a map is its element's zero value.

A definition goes through Consul's three steps, each with its own refusals:

1. decoding (mapstructure): the types of the values and unknown keys; every
   problem of a file is found;
2. building (Consul's config builder): durations, service meta, weights, a
   socket path beside an address or a port, every problem of all the files
   found. A service's ``checks`` come before its ``check``, weights left out
   are 1 each, a check's ``output_max_size`` defaults to 4096;
3. adding to the agent (its AddService and AddCheck): a service needs a
   name and a node check an ID or a name, checks must be valid and tagged
   addresses well formed; a service's ID defaults to its name and an IP
   address adds the ``lan_``/``wan_`` tagged addresses.

``read_definitions`` takes the three steps for one of the agent's config
files; its errors name the file and the key in pyconsul's config style, with
Consul's words for the problem. ``load_services`` takes the first two for
``pyconsul services register``, as Consul's CLI does (the agent it sends the
services to takes the third), and its errors are worded as Consul's loader
words them.
"""

import json
import math

import attr

from pyconsul import config
from pyconsul.agent.definitions import validate
from pyconsul.agent.definitions.checks import CheckDefinition
from pyconsul.agent.definitions.services import (
    CONNECT_KINDS, ServiceAddress, ServiceDefinition, Weights, derived_tagged_addresses, sorted_pairs)
from pyconsul.golang.duration import DurationError, parse_duration
from pyconsul.golang.strconv import format_float, quote

DEFAULT_OUTPUT_MAX_SIZE = 4096  # checks.DefaultBufSize

# The other top-level keys of an agent config file (pyconsul.config reads them).
AGENT_KEYS = frozenset(config.KEYS) | config.CONSUL_ONLY_KEYS


class DefinitionFileError(config.ConfigError):
    """Definitions Consul would refuse. ``str()`` is pyconsul's message about
    the first problem (naming the file and the key); ``consul`` is how
    Consul's loader words all the problems of the step that failed."""

    def __init__(self, message, consul):
        super().__init__(message)
        self.consul = consul


@attr.s(frozen=True, slots=True)
class FileDefinitions:
    services: tuple = attr.ib()  # ServiceDefinitions
    checks: tuple = attr.ib()  # node CheckDefinitions (the ID is set: id, else name)
    warnings: tuple = attr.ib()


# -- what the keys hold --------------------------------------------------------------


class _Scalar:
    """A single value: ``words`` for pyconsul's messages, ``go_name`` for mapstructure's."""

    is_list = False

    def __init__(self, words, go_name, accepts, zero, convert=None):
        self.words = words
        self.go_name = go_name
        self.accepts = accepts
        self.zero = zero
        self.convert = convert or (lambda value: value)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


STRING = _Scalar("a string", "string", lambda value: isinstance(value, str), "")
INTEGER = _Scalar("an integer", "int", _is_number, 0, int)  # mapstructure cuts a fraction off
BOOLEAN = _Scalar("a boolean", "bool", lambda value: isinstance(value, bool), False)
DURATION = _Scalar("a duration", "string", lambda value: isinstance(value, str), "")  # parsed when building


class _List:
    is_list = True

    def __init__(self, item, words):
        self.item = item
        self.words = words


class _Map:
    is_list = False

    def __init__(self, value):
        self.value = value


class _Struct:
    is_list = False

    def __init__(self, keys, aliases=None, ignored=()):
        self.keys = keys  # snake_case key -> what it holds
        self.aliases = aliases or {}  # HookTranslateKeys: lower-cased alias -> key
        self.ignored = frozenset(ignored)


_STRINGS = _List(STRING, "a list of strings")

CHECK = _Struct({
    "id": STRING, "name": STRING, "notes": STRING, "service_id": STRING, "token": STRING, "status": STRING,
    "args": _STRINGS, "http": STRING, "header": _Map(_STRINGS), "method": STRING, "body": STRING,
    "output_max_size": INTEGER, "tcp": STRING, "interval": DURATION, "docker_container_id": STRING,
    "shell": STRING, "grpc": STRING, "grpc_use_tls": BOOLEAN, "tls_server_name": STRING,
    "tls_skip_verify": BOOLEAN, "alias_node": STRING, "alias_service": STRING, "timeout": DURATION,
    "ttl": DURATION, "h2ping": STRING, "success_before_passing": INTEGER,
    "failures_before_warning": INTEGER, "failures_before_critical": INTEGER,
    "deregister_critical_service_after": DURATION,
}, aliases={
    "serviceid": "service_id", "scriptargs": "args", "dockercontainerid": "docker_container_id",
    "tlsskipverify": "tls_skip_verify", "deregistercriticalserviceafter": "deregister_critical_service_after",
}, ignored=(
    # Keys of later Consul versions and of Consul Enterprise.
    "udp", "os_service", "tcp_use_tls", "h2ping_use_tls", "disable_redirects", "namespace", "partition",
))

SERVICE = _Struct({
    "kind": STRING, "id": STRING, "name": STRING, "tags": _STRINGS, "address": STRING,
    "tagged_addresses": _Map(_Struct({"address": STRING, "port": INTEGER})), "meta": _Map(STRING),
    "port": INTEGER, "socket_path": STRING, "check": CHECK, "checks": _List(CHECK, "a list of objects"),
    "token": STRING, "weights": _Struct({"passing": INTEGER, "warning": INTEGER}), "enable_tag_override": BOOLEAN,
}, ignored=("proxy", "connect", "namespace", "partition"))

_TOP = {
    "services": _List(SERVICE, "a list of objects"),
    "service": SERVICE,
    "checks": _List(CHECK, "a list of objects"),
    "check": CHECK,
}

_CHECK_ATTRIBUTES = {"args": "script_args"}  # CheckDefinition's names where they differ


# -- Go's words for the values ---------------------------------------------------------


def _go_value(value):
    """fmt's %v of a value decoded from JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_float(float(value), "g")
    if isinstance(value, list):
        return "[" + " ".join(_go_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join("%s:%s" % (key, _go_value(value[key])) for key in sorted(value)) + "]"
    return value


def _go_type(value):
    """The Go type encoding/json gives a value decoded into interface {}."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "string"


def _go_kind(value):
    """reflect.Kind's name for the same value."""
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(_go_type(value), _go_type(value))


def _errors_occurred(messages):
    """go-multierror's text."""
    count = "1 error occurred" if len(messages) == 1 else "%d errors occurred" % len(messages)
    return "%s:\n%s\n\n" % (count, "\n".join("\t* " + message for message in messages))


# -- step 1: decoding, as mapstructure does --------------------------------------------

_MISSING = object()  # nothing decoded: a null, or a value with a problem


class _Decoded:
    """A struct as decoded: its values by key and where each was written
    (the path as written, for pyconsul's messages)."""

    __slots__ = ("path", "values", "paths")

    def __init__(self, path):
        self.path = path
        self.values = {}
        self.paths = {}

    def __contains__(self, key):
        return key in self.values

    def get(self, key, default=None):
        return self.values.get(key, default)

    def where(self, key):
        return self.paths.get(key, "%s.%s" % (self.path, key))


def _single(value):
    """HookWeakDecodeFromSlice: [x] where one value is expected is x (HCL's
    repeated blocks make such lists; Consul takes them from JSON too)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _zero(kind, path):
    if isinstance(kind, _Struct):
        return _Decoded(path)
    if isinstance(kind, _Map):
        return {}
    if isinstance(kind, _List):
        return ()
    return kind.zero


def _nested(name, key):
    return "%s.%s" % (name, key) if name else key


class _Decoder:
    """One file's decode. Each value has two names: ``path`` as written (for
    pyconsul's messages) and ``name`` as mapstructure writes it (its own
    field names; ``[key]`` for map entries)."""

    def __init__(self, source, warnings):
        self.source = source
        self.warnings = warnings
        self.first = None  # pyconsul's message for the first problem
        self.errors = []  # mapstructure's messages
        self.unused = []  # keys that name nothing, as mapstructure lists them

    def problem(self, message, consul=None):
        if self.first is None and message is not None:
            self.first = "%s: %s" % (self.source, message)
        if consul is not None:
            self.errors.append(consul)

    def unknown(self, path, name):
        self.problem("unknown configuration key %r" % path)
        self.unused.append(name)

    def mismatch(self, kind, value, path, name, ours=True):
        self.problem("%r must be %s, not %s" % (path, kind.words, json.dumps(value)) if ours else None,
                     "'%s' expected type '%s', got unconvertible type '%s', value: '%s'"
                     % (name, kind.go_name, _go_type(value), _go_value(value)))

    def decode(self, value, kind, path, name):
        if not kind.is_list:
            value = _single(value)
        if value is None:
            return _MISSING  # null leaves the zero value
        if isinstance(kind, _Struct):
            return self.struct(value, kind, path, name)
        if isinstance(kind, _Map):
            return self.mapping(value, kind, path, name)
        if isinstance(kind, _List):
            return self.sequence(value, kind, path, name)
        if kind.accepts(value):
            return kind.convert(value)
        self.mismatch(kind, value, path, name)
        return _MISSING

    def struct(self, value, kind, path, name):
        if not isinstance(value, dict):
            self.problem("%r must be an object" % path, "'%s' expected a map, got '%s'" % (name, _go_kind(value)))
            return _MISSING
        decoded = _Decoded(path)
        for key, item in value.items():
            lower = key.lower()
            key_path = "%s.%s" % (path, key)
            canonical = kind.aliases.get(lower, lower)
            if canonical in kind.ignored:
                self.warnings.append("%s: %r is a Consul setting pyconsul does not support; it is ignored"
                                     % (self.source, key_path))
                continue
            if canonical not in kind.keys:
                self.unknown(key_path, _nested(name, key))
                continue
            if canonical in decoded and lower != canonical:
                continue  # the canonical spelling wins over an alias
            found = self.decode(item, kind.keys[canonical], key_path, _nested(name, canonical))
            if found is not _MISSING:
                decoded.values[canonical] = found
                decoded.paths[canonical] = key_path
        return decoded

    def mapping(self, value, kind, path, name):
        if not isinstance(value, dict):
            self.problem("%r must be an object" % path, "'%s' expected a map, got '%s'" % (name, _go_kind(value)))
            return _MISSING
        result = {}
        for key, item in value.items():
            item_path = "%s.%s" % (path, key)
            found = self.decode(item, kind.value, item_path, "%s[%s]" % (name, key))
            result[key] = _zero(kind.value, item_path) if found is _MISSING else found
        return result

    def sequence(self, value, kind, path, name):
        scalars = isinstance(kind.item, _Scalar)
        if not isinstance(value, list):
            ours = "%r must be %s" % (path, kind.words)
            if scalars:
                ours += ", not %s" % json.dumps(value)
            self.problem(ours, "'%s': source data must be an array or slice, got %s" % (name, _go_kind(value)))
            return _MISSING
        items, bad = [], False
        for index, item in enumerate(value):
            item_path, item_name = "%s[%d]" % (path, index), "%s[%d]" % (name, index)
            if scalars:
                # pyconsul's message names the list; mapstructure's each item.
                item = _single(item)
                if item is not None and not kind.item.accepts(item):
                    self.mismatch(kind.item, item, item_path, item_name, ours=False)
                    bad = True
                    continue
                items.append(kind.item.zero if item is None else kind.item.convert(item))
                continue
            found = self.decode(item, kind.item, item_path, item_name)
            items.append(_zero(kind.item, item_path) if found is _MISSING else found)
        if bad:
            self.problem("%r must be %s, not %s" % (path, kind.words, json.dumps(value)))
        return tuple(items)


@attr.s(slots=True)
class _File:
    source: str = attr.ib()
    services: list = attr.ib()  # _Decoded
    checks: list = attr.ib()  # _Decoded


def _decode_file(values, source, warnings, other_keys=None):
    """Step 1 for one file's values; raises DefinitionFileError.

    ``other_keys``: the other top-level keys allowed, or None when the caller
    looks at them itself.
    """
    decoder = _Decoder(source, warnings)
    grouped = {}
    for key, value in values.items():
        lower = key.lower()
        if lower in _TOP:
            grouped.setdefault(lower, []).append((key, value))
        elif other_keys is not None and lower not in other_keys:
            decoder.unknown(key, key)
    found = {}
    for top in ("services", "service", "checks", "check"):
        found[top] = []
        for key, value in grouped.get(top, ()):
            decoded = decoder.decode(value, _TOP[top], key, top)
            if decoded is not _MISSING:
                found[top].extend(decoded if top.endswith("s") else [decoded])
    if decoder.first is not None:
        if decoder.errors:
            consul = "%d error(s) decoding:\n\n%s" % (
                len(decoder.errors), "\n".join(sorted("* " + message for message in decoder.errors)))
        else:
            consul = _errors_occurred(["invalid config key " + key for key in sorted(decoder.unused)])
        raise DefinitionFileError(decoder.first, "failed to parse %s: %s" % (source, consul))
    return _File(source, found["services"] + found["service"], found["checks"] + found["check"])


# -- step 2: building, as Consul's config builder does ----------------------------------


def _checks_of(service):
    """A service's decoded checks: its checks, then its check."""
    checks = list(service.get("checks", ()))
    if "check" in service:
        checks.append(service.get("check"))
    return checks


class _Builder:
    def __init__(self, warnings):
        self.warnings = warnings
        self.first = None
        self.errors = []  # the builder's messages

    def problem(self, message, consul):
        if self.first is None:
            self.first = message
        self.errors.append(consul)

    def fail_if_any(self):
        if self.first is not None:
            raise DefinitionFileError(self.first, _errors_occurred(self.errors))

    def check(self, source, decoded):
        values = {}
        for key, kind in CHECK.keys.items():
            if key not in decoded or key == "header":
                continue
            value = decoded.get(key)
            if kind is DURATION:
                try:
                    value = parse_duration(value)
                except DurationError as error:
                    self.problem("%s: %r: %s" % (source, decoded.where(key), error),
                                 "check[%s].%s: invalid duration: %s: %s"
                                 % (decoded.get("id", ""), key, quote(value), error))
                    value = 0
            values[_CHECK_ATTRIBUTES.get(key, key)] = value
        values["header"] = tuple(sorted(
            (name, tuple(items)) for name, items in decoded.get("header", {}).items()))
        values.setdefault("output_max_size", DEFAULT_OUTPUT_MAX_SIZE)
        return CheckDefinition(**values)

    def service(self, source, decoded):
        path = decoded.path
        name = decoded.get("name", "")
        checks = [self.check(source, check) for check in _checks_of(decoded)]
        if decoded.get("kind", "") in CONNECT_KINDS:
            self.warnings.append("%s: %r is a Consul setting pyconsul does not support; it is ignored"
                                 % (source, path + ".kind"))
        # Any other kind is a typical service, as Consul's builder has it.
        meta = dict(decoded.get("meta", {}))
        problem = validate.meta_problem(tuple(meta.items()))
        if problem is not None:
            message = "invalid meta for service %s: %s" % (name, problem)
            self.problem("%s: %r: %s" % (source, path + ".meta", message), message)
            meta = {}
        given = decoded.get("weights")
        weights = Weights() if given is None else Weights(given.get("passing", 1), given.get("warning", 1))
        problem = validate.weights_problem(weights.passing, weights.warning)
        if problem is not None:
            message = "Invalid weight definition for service %s: %s" % (name, problem)
            self.problem("%s: %r: %s" % (source, decoded.where("weights"), message), message)
        socket_path = decoded.get("socket_path", "")
        if "socket_path" in decoded and ("port" in decoded or "address" in decoded):
            message = "service %s cannot have both socket path %s and address/port" % (name, socket_path)
            self.problem("%s: %r: %s" % (source, path, message), message)
        tagged = {key: ServiceAddress(address.get("address", ""), address.get("port", 0))
                  for key, address in decoded.get("tagged_addresses", {}).items()}
        return ServiceDefinition(
            id=decoded.get("id", ""),
            name=name,
            tags=decoded.get("tags", ()),
            address=decoded.get("address", ""),
            tagged_addresses=sorted_pairs(tagged),
            meta=sorted_pairs(meta),
            port=decoded.get("port", 0),
            socket_path=socket_path,
            weights=weights,
            enable_tag_override=decoded.get("enable_tag_override", False),
            token=decoded.get("token", ""),
            checks=checks,
        )


# -- step 3: adding to the agent ------------------------------------------------------


def _refuse(source, path, consul_message):
    raise DefinitionFileError("%s: %r: %s" % (source, path, consul_message), consul_message)


def _valid_check(source, path, check):
    problem = check.problem()
    if problem is not None:
        _refuse(source, path, problem)
    if check.status and not validate.valid_status(check.status):
        _refuse(source, path, "Status for checks must 'passing', 'warning', 'critical'")


def _agent_service(source, decoded, service):
    if service.name == "":
        _refuse(source, decoded.path, "Service name missing")
    for check_decoded, check in zip(_checks_of(decoded), service.checks):
        _valid_check(source, check_decoded.path, check)
    problem = validate.tagged_address_problem(service.tagged_addresses)
    if problem is not None:
        _refuse(source, decoded.path + ".tagged_addresses", problem)
    return attr.evolve(
        service, id=service.id or service.name,
        tagged_addresses=derived_tagged_addresses(service.address, service.port, service.tagged_addresses))


def _agent_check(source, decoded, check):
    _valid_check(source, decoded.path, check)
    check_id = check.id or check.name
    if not check_id:
        _refuse(source, decoded.path, "CheckID missing")
    return attr.evolve(check, id=check_id)


# -- the two ways in -----------------------------------------------------------------------


def read_definitions(values, source):
    """The services and node checks in one config file's values (its parsed
    JSON object), as the agent adds them; ``source`` names the file in
    errors. Raises DefinitionFileError (a ConfigError)."""
    warnings = []
    found = _decode_file(values, source, warnings)
    builder = _Builder(warnings)
    checks = [builder.check(source, decoded) for decoded in found.checks]
    services = [builder.service(source, decoded) for decoded in found.services]
    builder.fail_if_any()
    return FileDefinitions(
        tuple(_agent_service(source, decoded, service) for decoded, service in zip(found.services, services)),
        tuple(_agent_check(source, decoded, check) for decoded, check in zip(found.checks, checks)),
        tuple(warnings))


def load_services(sources):
    """The services of config files as Consul's loader reads them for
    ``consul services register``: ``sources`` are (name, top-level object)
    pairs, in the order read. Returns (ServiceDefinitions, warnings); the
    services are as the files give them (an ID only if given, no derived
    tagged addresses), for the agent to add.

    Raises DefinitionFileError, whose ``consul`` is the loader's text: a
    file's decoding problems, else its unknown keys (the first such file
    stops the load), else every building problem of all the files.
    """
    warnings = []
    files = [_decode_file(values, name, warnings, other_keys=AGENT_KEYS) for name, values in sources]
    builder = _Builder(warnings)
    for found in files:  # the node checks of all files are built first, as Consul builds them
        for decoded in found.checks:
            builder.check(found.source, decoded)
    services = [builder.service(found.source, decoded) for found in files for decoded in found.services]
    builder.fail_if_any()
    return services, warnings
