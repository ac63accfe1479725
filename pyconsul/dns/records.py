"""The resource records Consul makes of catalog entries, as twisted.names
records. Names are ``bytes`` without the trailing dot, as twisted.names
keeps them; every record is authoritative."""

import ipaddress

from twisted.names import dns

IPV4, IPV6, HOSTNAME = "ipv4", "ipv6", "hostname"

TXT_CHUNK = 255  # the longest string a TXT record holds


def address_kind(address):
    try:
        return IPV4 if ipaddress.ip_address(address).version == 4 else IPV6
    except ValueError:
        return HOSTNAME


def name_bytes(name):
    """A name as twisted.names wants it: bytes, no trailing dot."""
    if isinstance(name, str):
        name = name.encode("utf-8", "surrogateescape")
    return name.rstrip(b".")


def rr(owner, payload, ttl):
    return dns.RRHeader(
        name=name_bytes(owner), type=payload.TYPE, cls=dns.IN, ttl=int(ttl), payload=payload, auth=True)


def ip_record(owner, address, ttl):
    """An A or AAAA record, whichever ``address`` is."""
    if address_kind(address) == IPV4:
        return rr(owner, dns.Record_A(address, int(ttl)), ttl)
    return rr(owner, dns.Record_AAAA(address, int(ttl)), ttl)


# The questions a host name is answered with a CNAME for, as in Consul.
CNAME_QUESTIONS = frozenset({dns.A, dns.AAAA, dns.ALL_RECORDS, dns.CNAME, dns.TXT})


def address_records(owner, address, qtype, ttl):
    """What an address answers to a question of ``qtype``: A for IPv4 to A
    and ANY, AAAA for IPv6 to AAAA and ANY, a CNAME for a host name (to A,
    AAAA, ANY, CNAME and TXT)."""
    kind = address_kind(address)
    if kind == HOSTNAME:
        if qtype in CNAME_QUESTIONS:
            return [rr(owner, dns.Record_CNAME(name_bytes(address), int(ttl)), ttl)]
        return []
    wanted = dns.A if kind == IPV4 else dns.AAAA
    if qtype in (wanted, dns.ALL_RECORDS):
        return [ip_record(owner, address, ttl)]
    return []


def rfc1464(key, value):
    """A node meta pair as a TXT string: ``key=value``, with backquotes,
    ``=`` and the key's leading and trailing spaces quoted by a backquote
    (RFC 1464); a key starting ``rfc1035-`` gives its value alone."""
    if key.lower().startswith("rfc1035-"):
        return value
    key = key.replace("`", "``").replace("=", "`=")
    stripped = key.lstrip(" ")
    key = "` " * (len(key) - len(stripped)) + stripped
    stripped = key.rstrip(" ")
    key = stripped + "` " * (len(key) - len(stripped))
    return key + "=" + value.replace("`", "``")


def meta_records(owner, meta, ttl):
    """A TXT record per node meta pair, in key order."""
    records = []
    for key in sorted(meta or {}):
        text = rfc1464(key, meta[key]).encode("utf-8")
        chunks = [text[i:i + TXT_CHUNK] for i in range(0, len(text), TXT_CHUNK)] or [b""]
        records.append(rr(owner, dns.Record_TXT(*chunks, ttl=int(ttl)), ttl))
    return records


def srv_record(owner, weight, port, target, ttl):
    return rr(owner, dns.Record_SRV(1, weight, port, name_bytes(target), int(ttl)), ttl)


def soa_record(domain, serial, soa, ttl):
    """The domain's SOA: ``ns.<domain>`` and ``hostmaster.<domain>``."""
    payload = dns.Record_SOA(
        mname=name_bytes("ns." + domain),
        rname=name_bytes("hostmaster." + domain),
        serial=serial & 0xFFFFFFFF,
        refresh=soa.refresh,
        retry=soa.retry,
        expire=soa.expire,
        minimum=soa.minimum,
        ttl=int(ttl),
    )
    return rr(domain, payload, ttl)


def ns_record(domain, target, ttl):
    return rr(domain, dns.Record_NS(name_bytes(target), int(ttl)), ttl)


def ptr_record(owner, target, ttl):
    return rr(owner, dns.Record_PTR(name_bytes(target), int(ttl)), ttl)
