"""An in-memory Consul agent for the renderer: FakeKV's KV store plus a
catalog, with blocking queries on a fake clock.

:class:`FakeAgent` answers ``read(dep, index, wait)`` for every dependency
the templates can have: KV prefixes as FakeKV does, and the catalog's
queries with the JSON shapes Consul 1.10.3 gave (those recorded in
tests/data/consul-catalog/vectors.json): ``/v1/health/service/<name>``
(with ``?passing`` as the agent applies it), ``/v1/catalog/services``,
``/v1/catalog/nodes`` and ``/v1/catalog/node/<name>``. Each query's index
is the store's index when its answer last changed, so a blocking query
returns only when its own answer changed (or ``wait`` ran out).
``register`` and ``deregister`` change the catalog as ``PUT
/v1/catalog/register`` and ``/deregister`` do.
"""

import copy

from twisted.internet.defer import Deferred, fail, succeed

from pyconsul.template.consul import KVError, Listing
from pyconsul.template.deps import (
    CatalogNodeQuery,
    CatalogNodesQuery,
    CatalogServicesQuery,
    HealthServiceQuery,
    KVPrefix,
)
from tests.template.fakekv import FakeKV


def _node_json(node, index):
    return {"ID": node.get("ID", ""), "Node": node["Node"], "Address": node["Address"],
            "Datacenter": "dc1", "TaggedAddresses": node.get("TaggedAddresses"), "Meta": node.get("Meta"),
            "CreateIndex": index, "ModifyIndex": index}


def _service_json(service, index):
    return {"ID": service["ID"], "Service": service["Service"], "Tags": list(service.get("Tags", [])),
            "Address": service.get("Address", ""), "Meta": service.get("Meta"), "Port": service.get("Port", 0),
            "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False,
            "Proxy": {"Mode": "", "MeshGateway": {}, "Expose": {}}, "Connect": {},
            "CreateIndex": index, "ModifyIndex": index}


def _check_json(node, check, service, index):
    return {"Node": node, "CheckID": check["CheckID"], "Name": check.get("Name", check["CheckID"]),
            "Status": check["Status"], "Notes": "", "Output": check.get("Output", ""),
            "ServiceID": check.get("ServiceID", ""), "ServiceName": service["Service"] if service else "",
            "ServiceTags": list(service.get("Tags", [])) if service else [], "Type": "", "Interval": "",
            "Timeout": "", "ExposedPort": 0, "Definition": {}, "CreateIndex": index, "ModifyIndex": index}


class FakeAgent(FakeKV):
    def __init__(self, clock, node_name="agent-1"):
        super().__init__(clock)
        self.node_name = node_name
        self.nodes = {}  # name -> {"Node", "Address", ...}
        self.services = {}  # (node, service id) -> {"ID", "Service", "Tags", "Port", ...}
        self.checks = {}  # (node, check id) -> {"CheckID", "Status", "ServiceID", ...}
        self.answered = {}  # dep -> (its last answer, the index it changed at)
        self.catalog_requests = []  # (dep, index, wait)
        self.catalog_waiting = []  # [dep, index, Deferred, timer]
        self.register(node_name, "10.1.0.7", service={"ID": "consul", "Service": "consul", "Port": 8300})

    # -- changing the catalog ------------------------------------------------------------

    def register(self, node, address, service=None, check=None):
        self.index += 1
        self.nodes[node] = {"Node": node, "Address": address}
        if service is not None:
            self.services[(node, service["ID"])] = dict(service)
        if check is not None:
            self.checks[(node, check["CheckID"])] = dict(check)
        self._catalog_changed()

    def deregister(self, node, service_id=None):
        self.index += 1
        if service_id is None:
            self.nodes.pop(node)
            self.services = {k: v for k, v in self.services.items() if k[0] != node}
            self.checks = {k: v for k, v in self.checks.items() if k[0] != node}
        else:
            self.services.pop((node, service_id))
            self.checks = {k: v for k, v in self.checks.items() if v.get("ServiceID") != service_id}
        self._catalog_changed()

    # -- the reader's interface ----------------------------------------------------------------

    def read(self, dep, index=0, wait=None):
        if isinstance(dep, KVPrefix):
            return self.list(dep.prefix, index, wait)
        self.catalog_requests.append((dep, index, wait))
        if self.down:
            return fail(KVError(f'Get "http://fake{dep.request()[0]}": connection refused'))
        current, changed_at = self._current(dep)
        if not index or changed_at > index:
            return succeed(Listing(changed_at, copy.deepcopy(current)))
        entry = [dep, index, None, None]
        entry[2] = Deferred(lambda d: self._forget_catalog(entry))
        if wait is not None:
            entry[3] = self.clock.callLater(wait, self._catalog_timed_out, entry)
        self.catalog_waiting.append(entry)
        return entry[2]

    def requests_for(self, dep):
        return [(index, wait) for d, index, wait in self.catalog_requests if d == dep]

    def blocked_on(self, dep):
        return sum(1 for d, _, _, _ in self.catalog_waiting if d == dep)

    def go_down(self):
        super().go_down()
        for entry in list(self.catalog_waiting):
            self._forget_catalog(entry)
            entry[2].errback(KVError(f'Get "http://fake{entry[0].request()[0]}": EOF'))

    # -- answers ---------------------------------------------------------------------------------

    def _current(self, dep):
        answer = self._catalog_answer(dep)
        last = self.answered.get(dep)
        if last is None or last[0] != answer:
            self.answered[dep] = (answer, self.index)
        return self.answered[dep]

    def _catalog_answer(self, dep):
        if isinstance(dep, HealthServiceQuery):
            return self._health(dep)
        if isinstance(dep, CatalogServicesQuery):
            found = {}
            for service in self.services.values():
                found.setdefault(service["Service"], set()).update(service.get("Tags", []))
            return {name: sorted(tags) for name, tags in sorted(found.items())}
        if isinstance(dep, CatalogNodesQuery):
            return [_node_json(self.nodes[n], 1) for n in sorted(self.nodes)]
        if isinstance(dep, CatalogNodeQuery):
            name = dep.name or self.node_name
            if name not in self.nodes:
                return None
            services = {sid: _service_json(s, 1) for (n, sid), s in self.services.items() if n == name}
            return {"Node": _node_json(self.nodes[name], 1), "Services": services}
        raise AssertionError(f"the fake agent does not answer {dep}")

    def _health(self, dep):
        entries = []
        for (node, sid), service in sorted(self.services.items()):
            if service["Service"] != dep.name or (dep.tag and dep.tag not in service.get("Tags", [])):
                continue
            checks = [_check_json(node, c, service if c.get("ServiceID") else None, 1)
                      for (n, _), c in sorted(self.checks.items())
                      if n == node and c.get("ServiceID") in ("", None, sid)]
            if dep.passing_only and any(c["Status"] != "passing" for c in checks):
                continue
            entries.append({"Node": _node_json(self.nodes[node], 1), "Service": _service_json(service, 1),
                            "Checks": checks})
        return entries

    # -- blocking ------------------------------------------------------------------------------------

    def _catalog_changed(self):
        for entry in list(self.catalog_waiting):
            current, changed_at = self._current(entry[0])
            if changed_at > entry[1]:
                self._forget_catalog(entry)
                entry[2].callback(Listing(changed_at, copy.deepcopy(current)))

    def _forget_catalog(self, entry):
        if entry in self.catalog_waiting:
            self.catalog_waiting.remove(entry)
        if entry[3] is not None and entry[3].active():
            entry[3].cancel()

    def _catalog_timed_out(self, entry):
        entry[3] = None
        self._forget_catalog(entry)
        current, changed_at = self._current(entry[0])
        entry[2].callback(Listing(changed_at, copy.deepcopy(current)))
