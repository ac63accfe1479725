"""Messages of the membership protocol.

They are immutable named tuples: cheap to build, safe to share between the
simulated members of a test, and packed by msgpack as plain arrays. The codec
(``pyconsul.codec.gossip``) checks every field on the way in, so the core can
trust their types.

An address is a ``(host, port)`` tuple.
"""

from enum import IntEnum
from typing import NamedTuple

Address = tuple[str, int]


class Status(IntEnum):
    """What one member believes about another (memberlist's numbering)."""

    ALIVE = 0
    SUSPECT = 1
    DEAD = 2
    LEFT = 3


class Ping(NamedTuple):
    """Are you there? Answered with an ``Ack`` carrying the same ``seq``."""

    seq: int
    target: str  # the name we expect to answer; a member ignores pings for others
    source_addr: Address
    source: str


class IndirectPing(NamedTuple):
    """Please ping ``target`` for me and relay its ack (SWIM's ping-req)."""

    seq: int
    target: str
    target_addr: Address
    want_nack: bool  # Lifeguard: tell me if you could not reach it either
    source_addr: Address
    source: str


class Ack(NamedTuple):
    seq: int
    # What the acker's layer above attaches to an answer to its own ping
    # (memberlist's ackResp.Payload; Serf puts its network coordinate here).
    # Relayed acks and stream acks carry none.
    payload: bytes = b""


class Nack(NamedTuple):
    """Sent by a relay that got no ack in time: proof that the relay is alive
    and talking to us, which is what local health awareness measures."""

    seq: int


class Alive(NamedTuple):
    incarnation: int
    node: str
    addr: Address
    meta: bytes
    # (protocol min, max, current, delegate min, max, current), as memberlist
    vsn: tuple[int, int, int, int, int, int]


class Suspect(NamedTuple):
    incarnation: int
    node: str
    sender: str  # who suspects it; distinct senders speed up the timeout


class Dead(NamedTuple):
    incarnation: int
    node: str
    sender: str  # when sender == node the member left on purpose


class PushNodeState(NamedTuple):
    """One row of the full-state exchange."""

    name: str
    addr: Address
    meta: bytes
    incarnation: int
    status: int
    vsn: tuple[int, int, int, int, int, int]


class PushPull(NamedTuple):
    """Full membership state, exchanged over a stream (TCP) in both directions."""

    join: bool
    nodes: tuple[PushNodeState, ...]
    user_state: bytes  # opaque to this layer; the Serf layer puts its clocks here


# Messages the membership core handles itself; any other message type that
# the codec knows is handed up to the layer above (see effects.UserMessage).
MEMBERSHIP_MESSAGES = (Ping, IndirectPing, Ack, Nack, Alive, Suspect, Dead)

# memberlist's protocol version range and the Serf delegate's, reported as
# ProtocolMin/Max/Cur and DelegateMin/Max/Cur by /v1/agent/members.
DEFAULT_VSN = (1, 5, 2, 2, 5, 4)
