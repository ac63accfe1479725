"""``Internal.EventFire``: a server broadcasts a user event on the LAN.

Clients cannot gossip an event of their own accord in Consul: the agent
sends it to a server, which checks the token (allow-all until ACLs land) and
broadcasts it with the ``consul:event:`` prefix. Any server will do (the
request says ``AllowStale``), so the leader is not needed.
"""

from pyconsul.agent.events import SERF_PREFIX
from pyconsul.core.serf.user_events import UserEventTooLarge
from pyconsul.server.errors import BadRequest, RPCError


class EventFireEndpoint:
    def __init__(self, lan):
        self.lan = lan  # the LAN GossipDriver

    def methods(self):
        return {"Internal.EventFire": self.event_fire}

    def event_fire(self, args):
        name = args.get("Name")
        payload = args.get("Payload") or b""
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise BadRequest("Internal.EventFire needs a Name (string) and a Payload (bytes)")
        try:
            self.lan.user_event(SERF_PREFIX + name, payload, coalesce=False)
        except UserEventTooLarge as error:
            raise RPCError(str(error))
        return {}
