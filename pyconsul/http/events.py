"""/v1/event: fire a user event, and list the ones this agent has kept.

The list is agent-local, so its blocking is Consul's own imitation of a
blocking query: the index is ``uuid_to_index`` of the newest event listed
(1 when none), and a request with ``?index`` equal to it waits until the
agent takes another event -- then looks again, since an event under another
name leaves the index as it was -- or until ``?wait`` (10 minutes at most, and
when not given) has passed.
"""

from twisted.internet import defer

from pyconsul.agent.events import InvalidEvent, UserEvent, event_json, uuid_to_index
from pyconsul.http.request import parse_wait, request_token
from pyconsul.http.response import error_body, json_body
from pyconsul.server.errors import RPCError

MAX_WAIT = 600.0  # Consul's maxQueryTime for this endpoint


class EventEndpoint:
    def __init__(self, events, clock):
        self.events = events  # pyconsul.agent.events.UserEvents
        self.clock = clock

    def fire(self, call, name):
        if not name:
            return error_body(call.request, 400, "Missing name")
        params = call.params
        event = UserEvent(
            name=name,
            node_filter=params.get("node") or "",
            service_filter=params.get("service") or "",
            tag_filter=params.get("tag") or "",
            payload=call.body() if call.body_length() > 0 else None,
        )
        d = self.events.fire(event, datacenter=params.get("dc") or None,
                             token=request_token(call.request, params))
        d.addCallback(lambda sent: json_body(call.request, event_json(sent), call.pretty))
        return d.addErrback(_refused)

    @defer.inlineCallbacks
    def list(self, call):
        min_index, wait = parse_wait(call.params)
        name = call.params.get("name")
        if min_index:
            wait = MAX_WAIT if not wait or wait <= 0 else min(wait, MAX_WAIT)
            deadline = self.clock.seconds() + wait
        while True:
            events = [e for e in self.events.events() if not name or e.name == name]
            index = uuid_to_index(events[-1].id) if events else 1  # never 0: no hot loop
            remaining = deadline - self.clock.seconds() if min_index else 0
            if index != min_index or remaining <= 0:
                break
            if not (yield self.events.kept.next_change(self.clock, remaining)):
                break
        call.request.setHeader(b"x-consul-index", b"%d" % index)
        return json_body(call.request, [event_json(e) for e in events], call.pretty)


def _refused(failure):
    failure.trap(InvalidEvent)
    raise RPCError(str(failure.value))
