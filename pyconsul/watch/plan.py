"""The watch plan: Consul's ``api/watch`` loop as a pure state machine.

A driver asks :meth:`Plan.request` what to GET, sends it, and hands the
answer to :meth:`Plan.answered` (or a failure to reach the agent to
:meth:`Plan.failed`). What comes back says what to do next:

* :class:`Fire` -- run the handler with this index and result, then ask
  again;
* :class:`Retry` -- something went wrong: log the message, wait ``delay``
  seconds, then ask again;
* ``None`` -- nothing changed: ask again at once.

The rules are those of Consul 1.10's ``plan.go``:

* the first answer fires the handler, whatever it holds;
* after that an answer with the index already seen (a blocking query that
  ran out of time) does nothing, and one with a new index fires the handler
  only if the result differs from the last one handled;
* an index lower than the last one (the agent's data was reset) makes the
  next query start again from index 0;
* a failure retries after 5 s x failures squared, at most 180 s, and forgets
  the index, so the next answer fires the handler again even if nothing
  changed.

For ``event`` watches the index is a hash of the newest event's ID, not a
counter, and the result is pruned to the events after the one whose ID
hashes to the last index (Consul's ``IDToIndex`` trick). Because the hash
is not monotonic, an index "going backwards" happens by chance, the next
query starts from 0 and the whole event list is handled once more -- as
with Consul.

Answers are read as Go's api client reads them, and results re-shaped as
its structs encode them where the shape is small and fixed: a KV entry
always has ``Session`` (and ``Value``), an event all of its eight fields.
"""

import json

import string

import attr

from pyconsul.golang import strconv
from pyconsul.watch.spec import READ_EVENTS, READ_KV_LIST, READ_KV_PAIR

RETRY_INTERVAL = 5.0  # seconds: plan.go's retryInterval
MAX_BACKOFF = 180.0  # seconds: plan.go's maxBackoffTime


@attr.s(frozen=True, slots=True)
class Fire:
    index: int = attr.ib()
    result: object = attr.ib()  # JSON-ready: dicts, lists, strings, numbers, None


@attr.s(frozen=True, slots=True)
class Retry:
    delay: float = attr.ib()
    error: str = attr.ib()


class AnswerError(Exception):
    """An answer the api client would refuse; ``str()`` is its message."""


def retry_delay(failures):
    return min(RETRY_INTERVAL * failures * failures, MAX_BACKOFF)


class Plan:
    """One watch's state: the last index and result, the failures in a row."""

    def __init__(self, query):
        self.query = query
        self.last_index = None  # None until an answer came (Go's nil lastParamVal)
        self.last_result = None
        self.failures = 0

    def request(self):
        """The next GET: a blocking query at the last index."""
        return self.query.request(self.last_index or 0)

    def answered(self, status, index_header, body):
        """An HTTP answer: its status, X-Consul-Index (text, or None when
        absent) and body. Returns Fire, Retry or None."""
        try:
            index, result = read_answer(self.query.read, status, index_header, body)
        except AnswerError as error:
            return self.failed(str(error))
        if self.query.read == READ_EVENTS:
            result = prune_events(result, self.last_index)
        self.failures = 0
        if self.last_index is not None and self.last_index == index:
            return None
        previous = self.last_index
        self.last_index = 0 if previous is not None and previous > index else index
        if previous is not None and self.last_result == result:
            return None
        self.last_result = result
        return Fire(index, result)

    def failed(self, error):
        """The request failed (``error`` says how). Returns a Retry."""
        self.failures += 1
        self.last_index = None
        return Retry(retry_delay(self.failures), error)


# -- reading answers as Go's api client does -----------------------------------------------


def _unexpected(status, body):
    text = body.decode("utf-8", "replace")
    return AnswerError("Unexpected response code: %d (%s)" % (status, text))


def _index(index_header, required=True):
    text = index_header if index_header is not None else ""
    if text.isascii() and text.isdigit() and int(text) < 1 << 64:
        return int(text)
    if not required:
        return 0  # Go's event list ignores a bad index
    raise AnswerError("Failed to parse X-Consul-Index: strconv.ParseUint: parsing %s: invalid syntax"
                      % strconv.quote(text))


def _decode(body):
    try:
        return json.loads(body.decode("utf-8", "replace"))
    except ValueError as error:
        raise AnswerError("Failed to decode the answer: %s" % error) from None


def read_answer(read, status, index_header, body):
    """(index, result) of one answer, or AnswerError."""
    if read in (READ_KV_PAIR, READ_KV_LIST):
        if status not in (200, 404):
            raise _unexpected(status, body)
        index = _index(index_header)
        if status == 404:
            return index, None
        entries = _decode(body)
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise AnswerError("Failed to decode the answer: expected a list of KV entries")
        pairs = [kv_pair(entry) for entry in entries]
        if read == READ_KV_LIST:
            return index, pairs
        return index, pairs[0] if pairs else None
    if status != 200:
        raise _unexpected(status, body)
    if read == READ_EVENTS:
        index = _index(index_header, required=False)
        events = _decode(body)
        if events is not None and (not isinstance(events, list) or
                                   not all(isinstance(event, dict) for event in events)):
            raise AnswerError("Failed to decode the answer: expected a list of events")
        return index, None if events is None else [user_event(event) for event in events]
    return _index(index_header), _decode(body)


def kv_pair(entry):
    """A KV entry as Go's api.KVPair encodes it."""
    pair = {
        "Key": entry.get("Key", ""),
        "CreateIndex": entry.get("CreateIndex", 0),
        "ModifyIndex": entry.get("ModifyIndex", 0),
        "LockIndex": entry.get("LockIndex", 0),
        "Flags": entry.get("Flags", 0),
        "Value": entry.get("Value"),
        "Session": entry.get("Session", ""),
    }
    if entry.get("Namespace"):
        pair["Namespace"] = entry["Namespace"]
    return pair


EVENT_FIELDS = (("ID", ""), ("Name", ""), ("Payload", None), ("NodeFilter", ""), ("ServiceFilter", ""),
                ("TagFilter", ""), ("Version", 0), ("LTime", 0))


def user_event(event):
    """An event as Go's api.UserEvent encodes it: every field, always."""
    return {name: event.get(name, default) for name, default in EVENT_FIELDS}


def id_to_index(event_id):
    """Go's api Event.IDToIndex: the XOR of the halves of a UUID, the index
    the agent's event list answers with. None for an ID that is not a UUID
    (where Go would panic)."""
    if not isinstance(event_id, str) or len(event_id) < 36:
        return None
    lower = event_id[0:8] + event_id[9:13] + event_id[14:18]
    upper = event_id[19:23] + event_id[24:36]
    if not all(char in string.hexdigits for char in lower + upper):
        return None
    return int(lower, 16) ^ int(upper, 16)


def prune_events(events, last_index):
    """Only the events after the one whose ID hashes to ``last_index``."""
    if last_index is None or not events:
        return events
    for position, event in enumerate(events):
        if id_to_index(event.get("ID")) == last_index:
            return events[position + 1:]
    return events
