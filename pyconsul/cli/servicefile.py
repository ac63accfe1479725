"""Service definition files, read as ``consul services register FILE...`` reads them.

Consul loads the files with its agent configuration loader and keeps only the
services; pyconsul reads them with the agent's own parser
(``pyconsul.agent.definitions.load_services``) and Consul's loader's words:

* each path is a file or a directory (its ``.json`` files, in name order;
  others are skipped with a warning). A file must end in ``.json``; ``.hcl``
  is Consul's other format, which pyconsul refuses, naming the file;
* an empty file holds nothing; otherwise it is a JSON object whose
  ``service`` (one definition) and ``services`` (a list) are read, in that
  file's order ``services`` first. Other keys of the agent configuration are
  allowed and ignored; any other key is an ``invalid config key``;
* values are checked as Consul's decoder (mapstructure) and builder check
  them, with their messages: ``'service.port' expected type 'int', got
  unconvertible type 'string', value: '80'``; what only the agent checks
  (a service without a name ...) is left to the agent the services are sent to;
* each definition becomes the ``api.AgentServiceRegistration`` the consul
  CLI sends (``ServiceDefinition.to_registration``).
"""

import os

from pyconsul.agent.definitions import DefinitionFileError as ParseError
from pyconsul.agent.definitions import load_services
from pyconsul.cli.http import go_file_error
from pyconsul.golang import json as go_json
from pyconsul.golang.errors import GoError


class DefinitionFileError(Exception):
    """The files cannot be read as service definitions; ``str()`` follows "Error: "."""


# -- reading the files ------------------------------------------------------------


def _files(path, full_path, warnings):
    """(name, full path) of the files a path stands for, as Consul's loader picks them."""
    try:
        is_directory = os.path.isdir(full_path)
        if not is_directory:
            with open(full_path, "rb"):
                pass
    except OSError as error:
        raise DefinitionFileError("config: Open failed on %s. %s" % (path, go_file_error("open", path, error)))
    if not is_directory:
        if not path.endswith((".json", ".hcl")):
            raise DefinitionFileError(
                "file %s has unknown extension; must be .hcl or .json, or config format must be set" % path)
        return [(path, full_path)]
    chosen = []
    for entry in sorted(os.listdir(full_path)):
        name, entry_path = os.path.join(path, entry), os.path.join(full_path, entry)
        if os.path.isdir(entry_path):
            continue  # no recursion into subdirectories, as Consul
        if not entry.endswith((".json", ".hcl")):
            warnings.append("skipping file %s, extension must be .hcl or .json, or config format must be set"
                            % name)
            continue
        chosen.append((name, entry_path))
    return chosen


def _read(name, full_path):
    try:
        with open(full_path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise DefinitionFileError("config: failed to read %s: %s" % (name, go_file_error("read", name, error)))


def _parse(name, data):
    """The file's top-level object, or None for an empty file."""
    if not data:
        return None  # Consul skips a source with no data
    if name.endswith(".hcl"):
        raise DefinitionFileError("failed to parse %s: HCL is not supported by pyconsul; write the "
                                  "service definitions as JSON" % name)
    try:
        return go_json.unmarshal(data, into=go_json.MAP)
    except GoError as error:
        raise DefinitionFileError("failed to parse %s: %s" % (name, error))


def services_from_files(paths, cwd=None):
    """([api.AgentServiceRegistration as a dict], [warning]) for the files.

    Raises DefinitionFileError when they cannot be read; as with Consul,
    every file is read before any is parsed, and the warnings count only
    when all went well.
    """
    warnings, sources = [], []
    for path in paths:
        full_path = os.path.join(cwd, path) if cwd is not None else path
        for name, file_path in _files(path, full_path, warnings):
            sources.append((name, _read(name, file_path)))
    parsed = []
    for name, data in sources:
        values = _parse(name, data)
        if values is not None:
            parsed.append((name, values))
    try:
        services, found_warnings = load_services(parsed)
    except ParseError as error:
        raise DefinitionFileError(error.consul) from None
    return [service.to_registration() for service in services], warnings + found_warnings
