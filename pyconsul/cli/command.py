"""Commands and command groups: flag parsing, help texts, exit statuses.

A leaf command subclasses ``Command``: it declares ``synopsis`` (one line for
listings), ``usage`` (its help prose, ``{prog}`` standing for the program
name) and ``flag_groups`` (tuples of flags from ``pyconsul.cli.flags``), and
implements ``execute(parsed, console) -> exit status``. ``run`` does the rest
as the consul CLI does: a flag error prints Go's message and the flag list on
stderr and exits 1; ``-h``/``-help`` prints the help on stdout and exits 0.

A ``Group`` holds subcommands (``kv put``, ``kv get``...), each loaded only
when used; without a known subcommand it prints its help on stderr, exit 1.
"""

import importlib
import textwrap

from pyconsul.cli.flags import COMMAND_SECTION, FlagError, FlagSet, HelpRequested, default_shown

PROG = "pyconsul"
HELP_WIDTH = 72
HELP_INDENT = 5
SECTION_ORDER = ("HTTP API Options", COMMAND_SECTION)


class Command:
    synopsis = ""
    usage = ""
    flag_groups = ()

    def flag_set(self):
        return FlagSet(*self.flag_groups)

    def run(self, argv, console):
        flag_set = self.flag_set()
        try:
            parsed = flag_set.parse(argv)
        except HelpRequested:
            console.out(self.help_text())
            return 0
        except FlagError as error:
            console.err(str(error))
            console.write_err("Usage:\n" + flag_set.defaults_text())
            return 1
        return self.execute(parsed, console)

    def execute(self, parsed, console):
        raise NotImplementedError

    def refuse_arguments(self, parsed, console):
        """For commands that take none: True (after saying so) if some came."""
        if not parsed.args:
            return False
        # Go's %v of a []string: [a b]
        console.err("Error found unexpected args: [%s]" % " ".join(parsed.args))
        console.out(self.help_text())
        return True

    def subcommand(self, name):
        return None

    def help_text(self):
        parts = [self.usage.strip().replace("{prog}", PROG)]
        flags = self.flag_set().sorted_flags()
        sections = sorted({flag.section for flag in flags}, key=_section_rank)
        for section in sections:
            lines = [section, ""]
            for flag in flags:
                if flag.section == section:
                    lines.extend(_flag_help(flag))
            parts.append("\n".join(lines).rstrip("\n"))
        return "\n\n".join(parts)


def _section_rank(section):
    return (SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER), section)


def _flag_help(flag):
    placeholder = flag.placeholder or flag.kind.type_name
    head = "  -%s=<%s>" % (flag.name, placeholder) if placeholder else "  -%s" % flag.name
    text = flag.help
    shown = default_shown(flag)
    if shown is not None:
        text += " The default is %s." % shown
    body = textwrap.fill(text, HELP_WIDTH - HELP_INDENT, initial_indent=" " * HELP_INDENT,
                         subsequent_indent=" " * HELP_INDENT, break_on_hyphens=False)
    return [head, body, ""]


class Lazy:
    """A subcommand named by module and attribute, imported on first use."""

    def __init__(self, module, attribute, synopsis):
        self.module = module
        self.attribute = attribute
        self.synopsis = synopsis

    def load(self):
        return getattr(importlib.import_module(self.module), self.attribute)


class Group:
    """A command made of subcommands: ``kv`` holds ``put``, ``get``..."""

    def __init__(self, synopsis, usage, subcommands):
        self.synopsis = synopsis
        self.usage = usage
        self.subcommands = subcommands  # name -> Command, Group or Lazy

    def subcommand(self, name):
        entry = self.subcommands.get(name)
        if isinstance(entry, Lazy):
            entry = entry.load()
        return entry

    def run(self, argv, console):
        if argv and argv[0] in self.subcommands:
            return self.subcommand(argv[0]).run(argv[1:], console)
        if argv and argv[0] in ("-h", "-help", "--help"):
            console.out(self.help_text())
            return 0
        console.err(self.help_text())
        return 1

    def help_text(self):
        width = max(len(name) for name in self.subcommands)
        listing = [
            "    %s    %s" % (name.ljust(width), self.subcommands[name].synopsis)
            for name in sorted(self.subcommands)
        ]
        return self.usage.strip().replace("{prog}", PROG) + "\n\nSubcommands:\n" + "\n".join(listing)
