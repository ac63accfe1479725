"""``pyconsul reload``: the agent re-reads its configuration files, as on SIGHUP.

As with Consul 1.10, arguments after the flags are ignored, and the command
returns once the agent has accepted the request (``Configuration reload
triggered``), not when the reload is done.
"""

from pyconsul.cli.agentlocal import LocalAgent
from pyconsul.cli.command import Command
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, connect


class ReloadCommand(Command):
    synopsis = "Makes the agent re-read its configuration files"
    usage = """
Usage: {prog} reload [options]

  Asks the running agent to read its configuration files and directories
  again and apply what changed (services and checks added, changed or
  removed, the log level), just as a SIGHUP does.
"""
    flag_groups = (CLIENT_FLAGS,)

    def execute(self, parsed, console):
        agent = connect(LocalAgent, parsed, console)
        if agent is None:
            return 1
        try:
            agent.reload()
        except ApiError as error:
            console.err("Error reloading: %s" % error)
            return 1
        console.out("Configuration reload triggered")
        return 0


command = ReloadCommand()
