"""The cluster-membership calls of Go's ``api`` package (``client.Agent()``).

The consul CLI sends these requests, so an agent sees the same thing from
``pyconsul`` as from ``consul``:

* ``GET /v1/agent/members?segment=_all`` (and ``&wan=1``): the segment is
  always sent, ``_all`` unless ``-segment`` says otherwise;
* ``PUT /v1/agent/join/<address>`` (``?wan=1``), ``PUT /v1/agent/leave``,
  ``PUT /v1/agent/force-leave/<node>`` (``?prune=1``, ``?wan=1``).

Only a 200 answer is a success; anything else is an ``UnexpectedStatus``
(``Unexpected response code: 500 (<body>)``). The member list is decoded as
Go decodes it into ``[]*api.AgentMember``: field names match without regard
to case, unknown fields are ignored, and a value of the wrong type is an
error worded as Go words it.
"""

from dataclasses import dataclass, field

from pyconsul.cli.http import ApiError, UnexpectedStatus
from pyconsul.golang import json as go_json
from pyconsul.golang.errors import GoError

ALL_SEGMENTS = "_all"  # api.AllSegments: every network segment the agent knows


class DecodeError(ApiError):
    """The agent's answer is not the JSON the call expects; ``str()`` is Go's wording."""


@dataclass
class Member:
    """One gossip member, as /v1/agent/members lists it."""

    name: str = ""
    addr: str = ""
    port: int = 0
    tags: dict = field(default_factory=dict)
    status: int = 0
    protocol_min: int = 0
    protocol_max: int = 0
    protocol_cur: int = 0
    delegate_min: int = 0
    delegate_max: int = 0
    delegate_cur: int = 0


# -------------------------------------------------------------------- decoding

STRUCT = "AgentMember"
# JSON field name -> (attribute, Go type); the types bound the numbers.
MEMBER_FIELDS = {
    "Name": ("name", "string"),
    "Addr": ("addr", "string"),
    "Port": ("port", "uint16"),
    "Tags": ("tags", "map[string]string"),
    "Status": ("status", "int"),
    "ProtocolMin": ("protocol_min", "uint8"),
    "ProtocolMax": ("protocol_max", "uint8"),
    "ProtocolCur": ("protocol_cur", "uint8"),
    "DelegateMin": ("delegate_min", "uint8"),
    "DelegateMax": ("delegate_max", "uint8"),
    "DelegateCur": ("delegate_cur", "uint8"),
}
_FIELDS_BY_FOLDED_NAME = {name.lower(): name for name in MEMBER_FIELDS}
INTEGER_RANGES = {
    "int": (-(1 << 63), (1 << 63) - 1),
    "uint8": (0, (1 << 8) - 1),
    "uint16": (0, (1 << 16) - 1),
}


class _Number(str):
    """A JSON number kept as its literal text, so that range errors can quote it."""


def _kind(value, go_type):
    """The words Go's UnmarshalTypeError uses for a JSON value.

    A number is quoted only when it was meant for an integer (it is then out
    of range or not whole); put anywhere else it is just "number".
    """
    if isinstance(value, _Number):
        return "number " + value if go_type in INTEGER_RANGES else "number"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Decoder:
    """Fills Members from decoded JSON; keeps the first type error, as Go does."""

    def __init__(self):
        self.first_error = None

    def mismatch(self, value, go_type, field_name=None):
        if self.first_error is None:
            kind = _kind(value, go_type)
            if field_name is None:
                where = "Go value"
            else:
                where = "Go struct field %s.%s" % (STRUCT, field_name)
            self.first_error = "json: cannot unmarshal %s into %s of type %s" % (kind, where, go_type)

    def members(self, items):
        if items is None:
            return []
        if not isinstance(items, list):
            self.mismatch(items, "[]*api.AgentMember")
            return []
        members = []
        for item in items:
            if item is None:
                continue  # a null pointer in Go: no member to show
            if not isinstance(item, dict):
                self.mismatch(item, "api.AgentMember")
                continue
            members.append(self.member(item))
        return members

    def member(self, item):
        member = Member()
        for key, value in item.items():
            # Go prefers the exact field name, then one that differs only in case.
            name = key if key in MEMBER_FIELDS else _FIELDS_BY_FOLDED_NAME.get(key.lower())
            if name is None or value is None:
                continue  # unknown fields are ignored; null leaves the zero value
            attribute, go_type = MEMBER_FIELDS[name]
            if go_type == "string":
                if isinstance(value, str) and not isinstance(value, _Number):
                    setattr(member, attribute, value)
                else:
                    self.mismatch(value, go_type, name)
            elif go_type == "map[string]string":
                if isinstance(value, dict):
                    member.tags = self.tags(value, name)
                else:
                    self.mismatch(value, go_type, name)
            else:
                number = self.integer(value, go_type, name)
                if number is not None:
                    setattr(member, attribute, number)
        return member

    def tags(self, value, field_name):
        tags = {}
        for key, text in value.items():
            if text is None:
                tags[key] = ""
            elif isinstance(text, str) and not isinstance(text, _Number):
                tags[key] = text
            else:
                self.mismatch(text, "string", field_name)
        return tags

    def integer(self, value, go_type, field_name):
        if not isinstance(value, _Number):
            self.mismatch(value, go_type, field_name)
            return None
        low, high = INTEGER_RANGES[go_type]
        try:
            number = int(value)
        except ValueError:  # a fraction or an exponent: Go's ParseInt refuses it
            number = None
        if low == 0 and value.startswith("-"):
            number = None  # ParseUint refuses any sign, even on "-0"
        if number is None or not low <= number <= high:
            self.mismatch(value, go_type, field_name)
            return None
        return number


def decode_members(body):
    """The members in an answer body; raises DecodeError with Go's message."""
    if not body.strip(b" \t\r\n"):
        raise DecodeError("EOF")  # json.Decoder on an empty stream
    try:
        items = go_json.unmarshal(body, number=_Number)
    except GoError as error:
        message = str(error)
        if message == "unexpected end of JSON input":
            message = "unexpected EOF"  # json.Decoder's word for a cut-off value
        raise DecodeError(message) from None
    decoder = _Decoder()
    members = decoder.members(items)
    if decoder.first_error is not None:
        raise DecodeError(decoder.first_error)
    return members


# ----------------------------------------------------------------------- calls


class Agent:
    def __init__(self, client):
        self.client = client

    def _call(self, method, path, params=None):
        response = self.client.request(method, path, params)
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        return response

    def members(self, wan=False, segment=ALL_SEGMENTS):
        """The LAN members (or the WAN pool's, on a server); raises ApiError."""
        params = {"segment": segment}
        if wan:
            params["wan"] = "1"
        return decode_members(self._call("GET", "/v1/agent/members", params).body)

    def join(self, address, wan=False):
        """Ask the agent to join the cluster through address."""
        self._call("PUT", "/v1/agent/join/" + address, {"wan": "1"} if wan else None)

    def leave(self):
        """Ask the agent to leave the cluster gracefully and shut down."""
        self._call("PUT", "/v1/agent/leave")

    def force_leave(self, node, prune=False, wan=False):
        """Ask the agent to mark a failed node as left (prune: forget it at once)."""
        params = {}
        if prune:
            params["prune"] = "1"
        if wan:
            params["wan"] = "1"
        self._call("PUT", "/v1/agent/force-leave/" + node, params)
