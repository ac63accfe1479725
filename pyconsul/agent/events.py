"""Consul's user events, as an agent fires, filters and keeps them.

An event travels as a Serf user event named ``consul:event:<name>`` whose
payload is Consul's ``UserEvent`` struct in msgpack (``ID``, ``n``, ``p``,
``nf``, ``sf``, ``tf``, ``v``: the codec tags of Consul's struct). Firing goes
through a server's ``Internal.EventFire`` (on a client over RPC, on a server
to itself), which broadcasts it on the LAN. Every agent that hears it checks
the filters -- regular expressions (Go's syntax) on its node name, on the
IDs of its services, and on their tags -- and keeps the events that match in
a ring of the last 256, which ``/v1/event/list`` reads.

As in Consul, ``_rexec`` events belong to ``consul exec``; remote execution
is off (Consul's default, and pyconsul has no exec), so they are logged and
not kept.
"""

import base64
import random

import attr
import msgpack
from twisted.internet import defer

from pyconsul.core.serf import events as serf_events
from pyconsul.filter.regex import RegexError, compile as go_regexp
from pyconsul.logs import Logger

SERF_PREFIX = "consul:event:"  # Consul's prefix for user events in Serf
VERSION = 1  # userEventMaxVersion
REMOTE_EXEC = "_rexec"
KEPT = 256  # the agent's event buffer


class InvalidEvent(Exception):
    """A fire request Consul refuses; ``str()`` is Consul's wording."""


@attr.s(slots=True)
class UserEvent:
    id: str = attr.ib(default="")
    name: str = attr.ib(default="")
    payload: bytes | None = attr.ib(default=None)
    node_filter: str = attr.ib(default="")
    service_filter: str = attr.ib(default="")
    tag_filter: str = attr.ib(default="")
    version: int = attr.ib(default=0)
    ltime: int = attr.ib(default=0)  # the Serf event's Lamport time, set on receipt


def event_json(event):
    """An event as Consul's HTTP API writes it (Payload in base64, or null)."""
    return {
        "ID": event.id,
        "Name": event.name,
        "Payload": None if event.payload is None else base64.b64encode(event.payload).decode("ascii"),
        "NodeFilter": event.node_filter,
        "ServiceFilter": event.service_filter,
        "TagFilter": event.tag_filter,
        "Version": event.version,
        "LTime": event.ltime,
    }


def validate(event):
    """Consul's validateUserEventParams, and one rule more: names starting
    with "_" are reserved for Consul's own events (``_rexec``, remote exec,
    which pyconsul does not run); Consul's docs say so, and here a user's
    event cannot take one."""
    if not event.name:
        raise InvalidEvent("User event missing name")
    if event.name.startswith("_"):
        raise InvalidEvent("User event name %r starts with '_', which is reserved for Consul's internal events"
                           % event.name)
    if event.tag_filter and not event.service_filter:
        raise InvalidEvent("Cannot provide tag filter without service filter")
    for kind, pattern in (("node", event.node_filter), ("service", event.service_filter),
                          ("tag", event.tag_filter)):
        if pattern:
            try:
                go_regexp(pattern)
            except RegexError as error:
                raise InvalidEvent("Invalid %s filter: %s" % (kind, error))


def new_id(rng):
    """A random ID in go-uuid's form (16 random bytes, hex, 8-4-4-4-12)."""
    text = "%032x" % rng.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])


def uuid_to_index(uuid):
    """Consul's uuidToUint64: the two halves of the ID XORed, the index of
    /v1/event/list (not monotonic; blocking waits for a different one)."""
    lower = int(uuid[0:8] + uuid[9:13] + uuid[14:18], 16)
    upper = int(uuid[19:23] + uuid[24:36], 16)
    return lower ^ upper


# -- the Serf payload ----------------------------------------------------------


def encode(event):
    """Consul's msgpack of the struct: map keys are its codec tags, fields
    with ``omitempty`` left out when empty, LTime never sent."""
    fields = {"ID": event.id, "n": event.name}
    if event.payload:
        fields["p"] = event.payload
    for key, value in (("nf", event.node_filter), ("sf", event.service_filter), ("tf", event.tag_filter)):
        if value:
            fields[key] = value
    fields["v"] = event.version
    return msgpack.packb(fields, use_bin_type=True)


_TEXT_FIELDS = {"ID": "id", "n": "name", "nf": "node_filter", "sf": "service_filter", "tf": "tag_filter"}


def decode(data, ltime=0):
    """The UserEvent in a Serf payload; ValueError if it is not one."""
    try:
        fields = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as error:  # msgpack raises several unrelated types
        raise ValueError("undecodable event: %s" % error) from None
    if not isinstance(fields, dict):
        raise ValueError("an event is a map, not %s" % type(fields).__name__)
    event = UserEvent(ltime=ltime)
    for key, attribute in _TEXT_FIELDS.items():
        value = fields.get(key, "")
        if not isinstance(value, str):
            raise ValueError("field %s is not a string" % key)
        setattr(event, attribute, value)
    payload = fields.get("p")
    if payload is not None and not isinstance(payload, (bytes, str)):
        raise ValueError("field p is not bytes")
    event.payload = payload.encode("utf-8") if isinstance(payload, str) else payload
    version = fields.get("v", 0)
    if type(version) is not int:
        raise ValueError("field v is not a number")
    event.version = version
    return event


# -- filtering -------------------------------------------------------------------


def matches(event, node_name, services):
    """Whether this agent takes the event (Consul's shouldProcessUserEvent).

    ``services`` maps this agent's service IDs to their tags: Consul matches
    the service filter against the IDs of the local services, and the tag
    filter against the tags of a service whose ID matched."""
    if event.node_filter and not go_regexp(event.node_filter).search(node_name):
        return False
    if event.service_filter:
        service_re = go_regexp(event.service_filter)
        tag_re = go_regexp(event.tag_filter) if event.tag_filter else None
        for service_id, tags in services.items():
            if not service_re.search(service_id):
                continue
            if tag_re is None or any(tag_re.search(tag) for tag in tags):
                return True
        return False
    return True


def local_services(local_agent):
    """() -> {service ID: tags} of a LocalAgent's services ({} without one)."""
    if local_agent is None:
        return dict
    state = local_agent.local
    return lambda: {sid: list(record.get("Tags") or ()) for sid, record in state.live_services().items()}


# -- keeping ---------------------------------------------------------------------


class EventLog:
    """The last ``size`` events taken, oldest first, and who waits for the next.

    An event whose ID is already kept is not kept twice (a fire that was
    sent again to another server after a broken connection)."""

    def __init__(self, size=KEPT):
        self.size = size
        self._ring = [None] * size
        self._next = 0
        self._ids = set()
        self._waiting = []

    def ingest(self, event):
        """Keep ``event``; False if it was kept already."""
        if event.id in self._ids:
            return False
        oldest = self._ring[self._next]
        if oldest is not None:
            self._ids.discard(oldest.id)
        self._ring[self._next] = event
        self._ids.add(event.id)
        self._next = (self._next + 1) % self.size
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(True)
        return True

    def events(self):
        if self._ring[self._next] is not None:  # full: the oldest is the next to go
            return self._ring[self._next:] + self._ring[:self._next]
        return self._ring[:self._next]

    def last(self):
        return self._ring[(self._next - 1) % self.size]

    def next_change(self, clock, timeout):
        """Fires with True on the next ingest, or False after ``timeout`` seconds."""
        timer = None

        def cancelled(d):
            self._forget(d)
            timer.cancel()

        def timed_out():
            self._forget(d)
            d.callback(False)

        def done(changed):
            if timer.active():
                timer.cancel()
            return changed

        d = defer.Deferred(cancelled)
        timer = clock.callLater(timeout, timed_out)
        self._waiting.append(d)
        return d.addCallback(done)

    def _forget(self, d):
        if d in self._waiting:
            self._waiting.remove(d)


class UserEvents:
    """This agent's user events: fire them, and take those it hears.

    ``services()`` gives the agent's services as {service ID: tags}; ``rpc``
    is the agent's RPCRouter (``Internal.EventFire`` on a server)."""

    log = Logger()

    def __init__(self, node_name, services, rpc, rng=None, event_log=None):
        self.node_name = node_name
        self.services = services
        self.rpc = rpc
        self.rng = rng or random.SystemRandom()
        self.kept = event_log or EventLog()

    def fire(self, event, datacenter=None, token=None):
        """Fire ``event`` across the datacenter; fires with the event as
        sent (its ID set). Fails with InvalidEvent, or the RPC's error."""
        try:
            validate(event)
        except InvalidEvent as error:
            return defer.fail(error)
        event.id = new_id(self.rng)
        event.version = VERSION
        args = {
            "Datacenter": datacenter,
            "Name": event.name,
            "Payload": encode(event),
            "Token": token,
            # Any server may broadcast it: gossip takes it everywhere.
            "QueryOptions": {"AllowStale": True, "Token": token},
        }
        d = self.rpc.call("Internal.EventFire", args)
        return d.addCallback(lambda _: event)

    def on_serf_event(self, effect):
        """Subscribed to the LAN pool: every Serf event comes here."""
        if type(effect) is not serf_events.UserEvent or not effect.name.startswith(SERF_PREFIX):
            return
        try:
            event = decode(effect.payload, ltime=effect.ltime)
        except ValueError as error:
            self.log.error("agent: Failed to decode event: {error}", error=error)
            return
        if event.version > VERSION:
            self.log.warn("agent: Event version may have unsupported features: version={version} event={event}",
                          version=event.version, event=event.name)
        try:
            taken = matches(event, self.node_name, self.services())
        except RegexError as error:
            self.log.error("agent: Failed to parse a filter of event {event}: {error}", event=event.name, error=error)
            return
        if taken:
            self.ingest(event)

    def ingest(self, event):
        if event.name == REMOTE_EXEC:
            self.log.info("agent: ignoring remote exec event, disabled: event_id={id}", id=event.id)
            return
        if self.kept.ingest(event):
            self.log.debug("agent: new event: event_name={name} event_id={id}", name=event.name, id=event.id)

    def events(self):
        return self.kept.events()
