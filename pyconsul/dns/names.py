"""A question's name read as Consul reads it.

Consul lower-cases the name, takes the domain (or the alternative domain)
off, and looks for the right-most label naming a kind of lookup:
``service``, ``node``, ``addr``, ``query``, ``connect``, ``ingress`` or
``virtual``. The labels left of it say what to look up, the ones right of
it name a datacenter. Names under ``arpa.`` are reverse lookups, whatever
the question's type.
"""

import binascii
import ipaddress

import attr

KINDS = frozenset({"service", "node", "addr", "query", "connect", "ingress", "virtual"})


@attr.s(frozen=True, slots=True)
class Outside:
    """Not a name of the domain: refused, or asked of the recursors."""


@attr.s(frozen=True, slots=True)
class Reverse:
    """A PTR lookup; ``address`` is None when the name holds no address."""

    address: str | None = attr.ib()


@attr.s(frozen=True, slots=True)
class Invalid:
    """Inside the domain, but no name Consul answers: NXDOMAIN."""

    domain: str = attr.ib()


@attr.s(frozen=True, slots=True)
class Service:
    domain: str = attr.ib()
    service: str = attr.ib()
    tag: str = attr.ib()  # "" for none
    datacenter: str | None = attr.ib()  # None: the agent's own


@attr.s(frozen=True, slots=True)
class Node:
    domain: str = attr.ib()
    node: str = attr.ib()
    datacenter: str | None = attr.ib()


@attr.s(frozen=True, slots=True)
class Addr:
    """``<hex>.addr.consul``: ``address`` is None when the hex is neither 4
    nor 16 bytes long (Consul then answers nothing, without an error)."""

    domain: str = attr.ib()
    address: str | None = attr.ib()


@attr.s(frozen=True, slots=True)
class PreparedQuery:
    domain: str = attr.ib()
    query: str = attr.ib()
    datacenter: str | None = attr.ib()


@attr.s(frozen=True, slots=True)
class Unsupported:
    """``connect``, ``ingress`` and ``virtual``: Connect names, which
    pyconsul does not serve (NXDOMAIN, as Consul for a name it cannot find)."""

    domain: str = attr.ib()


def in_domain(lower_name, domain):
    """``lower_name`` (no trailing dot) is ``domain`` (with one) or under it."""
    bare = domain[:-1]
    return lower_name == bare or lower_name.endswith("." + bare)


def parse(name, srv_question, domains):
    """What ``name`` (the question's name without its trailing dot, any case)
    asks for. ``domains`` are the domain and, if set, the alternative one
    (each lower case with a trailing dot); ``srv_question`` is whether the
    question's type is SRV, which makes the ``service`` label optional in
    ``_name._tag`` names."""
    lower = name.lower()
    if lower == "arpa" or lower.endswith(".arpa"):
        return Reverse(reverse_address(lower))
    for domain in domains:
        if domain and in_domain(lower, domain):
            break
    else:
        return Outside()
    rest = lower[: -len(domain)].rstrip(".") if lower != domain[:-1] else ""
    labels = rest.split(".") if rest else []
    return _dispatch(labels, srv_question, domain)


def _dispatch(labels, srv_question, domain):
    for i in range(len(labels) - 1, -1, -1):
        kind = labels[i]
        if kind in KINDS:
            parts, suffixes = labels[:i], labels[i + 1:]
            break
        if srv_question and kind.startswith("_"):
            kind, parts, suffixes = "service", labels[: i + 1], labels[i + 1:]
            break
    else:
        return Invalid(domain)
    if kind in ("connect", "ingress", "virtual"):
        return Unsupported(domain)
    datacenter = _datacenter(suffixes)
    if datacenter is False:
        return Invalid(domain)
    if kind == "addr":  # any datacenter: the address is in the name
        return _addr(parts, domain)
    if not parts:
        return Invalid(domain)
    if kind == "node":
        # A node name may hold dots: everything left of "node" is the name.
        return Node(domain, ".".join(parts), datacenter)
    if kind == "query":
        # Every label left of "query" (Consul 1.10 has no _name._tcp form here).
        return PreparedQuery(domain, ".".join(parts), datacenter)
    if len(parts) == 2 and parts[0].startswith("_") and parts[1].startswith("_"):
        # RFC 2782: _service._tag; _tcp means any tag.
        tag = parts[1][1:]
        return Service(domain, parts[0][1:], "" if tag == "tcp" else tag, datacenter)
    # [tag.]service, where a tag may itself hold dots.
    return Service(domain, parts[-1], ".".join(parts[:-1]), datacenter)


def _datacenter(suffixes):
    """The datacenter the labels after the kind name: None for the agent's
    own, False when they name none (Consul 1.10 takes one label at most;
    the ``<dc>.dc`` form came later)."""
    if not suffixes:
        return None
    if len(suffixes) == 1:
        return suffixes[0]
    return False


def _addr(parts, domain):
    if len(parts) != 1:
        return Invalid(domain)
    text = parts[0]
    if len(text) // 2 not in (4, 16):
        return Addr(domain, None)
    try:
        packed = binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        return Invalid(domain)
    if len(packed) not in (4, 16):
        return Invalid(domain)  # an odd number of hex digits
    return Addr(domain, str(ipaddress.ip_address(packed)))


def reverse_address(lower):
    """The address a reverse name stands for, or None."""
    if lower.endswith(".in-addr.arpa"):
        octets = lower[: -len(".in-addr.arpa")].split(".")
        if len(octets) != 4 or not all(o.isdigit() and len(o) <= 3 and int(o) <= 255 for o in octets):
            return None
        return ".".join(str(int(o)) for o in reversed(octets))
    if lower.endswith(".ip6.arpa"):
        nibbles = lower[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or not all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return None
        return str(ipaddress.IPv6Address(bytes.fromhex("".join(reversed(nibbles)))))
    return None


def hex_address(address):
    """``<hex>`` of ``<hex>.addr.<dc>.consul``: 8 hex digits for IPv4, 32 for IPv6."""
    return ipaddress.ip_address(address).packed.hex()
