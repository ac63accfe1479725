"""/v1/session: creating, renewing, destroying and listing sessions."""

from pyconsul.golang import duration
from pyconsul.golang import gostruct as go
from pyconsul.http.catalog import decode_body
from pyconsul.http.request import BadRequest
from pyconsul.http.response import error_body, json_body
from pyconsul.state.records import SERF_CHECK_ID

STRING, STRINGS = go.String(), go.Slice(go.String())
SERVICE_CHECK = go.Struct("ServiceCheck", "structs.ServiceCheck", [
    go.Field("ID", STRING), go.Field("Namespace", STRING)])
SESSION = go.Struct("Session", "structs.Session", [
    go.Field("ID", STRING), go.Field("Name", STRING), go.Field("Node", STRING),
    go.Field("LockDelay", go.Any(plain=True)), go.Field("Behavior", go.String("structs.SessionBehavior")),
    go.Field("TTL", STRING), go.Field("NodeChecks", STRINGS), go.Field("ServiceChecks", go.Slice(SERVICE_CHECK)),
    go.Field("Checks", go.Slice(go.String("types.CheckID"))),
])

DEFAULT_LOCK_DELAY = 15 * duration.SECOND
# A LockDelay given as a number below this is in seconds, not nanoseconds.
LOCK_DELAY_SECONDS_BELOW = 1000


def lock_delay(value):
    """Session.UnmarshalJSON's LockDelay: a duration string, or a number
    (of seconds when small)."""
    if isinstance(value, str):
        try:
            nanoseconds = duration.parse_duration(value)
        except duration.DurationError as error:
            raise BadRequest("Request decode failed: %s" % error)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        nanoseconds = int(value)
    else:
        return DEFAULT_LOCK_DELAY if value is None else 0
    if nanoseconds < LOCK_DELAY_SECONDS_BELOW:
        nanoseconds *= duration.SECOND
    return nanoseconds


def session_json(session):
    checks = session.get("ServiceChecks")
    shown = {
        "ID": session["ID"],
        "Name": session.get("Name", ""),
        "Node": session["Node"],
        "LockDelay": session.get("LockDelay", 0),
        "Behavior": session.get("Behavior", ""),
        "TTL": session.get("TTL", ""),
        "NodeChecks": session.get("NodeChecks"),
        "ServiceChecks": None if checks is None else [
            {"ID": c.get("ID", ""), "Namespace": c.get("Namespace", "")} for c in checks],
    }
    if session.get("Checks"):
        shown["Checks"] = list(session["Checks"])
    shown.update(CreateIndex=session["CreateIndex"], ModifyIndex=session["ModifyIndex"])
    return shown


def _suffix(call, prefix, missing):
    value = call.path[len(prefix):]
    if not value:
        raise BadRequest(missing)
    return value


class SessionEndpoint:
    def __init__(self, rpc, node_name):
        self.rpc = rpc
        self.node_name = node_name

    def create(self, call):
        session = {"Node": self.node_name, "NodeChecks": [SERF_CHECK_ID], "LockDelay": DEFAULT_LOCK_DELAY,
                   "Behavior": "release", "TTL": ""}
        if call.body_length():
            given = decode_body(call, SESSION)
            if "LockDelay" in given:
                given["LockDelay"] = lock_delay(given["LockDelay"])
            # The deprecated Checks come on top of the node checks, but an
            # empty list given takes out the default serfHealth (Consul's
            # fixupEmptySessionChecks).
            if "Checks" in given and not given["Checks"]:
                del given["Checks"]
                given.setdefault("NodeChecks", [])
            session.update(given)
        args = call.write_args()
        args.update(Op="create", Session=session)
        d = self.rpc.call("Session.Apply", args)
        return d.addCallback(lambda session_id: json_body(call.request, {"ID": session_id}, call.pretty))

    def destroy(self, call):
        session_id = _suffix(call, "/v1/session/destroy/", "Missing session")
        args = call.write_args()
        args.update(Op="destroy", Session={"ID": session_id})
        return self.rpc.call("Session.Apply", args).addCallback(lambda _: json_body(call.request, True))

    def renew(self, call):
        session_id = _suffix(call, "/v1/session/renew/", "Missing session")
        args = call.write_args()
        args["SessionID"] = session_id

        def renewed(reply):
            sessions = reply["Sessions"]
            if not sessions:
                return error_body(call.request, 404, "Session id '%s' not found" % session_id)
            return json_body(call.request, [session_json(s) for s in sessions], call.pretty)

        return self.rpc.call("Session.Renew", args).addCallback(renewed)

    def _read(self, call, method, **args):
        options = call.read_options()
        args.update(Datacenter=options.datacenter, QueryOptions=options.as_rpc())

        def answered(reply):
            call.query_meta(reply)
            return json_body(call.request, [session_json(s) for s in reply["Sessions"]], call.pretty)

        return self.rpc.call(method, args).addCallback(answered)

    def info(self, call):
        return self._read(call, "Session.Get", SessionID=_suffix(call, "/v1/session/info/", "Missing session"))

    def node(self, call):
        return self._read(call, "Session.NodeSessions", Node=_suffix(call, "/v1/session/node/", "Missing node name"))

    def list(self, call):
        return self._read(call, "Session.List")
