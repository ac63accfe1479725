"""``pyconsul join``: ask the local agent to join a cluster.

As with ``consul join``, every address is tried in turn; each failure is
reported on its own line, and the command succeeds if at least one
address worked, counting one node per address that answered.
"""

from pyconsul.cli.agentapi import Agent
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, connect


class JoinCommand(Command):
    synopsis = "Tells the agent to join a cluster"
    usage = """
Usage: {prog} join [options] ADDRESS...

  Tells the running agent to join the cluster that the member at ADDRESS
  (host or host:port of its gossip port, 8301 by default) belongs to.
  Give several addresses to keep going when some of them are down.

      $ {prog} join 10.0.0.2
      $ {prog} join -wan 10.1.0.2:8302
"""
    flag_groups = (
        (BoolFlag("wan", "Join the WAN pool of servers of other datacenters (the agent must be a server)."),),
        CLIENT_FLAGS,
    )

    def execute(self, parsed, console):
        addresses = parsed.args
        if not addresses:
            console.err("At least one address to join must be specified.")
            console.err()
            console.err(self.help_text())
            return 1
        agent = connect(Agent, parsed, console)
        if agent is None:
            return 1
        joined = 0
        for address in addresses:
            try:
                agent.join(address, wan=parsed.wan)
            except ApiError as error:
                console.err("Error joining address '%s': %s" % (address, error))
            else:
                joined += 1
        if not joined:
            console.err("Failed to join any nodes.")
            return 1
        console.out("Successfully joined cluster by contacting %d nodes." % joined)
        return 0


command = JoinCommand()
