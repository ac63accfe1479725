"""``pyconsul template``: confd's renderer, fed by Consul's KV store.

The flags are confd's (``-confdir``, ``-config-file``, ``-onetime``,
``-interval``, ``-watch``, ``-node``, ``-backend``, ``-prefix``, ``-noop``,
``-sync-only``, ``-keep-stage-file``, ``-log-level``, ``-scheme``), so a
confd command line works unchanged:

    pyconsul template -confdir ./ -interval 2 -backend consul -node localhost:8500

Only flags given on the command line win over the config file; the rest of
the work (and Twisted) is in ``pyconsul.template.app``, imported when the
command runs.
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
               "The default is info."),
    StringFlag("scheme", "Scheme for nodes given without one: http or https.", default="http"),
    StringFlag("wait", "Quiescence in watch mode, as consul-template's -wait=MIN[:MAX]: render "
               "once no change has come for MIN, and at most MAX after the first change of a "
               "burst; MAX is 4 x MIN if not given (-wait=2s means 2s:8s). Without it (or "
               "with a MIN of 0) a change is rendered as soon as it is seen.",
               placeholder="min[:max]"),
)

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
    synopsis = "Renders files from the KV store with confd's templates"
    usage = """
Usage: {prog} template [options]

  Keeps files generated from Consul's key/value store, with confd's
  configuration unchanged: resources in CONFDIR/conf.d/*.toml name a
  template in CONFDIR/templates, a destination, the keys it reads and
  the commands that check and reload the program that uses it.

  By default the store is watched with blocking queries and a file is
  rendered again as soon as a change comes back, with no waiting;
  -wait=min[:max] makes it wait for the store to be quiet first, as
  consul-template's -wait. -interval polls instead, as confd does, and
  -onetime renders once and exits.

      $ {prog} template -confdir /etc/confd -node 127.0.0.1:8500
      $ {prog} template -confdir ./ -interval 2 -backend consul -node localhost:8500
      $ {prog} template -onetime -noop -confdir ./
      $ {prog} template -confdir /etc/confd -wait=2s:10s
"""
    flag_groups = (TEMPLATE_FLAGS,)

    def execute(self, parsed, console):
        if self.refuse_arguments(parsed, console):
            return 1
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


command = TemplateCommand()
