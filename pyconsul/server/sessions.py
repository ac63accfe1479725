"""The session RPC endpoints (``Session.Apply``, ``.Get``, ``.List``,
``.NodeSessions``, ``.Renew``) and the leader's TTL timers.

A session with a TTL lives while it is renewed: the leader keeps a timer
per session and destroys it when twice its TTL has passed without a renewal
(Consul's grace: a client renewing at the TTL is never late). Renewals are
not written to the log; a new leader starts every timer afresh, so a change
of leader never ends a session early.
"""

import uuid

from pyconsul.golang import duration
from pyconsul.logs import Logger
from pyconsul.server.errors import RPCError
from pyconsul.state import commands
from pyconsul.state.sessions import DELETE, RELEASE

TTL_MIN, TTL_MAX = 10.0, 24 * 3600.0
TTL_MULTIPLIER = 2


def ttl_seconds(text):
    """A session's TTL in seconds (0 for none); RPCError with Consul's text."""
    if not text:
        return 0.0
    try:
        nanoseconds = duration.parse_duration(text)
    except duration.DurationError as error:
        raise RPCError("Session TTL '%s' invalid: %s" % (text, error))
    seconds = nanoseconds / duration.SECOND
    if seconds != 0 and not TTL_MIN <= seconds <= TTL_MAX:
        raise RPCError("Invalid Session TTL '%d', must be between [%s=%s]" % (
            nanoseconds, duration.format_duration(int(TTL_MIN * duration.SECOND)),
            duration.format_duration(int(TTL_MAX * duration.SECOND))))
    return seconds


class SessionTimers:
    """The leader's timers: one per session with a TTL."""

    log = Logger()

    def __init__(self, server, clock):
        self.server = server
        self.clock = clock
        self.timers = {}  # session ID -> IDelayedCall
        server.leadership_listeners.append(self._leadership)

    def _leadership(self, leading):
        self.clear_all()
        if not leading:
            return
        ready = self.server.read_ready("default")
        if ready is None:
            self._start_all()
        else:
            ready.addCallbacks(lambda _: self._start_all(), lambda failure: None)

    def _start_all(self):
        if not self.server.driver.is_leader:
            return
        for session in self.server.store.sessions.all():
            self.reset(session)

    def reset(self, session):
        """(Re)start the session's timer, if it has a TTL."""
        self.clear(session["ID"])
        ttl = ttl_seconds(session.get("TTL", ""))
        if ttl and self.server.driver.is_leader:
            self.timers[session["ID"]] = self.clock.callLater(ttl * TTL_MULTIPLIER, self._expired, session["ID"])

    def clear(self, session_id):
        timer = self.timers.pop(session_id, None)
        if timer is not None and timer.active():
            timer.cancel()

    def clear_all(self):
        for session_id in list(self.timers):
            self.clear(session_id)

    def _expired(self, session_id):
        self.timers.pop(session_id, None)
        if not self.server.driver.is_leader or self.server.store.sessions.get(session_id) is None:
            return
        self.log.info("Session {id} expired: its TTL lapsed without a renewal", id=session_id)
        d = self.server.apply(commands.session_destroy(session_id))
        d.addErrback(lambda failure: self.log.warn("Destroying expired session {id} failed: {error}",
                                                   id=session_id, error=failure.getErrorMessage()))


class SessionEndpoints:
    def __init__(self, endpoints, timers):
        self.endpoints = endpoints
        self.server = endpoints.server
        self.timers = timers

    @property
    def sessions(self):
        return self.endpoints.store.sessions  # a restore replaces the table

    def methods(self):
        return {
            "Session.Apply": self.apply,
            "Session.Get": self.get,
            "Session.List": self.list,
            "Session.NodeSessions": self.node_sessions,
            "Session.Renew": self.renew,
        }

    def apply(self, args):
        op = args.get("Op")
        session = dict(args.get("Session") or {})
        if op == "destroy":
            if not session.get("ID"):
                raise RPCError("Must provide ID")
            d = self.server.apply(commands.session_destroy(session["ID"]))
            d.addCallback(self._outcome)
            return d.addCallback(lambda _: self.timers.clear(session["ID"]) or True)
        if op != "create":
            raise RPCError("Invalid session operation %r" % (op,))
        if not session.get("Node"):
            raise RPCError("Must provide Node")
        behavior = session.get("Behavior") or RELEASE
        if behavior not in (RELEASE, DELETE):
            raise RPCError("Invalid Behavior setting '%s'" % behavior)
        ttl_seconds(session.get("TTL", ""))
        record = {
            "ID": str(uuid.uuid4()),
            "Name": session.get("Name", ""),
            "Node": session["Node"],
            "LockDelay": session.get("LockDelay", 0),
            "Behavior": behavior,
            "TTL": session.get("TTL", ""),
            "NodeChecks": session.get("NodeChecks"),
            "ServiceChecks": session.get("ServiceChecks"),
        }
        if session.get("Checks"):
            record["Checks"] = list(session["Checks"])
        while self.sessions.get(record["ID"]) is not None:
            record["ID"] = str(uuid.uuid4())

        def created(result):
            self._outcome(result)
            self.timers.reset(record)
            return record["ID"]

        return self.server.apply(commands.session_create(record)).addCallback(created)

    @staticmethod
    def _outcome(result):
        if isinstance(result, Exception):
            raise RPCError("apply failed: %s" % result)
        return result

    # -- reads -------------------------------------------------------------------

    def _read(self, args, view, find):
        def run(watch):
            watch.key(view)
            return max(self.sessions.index, 1), {"Sessions": find()}

        return self.endpoints._read(args, run, watches=self.endpoints.store.catalog_watches)

    def get(self, args):
        session_id = args.get("SessionID") or ""

        def find():
            session = self.sessions.get(session_id)
            return [] if session is None else [session]

        return self._read(args, ("session", session_id), find)

    def list(self, args):
        return self._read(args, ("sessions",), self.sessions.all)

    def node_sessions(self, args):
        node = args.get("Node") or ""
        return self._read(args, ("node-sessions", node.lower()), lambda: self.sessions.on_node(node))

    def renew(self, args):
        """The leader restarts the session's timer; no write."""
        session = self.sessions.get(args.get("SessionID") or "")
        if session is None:
            return {"Sessions": []}
        self.timers.reset(session)
        return {"Sessions": [session]}
