"""Cluster membership as Raft stores it: the servers and whether each votes.

A configuration lives in the log as a CONFIGURATION entry and takes effect as
soon as it is appended (Raft dissertation §4.1), so the node always uses the
latest one in its log, committed or not.
"""

import attr
import msgpack


@attr.s(frozen=True, slots=True)
class Server:
    id: str = attr.ib()
    address: str = attr.ib()
    voter: bool = attr.ib(default=True)


@attr.s(frozen=True, slots=True)
class Configuration:
    servers: tuple = attr.ib(converter=tuple, default=())

    @property
    def voters(self):
        return frozenset(s.id for s in self.servers if s.voter)

    def server(self, server_id):
        for s in self.servers:
            if s.id == server_id:
                return s
        return None

    def quorum(self):
        return len(self.voters) // 2 + 1

    def encode(self):
        return msgpack.packb([[s.id, s.address, s.voter] for s in self.servers])

    @classmethod
    def decode(cls, data):
        return cls(Server(i, a, bool(v)) for i, a, v in msgpack.unpackb(data))
