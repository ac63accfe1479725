"""The ``pyconsul`` command: finds the subcommand and runs it.

Subcommands live in a registry of name -> (module, one-line summary). The
module is imported only when its command runs, so ``pyconsul kv get`` loads
neither Twisted nor the agent. A module provides ``command``: an object with
``run(argv, console) -> exit status``, ``help_text()`` and ``synopsis`` --
usually a ``pyconsul.cli.command.Command`` or ``Group``. To add one::

    register_command("members", "pyconsul.cli.members", "Lists the members of the cluster")

(or add a line to ``COMMANDS`` below).

As with the consul CLI, ``-h``, ``-help`` or ``--help`` anywhere before a
``--`` shows the help of the (sub)command named before it.
"""

import importlib
import os
import sys
from dataclasses import dataclass

from pyconsul.cli.command import PROG
from pyconsul.cli.console import Console

HELP_FLAGS = ("-h", "-help", "--help")
VERSION_FLAGS = ("-v", "-version", "--version")
EXIT_UNKNOWN_COMMAND = 127  # what the consul CLI exits with for a missing or unknown command


@dataclass(frozen=True)
class CommandEntry:
    module: str
    summary: str
    attribute: str = "command"

    def load(self):
        return getattr(importlib.import_module(self.module), self.attribute)


COMMANDS = {
    "agent": CommandEntry("pyconsul.cli.agent", "Runs a pyconsul agent"),
    "catalog": CommandEntry("pyconsul.cli.catalog", "Lists the datacenters, nodes and services of the catalog",
                            "catalog_group"),
    "event": CommandEntry("pyconsul.cli.event", "Fires a new user event"),
    "force-leave": CommandEntry("pyconsul.cli.forceleave", 'Moves a member of the cluster to the "left" state'),
    "join": CommandEntry("pyconsul.cli.join", "Tells the agent to join a cluster"),
    "keygen": CommandEntry("pyconsul.cli.keygen", "Generates a new gossip encryption key"),
    "kv": CommandEntry("pyconsul.cli.kv", "Reads and writes the key-value store", "kv_group"),
    "operator": CommandEntry("pyconsul.cli.operator", "Operator tools for the servers", "operator_group"),
    "leave": CommandEntry("pyconsul.cli.leave", "Makes the agent leave the cluster gracefully and stop"),
    "lock": CommandEntry("pyconsul.cli.lock", "Runs a command while holding a lock or semaphore"),
    "maint": CommandEntry("pyconsul.cli.maint", "Puts the node or one of its services in maintenance mode"),
    "members": CommandEntry("pyconsul.cli.members", "Lists the members of the cluster"),
    "reload": CommandEntry("pyconsul.cli.reload", "Makes the agent re-read its configuration files"),
    "rtt": CommandEntry("pyconsul.cli.rtt", "Estimates network round trip time between nodes"),
    "services": CommandEntry("pyconsul.cli.services", "Registers and deregisters services of the local agent",
                             "services_group"),
    "template": CommandEntry("pyconsul.cli.template", "Renders files from the KV store with confd's templates"),
    "version": CommandEntry("pyconsul.cli.version", "Prints the pyconsul version"),
    "watch": CommandEntry("pyconsul.cli.watch", "Watches a view of the data and runs a handler when it changes"),
}


def register_command(name, module, summary, attribute="command"):
    """Make ``pyconsul NAME`` run ``module.attribute``."""
    COMMANDS[name] = CommandEntry(module, summary, attribute)


def top_help():
    width = max(len(name) for name in COMMANDS)
    lines = ["Usage: %s [--version] [--help] <command> [<args>]" % PROG, "", "Available commands are:"]
    for name in sorted(COMMANDS):
        lines.append("    %s    %s" % (name.ljust(width), COMMANDS[name].summary))
    return "\n".join(lines)


def _asks_for_help(argv):
    for argument in argv:
        if argument == "--":
            return False
        if argument in HELP_FLAGS:
            return True
    return False


def _split_leading_options(argv):
    """(options before the command name, the name or None, the arguments after it)."""
    position = 0
    while position < len(argv) and argv[position].startswith("-") and argv[position] != "--":
        position += 1
    leading = argv[:position]
    if position < len(argv) and argv[position] != "--":
        return leading, argv[position], argv[position + 1:]
    return leading, None, []


def run(argv, console):
    """Run the command line argv (without the program name); returns the exit status."""
    leading, name, rest = _split_leading_options(argv)
    if any(option in VERSION_FLAGS for option in leading):
        from pyconsul.cli.version import version_line

        console.out(version_line())
        return 0
    wants_help = any(option in HELP_FLAGS for option in leading)
    if name not in COMMANDS:
        console.out(top_help())
        return 0 if wants_help and name is None else EXIT_UNKNOWN_COMMAND
    command = COMMANDS[name].load()
    if wants_help or _asks_for_help(rest):
        # Show the help of the deepest subcommand named: "kv put -h" is put's.
        while rest and command.subcommand(rest[0]) is not None:
            command = command.subcommand(rest[0])
            rest = rest[1:]
        console.out(command.help_text())
        return 0
    if leading:
        console.out('Options belong after the command they are for, not before "%s": %s\n'
                    % (name, " ".join(leading)))
        console.out(command.help_text())
        return 1
    return command.run(rest, console)


def main(argv=None, console=None):
    """The console entry point; returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    own_console = console is None
    if own_console:
        console = Console.from_process()
    try:
        status = run(list(argv), console)
        console.flush()
        return status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read our output has gone (``| head``): stop without a traceback,
        # and keep Python from complaining when it flushes stdout at exit.
        if own_console:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
