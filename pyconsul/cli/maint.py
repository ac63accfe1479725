"""``pyconsul maint``: node and service maintenance mode.

Consul 1.10's behaviour, which scripts rely on:

* ``-enable`` / ``-disable`` act on the whole node, or with ``-service=<id>``
  on one service; ``-reason`` only goes with ``-enable`` (the agent puts a
  default text in the check's notes when there is none);
* without either flag it lists what is in maintenance, from the agent's
  checks: ``_node_maintenance`` shows as a ``Node:`` block with the agent's
  node name, each ``_service_maintenance:<id>`` as a ``Service:`` block,
  each block followed by an empty line; nothing at all when nothing is in
  maintenance;
* the agent's node name is asked for (``/v1/agent/self``) before anything
  else, so an unreachable agent fails there: ``Error querying Consul agent``.

Consul prints the blocks in Go's random map order; pyconsul sorts them by
check ID, which puts the node first.
"""

from pyconsul.cli.agentlocal import LocalAgent
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag, StringFlag
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, connect
from pyconsul.golang.strconv import quote

NODE_CHECK = "_node_maintenance"
SERVICE_CHECK_PREFIX = "_service_maintenance:"


def conflict(parsed):
    """Consul's refusal of a flag combination, or None."""
    if parsed.enable and parsed.disable:
        return "Only one of -enable or -disable may be provided"
    if not parsed.enable and parsed.reason:
        return "Reason may only be provided with -enable"
    if not parsed.enable and not parsed.disable and parsed.service:
        return "Service requires either -enable or -disable"
    return None


def maintenance_listing(node_name, checks):
    """The lines the listing prints for the agent's checks."""
    lines = []
    for check_id in sorted(checks):
        check = checks[check_id]
        if check_id == NODE_CHECK:
            lines += ["Node:", "  Name:   " + node_name, "  Reason: " + check.get("Notes", ""), ""]
        elif check_id.startswith(SERVICE_CHECK_PREFIX):
            lines += ["Service:", "  ID:     " + check.get("ServiceID", ""),
                      "  Reason: " + check.get("Notes", ""), ""]
    return lines


class MaintCommand(Command):
    synopsis = "Puts the node or one of its services in maintenance mode"
    usage = """
Usage: {prog} maint [options]

  Takes the agent's node, or one of its services, out of service: the agent
  adds a critical check, so DNS and health queries stop returning it until
  maintenance is disabled. Maintenance survives an agent restart.

      $ {prog} maint -enable -reason="kernel upgrade"
      $ {prog} maint -enable -service=web-1
      $ {prog} maint -disable -service=web-1
      $ {prog} maint -disable

  Without -enable or -disable it shows what is in maintenance now, and
  prints nothing when nothing is.
"""
    flag_groups = (
        CLIENT_FLAGS,
        (
            BoolFlag("enable", "Turn maintenance mode on."),
            BoolFlag("disable", "Turn maintenance mode off."),
            StringFlag("reason", "Why, for the notes of the maintenance check (with -enable only)."),
            StringFlag("service", "Act on the service with this ID instead of the whole node."),
        ),
    )

    def execute(self, parsed, console):
        problem = conflict(parsed)
        if problem is not None:
            console.err(problem)
            return 1
        agent = connect(LocalAgent, parsed, console)
        if agent is None:
            return 1
        try:
            node_name = agent.node_name()
        except ApiError as error:
            console.err("Error querying Consul agent: %s" % error)
            return 1
        if parsed.enable:
            return self.enable(agent, parsed, console)
        if parsed.disable:
            return self.disable(agent, parsed, console)
        try:
            checks = agent.checks()
        except ApiError as error:
            console.err("Error getting checks: %s" % error)
            return 1
        for line in maintenance_listing(node_name, checks):
            console.out(line)
        return 0

    @staticmethod
    def enable(agent, parsed, console):
        try:
            if parsed.service:
                agent.enable_service_maintenance(parsed.service, parsed.reason)
            else:
                agent.enable_node_maintenance(parsed.reason)
        except ApiError as error:
            console.err("Error enabling %s maintenance: %s" % ("service" if parsed.service else "node", error))
            return 1
        if parsed.service:
            console.out("Service maintenance is now enabled for %s" % quote(parsed.service))
        else:
            console.out("Node maintenance is now enabled")
        return 0

    @staticmethod
    def disable(agent, parsed, console):
        try:
            if parsed.service:
                agent.disable_service_maintenance(parsed.service)
            else:
                agent.disable_node_maintenance()
        except ApiError as error:
            console.err("Error disabling %s maintenance: %s" % ("service" if parsed.service else "node", error))
            return 1
        if parsed.service:
            console.out("Service maintenance is now disabled for %s" % quote(parsed.service))
        else:
            console.out("Node maintenance is now disabled")
        return 0


command = MaintCommand()
