"""Command-line flags the way Go's ``flag`` package reads them.

The consul CLI is built on Go's ``flag`` package, and scripts written for it
rely on its exact rules, so these are reproduced here:

* ``-name`` and ``--name`` are the same flag; a value is given as
  ``-name=value`` or as the next argument ``-name value`` -- except for
  booleans, which take ``-b`` or ``-b=false`` (any spelling of
  ``strconv.ParseBool``) but never a separate argument;
* parsing stops at the first argument that is not a flag (so flags must come
  before positional arguments), at a lone ``-`` (which is an argument), and
  after ``--`` (which is dropped);
* a flag given twice keeps its last value; a list flag collects every value,
  and a key=value flag (Consul's ``FlagMapValue``) every pair;
* numbers follow ``strconv`` (``0x10``, ``0o17``, ``1_000``, overflow errors)
  and durations follow ``time.ParseDuration``.

A command declares its flags as data::

    PUT_FLAGS = [
        BoolFlag("cas", "Write only if the key is at -modify-index."),
        Uint64Flag("modify-index", "The ModifyIndex the key must have."),
    ]
    parsed = FlagSet(PUT_FLAGS, HTTP_FLAGS).parse(argv)
    parsed.cas, parsed.modify_index, parsed.args, parsed.is_set("cas")

and gets Go's error texts (``flag provided but not defined: -nope``,
``flag needs an argument: -x``, ``invalid value "abc" for flag -flags:
parse error``) as ``FlagError``, and ``-h``/``-help`` as ``HelpRequested``.
"""

from dataclasses import dataclass, field

from pyconsul.golang import duration, strconv

COMMAND_SECTION = "Command Options"


class FlagError(Exception):
    """The arguments break the flag rules; ``str(error)`` is Go's message."""


class HelpRequested(Exception):
    """``-h`` or ``-help`` was given (and the command defines no such flag)."""


class FlagValueError(ValueError):
    """A flag's text is not a valid value; ``str(error)`` says why, Go's way."""


@dataclass(frozen=True)
class FlagKind:
    """How one type of flag reads its text, and how usage texts show it."""

    type_name: str  # shown after the flag in usage: "-flags uint"; "" for booleans
    parse: object  # text -> value, raising FlagValueError
    show: object = str  # value -> text for "(default ...)"
    is_bool: bool = False
    is_list: bool = False
    quote_default: bool = False


def _go_number(parser):
    """Go's flag package reports number errors as plain "parse error"/"value out of range"."""

    def parse(text):
        try:
            return parser(text)
        except strconv.NumError as error:
            reason = "value out of range" if error.err == strconv.ERR_RANGE else "parse error"
            raise FlagValueError(reason) from None
        except duration.DurationError:
            raise FlagValueError("parse error") from None

    return parse


BOOL = FlagKind("", _go_number(strconv.parse_bool), show=lambda v: "true" if v else "false", is_bool=True)
STRING = FlagKind("string", str, quote_default=True)
UINT64 = FlagKind("uint", _go_number(strconv.parse_uint))
INT = FlagKind("int", _go_number(strconv.parse_int))
DURATION = FlagKind("duration", _go_number(duration.parse_duration), show=duration.format_duration)
STRING_LIST = FlagKind("value", str, show=",".join, is_list=True)


def _key_value(text):
    # Consul's FlagMapValue splits at the first "=": "a=b=c" is key "a", value "b=c".
    key, equals, value = text.partition("=")
    if not equals:
        raise FlagValueError('Missing "=" value in argument: %s' % text)
    return key, value


KEY_VALUES = FlagKind("value", _key_value, is_list=True)


@dataclass(frozen=True)
class Flag:
    """One declared flag. ``placeholder`` names the value in help texts."""

    name: str
    help: str
    kind: FlagKind
    default: object = None
    placeholder: str = ""
    section: str = COMMAND_SECTION

    @property
    def attribute(self):
        """The Python name of the parsed value: ``modify-index`` -> ``modify_index``."""
        return self.name.replace("-", "_")

    def initial_value(self):
        return list(self.default or ()) if self.kind.is_list else self.default


def BoolFlag(name, help, default=False, section=COMMAND_SECTION):
    return Flag(name, help, BOOL, default, section=section)


def StringFlag(name, help, default="", placeholder="", section=COMMAND_SECTION):
    return Flag(name, help, STRING, default, placeholder, section)


def Uint64Flag(name, help, default=0, placeholder="", section=COMMAND_SECTION):
    return Flag(name, help, UINT64, default, placeholder, section)


def IntFlag(name, help, default=0, placeholder="", section=COMMAND_SECTION):
    return Flag(name, help, INT, default, placeholder, section)


def DurationFlag(name, help, default=0, placeholder="", section=COMMAND_SECTION):
    """A duration in nanoseconds (Go's time.Duration), e.g. ``-timeout=1m30s``."""
    return Flag(name, help, DURATION, default, placeholder, section)


def StringListFlag(name, help, placeholder="", section=COMMAND_SECTION):
    """A flag that may be repeated; every value is kept, in order."""
    return Flag(name, help, STRING_LIST, (), placeholder, section)


def KeyValueFlag(name, help, placeholder="", section=COMMAND_SECTION):
    """Consul's repeatable ``-name key=value``: the parsed value is the list of
    (key, value) pairs in the order given; ``dict()`` of it keeps the last
    value of a key given twice, as Consul's map does."""
    return Flag(name, help, KEY_VALUES, (), placeholder, section)


@dataclass
class ParsedFlags:
    """Flag values by attribute name, the positional arguments, what was given."""

    values: dict
    args: list
    given: set = field(default_factory=set)

    def __getattr__(self, attribute):
        try:
            return self.__dict__["values"][attribute]
        except KeyError:
            raise AttributeError(attribute) from None

    def is_set(self, name):
        """Whether the flag appeared on the command line (not just defaulted)."""
        return name in self.given


class FlagSet:
    """The flags of one command, parsed with Go's rules."""

    def __init__(self, *groups):
        self.flags = {}
        for group in groups:
            for flag in group:
                if flag.name in self.flags:
                    raise ValueError("flag -%s is declared twice" % flag.name)
                self.flags[flag.name] = flag

    def parse(self, argv):
        values = {flag.attribute: flag.initial_value() for flag in self.flags.values()}
        given = set()
        args = list(argv)
        while args:
            token = args[0]
            if len(token) < 2 or token[0] != "-":
                break
            dashes = 2 if token[1] == "-" else 1
            if token == "--":
                del args[0]
                break
            name = token[dashes:]
            if name == "" or name[0] in "-=":
                raise FlagError("bad flag syntax: %s" % token)
            del args[0]
            name, equals, text = name.partition("=")
            flag = self.flags.get(name)
            if flag is None:
                if name in ("h", "help"):
                    raise HelpRequested()
                raise FlagError("flag provided but not defined: -%s" % name)
            if flag.kind.is_bool:
                text = text if equals else "true"
                value = self._read(flag, text, "invalid boolean value %s for -%s: %s")
            else:
                if not equals:
                    if not args:
                        raise FlagError("flag needs an argument: -%s" % name)
                    text = args.pop(0)
                value = self._read(flag, text, "invalid value %s for flag -%s: %s")
            if flag.kind.is_list:
                values[flag.attribute].append(value)
            else:
                values[flag.attribute] = value
            given.add(name)
        return ParsedFlags(values, args, given)

    @staticmethod
    def _read(flag, text, template):
        try:
            return flag.kind.parse(text)
        except FlagValueError as error:
            raise FlagError(template % (strconv.quote(text), flag.name, error)) from None

    def sorted_flags(self):
        return [self.flags[name] for name in sorted(self.flags)]

    def defaults_text(self):
        """Go's PrintDefaults layout: "  -name type" then the help on an indented line."""
        lines = []
        for flag in self.sorted_flags():
            head = "  -" + flag.name
            kind_name = flag.placeholder or flag.kind.type_name
            if kind_name:
                head += " " + kind_name
            # Go puts the help of one-letter booleans on the same line.
            separator = "\t" if len(head) <= 4 else "\n    \t"
            text = head + separator + flag.help.replace("\n", "\n    \t")
            shown = default_shown(flag)
            if shown is not None:
                text += " (default %s)" % shown
            lines.append(text + "\n")
        return "".join(lines)


def default_shown(flag):
    """The default as usage texts print it, or None for a zero default."""
    value = flag.initial_value()
    if not value:
        return None
    text = flag.kind.show(value)
    return strconv.quote(text) if flag.kind.quote_default else text
