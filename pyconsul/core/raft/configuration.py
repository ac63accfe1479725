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

    def with_server(self, server_id, address, voter=True):
        """This configuration with ``server_id`` added, or replaced in place."""
        new = Server(server_id, address, voter)
        if self.server(server_id) is None:
            return Configuration(self.servers + (new,))
        return Configuration(new if s.id == server_id else s for s in self.servers)

    def without_server(self, server_id):
        return Configuration(s for s in self.servers if s.id != server_id)

    def changed_servers(self, other):
        """Ids of the servers added, removed or altered between the two."""
        ids = {s.id for s in self.servers} | {s.id for s in other.servers}
        return sorted(i for i in ids if self.server(i) != other.server(i))

    def encode(self):
        return msgpack.packb([[s.id, s.address, s.voter] for s in self.servers])

    @classmethod
    def decode(cls, data):
        return cls(Server(i, a, bool(v)) for i, a, v in msgpack.unpackb(data))


def check_single_change(current, proposed):
    """Refuse a configuration that is not ``current`` changed by exactly one
    server (thesis §4.1: with one change at a time, any majority of the old
    configuration overlaps any majority of the new one, so the two can never
    elect two leaders in one term)."""
    ids = [s.id for s in proposed.servers]
    if len(ids) != len(set(ids)):
        raise ValueError("a configuration lists a server twice")
    if not proposed.voters:
        raise ValueError("a configuration needs at least one voter")
    changed = current.changed_servers(proposed)
    if not changed:
        raise ValueError("the configuration is unchanged")
    if len(changed) > 1:
        raise ValueError(
            "configurations change one server at a time; this changes %s" % ", ".join(changed)
        )
