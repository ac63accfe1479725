"""The transaction RPC endpoints: ``Txn.Apply`` (one log entry, all or
nothing) and ``Txn.Read`` (read-only operations, no log entry).

Before anything is written the leader checks every operation as Consul's
``preCheck`` does: a KV operation needs a key (but delete-tree), a lock
must be past its key's lock-delay, catalog writes need a node name and a
check ID. Every problem is answered as a ``TxnError`` at its position.
"""

from pyconsul.server.catalog import uuid_problem
from pyconsul.server.errors import RPCError
from pyconsul.state import commands, txn


def pre_check(store, ops):
    errors = []
    for position, op in enumerate(ops):
        problem = _problem(store, op)
        if problem is not None:
            errors.append({"OpIndex": position, "What": problem})
    return errors


def _problem(store, op):
    if "KV" in op:
        kv = op["KV"]
        key, verb = kv.get("Key") or "", kv.get("Verb") or ""
        if not key and verb != "delete-tree":
            return "Must provide key"
        if verb == "lock" and store.lock_delays.active(key):
            return 'failed to lock key "%s" due to lock delay' % key
        return None
    if "Node" in op and op["Node"].get("Verb") != "get":
        node = op["Node"].get("Node") or {}
        if not node.get("Node"):
            return "Must provide node"
        if node.get("ID"):
            problem = uuid_problem(node["ID"])
            if problem:
                return "Bad node ID: " + problem
    if "Service" in op and op["Service"].get("Verb") != "get":
        service = op["Service"].get("Service") or {}
        if service.get("ID") and not service.get("Service"):
            return "Must provide service name with ID"
        if service.get("Address") in ("0.0.0.0", "::", "[::]"):
            return "Invalid service address"
    return None


class TxnEndpoints:
    def __init__(self, endpoints):
        self.endpoints = endpoints
        self.server = endpoints.server

    @property
    def store(self):
        return self.endpoints.store

    def methods(self):
        return {"Txn.Apply": self.apply, "Txn.Read": self.read}

    def apply(self, args):
        ops = args.get("Ops") or []
        errors = pre_check(self.store, ops)
        if errors:
            return {"Results": None, "Errors": errors}

        def outcome(result):
            if isinstance(result, Exception):
                raise RPCError(str(result))
            return result

        return self.server.apply(commands.txn(ops)).addCallback(outcome)

    def read(self, args):
        ops = args.get("Ops") or []

        def run(watch):
            errors = pre_check(self.store, ops)
            if errors:
                return 0, {"Results": None, "Errors": errors}
            return 0, txn.read(self.store, ops)

        return self.endpoints._read(args, run)
