"""DNS messages as bytes: a reply encoded as Consul's DNS library encodes it.

The records are twisted.names records and encode themselves; this module
only decides compression, where twisted.names' own message encoder falls
short of what Consul's answers need:

- An SRV target is never compressed (RFC 2782), but later names may point
  at it: the A record of ``web-1.node.dc1.consul.`` in the additional
  section is a two-byte pointer to the target. That is how Consul's answers
  come to the sizes its trimming counts on (20 SRV records and their
  addresses in a 1232-byte reply, not 18).
- A pointer can only reach the first 16 KiB of a message; names further on
  are written in full (twisted.names would write a wrong pointer).
- The first place a name was written is the one pointed at.
"""

import io
import struct

from twisted.names import dns

HEADER = struct.Struct("!HBBHHHH")
HEADER_SIZE = 12
POINTER_LIMIT = 0x4000
QR, AA, TC, RD = 0x80, 0x04, 0x02, 0x01
RA, CD = 0x80, 0x10
OPT_FIXED = struct.Struct("!BHHBBHH")  # root name, type, size, ext-rcode, version, flags, rdlength
ECS_OPTION = 8


class Names(dict):
    """The compression dictionary twisted.names' encoders fill in and look
    up (name -> offset from the message's start): the first offset written
    for a name stays, and only offsets a pointer can hold are kept."""

    def __setitem__(self, name, offset):
        if offset < POINTER_LIMIT and name not in self:
            dict.__setitem__(self, name, offset)


class _RegisterOnly:
    """Given to an SRV target's encoder: its names are remembered for later
    names to point at, but it is itself written in full."""

    def __init__(self, names):
        self.names = names

    def __contains__(self, name):
        return False

    def __setitem__(self, name, offset):
        self.names[name] = offset


def encode_record(out, record, names):
    """Write one resource record at ``out``'s position (which counts from
    the end of the header, as twisted.names' encoders expect)."""
    record.name.encode(out, names)
    out.write(struct.pack("!HHIH", record.type, record.cls, record.ttl, 0))
    start = out.tell()
    payload = record.payload
    if record.type == dns.SRV:
        out.write(struct.pack("!HHH", payload.priority, payload.weight, payload.port))
        payload.target.encode(out, _RegisterOnly(names) if names is not None else None)
    else:
        payload.encode(out, names)
    end = out.tell()
    out.seek(start - 2)
    out.write(struct.pack("!H", end - start))
    out.seek(end)


def flag_bytes(rcode, authoritative=False, truncated=False, recursion_desired=False,
               recursion_available=False, checking_disabled=False, opcode=dns.OP_QUERY):
    first = QR | (opcode & 0xF) << 3 | (AA if authoritative else 0) | (TC if truncated else 0)
    first |= RD if recursion_desired else 0
    second = (RA if recursion_available else 0) | (CD if checking_disabled else 0) | (rcode & 0xF)
    return first, second


def encode_question(out, name, qtype, qclass, names):
    dns.Name(name).encode(out, names)
    out.write(struct.pack("!HH", qtype, qclass))


def encode_reply(message_id, flags, question, answers=(), authority=(), additional=(), opt=b"", compress=True):
    """A whole reply. ``question`` is (name bytes, type, class) as asked,
    ``flags`` the two flag bytes, ``opt`` the encoded OPT record (or b"")."""
    out = io.BytesIO()
    names = Names() if compress else None
    encode_question(out, *question, names)
    for record in answers:
        encode_record(out, record, names)
    for record in authority:
        encode_record(out, record, names)
    for record in additional:
        encode_record(out, record, names)
    out.write(opt)
    header = HEADER.pack(message_id, flags[0], flags[1], 1, len(answers), len(authority),
                         len(additional) + (1 if opt else 0))
    return header + out.getvalue()


def reply_length(question, answers, authority, additional, compress=True):
    """How long a reply with these sections is (no OPT record: Consul
    trims before it adds one)."""
    return len(encode_reply(0, (0, 0), question, answers, authority, additional, compress=compress))


def _opt_options(ecs):
    if ecs is None:
        return b""
    family, source, address = ecs
    body = struct.pack("!HBB", family, source, 0) + address
    return struct.pack("!HH", ECS_OPTION, len(body)) + body


def encode_opt(udp_size, ecs=None):
    """The reply's OPT record: the asker's UDP size echoed, and its client
    subnet option with a scope of 0 (the answer holds for every subnet)."""
    data = _opt_options(ecs)
    return OPT_FIXED.pack(0, dns.OPT, udp_size, 0, 0, 0, len(data)) + data


def opt_record(udp_size, ecs=None):
    """The same OPT record as a record of the additional section (Consul
    trims with it there, and drops it when it cuts that section down)."""
    return dns.RRHeader(name=b"", type=dns.OPT, cls=udp_size, ttl=0,
                        payload=dns.UnknownRecord(_opt_options(ecs)))


def parse_ecs(option_data):
    """(family, source prefix, address bytes) of a client subnet option as
    Consul's DNS library reads it and will write it back -- the address
    masked to the prefix and cut to the bytes it covers -- or None when
    that library would reject it (the query is then malformed)."""
    if len(option_data) < 4:
        return None
    family, source, scope = struct.unpack("!HBB", option_data[:4])
    if family == 0:
        return (0, 0, b"") if source == 0 else None  # what dig sends for "no subnet"
    width = {1: 4, 2: 16}.get(family)
    if width is None or source > width * 8 or scope > width * 8:
        return None
    address = option_data[4:4 + width].ljust(width, b"\0")
    kept = (source + 7) // 8
    masked = bytearray(address[:kept])
    if source % 8:
        masked[-1] &= (0xFF << (8 - source % 8)) & 0xFF
    return family, source, bytes(masked)
