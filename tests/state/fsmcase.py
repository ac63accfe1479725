"""A test case holding a state machine on a fake clock, applying commands at
consecutive log indexes and firing the watches they wake, as the Raft driver
does after each entry."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.state.store import FSM


class FSMTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.fsm = FSM(clock=self.clock)
        self.store = self.fsm.store
        self.index = 0

    def apply(self, data):
        self.index += 1
        result = self.fsm.apply(self.index, data)
        self.fsm.notify()
        return result
