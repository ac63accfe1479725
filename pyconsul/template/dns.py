"""Name resolution for the ``lookupIP`` and ``lookupSRV`` template functions.

Rendering is synchronous, so the functions call a blocking resolver. It is
injected: tests pass a fake, and the real :class:`SystemResolver` uses the
system's resolver for addresses and a small DNS query over UDP for SRV
records. A failed lookup gives an empty result, as in confd.
"""

import ipaddress
import random
import socket
from typing import Protocol

import attr


@attr.s(frozen=True, slots=True)
class SRVRecord:
    target: str = attr.ib()
    port: int = attr.ib()
    priority: int = attr.ib()
    weight: int = attr.ib()


class Resolver(Protocol):
    def lookup_ip(self, host: str) -> list:
        """The host's addresses as strings; raise OSError if it has none."""

    def lookup_srv(self, name: str) -> list:
        """SRV records (:class:`SRVRecord`) for the full name ``_svc._proto.domain``."""


def format_ip(address):
    """An address the way Go's net.IP.String prints it."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def parse_ip_literal(host):
    """The formatted address if ``host`` is an IP literal (a zone is dropped)."""
    try:
        return format_ip(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        return None


class SystemResolver:
    """Blocking lookups through the operating system's resolver.

    ``nameservers`` (addresses, or ``(address, port)`` pairs) defaults to
    those in /etc/resolv.conf; they are used for SRV queries only.
    """

    def __init__(self, nameservers=None, timeout=2.0, rng=None):
        self.nameservers = nameservers
        self.timeout = timeout
        self.rng = rng or random.Random()

    def lookup_ip(self, host):
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        return sorted({format_ip(info[4][0].split("%", 1)[0]) for info in infos})

    def _servers(self):
        if self.nameservers is not None:
            return self.nameservers
        servers = []
        try:
            with open("/etc/resolv.conf") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 2 and parts[0] == "nameserver":
                        servers.append(parts[1])
        except OSError:
            pass
        return servers or ["127.0.0.1"]

    def lookup_srv(self, name):
        from twisted.names import dns

        query = dns.Message(id=self.rng.randrange(65536), recDes=1)
        query.queries = [dns.Query(name, dns.SRV, dns.IN)]
        payload = query.toStr()
        last_error = OSError(f"no answer for {name}")
        for server in self._servers():
            host, port = server if isinstance(server, tuple) else (server, 53)
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.settimeout(self.timeout)
                try:
                    sock.sendto(payload, (host, port))
                    data = sock.recv(65535)
                except OSError as e:
                    last_error = e
                    continue
            answer = dns.Message()
            answer.fromStr(data)
            if answer.id != query.id:
                continue
            if answer.rCode != dns.OK:
                raise OSError(f"lookup {name}: rcode {answer.rCode}")
            return [
                SRVRecord(str(rr.payload.target) + ".", rr.payload.port, rr.payload.priority, rr.payload.weight)
                for rr in answer.answers
                if rr.type == dns.SRV
            ]
        raise last_error


class StaticResolver:
    """A resolver answering from tables: for tests and fixed setups."""

    def __init__(self, hosts=None, srv=None):
        self.hosts = hosts or {}
        self.srv = srv or {}

    def lookup_ip(self, host):
        if host not in self.hosts:
            raise OSError(f"lookup {host}: no such host")
        return list(self.hosts[host])

    def lookup_srv(self, name):
        if name not in self.srv:
            raise OSError(f"lookup {name}: no such host")
        return list(self.srv[name])
