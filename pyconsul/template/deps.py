"""What a template asks Consul for: one frozen, hashable object per distinct
question, as consul-template's dependencies.

A dependency is parsed from a template function's argument with
consul-template's syntax and messages (``"tag.web@dc1~_agent|passing,warning"``
for ``service``; ``health.service: invalid format: "web x"``), and knows

* ``request()``: the path and query parameters of its read (the client adds
  ``index`` and ``wait`` for a blocking query);
* ``parse(body)``: the answer's body as plain data (what a watch keeps and
  compares: JSON for the catalog, key -> bytes for KV);
* ``decode(raw)``: that data as the Go values a template sees, built afresh
  for every render;
* ``str()``: consul-template's name for it (``health.service(web|passing)``),
  for logs.

Equal questions are equal objects, so every template that asks one shares a
single watch. The parsing is pure; nothing here does I/O.
"""

import json
import re

import attr

from pyconsul.golang import strconv
from pyconsul.template import catalogvalues
from pyconsul.template.errors import GoError
from pyconsul.template.memkv import entries_from_consul

# consul-template's building blocks (dependency.go); [[:word:]] is ASCII.
_WORD = "0-9A-Za-z_"
_DC = rf"(@(?P<dc>[{_WORD}.\-_]+))?"
_FILTER = rf"(\|(?P<filter>[{_WORD},]+))?"
_SERVICE_NAME = rf"(?P<name>[{_WORD}\-_]+)"
_NODE_NAME = rf"(?P<name>[{_WORD}.\-_]+)"
_NEAR = rf"(~(?P<near>[{_WORD}.\-_]+))?"
_TAG = rf"((?P<tag>[{_WORD}=:.\-_]+)\.)?"
_KEY = r"/?(?P<key>[^@]+)"

HEALTH_SERVICE_RE = re.compile(_TAG + _SERVICE_NAME + _DC + _NEAR + _FILTER)
CATALOG_SERVICES_RE = re.compile(_DC)
CATALOG_NODES_RE = re.compile(_DC + _NEAR)
CATALOG_NODE_RE = re.compile(_NODE_NAME + _DC)
KV_RE = re.compile(_KEY + _DC)

HEALTH_FILTERS = ("any", "passing", "warning", "critical", "maintenance")


def _match(pattern, text):
    """Go's \\A...\\z match: the groups, or None."""
    found = pattern.fullmatch(text)
    return None if found is None else {k: v or "" for k, v in found.groupdict().items()}


def _params(**params):
    return tuple((k, v) for k, v in params.items() if v)


def _json(body):
    return json.loads(body)


@attr.s(frozen=True, slots=True)
class HealthServiceQuery:
    """``service``: instances of a service with their health (``/v1/health/service``)."""

    name = attr.ib()
    tag = attr.ib(default="")
    dc = attr.ib(default="")
    near = attr.ib(default="")
    filters = attr.ib(default=("passing",), converter=tuple)

    @property
    def passing_only(self):
        # Only the default (or a lone "passing") asks the agent to filter;
        # any other filter is applied here to every instance.
        return self.filters == ("passing",)

    def request(self):
        return "/v1/health/service/" + self.name, _params(
            dc=self.dc, near=self.near, tag=self.tag, passing="1" if self.passing_only else "")

    parse = staticmethod(_json)

    def accept(self, status):
        return any(f == status or f == "any" for f in self.filters)

    def decode(self, raw):
        return catalogvalues.health_services(raw, self.accept, sort=not self.near)

    def __str__(self):
        name = self.name
        if self.tag:
            name = self.tag + "." + name
        if self.dc:
            name += "@" + self.dc
        if self.near:
            name += "~" + self.near
        if self.filters:
            name += "|" + ",".join(self.filters)
        return f"health.service({name})"


@attr.s(frozen=True, slots=True)
class CatalogServicesQuery:
    """``services``: every service name with its tags (``/v1/catalog/services``)."""

    dc = attr.ib(default="")

    def request(self):
        return "/v1/catalog/services", _params(dc=self.dc)

    parse = staticmethod(_json)

    def decode(self, raw):
        return catalogvalues.catalog_snippets(raw)

    def __str__(self):
        return f"catalog.services(@{self.dc})" if self.dc else "catalog.services"


@attr.s(frozen=True, slots=True)
class CatalogNodesQuery:
    """``nodes``: every node (``/v1/catalog/nodes``)."""

    dc = attr.ib(default="")
    near = attr.ib(default="")

    def request(self):
        return "/v1/catalog/nodes", _params(dc=self.dc, near=self.near)

    parse = staticmethod(_json)

    def decode(self, raw):
        return catalogvalues.catalog_nodes(raw, sort=not self.near)

    def __str__(self):
        name = ("@" + self.dc if self.dc else "") + ("~" + self.near if self.near else "")
        return f"catalog.nodes({name})" if name else "catalog.nodes"


@attr.s(frozen=True, slots=True)
class CatalogNodeQuery:
    """``node``: one node and its services (``/v1/catalog/node/<name>``).

    Without a name it is the agent's own node, which the client learns from
    ``/v1/agent/self`` (``request_for(node_name)``)."""

    name = attr.ib(default="")
    dc = attr.ib(default="")

    @property
    def needs_local_node(self):
        return not self.name

    def request_for(self, node_name):
        return "/v1/catalog/node/" + node_name, _params(dc=self.dc)

    def request(self):
        return self.request_for(self.name)

    parse = staticmethod(_json)

    def decode(self, raw):
        return catalogvalues.catalog_node(raw)

    def __str__(self):
        name = self.name + ("@" + self.dc if self.dc else "")
        return f"catalog.node({name})" if name else "catalog.node"


@attr.s(frozen=True, slots=True)
class KVPrefix:
    """Everything under a KV prefix (``/v1/kv/<prefix>?recurse``): confd's
    resource keys, and what consul-template's KV functions read."""

    prefix = attr.ib()
    dc = attr.ib(default="")

    # A prefix with no keys is a 404, which is an empty listing.
    not_found_is_empty = True

    def request(self):
        return "/v1/kv/" + self.prefix, (("recurse", ""),) + _params(dc=self.dc)

    @staticmethod
    def parse(body):
        return entries_from_consul(json.loads(body))

    @staticmethod
    def decode(raw):
        return raw

    def __str__(self):
        return f"kv.list({self.prefix}" + (f"@{self.dc})" if self.dc else ")")


# -- parsing the functions' arguments ---------------------------------------------------


def _invalid(kind, text):
    return GoError(f"{kind}: invalid format: {strconv.quote(text)}")


def parse_health_service(text):
    """consul-template's NewHealthServiceQuery: ``tag.name@dc~near|filters``."""
    m = _match(HEALTH_SERVICE_RE, text)
    if m is None:
        raise _invalid("health.service", text)
    if not m["filter"]:
        filters = ("passing",)
    else:
        filters = []
        for f in (f.strip() for f in m["filter"].split(",")):
            if f == "":
                continue
            if f not in HEALTH_FILTERS:
                raise GoError(f"health.service: invalid filter: {strconv.quote(f)} in {strconv.quote(text)}")
            filters.append(f)
        filters = sorted(filters)
    return HealthServiceQuery(m["name"], m["tag"], m["dc"], m["near"], filters)


def parse_catalog_services(text):
    m = _match(CATALOG_SERVICES_RE, text)
    if m is None:
        raise _invalid("catalog.services", text)
    return CatalogServicesQuery(m["dc"])


def parse_catalog_nodes(text):
    m = _match(CATALOG_NODES_RE, text)
    if m is None:
        raise _invalid("catalog.nodes", text)
    return CatalogNodesQuery(m["dc"], m["near"])


def parse_catalog_node(text):
    """An empty text is the agent's own node."""
    if text == "":
        return CatalogNodeQuery()
    m = _match(CATALOG_NODE_RE, text)
    if m is None:
        raise _invalid("catalog.node", text)
    return CatalogNodeQuery(m["name"], m["dc"])


def parse_kv(kind, text):
    """consul-template's KV arguments: ``path@dc``, one leading slash dropped.

    ``kind`` names the query in the message (``kv.get``, ``kv.list``). Returns
    ``(path, KVPrefix)``: every KV read is a recursive listing, so ``key
    "a/b"`` and ``tree "a/b"`` share one query."""
    m = _match(KV_RE, text)
    if m is None:
        raise _invalid(kind, text)
    return m["key"], KVPrefix(m["key"], m["dc"])
