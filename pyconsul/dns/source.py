"""The catalog reads behind DNS answers.

With ``allow_stale`` (the default) they come from the agent cache: the
first question about a service fetches it from any server, and a blocking
query keeps it up to date from then on, so later questions cost no RPC at
all. Each read comes with a :class:`Dependency` that tells, by identity of
the cached reply, whether what was built from it still holds: that is how
a built answer is kept exactly until the catalog changes what it shows.

Services are looked up in the service list first, so that questions about
names that do not exist (typos, scans) never create cache entries of
their own. Without ``allow_stale`` every read asks the leader, and nothing
built from it is kept.

With ``translate_wan_addrs``, nodes and services of another datacenter are
answered with their WAN addresses (pyconsul.core.translate).
"""

import attr

from pyconsul.core import translate


@attr.s(slots=True, eq=False)
class Dependency:
    entry: object = attr.ib()  # an AgentCache entry
    reply: object = attr.ib()  # its reply when the answer was built

    def holds(self):
        return self.entry.reply is self.reply


class CatalogSource:
    def __init__(self, cache, rpc, datacenter, allow_stale=True, max_stale=None, translate_wan_addrs=False):
        self.cache = cache
        self.rpc = rpc
        self.datacenter = datacenter
        self.translator = translate.Translator(datacenter, translate_wan_addrs)
        self.allow_stale = allow_stale
        self.max_stale = max_stale
        self._by_lower = {}  # id of a reply -> (reply, {lower-case name: name or record})

    def _read(self, method, args):
        """A Deferred of (reply, Dependency or None)."""
        if not self.allow_stale:
            return self.rpc.call(method, args).addCallback(lambda reply: (reply, None))
        return self.cache.read(method, args, max_age=self.max_stale).addCallback(
            lambda found: (found[0], Dependency(found[1], found[0]) if found[1] is not None else None))

    def _lookup_table(self, reply, build):
        """A lower-case index of a reply, made once per reply."""
        known = self._by_lower.get(id(reply))
        if known is None or known[0] is not reply:
            if len(self._by_lower) > 64:
                self._by_lower.clear()
            known = self._by_lower[id(reply)] = (reply, build(reply))
        return known[1]

    def service(self, name, datacenter):
        """(health entries or None when there is no such service, dependencies).

        An answer about a service depends on that service's entries only;
        one about a name that is no service, on the service list."""
        datacenter = datacenter or self.datacenter
        d = self._read("Catalog.ListServices", {"Datacenter": datacenter})

        def listed(found):
            reply, listing = found
            services = self._lookup_table(reply, lambda r: {n.lower(): n for n in r["Services"]})
            if name.lower() not in services:
                return None, [listing]
            args = {"Datacenter": datacenter, "ServiceName": name.lower()}
            return self._read("Health.ServiceNodes", args).addCallback(entries)

        def entries(health):
            reply, dependency = health
            nodes = reply["Nodes"]
            if self.translator.applies(datacenter):
                nodes = [translate.check_service_node(entry) for entry in nodes]
            return nodes, [dependency]

        return d.addCallback(listed)

    def _nodes(self, datacenter):
        return self._read("Catalog.ListNodes", {"Datacenter": datacenter or self.datacenter})

    def node(self, name, datacenter):
        """(the node record or None, dependencies): found in the node list,
        then read (and kept) on its own, so that its answers change only
        with that node."""
        datacenter = datacenter or self.datacenter

        def listed(result):
            reply, listing = result
            nodes = self._lookup_table(reply, lambda r: {n["Node"].lower(): n["Node"] for n in r["Nodes"]})
            if name.lower() not in nodes:
                return None, [listing]
            args = {"Datacenter": datacenter, "Node": nodes[name.lower()]}
            return self._read("Catalog.NodeServices", args).addCallback(read)

        def read(result):
            reply, dependency = result
            found = reply["NodeServices"]
            if not found:
                return None, [dependency]
            node = found["Node"]
            return (translate.node(node) if self.translator.applies(datacenter) else node), [dependency]

        return self._nodes(datacenter).addCallback(listed)

    def nodes(self, datacenter=None):
        """(every node record, dependencies)."""
        return self._nodes(datacenter).addCallback(lambda result: (result[0]["Nodes"], [result[1]]))

    def service_nodes_at(self, address, datacenter=None):
        """Instances whose service address is ``address``. Rare (reverse
        lookups of service addresses): read afresh each time, not cached."""
        args = {"Datacenter": datacenter or self.datacenter, "ServiceAddress": address,
                "QueryOptions": {"AllowStale": self.allow_stale}}
        return self.rpc.call("Catalog.ServiceNodes", args).addCallback(lambda reply: reply["ServiceNodes"])


def all_hold(dependencies):
    """Whether every dependency still holds (False if any is None: built
    from a read that is not kept up to date)."""
    for dependency in dependencies:
        if dependency is None or dependency.entry.reply is not dependency.reply:
            return False
    return True

