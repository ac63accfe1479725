"""``pyconsul leave``: the agent leaves the cluster gracefully and stops.

The other members then show it as ``left``, not ``failed``, and a server
gives up its place in the Raft configuration first.
"""

from pyconsul.cli.agentapi import Agent
from pyconsul.cli.command import Command
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, connect


class LeaveCommand(Command):
    synopsis = "Makes the agent leave the cluster gracefully and stop"
    usage = """
Usage: {prog} leave [options]

  Tells the running agent to announce that it is leaving, wait for the
  cluster to hear it, and shut down. Other members then list it as "left"
  instead of "failed", and do not try to reconnect to it.
"""
    flag_groups = (CLIENT_FLAGS,)

    def execute(self, parsed, console):
        if self.refuse_arguments(parsed, console):
            return 1
        agent = connect(Agent, parsed, console)
        if agent is None:
            return 1
        try:
            agent.leave()
        except ApiError as error:
            console.err("Error leaving: %s" % error)
            return 1
        console.out("Graceful leave complete")
        return 0


command = LeaveCommand()
