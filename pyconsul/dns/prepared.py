"""Replies kept for the fast path, ready to send but for the query ID.

A reply whose records come in one order is kept as bytes. A shuffled one
(a service's A or SRV records) is kept as pieces that do not depend on
where they land in the message: each answer points at the question's name
(always at offset 12), and each additional record is a pointer to its SRV
target plus a fixed tail, so a query costs a random sample and a join.
The pieces give the same bytes :func:`~pyconsul.dns.authority.render`
gives for the same order (the tests check it); replies they cannot give
that way (compression that would reach between answers, trimming that
depends on the order) are rendered afresh for every query instead.
"""

import io
import math
import struct

import attr

from twisted.names import dns

from pyconsul.dns.authority import fitted, render, reply_flags, reply_opt
from pyconsul.dns.trim import UDP_DEFAULT_SIZE, udp_answer_cap
from pyconsul.dns.wire import HEADER_SIZE, POINTER_LIMIT, Names, encode_record

QUESTION_POINTER = b"\xc0\x0c"
SRV_TARGET_OFFSET = 2 + 10 + 6  # owner pointer, type/class/TTL/length, priority/weight/port
POINTER = struct.Struct("!H")
COUNTS = struct.Struct("!HHHH")
SHUFFLED_TYPES = (dns.A, dns.AAAA, dns.SRV)


class Prepared:
    def __init__(self, dependencies, expires):
        self.dependencies = dependencies
        self.expires = expires

    def holds(self, now):
        if now >= self.expires:
            return False
        for dependency in self.dependencies:
            if dependency.entry.reply is not dependency.reply:
                return False
        return True


class FixedReply(Prepared):
    def __init__(self, body, dependencies, expires):
        super().__init__(dependencies, expires)
        self.body = body  # the reply after its ID

    def reply(self, message_id, rng):
        return message_id + self.body


class RenderedReply(Prepared):
    """Rendered for every query: still no catalog read or name parsing."""

    def __init__(self, answer, question, settings, dependencies, expires):
        super().__init__(dependencies, expires)
        self.answer = answer
        self.question = question
        self.settings = settings

    def reply(self, message_id, rng):
        self.question.message_id = int.from_bytes(message_id, "big")
        return render(self.answer, self.question, self.settings, rng)


@attr.s(slots=True, frozen=True)
class _Piece:
    blob: bytes = attr.ib()  # the answer record, its owner a pointer to the question
    target: bytes | None = attr.ib()  # an SRV record's target name
    tails: tuple = attr.ib()  # its additional records after their owner name
    synced: bytes | None = attr.ib()  # the one kept once trimming has cut the additional section

    @property
    def size(self):
        return len(self.blob)

    @property
    def full_size(self):
        return len(self.blob) + sum(2 + len(tail) for tail in self.tails)

    @property
    def signature(self):
        return len(self.blob), tuple(len(t) for t in self.tails), None if self.synced is None else len(self.synced)


class ShuffledReply(Prepared):
    def __init__(self, pieces, count, synced, flags, question, opt, dependencies, expires):
        super().__init__(dependencies, expires)
        self.pieces = pieces
        self.count = count  # answers per reply
        self.synced = synced  # the additional section as trimming leaves it
        self.flags = flags
        self.question = question  # the question section's bytes
        self.opt = opt
        self.start = HEADER_SIZE + len(question)

    def reply(self, message_id, rng):
        chosen = rng.sample(self.pieces, self.count)
        parts = [b"", self.question]
        offset, targets = self.start, {}
        for piece in chosen:
            parts.append(piece.blob)
            if piece.target is not None and piece.target not in targets:
                targets[piece.target] = POINTER.pack(0xC000 | offset + SRV_TARGET_OFFSET)
            offset += len(piece.blob)
        extras = 0
        if self.synced:
            done = set()
            for piece in chosen:
                if piece.synced is not None and piece.target not in done:
                    done.add(piece.target)
                    parts.append(targets[piece.target] + piece.synced)
                    extras += 1
        else:
            for piece in chosen:
                for tail in piece.tails:
                    parts.append(targets[piece.target] + tail)
                    extras += 1
        parts.append(self.opt)
        parts[0] = message_id + self.flags + COUNTS.pack(1, self.count, 0, extras + (1 if self.opt else 0))
        return b"".join(parts)


def prepare(answer, question, settings, dependencies, now):
    """The reply to keep for ``question`` (a UDP one), until a dependency
    changes; one holding an SOA (whose serial is the time) for a second."""
    expires = now + 1.0 if answer.holds_serial else math.inf
    if not answer.shuffle or len(answer.items) < 2:
        question.message_id = 0
        return FixedReply(render(answer, question, settings, None)[2:], dependencies, expires)
    shuffled = _shuffled(answer, question, settings, dependencies, expires)
    if shuffled is not None:
        return shuffled
    return RenderedReply(answer, question, settings, dependencies, expires)


def _record_tail(record):
    """A record's bytes after its owner name (its data has no names to compress)."""
    data = io.BytesIO()
    record.payload.encode(data, None)
    rdata = data.getvalue()
    return struct.pack("!HHIH", record.type, record.cls, record.ttl, len(rdata)) + rdata


def _answer_blob(record, qname):
    out = io.BytesIO()
    names = Names()
    names[qname] = HEADER_SIZE
    encode_record(out, record, names)
    return out.getvalue()


def _pieces(answer, qname):
    """The answer's pieces, or None when some record's bytes would depend
    on where it lands."""
    pieces = []
    for item in answer.items:
        record = item.record
        if record.name.name != qname or record.type not in SHUFFLED_TYPES:
            return None
        target = record.payload.target.name if record.type == dns.SRV else None
        if item.extras and (target is None or qname.endswith(target)):
            return None
        tails = []
        for extra in item.extras:
            if extra.name.name != target or extra.type not in (dns.A, dns.AAAA, dns.TXT):
                return None
            tails.append(_record_tail(extra))
        synced = tails[0] if tails and item.extras[0].type != dns.TXT else None
        pieces.append(_Piece(_answer_blob(record, qname), target, tuple(tails), synced))
    return pieces


def _shuffled(answer, question, settings, dependencies, expires):
    if answer.authority or answer.additional or not settings.compress:
        return None
    pieces = _pieces(answer, question.name)
    if pieces is None:
        return None
    total = len(pieces)
    count = min(total, answer.limit) if answer.limit else total
    question_bytes = _question_bytes(question)
    fixed = HEADER_SIZE + len(question_bytes)
    largest = sorted((p.full_size for p in pieces), reverse=True)
    opt = reply_opt(answer, question)
    udp_size = question.udp_size if question.edns else None
    max_size = max(UDP_DEFAULT_SIZE, udp_size or 0)
    cap = udp_answer_cap(udp_size, settings.udp_answer_limit)
    cut_to_limit = cap is not None and count > cap
    if not answer.trim or (not cut_to_limit and fixed + sum(largest[:count]) + len(opt) <= max_size - 7):
        kept = count  # nothing to trim, whatever the order
    elif len({p.signature for p in pieces}) == 1 and _distinct_targets(pieces):
        # Every piece the same size: trimming keeps as many whatever the order.
        kept = _kept_by_trimming(answer, question, settings, count, cap)
    else:
        return None
    if fixed + sum(largest[:kept]) >= POINTER_LIMIT:
        return None  # pointers might not reach every target: render in full
    trimmed = kept < count
    flags = bytes(reply_flags(answer, question, settings, trimmed and settings.enable_truncate))
    return ShuffledReply(pieces, kept, trimmed, flags, question_bytes, b"" if trimmed else opt,
                         dependencies, expires)


def _distinct_targets(pieces):
    targets = [piece.target for piece in pieces if piece.target is not None]
    return len(set(targets)) == len(targets)


def _kept_by_trimming(answer, question, settings, count, cap):
    items = answer.items[:count if cap is None else min(count, cap)]
    records = [item.record for item in items]
    additional = [extra for item in items for extra in item.extras]
    kept, _, _, _ = fitted(answer, question, settings, records, additional, count)
    return len(kept)


def _question_bytes(question):
    out = io.BytesIO()
    dns.Name(question.name).encode(out, None)
    out.write(struct.pack("!HH", question.qtype, question.qclass))
    return out.getvalue()
