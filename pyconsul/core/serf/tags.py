"""Member tags: a small str -> str map carried in the gossip metadata.

Consul uses them to tell servers from clients and to find a server's RPC
port; ``ConsulTags`` reads the keys Consul sets.
"""

from typing import Mapping, Optional

import attrs
import msgpack

MAX_META_SIZE = 512  # memberlist's limit on a member's metadata


def encode_tags(tags: Mapping[str, str]) -> bytes:
    meta = msgpack.packb(dict(sorted(tags.items())), use_bin_type=True)
    if len(meta) > MAX_META_SIZE:
        raise ValueError(f"tags take {len(meta)} bytes encoded; the limit is {MAX_META_SIZE}")
    return meta


def decode_tags(meta: bytes) -> dict[str, str]:
    """The tags in ``meta``; metadata that is not a str -> str map gives {}."""
    if not meta:
        return {}
    try:
        tags = msgpack.unpackb(meta, raw=False)
    except Exception:
        return {}
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        return {}
    return tags


# Keys Consul puts in its LAN tags.
ROLE = "role"  # "consul" on servers, "node" on clients
DATACENTER = "dc"
SERVER_PORT = "port"  # a server's RPC port
BUILD = "build"
PROTOCOL = "vsn"
PROTOCOL_MIN = "vsn_min"
PROTOCOL_MAX = "vsn_max"
RAFT_PROTOCOL = "raft_vsn"
NODE_ID = "id"
BOOTSTRAP_EXPECT = "expect"
SEGMENT = "segment"
WAN_JOIN_PORT = "wan_join_port"  # a server's WAN gossip port, for its peers to flood-join it there

SERVER_ROLE = "consul"
CLIENT_ROLE = "node"


def consul_tags(
    *,
    server: bool,
    datacenter: str,
    node_id: str,
    build: str,
    server_port: Optional[int] = None,
    bootstrap_expect: Optional[int] = None,
    wan_join_port: Optional[int] = None,
    protocol: int = 2,
    raft_protocol: int = 3,
) -> dict[str, str]:
    """The LAN tags a Consul agent publishes about itself."""
    tags = {
        ROLE: SERVER_ROLE if server else CLIENT_ROLE,
        DATACENTER: datacenter,
        NODE_ID: node_id,
        BUILD: build,
        PROTOCOL: str(protocol),
        PROTOCOL_MIN: "2",
        PROTOCOL_MAX: "3",
        SEGMENT: "",
    }
    if server:
        if server_port is not None:
            tags[SERVER_PORT] = str(server_port)
        tags[RAFT_PROTOCOL] = str(raft_protocol)
        if bootstrap_expect:
            tags[BOOTSTRAP_EXPECT] = str(bootstrap_expect)
        if wan_join_port is not None:
            tags[WAN_JOIN_PORT] = str(wan_join_port)
    return tags


@attrs.frozen
class ConsulTags:
    """What Consul reads back from a member's tags (``members`` columns)."""

    is_server: bool
    datacenter: str
    build: str
    protocol: int
    server_port: Optional[int]

    @classmethod
    def parse(cls, tags: Mapping[str, str]) -> "ConsulTags":
        def number(key: str) -> Optional[int]:
            try:
                return int(tags[key])
            except (KeyError, ValueError):
                return None

        return cls(
            is_server=tags.get(ROLE) == SERVER_ROLE,
            datacenter=tags.get(DATACENTER, ""),
            build=tags.get(BUILD, ""),
            protocol=number(PROTOCOL) or 0,
            server_port=number(SERVER_PORT),
        )
