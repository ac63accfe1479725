"""Members as the agent sees them: Serf's status and Consul's numbering."""

from enum import IntEnum
from typing import Mapping

import attrs


class MemberStatus(IntEnum):
    """Consul reports these numbers in /v1/agent/members."""

    NONE = 0
    ALIVE = 1
    LEAVING = 2
    LEFT = 3
    FAILED = 4

    @property
    def label(self) -> str:
        """The word `consul members` prints."""
        return self.name.lower()


@attrs.frozen
class Member:
    name: str
    addr: str
    port: int
    tags: Mapping[str, str]
    status: MemberStatus
    # (protocol min, max, current, delegate min, max, current)
    vsn: tuple[int, int, int, int, int, int]
