"""``pyconsul event``: fire a user event across the datacenter.

As ``consul event`` does: the filters are checked as Go regular expressions
before anything is sent, the agent is asked for its name first (so an agent
that cannot be reached is reported as such), then ``PUT
/v1/event/fire/<name>`` with the payload as the body, and the event's ID is
printed.
"""

from pyconsul.cli.agentlocal import LocalAgent
from pyconsul.cli.catalogapi import decode_answer
from pyconsul.cli.command import Command
from pyconsul.cli.flags import StringFlag
from pyconsul.cli.http import ApiError, UnexpectedStatus
from pyconsul.cli.httpflags import CLIENT_FLAGS, connect
from pyconsul.filter.regex import RegexError, compile as go_regexp
from pyconsul.golang import gostruct as go

EVENT = go.Struct("UserEvent", "api.UserEvent", [go.Field("ID", go.String())])


class Events:
    """The event call of Go's ``api`` package (``client.Event().Fire``)."""

    def __init__(self, client):
        self.client = client

    def fire(self, name, payload=None, node="", service="", tag=""):
        params = {key: value for key, value in (("node", node), ("service", service), ("tag", tag)) if value}
        response = self.client.request("PUT", "/v1/event/fire/" + name, params, body=payload,
                                       headers=[("Content-Type", "application/octet-stream")])
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        event = decode_answer(response.body, EVENT) or {}
        return event.get("ID") or ""


class EventCommand(Command):
    synopsis = "Fires a new user event"
    usage = """
Usage: {prog} event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.

      $ {prog} event -name=deploy v1.2.3
      $ {prog} event -name=restart -service='^web$' -tag=canary
"""
    flag_groups = (
        (
            StringFlag("name", "Name of the event."),
            StringFlag("node", "Regular expression to filter on node names."),
            StringFlag("service", "Regular expression to filter on service instances."),
            StringFlag("tag", "Regular expression to filter on service tags. Must be used with -service."),
        ),
        CLIENT_FLAGS,
    )

    def execute(self, parsed, console):
        if not parsed.name:
            return self._usage_error(console, "Event name must be specified")
        for kind in ("node", "service", "tag"):
            pattern = getattr(parsed, kind)
            if pattern:
                try:
                    go_regexp(pattern)
                except RegexError as error:
                    console.err("Failed to compile %s filter regexp: %s" % (kind, error))
                    return 1
        if parsed.tag and not parsed.service:
            console.err("Cannot provide tag filter without service filter.")
            return 1
        if len(parsed.args) > 1:
            return self._usage_error(console, "Too many command line arguments.")
        payload = parsed.args[0].encode("utf-8", "surrogateescape") if parsed.args else None

        agent = connect(LocalAgent, parsed, console)
        if agent is None:
            return 1
        try:
            agent.node_name()
        except ApiError as error:
            console.err("Error querying Consul agent: %s" % error)
            return 1
        try:
            event_id = Events(agent.client).fire(parsed.name, payload, parsed.node, parsed.service, parsed.tag)
        except ApiError as error:
            console.err("Error firing event: %s" % error)
            return 1
        console.out("Event ID: %s" % event_id)
        return 0

    def _usage_error(self, console, message):
        console.err(message)
        console.err()
        console.err(self.help_text())
        return 1


command = EventCommand()
