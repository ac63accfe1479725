"""The recorded DNS behaviour (``tests/data/consul-dns/vectors.json``), checked
against any DNS server.

A case is one question and the answer the real Consul gave. ``ask`` sends
the question exactly as the case says and returns the reply's bytes;
``judge`` says what differs between those bytes and the recording.
``load_fixture`` and ``wait_for_fixture`` build the catalog the answers were
recorded against, through the agent's HTTP API; ``run_all`` does everything.

Replies are decoded with twisted.names and every record is written as the
vectors write it (dig's one-line form), so records compare as text.
Sockets here are plain and blocking, each with a deadline: the server under
test runs in another process or thread.
"""

import http.client
import ipaddress
import json
import random
import re
import socket
import struct
import time
from io import BytesIO
from urllib.parse import quote

import attrs
from twisted.names import dns

from tests.vectors import data_path
from tests.vectors.runner import VectorError
from tests.vectors.symbols import short
from tests.vectors.targets import LiveAgent

DNS_FORMAT = "consul-dns-vectors/1"
SECTIONS = ("answer", "authority", "additional")
DNS_TIMEOUT = 5.0
UDP_TRIES = 3  # UDP may lose a datagram; a resolver asks again, so do we
UNIXTIME_SLACK = 900  # {$UNIXTIME}: an SOA serial within 15 minutes of now
FIXTURE_TIMEOUT = 60.0

FLAGS = (("qr", "answer"), ("aa", "auth"), ("tc", "trunc"), ("rd", "recDes"),
         ("ra", "recAv"), ("ad", "authenticData"), ("cd", "checkingDisabled"))
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS"}
# twisted calls type 255 ALL_RECORDS; dig and the vectors say ANY.
TYPE_NAMES = {**dns.QUERY_TYPES, **dns.EXT_QUERIES, dns.ALL_RECORDS: "ANY"}
TYPE_CODES = {name: code for code, name in TYPE_NAMES.items()}
CLASS_NAMES = {**dns.QUERY_CLASSES, 254: "NONE"}
# The types whose rdata dig (and so the vectors) spells out; any other type
# is written in RFC 3597's generic form.
PRESENTED = frozenset([dns.A, dns.AAAA, dns.NS, dns.CNAME, dns.PTR, dns.SOA, dns.MX, dns.TXT, dns.SRV])
ECS = 8  # the EDNS Client Subnet option code (RFC 7871)


class FixtureError(Exception):
    """The agent refused the fixture, or never showed all of it."""


class MalformedReply(Exception):
    """The reply's bytes are not a DNS message."""


def load_dns_vectors():
    """The ``consul-dns-vectors/1`` document: ``agent``, ``fixture`` and ``cases``."""
    with open(data_path("consul-dns", "vectors.json"), encoding="utf-8") as handle:
        document = json.load(handle)
    if document.get("format") != DNS_FORMAT:
        raise AssertionError("consul-dns/vectors.json is not in format %s" % DNS_FORMAT)
    names = [case["name"] for case in document["cases"]]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise AssertionError("case names used twice: %s" % ", ".join(repeated))
    return document


# Placeholders: the agent's own address differs from the recording's; the
# SOA serial is the clock. {$UNIXTIME} is left for the comparison.

PLACEHOLDER = re.compile(r"\{\$([A-Z_]+)\}")


def fill(value, agent_ip):
    """value (text, or lists and dicts of it) with {$AGENT_IP} and {$AGENT_IP_REV} filled in."""
    if isinstance(value, list):
        return [fill(item, agent_ip) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, agent_ip) for key, item in value.items()}
    if not isinstance(value, str):
        return value

    def replace(match):
        name = match.group(1)
        if name == "AGENT_IP":
            return agent_ip
        if name == "AGENT_IP_REV":
            try:
                ipaddress.IPv4Address(agent_ip)
            except ValueError:
                raise VectorError("{$AGENT_IP_REV} is an in-addr.arpa name: %r is no IPv4 address" % agent_ip)
            return ".".join(reversed(agent_ip.split(".")))
        if name == "UNIXTIME":
            return match.group(0)
        raise VectorError("unknown placeholder %s" % match.group(0))

    return PLACEHOLDER.sub(replace, value)


# Asking.

def split_address(address):
    """(host, port) from "host:port", "[v6]:port" or a (host, port) pair."""
    if not isinstance(address, str):
        host, port = address
        return host, int(port)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("expected host:port, got %r" % address)
    return host.strip("[]"), int(port)


def qtype_code(name):
    if name.upper() in TYPE_CODES:
        return TYPE_CODES[name.upper()]
    if re.fullmatch(r"TYPE\d+", name.upper()):
        return int(name[4:])
    raise VectorError("unknown query type %r" % name)


def wire_name(qname):
    """The qname's bytes for twisted's Name, case kept; DNS names on the wire are absolute."""
    if "\\" in qname:
        # twisted.names joins labels with dots, so a label holding an
        # escaped dot (or any escape) cannot be sent as written.
        raise VectorError("escapes in a qname are not supported: %r" % qname)
    text = qname[:-1] if qname.endswith(".") else qname
    if not text:
        return b""
    labels = text.encode("ascii").split(b".")
    if any(not label or len(label) > 63 for label in labels) or len(text) > 253:
        raise VectorError("not a valid domain name: %r" % qname)
    return b".".join(labels)


def ecs_option(subnet):
    """An EDNS Client Subnet option for "ADDR/PREFIX", scope 0, the address cut to its prefix."""
    network = ipaddress.ip_network(subnet, strict=False)
    family = 1 if network.version == 4 else 2
    address = network.network_address.packed[: (network.prefixlen + 7) // 8]
    return dns._OPTVariableOption(ECS, struct.pack("!HBB", family, network.prefixlen, 0) + address)


def build_query(case, query_id, agent_ip):
    """The query's bytes: qname as written, qtype, RD, and an OPT record when edns is set."""
    message = dns.Message(id=query_id, recDes=1 if case.get("rd", True) else 0)
    message.queries = [dns.Query(wire_name(fill(case["qname"], agent_ip)), qtype_code(case["qtype"]), dns.IN)]
    if case.get("edns") is not None:
        options = [ecs_option(case["ecs"])] if case.get("ecs") else []
        message.additional.append(dns._OPTHeader(udpPayloadSize=case["edns"], version=0, dnssecOK=False,
                                                 options=options))
    elif case.get("ecs"):
        raise VectorError("case %s sends ECS without EDNS" % case["name"])
    return message.toStr()


def ask(case, dns_address, query_id, agent_ip=None, timeout=DNS_TIMEOUT):
    """Send the case's question to dns_address; the reply's bytes.

    agent_ip fills {$AGENT_IP_REV} in the qname (the DNS host by default).
    UDP: one datagram, asked again (same id, fresh socket) after a timeout,
    UDP_TRIES times in all. TCP: the length-prefixed query on a connection of
    its own. Raises OSError (socket.timeout included) when no reply comes.
    """
    host, port = split_address(dns_address)
    query = build_query(case, query_id, agent_ip or host)
    transport = case.get("transport", "udp")
    if transport == "tcp":
        return _ask_tcp(host, port, query, timeout)
    if transport != "udp":
        raise VectorError("case %s: no transport %r" % (case["name"], transport))
    for attempt in range(1, UDP_TRIES + 1):
        try:
            return _ask_udp(host, port, query, timeout)
        except socket.timeout:
            if attempt == UDP_TRIES:
                raise


def _ask_udp(host, port, query, timeout):
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.settimeout(timeout)
        # Connected, so only the server's datagrams arrive; the first is its
        # reply, whatever id it carries (judge checks the id).
        sock.connect(address)
        sock.send(query)
        return sock.recv(65535)


def _ask_tcp(host, port, query, timeout):
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack("!H", len(query)) + query)
        (length,) = struct.unpack("!H", _receive(sock, 2, deadline))
        return _receive(sock, length, deadline)


def _receive(sock, count, deadline):
    data = b""
    while len(data) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("%d of %d bytes before the deadline" % (len(data), count))
        sock.settimeout(remaining)
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(data), count))
        data += chunk
    return data


# Presentation: records as dig writes them on one line.

def name_text(name):
    """A twisted Name (or its bytes) as dig writes it, with the final dot.

    twisted joins labels with dots, so a dot inside a label cannot be told
    from a label boundary; every other special character is escaped.
    """
    raw = name.name if isinstance(name, dns.Name) else name
    if not raw:
        return "."
    return "".join(_label_char(byte) for byte in raw) + "."


def _label_char(byte):
    if byte == 0x2E:
        return "."
    if chr(byte) in '"();@$\\ ':
        return "\\" + chr(byte)
    return chr(byte) if 0x21 <= byte <= 0x7E else "\\%03d" % byte


def char_string(data):
    """A TXT string: quoted, with \\" and \\\\, other unprintable bytes as \\DDD."""
    text = "".join("\\" + chr(byte) if byte in b'"\\' else chr(byte) if 0x20 <= byte <= 0x7E
                   else "\\%03d" % byte for byte in data)
    return '"%s"' % text


def type_text(code):
    return TYPE_NAMES.get(code, "TYPE%d" % code)


def class_text(code):
    return CLASS_NAMES.get(code, "CLASS%d" % code)


def rdata_text(payload):
    """A decoded record's data as dig writes it."""
    if isinstance(payload, dns.UnknownRecord):
        # RFC 3597's generic form, as the recordings write it: lowercase hex, no grouping.
        return "\\# %d %s" % (len(payload.data), payload.data.hex())
    if isinstance(payload, dns.Record_A):
        return socket.inet_ntoa(payload.address)
    if isinstance(payload, dns.Record_AAAA):
        # RFC 5952's form, as dig writes it: inet_ntop's (dig's own writer is the same code).
        return socket.inet_ntop(socket.AF_INET6, payload.address)
    if isinstance(payload, dns.Record_SOA):
        return "%s %s %d %d %d %d %d" % (name_text(payload.mname), name_text(payload.rname), payload.serial,
                                         payload.refresh, payload.retry, payload.expire, payload.minimum)
    if isinstance(payload, dns.Record_MX):
        return "%d %s" % (payload.preference, name_text(payload.name))
    if isinstance(payload, dns.Record_SRV):
        return "%d %d %d %s" % (payload.priority, payload.weight, payload.port, name_text(payload.target))
    if isinstance(payload, dns.Record_TXT):
        return " ".join(char_string(part) for part in payload.data)
    return name_text(payload.name)  # NS, CNAME, PTR


@attrs.frozen
class Record:
    owner: str
    ttl: int
    cls: str
    type: str
    rdata: str

    @classmethod
    def of(cls, header):
        return cls(name_text(header.name), header.ttl, class_text(header.cls), type_text(header.type),
                   rdata_text(header.payload))

    def __str__(self):
        return "%s %d %s %s %s" % (self.owner, self.ttl, self.cls, self.type, self.rdata)


def option_text(option):
    """An EDNS option as the vectors write it: "ECS ADDR/SOURCE/SCOPE" or "OPT<code> <hex>"."""
    data = option.data
    if option.code == ECS and len(data) >= 4:
        family, source, scope = struct.unpack("!HBB", data[:4])
        size = {1: 4, 2: 16}.get(family)
        if size is not None and len(data) - 4 <= size:
            address = socket.inet_ntop(socket.AF_INET if size == 4 else socket.AF_INET6,
                                       data[4:].ljust(size, b"\0"))
            return "ECS %s/%d/%d" % (address, source, scope)
    return "OPT%d %s" % (option.code, data.hex())


def edns_description(opt):
    return {"udp_size": opt.udpPayloadSize, "version": opt.version, "do": bool(opt.dnssecOK),
            "options": [option_text(option) for option in opt.options]}


# Decoding a reply.

class _StrictMessage(dns.Message):
    """twisted's Message, but a record that is cut short or whose data does
    not fill its length is an error rather than silently dropped, and types
    dig does not spell out keep their raw data."""

    def lookupRecordType(self, type):
        return super().lookupRecordType(type) if type in PRESENTED else dns.UnknownRecord

    def parseRecords(self, records, count, strio):
        for _ in range(count):
            header = dns.RRHeader(auth=self.auth)
            header.decode(strio)
            start = strio.tell()
            header.payload = self.lookupRecordType(header.type)(ttl=header.ttl)
            header.payload.decode(strio, header.rdlength)
            if strio.tell() != start + header.rdlength:
                kind = type_text(header.type)
                raise MalformedReply("%s %s record's data: %d bytes read, its length says %d"
                                     % ("an" if kind[0] in "AEIOU" else "a", kind, strio.tell() - start,
                                        header.rdlength))
            records.append(header)


@attrs.frozen
class Reply:
    """A reply as the vectors describe one, plus what judge checks beside them."""

    id: int
    opcode: int
    rcode: str
    flags: list
    question: list
    answer: list  # of Record
    authority: list
    additional: list  # without the OPT record
    edns: dict  # or None
    size: int
    problems: list  # structural faults: a second OPT record, bytes after the last record


def describe(data):
    """Decode a reply; raises MalformedReply when it is not a DNS message."""
    message = _StrictMessage()
    stream = BytesIO(data)
    try:
        message.decode(stream)
    except (EOFError, ValueError, struct.error) as error:  # DNSDecodeError is a ValueError
        raise MalformedReply("%s: %s" % (type(error).__name__, error) if str(error) else type(error).__name__)
    counts = struct.unpack("!4H", data[4:12])
    decoded = [message.queries, message.answers, message.authority, message.additional]
    for what, count, records in zip(("question", "answer", "authority", "additional"), counts, decoded):
        if len(records) != count:  # twisted stops quietly at a question cut short
            raise MalformedReply("the header counts %d %s entries, the message holds %d" % (count, what, len(records)))
    problems = []
    if stream.tell() != len(data):
        problems.append("message: %d bytes after the last record" % (len(data) - stream.tell()))
    opts = [record for record in message.additional if record.type == dns.OPT]
    edns, extended = None, 0
    if opts:
        if len(opts) > 1:
            problems.append("edns: the reply carries %d OPT records" % len(opts))
        if opts[0].name.name:
            problems.append("edns: the OPT record is owned by %s, not the root" % name_text(opts[0].name))
        try:
            opt = dns._OPTHeader.fromRRHeader(opts[0])
        except EOFError:
            raise MalformedReply("the OPT record's options are cut short")
        edns, extended = edns_description(opt), opt.extendedRCODE
    code = extended << 4 | message.rCode
    return Reply(
        id=message.id,
        opcode=message.opCode,
        rcode=RCODES.get(code, "RCODE%d" % code),
        flags=sorted(flag for flag, attribute in FLAGS if getattr(message, attribute)),
        question=["%s %s %s" % (name_text(query.name), class_text(query.cls), type_text(query.type))
                  for query in message.queries],
        answer=[Record.of(record) for record in message.answers],
        authority=[Record.of(record) for record in message.authority],
        additional=[Record.of(record) for record in message.additional if record.type != dns.OPT],
        edns=edns,
        size=len(data),
        problems=problems,
    )


# Judging.

def as_recorded(record, now):
    """The record's line as a recording writes it: a current SOA serial is {$UNIXTIME}."""
    if record.type == "SOA":
        names, serial, timers = _soa_fields(record)
        if serial is not None and abs(serial - now) <= UNIXTIME_SLACK:
            return "%s %d %s SOA %s {$UNIXTIME} %s" % (record.owner, record.ttl, record.cls, names, timers)
    return str(record)


def _soa_fields(record):
    # Split from the right: the names may hold escaped spaces, the numbers never.
    parts = record.rdata.rsplit(" ", 5)
    if len(parts) != 6 or not parts[1].isdigit():
        return record.rdata, None, ""
    return parts[0], int(parts[1]), " ".join(parts[2:])


def judge(case, reply, agent_ip, query_id, now=None):
    """What differs between the reply's bytes and the case's recorded answer ([] when it matches).

    now: the Unix time {$UNIXTIME} is read against (the clock by default).
    """
    now = time.time() if now is None else now
    try:
        seen = describe(reply)
    except MalformedReply as error:
        return ["malformed reply (%s): %s" % (error, short(reply[:64]))]
    expect = fill(case["expect"], agent_ip)
    diffs = list(seen.problems)
    if seen.id != query_id:
        diffs.append("id: the reply's id %d is not the query's %d" % (seen.id, query_id))
    if seen.opcode != 0:
        diffs.append("opcode: expected 0 (QUERY), got %d" % seen.opcode)
    for key in ("rcode", "flags", "question", "edns"):
        if getattr(seen, key) != expect[key]:
            diffs.append("%s: expected %s, got %s" % (key, json.dumps(expect[key]), json.dumps(getattr(seen, key))))
    for section in SECTIONS:
        got = [(as_recorded(record, now), record) for record in getattr(seen, section)]
        if isinstance(expect[section], dict):
            diffs += _judge_sample(section, expect[section], [line for line, _ in got])
        else:
            diffs += _judge_multiset(section, expect[section], got, now)
    if isinstance(expect["answer"], dict):
        diffs += _judge_srv_additional(seen)
    if case.get("transport", "udp") == "udp":
        limit = max(512, case["edns"]) if case.get("edns") is not None else 512
        if seen.size > limit:
            diffs.append("size: a %d-byte UDP reply, over the %d bytes the query allows" % (seen.size, limit))
    return diffs


def _judge_multiset(section, want, got, now):
    """Order is free (Consul shuffles) but duplicates count (Consul sends some)."""
    missing, extra = list(want), []
    for line, record in got:
        if line in missing:
            missing.remove(line)
        else:
            extra.append((line, record))
    diffs = ["%s: missing %s" % (section, line) for line in missing]
    serial_wanted = any("{$UNIXTIME}" in line for line in missing)
    for line, record in extra:
        _, serial, _ = _soa_fields(record) if record.type == "SOA" else (None, None, None)
        if serial_wanted and serial is not None:
            line += " (serial %+d s from now; {$UNIXTIME} allows %d)" % (serial - now, UNIXTIME_SLACK)
        diffs.append("%s: unexpected %s" % (section, line))
    return diffs


def _judge_sample(section, want, got):
    """A random sample: exactly count records, each from the list, none twice."""
    diffs = []
    if len(got) != want["count"]:
        diffs.append("%s: expected %d records (drawn from %d), got %d"
                     % (section, want["count"], len(want["from"]), len(got)))
    allowed = set(want["from"])
    diffs += ["%s: not among the allowed records: %s" % (section, line) for line in got if line not in allowed]
    diffs += ["%s: repeated record: %s" % (section, line) for line in sorted({line for line in got if got.count(line) > 1})]
    return diffs


def _judge_srv_additional(seen):
    """With a sampled SRV answer, the additional records are those of the targets chosen."""
    targets = {record.rdata.split(" ", 3)[3].lower() for record in seen.answer
               if record.type == "SRV" and record.rdata.count(" ") >= 3}
    if not targets:
        return []
    return ["additional: %s belongs to no SRV target in the answer" % record
            for record in seen.additional if record.owner.lower() not in targets]


# The fixture: the catalog the answers were recorded against.

def http_of(target):
    """An http(method, path, body, headers) callable: from a "host:port"
    address (a LiveAgent), a target with an http method, or the callable itself."""
    if isinstance(target, str):
        return LiveAgent(target).http
    return getattr(target, "http", target)


def load_fixture(target_http, fixture):
    """Send the fixture's requests (JSON bodies); raises FixtureError listing any the agent refused."""
    send = http_of(target_http)
    refused = []
    for request in fixture:
        body = request.get("body")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        result = send(request["method"], request["path"], data, headers)
        if not 200 <= result.status < 300:
            refused.append("%s %s answered %d %s" % (request["method"], request["path"], result.status,
                                                     short(result.body)))
    if refused:
        raise FixtureError("the agent refused part of the fixture: " + "; ".join(refused))


@attrs.frozen
class Catalog:
    """What the fixture registers: nodes, instances by service name, check statuses."""

    nodes: frozenset
    instances: dict  # service name -> {(node, service ID)}
    checks: tuple  # (node, service ID or "", check ID, status)


def fixture_catalog(fixture, agent_node):
    nodes, instances, checks = set(), {}, []
    for request in fixture:
        body = request.get("body") or {}
        listed = ([body["Check"]] if body.get("Check") else []) + list(body.get("Checks") or [])
        if request["path"].startswith("/v1/catalog/register"):
            nodes.add(body["Node"])
            service = body.get("Service")
            if service:
                instances.setdefault(service["Service"], set()).add((body["Node"], service.get("ID") or service["Service"]))
            for check in listed:
                # The catalog names a check without an ID after its Name.
                check_id = check.get("CheckID") or check.get("ID") or check.get("Name")
                checks.append((body["Node"], check.get("ServiceID") or "", check_id, check.get("Status") or "critical"))
        elif request["path"].startswith("/v1/agent/service/register"):
            service_id = body.get("ID") or body["Name"]
            instances.setdefault(body["Name"], set()).add((agent_node, service_id))
            for number, check in enumerate(listed, 1):
                # The agent's own name for a service's check: service:<id>, numbered when several.
                check_id = check.get("CheckID") or check.get("ID") or (
                    "service:%s" % service_id + (":%d" % number if len(listed) > 1 else ""))
                checks.append((agent_node, service_id, check_id, check.get("Status") or "critical"))
    return Catalog(frozenset(nodes), instances, tuple(checks))


def _get_json(send, path):
    result = send("GET", path, None, {})
    if result.status != 200:
        raise ValueError("GET %s answered %d %s" % (path, result.status, short(result.body)))
    return json.loads(result.body)


def catalog_gaps(target_http, catalog):
    """What the agent's /v1/catalog/nodes and /v1/health/service/<name> do not show yet."""
    send = http_of(target_http)
    shown_nodes = {node.get("Node") for node in _get_json(send, "/v1/catalog/nodes") or []}
    gaps = ["node %s" % node for node in sorted(catalog.nodes - shown_nodes)]
    statuses, serving = {}, set()
    for name, wanted in sorted(catalog.instances.items()):
        shown = set()
        for entry in _get_json(send, "/v1/health/service/" + quote(name, safe="")) or []:
            node = (entry.get("Node") or {}).get("Node")
            shown.add((node, (entry.get("Service") or {}).get("ID")))
            for check in entry.get("Checks") or []:
                statuses[(node, check.get("ServiceID") or "", check.get("CheckID"))] = check.get("Status")
        gaps += ["instance %s of %s on %s" % (service_id, name, node) for node, service_id in sorted(wanted - shown)]
        serving.update(node for node, _ in wanted)
    for node in sorted({node for node, service_id, _, _ in catalog.checks if not service_id} - serving):
        # A node check where no service shows it: only the node's health does.
        for check in _get_json(send, "/v1/health/node/" + quote(node, safe="")) or []:
            statuses[(node, check.get("ServiceID") or "", check.get("CheckID"))] = check.get("Status")
    for node, service_id, check_id, status in catalog.checks:
        shown = statuses.get((node, service_id, check_id))
        if shown != status:
            gaps.append("check %s on %s%s %s (shown: %s)"
                        % (check_id, node, " for " + service_id if service_id else "", status, shown))
    return gaps


def wait_for_fixture(target_http, fixture, agent_node="s1", timeout=FIXTURE_TIMEOUT, interval=0.1,
                     clock=time.monotonic, pause=None):
    """Poll until the agent shows every node, instance and check status of the fixture.

    Raises FixtureError naming what is still missing after timeout seconds
    of clock. pause lets interval pass between polls: the target's own
    sleep when it has one (a fake clock), else time.sleep.
    """
    catalog = fixture_catalog(fixture, agent_node)
    pause = pause or getattr(target_http, "sleep", time.sleep)
    deadline = clock() + timeout
    while True:
        try:
            gaps = catalog_gaps(target_http, catalog)
        except (OSError, ValueError, http.client.HTTPException) as error:
            gaps = ["a readable catalog (%s: %s)" % (type(error).__name__, error)]
        if not gaps:
            return
        if clock() >= deadline:
            more = " and %d more" % (len(gaps) - 10) if len(gaps) > 10 else ""
            raise FixtureError("after %g s the agent still does not show: %s%s" % (timeout, "; ".join(gaps[:10]), more))
        pause(interval)


def run_all(dns_address, http_address, agent_ip=None, only=None, wait=FIXTURE_TIMEOUT):
    """Load the fixture through http_address, wait for it, ask every case of dns_address.

    Returns [(case name, [difference, ...])] for the cases that fail. The
    agent must be a fresh server named as the vectors' agent (s1, dc1,
    domain consul). agent_ip: the address of that node (the DNS host by
    default). only: the names of the cases to run (all by default).
    """
    document = load_dns_vectors()
    cases = document["cases"]
    if only is not None:
        unknown = set(only) - {case["name"] for case in cases}
        if unknown:
            raise VectorError("no such case: %s" % ", ".join(sorted(unknown)))
        cases = [case for case in cases if case["name"] in only]
    agent_ip = agent_ip or split_address(dns_address)[0]
    load_fixture(http_address, document["fixture"])
    wait_for_fixture(http_address, document["fixture"], document["agent"]["node"], timeout=wait)
    failures = []
    for case in cases:
        # Never 0, so a server that zeroes the id is caught; random, so one
        # that replays an earlier reply's id is too.
        query_id = random.randrange(1, 0x10000)
        try:
            reply = ask(case, dns_address, query_id, agent_ip)
        except OSError as error:
            diffs = ["no reply: %s: %s" % (type(error).__name__, error)]
        else:
            diffs = judge(case, reply, agent_ip, query_id)
        if diffs:
            failures.append((case["name"], diffs))
    return failures
