"""The DNS vector runner itself, without a DNS server: replies are built with
twisted.names, and the runner must accept the recorded ones and report
every way a reply departs from them."""

import json
import re
import selectors
import socket
import struct
import threading
import time

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.config import build
from pyconsul.testing.server import NODE_ID, InMemoryServer
from tests.vectors import dns as vectors
from tests.vectors.runner import HTTPResult, VectorError
from tests.vectors.targets import InMemoryAgent

DOCUMENT = vectors.load_dns_vectors()
CASES = {case["name"]: case for case in DOCUMENT["cases"]}
AGENT_IP = "127.0.0.61"
NOW = 1700000000
QUERY_ID = 4660
RCODE_CODES = {name: code for code, name in vectors.RCODES.items()}


def case(name, **changes):
    return dict(CASES[name], **changes)


# Replies built from a recording, through a reader of the vectors' lines
# that is independent of the runner's writer.

def owner_bytes(text):
    return text[:-1].encode() if text.endswith(".") else text.encode()


def txt_strings(rdata):
    def unescape(match):
        escaped = match.group(1)
        return bytes([int(escaped)]) if escaped.isdigit() else escaped

    return [re.sub(rb"\\(\d{3}|.)", unescape, part.encode())
            for part in re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)]


class PointedAtSRV(dns.Record_SRV):
    """SRV as Consul's encoder writes it: the target never compressed, but
    names after it may point into it (twisted's leaves it out of the
    compression table, and its replies grow past what Consul fit in 1232 bytes)."""

    def encode(self, strio, compDict=None):
        strio.write(struct.pack("!HHH", self.priority, self.weight, self.port))
        written = {}  # empty, so no pointer is written; it learns where each suffix is
        self.target.encode(strio, written)
        if compDict is not None:
            for name, offset in written.items():
                compDict.setdefault(name, offset)


def payload_from(kind, rdata, now):
    fields = rdata.split(" ")
    if kind == "A":
        return dns.Record_A(rdata)
    if kind == "AAAA":
        return dns.Record_AAAA(rdata)
    if kind == "SRV":
        return PointedAtSRV(int(fields[0]), int(fields[1]), int(fields[2]), owner_bytes(fields[3]))
    if kind == "TXT":
        return dns.Record_TXT(*txt_strings(rdata))
    if kind == "SOA":
        serial = now if fields[2] == "{$UNIXTIME}" else int(fields[2])
        return dns.Record_SOA(owner_bytes(fields[0]), owner_bytes(fields[1]), serial, *map(int, fields[3:]))
    record = {"NS": dns.Record_NS, "PTR": dns.Record_PTR, "CNAME": dns.Record_CNAME}[kind]
    return record(owner_bytes(rdata))


def record_from(line, now=NOW):
    owner, ttl, cls, kind, rdata = line.split(" ", 4)
    assert cls == "IN", line
    return dns.RRHeader(owner_bytes(owner), vectors.TYPE_CODES[kind], ttl=int(ttl),
                        payload=payload_from(kind, rdata, now))


def chosen(expect):
    """The records a correct reply may carry: the first of a sample, and for
    a sampled SRV answer the additional records of the chosen targets."""
    answer, authority, additional = (expect[section] for section in vectors.SECTIONS)
    if isinstance(answer, dict):
        answer = answer["from"][: answer["count"]]
    if isinstance(authority, dict):
        authority = authority["from"][: authority["count"]]
    if isinstance(additional, dict):
        targets = {line.split(" ")[-1] for line in answer if " SRV " in line}
        pool = [line for line in additional["from"] if not targets or line.split(" ")[0] in targets]
        additional = pool[: additional["count"]]
    return answer, authority, additional


def option_from(text):
    address, source, scope = text[len("ECS "):].rsplit("/", 2)
    family = 2 if ":" in address else 1
    packed = socket.inet_pton(socket.AF_INET6 if family == 2 else socket.AF_INET, address)
    return dns._OPTVariableOption(8, struct.pack("!HBB", family, int(source), int(scope))
                                  + packed[: (int(source) + 7) // 8])


def recorded_reply(case_, query_id=QUERY_ID, agent_ip=AGENT_IP, now=NOW):
    """A twisted Message holding what Consul answered, each section in reverse order."""
    expect = vectors.fill(case_["expect"], agent_ip)
    flags = set(expect["flags"])
    message = dns.Message(id=query_id, answer="qr" in flags, auth="aa" in flags, trunc="tc" in flags,
                          recDes="rd" in flags, recAv="ra" in flags, maxSize=0, rCode=RCODE_CODES[expect["rcode"]])
    name, _, kind = expect["question"][0].split(" ")
    message.queries = [dns.Query(owner_bytes(name), vectors.TYPE_CODES[kind], dns.IN)]
    answer, authority, additional = chosen(expect)
    message.answers = [record_from(line, now) for line in reversed(answer)]
    message.authority = [record_from(line, now) for line in reversed(authority)]
    message.additional = [record_from(line, now) for line in reversed(additional)]
    if expect["edns"] is not None:
        edns = expect["edns"]
        message.additional.append(dns._OPTHeader(udpPayloadSize=edns["udp_size"], version=edns["version"],
                                                 dnssecOK=edns["do"],
                                                 options=[option_from(text) for text in edns["options"]]))
    return message


def wire(message):
    """Encoded whole: twisted would cut anything over 512 bytes and set TC."""
    message.maxSize = 0
    return message.toStr()


def judged(case_, message, query_id=QUERY_ID, now=NOW):
    return vectors.judge(case_, wire(message), AGENT_IP, query_id, now=now)


def rr(owner, payload, ttl=0):
    return dns.RRHeader(owner, payload.TYPE, ttl=ttl, payload=payload)


def reply(query, answers=(), authority=(), additional=(), rcode=dns.OK, auth=1, recAv=0):
    message = dns.Message(id=QUERY_ID, answer=1, auth=auth, recDes=1, recAv=recAv, rCode=rcode, maxSize=0)
    message.queries = [query]
    message.answers, message.authority, message.additional = list(answers), list(authority), list(additional)
    return message


class RecordedRepliesTests(SynchronousTestCase):
    def test_vectors_found(self):
        self.assertEqual(len(CASES), 119)
        self.assertEqual((DOCUMENT["agent"]["node"], DOCUMENT["agent"]["datacenter"]), ("s1", "dc1"))

    def test_every_recorded_answer_matches(self):
        """Every record in the vectors is written back exactly as recorded,
        whatever order the sections come in."""
        failures = {name: judged(case_, recorded_reply(case_)) for name, case_ in CASES.items()}
        self.assertEqual({name: diffs for name, diffs in failures.items() if diffs}, {})


class HandBuiltRepliesTests(SynchronousTestCase):
    """Replies made of twisted's record classes, as a server would send them."""

    def test_srv_with_mixed_case_and_additional(self):
        message = reply(dns.Query(b"Web.Service.Consul", dns.SRV), answers=[
            rr(b"Web.Service.Consul", dns.Record_SRV(1, 1, 80, b"web-%d.node.dc1.consul" % n)) for n in (6, 1, 2)
        ], additional=[
            rr(b"web-1.node.dc1.consul", dns.Record_A("10.0.1.1")),
            rr(b"web-2.node.dc1.consul", dns.Record_TXT(b"rack=r2")),
            rr(b"web-1.node.dc1.consul", dns.Record_TXT(b"rack=r1")),
            rr(b"web-6.node.dc1.consul", dns.Record_AAAA("2001:0db8:0000:0000:0000:0000:0000:0006")),
            rr(b"web-2.node.dc1.consul", dns.Record_A("10.0.1.2")),
            rr(b"web-1.node.dc1.consul", dns.Record_TXT(b"env=prod")),
        ])
        self.assertEqual(judged(CASES["svc-web-mixed-srv"], message), [])

    def test_soa_ns_and_edns(self):
        message = dns._EDNSMessage(id=QUERY_ID, answer=1, auth=1, recDes=1, maxSize=4096, queries=[
            dns.Query(b"consul", dns.SOA)
        ], answers=[
            rr(b"consul", dns.Record_SOA(b"ns.consul", b"hostmaster.consul", NOW - 60, 3600, 600, 86400, 0))
        ], authority=[rr(b"consul", dns.Record_NS(b"s1.node.dc1.consul"))],
            additional=[rr(b"s1.node.dc1.consul", dns.Record_A(AGENT_IP))])
        self.assertEqual(judged(CASES["apex-soa-edns"], message._toMessage()), [])

    def test_client_subnet_echoed(self):
        message = reply(dns.Query(b"web.service.consul", dns.AAAA),
                        answers=[rr(b"web.service.consul", dns.Record_AAAA("2001:db8::6"))],
                        additional=[dns._OPTHeader(udpPayloadSize=4096, options=[
                            dns._OPTVariableOption(8, b"\x00\x02\x30\x00\x20\x01\x0d\xb8\xab\xcd")])])
        self.assertEqual(judged(CASES["edns-ecs-v6"], message), [])

    def test_txt_escapes(self):
        meta = [b"empty=", b"owner=ops=team", b'quote=say "hi"', b"spaced=two words", b"tick=a``b", b"v=spf1 -all"]
        message = reply(dns.Query(b"meta-node.node.consul", dns.TXT),
                        answers=[rr(b"meta-node.node.consul", dns.Record_TXT(text)) for text in meta])
        self.assertEqual(judged(CASES["node-meta-txt-tcp"], message), [])

    def test_agent_address_reversed(self):
        message = reply(dns.Query(b"61.0.0.127.in-addr.arpa", dns.PTR),
                        answers=[rr(b"61.0.0.127.in-addr.arpa", dns.Record_PTR(b"s1.node.dc1.consul"))])
        self.assertEqual(judged(CASES["ptr-agent"], message), [])

    def test_refused(self):
        message = reply(dns.Query(b"example.com", dns.A), rcode=dns.EREFUSED, auth=0)
        self.assertEqual(judged(CASES["outside-a"], message), [])


class DifferenceTests(SynchronousTestCase):
    """Each way a reply can depart from the recording is reported."""

    def test_wrong_ttl(self):
        message = recorded_reply(CASES["local-warn-a"])
        message.answers[0].ttl = 30
        self.assertEqual(judged(CASES["local-warn-a"], message), [
            "answer: missing local-warn.service.consul. 0 IN A 127.0.0.61",
            "answer: unexpected local-warn.service.consul. 30 IN A 127.0.0.61",
        ])

    def test_missing_record(self):
        message = recorded_reply(CASES["svc-web-mixed-srv"])
        message.additional = [record for record in message.additional if record.type != dns.AAAA]
        self.assertEqual(judged(CASES["svc-web-mixed-srv"], message),
                         ["additional: missing web-6.node.dc1.consul. 0 IN AAAA 2001:db8::6"])

    def test_duplicate_counts(self):
        message = recorded_reply(CASES["svc-web-a"])
        message.answers.append(message.answers[0])
        self.assertEqual(judged(CASES["svc-web-a"], message),
                         ["answer: unexpected web.service.consul. 0 IN A 10.0.1.2"])

    def test_recorded_duplicates_are_required(self):
        """Consul repeats a node's A record per instance: one copy is not enough."""
        message = recorded_reply(CASES["multi-srv"])
        message.additional.pop()
        self.assertEqual(judged(CASES["multi-srv"], message),
                         ["additional: missing multi-1.node.dc1.consul. 0 IN A 10.0.9.1"])

    def test_sample_of_the_wrong_size(self):
        message = recorded_reply(CASES["big-a-udp"])
        message.answers.append(rr(b"big.service.consul", dns.Record_A("10.2.0.20")))
        self.assertEqual(judged(CASES["big-a-udp"], message),
                         ["answer: expected 3 records (drawn from 40), got 4"])
        message.answers = message.answers[:2]
        self.assertEqual(judged(CASES["big-a-udp"], message),
                         ["answer: expected 3 records (drawn from 40), got 2"])

    def test_sample_with_a_foreign_record(self):
        message = recorded_reply(CASES["big-a-udp"])
        message.answers[0] = rr(b"big.service.consul", dns.Record_A("10.2.0.41"))
        self.assertEqual(judged(CASES["big-a-udp"], message),
                         ["answer: not among the allowed records: big.service.consul. 0 IN A 10.2.0.41"])

    def test_sample_with_a_repeated_record(self):
        message = recorded_reply(CASES["big-a-udp"])
        message.answers[0] = message.answers[1]
        self.assertEqual(judged(CASES["big-a-udp"], message),
                         ["answer: repeated record: " + str(vectors.Record.of(message.answers[1]))])

    def test_srv_additional_of_an_unchosen_target(self):
        message = recorded_reply(CASES["big-srv-udp"])
        self.assertEqual(judged(CASES["big-srv-udp"], message), [])
        message.additional[0] = rr(b"big-40.node.dc1.consul", dns.Record_A("10.2.0.40"))
        self.assertEqual(judged(CASES["big-srv-udp"], message),
                         ["additional: big-40.node.dc1.consul. 0 IN A 10.2.0.40 belongs to no SRV target in the answer"])

    def test_srv_targets_compare_without_case(self):
        message = recorded_reply(CASES["big-srv-udp"])
        message.answers = [rr(b"big.service.consul", dns.Record_SRV(1, 1, 9000, b"BIG-%02d.node.dc1.consul" % n))
                           for n in (1, 2, 3)]
        self.assertEqual([diff for diff in judged(CASES["big-srv-udp"], message) if "SRV target" in diff], [])

    def test_wrong_flag(self):
        message = recorded_reply(CASES["svc-web-a"])
        message.recAv = 1
        message.trunc = 1
        self.assertEqual(judged(CASES["svc-web-a"], message),
                         ['flags: expected ["aa", "qr", "rd"], got ["aa", "qr", "ra", "rd", "tc"]'])

    def test_wrong_rcode(self):
        message = recorded_reply(CASES["svc-web-unknown-dc-a"])
        message.rCode = dns.OK
        self.assertEqual(judged(CASES["svc-web-unknown-dc-a"], message),
                         ['rcode: expected "NXDOMAIN", got "NOERROR"'])

    def test_extended_rcode(self):
        message = recorded_reply(CASES["edns-nxdomain"])
        message.additional[-1].extendedRCODE = 1  # NXDOMAIN | 16: RCODE 19
        self.assertEqual(judged(CASES["edns-nxdomain"], message), ['rcode: expected "NXDOMAIN", got "RCODE19"'])

    def test_edns_missing_or_different(self):
        name = "edns-web-a-4096"
        message = recorded_reply(CASES[name])
        message.additional[-1].udpPayloadSize = 1232
        self.assertEqual(judged(CASES[name], message), [
            'edns: expected {"udp_size": 4096, "version": 0, "do": false, "options": []}, '
            'got {"udp_size": 1232, "version": 0, "do": false, "options": []}'])
        message.additional.pop()
        self.assertEqual(judged(CASES[name], message),
                         ['edns: expected {"udp_size": 4096, "version": 0, "do": false, "options": []}, got null'])

    def test_edns_where_none_was_recorded(self):
        message = recorded_reply(CASES["outside-aaaa-edns"])
        message.additional.append(dns._OPTHeader(udpPayloadSize=4096, dnssecOK=True))
        self.assertEqual(judged(CASES["outside-aaaa-edns"], message), [
            'edns: expected null, got {"udp_size": 4096, "version": 0, "do": true, "options": []}'])

    def test_client_subnet_scope(self):
        message = recorded_reply(CASES["edns-ecs-v6"])
        message.additional[-1].options = [option_from("ECS 2001:db8:abcd::/48/48")]
        self.assertEqual(judged(CASES["edns-ecs-v6"], message), [
            'edns: expected {"udp_size": 4096, "version": 0, "do": false, "options": ["ECS 2001:db8:abcd::/48/0"]}, '
            'got {"udp_size": 4096, "version": 0, "do": false, "options": ["ECS 2001:db8:abcd::/48/48"]}'])

    def test_two_opt_records(self):
        message = recorded_reply(CASES["edns-web-a-4096"])
        message.additional.append(dns._OPTHeader(udpPayloadSize=4096))
        self.assertEqual(judged(CASES["edns-web-a-4096"], message), ["edns: the reply carries 2 OPT records"])

    def test_unixtime_window(self):
        name = "apex-soa-tcp"
        for serial in (NOW - 900, NOW + 900):
            self.assertEqual(judged(CASES[name], recorded_reply(CASES[name], now=serial)), [])
        self.assertEqual(judged(CASES[name], recorded_reply(CASES[name], now=NOW - 901)), [
            "answer: missing consul. 0 IN SOA ns.consul. hostmaster.consul. {$UNIXTIME} 3600 600 86400 0",
            "answer: unexpected consul. 0 IN SOA ns.consul. hostmaster.consul. %d 3600 600 86400 0"
            " (serial -901 s from now; {$UNIXTIME} allows 900)" % (NOW - 901),
        ])

    def test_unixtime_reads_the_clock_by_default(self):
        name = "apex-soa-tcp"
        reply_bytes = wire(recorded_reply(CASES[name], now=int(time.time())))
        self.assertEqual(vectors.judge(CASES[name], reply_bytes, AGENT_IP, QUERY_ID), [])

    def test_oversized_udp_reply(self):
        """40 A records (687 bytes): too big for a UDP query without EDNS, fine over TCP or with 4096."""
        name = "big-a-udp-edns4096"
        reply_bytes = wire(recorded_reply(CASES[name]))
        self.assertEqual(len(reply_bytes), 687)
        self.assertEqual(vectors.judge(CASES[name], reply_bytes, AGENT_IP, QUERY_ID, now=NOW), [])
        self.assertEqual(vectors.judge(case(name, edns=None), reply_bytes, AGENT_IP, QUERY_ID, now=NOW),
                         ["size: a 687-byte UDP reply, over the 512 bytes the query allows"])
        self.assertEqual(vectors.judge(case(name, edns=256), reply_bytes, AGENT_IP, QUERY_ID, now=NOW),
                         ["size: a 687-byte UDP reply, over the 512 bytes the query allows"])
        self.assertEqual(vectors.judge(case(name, edns=None, transport="tcp"), reply_bytes, AGENT_IP,
                                       QUERY_ID, now=NOW), [])

    def test_mismatched_id(self):
        message = recorded_reply(CASES["svc-web-a"], query_id=QUERY_ID + 1)
        self.assertEqual(judged(CASES["svc-web-a"], message),
                         ["id: the reply's id %d is not the query's %d" % (QUERY_ID + 1, QUERY_ID)])

    def test_opcode(self):
        message = recorded_reply(CASES["svc-web-a"])
        message.opCode = dns.OP_STATUS
        self.assertEqual(judged(CASES["svc-web-a"], message), ["opcode: expected 0 (QUERY), got 2"])

    def test_question_case(self):
        message = recorded_reply(CASES["svc-web-upper"])
        message.queries = [dns.Query(b"web.service.consul", dns.A)]
        self.assertEqual(judged(CASES["svc-web-upper"], message),
                         ['question: expected ["WEB.SERVICE.CONSUL. IN A"], got ["web.service.consul. IN A"]'])

    def test_agent_address_filled(self):
        message = recorded_reply(CASES["local-api-a"], agent_ip="127.0.0.62")
        self.assertEqual(judged(CASES["local-api-a"], message), [
            "answer: missing local-api.service.consul. 0 IN A 127.0.0.61",
            "answer: unexpected local-api.service.consul. 0 IN A 127.0.0.62",
        ])


class MalformedReplyTests(SynchronousTestCase):
    def good(self):
        return wire(recorded_reply(CASES["svc-web-a"]))

    def assertMalformed(self, reply_bytes, reason):
        diffs = vectors.judge(CASES["svc-web-a"], reply_bytes, AGENT_IP, QUERY_ID, now=NOW)
        self.assertEqual(len(diffs), 1, diffs)
        self.assertTrue(diffs[0].startswith("malformed reply (%s" % reason), diffs)

    def test_shorter_than_a_header(self):
        self.assertMalformed(self.good()[:11], "EOFError")

    def test_record_cut_short(self):
        self.assertMalformed(self.good()[:-2], "EOFError")

    def test_question_cut_short(self):
        self.assertMalformed(self.good()[:20], "the header counts 1 question entries, the message holds 0")

    def test_count_beyond_the_records(self):
        data = bytearray(self.good())
        data[7] += 1
        self.assertMalformed(bytes(data), "EOFError")

    def test_data_longer_than_its_type(self):
        message = reply(dns.Query(b"web.service.consul", dns.A),
                        answers=[dns.RRHeader(b"web.service.consul", dns.A, payload=dns.UnknownRecord(b"\n\0\1\1\0"))])
        self.assertMalformed(wire(message), "an A record's data: 4 bytes read, its length says 5")

    def test_pointer_loop(self):
        data = self.good()
        looped = data[:12] + b"\xc0\x0c" + data[12 + len(b"\x03web\x07service\x06consul\x00"):]
        self.assertMalformed(looped, "ValueError")

    def test_bytes_after_the_last_record(self):
        diffs = vectors.judge(CASES["svc-web-a"], self.good() + b"\0\0", AGENT_IP, QUERY_ID, now=NOW)
        self.assertEqual(diffs, ["message: 2 bytes after the last record"])


class PresentationTests(SynchronousTestCase):
    def line(self, owner, payload, cls=dns.IN):
        message = reply(dns.Query(b"x", dns.A),
                        answers=[dns.RRHeader(owner, getattr(payload, "TYPE", None) or 65280, cls, 7, payload)])
        return str(vectors.describe(wire(message)).answer[0])

    def test_addresses(self):
        self.assertEqual(self.line(b"a", dns.Record_A("10.0.0.1")), "a. 7 IN A 10.0.0.1")
        for written, compressed in [("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:db8:0:1:1:1:1:1",
                                     "2001:db8:0:1:1:1:1:1"), ("0:0:0:0:0:0:0:1", "::1"),
                                    ("2001:DB8:0:0:0:0:0:0", "2001:db8::")]:
            self.assertEqual(self.line(b"a", dns.Record_AAAA(written)), "a. 7 IN AAAA " + compressed)

    def test_names_in_rdata(self):
        self.assertEqual(self.line(b"a", dns.Record_CNAME(b"Other.Example")), "a. 7 IN CNAME Other.Example.")
        self.assertEqual(self.line(b"a", dns.Record_NS(b"ns1.x")), "a. 7 IN NS ns1.x.")
        self.assertEqual(self.line(b"a", dns.Record_PTR(b"")), "a. 7 IN PTR .")
        self.assertEqual(self.line(b"a", dns.Record_MX(10, b"mail.x")), "a. 7 IN MX 10 mail.x.")
        self.assertEqual(self.line(b"a", dns.Record_SRV(1, 2, 3, b"t.x")), "a. 7 IN SRV 1 2 3 t.x.")
        self.assertEqual(self.line(b"a", dns.Record_SOA(b"m.x", b"r.x", 1, 2, 3, 4, 5)),
                         "a. 7 IN SOA m.x. r.x. 1 2 3 4 5")

    def test_txt(self):
        self.assertEqual(self.line(b"a", dns.Record_TXT(b'one "two"', b"back\\slash", b"\x00\x7f\xff", b"")),
                         'a. 7 IN TXT "one \\"two\\"" "back\\\\slash" "\\000\\127\\255" ""')

    def test_owner_names(self):
        self.assertEqual(self.line(b"", dns.Record_A("10.0.0.1")), ". 7 IN A 10.0.0.1")
        self.assertEqual(self.line(b'Mixed.a b.q"(x)\x01', dns.Record_A("10.0.0.1"), cls=dns.CH),
                         'Mixed.a\\ b.q\\"\\(x\\)\\001. 7 CH A 10.0.0.1')

    def test_other_types_in_generic_form(self):
        """Types dig does not spell out: RFC 3597's form, under their name or TYPEn."""
        self.assertEqual(self.line(b"a", dns.UnknownRecord(b"\x01\xab")), "a. 7 IN TYPE65280 \\# 2 01ab")
        self.assertEqual(self.line(b"a", dns.Record_HINFO(b"cpu", b"os")), "a. 7 IN HINFO \\# 7 03637075026f73")
        self.assertEqual(self.line(b"a", dns.UnknownRecord(b"")), "a. 7 IN TYPE65280 \\# 0 ")

    def test_edns_options(self):
        opt = dns._OPTHeader(udpPayloadSize=1232, version=1, dnssecOK=True, options=[
            dns._OPTVariableOption(8, b"\x00\x01\x18\x00\x0a\x01\x02"), dns._OPTVariableOption(10, b"\x01\x02"),
            dns._OPTVariableOption(8, b"\x00\x05\x00\x00")])
        self.assertEqual(vectors.edns_description(opt), {
            "udp_size": 1232, "version": 1, "do": True, "options": ["ECS 10.1.2.0/24/0", "OPT10 0102", "OPT8 00050000"]})


class QueryTests(SynchronousTestCase):
    def test_name_sent_as_written(self):
        query = vectors.build_query(CASES["svc-web-mixed-srv"], 0x1234, AGENT_IP)
        self.assertEqual(query, b"\x12\x34\x01\x00\0\x01\0\0\0\0\0\0\x03Web\x07Service\x06Consul\x00\x00\x21\x00\x01")

    def test_rd_clear(self):
        query = vectors.build_query(case("svc-web-a", rd=False), 1, AGENT_IP)
        self.assertEqual(query[2:4], b"\0\0")

    def test_root_and_placeholders(self):
        self.assertEqual(vectors.build_query(CASES["outside-root-ns"], 1, AGENT_IP)[12:], b"\x00\x00\x02\x00\x01")
        query = vectors.build_query(CASES["ptr-agent"], 1, AGENT_IP)
        self.assertEqual(query[12:], b"\x0261\x010\x010\x03127\x07in-addr\x04arpa\x00\x00\x0c\x00\x01")

    def test_edns_and_client_subnet(self):
        query = vectors.build_query(CASES["edns-ecs-v6"], 1, AGENT_IP)
        question = b"\x03web\x07service\x06consul\x00\x00\x1c\x00\x01"
        self.assertEqual(query[:12], b"\0\x01\x01\x00\0\x01\0\0\0\0\0\x01")
        self.assertEqual(query[12 + len(question):], b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x0e"
                         b"\x00\x08\x00\x0a\x00\x02\x30\x00\x20\x01\x0d\xb8\xab\xcd")
        query = vectors.build_query(CASES["big-srv-udp-edns1232"], 1, AGENT_IP)
        self.assertEqual(query[-11:], b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")

    def test_malformed_cases(self):
        self.assertRaises(VectorError, vectors.build_query, case("svc-web-a", qname="we\\.b.consul."), 1, AGENT_IP)
        self.assertRaises(VectorError, vectors.build_query, case("svc-web-a", qname="a..consul."), 1, AGENT_IP)
        self.assertRaises(VectorError, vectors.build_query, case("svc-web-a", ecs="10.0.0.0/8"), 1, AGENT_IP)
        self.assertRaises(VectorError, vectors.build_query, case("svc-web-a", qtype="NOPE"), 1, AGENT_IP)
        self.assertRaises(VectorError, vectors.build_query, CASES["ptr-agent"], 1, "::1")
        self.assertEqual(vectors.build_query(case("svc-web-a", qtype="TYPE65280"), 1, AGENT_IP)[-4:],
                         b"\xff\x00\x00\x01")


# A loopback responder for the runner's sockets: UDP and TCP on one port.

class Responder:
    """Answers each query with answer(query, transport): bytes, or None to stay silent."""

    def __init__(self, test, answer):
        self.answer, self.received, self.errors = answer, [], []
        self.udp, self.tcp = self._bind()
        self.port = self.udp.getsockname()[1]
        self.wake, self.woken = socket.socketpair()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    @staticmethod
    def _bind():
        for _ in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind(("127.0.0.1", udp.getsockname()[1]))
            except OSError:  # that TCP port is taken: try another UDP one
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            return udp, tcp
        raise AssertionError("no port free for both UDP and TCP")

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _serve(self):
        with selectors.DefaultSelector() as selector:
            selector.register(self.udp, selectors.EVENT_READ, self._on_udp)
            selector.register(self.tcp, selectors.EVENT_READ, self._on_tcp)
            selector.register(self.woken, selectors.EVENT_READ, None)
            while True:
                for key, _ in selector.select():
                    if key.data is None:
                        return
                    try:
                        key.data()
                    except Exception as error:  # reported by stop()
                        self.errors.append(error)

    def _on_udp(self):
        query, peer = self.udp.recvfrom(65535)
        self.received.append(("udp", query))
        answer = self.answer(query, "udp")
        if answer is not None:
            self.udp.sendto(answer, peer)

    def _on_tcp(self):
        connection, _ = self.tcp.accept()
        with connection:
            connection.settimeout(5)
            (length,) = struct.unpack("!H", vectors._receive(connection, 2, time.monotonic() + 5))
            query = vectors._receive(connection, length, time.monotonic() + 5)
            self.received.append(("tcp", query))
            answer = self.answer(query, "tcp")
            if answer is not None:
                framed = struct.pack("!H", len(answer)) + answer
                # In two writes, so the runner has to put the reply together.
                connection.sendall(framed[:3])
                connection.sendall(framed[3:])

    def stop(self):
        self.wake.send(b"x")
        self.thread.join(10)
        for sock in (self.udp, self.tcp, self.wake, self.woken):
            sock.close()
        if self.errors:
            raise self.errors[0]


class AskTests(SynchronousTestCase):
    def test_udp(self):
        responder = Responder(self, lambda query, transport: b"reply over " + transport.encode())
        self.assertEqual(vectors.ask(CASES["svc-web-mixed-srv"], responder.address, 0x1234), b"reply over udp")
        self.assertEqual(responder.received, [("udp", vectors.build_query(CASES["svc-web-mixed-srv"], 0x1234, "x"))])

    def test_tcp(self):
        responder = Responder(self, lambda query, transport: b"reply over " + transport.encode())
        self.assertEqual(vectors.ask(CASES["big-srv-tcp"], ("127.0.0.1", responder.port), 7), b"reply over tcp")
        self.assertEqual(responder.received, [("tcp", vectors.build_query(CASES["big-srv-tcp"], 7, "x"))])

    def test_placeholders_from_the_dns_host(self):
        responder = Responder(self, lambda query, transport: b"ok")
        vectors.ask(CASES["ptr-agent"], responder.address, 1)
        vectors.ask(CASES["ptr-agent"], responder.address, 2, agent_ip=AGENT_IP)
        self.assertEqual([query[12:15] for _, query in responder.received], [b"\x011\x01", b"\x0261"])

    def test_udp_asked_again_after_a_timeout(self):
        answers = [None, b"second"]
        responder = Responder(self, lambda query, transport: answers.pop(0))
        self.assertEqual(vectors.ask(CASES["svc-web-a"], responder.address, 9, timeout=0.2), b"second")
        self.assertEqual(len(responder.received), 2)
        self.assertEqual(responder.received[0], responder.received[1])

    def test_udp_gives_up(self):
        responder = Responder(self, lambda query, transport: None)
        self.assertRaises(socket.timeout, vectors.ask, CASES["svc-web-a"], responder.address, 9, timeout=0.1)
        self.assertEqual(len(responder.received), vectors.UDP_TRIES)

    def test_tcp_closed_early(self):
        responder = Responder(self, lambda query, transport: None)
        self.assertRaises(ConnectionError, vectors.ask, CASES["big-srv-tcp"], responder.address, 9)


# The fixture.

def answered(body, status=200):
    return HTTPResult(status, [], json.dumps(body).encode(), 0.0)


class CatalogHTTP:
    """An agent's catalog reads as a dict of GET paths; writes are recorded."""

    def __init__(self, reads=None, refuse=()):
        self.reads, self.refuse, self.sent = dict(reads or {}), refuse, []

    def http(self, method, path, body=None, headers=None):
        self.sent.append((method, path, body, headers))
        if method != "GET":
            return answered("refused", 400) if path in self.refuse else answered(True)
        return answered(self.reads[path]) if path in self.reads else answered("no such path", 404)


SMALL_FIXTURE = [
    {"method": "PUT", "path": "/v1/catalog/register", "body": {
        "Node": "n1", "Address": "10.0.0.1", "Service": {"Service": "web", "Port": 80},
        "Checks": [{"Name": "web-up", "ServiceID": "web", "Status": "passing"}, {"CheckID": "n1-up"}]}},
    {"method": "PUT", "path": "/v1/catalog/register", "body": {
        "Node": "n2", "Address": "10.0.0.2", "Check": {"CheckID": "n2-up", "Status": "warning"}}},
    {"method": "PUT", "path": "/v1/agent/service/register", "body": {
        "Name": "Local Svc", "ID": "loc", "Checks": [{"TTL": "1h", "Status": "warning"}, {"TTL": "1h"}]}},
    {"method": "PUT", "path": "/v1/agent/service/register", "body": {
        "Name": "one", "Check": {"TTL": "1h", "Status": "passing"}}},
]


def health_entry(node, service_id, *checks):
    return {"Node": {"Node": node}, "Service": {"ID": service_id},
            "Checks": [{"ServiceID": sid, "CheckID": cid, "Status": status} for sid, cid, status in checks]}


SMALL_CATALOG = {
    "/v1/catalog/nodes": [{"Node": "n1"}, {"Node": "n2"}, {"Node": "s1"}],
    "/v1/health/service/web": [health_entry("n1", "web", ("web", "web-up", "passing"), ("", "n1-up", "critical"))],
    "/v1/health/service/Local%20Svc": [health_entry("s1", "loc", ("loc", "service:loc:1", "warning"),
                                                    ("loc", "service:loc:2", "critical"))],
    "/v1/health/service/one": [health_entry("s1", "one", ("one", "service:one", "passing"))],
    "/v1/health/node/n2": [{"ServiceID": "", "CheckID": "n2-up", "Status": "warning"}],
}


class FakeClock:
    def __init__(self):
        self.now, self.pauses = 0.0, []

    def __call__(self):
        return self.now

    def pause(self, seconds):
        self.pauses.append(seconds)
        self.now += seconds


class FixtureTests(SynchronousTestCase):
    def test_what_the_fixture_registers(self):
        """Check IDs and statuses default as Consul's catalog and agent default them."""
        catalog = vectors.fixture_catalog(SMALL_FIXTURE, "s1")
        self.assertEqual(catalog.nodes, {"n1", "n2"})
        self.assertEqual(catalog.instances, {"web": {("n1", "web")}, "Local Svc": {("s1", "loc")},
                                             "one": {("s1", "one")}})
        self.assertEqual(catalog.checks, (
            ("n1", "web", "web-up", "passing"), ("n1", "", "n1-up", "critical"), ("n2", "", "n2-up", "warning"),
            ("s1", "loc", "service:loc:1", "warning"), ("s1", "loc", "service:loc:2", "critical"),
            ("s1", "one", "service:one", "passing")))

    def test_the_recorded_fixture(self):
        catalog = vectors.fixture_catalog(DOCUMENT["fixture"], "s1")
        self.assertEqual(len(catalog.instances["web"]), 5)
        self.assertEqual(catalog.instances["local-api"], {("s1", "local-api-1"), ("s1", "local-api-2")})
        self.assertIn(("down-1", "", "node-alive", "critical"), catalog.checks)
        self.assertIn(("s1", "local-warn", "local-warn-ttl", "warning"), catalog.checks)

    def test_load_sends_json(self):
        agent = CatalogHTTP()
        vectors.load_fixture(agent, SMALL_FIXTURE[:1])
        (method, path, body, headers), = agent.sent
        self.assertEqual((method, path, json.loads(body), headers),
                         ("PUT", "/v1/catalog/register", SMALL_FIXTURE[0]["body"],
                          {"Content-Type": "application/json"}))

    def test_load_reports_refusals(self):
        agent = CatalogHTTP(refuse={"/v1/agent/service/register"})
        error = self.assertRaises(vectors.FixtureError, vectors.load_fixture, agent.http, SMALL_FIXTURE)
        self.assertEqual(len(agent.sent), len(SMALL_FIXTURE))  # the rest is still sent
        self.assertEqual(str(error).count("/v1/agent/service/register answered 400"), 2)

    def test_wait_until_shown(self):
        agent, clock = CatalogHTTP(), FakeClock()

        def pause(seconds):
            clock.pause(seconds)
            if len(clock.pauses) == 3:
                agent.reads = dict(SMALL_CATALOG)

        vectors.wait_for_fixture(agent, SMALL_FIXTURE, timeout=10, clock=clock, pause=pause)
        self.assertEqual(clock.pauses, [0.1, 0.1, 0.1])

    def test_wait_gives_up_naming_what_is_missing(self):
        reads = dict(SMALL_CATALOG)
        reads["/v1/catalog/nodes"] = [{"Node": "n1"}]
        reads["/v1/health/service/web"] = [health_entry("n1", "web", ("web", "web-up", "warning"))]
        reads["/v1/health/service/one"] = []
        agent, clock = CatalogHTTP(reads), FakeClock()
        error = self.assertRaises(vectors.FixtureError, vectors.wait_for_fixture, agent, SMALL_FIXTURE, timeout=1,
                                  interval=0.25, clock=clock, pause=clock.pause)
        self.assertEqual(clock.pauses, [0.25] * 4)
        self.assertEqual(str(error), "after 1 s the agent still does not show: node n2; instance one of one on s1; "
                                     "check web-up on n1 for web passing (shown: warning); "
                                     "check n1-up on n1 critical (shown: None); "
                                     "check service:one on s1 for one passing (shown: None)")

    def test_wait_through_an_unreadable_catalog(self):
        agent, clock = CatalogHTTP(), FakeClock()
        error = self.assertRaises(vectors.FixtureError, vectors.wait_for_fixture, agent, SMALL_FIXTURE, timeout=0.5,
                                  clock=clock, pause=clock.pause)
        self.assertIn("a readable catalog (ValueError: GET /v1/catalog/nodes answered 404", str(error))

    def test_an_in_memory_agent(self):
        """The recorded fixture, loaded into pyconsul's in-memory dev agent, shows on a fake clock."""
        server = in_memory_server()
        agent = InMemoryAgent(server)
        vectors.load_fixture(agent, DOCUMENT["fixture"])
        vectors.wait_for_fixture(agent, DOCUMENT["fixture"], "s1", clock=server.clock.seconds)


def in_memory_server():
    config = build({"datacenter": "dc1", "node_id": NODE_ID, "node_name": "s1"}, dev=True, hostname="s1")[0]
    server = InMemoryServer(config=config)
    server.advance(1)
    return server


# run_all, against a responder that replays the recording.

def replaying(agent_ip, broken=()):
    """Answers each question with the recorded reply of its case; the cases
    named in broken get their id wrong."""
    index = {}
    for case_ in DOCUMENT["cases"]:
        ecs = vectors.option_text(vectors.ecs_option(case_["ecs"])) if case_.get("ecs") else None
        key = (vectors.fill(case_["qname"], agent_ip), case_["qtype"], case_["transport"], case_["edns"], ecs)
        index[key] = case_

    def answer(query, transport):
        message = dns.Message()
        message.fromStr(query)
        question = message.queries[0]
        opts = [dns._OPTHeader.fromRRHeader(record) for record in message.additional if record.type == dns.OPT]
        key = (vectors.name_text(question.name), vectors.type_text(question.type), transport,
               opts[0].udpPayloadSize if opts else None,
               vectors.option_text(opts[0].options[0]) if opts and opts[0].options else None)
        case_ = index[key]
        query_id = message.id ^ 1 if case_["name"] in broken else message.id
        return wire(recorded_reply(case_, query_id=query_id, agent_ip=agent_ip, now=int(time.time())))

    return answer


class RunAllTests(SynchronousTestCase):
    def test_every_case_through_sockets(self):
        responder = Responder(self, replaying("127.0.0.1"))
        self.assertEqual(vectors.run_all(responder.address, InMemoryAgent(in_memory_server())), [])
        self.assertEqual(len(responder.received), len(CASES))
        self.assertEqual(sum(transport == "tcp" for transport, _ in responder.received),
                         sum(case_["transport"] == "tcp" for case_ in CASES.values()))

    def test_failures_named(self):
        responder = Responder(self, replaying(AGENT_IP, broken={"svc-web-a"}))
        failures = vectors.run_all(responder.address, InMemoryAgent(in_memory_server()), agent_ip=AGENT_IP,
                                   only=["svc-web-a", "ptr-agent", "big-a-tcp"])
        self.assertEqual([name for name, _ in failures], ["svc-web-a"])
        self.assertTrue(failures[0][1][0].startswith("id: the reply's id"), failures)

    def test_unknown_case(self):
        self.assertRaises(VectorError, vectors.run_all, "127.0.0.1:1", CatalogHTTP(SMALL_CATALOG), only=["nope"])
