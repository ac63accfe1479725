"""The ``ContentHash`` of ``GET /v1/agent/service/<id>``.

Consul's agent builds the ``api.AgentService`` it is about to answer with,
hashes it with ``hashstructure.Hash(reply, nil)`` while its ContentHash is
still empty, and shows the 64-bit result as ``fmt.Sprintf("%x", hash)``. The
same text is the ``X-Consul-ContentHash`` header and what ``?hash=`` blocks
on, so clients that block by hash compare our value with the one they saw
before; it only has to be stable, but matching Consul's value exactly lets a
client keep its hash across a switch between the two.

The hash is that of the hashstructure revision Consul 1.10 pins
(v0.0.0-20170609045927-2bca23e0e452, before its v1.0.0), with no options:

- every hash is 64-bit FNV-1 (Go's ``fnv.New64``, not FNV-1a), started afresh
  for each value;
- a string hashes its bytes; an ``int`` is widened to int64, a ``uint64``
  stays one, and both hash their 8 little-endian bytes; a bool hashes one byte;
- a nil pointer hashes as the int 0 (8 zero bytes);
- a struct starts from the hash of its type's name and XORs in, for each
  field not tagged ``hash:"ignore"``, the ordered combination of the field
  name's hash with the value's hash: field order does not matter;
- a map XORs together the ordered combinations of each key's and value's
  hash, so key order does not matter, and an empty map is 0;
- a slice folds its elements' hashes in order, starting from 0, so a nil
  slice and an empty one are both 0 (which is why nil-versus-empty Tags or
  Meta, which Consul turns into empty ones anyway, cannot change the hash);
- the "ordered combination" of two hashes is the FNV-1 of their 16
  little-endian bytes.

``api.AgentService`` in Consul 1.10, as hashed: Kind (a string), ID,
Service, Tags, Meta, Port (int), Address, SocketPath, TaggedAddresses
(``map[string]ServiceAddress``, each ``{Address string; Port int}``),
Weights (an ``AgentWeights`` value, ``{Passing, Warning int}``),
EnableTagOverride, CreateIndex and ModifyIndex (uint64), ContentHash,
Proxy and Connect (pointers, nil unless Connect is in use). Namespace and
Datacenter are tagged ``hash:"ignore"``, so the datacenter does not count.
"""

import struct

_MASK = (1 << 64) - 1
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


def _fnv1(data):
    value = _FNV_OFFSET
    for byte in data:
        value = (value * _FNV_PRIME) & _MASK
        value ^= byte
    return value


def _string(text):
    # A Go string is bytes; pyconsul keeps non-UTF-8 bytes as lone surrogates.
    return _fnv1(text.encode("utf-8", "surrogateescape"))


def _int(number):
    return _fnv1(struct.pack("<q", number))


def _uint64(number):
    return _fnv1(struct.pack("<Q", number))


def _bool(flag):
    return _fnv1(b"\x01" if flag else b"\x00")


# What a nil pointer hashes as: hashstructure substitutes the zero of int.
_NIL = _int(0)


def _ordered(first, second):
    return _fnv1(struct.pack("<QQ", first, second))


def _struct(type_name, fields):
    value = _string(type_name)
    for name, field_hash in fields:
        value ^= _ordered(_string(name), field_hash)
    return value


def _map(pairs):
    value = 0
    for key_hash, item_hash in pairs:
        value ^= _ordered(key_hash, item_hash)
    return value


def _slice(item_hashes):
    value = 0
    for item_hash in item_hashes:
        value = _ordered(value, item_hash)
    return value


def _service_address(address):
    return _struct("ServiceAddress", [
        ("Address", _string(address.get("Address", ""))),
        ("Port", _int(address.get("Port", 0))),
    ])


def content_hash(agent_service):
    """The ContentHash Consul's agent shows for a local service.

    ``agent_service`` is the service as ``/v1/agent/service/<id>`` shows it
    (``ServiceDefinition.to_agent_json``): a dict with "ID", "Service",
    "Port", "Address", "Weights" (``{"Passing": int, "Warning": int}``) and
    "EnableTagOverride", and optionally "Kind" (absent: ""), "Tags" (a list
    of strings; absent or None: none), "Meta" (a dict of strings; absent or
    None: none), "SocketPath" (absent: ""), "TaggedAddresses" (a dict of
    name to ``{"Address": str, "Port": int}``; absent or None: none),
    "CreateIndex" and "ModifyIndex" (absent: 0). "ContentHash", "Datacenter"
    and "Namespace" are ignored, as Consul ignores them. "Proxy" and
    "Connect" must be absent or None: pyconsul registers no Connect
    services, and a ValueError says so otherwise.

    Returns lowercase hex without leading zeros, as Go's ``%x`` writes it.
    """
    for name in ("Proxy", "Connect"):
        if agent_service.get(name) is not None:
            raise ValueError("cannot hash a service with %s set: Connect is not supported" % name)
    weights = agent_service["Weights"]
    tagged = agent_service.get("TaggedAddresses") or {}
    meta = agent_service.get("Meta") or {}
    value = _struct("AgentService", [
        ("Kind", _string(agent_service.get("Kind", ""))),
        ("ID", _string(agent_service["ID"])),
        ("Service", _string(agent_service["Service"])),
        ("Tags", _slice(_string(tag) for tag in agent_service.get("Tags") or ())),
        ("Meta", _map((_string(key), _string(item)) for key, item in meta.items())),
        ("Port", _int(agent_service["Port"])),
        ("Address", _string(agent_service["Address"])),
        ("SocketPath", _string(agent_service.get("SocketPath", ""))),
        ("TaggedAddresses", _map((_string(name), _service_address(address))
                                 for name, address in tagged.items())),
        ("Weights", _struct("AgentWeights", [
            ("Passing", _int(weights["Passing"])),
            ("Warning", _int(weights["Warning"])),
        ])),
        ("EnableTagOverride", _bool(agent_service["EnableTagOverride"])),
        ("CreateIndex", _uint64(agent_service.get("CreateIndex", 0))),
        ("ModifyIndex", _uint64(agent_service.get("ModifyIndex", 0))),
        # Hashed while still empty: the hash cannot cover itself.
        ("ContentHash", _string("")),
        ("Proxy", _NIL),
        ("Connect", _NIL),
    ])
    return "%x" % value
