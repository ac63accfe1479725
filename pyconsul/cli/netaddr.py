"""Go's ``net.ParseIP`` and ``net.TCPAddr.String``, for member addresses.

``consul members`` prints ``net.TCPAddr{IP: net.ParseIP(addr), Port: port}``,
which rewrites the address the agent reported:

* IPv4 text is read as Go 1.16 (Consul 1.10's Go) reads it, leading zeros
  allowed, and printed plainly: ``010.0.0.1`` -> ``10.0.0.1:8301``;
* IPv6 is printed in its shortest form inside brackets, an IPv4-mapped
  address as plain IPv4: ``::ffff:10.0.0.1`` -> ``10.0.0.1:8301``;
* anything else (a host name, a zone such as ``fe80::1%eth0``, garbage)
  parses to nothing and prints as just ``:8301``.
"""

import ipaddress


def _parse_ipv4(text):
    parts = text.split(".")
    if len(parts) != 4:
        return None
    numbers = []
    for part in parts:
        if not part or not part.isascii() or not part.isdigit() or int(part) > 255:
            return None
        numbers.append(int(part))
    return ipaddress.IPv4Address(bytes(numbers))


def parse_ip(text):
    """An IPv4Address or IPv6Address as net.ParseIP reads text, or None."""
    # Go decides by whichever of '.' and ':' comes first.
    first = next((char for char in text if char in ".:"), None)
    if first == ".":
        return _parse_ipv4(text)
    if first is None or "%" in text:
        return None
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def ip_text(address):
    """net.IP.String(): IPv4 (also when IPv4-mapped) dotted, IPv6 shortest."""
    if address is None:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed


def tcp_address(host, port):
    """net.TCPAddr.String() of (net.ParseIP(host), port)."""
    text = ip_text(parse_ip(host))
    if ":" in text:
        text = "[%s]" % text
    return "%s:%d" % (text, port)
