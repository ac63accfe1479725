"""Events the Serf layer reports (besides the I/O effects of the core)."""

from enum import Enum
from typing import NamedTuple

from pyconsul.core.serf.member import Member


class EventType(str, Enum):
    JOIN = "member-join"
    LEAVE = "member-leave"
    FAILED = "member-failed"
    UPDATE = "member-update"
    REAP = "member-reap"


class MemberEvent(NamedTuple):
    type: EventType
    member: Member


class LeaveComplete(NamedTuple):
    """Our graceful leave is done: the agent may stop its listeners."""


class UserEvent(NamedTuple):
    """A user event this member has not seen before (each is reported once)."""

    ltime: int
    name: str
    payload: bytes
    coalesce: bool
