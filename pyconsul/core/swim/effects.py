"""What the membership core returns from each input.

I/O requests (for the adapters):

- ``SendPacket``: one datagram. ``parts`` are the encoded messages, ready for
  ``codec.gossip.pack_packet`` (and ``Keyring.seal``); ``messages`` are the
  same messages as objects, for in-memory drivers and logs.
- ``OpenStream``: connect to ``to``, send ``message`` as a stream frame
  (``codec.gossip.encode_stream_frame``), read one frame back and hand it to
  ``handle_stream_reply(exchange_id, message, now)``; on any failure
  (refused, reset, undecodable, ``timeout`` seconds passed) call
  ``stream_failed(exchange_id, reason, now)``. The message is a ``PushPull``
  (join or periodic sync) or a ``Ping`` (the fallback of a failed probe).
- ``ReplyStream``: write ``message`` back on the incoming connection
  ``conn_id`` that was handed to ``handle_stream``, then close it. An
  incoming stream that gets no ``ReplyStream`` is simply closed.

Events (for the layer above and for logs):

- ``MemberEvent``: a member's state changed as we see it.
- ``JoinResult``: one address given to ``join`` answered, or failed to.
- ``UserMessage``: a gossiped message meant for the layer above.
- ``RemoteUserState``: the layer above's part of a push-pull from a peer.
- ``BroadcastFinished``: a broadcast queued with a notify token has gone out
  as often as it will.
- ``LeaveFinished``: our leave message has been sent to the cluster as often
  as it will be (or there was no one to tell).
- ``PingComplete``: a direct probe was answered in time with a payload
  (memberlist's ``NotifyPingComplete``): who, the round trip time in
  seconds, and the payload of the ack.
"""

from typing import Any, NamedTuple, Optional

from pyconsul.core.swim.messages import Address, Status


class Member(NamedTuple):
    """A snapshot of what we know about one member."""

    name: str
    addr: Address
    meta: bytes
    vsn: tuple[int, int, int, int, int, int]
    incarnation: int
    status: Status


class SendPacket(NamedTuple):
    to: Address
    parts: tuple[bytes, ...]
    messages: tuple[Any, ...]


class OpenStream(NamedTuple):
    exchange_id: int
    to: Address
    message: Any
    timeout: float


class ReplyStream(NamedTuple):
    conn_id: Any
    message: Any


class MemberEvent(NamedTuple):
    kind: str  # one of the constants below
    member: Member
    source: str  # the member whose message caused it ("" when local)


JOIN = "join"  # new, or back from dead/left
UPDATE = "update"  # its metadata changed
SUSPECT = "suspect"  # someone suspects it (Lifeguard statistics; Serf ignores it)
DEAD = "dead"  # declared failed
LEFT = "left"  # left on purpose


class JoinResult(NamedTuple):
    addr: Address
    error: Optional[str]  # None on success


class UserMessage(NamedTuple):
    sender: Address
    message: Any


class RemoteUserState(NamedTuple):
    state: bytes
    join: bool


class BroadcastFinished(NamedTuple):
    token: Any


class LeaveFinished(NamedTuple):
    pass


class PingComplete(NamedTuple):
    node: str
    rtt: float
    payload: bytes
