"""pyconsul.dns.trim, and authority.fitted/render around it: Consul's
trimUDPResponse, trimTCPResponse, dnsBinaryTruncate and syncExtra
(agent/dns.go, Consul 1.10) on synthetic records.

In Consul, over UDP:

- without EDNS (or with an EDNS size of 512 or less) a reply with more than
  ``min(8, udp_answer_limit)`` answers is cut to that many, and from then
  on measured without compression;
- answers are then dropped from the end while the reply is longer than the
  size less 7 bytes -- one at a time, or by a binary search
  (dnsBinaryTruncate, aiming at the size itself) when more than 100 bytes
  over -- but never below one answer by that loop;
- every cut rebuilds the additional section (syncExtra): the first record
  of each SRV target's name, following CNAMEs, each once.

Over TCP there are at most 4096 answers (1024 for SRV) and 65523 bytes.
The length function handed to trim_udp/trim_tcp is built, as
authority.fitted builds it, from wire.reply_length.
"""

from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.dns import wire
from pyconsul.dns.answers import Answer, Item, Settings, apex_answer
from pyconsul.dns.authority import TCP, Question, fitted, render
from pyconsul.dns.records import ip_record, rr, srv_record
from pyconsul.dns.trim import TCP_MAX_SIZE, trim_tcp, trim_udp

NAME = b"big.service.consul"
A_QUESTION = (NAME, dns.A, dns.IN)
SRV_QUESTION = (NAME, dns.SRV, dns.IN)
# Header (12) and the question (20 + 4): every A answer after it is 16 bytes.
FIXED = 12 + 20 + 4


def a(owner, address, ttl=0):
    return ip_record(owner, address, ttl)


def a_records(count, owner=NAME):
    return [a(owner, "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)) for i in range(1, count + 1)]


def srv(target, owner=NAME, port=9000):
    return srv_record(owner, 1, port, target, 0)


def txt(owner, text):
    return rr(owner, dns.Record_TXT(text, ttl=0), 0)


def cname(owner, target):
    return rr(owner, dns.Record_CNAME(target, 0), 0)


def length_for(question, authority=(), opt=b"", compression=True):
    """The length function authority.fitted builds (the OPT record's
    bytes counted on every measure)."""

    def length(kept, extras, compress):
        return wire.reply_length(question, kept, list(authority), extras, compress and compression) + len(opt)

    return length


class Recorder:
    """A length function that remembers what it was asked to measure."""

    def __init__(self, length):
        self.length = length
        self.calls = []

    def __call__(self, kept, extras, compress):
        size = self.length(kept, extras, compress)
        self.calls.append((len(kept), compress, size))
        return size


def srv_set(count):
    """SRV answers for nodes n01 .. with one A record each (as Consul
    answers), and the same additional records in order."""
    answers, additional = [], []
    for i in range(1, count + 1):
        target = b"n%02d.node.dc1.consul" % i
        answers.append(srv(target))
        additional.append(a(target, "10.3.0.%d" % i))
    return answers, additional


class AnswerLimitTests(SynchronousTestCase):
    """Without EDNS: at most udp_answer_limit answers (never more than 8)."""

    def test_three_of_ten(self):
        records = a_records(10)
        kept, extras, trimmed = trim_udp(records, [], None, 3, length_for(A_QUESTION))
        self.assertEqual((kept, extras, trimmed), (records[:3], [], True))

    def test_not_more_than_the_limit_is_not_trimmed(self):
        records = a_records(3)
        self.assertEqual(trim_udp(records, [], None, 3, length_for(A_QUESTION)), (records, [], False))

    def test_limit_above_eight_is_eight(self):
        records = a_records(20)
        for limit in (8, 9, 10, 1000):
            kept, _, trimmed = trim_udp(records, [], None, limit, length_for(A_QUESTION))
            self.assertEqual((len(kept), trimmed), (8, True), limit)

    def test_one(self):
        kept, _, trimmed = trim_udp(a_records(5), [], None, 1, length_for(A_QUESTION))
        self.assertEqual((len(kept), trimmed), (1, True))

    def test_zero_keeps_no_answer(self):
        # udp_answer_limit may be 0 (Consul only refuses a negative one), and
        # trimUDPResponse takes lib.MinInt(maxUDPAnswerLimit, udpAnswerLimit):
        # a reply with any answer is cut to none.
        records = a_records(10)
        kept, extras, trimmed = trim_udp(records, [], None, 0, length_for(A_QUESTION))
        self.assertEqual((kept, extras, trimmed), ([], [], True))
        answers, additional = srv_set(2)
        kept, extras, trimmed = trim_udp(answers, additional, None, 0, length_for(SRV_QUESTION))
        self.assertEqual((kept, extras, trimmed), ([], [], True))

    def test_zero_has_nothing_to_cut_without_answers(self):
        self.assertEqual(trim_udp([], [], None, 0, length_for(A_QUESTION)), ([], [], False))

    def test_edns_at_or_below_512_counts_as_no_edns(self):
        for size in (0, 100, 511, 512):
            kept, _, trimmed = trim_udp(a_records(10), [], size, 3, length_for(A_QUESTION))
            self.assertEqual((len(kept), trimmed), (3, True), size)

    def test_no_limit_with_edns_above_512(self):
        for limit in (0, 1, 3):
            kept, _, trimmed = trim_udp(a_records(10), [], 513, limit, length_for(A_QUESTION))
            self.assertEqual((len(kept), trimmed), (10, False), limit)


class EdnsSizeTests(SynchronousTestCase):
    def test_4096_keeps_all_forty(self):
        records = a_records(40)
        self.assertEqual(trim_udp(records, [], 4096, 3, length_for(A_QUESTION)), (records, [], False))

    def test_small_sizes_cut_by_bytes(self):
        # FIXED + 16 n <= size - 7
        records = a_records(40)
        for size, count in ((600, 34), (700, 40), (683, 40), (682, 39), (1000, 40), (513, 29)):
            kept, _, trimmed = trim_udp(records, [], size, 3, length_for(A_QUESTION))
            self.assertEqual((len(kept), trimmed), (count, count < 40), size)
            self.assertEqual(kept, records[:count])
            self.assertLessEqual(FIXED + 16 * count, size - 7)

    def test_measured_compressed(self):
        recorder = Recorder(length_for(A_QUESTION))
        trim_udp(a_records(40), [], 600, 3, recorder)
        self.assertTrue(all(compress for _, compress, _ in recorder.calls))

    def test_seven_bytes_spare(self):
        # 30 A records make 516 bytes: they fit an EDNS size of 523, not 522.
        self.assertEqual(FIXED + 16 * 30, 516)
        records = a_records(30)
        self.assertEqual(trim_udp(records, [], 523, 3, length_for(A_QUESTION)), (records, [], False))
        kept, _, trimmed = trim_udp(records, [], 522, 3, length_for(A_QUESTION))
        self.assertEqual((len(kept), trimmed), (29, True))
        kept, _, trimmed = trim_udp(a_records(31), [], 523, 3, length_for(A_QUESTION))
        self.assertEqual((len(kept), trimmed), (30, True))


class UncompressedMeasureTests(SynchronousTestCase):
    """A 512-byte reply cut to the answer limit is measured uncompressed."""

    LONG = b"%s.%s.%s.service.consul" % (b"x" * 60, b"y" * 60, b"z" * 10)  # 149 bytes on the wire

    def setUp(self):
        self.question = (self.LONG, dns.A, dns.IN)
        self.records = a_records(10, owner=self.LONG)

    def test_two_of_three_fit_uncompressed(self):
        length = length_for(self.question)
        # Three compressed answers would fit easily ...
        self.assertLessEqual(length(self.records[:3], [], True), 512 - 7)
        # ... but not uncompressed, two do.
        self.assertGreater(length(self.records[:3], [], False), 512 - 7)
        self.assertLessEqual(length(self.records[:2], [], False), 512 - 7)
        recorder = Recorder(length)
        kept, _, trimmed = trim_udp(self.records, [], None, 3, recorder)
        self.assertEqual((kept, trimmed), (self.records[:2], True))
        self.assertEqual({compress for _, compress, _ in recorder.calls}, {False})

    def test_compressed_when_not_cut_to_the_limit(self):
        # The same answers with EDNS 513: no count cut, measured compressed.
        recorder = Recorder(length_for(self.question))
        kept, _, trimmed = trim_udp(self.records, [], 513, 3, recorder)
        self.assertEqual((len(kept), trimmed), (10, False))
        self.assertEqual({compress for _, compress, _ in recorder.calls}, {True})

    def test_within_the_limit_measured_compressed(self):
        # Three answers (not more than the limit): no count cut, compressed.
        recorder = Recorder(length_for(self.question))
        kept, _, trimmed = trim_udp(self.records[:3], [], None, 3, recorder)
        self.assertEqual((len(kept), trimmed), (3, False))
        self.assertEqual({compress for _, compress, _ in recorder.calls}, {True})


class TruncationSearchTests(SynchronousTestCase):
    def test_binary_search_far_over_the_size(self):
        # 40 A records: 676 bytes, 163 over 513: dnsBinaryTruncate aims at
        # 513 itself (20, 30, 25, 27, 28, 29 answers), then 29 (500 bytes)
        # is within 513 - 7.
        recorder = Recorder(length_for(A_QUESTION))
        kept, _, trimmed = trim_udp(a_records(40), [], 513, 3, recorder)
        self.assertEqual((len(kept), trimmed), (29, True))
        counts = [count for count, _, _ in recorder.calls]
        self.assertEqual(counts[:2], [40, 40])
        self.assertEqual(counts[2:8], [20, 30, 25, 27, 28, 29])
        self.assertEqual(set(counts[8:]), {29})

    def test_binary_search_stops_within_ten_bytes_then_drops_one(self):
        # Size 520: 30 answers (516 bytes) are within 10 bytes of 520, so the
        # search stops there; 516 > 520 - 7, so one more goes.
        recorder = Recorder(length_for(A_QUESTION))
        kept, _, trimmed = trim_udp(a_records(40), [], 520, 3, recorder)
        self.assertEqual((len(kept), trimmed), (29, True))
        counts = [count for count, _, _ in recorder.calls]
        self.assertEqual(counts[2:4], [20, 30])
        self.assertEqual(sorted(set(counts)), [20, 29, 30, 40])

    def test_one_at_a_time_near_the_size(self):
        # 38 A records: 644 bytes, not 100 over 600: dropped one by one.
        recorder = Recorder(length_for(A_QUESTION))
        kept, _, trimmed = trim_udp(a_records(38), [], 600, 3, recorder)
        self.assertEqual((len(kept), trimmed), (34, True))
        counts = [count for count, _, _ in recorder.calls]
        self.assertEqual(sorted(set(counts), reverse=True), [38, 37, 36, 35, 34])

    def test_a_single_oversized_answer_is_kept(self):
        big = [rr(NAME, dns.Record_TXT(*[b"x" * 250] * 3, ttl=0), 0)]
        length = length_for((NAME, dns.TXT, dns.IN))
        self.assertGreater(length(big, [], True), 512)
        self.assertEqual(trim_udp(big, [], None, 3, length), (big, [], False))
        self.assertEqual(trim_tcp(big, [], dns.TXT, length), (big, [], False))

    def test_never_below_one_answer_one_at_a_time(self):
        # Two answers of about 300 bytes, less than 100 over: one goes.
        records = [rr(NAME, dns.Record_TXT(b"%d" % i + b"x" * 250, ttl=0), 0) for i in range(2)]
        length = length_for((NAME, dns.TXT, dns.IN))
        self.assertLessEqual(length(records, [], True) - 512, 100)
        kept, _, trimmed = trim_udp(records, [], None, 3, length)
        self.assertEqual((kept, trimmed), (records[:1], True))

    def test_binary_search_can_cut_to_none(self):
        # dnsBinaryTruncate returns 0 when even one answer is longer than
        # the size; Consul then sends no answer at all.
        records = [rr(NAME, dns.Record_TXT(*[b"%d" % i + b"x" * 250] * 3, ttl=0), 0) for i in range(3)]
        length = length_for((NAME, dns.TXT, dns.IN))
        self.assertGreater(length(records[:1], [], True), 512)
        kept, _, trimmed = trim_udp(records, [], None, 3, length)
        self.assertEqual((kept, trimmed), ([], True))


class AdditionalSyncTests(SynchronousTestCase):
    """After a cut, the additional section is rebuilt from the SRV answers
    left (syncExtra); without a cut it is left alone."""

    def test_untouched_when_nothing_is_cut(self):
        answers = [srv(b"n1.node.dc1.consul"), srv(b"n2.node.dc1.consul")]
        additional = [a(b"n1.node.dc1.consul", "10.0.0.1"), txt(b"n1.node.dc1.consul", b"rack=r1"),
                      a(b"n2.node.dc1.consul", "10.0.0.2"), txt(b"unrelated.consul", b"x"),
                      a(b"n1.node.dc1.consul", "10.0.0.9")]
        self.assertEqual(trim_udp(answers, additional, None, 3, length_for(SRV_QUESTION)),
                         (answers, additional, False))
        self.assertEqual(trim_tcp(answers, additional, dns.SRV, length_for(SRV_QUESTION)),
                         (answers, additional, False))

    def test_first_record_per_target_after_the_limit_cut(self):
        answers = [srv(b"n%d.node.dc1.consul" % i) for i in range(1, 6)]
        additional = []
        for i in range(1, 6):
            additional += [a(b"n%d.node.dc1.consul" % i, "10.0.0.%d" % i),
                           txt(b"n%d.node.dc1.consul" % i, b"rack=r%d" % i)]
        kept, extras, trimmed = trim_udp(answers, additional, None, 3, length_for(SRV_QUESTION))
        self.assertEqual((kept, trimmed), (answers[:3], True))
        # TXT records gone: only the first record of each target's name.
        self.assertEqual(extras, [additional[0], additional[2], additional[4]])

    def test_first_record_of_a_name_even_a_txt(self):
        answers = [srv(b"n%d.node.dc1.consul" % i) for i in range(1, 5)]
        additional = [txt(b"n1.node.dc1.consul", b"first"), a(b"n1.node.dc1.consul", "10.0.0.1"),
                      a(b"n2.node.dc1.consul", "10.0.0.2")]
        kept, extras, trimmed = trim_udp(answers, additional, None, 2, length_for(SRV_QUESTION))
        self.assertEqual((len(kept), extras, trimmed), (2, [additional[0], additional[2]], True))

    def test_targets_matched_in_any_case_records_kept_as_they_are(self):
        answers = [srv(b"N1.Node.DC1.consul"), srv(b"n2.node.dc1.consul"), srv(b"n3.node.dc1.consul"),
                   srv(b"n4.node.dc1.consul")]
        additional = [a(b"n1.node.dc1.consul", "10.0.0.1"), a(b"N2.NODE.dc1.consul", "10.0.0.2"),
                      a(b"n4.node.dc1.consul", "10.0.0.4")]
        kept, extras, _ = trim_udp(answers, additional, None, 3, length_for(SRV_QUESTION))
        self.assertEqual(extras, additional[:2])
        self.assertEqual(extras[1].name.name, b"N2.NODE.dc1.consul")

    def test_duplicate_targets_once(self):
        answers = [srv(b"n1.node.dc1.consul", port=1), srv(b"n1.node.dc1.consul", port=2),
                   srv(b"N1.node.dc1.consul", port=3), srv(b"n2.node.dc1.consul")]
        additional = [a(b"n1.node.dc1.consul", "10.0.0.1"), a(b"n1.node.dc1.consul", "10.0.0.1"),
                      a(b"n1.node.dc1.consul", "10.0.0.1"), a(b"n2.node.dc1.consul", "10.0.0.2")]
        kept, extras, trimmed = trim_udp(answers, additional, None, 3, length_for(SRV_QUESTION))
        self.assertEqual((kept, extras, trimmed), (answers[:3], additional[:1], True))

    def test_cname_followed(self):
        answers = [srv(b"alias.example.com"), srv(b"n2.node.dc1.consul"), srv(b"other.example.com"),
                   srv(b"n4.node.dc1.consul")]
        additional = [cname(b"alias.example.com", b"Real.Example.com"), a(b"real.example.com", "192.0.2.1"),
                      cname(b"other.example.com", b"real.example.com"), a(b"n2.node.dc1.consul", "10.0.0.2"),
                      a(b"n4.node.dc1.consul", "10.0.0.4")]
        kept, extras, _ = trim_udp(answers, additional, None, 3, length_for(SRV_QUESTION))
        self.assertEqual(len(kept), 3)
        # alias -> its CNAME, then real's A; n2's A; other -> its CNAME (real is done).
        self.assertEqual(extras, [additional[0], additional[1], additional[3], additional[2]])

    def test_cname_loop_ends(self):
        answers = [srv(b"a.example.com"), srv(b"b.example.com")]
        additional = [cname(b"a.example.com", b"b.example.com"), cname(b"b.example.com", b"a.example.com")]
        kept, extras, _ = trim_udp(answers, additional, None, 1, length_for(SRV_QUESTION))
        self.assertEqual((kept, extras), (answers[:1], additional))

    def test_non_srv_answers_need_nothing(self):
        records = a_records(5)
        additional = [txt(NAME, b"meta=1")]
        kept, extras, trimmed = trim_udp(records, additional, None, 3, length_for(A_QUESTION))
        self.assertEqual((kept, extras, trimmed), (records[:3], [], True))

    def test_synced_after_a_size_cut(self):
        answers, additional = srv_set(40)
        additional = [r for pair in zip(additional, [txt(r.name.name, b"rack=r") for r in additional]) for r in pair]
        kept, extras, trimmed = trim_udp(answers, additional, 1232, 3, length_for(SRV_QUESTION))
        self.assertTrue(trimmed)
        self.assertEqual([r.type for r in extras], [dns.A] * len(kept))
        self.assertEqual([r.name.name for r in extras], [r.payload.target.name for r in kept])

    def test_measured_with_the_synced_section(self):
        # The binary search measures each candidate with its own additional
        # records, not the whole section.
        answers, additional = srv_set(40)
        seen = []

        def length(kept, extras, compress):
            seen.append((len(kept), len(extras)))
            return wire.reply_length(SRV_QUESTION, kept, [], extras, compress)

        trim_udp(answers, additional, 1232, 3, length)
        self.assertEqual(seen[0], (40, 40))
        self.assertTrue(all(k == e for k, e in seen))


class TcpTests(SynchronousTestCase):
    def test_within_the_size_untouched(self):
        answers, additional = srv_set(40)
        self.assertEqual(trim_tcp(answers, additional, dns.SRV, length_for(SRV_QUESTION)),
                         (answers, additional, False))

    def test_the_64k_limit(self):
        # FIXED + 16 n <= 65523: 4092 A records.
        self.assertEqual(TCP_MAX_SIZE, 65523)
        self.assertLessEqual(FIXED + 16 * 4092, 65523)
        self.assertGreater(FIXED + 16 * 4093, 65523)
        records = a_records(4092)
        self.assertEqual(trim_tcp(records, [], dns.A, length_for(A_QUESTION)), (records, [], False))
        kept, _, trimmed = trim_tcp(a_records(4093), [], dns.A, length_for(A_QUESTION))
        self.assertEqual((len(kept), trimmed), (4092, True))

    def test_no_seven_byte_slack(self):
        # A question 9 bytes longer: 4092 A records make 65517 bytes.
        question = (b"big-12345678.service.consul", dns.A, dns.IN)
        records = a_records(4092, owner=question[0])
        length = length_for(question)
        self.assertEqual(length(records, [], True), 65517)
        self.assertEqual(trim_tcp(records, [], dns.A, length), (records, [], False))

    def test_at_most_4096_answers(self):
        recorder = Recorder(length_for(A_QUESTION))
        kept, _, trimmed = trim_tcp(a_records(5000), [], dns.A, recorder)
        self.assertEqual(recorder.calls[0][0], 4096)
        self.assertEqual((len(kept), trimmed), (4092, True))

    def test_at_most_1024_srv_answers_and_that_alone_is_no_trim(self):
        # 1100 short SRV records without addresses fit in 64 KiB once cut to
        # 1024; Consul only reports trimming that the size forced.
        records = [srv(b"t%04d.consul" % i) for i in range(1100)]
        length = length_for(SRV_QUESTION)
        self.assertLessEqual(length(records[:1024], [], True), 65523)
        recorder = Recorder(length)
        kept, extras, trimmed = trim_tcp(records, [], dns.SRV, recorder)
        self.assertEqual((kept, extras, trimmed), (records[:1024], [], False))
        self.assertEqual(recorder.calls[0][0], 1024)

    def test_the_cap_follows_the_question_type(self):
        # The 1024 cap is for SRV questions; an ANY question keeps up to 4096.
        records = [srv(b"t%04d.consul" % i) for i in range(1100)]
        kept, _, trimmed = trim_tcp(records, [], dns.ALL_RECORDS, length_for((NAME, dns.ALL_RECORDS, dns.IN)))
        self.assertEqual((len(kept), trimmed), (1100, False))

    def test_srv_over_the_size_synced(self):
        answers, additional = [], []
        for i in range(1200):
            target = b"node-with-a-rather-long-name-%04d.node.dc1.consul" % i
            answers.append(srv(target))
            additional += [a(target, "10.4.%d.%d" % (i >> 8, i & 255)), txt(target, b"rack=r1")]
        length = length_for(SRV_QUESTION)
        kept, extras, trimmed = trim_tcp(answers, additional, dns.SRV, length)
        self.assertTrue(trimmed)
        self.assertLess(len(kept), 1024)
        self.assertLessEqual(length(kept, extras, True), 65523)
        self.assertGreater(length(answers[:len(kept) + 1], additional[:2 * len(kept) + 2:2], True), 65523)
        self.assertEqual(extras, additional[:2 * len(kept):2])

    def test_measured_compressed(self):
        recorder = Recorder(length_for(A_QUESTION))
        trim_tcp(a_records(5000), [], dns.A, recorder)
        self.assertEqual({compress for _, compress, _ in recorder.calls}, {True})


# -- authority.fitted and render -------------------------------------------------------


def a_answer(count):
    return Answer(items=[Item(r) for r in a_records(count)], shuffle=True, trim=True)


def srv_answer(count):
    answers, additional = srv_set(count)
    return Answer(items=[Item(s, (x,)) for s, x in zip(answers, additional)], shuffle=True, trim=True)


def fit(answer, question, settings):
    records = [item.record for item in answer.items]
    additional = [extra for item in answer.items for extra in item.extras] + answer.additional
    return fitted(answer, question, settings, records, additional)


def decoded(data):
    message = dns.Message()
    message.fromStr(data)
    return message


class FittedTests(SynchronousTestCase):
    def setUp(self):
        self.settings = Settings(datacenter="dc1")
        self.truncating = Settings(datacenter="dc1", enable_truncate=True)

    def question(self, **kwargs):
        kwargs.setdefault("qtype", dns.A)
        return Question(name=NAME, **kwargs)

    def test_opt_kept_when_nothing_is_trimmed(self):
        kept, extras, opt, truncated = fit(a_answer(40), self.question(edns=True, udp_size=4096), self.settings)
        self.assertEqual((len(kept), extras, opt, truncated), (40, [], wire.encode_opt(4096), False))

    def test_opt_with_client_subnet_kept(self):
        question = self.question(edns=True, udp_size=4096, ecs=(1, 24, b"\x0a\x01\x02"))
        _, _, opt, _ = fit(a_answer(2), question, self.settings)
        self.assertEqual(opt, wire.encode_opt(4096, (1, 24, b"\x0a\x01\x02")))

    def test_opt_dropped_when_trimmed(self):
        kept, _, opt, truncated = fit(a_answer(40), self.question(edns=True, udp_size=600), self.settings)
        self.assertEqual((len(kept), opt, truncated), (34, b"", False))

    def test_opt_dropped_after_the_answer_limit_cut(self):
        kept, _, opt, _ = fit(a_answer(10), self.question(edns=True, udp_size=512), self.settings)
        self.assertEqual((len(kept), opt), (3, b""))

    def test_opt_counts_towards_the_size(self):
        # 40 A records are 676 bytes: within 690 - 7 alone, not with the
        # 11-byte OPT record, so one goes (and the OPT record with it).
        self.assertEqual(FIXED + 16 * 40, 676)
        kept, _, opt, _ = fit(a_answer(40), self.question(edns=True, udp_size=690), self.settings)
        self.assertEqual((len(kept), opt), (39, b""))
        kept, _, opt, _ = fit(a_answer(40), self.question(edns=True, udp_size=694), self.settings)
        self.assertEqual((len(kept), opt), (40, wire.encode_opt(694)))

    def test_opt_not_counted_once_trimming_has_cut(self):
        # Consul's OPT record is in the additional section when trimming
        # starts; the first cut's syncExtra rebuilds that section without it,
        # so every later measure is of the reply without it. 40 A records at
        # EDNS 590: 687 bytes with the OPT record, cut one at a time down to
        # 34 answers, 580 bytes <= 583 (33 if the OPT record were still counted).
        self.assertEqual(FIXED + 16 * 34, 580)
        kept, _, opt, _ = fit(a_answer(40), self.question(edns=True, udp_size=590), self.settings)
        self.assertEqual((len(kept), opt), (34, b""))

    def test_opt_not_counted_once_trimming_has_cut_srv(self):
        # The same for SRV answers and their addresses (55 bytes a pair after
        # the 36-byte header and question): 22 pairs are 1246 bytes, 1257
        # with the OPT record; at EDNS 1260 (1253 allowed) Consul keeps 22.
        length = length_for(SRV_QUESTION)
        answers, additional = srv_set(22)
        self.assertEqual(length(answers, additional, True), 1246)
        question = self.question(qtype=dns.SRV, edns=True, udp_size=1260)
        kept, extras, opt, _ = fit(srv_answer(40), question, self.settings)
        self.assertEqual((len(kept), len(extras), opt), (22, 22, b""))

    def test_opt_not_counted_after_the_answer_limit_cut(self):
        # With EDNS 512 the answer limit cut itself syncs the additional
        # section: the OPT record is gone before the size is measured.
        long_name = b"%s.%s.service.consul" % (b"p" * 60, b"q" * 32)  # 110 bytes on the wire
        question = Question(name=long_name, qtype=dns.A, edns=True, udp_size=512)
        answer = Answer(items=[Item(r) for r in a_records(5, owner=long_name)], shuffle=True, trim=True)
        length = length_for(question.section)
        three = [item.record for item in answer.items[:3]]
        self.assertLessEqual(length(three, [], False), 512 - 7)
        self.assertGreater(length(three, [], False) + 11, 512 - 7)
        kept, _, opt, _ = fit(answer, question, self.settings)
        self.assertEqual((len(kept), opt), (3, b""))

    def test_no_opt_without_edns(self):
        kept, _, opt, truncated = fit(a_answer(2), self.question(), self.settings)
        self.assertEqual((len(kept), opt, truncated), (2, b"", False))

    def test_tc_only_with_enable_truncate(self):
        for settings, expected in ((self.settings, False), (self.truncating, True)):
            _, _, _, truncated = fit(a_answer(10), self.question(), settings)
            self.assertEqual(truncated, expected)
            _, _, _, truncated = fit(a_answer(40), self.question(edns=True, udp_size=600), settings)
            self.assertEqual(truncated, expected)
            _, _, _, truncated = fit(a_answer(3), self.question(), settings)
            self.assertEqual(truncated, False)

    def test_tcp(self):
        question = self.question(transport=TCP, edns=True, udp_size=4096)
        kept, _, opt, truncated = fit(a_answer(40), question, self.truncating)
        self.assertEqual((len(kept), opt, truncated), (40, wire.encode_opt(4096), False))
        kept, _, opt, truncated = fit(a_answer(5000), question, self.truncating)
        self.assertEqual((len(kept), opt, truncated), (4092, b"", True))

    def test_untrimmed_answers_pass_through(self):
        answer = Answer(items=[Item(r) for r in a_records(10)])
        kept, _, opt, truncated = fit(answer, self.question(edns=True, udp_size=4096), self.truncating)
        self.assertEqual((len(kept), opt, truncated), (10, wire.encode_opt(4096), False))

    def test_compression_setting_used_for_the_measure(self):
        settings = Settings(datacenter="dc1", compress=False)
        # Uncompressed, an A answer is 20 + 14 bytes: (1232 - 7 - 36) // 34 = 34.
        kept, _, _, _ = fit(a_answer(40), self.question(edns=True, udp_size=1232), settings)
        self.assertEqual(len(kept), 34)


class RenderTests(SynchronousTestCase):
    def setUp(self):
        self.settings = Settings(datacenter="dc1")

    def render(self, answer, question, settings=None):
        order = list(range(len(answer.items)))
        return decoded(render(answer, question, settings or self.settings, None, order=order))

    def test_opt_in_the_reply_when_nothing_is_trimmed(self):
        message = self.render(a_answer(40), Question(name=NAME, qtype=dns.A, edns=True, udp_size=4096))
        self.assertEqual(len(message.answers), 40)
        (opt,) = message.additional
        self.assertEqual((opt.type, opt.cls), (dns.OPT, 4096))
        self.assertFalse(message.trunc)

    def test_no_opt_when_trimmed(self):
        message = self.render(srv_answer(40), Question(name=NAME, qtype=dns.SRV, edns=True, udp_size=1232))
        self.assertEqual((len(message.answers), len(message.additional)), (21, 21))
        self.assertNotIn(dns.OPT, [r.type for r in message.additional])
        self.assertFalse(message.trunc)

    def test_tc_with_enable_truncate(self):
        settings = Settings(datacenter="dc1", enable_truncate=True)
        message = self.render(srv_answer(40), Question(name=NAME, qtype=dns.SRV, edns=True, udp_size=1232),
                              settings)
        self.assertEqual((len(message.answers), message.trunc), (21, 1))
        message = self.render(a_answer(10), Question(name=NAME, qtype=dns.A), settings)
        self.assertEqual((len(message.answers), message.trunc), (3, 1))
        message = self.render(a_answer(2), Question(name=NAME, qtype=dns.A), settings)
        self.assertEqual((len(message.answers), message.trunc), (2, 0))

    def test_ns_reply_cut_to_the_answer_limit(self):
        # Consul 1.10 trims every reply of its domain (trimDNSResponse after
        # the question's switch in handleQuery), NS answers too: with
        # udp_answer_limit 1 and three servers, one NS record, and syncExtra
        # leaves no glue (there is no SRV answer).
        entries = [{"Node": {"Node": "s%d" % i, "Address": "10.0.0.%d" % i}, "Service": {"Service": "consul"},
                    "Checks": []} for i in (1, 2, 3)]
        settings = Settings(datacenter="dc1", udp_answer_limit=1)
        answer = apex_answer("consul", dns.NS, entries, settings, 0)
        self.assertEqual(len(answer.items), 3)
        message = self.render(answer, Question(name=b"consul", qtype=dns.NS), settings)
        self.assertEqual((len(message.answers), message.additional), (1, []))
