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

STRINGS = go.List(go.STRING)

NODE = go.Struct("api.Node", {
    "ID": go.STRING,
    "Node": go.STRING,
    "Address": go.STRING,
    "Datacenter": go.STRING,
    "TaggedAddresses": go.StringMap(),
    "Meta": go.StringMap(),
    "CreateIndex": go.UINT,
    "ModifyIndex": go.UINT,
})

CATALOG_SERVICE = go.Struct("api.CatalogService", {
    "ID": go.STRING,
    "Node": go.STRING,
    "Address": go.STRING,
    "Datacenter": go.STRING,
    "TaggedAddresses": go.StringMap(),
    "NodeMeta": go.StringMap(),
    "ServiceID": go.STRING,
    "ServiceName": go.STRING,
    "ServiceAddress": go.STRING,
    "ServiceTags": STRINGS,
    "ServiceMeta": go.StringMap(),
    "ServicePort": go.INT,
    "CreateIndex": go.UINT,
    "ModifyIndex": go.UINT,
})

AGENT_SERVICE = go.Struct("api.AgentService", {
    "ID": go.STRING,
    "Service": go.STRING,
    "Tags": STRINGS,
    "Meta": go.StringMap(),
    "Port": go.INT,
    "Address": go.STRING,
})

CATALOG_NODE = go.Struct("api.CatalogNode", {
    "Node": NODE,
    "Services": go.Map(AGENT_SERVICE),
})
CATALOG_NODE.fields["Services"].go_name = "map[string]*api.AgentService"


def _pointer_list(item):
    # The api decodes into slices of pointers; Go names the type that way.
    kind = go.List(item)
    kind.go_name = "[]*" + item.go_name
    return kind


NODES = _pointer_list(NODE)
CATALOG_SERVICES = _pointer_list(CATALOG_SERVICE)
SERVICE_TAGS = go.Map(STRINGS)


class DecodeError(ApiError):
    """The agent's answer does not fit the api struct; ``str()`` is Go's wording."""


def decode_answer(body, schema):
    """What ``json.NewDecoder(body).Decode(&out)`` leaves in out, or DecodeError."""
    try:
        return go.decode(body, schema)
    except go.DecodeError as error:
        message = str(error)
        if message == "unexpected end of JSON input":
            message = "unexpected EOF"  # a Decoder's word for a cut-off value
        raise DecodeError(message) from None


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
