"""``pyconsul agent``: the agent, with the consul CLI's flag syntax.

The flags are the agent's own table (``pyconsul.config.AGENT_FLAGS``), read
with Go's rules (``-server -data-dir=DIR``); the configuration is checked
here so a mistake gets one clear line, then the agent runs under twistd in
the foreground, exactly as ``twistd -n pyconsul --server --data-dir DIR``.
"""

from pyconsul import config as agent_config
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag, IntFlag, StringFlag, StringListFlag

_FLAG_TYPES = {
    agent_config.BOOL: BoolFlag,
    agent_config.INT: IntFlag,
    agent_config.STR: StringFlag,
    agent_config.STR_LIST: StringListFlag,
}


def _cli_flags():
    flags = [_FLAG_TYPES[f.kind](f.name, f.help) for f in agent_config.AGENT_FLAGS]
    flags.append(StringFlag("pid-file", "Write the agent's process ID to this file."))
    return tuple(flags)


def twistd_arguments(values, pid_file=""):
    """``twistd`` arguments that run the agent with these flag values."""
    argv = ["--nodaemon", "--pidfile=" + pid_file, "pyconsul"]
    for flag in agent_config.AGENT_FLAGS:
        if flag.name not in values:
            continue
        value = values[flag.name]
        if flag.kind == agent_config.BOOL:
            if value:
                argv.append("--" + flag.name)
        elif flag.kind == agent_config.STR_LIST:
            argv.extend("--%s=%s" % (flag.name, item) for item in value)
        else:
            argv.append("--%s=%s" % (flag.name, value))
    return argv


class AgentCommand(Command):
    synopsis = "Runs a pyconsul agent"
    usage = """
Usage: {prog} agent [options]

  Starts a pyconsul agent and runs it until it is told to stop (Ctrl-C or a
  signal). An agent is a client unless -server is given; -dev starts a
  single in-memory server on this machine, for development.
"""
    flag_groups = (_cli_flags(),)

    def execute(self, parsed, console):
        if parsed.args:
            console.err("Unexpected arguments: %s" % " ".join(parsed.args))
            return 1
        values = {
            flag.name: getattr(parsed, flag.name.replace("-", "_"))
            for flag in agent_config.AGENT_FLAGS
            if parsed.is_set(flag.name)
        }
        try:
            _, warnings = agent_config.build_from_flags(values)
        except agent_config.ConfigError as error:
            console.err("==> %s" % error)
            return 1
        return _run_twistd(twistd_arguments(values, parsed.pid_file))


def _run_twistd(argv):
    import sys

    from twisted.scripts import twistd

    sys.argv = ["pyconsul agent"] + argv
    twistd.run()
    return 0


command = AgentCommand()
