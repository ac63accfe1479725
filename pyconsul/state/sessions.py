"""Sessions: who holds which KV locks, and what ends that.

A session belongs to a node and is tied to health checks (the node's
``serfHealth`` by default, and any node or service checks it names). It
ends when it is destroyed, when one of its checks turns critical or goes
away, when its node is deregistered, or (enforced by the leader, see
``pyconsul.server.sessions``) when its TTL lapses. Ending it releases the
keys it holds, or deletes them (``Behavior: delete``), and starts their
lock-delay: for that long no session may take those locks.

Session records keep Consul's shape (``structs.Session`` as the HTTP API
shows it). Blocking reads watch three kinds of views on the catalog's
registry: ``("sessions",)`` (any session), ``("session", id)`` and
``("node-sessions", node)``.
"""

from pyconsul.state.records import CRITICAL

RELEASE, DELETE = "release", "delete"
MAX_LOCK_DELAY = 60.0  # seconds: Consul's cap, whatever the session asks


class SessionError(Exception):
    """A session write the state store refuses; the message is Consul's."""


def _node_key(name):
    return name.lower()


def session_checks(session):
    """The IDs of the checks (node and service ones) a session is tied to."""
    checks = [check for check in session.get("NodeChecks") or ()]
    checks += [check["ID"] for check in session.get("ServiceChecks") or ()]
    checks += [check for check in session.get("Checks") or () if check not in checks]  # the deprecated field
    return checks


class SessionTable:
    def __init__(self, watches):
        self.watches = watches
        self.sessions = {}  # ID -> record
        self.by_node = {}  # node key -> {ID}
        self.index = 0  # of the last session change

    def get(self, session_id):
        return self.sessions.get(session_id)

    def all(self):
        return sorted(self.sessions.values(), key=lambda s: s["ID"])

    def on_node(self, node):
        ids = self.by_node.get(_node_key(node), ())
        return sorted((self.sessions[i] for i in ids), key=lambda s: s["ID"])

    def _touch(self, index, session):
        self.index = index
        for view in (("sessions",), ("session", session["ID"]), ("node-sessions", _node_key(session["Node"]))):
            self.watches.changed(view)

    def add(self, index, session):
        record = dict(session, CreateIndex=index, ModifyIndex=index)
        self.sessions[record["ID"]] = record
        self.by_node.setdefault(_node_key(record["Node"]), set()).add(record["ID"])
        self._touch(index, record)
        return record

    def remove(self, index, session_id):
        record = self.sessions.pop(session_id)
        ids = self.by_node.get(_node_key(record["Node"]))
        if ids is not None:
            ids.discard(session_id)
            if not ids:
                del self.by_node[_node_key(record["Node"])]
        self._touch(index, record)
        return record

    def copy(self):
        other = SessionTable(self.watches)
        other.sessions = dict(self.sessions)
        other.by_node = {node: set(ids) for node, ids in self.by_node.items()}
        other.index = self.index
        return other

    # -- snapshots ---------------------------------------------------------------

    def snapshot_records(self):
        sessions = list(self.sessions.values())
        index = self.index

        def records():
            yield ["sessions-index", index]
            for session in sessions:
                yield ["session", session]

        return records()

    def restore_record(self, record):
        if record[0] == "sessions-index":
            self.index = record[1]
        elif record[0] == "session":
            session = record[1]
            self.sessions[session["ID"]] = session
            self.by_node.setdefault(_node_key(session["Node"]), set()).add(session["ID"])
        else:
            return False
        return True


def problem_with(catalog, session):
    """Why the catalog refuses ``session`` as it stands, or None."""
    node = catalog.node(session["Node"])
    if node is None:
        return "Missing node registration"
    for check_id in session_checks(session):
        check = catalog.checks.get((_node_key(session["Node"]), check_id.lower()))
        if check is None:
            return "Missing check '%s' registration" % check_id
        if check["Status"] == CRITICAL:
            return "Check '%s' is in critical state" % check_id
    return None


class LockDelays:
    """When each key's lock-delay ends, in the clock's seconds. Not
    replicated: each server starts it when it applies the session's end, as
    Consul does."""

    def __init__(self, clock):
        self.clock = clock
        self.expiry = {}

    def start(self, key, seconds):
        if seconds > 0:
            self.expiry[key] = self.clock.seconds() + seconds

    def active(self, key):
        until = self.expiry.get(key)
        if until is None:
            return False
        if until <= self.clock.seconds():
            del self.expiry[key]
            return False
        return True


def uuid_problem(text):
    """Why the session table's UUID index cannot look ``text`` up (go-memdb's
    UUIDFieldIndex), or None."""
    if len(text) != 36:
        return "UUID must be 36 characters"
    if text.count("-") > 4:
        return 'UUID should have maximum of 4 "-"; got %d' % text.count("-")
    bare = text.replace("-", "")
    if len(bare) % 2:
        return "Input (without hyphens) must be even length"
    for char in bare:
        if char not in "0123456789abcdefABCDEF":
            return "Invalid UUID: encoding/hex: invalid byte: U+%04X %r" % (ord(char), char)
    return None


class Sessions:
    """The session rules across the tables: creating one against the
    catalog, and ending one in the KV store."""

    def __init__(self, store, lock_delays):
        self.store = store
        self.lock_delays = lock_delays

    def create(self, index, session):
        problem = problem_with(self.store.catalog, session)
        if problem is not None:
            raise SessionError(problem)
        if session["ID"] in self.store.sessions.sessions:
            raise SessionError("Session ID '%s' already exists" % session["ID"])
        self.store.sessions.add(index, session)
        return session["ID"]

    def destroy(self, index, session_id):
        """End the session: its keys released or deleted, their lock-delay
        started. Ending one that does not exist is no error."""
        table = self.store.sessions
        session = table.get(session_id)
        if session is None:
            return True
        kv = self.store.kv
        delay = min(session.get("LockDelay", 0) / 1e9, MAX_LOCK_DELAY)
        for key in kv.keys_locked_by(session_id):
            if session.get("Behavior") == DELETE:
                kv.delete(index, key)
            else:
                kv.release_lock(index, key)
            self.lock_delays.start(key, delay)
        table.remove(index, session_id)
        queries = getattr(self.store, "queries", None)
        if queries is not None:  # prepared queries tied to the session go with it
            queries.delete_session(index, session_id)
        return True

    def revalidate(self, index, node):
        """End the node's sessions that its checks (or its absence) no
        longer allow, and those of nodes that have gone (a node renamed
        under its ID takes the old name away): after every catalog write."""
        catalog = self.store.catalog
        nodes = {node.lower()} | {name for name in self.store.sessions.by_node if name not in catalog.nodes}
        for name in sorted(nodes):
            for session in self.store.sessions.on_node(name):
                if problem_with(catalog, session) is not None:
                    self.destroy(index, session["ID"])

    def all_views(self):
        """Every view a blocking session read may watch (for a restore)."""
        views = [("sessions",)]
        for session in self.store.sessions.sessions.values():
            views += [("session", session["ID"]), ("node-sessions", _node_key(session["Node"]))]
        return views
