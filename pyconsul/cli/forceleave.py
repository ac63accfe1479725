"""``pyconsul force-leave``: mark a failed member as left.

Like ``consul force-leave`` it prints nothing when the agent accepts, and
``Error force leaving: ...`` (exit 1) when it refuses, for instance for a
node it does not know.
"""

from pyconsul.cli.agentapi import Agent
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, connect


class ForceLeaveCommand(Command):
    synopsis = 'Moves a member of the cluster to the "left" state'
    usage = """
Usage: {prog} force-leave [options] NODE

  Tells the cluster that NODE has left, so that the agents stop trying to
  reconnect to it. Use it to clean up members that failed and will not
  come back; a member that is in fact still running simply rejoins.
  With -prune the member is also dropped from the member list at once,
  instead of after the usual reaping delay.
"""
    flag_groups = (
        (
            BoolFlag("prune", "Also remove the member from the member list right away."),
            BoolFlag("wan", "Act on the WAN pool only (the member's name is then node.datacenter)."),
        ),
        CLIENT_FLAGS,
    )

    def execute(self, parsed, console):
        if len(parsed.args) != 1:
            console.err("A single node name must be specified to force leave.")
            console.err()
            console.err(self.help_text())
            return 1
        agent = connect(Agent, parsed, console)
        if agent is None:
            return 1
        try:
            agent.force_leave(parsed.args[0], prune=parsed.prune, wan=parsed.wan)
        except ApiError as error:
            console.err("Error force leaving: %s" % error)
            return 1
        return 0


command = ForceLeaveCommand()
