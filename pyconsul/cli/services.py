"""``pyconsul services register|deregister``: services of the local agent.

As Consul 1.10's commands:

* ``register`` takes either definition files (``pyconsul.cli.servicefile``)
  or flags for one service (``-name`` and the rest), not both; with files,
  the other flags are ignored. Each service is sent as the api's
  ``AgentServiceRegistration`` and reported as ``Registered service:
  <name>``; the first failure stops it (``Error registering service
  "<name>": ...``), exit 1, the services before it staying registered;
* ``deregister`` takes files (each service by its ID, else its name;
  one with neither is passed over) or ``-id``, and prints ``Deregistered
  service: <id>``; a failure is worded ``Error registering service ...`` --
  Consul's own wording, kept because scripts match on it;
* a file that cannot be read fails before the agent is asked anything:
  ``Error: <what the loader says>``.
"""

from pyconsul.cli.agentlocal import LocalAgent
from pyconsul.cli.command import Command, Group
from pyconsul.cli.flags import IntFlag, KeyValueFlag, StringFlag, StringListFlag
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, NAMESPACE_FLAGS, SERVER_FLAGS, connect
from pyconsul.cli.servicefile import DefinitionFileError, services_from_files
from pyconsul.golang.strconv import NumError, atoi, quote

HTTP_FLAGS = CLIENT_FLAGS + SERVER_FLAGS + NAMESPACE_FLAGS


class AddressError(ValueError):
    """net.SplitHostPort's or strconv.Atoi's complaint, in Go's words."""


def split_host_port(text):
    """Go's net.SplitHostPort."""

    def fail(why):
        raise AddressError("address %s: %s" % (text, why))

    colon = text.rfind(":")
    if colon < 0:
        fail("missing port in address")
    start, after = 0, 0
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            fail("missing ']' in address")
        if end + 1 == len(text):
            fail("missing port in address")
        if end + 1 != colon:
            fail("too many colons in address" if text[end + 1] == ":" else "missing port in address")
        host = text[1:end]
        start, after = 1, end + 1
    else:
        host = text[:colon]
        if ":" in host:
            fail("too many colons in address")
    if "[" in text[start:]:
        fail("unexpected '[' in address")
    if "]" in text[after:]:
        fail("unexpected ']' in address")
    return host, text[colon + 1:]


def parse_service_address(text):
    """api.ParseServiceAddr: "host:port" -> {"Address", "Port"}."""
    host, port = split_host_port(text)
    try:
        return {"Address": host, "Port": atoi(port)}
    except NumError as error:
        raise AddressError(str(error)) from None


def flag_registration(parsed, tagged_addresses):
    """The AgentServiceRegistration the flags describe, in Go's field order."""
    registration = {}
    for key, value in (("Kind", parsed.kind), ("ID", parsed.id), ("Name", parsed.name),
                       ("Tags", parsed.tag), ("Port", parsed.port), ("Address", parsed.address),
                       ("SocketPath", parsed.socket), ("TaggedAddresses", tagged_addresses),
                       ("Meta", dict(parsed.meta))):
        if value:
            registration[key] = value
    registration["Check"] = None
    registration["Checks"] = None
    return registration


def _from_files(paths, console):
    """The registrations in the files, or None after printing why not."""
    try:
        registrations, warnings = services_from_files(paths, console.cwd)
    except DefinitionFileError as error:
        console.err("Error: %s" % error)
        return None
    for warning in warnings:
        console.err(warning)
    return registrations


class RegisterCommand(Command):
    synopsis = "Registers services with the local agent"
    usage = """
Usage: {prog} services register [options] [FILE...]

  Registers services with the agent the command talks to, either from
  service definition files (JSON, as in the agent's configuration
  directory: {"service": {...}} or {"services": [...]}) or, without
  files, one service described by the flags below. The services stay
  registered until "{prog} services deregister" removes them; the agent
  keeps them across restarts.

      $ {prog} services register web.json
      $ {prog} services register -name=web -port=80 -tag=rails
"""
    flag_groups = (
        (
            StringFlag("id", "ID of the service registered from flags; -name when not given."),
            StringFlag("name", "Name of the service registered from flags."),
            StringFlag("address", "Address of the service registered from flags; the agent's own "
                                  "when not given."),
            IntFlag("port", "Port of the service registered from flags."),
            StringFlag("socket", "Unix socket of the service registered from flags, instead of an "
                                 "address and port."),
            KeyValueFlag("meta", "A key=value metadata pair for the service registered from flags. "
                                 "Repeat the flag for several pairs."),
            StringListFlag("tag", "A tag for the service registered from flags. Repeat the flag for "
                                  "several tags."),
            KeyValueFlag("tagged-address", "A name=host:port tagged address for the service "
                                           "registered from flags. Repeat the flag for several."),
            StringFlag("kind", "Kind of the service registered from flags (Consul's Connect kinds; "
                               "a typical service has none)."),
        ),
        HTTP_FLAGS,
    )

    def execute(self, parsed, console):
        tagged_addresses = {}
        for name, text in sorted(dict(parsed.tagged_address).items()):
            try:
                tagged_addresses[name] = parse_service_address(text)
            except AddressError as error:
                console.err("Invalid Tagged Address: %s" % error)
                return 1
        if not parsed.args and not parsed.name:
            console.err("Service registration requires at least one argument or flags.")
            return 1
        if parsed.args and parsed.name:
            console.err("Service registration requires arguments or -id, not both.")
            return 1
        if parsed.args:
            registrations = _from_files(parsed.args, console)
            if registrations is None:
                return 1
        else:
            registrations = [flag_registration(parsed, tagged_addresses)]
        agent = connect(LocalAgent, parsed, console)
        if agent is None:
            return 1
        for registration in registrations:
            name = registration.get("Name", "")
            try:
                agent.service_register(registration)
            except ApiError as error:
                console.err("Error registering service %s: %s" % (quote(name), error))
                return 1
            console.out("Registered service: %s" % name)
        return 0


class DeregisterCommand(Command):
    synopsis = "Deregisters services from the local agent"
    usage = """
Usage: {prog} services deregister [options] [FILE...]

  Removes services, and their checks, from the agent the command talks to:
  those of the definition files given (each by its ID, or by its name when
  it has no ID), or the one service that -id names.

      $ {prog} services deregister web.json db.json
      $ {prog} services deregister -id=web

  Only the agent the services were registered with can remove them.
"""
    flag_groups = (
        (StringFlag("id", "ID of the service to remove; only when no files are given."),),
        HTTP_FLAGS,
    )

    def execute(self, parsed, console):
        if not parsed.args and not parsed.id:
            console.err("Service deregistration requires at least one argument or -id.")
            return 1
        if parsed.args and parsed.id:
            console.err("Service deregistration requires arguments or -id, not both.")
            return 1
        if parsed.args:
            registrations = _from_files(parsed.args, console)
            if registrations is None:
                return 1
        else:
            registrations = [{"ID": parsed.id}]
        agent = connect(LocalAgent, parsed, console)
        if agent is None:
            return 1
        for registration in registrations:
            service_id = registration.get("ID") or registration.get("Name", "")
            if not service_id:
                continue
            try:
                agent.service_deregister(service_id)
            except ApiError as error:
                # "registering" is Consul 1.10's word here too.
                console.err("Error registering service %s: %s" % (quote(registration.get("Name", "")), error))
                return 1
            console.out("Deregistered service: %s" % service_id)
        return 0


services_group = Group(
    synopsis="Registers and deregisters services of the local agent",
    usage="""
Usage: {prog} services <subcommand> [options] [args]

  Adds services to, and removes them from, the agent the command talks to.
  To see every service of the datacenter, use "{prog} catalog services".
""",
    subcommands={"register": RegisterCommand(), "deregister": DeregisterCommand()},
)
