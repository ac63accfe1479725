"""The commands that travel through the Raft log, and their encoding.

A command is a msgpack list: its name, then its arguments. Keeping the
encoding here, apart from the tables, keeps the log format in one place.
"""

import msgpack


class CommandError(Exception):
    """A log entry that is not a command this version understands."""


def encode(name, *args):
    return msgpack.packb([name, *args], use_bin_type=True)


def decode(data):
    try:
        command = msgpack.unpackb(data, raw=False)
    except Exception as e:  # msgpack raises several types for bad input
        raise CommandError("undecodable command: %s" % e) from e
    if not isinstance(command, list) or not command or not isinstance(command[0], str):
        raise CommandError("malformed command: %r" % (command,))
    return command[0], command[1:]


def kv_set(key, value, flags=0):
    return encode("kv-set", key, value, flags)


def kv_cas(key, value, flags, cas_index):
    return encode("kv-cas", key, value, flags, cas_index)


def kv_lock(key, value, flags, session):
    return encode("kv-lock", key, value, flags, session)


def kv_unlock(key, value, flags, session):
    return encode("kv-unlock", key, value, flags, session)


def kv_delete(key):
    return encode("kv-delete", key)


def kv_delete_cas(key, cas_index):
    return encode("kv-delete-cas", key, cas_index)


def kv_delete_tree(prefix):
    return encode("kv-delete-tree", prefix)


def tombstone_reap(up_to):
    return encode("tombstone-reap", up_to)


def catalog_register(request):
    return encode("catalog-register", request)


def catalog_deregister(request):
    return encode("catalog-deregister", request)


def session_create(session):
    return encode("session-create", session)


def session_destroy(session_id):
    return encode("session-destroy", session_id)


def txn(ops):
    return encode("txn", ops)


def prepared_query(request):
    """A PreparedQueryRequest: ``{"Op": create|update|delete, "Query": {...}}``."""
    return encode("prepared-query", request)


def coordinate_batch_update(updates):
    """Network coordinates from the leader's batch: [{"Node", "Segment", "Coord"}]."""
    return encode("coordinate-batch-update", updates)
