"""The catalog calls of Go's ``api`` package (``client.Catalog()``), as the
consul CLI's catalog commands make them.

* ``GET /v1/catalog/datacenters``, ``/v1/catalog/nodes``,
  ``/v1/catalog/service/<name>``, ``/v1/catalog/node/<name>`` and
  ``/v1/catalog/services``;
* query options as ``setQueryOptions`` writes them: ``near`` and ``filter``
  only when given, one ``node-meta=key:value`` per pair;
* only a 200 is an answer (``Unexpected response code: ...`` otherwise), and
  the body is decoded into the api struct, with Go's error texts for a body
  that does not fit. ``/v1/catalog/node/<name>`` answers ``null`` for a node
  it does not know: that is ``None`` here, not an error.
"""

from pyconsul.cli.http import ApiError, UnexpectedStatus
from pyconsul.golang import gostruct as go

STRING, INT, UINT = go.String(), go.Int(), go.Uint()
STRINGS = go.Slice(STRING)
STRING_MAP = go.Map(STRING)

NODE = go.Struct("Node", "api.Node", [
    go.Field("ID", STRING),
    go.Field("Node", STRING),
    go.Field("Address", STRING),
    go.Field("Datacenter", STRING),
    go.Field("TaggedAddresses", STRING_MAP),
    go.Field("Meta", STRING_MAP),
    go.Field("CreateIndex", UINT),
    go.Field("ModifyIndex", UINT),
], pointer=True)

CATALOG_SERVICE = go.Struct("CatalogService", "api.CatalogService", [
    go.Field("ID", STRING),
    go.Field("Node", STRING),
    go.Field("Address", STRING),
    go.Field("Datacenter", STRING),
    go.Field("TaggedAddresses", STRING_MAP),
    go.Field("NodeMeta", STRING_MAP),
    go.Field("ServiceID", STRING),
    go.Field("ServiceName", STRING),
    go.Field("ServiceAddress", STRING),
    go.Field("ServiceTags", STRINGS),
    go.Field("ServiceMeta", STRING_MAP),
    go.Field("ServicePort", INT),
    go.Field("CreateIndex", UINT),
    go.Field("ModifyIndex", UINT),
], pointer=True)

AGENT_SERVICE = go.Struct("AgentService", "api.AgentService", [
    go.Field("ID", STRING),
    go.Field("Service", STRING),
    go.Field("Tags", STRINGS),
    go.Field("Meta", STRING_MAP),
    go.Field("Port", INT),
    go.Field("Address", STRING),
], pointer=True)

# The api decodes into pointers (a null answer is a nil *CatalogNode).
CATALOG_NODE = go.Struct("CatalogNode", "api.CatalogNode", [
    go.Field("Node", NODE),
    go.Field("Services", go.Map(AGENT_SERVICE)),
], pointer=True)
NODES = go.Slice(NODE)
CATALOG_SERVICES = go.Slice(CATALOG_SERVICE)
SERVICE_TAGS = go.Map(STRINGS)


class DecodeError(ApiError):
    """The agent's answer does not fit the api struct; ``str()`` is Go's wording."""


def decode_answer(body, schema):
    """What ``json.NewDecoder(body).Decode(&out)`` leaves in out, or DecodeError."""
    try:
        return go.decode(body, schema)
    except go.GoError as error:
        raise DecodeError(str(error)) from None


def query_params(near="", node_meta=(), node_filter=""):
    """The query options the catalog commands set, as setQueryOptions writes them."""
    params = {}
    if near:
        params["near"] = near
    if node_filter:
        params["filter"] = node_filter
    if node_meta:
        # Go ranges over a map here, in no fixed order; sorting keeps ours stable.
        params["node-meta"] = ["%s:%s" % pair for pair in sorted(dict(node_meta).items())]
    return params


class Catalog:
    def __init__(self, client):
        self.client = client

    def _get(self, path, schema, params=None):
        response = self.client.request("GET", path, params)
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        return decode_answer(response.body, schema)

    def datacenters(self):
        return self._get("/v1/catalog/datacenters", STRINGS) or []

    def nodes(self, **options):
        """[api.Node as a dict] for ``near``, ``node_meta`` and ``node_filter``."""
        return [node for node in self._get("/v1/catalog/nodes", NODES, query_params(**options)) or []
                if node is not None]

    def service(self, name, **options):
        """The instances of one service: [api.CatalogService as a dict]."""
        entries = self._get("/v1/catalog/service/" + name, CATALOG_SERVICES, query_params(**options))
        return [entry for entry in entries or [] if entry is not None]

    def node(self, name, node_meta=()):
        """api.CatalogNode as a dict, or None for a node the catalog does not hold."""
        return self._get("/v1/catalog/node/" + name, CATALOG_NODE, query_params(node_meta=node_meta))

    def services(self, node_meta=()):
        """Service name -> its tags, across the datacenter."""
        return self._get("/v1/catalog/services", SERVICE_TAGS, query_params(node_meta=node_meta)) or {}
