"""pyconsul.dns.wire: replies encoded as Consul's DNS library (miekg/dns)
encodes them, checked byte for byte where compression decides the bytes and
decoded again with twisted.names everywhere else.

What miekg/dns does, and these tests hold the encoder to:

- every name written registers each of its suffixes at the offset it starts
  at, the first time only, and only offsets a 14-bit pointer can hold
  (< 0x4000); a name is compressed to a pointer at its longest registered
  suffix, case-sensitively;
- an SRV target (a ``domain-name`` field, RFC 2782) is never compressed but
  still registered, so an additional record owned by it is a 2-byte pointer;
- the reply's OPT record echoes the asker's UDP size, version 0, DO clear,
  and a client subnet option with a scope of 0.
"""

import io
import json
import os
import struct

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.dns import wire
from pyconsul.dns.answers import Answer, Item, Settings
from pyconsul.dns.authority import Question, fitted, render
from pyconsul.dns.records import ip_record, rr, srv_record
from pyconsul.dns.trim import trim_udp


def a(owner, address, ttl=0):
    return ip_record(owner, address, ttl)


def srv(owner, target, port=80, weight=1, ttl=0):
    return srv_record(owner, weight, port, target, ttl)


def txt(owner, *strings, ttl=0):
    return rr(owner, dns.Record_TXT(*strings, ttl=ttl), ttl)


def full_name(name):
    """A name on the wire without compression."""
    return b"".join(bytes([len(label)]) + label for label in name.split(b".")) + b"\x00"


def pointer(offset):
    return struct.pack("!H", 0xC000 | offset)


def decoded(data, pointers=None):
    message = dns.Message()
    if pointers is not None:
        # twisted.names follows at most 1000 compression pointers a message.
        message.maxCompressionPointers = pointers
    message.fromStr(data)
    return message


def fields(record):
    """What a record says, whatever the section's AA bit made of ``auth``."""
    return record.name.name, record.type, record.cls, record.ttl, record.payload


def owner_bytes(data, offset):
    """The owner name of the record at ``offset`` as written (up to and
    including its terminating zero or pointer), and where the name ends."""
    start = offset
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return data[start:offset + 2], offset + 2
        if length == 0:
            return data[start:offset + 1], offset + 1
        offset += 1 + length


def walk(data):
    """Every record of a reply as (section, offset of its owner, owner bytes
    as written, type, offset of its data, data bytes as written)."""
    _id, _f1, _f2, qd, an, ns, ar = wire.HEADER.unpack(data[:12])
    offset = 12
    for _ in range(qd):
        _, offset = owner_bytes(data, offset)
        offset += 4
    out = []
    for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(count):
            start = offset
            owner, offset = owner_bytes(data, offset)
            rtype, _cls, _ttl, length = struct.unpack("!HHIH", data[offset:offset + 10])
            offset += 10
            out.append((section, start, owner, rtype, offset, data[offset:offset + length]))
            offset += length
    return out


def every_pointer(data):
    """Where every compression pointer in a reply points."""
    targets = []
    for _section, start, owner, rtype, rdata_at, rdata in walk(data):
        names = [owner]
        if rtype == dns.SRV:
            names.append(owner_bytes(data, rdata_at + 6)[0])
        elif rtype in (dns.CNAME, dns.NS, dns.PTR):
            names.append(owner_bytes(data, rdata_at)[0])
        for name in names:
            target = name_pointer(name)
            if target is not None:
                targets.append(target)
    return targets


def name_pointer(raw):
    """Where a name as written ends in a pointer to, or None."""
    offset = 0
    while raw[offset]:
        if raw[offset] & 0xC0 == 0xC0:
            return struct.unpack("!H", raw[offset:offset + 2])[0] & 0x3FFF
        offset += 1 + raw[offset]
    return None


QUESTION = (b"web.service.consul", dns.SRV, dns.IN)
# The question's name sits at 12; its suffixes at 16 (service.consul) and 24 (consul).
QUESTION_END = 12 + len(full_name(b"web.service.consul")) + 4  # 36: the first answer


class RoundTripTests(SynchronousTestCase):
    """What encode_reply writes, twisted.names reads back unchanged."""

    def test_sections_round_trip(self):
        answers = [srv(b"web.service.consul", b"web-1.node.dc1.consul", port=8080, weight=5),
                   srv(b"web.service.consul", b"web-2.node.dc1.consul")]
        authority = [rr(b"consul", dns.Record_SOA(mname=b"ns.consul", rname=b"hostmaster.consul", serial=7,
                                                  refresh=3600, retry=600, expire=86400, minimum=0, ttl=0), 0)]
        additional = [a(b"web-1.node.dc1.consul", "10.0.1.1"), txt(b"web-1.node.dc1.consul", b"env=prod"),
                      rr(b"web-2.node.dc1.consul", dns.Record_AAAA("2001:db8::2", 0), 0)]
        data = wire.encode_reply(0x1234, wire.flag_bytes(dns.OK, authoritative=True), QUESTION,
                                 answers, authority, additional)
        message = decoded(data)
        self.assertEqual(message.id, 0x1234)
        self.assertEqual([(q.name.name, q.type, q.cls) for q in message.queries], [QUESTION])
        self.assertEqual([fields(r) for r in message.answers], [fields(r) for r in answers])
        self.assertEqual([fields(r) for r in message.authority], [fields(r) for r in authority])
        self.assertEqual([fields(r) for r in message.additional], [fields(r) for r in additional])

    def test_counts_include_the_opt_record(self):
        data = wire.encode_reply(1, wire.flag_bytes(dns.OK), QUESTION, [srv(b"web.service.consul", b"x.consul")],
                                 [], [a(b"x.consul", "10.0.0.1")], wire.encode_opt(1232))
        self.assertEqual(wire.HEADER.unpack(data[:12])[3:], (1, 1, 0, 2))
        message = decoded(data)
        self.assertEqual([r.type for r in message.additional], [dns.A, dns.OPT])
        self.assertEqual(data[-11:], wire.encode_opt(1232))

    def test_empty_reply(self):
        data = wire.encode_reply(9, wire.flag_bytes(dns.ENAME, authoritative=True), (b"nope.consul", dns.A, dns.IN))
        self.assertEqual(data, struct.pack("!HBBHHHH", 9, 0x84, 0x03, 1, 0, 0, 0)
                         + full_name(b"nope.consul") + b"\x00\x01\x00\x01")
        message = decoded(data)
        self.assertEqual((message.rCode, message.answers, message.additional), (dns.ENAME, [], []))

    def test_reply_length_is_the_encoded_length(self):
        answers = [srv(b"web.service.consul", b"web-%d.node.dc1.consul" % i) for i in range(5)]
        additional = [a(b"web-%d.node.dc1.consul" % i, "10.0.0.%d" % i) for i in range(5)]
        for compress in (True, False):
            self.assertEqual(
                wire.reply_length(QUESTION, answers, [], additional, compress=compress),
                len(wire.encode_reply(0, (0, 0), QUESTION, answers, [], additional, compress=compress)))


class CompressionTests(SynchronousTestCase):
    """Which names become pointers, byte for byte."""

    def test_answer_owned_by_the_question_is_a_pointer_to_it(self):
        question = (b"web.service.consul", dns.A, dns.IN)
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), question,
                                 [a(b"web.service.consul", "10.0.1.1"), a(b"web.service.consul", "10.0.1.2")])
        self.assertEqual(data[12:QUESTION_END], full_name(b"web.service.consul") + b"\x00\x01\x00\x01")
        first = QUESTION_END
        self.assertEqual(data[first:first + 2], b"\xc0\x0c")
        self.assertEqual(data[first + 2:first + 16], b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x0a\x00\x01\x01")
        self.assertEqual(data[first + 16:first + 18], b"\xc0\x0c")
        self.assertEqual(len(data), QUESTION_END + 2 * 16)

    def test_srv_target_in_full_and_its_additional_record_points_at_it(self):
        answers = [srv(b"web.service.consul", b"web-1.node.dc1.consul"),
                   srv(b"web.service.consul", b"web-2.node.dc1.consul")]
        additional = [a(b"web-1.node.dc1.consul", "10.0.1.1"), txt(b"web-1.node.dc1.consul", b"rack=r1"),
                      a(b"web-2.node.dc1.consul", "10.0.1.2")]
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), QUESTION, answers, [], additional)
        records = walk(data)
        first_target = QUESTION_END + 2 + 10 + 6  # 54
        target1 = full_name(b"web-1.node.dc1.consul")
        # The target is written in full although "consul" (at 24) was there to point at.
        self.assertEqual(data[first_target:first_target + len(target1)], target1)
        self.assertEqual(records[0][5], b"\x00\x01\x00\x01\x00\x50" + target1)
        second_target = first_target + len(target1) + 2 + 10 + 6
        self.assertEqual(records[1][2], b"\xc0\x0c")
        self.assertEqual(records[1][5], b"\x00\x01\x00\x01\x00\x50" + full_name(b"web-2.node.dc1.consul"))
        # Each additional record owned by a target: a pointer to that target.
        self.assertEqual([r[2] for r in records[2:]],
                         [pointer(first_target), pointer(first_target), pointer(second_target)])
        self.assertEqual(records[2][2], b"\xc0\x36")
        message = decoded(data)
        self.assertEqual([fields(r) for r in message.additional], [fields(r) for r in additional])

    def test_a_later_name_points_at_a_target_suffix(self):
        # "dc1.consul" was registered inside the first SRV target.
        answers = [srv(b"web.service.consul", b"web-1.node.dc1.consul")]
        additional = [a(b"db.dc1.consul", "10.0.2.1")]
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), QUESTION, answers, [], additional)
        first_target = QUESTION_END + 18
        dc1 = first_target + len(b"\x05web-1\x04node")
        self.assertEqual(walk(data)[1][2], b"\x02db" + pointer(dc1))

    def test_first_occurrence_is_the_one_pointed_at(self):
        answers = [srv(b"web.service.consul", b"web-1.node.dc1.consul"),
                   srv(b"web.service.consul", b"web-1.node.dc1.consul", port=81)]
        additional = [a(b"web-1.node.dc1.consul", "10.0.1.1")]
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), QUESTION, answers, [], additional)
        records = walk(data)
        # Both targets in full; the address points at the first.
        self.assertEqual(records[1][5][6:], full_name(b"web-1.node.dc1.consul"))
        self.assertEqual(records[2][2], pointer(QUESTION_END + 18))

    def test_case_differences_prevent_compression(self):
        question = (b"WEB.service.consul", dns.A, dns.IN)
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), question,
                                 [a(b"web.service.consul", "10.0.1.1"), a(b"web.Service.consul", "10.0.1.2"),
                                  a(b"WEB.service.consul", "10.0.1.3")])
        records = walk(data)
        # "web" differs from "WEB": only service.consul (at 16) is shared.
        self.assertEqual(records[0][2], b"\x03web" + pointer(16))
        # "Service.consul" matches nothing but "consul" (at 24).
        self.assertEqual(records[1][2], b"\x03web\x07Service" + pointer(24))
        # The same case as the question: a pointer to the question.
        self.assertEqual(records[2][2], b"\xc0\x0c")
        self.assertEqual([r.name.name for r in decoded(data).answers],
                         [b"web.service.consul", b"web.Service.consul", b"WEB.service.consul"])

    def test_case_differences_between_a_target_and_its_record(self):
        answers = [srv(b"web.service.consul", b"Web-1.Node.dc1.consul")]
        additional = [a(b"web-1.node.dc1.consul", "10.0.1.1")]
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), QUESTION, answers, [], additional)
        dc1 = QUESTION_END + 18 + len(b"\x05Web-1\x04Node")
        self.assertEqual(walk(data)[1][2], b"\x05web-1\x04node" + pointer(dc1))

    def test_compression_off_writes_every_name_in_full(self):
        answers = [srv(b"web.service.consul", b"web-1.node.dc1.consul")]
        additional = [a(b"web-1.node.dc1.consul", "10.0.1.1")]
        authority = [rr(b"consul", dns.Record_NS(b"ns.consul", 0), 0)]
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), QUESTION, answers, authority, additional,
                                 compress=False)
        records = walk(data)
        self.assertEqual(records[0][2], full_name(b"web.service.consul"))
        self.assertEqual(records[1][2], full_name(b"consul"))
        self.assertEqual(records[1][5], full_name(b"ns.consul"))
        self.assertEqual(records[2][2], full_name(b"web-1.node.dc1.consul"))
        self.assertNotIn(b"\xc0", b"".join(r[2] for r in records))
        expected = (12 + len(full_name(b"web.service.consul")) + 4
                    + len(full_name(b"web.service.consul")) + 10 + 6 + len(full_name(b"web-1.node.dc1.consul"))
                    + len(full_name(b"consul")) + 10 + len(full_name(b"ns.consul"))
                    + len(full_name(b"web-1.node.dc1.consul")) + 10 + 4)
        self.assertEqual(len(data), expected)
        message = decoded(data)
        self.assertEqual([fields(r) for r in message.answers + message.authority + message.additional],
                         [fields(r) for r in answers + authority + additional])

    def test_names_in_record_data_are_compressed(self):
        # CNAME, NS and SOA names are compressible in miekg/dns (cdomain-name).
        question = (b"ext.service.consul", dns.A, dns.IN)
        answers = [rr(b"ext.service.consul", dns.Record_CNAME(b"www.service.consul", 0), 0)]
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), question, answers)
        self.assertEqual(walk(data)[0][5], b"\x03www" + pointer(16))


class PointerLimitTests(SynchronousTestCase):
    """Pointers hold 14 bits: nothing after offset 0x3FFF is pointed at."""

    COUNT = 1000

    def setUp(self):
        self.question = (b"big.service.consul", dns.SRV, dns.IN)
        self.answers = [srv(b"big.service.consul", b"b%04d.node.dc1.consul" % i, port=9000)
                        for i in range(self.COUNT)]
        self.additional = [a(b"b%04d.node.dc1.consul" % i, "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255))
                           for i in range(self.COUNT)]
        self.data = wire.encode_reply(7, wire.flag_bytes(dns.OK, authoritative=True), self.question,
                                      self.answers, [], self.additional)

    def test_it_is_a_tcp_sized_reply(self):
        self.assertGreater(len(self.data), 3 * wire.POINTER_LIMIT)
        self.assertLessEqual(len(self.data), 65535)

    def test_decodes(self):
        message = decoded(self.data, pointers=2 * self.COUNT)
        self.assertEqual([fields(r) for r in message.answers], [fields(r) for r in self.answers])
        self.assertEqual([fields(r) for r in message.additional], [fields(r) for r in self.additional])

    def test_no_pointer_reaches_past_the_limit(self):
        targets = every_pointer(self.data)
        self.assertTrue(targets)
        self.assertLess(max(targets), wire.POINTER_LIMIT)

    def test_answers_past_the_limit_still_point_at_the_question(self):
        records = walk(self.data)
        last = records[self.COUNT - 1]
        self.assertGreater(last[1], wire.POINTER_LIMIT)
        self.assertTrue(all(r[2] == b"\xc0\x0c" for r in records[:self.COUNT]))

    def test_records_of_targets_past_the_limit_do_not_point_at_them(self):
        records = walk(self.data)
        target_at = [r[4] + 6 for r in records[:self.COUNT]]
        first_target = target_at[0]
        node_suffix = first_target + len(b"\x05b0000")  # node.dc1.consul, registered by the first target
        for i, record in enumerate(records[self.COUNT:]):
            owner = record[2]
            if target_at[i] < wire.POINTER_LIMIT:
                self.assertEqual(owner, pointer(target_at[i]), i)
            else:
                # The target was not registered: its first label in full, then
                # the suffix registered before the limit.
                self.assertEqual(owner, b"\x05b%04d" % i + pointer(node_suffix), i)
        registered = sum(1 for at in target_at if at < wire.POINTER_LIMIT)
        self.assertTrue(0 < registered < self.COUNT)

    def test_a_name_straddling_the_limit_registers_only_its_early_suffixes(self):
        # A TXT answer pads the reply so that an SRV target's first label
        # ("\x08abcdefgh") ends exactly at 0x4000: the whole target is
        # registered, node.dc1.consul and dc1.consul (at and after 0x4000) are not.
        question = (b"q.consul", dns.TXT, dns.IN)
        first_answer = 12 + len(full_name(b"q.consul")) + 4
        target = b"abcdefgh.node.dc1.consul"
        target_wanted_at = wire.POINTER_LIMIT - 9
        # Answer 1: owner pointer (2), type to length (10), strings; answer 2:
        # owner pointer, 10 bytes, priority/weight/port (6), then the target.
        remaining = target_wanted_at - (first_answer + 12) - 18
        strings = []
        while remaining:
            chunk = 255 if remaining > 256 else remaining - 1
            strings.append(b"x" * chunk)
            remaining -= chunk + 1
        answers = [txt(b"q.consul", *strings), srv(b"q.consul", target)]
        additional = [a(target, "10.0.0.3"), a(b"node.dc1.consul", "10.0.0.1"), a(b"dc1.consul", "10.0.0.2")]
        data = wire.encode_reply(0, wire.flag_bytes(dns.OK), question, answers, [], additional)
        records = walk(data)
        target_at = records[1][4] + 6
        self.assertEqual(target_at, target_wanted_at)
        self.assertEqual(records[1][5][6:], full_name(target))
        consul_at = 12 + 2  # registered by the question
        self.assertEqual(records[2][2], pointer(target_at))
        self.assertEqual(records[3][2], b"\x04node\x03dc1" + pointer(consul_at))
        self.assertEqual(records[4][2], b"\x03dc1" + pointer(consul_at))
        message = decoded(data)
        self.assertEqual([fields(r) for r in message.additional], [fields(r) for r in additional])


class FlagTests(SynchronousTestCase):
    def test_plain_reply(self):
        self.assertEqual(wire.flag_bytes(dns.OK), (0x80, 0x00))

    def test_each_flag(self):
        self.assertEqual(wire.flag_bytes(dns.OK, authoritative=True), (0x84, 0x00))
        self.assertEqual(wire.flag_bytes(dns.OK, truncated=True), (0x82, 0x00))
        self.assertEqual(wire.flag_bytes(dns.OK, recursion_desired=True), (0x81, 0x00))
        self.assertEqual(wire.flag_bytes(dns.OK, recursion_available=True), (0x80, 0x80))
        self.assertEqual(wire.flag_bytes(dns.OK, checking_disabled=True), (0x80, 0x10))

    def test_rcodes(self):
        for rcode in (dns.OK, dns.EFORMAT, dns.ESERVER, dns.ENAME, dns.ENOTIMP, dns.EREFUSED):
            self.assertEqual(wire.flag_bytes(rcode), (0x80, rcode))

    def test_opcodes(self):
        self.assertEqual(wire.flag_bytes(dns.OK, opcode=dns.OP_STATUS), (0x80 | 2 << 3, 0x00))
        self.assertEqual(wire.flag_bytes(dns.OK, opcode=dns.OP_NOTIFY), (0x80 | 4 << 3, 0x00))
        self.assertEqual(wire.flag_bytes(dns.OK, opcode=dns.OP_UPDATE), (0x80 | 5 << 3, 0x00))

    def test_everything_at_once(self):
        self.assertEqual(
            wire.flag_bytes(dns.ENAME, authoritative=True, truncated=True, recursion_desired=True,
                            recursion_available=True, checking_disabled=True, opcode=dns.OP_QUERY),
            (0x87, 0x93))

    def test_decoded_by_twisted(self):
        flags = wire.flag_bytes(dns.EREFUSED, authoritative=True, truncated=True, recursion_desired=True,
                                recursion_available=True, checking_disabled=True, opcode=dns.OP_NOTIFY)
        message = decoded(wire.encode_reply(3, flags, (b"consul", dns.SOA, dns.IN)))
        self.assertEqual(
            (message.answer, message.opCode, message.auth, message.trunc, message.recDes, message.recAv,
             message.checkingDisabled, message.rCode),
            (1, dns.OP_NOTIFY, 1, 1, 1, 1, 1, dns.EREFUSED))


class OptTests(SynchronousTestCase):
    def test_without_client_subnet(self):
        self.assertEqual(wire.encode_opt(1232), b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")
        self.assertEqual(wire.encode_opt(4096), b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00")

    def test_size_echoed_as_asked(self):
        # Consul echoes the asker's size, even one below 512.
        self.assertEqual(wire.encode_opt(100)[3:5], b"\x00\x64")
        self.assertEqual(wire.encode_opt(0)[3:5], b"\x00\x00")

    def test_ipv4_client_subnet_with_scope_zero(self):
        self.assertEqual(
            wire.encode_opt(4096, (1, 24, b"\x0a\x01\x02")),
            b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x0b"
            b"\x00\x08\x00\x07\x00\x01\x18\x00\x0a\x01\x02")

    def test_ipv6_client_subnet_with_scope_zero(self):
        address = b"\x20\x01\x0d\xb8\xab\xcd"
        self.assertEqual(
            wire.encode_opt(4096, (2, 48, address)),
            b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x0e"
            b"\x00\x08\x00\x0a\x00\x02\x30\x00" + address)

    def test_zero_prefix(self):
        self.assertEqual(wire.encode_opt(512, (1, 0, b""))[11:], b"\x00\x08\x00\x04\x00\x01\x00\x00")

    def test_decoded_by_twisted(self):
        data = wire.encode_reply(1, wire.flag_bytes(dns.OK), (b"web.service.consul", dns.AAAA, dns.IN),
                                 opt=wire.encode_opt(4096, (2, 48, b"\x20\x01\x0d\xb8\xab\xcd")))
        (opt,) = decoded(data).additional
        self.assertEqual((opt.type, opt.name.name, opt.cls, opt.ttl), (dns.OPT, b"", 4096, 0))
        self.assertEqual(opt.payload.data, b"\x00\x08\x00\x0a\x00\x02\x30\x00\x20\x01\x0d\xb8\xab\xcd")
        edns = dns._EDNSMessage._fromMessage(decoded(data))
        self.assertEqual((edns.maxSize, edns.ednsVersion, edns.dnssecOK), (4096, 0, False))


class ParseEcsTests(SynchronousTestCase):
    """The client subnet option of a query, as miekg/dns reads it."""

    def test_ipv4(self):
        self.assertEqual(wire.parse_ecs(b"\x00\x01\x18\x00\x0a\x01\x02"), (1, 24, b"\x0a\x01\x02"))
        self.assertEqual(wire.parse_ecs(b"\x00\x01\x20\x00\x0a\x01\x02\x03"), (1, 32, b"\x0a\x01\x02\x03"))
        self.assertEqual(wire.parse_ecs(b"\x00\x01\x11\x00\x0a\x01\x80"), (1, 17, b"\x0a\x01\x80"))

    def test_ipv6(self):
        self.assertEqual(wire.parse_ecs(b"\x00\x02\x30\x00\x20\x01\x0d\xb8\xab\xcd"),
                         (2, 48, b"\x20\x01\x0d\xb8\xab\xcd"))
        address = bytes(range(16))
        self.assertEqual(wire.parse_ecs(b"\x00\x02\x80\x00" + address), (2, 128, address))

    def test_zero_prefix(self):
        self.assertEqual(wire.parse_ecs(b"\x00\x01\x00\x00"), (1, 0, b""))
        self.assertEqual(wire.parse_ecs(b"\x00\x02\x00\x00"), (2, 0, b""))

    def test_scope_of_the_query_is_not_echoed(self):
        self.assertEqual(wire.parse_ecs(b"\x00\x01\x18\x10\x0a\x01\x02"), (1, 24, b"\x0a\x01\x02"))

    def test_unknown_family(self):
        self.assertIsNone(wire.parse_ecs(b"\x00\x03\x18\x00\x0a\x01\x02"))
        self.assertIsNone(wire.parse_ecs(b"\x00\x03\x00\x00"))
        # Family 0 is only accepted with a prefix of 0 (below).
        self.assertIsNone(wire.parse_ecs(b"\x00\x00\x18\x00\x0a\x01\x02"))

    def test_family_zero_with_no_address_is_echoed(self):
        # miekg/dns accepts family 0 with a prefix of 0 (what dig sent for
        # +subnet=0), and packs it back as a bare family 0 /0 option.
        opt = wire.encode_opt(4096, wire.parse_ecs(b"\x00\x00\x00\x00"))
        self.assertEqual(opt[11:], b"\x00\x08\x00\x04\x00\x00\x00\x00")

    def test_prefix_too_long(self):
        self.assertIsNone(wire.parse_ecs(b"\x00\x01\x21\x00\x0a\x01\x02\x03\x04"))
        self.assertIsNone(wire.parse_ecs(b"\x00\x02\x81\x00" + bytes(17)))

    def test_short_data(self):
        for data in (b"", b"\x00", b"\x00\x01", b"\x00\x01\x18"):
            self.assertIsNone(wire.parse_ecs(data), data)

    def test_scope_too_long(self):
        # miekg/dns refuses a scope longer than the address ("bad netmask"):
        # the query does not decode, so it is not answered with this option.
        self.assertIsNone(wire.parse_ecs(b"\x00\x01\x18\x21\x0a\x01\x02"))
        self.assertIsNone(wire.parse_ecs(b"\x00\x02\x30\x81\x20\x01\x0d\xb8\xab\xcd"))

    def test_address_length_mismatch_is_echoed_as_miekg_packs_it(self):
        # miekg/dns reads up to 4 (16) address bytes whatever the prefix says
        # (padding with zeros) and, packing the reply's option, masks the
        # address to the prefix and writes ceil(prefix / 8) bytes.
        cases = [
            (b"\x00\x01\x18\x00\x0a\x01\x02\x03", b"\x00\x01\x18\x00\x0a\x01\x02"),  # 4 bytes for /24
            (b"\x00\x01\x18\x00\x0a\x01", b"\x00\x01\x18\x00\x0a\x01\x00"),  # 2 bytes for /24
            (b"\x00\x01\x10\x00", b"\x00\x01\x10\x00\x00\x00"),  # none for /16
            (b"\x00\x02\x30\x00\x20\x01\x0d\xb8", b"\x00\x02\x30\x00\x20\x01\x0d\xb8\x00\x00"),  # 4 for /48
        ]
        for option, echoed in cases:
            opt = wire.encode_opt(4096, wire.parse_ecs(option))
            self.assertEqual(opt[11:], struct.pack("!HH", 8, len(echoed)) + echoed, option)

    def test_bits_past_the_prefix_are_masked_in_the_reply(self):
        opt = wire.encode_opt(4096, wire.parse_ecs(b"\x00\x01\x14\x00\x0a\x01\xff"))
        self.assertEqual(opt[15:], b"\x00\x01\x14\x00\x0a\x01\xf0")


# -- the recorded SRV count ---------------------------------------------------------

BIG = b"big.service.consul"


def big_records():
    """The recording's 40 nodes big-01 .. big-40 (10.2.0.1 .. 10.2.0.40), one
    instance of "big" on port 9000 each, as Consul answers an SRV question."""
    items = []
    for n in range(1, 41):
        target = b"big-%02d.node.dc1.consul" % n
        items.append(Item(srv(BIG, target, port=9000, weight=1), (a(target, "10.2.0.%d" % n),)))
    return items


def length_without_target_registration(question, opt):
    """A reply's length as twisted.names' own encoder writes it: SRV
    targets neither compressed nor registered."""

    def length(kept, extras, compress):
        out = io.BytesIO()
        names = wire.Names() if compress else None
        wire.encode_question(out, *question, names)
        for record in list(kept) + list(extras):
            record.encode(out, names)
        return 12 + len(out.getvalue()) + len(opt)

    return length


class RecordedSrvCountTests(SynchronousTestCase):
    """Consul 1.10.3 answered big.service.consul SRV with EDNS 1232 with 20
    of 40 SRV records, 20 addresses and no OPT record
    (tests/data/consul-dns/vectors.json, big-srv-udp-edns1232)."""

    def setUp(self):
        self.items = big_records()
        self.answer = Answer(items=self.items, shuffle=True, trim=True)
        self.question = Question(name=BIG, qtype=dns.SRV, edns=True, udp_size=1232, recursion_desired=True)
        self.settings = Settings(datacenter="dc1")
        self.records = [item.record for item in self.items]
        self.additional = [extra for item in self.items for extra in item.extras]
        self.opt = wire.encode_opt(1232)

    def test_trim_udp_keeps_twenty(self):
        def length(kept, extras, compress):
            return wire.reply_length(self.question.section, kept, [], extras, compress) + len(self.opt)

        kept, extras, trimmed = trim_udp(self.records, self.additional, 1232, 3, length)
        self.assertEqual((len(kept), len(extras), trimmed), (20, 20, True))
        self.assertEqual(kept, self.records[:20])
        self.assertEqual(extras, self.additional[:20])

    def test_fewer_without_target_registration(self):
        # Were SRV targets not registered, each address would name its node
        # in full but for the suffix the first address registered
        # ("\x06big-NN" and a pointer: 9 bytes, not 2): 18 of 40 would fit
        # (17 when the OPT record's 11 bytes are counted on every try).
        for opt, count in ((b"", 18), (self.opt, 17)):
            length = length_without_target_registration(self.question.section, opt)
            kept, extras, trimmed = trim_udp(self.records, self.additional, 1232, 3, length)
            self.assertEqual((len(kept), len(extras), trimmed), (count, count, True))

    def test_fitted(self):
        kept, extras, opt, truncated = fitted(self.answer, self.question, self.settings, self.records,
                                              self.additional)
        self.assertEqual((len(kept), len(extras), opt, truncated), (20, 20, b"", False))

    def test_rendered_reply(self):
        data = render(self.answer, self.question, self.settings, None, order=list(range(40)))
        message = decoded(data)
        self.assertEqual((len(message.answers), len(message.additional)), (20, 20))
        self.assertEqual((message.answer, message.auth, message.recDes, message.trunc, message.recAv),
                         (1, 1, 1, 0, 0))
        self.assertNotIn(dns.OPT, [r.type for r in message.additional])
        self.assertLessEqual(len(data), 1232 - 7)
        # Every address is a pointer to its target.
        self.assertEqual(wire.HEADER.unpack(data[:12])[3:], (1, 20, 0, 20))
        for record in walk(data)[20:]:
            self.assertEqual(len(record[2]), 2)

    def test_the_recording_says_so(self):
        path = os.path.join(os.path.dirname(__file__), os.pardir, "data", "consul-dns", "vectors.json")
        with open(path) as f:
            cases = {case["name"]: case for case in json.load(f)["cases"]}
        expect = cases["big-srv-udp-edns1232"]["expect"]
        self.assertEqual((expect["answer"]["count"], expect["additional"]["count"], expect["edns"]), (20, 20, None))
