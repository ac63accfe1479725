"""``pyconsul template``: confd's renderer, or consul-template's, fed by
Consul's KV store and catalog.

Two command shapes, so that a command line of either tool works unchanged:

* confd's flags (``-confdir``, ``-config-file``, ``-onetime``,
  ``-interval``, ``-watch``, ``-node``, ``-backend``, ``-prefix``,
  ``-noop``, ``-sync-only``, ``-keep-stage-file``, ``-log-level``,
  ``-scheme``), with conf.d resources:

      pyconsul template -confdir ./ -interval 2 -backend consul -node localhost:8500

  Only flags given on the command line win over the config file.
* consul-template's (``-template in:out[:command]``, repeatable,
  ``-consul-addr``, ``-once``, ``-dry``, ``-wait``, ``-log-level``), chosen
  by any of its own flags:

      pyconsul template -template "in.tmpl:out.conf:service nginx reload" -once

The two do not mix. The rest of the work (and Twisted) is in
``pyconsul.template.app``, imported when the command runs.
"""

from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag, IntFlag, StringFlag, StringListFlag

DEFAULT_CONFDIR = "/etc/confd"
DEFAULT_CONFIG_FILE = "/etc/confd/confd.toml"

TEMPLATE_FLAGS = (
    StringFlag("confdir", "Directory holding conf.d/*.toml (template resources) and "
               "templates/*.tmpl.", default=DEFAULT_CONFDIR),
    StringFlag("config-file", "confd's TOML configuration file (backend, nodes, prefix, interval, "
               "watch, noop, sync-only, log-level, confdir, keep-stage-file). The default one "
               "is read only if it exists.", default=DEFAULT_CONFIG_FILE),
    BoolFlag("onetime", "Render every template once and exit: status 0, or 1 if anything failed."),
    IntFlag("interval", "Poll the KV store every this many seconds instead of watching it.",
            default=600),
    BoolFlag("watch", "Watch the KV store with blocking queries and render as soon as something "
             "changes. This is the mode when -interval is not given."),
    StringListFlag("node", "Consul agent HTTP address: host:port, http://host:port or "
                   "https://host:port. May be repeated: when one cannot be reached the next "
                   "is tried. The default is 127.0.0.1:8500.", placeholder="address"),
    StringFlag("backend", "Where the data comes from; only consul is supported.", default="consul"),
    StringFlag("prefix", "Key prefix that replaces every resource's own prefix."),
    BoolFlag("noop", "Only show pending changes: render and compare, but write nothing."),
    BoolFlag("sync-only", "Write files but never run check_cmd or reload_cmd."),
    BoolFlag("keep-stage-file", "Keep the staged files next to their destinations."),
    StringFlag("log-level", "Least important level to log: debug, info, warn, error, fatal. "
               "The default is info; in consul-template's shape the levels are trace, debug, "
               "info, warn and err, and the default is warn."),
    StringFlag("scheme", "Scheme for nodes given without one: http or https.", default="http"),
    StringFlag("wait", "Quiescence in watch mode, as consul-template's -wait=MIN[:MAX]: render "
               "once no change has come for MIN, and at most MAX after the first change of a "
               "burst; MAX is 4 x MIN if not given (-wait=2s means 2s:8s). Without it (or "
               "with a MIN of 0) a change is rendered as soon as it is seen.",
               placeholder="min[:max]"),
    StringListFlag("template", "consul-template's shape: a template to render, as "
                   "in:out[:command] -- the template file, the file to write and a command to "
                   "run (with /bin/sh -c) when the file changed. May be repeated. No conf.d is "
                   "read; a template error or a failing command ends the run (exit 14), as "
                   "consul-template's do.", placeholder="in:out[:command]"),
    StringFlag("consul-addr", "consul-template's shape: the Consul agent's HTTP address, "
               "host:port or http(s)://host:port. The default is $CONSUL_HTTP_ADDR, else "
               "127.0.0.1:8500.", placeholder="address"),
    BoolFlag("once", "consul-template's shape: render every template once (waiting for the "
             "data each needs) and exit 0."),
    BoolFlag("dry", "consul-template's shape: print each rendered template to stdout, after a "
             "'> destination' line, instead of writing it; run no command."),
)

# Flags only consul-template's shape has, and only confd's shape has.
CONSUL_TEMPLATE_ONLY = ("template", "consul-addr", "once", "dry")
CONFD_ONLY = ("confdir", "config-file", "onetime", "interval", "watch", "node", "backend", "prefix",
              "noop", "sync-only", "keep-stage-file", "scheme")

# flag name -> option name in pyconsul.template.runconfig
_OPTIONS = {
    "confdir": "confdir",
    "onetime": "onetime",
    "interval": "interval",
    "watch": "watch",
    "node": "nodes",
    "backend": "backend",
    "prefix": "prefix",
    "noop": "noop",
    "sync-only": "sync_only",
    "keep-stage-file": "keep_stage_file",
    "log-level": "log_level",
    "scheme": "scheme",
    "wait": "wait",
}


def given_options(parsed):
    """The options set on the command line, by option name."""
    return {
        option: getattr(parsed, flag.replace("-", "_"))
        for flag, option in _OPTIONS.items()
        if parsed.is_set(flag)
    }


class TemplateCommand(Command):
    synopsis = "Renders files from the KV store and the catalog, as confd or consul-template"
    usage = """
Usage: {prog} template [options]

  Keeps files generated from Consul's key/value store and catalog, with
  confd's configuration, or consul-template's command line, unchanged.
  Templates are Go templates with confd's functions and consul-template's
  (key, keyOrDefault, tree, service, services, nodes, node, byTag, in,
  containsAll ...).

  confd's shape: resources in CONFDIR/conf.d/*.toml name a template in
  CONFDIR/templates, a destination, the keys it reads and the commands
  that check and reload the program that uses it.

  consul-template's shape, chosen by -template, -once, -dry or
  -consul-addr: each -template in:out[:command] is one template, written
  as consul-template writes it; -once renders each once and exits.

  By default the store and the catalog are watched with blocking queries
  and a file is rendered again as soon as a change comes back, with no
  waiting; -wait=min[:max] makes it wait for them to be quiet first, as
  consul-template's -wait. -interval polls instead, as confd does, and
  -onetime renders once and exits.

      $ {prog} template -confdir /etc/confd -node 127.0.0.1:8500
      $ {prog} template -confdir ./ -interval 2 -backend consul -node localhost:8500
      $ {prog} template -onetime -noop -confdir ./
      $ {prog} template -confdir /etc/confd -wait=2s:10s
      $ {prog} template -template "haproxy.tmpl:/etc/haproxy/haproxy.cfg:systemctl reload haproxy"
      $ {prog} template -consul-addr 10.0.0.5:8500 -template in.tmpl:out.conf -once -dry
"""
    flag_groups = (TEMPLATE_FLAGS,)

    def execute(self, parsed, console):
        if self.refuse_arguments(parsed, console):
            return 1
        ct_flags = [f for f in CONSUL_TEMPLATE_ONLY if parsed.is_set(f)]
        if ct_flags:
            confd_flags = [f for f in CONFD_ONLY if parsed.is_set(f)]
            if confd_flags:
                console.err("Error: -%s is consul-template's shape and -%s is confd's; use one or the "
                            "other" % (ct_flags[0], confd_flags[0]))
                return 1
            return self.consul_template(parsed, console)
        from pyconsul.template.runconfig import RunConfigError, build_run_config

        try:
            config, warnings = build_run_config(
                given_options(parsed),
                config_file=parsed.config_file,
                config_file_given=parsed.is_set("config-file"),
                environ=console.environ,
            )
        except RunConfigError as error:
            console.err("Error: %s" % error)
            return 1
        for warning in warnings:
            console.err("Warning: %s" % warning)
        console.flush()
        from pyconsul.template.app import run

        return run(config, console.stderr)

    def consul_template(self, parsed, console):
        from pyconsul.template.ctconfig import TemplateFlagError, build_consul_template_config
        from pyconsul.template.runconfig import RunConfigError

        given = lambda flag: getattr(parsed, flag.replace("-", "_")) if parsed.is_set(flag) else None  # noqa: E731
        try:
            config = build_consul_template_config(
                parsed.template or (), address=given("consul-addr"), once=parsed.once, dry=parsed.dry,
                wait=given("wait"), log_level=given("log-level"), environ=console.environ)
        except TemplateFlagError as error:
            console.err(str(error))
            return 13  # consul-template's ExitCodeParseFlagsError
        except RunConfigError as error:
            console.err("Error: %s" % error)
            return 1
        console.flush()
        from pyconsul.template.app import run_consul_template

        return run_consul_template(config, console.stdout, console.stderr)


command = TemplateCommand()
