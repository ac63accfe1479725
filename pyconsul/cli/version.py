"""``pyconsul version``."""

from pyconsul import __version__
from pyconsul.cli.command import Command


def version_line():
    return "pyconsul v%s" % __version__


class VersionCommand(Command):
    synopsis = "Prints the pyconsul version"
    usage = """
Usage: {prog} version

  Prints the version of this pyconsul installation.
"""

    def execute(self, parsed, console):
        if parsed.args:
            console.err("This command takes no arguments")
            return 1
        console.out(version_line())
        return 0


command = VersionCommand()
