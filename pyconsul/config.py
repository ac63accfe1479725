"""The agent's configuration: defaults, JSON files and flags, in one place.

Sources are read in Consul's order -- defaults, ``-dev`` defaults, config
files (``-config-dir`` files in lexical order), then flags -- and later
sources win (lists such as ``retry_join`` add up). Every key is checked in the
source it came from, so an error names the file, the key and what is wrong.
Keys Consul knows that pyconsul does not implement yet are accepted with a
warning: tools that write Consul configs write many of them.
"""

import base64
import binascii
import ipaddress
import json
import os
import socket
import uuid

import attr

from pyconsul.golang import duration


class ConfigError(Exception):
    """Bad configuration: the message names the source, the key and the problem."""


# -- the keys -----------------------------------------------------------------

BOOL, INT, STR, STR_LIST, OBJECT = "a boolean", "an integer", "a string", "a list of strings", "an object"
STR_MAP = "an object of strings"
DURATION = "a duration such as \"500ms\" or \"1m30s\""
DURATION_OR_ZERO = "a duration such as \"5m\", or \"0s\""
DURATION_MAP = "an object of durations such as \"30s\", or \"0s\""
OBJECT_LIST = "a list of objects"
NUMBER = "a number"

# Service and check definitions: read by pyconsul.agent.definitions, not here.
DEFINITION_KEYS = ("service", "services", "check", "checks")

PORTS = {"http": -1, "dns": -1, "server": 1, "serf_lan": 1, "serf_wan": -1}  # key: lowest allowed

# The timings of Consul's gossip_lan and gossip_wan blocks.
GOSSIP_KEYS = {
    "gossip_interval": DURATION,
    "gossip_nodes": INT,
    "probe_interval": DURATION,
    "probe_timeout": DURATION,
    "suspicion_mult": INT,
    "retransmit_mult": INT,
}

# Implemented keys and their JSON types. Nested objects list their own keys.
KEYS = {
    "datacenter": STR,
    "node_name": STR,
    "node_id": STR,
    "data_dir": STR,
    "server": BOOL,
    "bootstrap": BOOL,
    "bootstrap_expect": INT,
    "bind_addr": STR,
    "client_addr": STR,
    "advertise_addr": STR,
    "retry_join": STR_LIST,
    "start_join": STR_LIST,
    # Servers also gossip in the WAN pool with the servers of every datacenter.
    "advertise_addr_wan": STR,
    "retry_join_wan": STR_LIST,
    "start_join_wan": STR_LIST,
    # Answers about other datacenters give their nodes' WAN addresses.
    "translate_wan_addrs": BOOL,
    "log_level": STR,
    "leave_on_terminate": BOOL,
    "skip_leave_on_interrupt": BOOL,
    "encrypt": STR,
    "ports": {name: INT for name in PORTS},
    "performance": {"raft_multiplier": INT},
    "limits": {"kv_max_value_size": INT, "txn_max_req_len": INT},
    "raft_snapshot_threshold": INT,
    "raft_trailing_logs": INT,
    "node_meta": STR_MAP,
    "enable_script_checks": BOOL,
    "enable_local_script_checks": BOOL,
    "check_update_interval": DURATION_OR_ZERO,
    "check_output_max_size": INT,
    # The DNS interface (Consul's domain, alt_domain, recursors and dns_config).
    "domain": STR,
    "alt_domain": STR,
    "recursors": STR_LIST,
    "recursor": STR,  # one more recursor, after this file's "recursors"
    "dns_config": {
        "allow_stale": BOOL,
        "max_stale": DURATION,
        "node_ttl": DURATION_OR_ZERO,
        "service_ttl": DURATION_MAP,
        "udp_answer_limit": INT,
        "a_record_limit": INT,
        "enable_truncate": BOOL,
        "only_passing": BOOL,
        "recursor_timeout": DURATION,
        "recursor_strategy": STR,
        "disable_compression": BOOL,
        "enable_additional_node_meta_txt": BOOL,
        "soa": {name: INT for name in ("refresh", "retry", "expire", "min_ttl")},
        "use_cache": BOOL,
        "cache_max_age": DURATION_OR_ZERO,
    },
    # memberlist's timings for the LAN and WAN pools.
    "gossip_lan": GOSSIP_KEYS,
    "gossip_wan": GOSSIP_KEYS,
    # Consul's watches, each read by pyconsul.watch.spec.parse_agent_watch.
    "watches": OBJECT_LIST,
    # Network coordinates. The "consul" block and the sync_coordinate keys
    # are Consul's internal tunables (its own defaults override a user's;
    # pyconsul lets them through, so tests can run fast).
    "disable_coordinates": BOOL,
    "consul": {"coordinate": {"update_batch_size": INT, "update_max_batches": INT, "update_period": DURATION}},
    "sync_coordinate_interval_min": DURATION,
    "sync_coordinate_rate_target": NUMBER,
    # The web UI (pyconsul.ui); "ui" and "ui_content_path" are Consul's older names.
    "ui_config": {"enabled": BOOL, "content_path": STR},
    "ui": BOOL,
    "ui_content_path": STR,
}

# Keys Consul accepts that pyconsul does not act on (yet).
CONSUL_ONLY_KEYS = frozenset(
    """
    acl acl_agent_master_token acl_agent_token acl_datacenter acl_default_policy
    acl_down_policy acl_enable_key_list_policy acl_enforce_version_8
    acl_master_token acl_replication_token acl_token acl_ttl addresses
    advertise_addr_ipv4 advertise_addr_ipv6 advertise_addr_wan_ipv4
    advertise_addr_wan_ipv6 advertise_reconnect_timeout audit auto_config
    auto_encrypt auto_reload_config autopilot ca_file ca_path cert_file cloud
    config_entries connect default_query_time disable_anonymous_signature
    disable_host_node_id disable_http_unprintable_char_filter
    disable_keyring_file disable_remote_exec disable_update_check
    discard_check_output discovery_max_stale enable_acl_replication
    enable_agent_tls_for_checks enable_central_service_config enable_debug
    enable_syslog encrypt_verify_incoming encrypt_verify_outgoing experiments
    http_config key_file license_path locality log_file log_json
    log_rotate_bytes log_rotate_duration log_rotate_max_files max_query_time
    peering pid_file primary_datacenter primary_gateways
    primary_gateways_interval raft_boltdb raft_logstore raft_protocol
    raft_snapshot_interval read_replica reconnect_timeout reconnect_timeout_wan
    rejoin_after_leave reporting retry_interval retry_interval_wan retry_max
    retry_max_wan rpc segment segments serf_lan serf_lan_allowed_cidrs serf_wan
    serf_wan_allowed_cidrs server_name session_ttl_min syslog_facility telemetry
    tls tls_cipher_suites tls_min_version tls_prefer_server_cipher_suites
    ui_dir unix_sockets verify_incoming
    verify_incoming_https verify_incoming_rpc verify_outgoing
    verify_server_hostname xds
    """.split()
)
CONSUL_ONLY_SUBKEYS = {
    "consul": {"raft", "server"},
    "ports": {"https", "grpc", "grpc_tls", "sidecar_min_port", "sidecar_max_port",
              "expose_min_port", "expose_max_port"},
    "performance": {"leave_drain_time", "rpc_hold_timeout"},
    "limits": {"http_max_conns_per_client", "https_handshake_timeout", "rpc_handshake_timeout",
               "rpc_client_timeout", "rpc_max_conns_per_client", "rpc_rate", "rpc_max_burst",
               "request_limits"},
    "dns_config": {"prefer_namespace"},  # Enterprise only
    "ui_config": {"dir", "metrics_provider", "metrics_provider_files", "metrics_provider_options_json",
                  "metrics_proxy", "dashboard_url_templates"},
}

LOG_LEVELS = ("trace", "debug", "info", "warn", "error")
RECURSOR_STRATEGIES = ("sequential", "random")
# What a label of domain or alt_domain may hold (after lower-casing).
DOMAIN_LABEL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
SOA_MAX = 2**32 - 1  # the SOA record's fields are 32-bit unsigned
# An alt_domain must not read as the start of a query in the primary domain.
RESERVED_ALT_DOMAIN_LABELS = ("service", "connect", "node", "query", "addr")

DEFAULTS = {
    "datacenter": "dc1",
    "server": False,
    "bootstrap": False,
    "bootstrap_expect": 0,
    "bind_addr": "0.0.0.0",
    "client_addr": "127.0.0.1",
    "retry_join": [],
    "start_join": [],
    "log_level": "info",
    "ports": {"http": 8500, "dns": 8600, "server": 8300, "serf_lan": 8301, "serf_wan": 8302},
    "performance": {"raft_multiplier": 5},
    "limits": {"kv_max_value_size": 512 * 1024, "txn_max_req_len": 512 * 1024},
    "raft_snapshot_threshold": 16384,
    "raft_trailing_logs": 10240,
    "node_meta": {},
    "enable_script_checks": False,
    "enable_local_script_checks": False,
    "check_update_interval": "5m",
    "check_output_max_size": 4096,
    "disable_coordinates": False,
    # Consul's consul.DefaultConfig() and its agent's non-user settings.
    "consul": {"coordinate": {"update_batch_size": 128, "update_max_batches": 5, "update_period": "5s"}},
    "sync_coordinate_interval_min": "15s",
    "sync_coordinate_rate_target": 64.0,
    "domain": "consul.",
    "alt_domain": "",
    "recursors": [],
    "dns_config": {
        "allow_stale": True,
        "max_stale": "87600h",
        "node_ttl": "0s",
        "service_ttl": {},
        "udp_answer_limit": 3,
        "a_record_limit": 0,
        "enable_truncate": False,
        "only_passing": False,
        "recursor_timeout": "2s",
        "recursor_strategy": "sequential",
        "disable_compression": False,
        "enable_additional_node_meta_txt": True,
        "soa": {"refresh": 3600, "retry": 600, "expire": 86400, "min_ttl": 0},
        "use_cache": False,
        "cache_max_age": "0s",
    },
}

# What -dev changes: a single in-memory server on loopback, fast timings.
DEV_DEFAULTS = {
    "server": True,
    "bootstrap": True,
    "bind_addr": "127.0.0.1",
    "log_level": "debug",
    "performance": {"raft_multiplier": 1},
    "consul": {"coordinate": {"update_period": "100ms"}},
    "ui_config": {"enabled": True},
}


@attr.s(frozen=True, slots=True)
class Ports:
    http: int = attr.ib()
    dns: int = attr.ib()
    server: int = attr.ib()
    serf_lan: int = attr.ib()
    serf_wan: int = attr.ib()


@attr.s(frozen=True, slots=True)
class DNSConfig:
    """Consul's dns_config; durations in seconds."""

    allow_stale: bool = attr.ib(default=True)
    max_stale: float = attr.ib(default=87600 * 3600.0)
    node_ttl: float = attr.ib(default=0.0)
    # Lower-cased service name, or a prefix ending in "*", to seconds.
    service_ttl: dict = attr.ib(factory=dict)
    udp_answer_limit: int = attr.ib(default=3)
    a_record_limit: int = attr.ib(default=0)  # 0: no limit
    enable_truncate: bool = attr.ib(default=False)
    only_passing: bool = attr.ib(default=False)
    recursor_timeout: float = attr.ib(default=2.0)
    recursor_strategy: str = attr.ib(default="sequential")  # or "random"
    disable_compression: bool = attr.ib(default=False)
    enable_additional_node_meta_txt: bool = attr.ib(default=True)
    soa_refresh: int = attr.ib(default=3600)
    soa_retry: int = attr.ib(default=600)
    soa_expire: int = attr.ib(default=86400)
    soa_min_ttl: int = attr.ib(default=0)
    use_cache: bool = attr.ib(default=False)
    cache_max_age: float = attr.ib(default=0.0)


@attr.s(frozen=True, slots=True)
class AgentConfig:
    node_name: str = attr.ib()
    node_id: str = attr.ib()
    datacenter: str = attr.ib()
    data_dir: str | None = attr.ib()  # None: in memory (-dev)
    server: bool = attr.ib()
    bootstrap: bool = attr.ib()
    bootstrap_expect: int = attr.ib()
    dev: bool = attr.ib()
    bind_addr: str = attr.ib()
    advertise_addr: str = attr.ib()
    client_addrs: tuple = attr.ib()
    ports: Ports = attr.ib()
    retry_join: tuple = attr.ib()
    start_join: tuple = attr.ib()
    log_level: str = attr.ib()
    raft_multiplier: int = attr.ib()
    leave_on_terminate: bool = attr.ib()
    skip_leave_on_interrupt: bool = attr.ib()
    encrypt: str | None = attr.ib()
    kv_max_value_size: int = attr.ib()
    raft_snapshot_threshold: int = attr.ib()
    raft_trailing_logs: int = attr.ib()
    # gossip_lan/gossip_wan overrides, in seconds for durations: {} keeps the defaults.
    gossip_lan: dict = attr.ib(factory=dict)
    gossip_wan: dict = attr.ib(factory=dict)
    # The WAN pool (servers only): the address other datacenters' servers
    # reach this one by (default: advertise_addr), and whom to join there.
    advertise_addr_wan: str = attr.ib(default="")
    start_join_wan: tuple = attr.ib(default=())
    retry_join_wan: tuple = attr.ib(default=())
    translate_wan_addrs: bool = attr.ib(default=False)
    fault_injection: bool = attr.ib(default=False)
    txn_max_req_len: int = attr.ib(default=512 * 1024)
    node_meta: dict = attr.ib(factory=dict)
    enable_script_checks: bool = attr.ib(default=False)
    enable_local_script_checks: bool = attr.ib(default=False)
    check_update_interval: float = attr.ib(default=300.0)  # seconds; 0 sends every output at once
    check_output_max_size: int = attr.ib(default=4096)
    # The DNS interface: domains are lower case with one trailing dot;
    # recursors are (ip, port) pairs, in the order given, without repeats.
    domain: str = attr.ib(default="consul.")
    alt_domain: str = attr.ib(default="")  # "": none
    recursors: tuple = attr.ib(default=())
    dns: DNSConfig = attr.ib(factory=DNSConfig)
    # From the config files, in the order read: ServiceDefinitions and
    # (node) CheckDefinitions (see pyconsul.agent.definitions).
    services: tuple = attr.ib(default=())
    checks: tuple = attr.ib(default=())
    # The watches, as pyconsul.watch.spec.WatchSpec, in the order read.
    watches: tuple = attr.ib(default=())
    # Network coordinates (seconds for the durations).
    disable_coordinates: bool = attr.ib(default=False)
    coordinate_update_period: float = attr.ib(default=5.0)
    coordinate_update_batch_size: int = attr.ib(default=128)
    coordinate_update_max_batches: int = attr.ib(default=5)
    sync_coordinate_interval_min: float = attr.ib(default=15.0)
    sync_coordinate_rate_target: float = attr.ib(default=64.0)
    # The web UI: served on the HTTP port under ui_content_path ("/ui/").
    ui_enabled: bool = attr.ib(default=False)
    ui_content_path: str = attr.ib(default="/ui/")

    @property
    def server_address(self):
        """Where other servers reach this one's Raft and RPC: ip:8300."""
        return "%s:%d" % (self.advertise_addr, self.ports.server)


# -- reading sources -------------------------------------------------------------


@attr.s
class Source:
    name: str = attr.ib()  # a file name, or "the command line"
    values: dict = attr.ib()


def read_file(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError("cannot read config file %s: %s" % (path, e.strerror))
    if path.endswith(".hcl"):
        raise ConfigError(
            "config file %s: HCL is not supported; write the configuration as JSON" % path
        )
    try:
        values = json.loads(raw)
    except UnicodeDecodeError:
        raise ConfigError("config file %s: not UTF-8 text" % path)
    except json.JSONDecodeError as e:
        raise ConfigError(
            "config file %s: invalid JSON at line %d column %d: %s" % (path, e.lineno, e.colno, e.msg)
        )
    if not isinstance(values, dict):
        raise ConfigError("config file %s: the top level must be a JSON object" % path)
    return Source(path, values)


def read_dir(path):
    try:
        names = sorted(os.listdir(path))
    except OSError as e:
        raise ConfigError("cannot read config directory %s: %s" % (path, e.strerror))
    return [
        read_file(os.path.join(path, name))
        for name in names
        if name.endswith((".json", ".hcl")) and os.path.isfile(os.path.join(path, name))
    ]


def _check(source, values, schema, prefix, warnings):
    """Check one source's keys and types against ``schema``; keys pyconsul
    ignores are removed from ``values`` after a warning."""
    for key, value in list(values.items()):
        path = prefix + key
        expected = schema.get(key)
        if expected is None:
            consul_only = (
                key in CONSUL_ONLY_KEYS
                if not prefix
                else key in CONSUL_ONLY_SUBKEYS.get(prefix.rstrip("."), ())
            )
            if consul_only:
                warnings.append(
                    "%s: %r is a Consul setting pyconsul does not support yet; it is ignored"
                    % (source.name, path)
                )
                del values[key]
                continue
            raise ConfigError("%s: unknown configuration key %r" % (source.name, path))
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise ConfigError("%s: %r must be %s" % (source.name, path, OBJECT))
            _check(source, value, expected, path + ".", warnings)
            continue
        ok = {
            BOOL: isinstance(value, bool),
            INT: isinstance(value, int) and not isinstance(value, bool),
            STR: isinstance(value, str),
            STR_LIST: isinstance(value, list) and all(isinstance(v, str) for v in value),
            STR_MAP: isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
            DURATION: _is_duration(value),
            DURATION_OR_ZERO: _is_duration(value, allow_zero=True),
            DURATION_MAP: isinstance(value, dict)
            and all(_is_duration(v, allow_zero=True) for v in value.values()),
            OBJECT_LIST: isinstance(value, list) and all(isinstance(v, dict) for v in value),
            NUMBER: isinstance(value, (int, float)) and not isinstance(value, bool),
        }[expected]
        if not ok:
            raise ConfigError(
                "%s: %r must be %s, not %s" % (source.name, path, expected, json.dumps(value))
            )


def _is_duration(value, allow_zero=False):
    if not isinstance(value, str):
        return False
    try:
        parsed = duration.parse_duration(value)
    except duration.DurationError:
        return False
    return parsed >= 0 if allow_zero else parsed > 0


def _merge(into, values):
    for key, value in values.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        elif isinstance(value, list):
            into[key] = list(into.get(key, [])) + value
        else:
            into[key] = value


def _origin(sources, path, entry=None):
    """The last source that set the dotted key ``path`` (to a list holding
    ``entry``, if given)."""
    for source in reversed(sources):
        node = source.values
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            if entry is None or (isinstance(node, list) and entry in node):
                return source.name
    return "the defaults"


# -- building the configuration ----------------------------------------------------


def build(flag_values, config_files=(), config_dirs=(), dev=False, hostname=None, fault_injection=False):
    """AgentConfig from flags (already in JSON shape) and config files.

    Returns ``(config, warnings)``; raises ConfigError.
    """
    warnings = []
    sources = []
    for path in config_files:
        sources.append(read_file(path))
    for path in config_dirs:
        sources.extend(read_dir(path))
    sources.append(Source("the command line", flag_values))
    # Imported here: the definitions report file errors as ConfigError.
    from pyconsul.agent.definitions import read_definitions

    services, checks = [], []
    for source in sources:
        found = read_definitions(
            {key: source.values.pop(key) for key in DEFINITION_KEYS if key in source.values}, source.name)
        services.extend(found.services)
        checks.extend(found.checks)
        warnings.extend(found.warnings)
        _check(source, source.values, KEYS, "", warnings)
        _fold_dns_keys(source.values)

    merged = {}
    _merge(merged, json.loads(json.dumps(DEFAULTS)))
    if dev:
        merged.update({k: v for k, v in DEV_DEFAULTS.items() if not isinstance(v, dict)})
        _merge(merged, {k: v for k, v in DEV_DEFAULTS.items() if isinstance(v, dict)})
    for source in sources:
        _merge(merged, source.values)
    warnings.extend(_fold_ui_keys(merged))

    def origin(key, entry=None):
        return _origin(sources, key, entry)

    config = _finish(merged, dev, hostname, origin)
    config = attr.evolve(config, fault_injection=fault_injection, services=tuple(services), checks=tuple(checks))
    return config, warnings


def _fold_dns_keys(values):
    """One source's DNS keys in the shape that merges as Consul's do: the
    single ``recursor`` is one more entry after the source's ``recursors``
    (so every source's entries add up, in order), and service_ttl's names
    are lower case, as DNS questions are matched."""
    if "recursor" in values:
        values["recursors"] = list(values.get("recursors", [])) + [values.pop("recursor")]
    ttls = values.get("dns_config", {}).get("service_ttl")
    if ttls:
        values["dns_config"]["service_ttl"] = {name.lower(): ttl for name, ttl in ttls.items()}


def _fold_ui_keys(merged):
    """Consul's older top-level UI keys, used where ui_config does not say
    (so they lose to a ui_config key in any source); with its warnings."""
    ui_config = merged.setdefault("ui_config", {})
    warnings = []
    for old, new in (("ui", "enabled"), ("ui_content_path", "content_path")):
        if old in merged:
            warnings.append("The '%s' field is deprecated. Use the 'ui_config.%s' field instead." % (old, new))
            ui_config.setdefault(new, merged.pop(old))
    return warnings


def _ui_content_path(text, fail):
    """Consul's UIPathBuilder: one slash at each end ("ui" is "/ui/")."""
    if text == "":
        return "/ui/"
    inner = text.strip("/")
    if not inner:
        fail("ui_config.content_path", "must name a path such as /ui/, not only slashes")
    path = "/" + inner + "/"
    if path.startswith("/v1/"):
        fail("ui_config.content_path", "cannot be under /v1/, where the HTTP API is")
    return path


def _finish(merged, dev, hostname, origin):
    def fail(key, problem, entry=None):
        raise ConfigError("%s: %r %s" % (origin(key, entry), key, problem))

    ports = merged["ports"]
    for name, lowest in PORTS.items():
        port = ports[name]
        if not (lowest <= port <= 65535) or port == 0:
            allowed = "1 to 65535" + (", or -1 to disable" if lowest == -1 else "")
            fail("ports." + name, "must be a port number from %s, not %d" % (allowed, port))

    for key in ("bind_addr", "advertise_addr", "advertise_addr_wan"):
        if key in merged:
            _check_ip(merged[key], key, fail)
    client_addrs = tuple(merged["client_addr"].split())
    if not client_addrs:
        fail("client_addr", "must name at least one address")
    for address in client_addrs:
        _check_ip(address, "client_addr", fail)

    if merged["log_level"].lower() not in LOG_LEVELS:
        fail("log_level", "must be one of %s" % ", ".join(LOG_LEVELS))
    multiplier = merged["performance"]["raft_multiplier"]
    if not 1 <= multiplier <= 10:
        fail("performance.raft_multiplier", "must be from 1 to 10, not %d" % multiplier)
    if merged["bootstrap_expect"] < 0:
        fail("bootstrap_expect", "must not be negative")
    if merged["bootstrap"] and merged["bootstrap_expect"]:
        fail("bootstrap_expect", "cannot be used with bootstrap")
    if (merged["bootstrap"] or merged["bootstrap_expect"]) and not merged["server"]:
        fail("bootstrap" if merged["bootstrap"] else "bootstrap_expect", "needs server mode (-server)")
    for pool in ("gossip_lan", "gossip_wan"):
        for key, value in merged.get(pool, {}).items():
            if isinstance(value, int) and value < 1:
                fail(pool + "." + key, "must be at least 1")
    for key in ("start_join_wan", "retry_join_wan"):
        if merged.get(key) and not merged["server"]:
            fail(key, "needs server mode (-server): only servers are in the WAN pool")
    if merged.get("encrypt") is not None:
        _check_key(merged["encrypt"], fail)
    value_size = merged["limits"]["kv_max_value_size"]
    if value_size < 1:
        fail("limits.kv_max_value_size", "must be at least 1")
    if merged["limits"]["txn_max_req_len"] < 1:
        fail("limits.txn_max_req_len", "must be at least 1")
    coordinate = merged["consul"]["coordinate"]
    for key in ("update_batch_size", "update_max_batches"):
        if coordinate[key] < 1:
            fail("consul.coordinate." + key, "must be at least 1")
    if not merged["sync_coordinate_rate_target"] > 0:
        fail("sync_coordinate_rate_target", "must be more than 0")
    for key in ("raft_snapshot_threshold", "raft_trailing_logs", "check_output_max_size"):
        if merged[key] < 1:
            fail(key, "must be at least 1")
    for key in merged["node_meta"]:
        if key.startswith("consul-"):
            fail("node_meta", "key %r uses the prefix 'consul-', which is reserved for Consul's own" % key)

    datacenter = merged["datacenter"].lower()
    domain = _domain(merged["domain"], "domain", fail)
    alt_domain = _domain(merged["alt_domain"], "alt_domain", fail) if merged["alt_domain"] else ""
    if alt_domain and alt_domain.split(".")[0] in RESERVED_ALT_DOMAIN_LABELS + (datacenter,):
        fail("alt_domain", "cannot start with %s or the datacenter's name (%r): queries in the domain "
             "start that way" % (", ".join(RESERVED_ALT_DOMAIN_LABELS), datacenter))
    recursors = []
    for item in merged["recursors"]:
        for text in item.split():  # Consul splits entries at spaces
            recursor = _recursor(text, item, fail)
            if recursor not in recursors:
                recursors.append(recursor)
    dns = _dns_config(merged["dns_config"], fail)
    watches = _watches(merged.get("watches", ()), merged["ports"]["http"], fail)
    ui_content_path = _ui_content_path(merged["ui_config"].get("content_path", ""), fail)

    data_dir = merged.get("data_dir")
    if dev:
        data_dir = None  # -dev keeps everything in memory
    elif not data_dir:
        raise ConfigError("data_dir is required: set it with -data-dir or in a config file")
    else:
        data_dir = os.path.abspath(data_dir)
        _check_data_dir(data_dir, fail)

    node_name = merged.get("node_name") or hostname or socket.gethostname()
    if not node_name:
        fail("node_name", "is empty and the host name is unknown")
    bind = merged["bind_addr"]
    advertise = merged.get("advertise_addr") or (
        bind if not ipaddress.ip_address(bind).is_unspecified else _private_address()
    )
    leave_on_terminate = merged.get("leave_on_terminate")
    skip_leave = merged.get("skip_leave_on_interrupt")
    return AgentConfig(
        node_name=node_name,
        node_id=merged.get("node_id") or _node_id(data_dir),
        datacenter=datacenter,
        data_dir=data_dir,
        server=merged["server"],
        bootstrap=merged["bootstrap"],
        bootstrap_expect=merged["bootstrap_expect"],
        dev=dev,
        bind_addr=bind,
        advertise_addr=advertise,
        client_addrs=client_addrs,
        ports=Ports(**ports),
        retry_join=tuple(merged["retry_join"]),
        start_join=tuple(merged["start_join"]),
        log_level=merged["log_level"].lower(),
        raft_multiplier=multiplier,
        # Consul's per-mode defaults: clients leave on both signals,
        # servers on neither (so a restart keeps the quorum).
        leave_on_terminate=(not merged["server"]) if leave_on_terminate is None else leave_on_terminate,
        skip_leave_on_interrupt=merged["server"] if skip_leave is None else skip_leave,
        encrypt=merged.get("encrypt"),
        kv_max_value_size=value_size,
        txn_max_req_len=merged["limits"]["txn_max_req_len"],
        raft_snapshot_threshold=merged["raft_snapshot_threshold"],
        raft_trailing_logs=merged["raft_trailing_logs"],
        node_meta=dict(merged["node_meta"]),
        enable_script_checks=merged["enable_script_checks"],
        enable_local_script_checks=merged["enable_local_script_checks"],
        check_update_interval=duration.parse_duration(merged["check_update_interval"]) / duration.SECOND,
        check_output_max_size=merged["check_output_max_size"],
        domain=domain,
        alt_domain=alt_domain,
        recursors=tuple(recursors),
        dns=dns,
        watches=watches,
        disable_coordinates=merged["disable_coordinates"],
        coordinate_update_period=duration.parse_duration(coordinate["update_period"]) / duration.SECOND,
        coordinate_update_batch_size=coordinate["update_batch_size"],
        coordinate_update_max_batches=coordinate["update_max_batches"],
        sync_coordinate_interval_min=duration.parse_duration(merged["sync_coordinate_interval_min"])
        / duration.SECOND,
        sync_coordinate_rate_target=float(merged["sync_coordinate_rate_target"]),
        ui_enabled=merged["ui_config"].get("enabled", False),
        ui_content_path=ui_content_path,
        gossip_lan=_gossip_timings(merged.get("gossip_lan", {})),
        gossip_wan=_gossip_timings(merged.get("gossip_wan", {})),
        advertise_addr_wan=merged.get("advertise_addr_wan") or advertise,
        start_join_wan=tuple(merged.get("start_join_wan", ())),
        retry_join_wan=tuple(merged.get("retry_join_wan", ())),
        translate_wan_addrs=merged.get("translate_wan_addrs", False),
    )


def _gossip_timings(block):
    return {
        key: duration.parse_duration(value) / duration.SECOND if GOSSIP_KEYS[key] == DURATION else value
        for key, value in block.items()
    }


def _watches(entries, http_port, fail):
    """The watches, checked as Consul's agent checks them."""
    from pyconsul.watch.spec import WatchError, parse_agent_watch

    watches = []
    for entry in entries:
        try:
            watches.append(parse_agent_watch(json.loads(json.dumps(entry))))
        except WatchError as e:
            shown = json.dumps(entry)
            shown = shown if len(shown) <= 100 else shown[:97] + "..."
            fail("watches", "entry %s: %s" % (shown, e), entry)
    if watches and http_port == -1:
        fail("watches", "need the HTTP API, which watches talk to (watch plans require an HTTP or HTTPS "
             "endpoint), but ports.http is -1")
    return tuple(watches)


def _seconds(text):
    return duration.parse_duration(text) / duration.SECOND


def _domain(text, key, fail):
    """``text`` as a DNS zone: lower case, one trailing dot."""
    name = text.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        fail(key, "must name a DNS domain, such as \"consul\"")
    if len(name) > 253:
        fail(key, "is longer than a DNS name can be (253 characters)")
    for label in name.split("."):
        if not label:
            fail(key, "cannot be %r: a label is empty (two dots in a row, or a leading dot)" % text)
        if len(label) > 63:
            fail(key, "cannot be %r: a label is longer than 63 characters" % text)
        if not DOMAIN_LABEL_CHARACTERS.issuperset(label):
            fail(key, "cannot be %r: label %r has characters other than letters, digits, '-' and '_'"
                 % (text, label))
    return name + "."


def _recursor(text, entry, fail):
    """``ip``, ``ip:port``, ``[ipv6]:port`` or a bare IPv6 address as
    ``(ip, port)``; the port is 53 when not given."""
    host, port = text, 53
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            fail("recursors", "entry %r is not ip, ip:port or [ipv6]:port" % text, entry)
        if rest:
            port = _recursor_port(text, rest[1:], entry, fail)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _recursor_port(text, port_text, entry, fail)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        fail("recursors", "entry %r must be an IP address, optionally with a port (ip:port or "
             "[ipv6]:port): DNS recursors are reached by address, not host name" % text, entry)
    if address.is_unspecified:
        fail("recursors", "entry %r cannot be 0.0.0.0, :: or [::]" % text, entry)
    return (str(address), port)


def _recursor_port(text, port_text, entry, fail):
    if not (port_text.isdigit() and port_text.isascii() and 1 <= int(port_text) <= 65535):
        fail("recursors", "entry %r has a bad port: must be from 1 to 65535" % text, entry)
    return int(port_text)


def _dns_config(values, fail):
    for key in ("udp_answer_limit", "a_record_limit"):
        if values[key] < 0:
            fail("dns_config." + key, "cannot be %d: must not be negative" % values[key])
    soa = values["soa"]
    for key in ("refresh", "retry", "expire", "min_ttl"):
        if not 0 <= soa[key] <= SOA_MAX:
            fail("dns_config.soa." + key, "must be from 0 to %d, not %d" % (SOA_MAX, soa[key]))
    strategy = values["recursor_strategy"] or "sequential"  # Consul's default for ""
    if strategy not in RECURSOR_STRATEGIES:
        fail("dns_config.recursor_strategy",
             "must be %s, not %r" % (" or ".join(RECURSOR_STRATEGIES), strategy))
    return DNSConfig(
        allow_stale=values["allow_stale"],
        max_stale=_seconds(values["max_stale"]),
        node_ttl=_seconds(values["node_ttl"]),
        service_ttl={name: _seconds(ttl) for name, ttl in values["service_ttl"].items()},
        udp_answer_limit=values["udp_answer_limit"],
        a_record_limit=values["a_record_limit"],
        enable_truncate=values["enable_truncate"],
        only_passing=values["only_passing"],
        recursor_timeout=_seconds(values["recursor_timeout"]),
        recursor_strategy=strategy,
        disable_compression=values["disable_compression"],
        enable_additional_node_meta_txt=values["enable_additional_node_meta_txt"],
        soa_refresh=soa["refresh"],
        soa_retry=soa["retry"],
        soa_expire=soa["expire"],
        soa_min_ttl=soa["min_ttl"],
        use_cache=values["use_cache"],
        cache_max_age=_seconds(values["cache_max_age"]),
    )


def _check_ip(value, key, fail):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        fail(key, "must be an IP address, not %r" % value)


def _check_key(text, fail):
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        fail("encrypt", "is not valid base64 (make a key with `pyconsul keygen`)")
    if len(key) not in (16, 24, 32):
        fail("encrypt", "must decode to 16, 24 or 32 bytes, not %d (make one with `pyconsul keygen`)" % len(key))


def _check_data_dir(path, fail):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        fail("data_dir", "cannot be created at %s: %s" % (path, e.strerror))
    if not os.path.isdir(path):
        fail("data_dir", "%s is not a directory" % path)
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        fail("data_dir", "%s is not readable and writable by this user" % path)


def _node_id(data_dir):
    """A node's ID is generated once and kept in the data dir, as Consul does."""
    if data_dir is None:
        return str(uuid.uuid4())
    path = os.path.join(data_dir, "node-id")
    try:
        with open(path) as f:
            existing = f.read().strip()
        uuid.UUID(existing)
        return existing
    except FileNotFoundError:
        pass
    except ValueError:
        raise ConfigError("%s does not hold a node ID (a UUID); remove it to make a new one" % path)
    node_id = str(uuid.uuid4())
    with open(path, "w") as f:
        f.write(node_id)
    return node_id


def _private_address():
    """The address other hosts see us by, when bound to 0.0.0.0.

    Connecting a UDP socket sends nothing; it only makes the kernel pick
    the source address it would route from.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


# -- flags ----------------------------------------------------------------------------


@attr.s(frozen=True, slots=True)
class AgentFlag:
    """A command-line option of the agent: ``twistd pyconsul --name`` and
    ``pyconsul agent -name`` both come from this table."""

    name: str = attr.ib()
    kind: str = attr.ib()  # BOOL, INT, STR or STR_LIST
    key: str | None = attr.ib()  # dotted config key it sets; None if special
    help: str = attr.ib()


AGENT_FLAGS = (
    AgentFlag("dev", BOOL, None, "Run a single in-memory server for development."),
    AgentFlag("server", BOOL, "server", "Run the agent as a server."),
    AgentFlag("bootstrap", BOOL, "bootstrap", "Let this server elect itself leader."),
    AgentFlag("bootstrap-expect", INT, "bootstrap_expect", "Servers to wait for before bootstrapping."),
    AgentFlag("data-dir", STR, "data_dir", "Directory for the agent's durable state."),
    AgentFlag("node", STR, "node_name", "This node's name (default: the host name)."),
    AgentFlag("node-id", STR, "node_id", "This node's unique ID, a UUID (default: generated)."),
    AgentFlag("datacenter", STR, "datacenter", "The datacenter this agent runs in."),
    AgentFlag("bind", STR, "bind_addr", "Address for cluster communication."),
    AgentFlag("advertise", STR, "advertise_addr", "Address other nodes should use to reach this one."),
    AgentFlag("client", STR, "client_addr", "Address(es) for the HTTP and DNS interfaces."),
    AgentFlag("http-port", INT, "ports.http", "HTTP API port."),
    AgentFlag("dns-port", INT, "ports.dns", "DNS port."),
    AgentFlag("domain", STR, "domain", "Domain the DNS interface answers for (default: consul)."),
    AgentFlag("alt-domain", STR, "alt_domain", "A second domain the DNS interface answers for."),
    AgentFlag("recursor", STR_LIST, "recursors", "Upstream DNS server, ip or ip:port (repeatable)."),
    AgentFlag("server-port", INT, "ports.server", "Server RPC and Raft port."),
    AgentFlag("serf-lan-port", INT, "ports.serf_lan", "LAN gossip port."),
    AgentFlag("serf-wan-port", INT, "ports.serf_wan", "WAN gossip port."),
    AgentFlag("join", STR_LIST, "start_join", "Address of an agent to join at start (repeatable)."),
    AgentFlag("retry-join", STR_LIST, "retry_join", "Address to join, retried until it works (repeatable)."),
    AgentFlag("advertise-wan", STR, "advertise_addr_wan",
              "Address other datacenters reach this agent at: a server's WAN pool address, and the node's wan "
              "address (given to other datacenters with translate_wan_addrs)."),
    AgentFlag("join-wan", STR_LIST, "start_join_wan",
              "Address of a server of another datacenter to join in the WAN pool at start (repeatable)."),
    AgentFlag("retry-join-wan", STR_LIST, "retry_join_wan",
              "Address to join in the WAN pool, retried until it works (repeatable)."),
    AgentFlag("encrypt", STR, "encrypt", "Gossip encryption key (base64 of 32 bytes)."),
    AgentFlag("log-level", STR, "log_level", "trace, debug, info, warn or error."),
    AgentFlag("node-meta", STR_LIST, None, "Node metadata as key:value (repeatable)."),
    AgentFlag("enable-script-checks", BOOL, "enable_script_checks",
              "Run script checks, including those registered over HTTP (careful: anyone who can reach "
              "the HTTP API can then run commands)."),
    AgentFlag("enable-local-script-checks", BOOL, "enable_local_script_checks",
              "Run script checks defined in configuration files only."),
    AgentFlag("ui", BOOL, "ui_config.enabled", "Serve the web UI on the HTTP port (at /ui/)."),
    AgentFlag("ui-content-path", STR, "ui_config.content_path",
              "The path the web UI is served under (default: /ui/)."),
    AgentFlag("config-file", STR_LIST, None, "A JSON configuration file (repeatable)."),
    AgentFlag("config-dir", STR_LIST, None, "A directory of JSON configuration files (repeatable)."),
    AgentFlag(
        "enable-fault-injection",
        BOOL,
        None,
        "For tests: accept PUT /v1/debug/faults, which cuts this agent off from given hosts.",
    ),
)


def build_from_flags(values, hostname=None):
    """AgentConfig from parsed flags: ``{flag name: value}`` for flags given."""
    overlay = {}
    for flag in AGENT_FLAGS:
        if flag.key is None or flag.name not in values:
            continue
        node = overlay
        *parents, leaf = flag.key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = list(values[flag.name]) if flag.kind == STR_LIST else values[flag.name]
    for item in values.get("node-meta", ()):
        key, colon, value = item.partition(":")
        if not colon:
            raise ConfigError("-node-meta %r: expected key:value" % item)
        overlay.setdefault("node_meta", {})[key] = value
    return build(
        overlay,
        config_files=values.get("config-file", ()),
        config_dirs=values.get("config-dir", ()),
        dev=bool(values.get("dev")),
        hostname=hostname,
        fault_injection=bool(values.get("enable-fault-injection")),
    )
