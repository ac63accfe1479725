"""What ``pyconsul template`` runs with: confd's options, from its TOML
configuration file and from the command line.

confd reads ``-config-file`` (``/etc/confd/confd.toml`` unless told
otherwise; a missing default file is simply skipped), then lets every flag
given on the command line win over the file. The file's keys are confd's::

    backend = "consul"
    nodes = ["127.0.0.1:8500"]
    prefix = "/production"
    interval = 60
    watch = true
    noop = false
    sync-only = false
    log-level = "debug"
    confdir = "/etc/confd"
    keep-stage-file = false

confd spells the last one ``keepstagefile`` in practice (its struct field
has no TOML name, so any capitalisation of the field name works); both are
accepted. Keys confd knows but that mean nothing for Consul here (TLS client
files, Vault and etcd credentials ...) are reported as warnings, not errors,
so a confd.toml can be used unchanged.

Quiescence is consul-template's ``-wait=MIN[:MAX]``, a command-line flag
only (confd has nothing like it): without it, watch mode renders a change as
soon as it is seen.

Everything is checked up front: a wrong value is a :class:`RunConfigError`
that names the file and the key, or the flag.
"""

import os
import tomllib

import attr

from pyconsul.golang import duration
from pyconsul.template.consul import NodeAddressError, parse_node
from pyconsul.template.resource import Settings

DEFAULT_CONFDIR = "/etc/confd"
DEFAULT_CONFIG_FILE = "/etc/confd/confd.toml"
DEFAULT_NODE = "127.0.0.1:8500"
DEFAULT_INTERVAL = 600  # seconds, as confd
BACKEND = "consul"

# logrus's level names, which confd's -log-level takes.
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


class RunConfigError(Exception):
    """An option is wrong; ``str()`` says where and why."""


@attr.s(frozen=True, slots=True)
class RunConfig:
    """Everything a run needs, checked."""

    confdir: str = attr.ib(default=DEFAULT_CONFDIR)
    backend: str = attr.ib(default=BACKEND)
    nodes: tuple = attr.ib(default=(DEFAULT_NODE,), converter=tuple)
    scheme: str = attr.ib(default="http")
    prefix: str = attr.ib(default="")
    interval: int = attr.ib(default=DEFAULT_INTERVAL)
    watch: bool = attr.ib(default=True)
    onetime: bool = attr.ib(default=False)
    noop: bool = attr.ib(default=False)
    sync_only: bool = attr.ib(default=False)
    keep_stage_file: bool = attr.ib(default=False)
    log_level: str = attr.ib(default="info")
    # Quiescence (-wait), off unless quiet_min > 0: render once no change
    # came for quiet_min seconds, and at most quiet_max seconds after the
    # first change of a burst.
    quiet_min: float = attr.ib(default=0.0)
    quiet_max: float = attr.ib(default=0.0)
    token: str = attr.ib(default="")

    @property
    def mode(self):
        """"onetime", "watch" (blocking queries) or "interval" (polling)."""
        if self.onetime:
            return "onetime"
        return "watch" if self.watch else "interval"

    @property
    def quiescence(self):
        """``(min, max)`` seconds if -wait asks for quiescence, else None:
        a change is then rendered as soon as it is seen."""
        return (self.quiet_min, self.quiet_max) if self.quiet_min > 0 else None

    @property
    def settings(self):
        """The resource settings (pyconsul.template.Settings)."""
        return Settings(
            confdir=self.confdir,
            prefix=self.prefix,
            noop=self.noop,
            sync_only=self.sync_only,
            keep_stage_file=self.keep_stage_file,
        )


# -- the configuration file ----------------------------------------------------------

# TOML key -> (option name, kind)
_FILE_KEYS = {
    "backend": ("backend", str),
    "nodes": ("nodes", list),
    "scheme": ("scheme", str),
    "prefix": ("prefix", str),
    "interval": ("interval", int),
    "watch": ("watch", bool),
    "noop": ("noop", bool),
    "sync-only": ("sync_only", bool),
    "log-level": ("log_level", str),
    "confdir": ("confdir", str),
    "keep-stage-file": ("keep_stage_file", bool),
    "keepstagefile": ("keep_stage_file", bool),
}

# confd keys that have no meaning for this renderer.
_IGNORED_KEYS = {
    "auth_token", "auth_type", "basic_auth", "client_cakeys", "client_cert", "client_key",
    "username", "password", "table", "separator", "app_id", "user_id", "role_id",
    "secret_id", "file", "filter", "secret_keyring", "srv_domain", "srv_record", "role",
}

_KIND_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list of strings"}


def _is_kind(value, kind):
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, kind)


def read_config_file(path):
    """confd.toml's options: ``({option: value}, [warning, ...])``.

    Raises RunConfigError for an unreadable file, bad TOML or a value of the
    wrong type.
    """
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except OSError as e:
        raise RunConfigError(f"cannot read config file {path}: {e.strerror or e}")
    except tomllib.TOMLDecodeError as e:
        raise RunConfigError(f"config file {path}: {e}")
    options, warnings = {}, []
    for key, value in document.items():
        known = _FILE_KEYS.get(key) or _FILE_KEYS.get(key.lower().replace("_", ""))
        if known is None:
            if key.lower() in _IGNORED_KEYS:
                warnings.append(f"config file {path}: {key} is not used with the consul backend; ignored")
            else:
                warnings.append(f"config file {path}: unknown key {key!r} ignored")
            continue
        option, kind = known
        if not _is_kind(value, kind):
            raise RunConfigError(f"config file {path}: {key} must be {_KIND_NAMES[kind]}, not {value!r}")
        options[option] = value
    return options, warnings


# -- putting it together ----------------------------------------------------------------


def parse_wait(text):
    """``MIN`` or ``MIN:MAX`` (Go durations) -> (min, max) in seconds.

    As consul-template's ``-wait``: without MAX a burst may delay a render
    by at most four times MIN, and a MIN of 0 turns quiescence off.
    """
    parts = [part.strip() for part in text.strip().split(":")]
    if len(parts) > 2:
        raise RunConfigError(f"-wait {text!r}: expected MIN or MIN:MAX")
    try:
        low = duration.parse_duration(parts[0]) / duration.SECOND
        high = duration.parse_duration(parts[1]) / duration.SECOND if len(parts) == 2 else low * 4
    except duration.DurationError as e:
        raise RunConfigError(f"-wait {text!r}: {e}")
    if low < 0 or high < low:
        raise RunConfigError(f"-wait {text!r}: need 0 <= MIN <= MAX")
    return low, high


def _check(options):
    backend = options.get("backend", BACKEND)
    if backend != BACKEND:
        raise RunConfigError(
            f'backend "{backend}" is not supported: pyconsul template reads Consul\'s '
            f"key/value store (use -backend consul, or leave it out)"
        )
    if options.get("interval", DEFAULT_INTERVAL) < 1:
        raise RunConfigError(f"interval must be at least 1 second, not {options['interval']}")
    level = options.get("log_level", "") or "info"
    if level.lower() not in LOG_LEVELS:
        raise RunConfigError(f'not a valid level: "{level}"')
    scheme = options.get("scheme", "http")
    if scheme not in ("http", "https"):
        raise RunConfigError(f'scheme must be "http" or "https", not "{scheme}"')
    if "nodes" in options and not options["nodes"]:
        raise RunConfigError("nodes is empty: give at least one Consul agent address")
    for node in options.get("nodes", ()):
        try:
            parse_node(node, scheme)
        except NodeAddressError as e:
            raise RunConfigError(str(e))


def build_run_config(flags, config_file=DEFAULT_CONFIG_FILE, config_file_given=False, environ=None):
    """The RunConfig for ``flags`` (only the options given on the command
    line, by option name) laid over the config file's options.

    Returns ``(RunConfig, warnings)``. The default config file may be
    missing; one named with ``-config-file`` must exist.
    """
    environ = os.environ if environ is None else environ
    options, warnings = {}, []
    if config_file_given or os.path.exists(config_file):
        options, warnings = read_config_file(config_file)
    options.update(flags)
    _check(options)
    # Polling only when asked for: an interval and no watch, from either source.
    if "watch" not in options:
        options["watch"] = "interval" not in options
    if "wait" in options:
        options["quiet_min"], options["quiet_max"] = parse_wait(options.pop("wait"))
    nodes = options.pop("nodes", None) or [DEFAULT_NODE]
    level = (options.pop("log_level", "") or "info").lower()
    config = RunConfig(
        nodes=nodes,
        log_level=level,
        token=environ.get("CONSUL_HTTP_TOKEN", ""),
        **options,
    )
    return config, warnings
