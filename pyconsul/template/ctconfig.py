"""consul-template's command shape: ``-template "in:out[:command]"``.

``pyconsul template -template in.tmpl:out.conf:"reload cmd" -once`` runs
as consul-template would, without conf.d: each ``-template`` flag is one
template, with consul-template's way of splitting the flag (a Windows-style
drive letter ``C:`` stays with its path, and everything after the second
colon is the command, colons included). The flags are consul-template's:
``-template`` (repeatable), ``-consul-addr``, ``-once``, ``-dry``,
``-wait=min[:max]`` and ``-log-level`` (``trace``, ``debug``, ``info``,
``warn`` -- the default, as consul-template's -- or ``err``).
"""

import os
import re

import attr

from pyconsul.golang import strconv
from pyconsul.template.consul import NodeAddressError, parse_node
from pyconsul.template.runconfig import RunConfigError, parse_wait

DEFAULT_ADDRESS = "127.0.0.1:8500"
DEFAULT_LOG_LEVEL = "warn"
LOG_LEVELS = ("trace", "debug", "info", "warn", "err")

# consul-template's configTemplateRe: a drive letter belongs to its path.
_PART = re.compile(r"([a-zA-Z]:)?([^:]+)")


class TemplateFlagError(RunConfigError):
    """A -template value consul-template would refuse."""


@attr.s(frozen=True, slots=True)
class TemplateSpec:
    """One ``-template``: where the template is, where it goes, what runs after."""

    source = attr.ib()
    destination = attr.ib(default="")
    command = attr.ib(default="")

    def display(self):
        """consul-template's Display(): ``"in.tmpl" => "out.conf"``."""
        return f"{strconv.quote(self.source)} => {strconv.quote(self.destination)}"


def parse_template_flag(text):
    """consul-template's ParseTemplateConfig: ``source[:destination[:command]]``."""
    if not text.strip():
        raise TemplateFlagError("template: cannot be empty")
    parts = [m.group(0) for m in _PART.finditer(text)]
    if not parts:
        raise TemplateFlagError("template: cannot be empty")
    source, destination, command = (parts + ["", ""])[:3]
    if len(parts) > 3:
        command = ":".join(parts[2:])
    return TemplateSpec(source, destination, command)


@attr.s(frozen=True, slots=True)
class ConsulTemplateConfig:
    """A checked consul-template command line."""

    templates = attr.ib(converter=tuple, default=())
    address = attr.ib(default=DEFAULT_ADDRESS)
    once = attr.ib(default=False)
    dry = attr.ib(default=False)
    quiet_min = attr.ib(default=0.0)
    quiet_max = attr.ib(default=0.0)
    log_level = attr.ib(default=DEFAULT_LOG_LEVEL)
    token = attr.ib(default="")

    @property
    def quiescence(self):
        return (self.quiet_min, self.quiet_max) if self.quiet_min > 0 else None

    @property
    def node(self):
        return parse_node(self.address)


def build_consul_template_config(templates, address=None, once=False, dry=False, wait=None,
                                 log_level=None, environ=None):
    """The config for these flag values (None: not given). Raises RunConfigError."""
    environ = os.environ if environ is None else environ
    specs = [parse_template_flag(t) for t in templates]
    address = address if address is not None else environ.get("CONSUL_HTTP_ADDR") or DEFAULT_ADDRESS
    try:
        parse_node(address)
    except NodeAddressError as e:
        raise RunConfigError(f"-consul-addr: {e}")
    level = (log_level or DEFAULT_LOG_LEVEL).lower()
    if level not in LOG_LEVELS:
        raise RunConfigError(f'-log-level "{log_level}": expected one of {", ".join(LOG_LEVELS)}')
    quiet_min, quiet_max = parse_wait(wait) if wait is not None else (0.0, 0.0)
    return ConsulTemplateConfig(specs, address, once, dry, quiet_min, quiet_max, level,
                                environ.get("CONSUL_HTTP_TOKEN", ""))
