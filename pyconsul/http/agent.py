"""/v1/agent: this agent's members, its own description, and membership
commands (join, leave, force-leave)."""

from pyconsul.agent.agent import UnknownMember, member_json
from pyconsul.http.request import BadRequest
from pyconsul.http.response import empty_body, json_body
from pyconsul.net.gossip import JoinFailed
from pyconsul.server.errors import RPCError

WAN_UNSUPPORTED = "WAN gossip is not supported by this version of pyconsul"


class AgentEndpoint:
    def __init__(self, agent, clock):
        self.agent = agent
        self.clock = clock

    def _refuse_wan(self, call):
        if call.flag("wan"):
            raise BadRequest(WAN_UNSUPPORTED)

    def members(self, call):
        self._refuse_wan(call)
        return json_body(call.request, [member_json(m) for m in self.agent.members()], call.pretty)

    def self(self, call):
        return json_body(call.request, self.agent.self_info(), call.pretty)

    def join(self, call, address):
        self._refuse_wan(call)
        if not address:
            raise BadRequest("Missing address to join")
        d = self.agent.join([address])
        d.addCallback(lambda joined: empty_body(call.request, 200))
        d.addErrback(self._join_failed)
        return d

    @staticmethod
    def _join_failed(failure):
        failure.trap(JoinFailed)
        raise RPCError("Failed to join %s" % failure.value)

    def leave(self, call):
        d = self.agent.leave()

        def left(_):
            # Answer first, then stop: the client sees its leave succeed.
            self.clock.callLater(0, self.agent.shutdown)
            return empty_body(call.request, 200)

        return d.addCallback(left)

    def force_leave(self, call, node):
        self._refuse_wan(call)
        try:
            self.agent.force_leave(node, prune=call.flag("prune"))
        except UnknownMember as error:
            raise RPCError(str(error))
        return empty_body(call.request, 200)
