"""A pure Raft core in the style of etcd's raft package.

The node takes ``tick()``, ``step(message)`` and ``propose(data)`` and returns its
work as a :class:`Ready` batch (entries and hard state to persist, messages to
send, committed entries to apply), after which the driver calls ``advance``. It
does no I/O and reads the persisted log through the synchronous
:class:`LogReader` interface, so tests run it on an in-memory network.

Beyond the paper's core it has pre-vote, check-quorum and a leader lease,
membership changes one server at a time, and leadership transfer.
"""

from pyconsul.core.raft.configuration import Configuration, Server
from pyconsul.core.raft.errors import (
    ConfigurationChangeInProgress,
    LeadershipTransferInProgress,
    NotLeader,
)
from pyconsul.core.raft.messages import (
    AppendRequest,
    AppendResponse,
    Entry,
    EntryType,
    HardState,
    SnapshotMeta,
    SnapshotRequest,
    SnapshotResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from pyconsul.core.raft.node import RaftNode, Ready, Role

__all__ = [
    "AppendRequest",
    "AppendResponse",
    "Configuration",
    "ConfigurationChangeInProgress",
    "Entry",
    "EntryType",
    "HardState",
    "LeadershipTransferInProgress",
    "NotLeader",
    "RaftNode",
    "Ready",
    "Role",
    "Server",
    "SnapshotMeta",
    "SnapshotRequest",
    "SnapshotResponse",
    "TimeoutNow",
    "VoteRequest",
    "VoteResponse",
]
