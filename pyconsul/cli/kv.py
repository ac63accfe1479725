"""``pyconsul kv put|get|delete|export|import``: Consul's KV commands.

Messages, output layout and exit statuses are Consul's, so scripts and
people used to ``consul kv`` see the same thing. Two deliberate differences:
``kv put -base64`` with undecodable data stops with an error instead of
writing an empty value, and ``kv import`` describes a wrongly shaped file in
plain words instead of naming Go types.
"""

from pyconsul.cli.command import Command, Group
from pyconsul.cli.flags import BoolFlag, StringFlag, Uint64Flag
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import ALL_HTTP_FLAGS, connect
from pyconsul.cli.kvapi import KV, KVPair
from pyconsul.cli.kvdata import DataError, ImportFormatError, parse_entries, read_data_argument
from pyconsul.cli.tabwriter import TabWriter
from pyconsul.golang import base64 as go_base64
from pyconsul.golang import json as go_json


def _connect(parsed, console):
    return connect(KV, parsed, console)


def _single_key_argument(args, console):
    """The optional KEY of get/delete/export, without one leading '/'; None if too many."""
    if len(args) > 1:
        console.err("Too many arguments (expected 1, got %d)" % len(args))
        return None
    key = args[0] if args else ""
    # Keys never start with '/', but "/foo" is an easy thing to type.
    return key[1:] if key.startswith("/") else key


def format_detailed(pair, base64_value=False):
    """The -detailed block: Consul's tabwriter layout, ending without a newline."""
    value = go_base64.encode(pair.value).encode() if base64_value else pair.value
    writer = TabWriter(min_width=0, tab_width=2, padding=6)
    rows = [
        b"CreateIndex\t%d\n" % pair.create_index,
        b"Flags\t%d\n" % pair.flags,
        b"Key\t" + pair.key.encode("utf-8", "surrogateescape") + b"\n",
        b"LockIndex\t%d\n" % pair.lock_index,
        b"ModifyIndex\t%d\n" % pair.modify_index,
        b"Session\t" + (pair.session.encode() or b"-") + b"\n",
        b"Value\t" + value,
    ]
    writer.write(b"".join(rows))
    return writer.flush()


class PutCommand(Command):
    synopsis = "Writes a value under a key"
    usage = """
Usage: {prog} kv put [options] KEY [DATA]

  Stores DATA under KEY, creating the key or replacing its value. DATA
  is taken as written, or read from a file when it is @path, or from
  standard input when it is a single "-". Without DATA the key gets an
  empty value.

      $ {prog} kv put app/config/port 8080
      $ {prog} kv put app/certificate @cert.pem
      $ generate-config | {prog} kv put app/config -

  With -cas the value is only written if the key's ModifyIndex still
  equals -modify-index, which makes concurrent updates safe
  (-modify-index=0 means "only if the key does not exist yet"):

      $ {prog} kv put -cas -modify-index=123 app/config/port 8081
"""
    flag_groups = (
        (
            BoolFlag("cas", "Check-and-set: write only if the key's ModifyIndex equals -modify-index."),
            Uint64Flag("flags", "Number stored with the value for the clients' own use; the agent never reads it."),
            BoolFlag("base64", "DATA is base64 text; the decoded bytes are stored."),
            Uint64Flag("modify-index", "ModifyIndex the key must have for a -cas write (0: the key must not exist)."),
            StringFlag("session", "Session ID for -acquire and -release.", placeholder="string"),
            BoolFlag("acquire", "Take the lock on the key for -session, creating the key if needed."),
            BoolFlag("release", "Give up the lock that -session holds on the key."),
        ),
        ALL_HTTP_FLAGS,
    )

    def execute(self, parsed, console):
        args = parsed.args
        if not args:
            console.err("Error! Missing KEY argument")
            return 1
        if len(args) > 2:
            console.err("Error! Too many arguments (expected 1 or 2, got %d)" % len(args))
            return 1
        key = args[0]
        try:
            data = read_data_argument(args[1], console) if len(args) == 2 and args[1] else b""
        except DataError as error:
            console.err("Error! %s" % error)
            return 1
        if parsed.base64:
            try:
                data = go_base64.decode(data)
            except go_base64.CorruptInputError as error:
                console.err("Error! Cannot base 64 decode data: %s" % error)
                return 1
        if (parsed.acquire or parsed.release) and not parsed.session:
            console.err("Error! Missing -session (required with -acquire and -release)")
            return 1
        kv = _connect(parsed, console)
        if kv is None:
            return 1
        pair = KVPair(key=key, modify_index=parsed.modify_index, flags=parsed.flags, value=data,
                      session=parsed.session)
        if parsed.cas:
            return self._check_and_set(kv, pair, console)
        if parsed.acquire or parsed.release:
            return self._lock(kv, pair, parsed.acquire, console)
        try:
            kv.put(pair)
        except ApiError as error:
            console.err("Error! Failed writing data: %s" % error)
            return 1
        console.out("Success! Data written to: %s" % key)
        return 0

    @staticmethod
    def _check_and_set(kv, pair, console):
        try:
            written = kv.put(pair, cas=True)
        except ApiError as error:
            console.err("Error! Did not write to %s: %s" % (pair.key, error))
            return 1
        if not written and pair.modify_index == 0:
            console.err("Error! Did not write to %s: CAS performed with index=0 and key already exists." % pair.key)
            return 1
        if not written:
            console.err("Error! Did not write to %s: CAS failed" % pair.key)
            return 1
        console.out("Success! Data written to: %s" % pair.key)
        return 0

    @staticmethod
    def _lock(kv, pair, acquire, console):
        try:
            done = kv.put(pair, acquire=acquire, release=not acquire)
        except ApiError as error:
            console.err("Error! Failed writing data: %s" % error)
            return 1
        if not done:
            console.err("Error! Did not acquire lock" if acquire else "Error! Did not release lock")
            return 1
        console.out("Success! Lock %s on: %s" % ("acquired" if acquire else "released", pair.key))
        return 0


class GetCommand(Command):
    synopsis = "Reads a value, or lists the keys under a prefix"
    usage = """
Usage: {prog} kv get [options] [KEY_OR_PREFIX]

  Prints the value stored under a key, or fails if there is no such
  key (an existing key with an empty value prints an empty line).

      $ {prog} kv get app/config/port

  -detailed adds the key's metadata (indexes, flags, lock session):

      $ {prog} kv get -detailed app/config/port

  -recurse prints "key:value" for every key under a prefix, and -keys
  lists the key names only, grouped at the next -separator:

      $ {prog} kv get -recurse app/
      $ {prog} kv get -keys app/
"""
    flag_groups = (
        (
            BoolFlag("base64", "Print values base64-encoded."),
            BoolFlag("detailed", "Print the key's metadata (CreateIndex, ModifyIndex, Flags, ...) with its value."),
            BoolFlag("keys", "List the key names under the prefix instead of values."),
            BoolFlag("recurse", "Print every key under the prefix with its value."),
            StringFlag(
                "separator",
                "With -keys, list names only up to the first separator after the prefix; "
                "an empty separator lists every key.",
                default="/",
                placeholder="string",
            ),
        ),
        ALL_HTTP_FLAGS,
    )

    def execute(self, parsed, console):
        key = _single_key_argument(parsed.args, console)
        if key is None:
            return 1
        if key == "" and not (parsed.recurse or parsed.keys):
            console.err("Error! Missing KEY argument")
            return 1
        kv = _connect(parsed, console)
        if kv is None:
            return 1
        try:
            if parsed.keys:
                for name in kv.keys(key, parsed.separator, stale=parsed.stale):
                    console.out(name)
            elif parsed.recurse:
                self._print_tree(kv.list(key, stale=parsed.stale), parsed, console)
            else:
                pair = kv.get(key, stale=parsed.stale)
                if pair is None:
                    console.err("Error! No key exists at: %s" % key)
                    return 1
                if parsed.detailed:
                    console.out(format_detailed(pair, parsed.base64))
                elif parsed.base64:
                    console.out(go_base64.encode(pair.value))
                else:
                    console.out(pair.value)
        except ApiError as error:
            console.err("Error querying Consul agent: %s" % error)
            return 1
        return 0

    @staticmethod
    def _print_tree(pairs, parsed, console):
        for index, pair in enumerate(pairs):
            if parsed.detailed:
                console.out(format_detailed(pair, parsed.base64))
                if index < len(pairs) - 1:
                    console.out()
                continue
            value = go_base64.encode(pair.value).encode() if parsed.base64 else pair.value
            console.out(pair.key.encode("utf-8", "surrogateescape") + b":" + value)


class DeleteCommand(Command):
    synopsis = "Deletes a key, or every key under a prefix"
    usage = """
Usage: {prog} kv delete [options] KEY_OR_PREFIX

  Deletes a key; deleting a key that does not exist succeeds and changes
  nothing.

      $ {prog} kv delete app/config/port

  -recurse deletes every key that starts with the prefix ("app" also
  deletes "apple" and "app/x"):

      $ {prog} kv delete -recurse app/
"""
    flag_groups = (
        (
            BoolFlag("cas", "Check-and-set: delete only if the key's ModifyIndex equals -modify-index."),
            Uint64Flag("modify-index", "ModifyIndex the key must have for a -cas delete."),
            BoolFlag("recurse", "Delete every key that starts with the prefix."),
        ),
        ALL_HTTP_FLAGS,
    )

    def execute(self, parsed, console):
        key = _single_key_argument(parsed.args, console)
        if key is None:
            return 1
        if key == "" and not parsed.recurse:
            console.err("Error! Missing KEY argument")
            return 1
        if parsed.cas and parsed.modify_index == 0:
            console.err("Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.")
            return 1
        if parsed.modify_index != 0 and not parsed.cas:
            console.err("Cannot specify -modify-index without -cas!")
            return 1
        if parsed.recurse and parsed.cas:
            console.err("Cannot specify both -cas and -recurse!")
            return 1
        kv = _connect(parsed, console)
        if kv is None:
            return 1
        if parsed.recurse:
            try:
                kv.delete_tree(key)
            except ApiError as error:
                console.err("Error! Did not delete prefix %s: %s" % (key, error))
                return 1
            console.out("Success! Deleted keys with prefix: %s" % key)
            return 0
        if parsed.cas:
            try:
                deleted = kv.delete(key, cas_index=parsed.modify_index)
            except ApiError as error:
                console.err("Error! Did not delete key %s: %s" % (key, error))
                return 1
            if not deleted:
                console.err("Error! Did not delete key %s: CAS failed" % key)
                return 1
        else:
            try:
                kv.delete(key)
            except ApiError as error:
                console.err("Error deleting key %s: %s" % (key, error))
                return 1
        console.out("Success! Deleted key: %s" % key)
        return 0


class ExportCommand(Command):
    synopsis = "Prints the keys under a prefix as JSON"
    usage = """
Usage: {prog} kv export [options] [PREFIX]

  Prints every key under PREFIX (everything when it is left out) as a
  JSON array of {"key", "flags", "value"} objects, values in base64. The
  output can be loaded into any agent with "{prog} kv import":

      $ {prog} kv export app/ > app.json
"""
    flag_groups = (ALL_HTTP_FLAGS,)

    def execute(self, parsed, console):
        prefix = _single_key_argument(parsed.args, console)
        if prefix is None:
            return 1
        kv = _connect(parsed, console)
        if kv is None:
            return 1
        try:
            pairs = kv.list(prefix, stale=parsed.stale)
        except ApiError as error:
            console.err("Error querying Consul agent: %s" % error)
            return 1
        entries = []
        for pair in pairs:
            entry = {"key": pair.key, "flags": pair.flags, "value": go_base64.encode(pair.value)}
            if pair.namespace:
                entry["namespace"] = pair.namespace
            entries.append(entry)
        console.out(go_json.marshal_indent(entries))
        return 0


class ImportCommand(Command):
    synopsis = "Writes the keys of a JSON export"
    usage = """
Usage: {prog} kv import [options] DATA

  Writes the keys of a JSON export made by "{prog} kv export". DATA is
  the JSON itself, @path to read it from a file, or "-" to read standard
  input:

      $ {prog} kv import @app.json
      $ {prog} kv export app/ | {prog} kv import -prefix=copy/ -
"""
    flag_groups = (
        (StringFlag("prefix", "Text put in front of every imported key.", placeholder="string"),),
        ALL_HTTP_FLAGS,
    )

    def execute(self, parsed, console):
        args = parsed.args
        if not args:
            console.err("Error! Missing DATA argument")
            return 1
        if len(args) > 1:
            console.err("Error! Too many arguments (expected 1, got %d)" % len(args))
            return 1
        if args[0] == "":
            console.err("Error! Empty DATA argument")
            return 1
        try:
            data = read_data_argument(args[0], console)
        except DataError as error:
            console.err("Error! %s" % error)
            return 1
        kv = _connect(parsed, console)
        if kv is None:
            return 1
        try:
            entries = parse_entries(data)
        except ImportFormatError as error:
            console.err("Cannot unmarshal data: %s" % error)
            return 1
        for entry in entries:
            key = parsed.prefix + entry.key
            try:
                value = go_base64.decode(entry.value)
            except go_base64.CorruptInputError as error:
                console.err("Error base 64 decoding value for key %s: %s" % (entry.key, error))
                return 1
            try:
                kv.put(KVPair(key=key, flags=entry.flags, value=value, namespace=entry.namespace))
            except ApiError as error:
                console.err("Error! Failed writing data for key %s: %s" % (key, error))
                return 1
            console.out("Imported: %s" % key)
        return 0


kv_group = Group(
    synopsis="Reads and writes the key-value store",
    usage="""
Usage: {prog} kv <subcommand> [options] [args]

  Reads and writes the agent's key-value store. For example:

      $ {prog} kv put app/config/port 8080
      $ {prog} kv get app/config/port
      $ {prog} kv get -detailed app/config/port
      $ {prog} kv delete app/config/port

  "{prog} kv <subcommand> -h" describes a subcommand and its options.
""",
    subcommands={
        "delete": DeleteCommand(),
        "export": ExportCommand(),
        "get": GetCommand(),
        "import": ImportCommand(),
        "put": PutCommand(),
    },
)
