"""Network faults that tests switch on, to partition real agents.

With ``-enable-fault-injection`` an agent accepts ``PUT /v1/debug/faults``
(``{"Block": ["10.0.0.2", ...]}``): from then on it sends nothing to the
listed hosts -- no gossip, no Raft, no RPC -- until the list is emptied.
Setting the same list on both sides of a partition cuts it both ways.
Without the flag this object stays empty and every check is a set lookup.
"""


class Faults:
    def __init__(self):
        self.blocked = frozenset()
        self.listeners = []  # called with the new set, to drop open connections

    def block(self, hosts):
        self.blocked = frozenset(hosts)
        for listener in self.listeners:
            listener(self.blocked)

    def blocks(self, host):
        return host in self.blocked


def host_of(address):
    """The host part of "host:port" or "[v6]:port"."""
    host, _, _ = address.rpartition(":")
    return host.strip("[]")


NO_FAULTS = Faults()
