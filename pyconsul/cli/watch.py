"""``pyconsul watch``: Consul's watch command.

    pyconsul watch -type=key -key=app/config
    pyconsul watch -type=service -service=web -tag=v2 -passingonly=true ./reload.sh
    pyconsul watch -type=checks -state=critical -shell=false /usr/local/bin/page-me

Without a handler the current value of the view is printed (Go's indented
JSON) and the command exits 0. With one, the handler runs on the first
answer and again whenever the view changes, with the view's JSON on its
standard input and ``CONSUL_INDEX`` in its environment; the command waits
for each run and goes on watching until it is interrupted (exit 0) or a
handler fails (exit 1). The handler's words are joined and run with
``$SHELL -c`` (``/bin/sh`` without SHELL), or with ``-shell=false`` run as
a program and its arguments.

Flags, messages and exit statuses are Consul 1.10's; the parameters are
checked by :mod:`pyconsul.watch.spec` (the same rules as the agent's
``watches``) and the watching is :mod:`pyconsul.cli.watchloop`.
"""

import dataclasses

from pyconsul.cli import http
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag, StringFlag, StringListFlag
from pyconsul.cli.httpflags import CLIENT_FLAGS, SERVER_FLAGS, client_config
from pyconsul.golang import strconv

WATCH_FLAGS = (
    StringFlag("type", "The view to watch: key, keyprefix, services, nodes, service, checks or event. "
               "Required."),
    StringFlag("key", "The key to watch; only for the 'key' type."),
    StringFlag("prefix", "The key prefix to watch; only for the 'keyprefix' type."),
    StringFlag("service", "The service to watch: required for the 'service' type, optional for "
               "'checks' (only that service's checks)."),
    StringListFlag("tag", "Only instances with this tag; for the 'service' type. May be given more "
                   "than once: instances must have every tag.", placeholder="value"),
    StringFlag("passingonly", "Only instances whose checks all pass; for the 'service' type, "
               "true or false. The default is false.", placeholder="[true|false]"),
    BoolFlag("shell", "Join the handler's words and run them with the shell ($SHELL -c, or /bin/sh); "
             "with -shell=false the first word is the program and the rest its arguments.",
             default=True),
    StringFlag("state", "Only checks in this state (any, passing, warning, critical); for the "
               "'checks' type, instead of -service."),
    StringFlag("name", "Only events of this name; for the 'event' type."),
)

# flag -> watch parameter, for the flags passed on only when not empty
_STRING_PARAMS = ("key", "prefix", "service", "state", "name")


class WatchCommand(Command):
    synopsis = "Watches a view of the data and runs a handler when it changes"
    usage = """
Usage: {prog} watch [options] [child...]

  Follows one view of Consul's data (a key, a key prefix, the services or
  nodes of the catalog, the instances of a service, health checks, or user
  events) with blocking queries.

  Without a child command the current value of the view is printed as
  JSON and the command ends. With one, the child runs on the first answer
  and again every time the view changes, with the view as JSON on its
  standard input and the index of the answer in CONSUL_INDEX; the watch
  goes on until interrupted, or until a run of the child fails.

  -type is required; the other options depend on it.

      $ {prog} watch -type=key -key=app/config
      $ {prog} watch -type=service -service=web -passingonly=true ./update-lb.sh
      $ {prog} watch -type=checks -state=critical "logger -t consul-critical"
"""
    flag_groups = (WATCH_FLAGS, CLIENT_FLAGS, SERVER_FLAGS)

    def execute(self, parsed, console):
        if not parsed.type:
            console.err("Watch type must be specified")
            console.err("")
            console.err(self.help_text())
            return 1
        config = client_config(parsed, console.environ)
        try:
            client = http.Client(config, transport=console.transport)
        except http.ConfigError as error:
            console.err(str(error))
            return 1
        try:
            params = watch_params(parsed, client)
        except strconv.NumError as error:
            console.err("Failed to parse passingonly flag: %s" % error)
            return 1

        from pyconsul.watch.spec import WatchError, parse

        try:
            query = parse(params).query
        except WatchError as error:
            console.err(str(error))
            return 1
        if query.type.startswith(("connect_", "agent_")):
            console.err("Type %s is not supported in the CLI tool" % query.type)
            return 1
        # Before the watch starts: does an agent answer at all?
        try:
            answer = client.request("GET", "/v1/status/leader")
            if answer.status != 200:
                raise http.UnexpectedStatus(answer.status, answer.body)
        except http.ApiError as error:
            console.err("Error querying Consul agent: %s" % error)
            return 1
        from pyconsul.cli.watchloop import ChildHandler, PrintHandler, run_watch

        handler = ChildHandler(parsed.args, parsed.shell, console) if parsed.args else PrintHandler(console)
        return run_watch(query, watch_client(config, console), handler, console)


def watch_params(parsed, client):
    """The parameters Consul's watch command builds from its flags (the
    token as the client resolved it: -token-file wins). Raises NumError for
    a -passingonly that is not a boolean."""
    params = {"type": parsed.type}
    if client.config.datacenter:
        params["datacenter"] = client.config.datacenter
    if client.token:
        params["token"] = client.token
    for name in _STRING_PARAMS:
        if getattr(parsed, name):
            params[name] = getattr(parsed, name)
    if parsed.tag:
        params["tag"] = list(parsed.tag)
    if parsed.stale:
        params["stale"] = True
    if parsed.passingonly:
        params["passingonly"] = strconv.parse_bool(parsed.passingonly)
    return params


def watch_client(config, console):
    """A client for the watch's own requests: the query adds the
    datacenter, stale and token itself, as Consul's plan does."""
    bare = dataclasses.replace(config, datacenter="", stale=False, token="", token_file="")
    return http.Client(bare, transport=console.transport)


command = WatchCommand()
