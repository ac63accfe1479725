"""The record types Consul 1.10 filters, as go-bexpr sees their Go structs.

Field names and kinds are those of ``agent/structs`` (and, for the agent's
service list, ``api.AgentService``, which Consul's own tests hold to the same
field configuration as ``NodeService``) in Consul 1.10. Fields tagged
``bexpr:"-"`` are left out, as go-bexpr leaves them out: the embedded
``RaftIndex`` (``CreateIndex``, ``ModifyIndex``) and ``EnterpriseMeta``,
``Definition`` of a health check, the free-form ``Config`` maps of proxies
and upstreams, ``CentrallyConfigured``, ``SidecarService`` and
``ContentHash``. Fields that appeared after 1.10 (``Partition``, ``PeerName``,
a health check's ``Interval``/``Timeout``, ``DestinationPartition``, ...) are
not here, so selecting them is an error, as it is in Consul 1.10.

Which endpoint filters what:

=====================================================  =======================
endpoint                                               schema
=====================================================  =======================
``/v1/catalog/nodes``                                  :data:`NODE`
``/v1/catalog/service/<s>``, ``/v1/catalog/connect/<s>``  :data:`SERVICE_NODE`
``/v1/catalog/node/<n>`` (its ``Services`` map)        :data:`NODE_SERVICE`
``/v1/catalog/node-services/<n>`` (its ``Services``)   :data:`NODE_SERVICE`
``/v1/agent/services`` (the map's values)              :data:`AGENT_SERVICE`
``/v1/agent/checks`` (the map's values)                :data:`HEALTH_CHECK`
``/v1/health/checks/<s>``, ``node/<n>``, ``state/<st>``    :data:`HEALTH_CHECK`
``/v1/health/service/<s>``, ``connect/<s>``, ``ingress/<s>``  :data:`CHECK_SERVICE_NODE`
=====================================================  =======================
"""

from pyconsul.filter.types import BOOL, INT, STRING, List, Map, Struct

__all__ = [
    "AGENT_SERVICE", "CHECK_SERVICE_NODE", "HEALTH_CHECK", "NODE", "NODE_SERVICE", "SERVICE_NODE",
]


def _strings(*names):
    return {name: STRING for name in names}


WEIGHTS = Struct("Weights", {"Passing": INT, "Warning": INT})

SERVICE_ADDRESS = Struct("ServiceAddress", {"Address": STRING, "Port": INT})

MESH_GATEWAY_CONFIG = Struct("MeshGatewayConfig", {"Mode": STRING})

EXPOSE_PATH = Struct("ExposePath", {
    "ListenerPort": INT,
    "Path": STRING,
    "LocalPathPort": INT,
    "Protocol": STRING,
    "ParsedFromCheck": BOOL,
})

EXPOSE_CONFIG = Struct("ExposeConfig", {"Checks": BOOL, "Paths": List(EXPOSE_PATH)})

TRANSPARENT_PROXY_CONFIG = Struct("TransparentProxyConfig", {"OutboundListenerPort": INT, "DialedDirectly": BOOL})

UPSTREAM = Struct("Upstream", dict(
    _strings("DestinationType", "DestinationNamespace", "DestinationName", "Datacenter", "LocalBindAddress"),
    LocalBindPort=INT,
    LocalBindSocketPath=STRING,
    LocalBindSocketMode=STRING,
    MeshGateway=MESH_GATEWAY_CONFIG,
))

CONNECT_PROXY_CONFIG = Struct("ConnectProxyConfig", dict(
    _strings("DestinationServiceName", "DestinationServiceID", "LocalServiceAddress"),
    LocalServicePort=INT,
    LocalServiceSocketPath=STRING,
    Mode=STRING,
    Upstreams=List(UPSTREAM),
    MeshGateway=MESH_GATEWAY_CONFIG,
    Expose=EXPOSE_CONFIG,
    TransparentProxy=TRANSPARENT_PROXY_CONFIG,
))

SERVICE_CONNECT = Struct("ServiceConnect", {"Native": BOOL})

#: A node: ``/v1/catalog/nodes`` entries, and ``Node`` of a health service entry.
NODE = Struct("Node", dict(
    _strings("ID", "Node", "Address", "Datacenter"),
    TaggedAddresses=Map(STRING),
    Meta=Map(STRING),
))

#: A service instance on a node (``structs.NodeService``).
NODE_SERVICE = Struct("NodeService", dict(
    _strings("Kind", "ID", "Service"),
    Tags=List(STRING),
    Address=STRING,
    TaggedAddresses=Map(SERVICE_ADDRESS),
    Meta=Map(STRING),
    Port=INT,
    SocketPath=STRING,
    Weights=WEIGHTS,
    EnableTagOverride=BOOL,
    Proxy=CONNECT_PROXY_CONFIG,
    Connect=SERVICE_CONNECT,
))

#: A local service as ``/v1/agent/services`` lists it (``api.AgentService``).
AGENT_SERVICE = Struct("AgentService", NODE_SERVICE.fields)

#: A ``/v1/catalog/service/<s>`` entry (``structs.ServiceNode``).
SERVICE_NODE = Struct("ServiceNode", dict(
    _strings("ID", "Node", "Address", "Datacenter"),
    TaggedAddresses=Map(STRING),
    NodeMeta=Map(STRING),
    ServiceKind=STRING,
    ServiceID=STRING,
    ServiceName=STRING,
    ServiceTags=List(STRING),
    ServiceAddress=STRING,
    ServiceTaggedAddresses=Map(SERVICE_ADDRESS),
    ServiceWeights=WEIGHTS,
    ServiceMeta=Map(STRING),
    ServicePort=INT,
    ServiceSocketPath=STRING,
    ServiceEnableTagOverride=BOOL,
    ServiceProxy=CONNECT_PROXY_CONFIG,
    ServiceConnect=SERVICE_CONNECT,
))

#: A health check (``structs.HealthCheck``).
HEALTH_CHECK = Struct("HealthCheck", dict(
    _strings("Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName"),
    ServiceTags=List(STRING),
    Type=STRING,
    ExposedPort=INT,
))

#: A ``/v1/health/service/<s>`` entry (``structs.CheckServiceNode``).
CHECK_SERVICE_NODE = Struct("CheckServiceNode", {
    "Node": NODE,
    "Service": NODE_SERVICE,
    "Checks": List(HEALTH_CHECK),
})
