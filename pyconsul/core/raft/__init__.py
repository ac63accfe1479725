"""A pure Raft core in the style of etcd's raft package.

The node takes ``tick()``, ``step(message)`` and ``propose(data)`` and returns its
work as a :class:`Ready` batch (entries and hard state to persist, messages to
send, committed entries to apply), after which the driver calls ``advance``. It
does no I/O and reads the persisted log through the synchronous
:class:`LogReader` interface, so tests run it on an in-memory network.
"""

from pyconsul.core.raft.configuration import Configuration, Server
from pyconsul.core.raft.messages import (
    AppendRequest,
    AppendResponse,
    Entry,
    EntryType,
    HardState,
    SnapshotMeta,
    SnapshotRequest,
    SnapshotResponse,
    VoteRequest,
    VoteResponse,
)
from pyconsul.core.raft.node import NotLeader, RaftNode, Ready, Role

__all__ = [
    "AppendRequest",
    "AppendResponse",
    "Configuration",
    "Entry",
    "EntryType",
    "HardState",
    "NotLeader",
    "RaftNode",
    "Ready",
    "Role",
    "Server",
    "SnapshotMeta",
    "SnapshotRequest",
    "SnapshotResponse",
    "VoteRequest",
    "VoteResponse",
]
