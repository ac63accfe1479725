"""Reading the DATA argument of ``kv put`` and ``kv import``, and import files.

DATA is taken literally, except ``@path`` (the file's bytes), a lone ``-``
(standard input) and the empty string. Import data is checked with Go's JSON
rules (so a syntax error reads as Consul's does) and then against the export
format; a wrong shape gets a plain description rather than Go's type names.
"""

from dataclasses import dataclass

from pyconsul.cli.console import to_bytes
from pyconsul.cli.http import go_file_error
from pyconsul.golang import json as go_json
from pyconsul.golang.strconv import MAX_UINT64


class DataError(Exception):
    """The DATA argument cannot be read; ``str()`` is the message after "Error! "."""


def read_data_argument(argument, console):
    """The bytes DATA stands for."""
    if argument.startswith("@"):
        path = argument[1:]
        try:
            return console.read_file(path)
        except OSError as error:
            raise DataError("Failed to read file: %s" % go_file_error("open", path, error)) from None
    if argument == "-":
        try:
            return console.read_stdin()
        except OSError as error:
            raise DataError("Failed to read stdin: %s" % error) from None
    return to_bytes(argument)


@dataclass
class ImportEntry:
    key: str = ""
    flags: int = 0
    value: str = ""
    namespace: str = ""


class ImportFormatError(Exception):
    """The data is not an export; ``str()`` says what is wrong."""


class _Number:
    """A JSON number kept as written, so flags can be checked the way Go reads them."""

    def __init__(self, literal):
        self.literal = literal


_FIELDS = {"key": str, "flags": int, "value": str, "namespace": str}


def _describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, _Number):
        return "the number %s" % value.literal
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def parse_entries(data):
    """The entries of an export (bytes); raises ImportFormatError."""
    try:
        document = go_json.unmarshal(data, number=_Number)
    except go_json.JSONSyntaxError as error:
        raise ImportFormatError(str(error)) from None
    if document is None:
        return []
    if not isinstance(document, list):
        raise ImportFormatError(
            "expected a JSON array of entries (as written by kv export), got %s" % _describe(document)
        )
    return [_entry(index, item) for index, item in enumerate(document)]


def _entry(index, item):
    if not isinstance(item, dict):
        raise ImportFormatError(
            'entry %d is %s; each entry must be an object with "key", "flags" and "value"'
            % (index, _describe(item))
        )
    entry = ImportEntry()
    for name, value in item.items():
        field = name.casefold()  # Go matches field names without regard to case
        kind = _FIELDS.get(field)
        if kind is None or value is None:
            continue  # unknown members are ignored, null leaves the field as it is
        if kind is str:
            if not isinstance(value, str):
                raise ImportFormatError('entry %d: "%s" must be a string, not %s' % (index, name, _describe(value)))
            setattr(entry, field, value)
        else:
            if not (isinstance(value, _Number) and value.literal.isdigit() and int(value.literal) <= MAX_UINT64):
                raise ImportFormatError(
                    'entry %d: "%s" must be a whole number from 0 to %d, not %s'
                    % (index, name, MAX_UINT64, _describe(value))
                )
            entry.flags = int(value.literal)
    return entry
