"""Service definition files, read as ``consul services register FILE...`` reads them.

Consul loads the files with its agent configuration loader and keeps only the
services; pyconsul follows the same steps and wording:

* each path is a file or a directory (its ``.json`` files, in name order;
  others are skipped with a warning). A file must end in ``.json``; ``.hcl``
  is Consul's other format, which pyconsul refuses, naming the file;
* an empty file holds nothing; otherwise it is a JSON object whose
  ``service`` (one definition) and ``services`` (a list) are read, in that
  file's order ``services`` first. Other keys of the agent configuration are
  allowed and ignored; any other key is an ``invalid config key``;
* values are checked as Consul's decoder (mapstructure) checks them, with its
  messages: ``'service.port' expected type 'int', got unconvertible type
  'string', value: '80'``. A one-element list stands for its element, and a
  fractional number for an integer field is cut to an integer, as there;
* durations (``interval``, ``timeout``, ``ttl``,
  ``deregister_critical_service_after``) must parse as Go durations;
* each definition becomes the ``api.AgentServiceRegistration`` the consul
  CLI sends: CamelCase keys, Go's field order, empty fields left out,
  ``Weights`` always present (1/1 unless given), every check in ``Checks``.

Keys match without regard to case or underscores (``enable_tag_override``,
``EnableTagOverride``), ``id`` also as ``check_id``/``CheckID`` and ``args``
as ``script_args``/``ScriptArgs``. Connect settings (``proxy``,
``connect``) are refused: pyconsul has no Connect.
"""

import os

from pyconsul import config as agent_config
from pyconsul.cli.http import go_file_error
from pyconsul.golang import json as go_json
from pyconsul.golang.duration import DurationError, format_duration, parse_duration
from pyconsul.golang.errors import GoError
from pyconsul.golang.strconv import format_float, quote

# The service kinds Consul's loader keeps; any other becomes a typical service.
KNOWN_KINDS = ("connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway")
UNSUPPORTED = ("proxy", "connect")
DURATIONS = ("interval", "timeout", "ttl", "deregister_critical_service_after")
AGENT_KEYS = frozenset(agent_config.KEYS) | agent_config.CONSUL_ONLY_KEYS | frozenset(agent_config.DEFINITION_KEYS)


class DefinitionFileError(Exception):
    """The files cannot be read as service definitions; ``str()`` follows "Error: "."""


def _normal(key):
    return key.lower().replace("_", "")


# -- the shapes of the definitions -------------------------------------------------


class Kind:
    """What a field holds, with mapstructure's name for its Go type."""

    def __init__(self, go_name, check=None):
        self.go_name = go_name
        self.check = check  # value -> the value to keep, or raise TypeError

    def is_list(self):
        return False


def _scalar(go_name, accepts, convert=lambda value: value):
    def check(value):
        if not accepts(value):
            raise TypeError()
        return convert(value)

    return Kind(go_name, check)


STRING = _scalar("string", lambda value: isinstance(value, str))
BOOL = _scalar("bool", lambda value: isinstance(value, bool))
INT = _scalar("int", lambda value: isinstance(value, float), int)


class ListOf(Kind):
    def __init__(self, item):
        super().__init__("[]" + item.go_name)
        self.item = item

    def is_list(self):
        return True


class MapOf(Kind):
    def __init__(self, value):
        super().__init__("map[string]" + value.go_name)
        self.value = value


class Struct(Kind):
    def __init__(self, fields, aliases=None):
        super().__init__("struct")
        self.fields = fields  # snake_case name -> Kind
        self.by_key = {_normal(name): name for name in fields}
        for alias, name in (aliases or {}).items():
            self.by_key[_normal(alias)] = name


CHECK = Struct({
    "id": STRING, "name": STRING, "notes": STRING, "service_id": STRING, "token": STRING,
    "status": STRING, "args": ListOf(STRING), "http": STRING, "header": MapOf(ListOf(STRING)),
    "method": STRING, "body": STRING, "output_max_size": INT, "tcp": STRING, "interval": STRING,
    "docker_container_id": STRING, "shell": STRING, "grpc": STRING, "grpc_use_tls": BOOL,
    "tls_server_name": STRING, "tls_skip_verify": BOOL, "alias_node": STRING, "alias_service": STRING,
    "timeout": STRING, "ttl": STRING, "h2ping": STRING, "success_before_passing": INT,
    "failures_before_critical": INT, "deregister_critical_service_after": STRING,
}, aliases={"check_id": "id", "script_args": "args"})

SERVICE = Struct({
    "kind": STRING, "id": STRING, "name": STRING, "tags": ListOf(STRING), "address": STRING,
    "tagged_addresses": MapOf(Struct({"address": STRING, "port": INT})), "meta": MapOf(STRING),
    "port": INT, "socket_path": STRING, "check": CHECK, "checks": ListOf(CHECK), "token": STRING,
    "weights": Struct({"passing": INT, "warning": INT}), "enable_tag_override": BOOL,
    "proxy": Kind("any"), "connect": Kind("any"),
})

TOP = Struct({"service": SERVICE, "services": ListOf(SERVICE)})


# -- decoding, with mapstructure's messages ----------------------------------------


def go_value(value):
    """fmt's %v of a value decoded from JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value, "g")
    if isinstance(value, list):
        return "[" + " ".join(go_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join("%s:%s" % (key, go_value(value[key])) for key in sorted(value)) + "]"
    return value


def go_type(value):
    """The Go type encoding/json gives a value decoded into interface {}."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "string"


def go_kind(value):
    """reflect.Kind's name for the same value."""
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(go_type(value), go_type(value))


class Decoder:
    """Decodes one file's values; collects type errors and unknown keys as Go does."""

    def __init__(self):
        self.errors = []
        self.unused = []

    def decode(self, value, kind, name):
        if value is None:
            return None  # null leaves the zero value
        if isinstance(value, list) and len(value) == 1 and not kind.is_list():
            value = value[0]  # Consul's hook: a single-element list stands for its element
        if isinstance(kind, Struct):
            return self.struct(value, kind, name)
        if isinstance(kind, MapOf):
            return self.mapping(value, kind, name)
        if isinstance(kind, ListOf):
            return self.sequence(value, kind, name)
        if kind.check is None:
            return value
        try:
            return kind.check(value)
        except TypeError:
            self.errors.append("'%s' expected type '%s', got unconvertible type '%s', value: '%s'"
                               % (name, kind.go_name, go_type(value), go_value(value)))
            return None

    def struct(self, value, kind, name, top=False):
        if not isinstance(value, dict):
            self.errors.append("'%s' expected a map, got '%s'" % (name, go_kind(value)))
            return None
        out = {}
        for key, item in value.items():
            field = kind.by_key.get(_normal(key))
            path = key if top else "%s.%s" % (name, key)
            if field is None:
                if not (top and key.lower() in AGENT_KEYS):
                    self.unused.append(path)
                continue
            decoded = self.decode(item, kind.fields[field], field if top else "%s.%s" % (name, field))
            if decoded is not None:
                out[field] = decoded
        return out

    def mapping(self, value, kind, name):
        if not isinstance(value, dict):
            self.errors.append("'%s' expected a map, got '%s'" % (name, go_kind(value)))
            return None
        out = {}
        for key, item in value.items():
            decoded = self.decode(item, kind.value, "%s[%s]" % (name, key))
            out[key] = decoded if decoded is not None else _zero(kind.value)
        return out

    def sequence(self, value, kind, name):
        if not isinstance(value, list):
            self.errors.append("'%s': source data must be an array or slice, got %s" % (name, go_kind(value)))
            return None
        out = []
        for index, item in enumerate(value):
            decoded = self.decode(item, kind.item, "%s[%d]" % (name, index))
            out.append(decoded if decoded is not None else _zero(kind.item))
        return out


def _zero(kind):
    if isinstance(kind, (Struct, MapOf)):
        return {}
    if isinstance(kind, ListOf):
        return []
    return {"string": "", "int": 0, "bool": False}.get(kind.go_name)


def _errors_occurred(messages):
    """go-multierror's text."""
    count = "1 error occurred" if len(messages) == 1 else "%d errors occurred" % len(messages)
    return "%s:\n%s\n\n" % (count, "\n".join("\t* " + message for message in messages))


# -- reading the files ------------------------------------------------------------


def _files(path, full_path, warnings):
    """(name, full path) of the files a path stands for, as Consul's loader picks them."""
    try:
        is_directory = os.path.isdir(full_path)
        if not is_directory:
            with open(full_path, "rb"):
                pass
    except OSError as error:
        raise DefinitionFileError("config: Open failed on %s. %s" % (path, go_file_error("open", path, error)))
    if not is_directory:
        if not path.endswith((".json", ".hcl")):
            raise DefinitionFileError(
                "file %s has unknown extension; must be .hcl or .json, or config format must be set" % path)
        return [(path, full_path)]
    chosen = []
    for entry in sorted(os.listdir(full_path)):
        name, entry_path = os.path.join(path, entry), os.path.join(full_path, entry)
        if os.path.isdir(entry_path):
            continue  # no recursion into subdirectories, as Consul
        if not entry.endswith((".json", ".hcl")):
            warnings.append("skipping file %s, extension must be .hcl or .json, or config format must be set"
                            % name)
            continue
        chosen.append((name, entry_path))
    return chosen


def _read(name, full_path):
    try:
        with open(full_path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise DefinitionFileError("config: failed to read %s: %s" % (name, go_file_error("read", name, error)))


def _parse(name, data):
    """The file's top-level object, or None for an empty file."""
    if not data:
        return None  # Consul skips a source with no data
    if name.endswith(".hcl"):
        raise DefinitionFileError("failed to parse %s: HCL is not supported by pyconsul; write the "
                                  "service definitions as JSON" % name)
    try:
        return go_json.unmarshal(data, into=go_json.MAP)
    except GoError as error:
        raise DefinitionFileError("failed to parse %s: %s" % (name, error))


def _definitions(name, values):
    """The service definitions of one file, ``services`` then ``service``."""
    decoder = Decoder()
    top = decoder.struct(values, TOP, "", top=True)
    if decoder.errors:
        raise DefinitionFileError("failed to parse %s: %d error(s) decoding:\n\n%s" % (
            name, len(decoder.errors), "\n".join("* " + message for message in sorted(decoder.errors))))
    if decoder.unused:
        raise DefinitionFileError("failed to parse %s: %s" % (
            name, _errors_occurred(["invalid config key " + key for key in sorted(decoder.unused)])))
    services = list(top.get("services") or [])
    if "service" in top:
        services.append(top["service"])
    for service in services:
        present = [key for key in UNSUPPORTED if key in service]
        if present:
            raise DefinitionFileError("%s: service %s: Connect (%s) is not supported by pyconsul" % (
                name, quote(service.get("name", "")), ", ".join(present)))
    return services


# -- the api struct -----------------------------------------------------------------

# api.AgentServiceCheck's JSON names, in its field order.
CHECK_FIELDS = (
    ("id", "CheckID"), ("name", "Name"), ("args", "ScriptArgs"), ("docker_container_id", "DockerContainerID"),
    ("shell", "Shell"), ("interval", "Interval"), ("timeout", "Timeout"), ("ttl", "TTL"), ("http", "HTTP"),
    ("header", "Header"), ("method", "Method"), ("body", "Body"), ("tcp", "TCP"), ("status", "Status"),
    ("notes", "Notes"), ("tls_server_name", "TLSServerName"), ("tls_skip_verify", "TLSSkipVerify"),
    ("grpc", "GRPC"), ("grpc_use_tls", "GRPCUseTLS"), ("h2ping", "H2PING"), ("alias_node", "AliasNode"),
    ("alias_service", "AliasService"), ("success_before_passing", "SuccessBeforePassing"),
    ("failures_before_critical", "FailuresBeforeCritical"),
    ("deregister_critical_service_after", "DeregisterCriticalServiceAfter"),
)


def _check_registration(check, problems):
    out = {}
    for field, json_name in CHECK_FIELDS:
        value = check.get(field)
        if field in DURATIONS and value is not None:
            try:
                value = parse_duration(value)
            except DurationError as error:
                problems.append("check[%s].%s: invalid duration: %s: %s"
                                % (check.get("id", ""), field, quote(value), error))
                continue
            value = format_duration(value) if value else ""
        if value:  # every field of the struct is omitempty
            out[json_name] = value
    return out


def registration(service, problems):
    """The api.AgentServiceRegistration for a decoded definition, as an ordered dict."""
    out = {}
    if service.get("kind") in KNOWN_KINDS:
        out["Kind"] = service["kind"]
    for field, json_name in (("id", "ID"), ("name", "Name"), ("tags", "Tags"), ("port", "Port"),
                             ("address", "Address"), ("socket_path", "SocketPath")):
        if service.get(field):
            out[json_name] = service[field]
    if service.get("tagged_addresses"):
        out["TaggedAddresses"] = {
            key: {"Address": value.get("address", ""), "Port": value.get("port", 0)}
            for key, value in service["tagged_addresses"].items()
        }
    if service.get("enable_tag_override"):
        out["EnableTagOverride"] = True
    if service.get("meta"):
        out["Meta"] = service["meta"]
    weights = service.get("weights") or {}
    out["Weights"] = {"Passing": weights.get("passing", 1), "Warning": weights.get("warning", 1)}
    checks = list(service.get("checks") or [])
    if "check" in service:
        checks.append(service["check"])
    out["Check"] = None  # Consul's loader moves every check into Checks
    out["Checks"] = [_check_registration(check, problems) for check in checks] or None
    return out


def services_from_files(paths, cwd=None):
    """([api.AgentServiceRegistration as a dict], [warning]) for the files.

    Raises DefinitionFileError when they cannot be read; as with Consul,
    every file is read before any is parsed, and the warnings count only
    when all went well.
    """
    warnings, sources = [], []
    for path in paths:
        full_path = os.path.join(cwd, path) if cwd is not None else path
        for name, file_path in _files(path, full_path, warnings):
            sources.append((name, _read(name, file_path)))
    definitions = []
    for name, data in sources:
        values = _parse(name, data)
        if values is not None:
            definitions.extend(_definitions(name, values))
    problems = []
    registrations = [registration(service, problems) for service in definitions]
    if problems:
        raise DefinitionFileError(_errors_occurred(problems))
    return registrations, warnings
