"""Consul's trimming of answers too large for their transport.

Over UDP a reply without EDNS keeps ``udp_answer_limit`` answers (3; never
more than 8) and must fit 512 bytes, measured without compression (so that
a resolver that decompresses it still fits); with EDNS it must fit the size
the asker advertised. Over TCP it must fit 64 KiB. Answers are dropped from
the end, found by a binary search when far too long, and once anything is
dropped the additional section is cut down to one record per SRV target.

``length(answers, additional, compress)`` measures a candidate reply; the
functions return ``(answers, additional, trimmed)``.
"""

from twisted.names import dns

UDP_DEFAULT_SIZE = 512
UDP_HARD_LIMIT = 8  # answers, whatever udp_answer_limit says
TCP_MAX_SIZE = 65523  # 64 KiB less the overhead Consul leaves
TCP_MAX_ANSWERS, TCP_MAX_SRV_ANSWERS = 4096, 1024


def index_extras(additional):
    """The first additional record of each owner name (any case)."""
    index = {}
    for record in additional:
        index.setdefault(record.name.name.lower(), record)
    return index


def sync_extras(index, answers):
    """The additional records the remaining SRV answers need: their
    targets' records (following a CNAME), each once."""
    extras, resolved = [], set()
    for answer in answers:
        if answer.type != dns.SRV:
            continue
        target = answer.payload.target.name.lower()
        while target not in resolved:
            resolved.add(target)
            record = index.get(target)
            if record is None:
                break
            extras.append(record)
            if record.type != dns.CNAME:
                break
            target = record.payload.name.name.lower()
    return extras


def _binary_truncate(answers, additional, max_size, index, length, compress):
    """How many answers to keep, as Consul's dnsBinaryTruncate finds it."""
    start, end = 0, len(answers) + 1
    while end - start > 1:
        median = start + (end - start) // 2
        kept = answers[:median]
        extras = sync_extras(index, kept) if index is not None else additional
        size = length(kept, extras, compress)
        if size <= max_size:
            if max_size - size < 10:
                return median
            start = median
        else:
            end = median
    return start


def _shrink(answers, additional, max_size, slack, index, length, compress):
    trimmed = False
    while len(answers) > 1 and length(answers, additional, compress) > max_size - slack:
        trimmed = True
        if length(answers, additional, compress) - max_size > 100:
            answers = answers[:_binary_truncate(answers, additional, max_size, index, length, compress)]
        else:
            answers = answers[:-1]
        if index is not None:
            additional = sync_extras(index, answers)
    return answers, additional, trimmed


def udp_answer_cap(udp_size, answer_limit):
    """How many answers a UDP reply keeps at most before its size is looked
    at: ``udp_answer_limit`` (capped at 8; 0 keeps none, as in Consul)
    without EDNS (or with an EDNS size of 512 or less), no cap otherwise
    (None)."""
    if max(UDP_DEFAULT_SIZE, udp_size or 0) != UDP_DEFAULT_SIZE:
        return None
    return min(UDP_HARD_LIMIT, max(answer_limit, 0))


def trim_udp(answers, additional, udp_size, answer_limit, length, total=None):
    """``udp_size``: the EDNS size asked for, or None without EDNS.
    ``total``: how many answers there were, when the caller has already
    left out those past the cap (see udp_answer_cap)."""
    total = len(answers) if total is None else total
    index = index_extras(additional) if additional else None
    max_size = max(UDP_DEFAULT_SIZE, udp_size or 0)
    limit = udp_answer_cap(udp_size, answer_limit)
    compress = True
    if limit is not None and total > limit:
        compress = False  # measured uncompressed, sent compressed
        answers = answers[:limit]
        if index is not None:
            additional = sync_extras(index, answers)
    # Consul leaves 7 bytes spare under the UDP size.
    answers, additional, _ = _shrink(answers, additional, max_size, 7, index, length, compress)
    return answers, additional, len(answers) < total


def trim_tcp(answers, additional, qtype, length):
    cap = TCP_MAX_SRV_ANSWERS if qtype == dns.SRV else TCP_MAX_ANSWERS
    answers = answers[:cap]
    index = index_extras(additional) if additional else None
    return _shrink(answers, additional, TCP_MAX_SIZE, 0, index, length, True)
