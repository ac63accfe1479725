"""A test case around one in-memory server (pyconsul.testing.server): calls
its RPC endpoints and lets virtual time run until they answer."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.server.errors import RPCError
from pyconsul.testing.server import InMemoryServer


class ServerTestCase(SynchronousTestCase):
    def setUp(self):
        self.agent = InMemoryServer()
        self.endpoints = self.agent.endpoints
        self.store = self.agent.fsm.store

    def call(self, method, args):
        d = self.endpoints.call(method, args)
        self.agent.advance()
        return self.successResultOf(d)

    def refusal(self, method, args):
        """The RPCError the call fails with."""
        d = self.endpoints.call(method, args)
        self.agent.advance()
        return self.failureResultOf(d, RPCError).value

    def error(self, method, args):
        """The text of the RPCError the call fails with."""
        return self.refusal(method, args).message
