"""/v1/agent: this agent's members, its own description, and membership
commands (join, leave, force-leave)."""

from pyconsul.agent.agent import NotAServer, UnknownMember, member_json
from pyconsul.golang import floatjson
from pyconsul.http.request import BadRequest
from pyconsul.http.response import empty_body, json_body
from pyconsul.net.gossip import JoinFailed
from pyconsul.server.errors import RPCError


class AgentEndpoint:
    def __init__(self, agent, clock):
        self.agent = agent
        self.clock = clock

    def members(self, call):
        members = self.agent.members(wan=call.flag("wan"))
        return json_body(call.request, [member_json(m) for m in members], call.pretty)

    def self(self, call):
        # Go's float formatting: Coord holds the LAN coordinate.
        call.request.setHeader(b"content-type", b"application/json")
        info = self.agent.self_info()
        return (floatjson.marshal(info, "    ") if call.pretty else floatjson.marshal(info)).encode("utf-8")

    def join(self, call, address):
        if not address:
            raise BadRequest("Missing address to join")
        d = self.agent.join([address], wan=True) if call.flag("wan") else self.agent.join([address])
        d.addCallback(lambda joined: empty_body(call.request, 200))
        d.addErrback(self._join_failed)
        return d

    @staticmethod
    def _join_failed(failure):
        failure.trap(JoinFailed, NotAServer)
        if failure.check(NotAServer):
            raise RPCError(str(failure.value))
        raise RPCError("Failed to join %s" % failure.value)

    def leave(self, call):
        d = self.agent.leave()

        def left(_):
            # Answer first, then stop: the client sees its leave succeed.
            self.clock.callLater(0, self.agent.shutdown)
            return empty_body(call.request, 200)

        return d.addCallback(left)

    def force_leave(self, call, node):
        try:
            if call.flag("wan"):
                self.agent.force_leave(node, prune=call.flag("prune"), wan=True)
            else:
                self.agent.force_leave(node, prune=call.flag("prune"))
        except (UnknownMember, NotAServer) as error:
            raise RPCError(str(error))
        return empty_body(call.request, 200)
