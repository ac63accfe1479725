"""AgentService's signals and stop sequence, with a fake reactor and agent."""

import signal

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from pyconsul import config as agent_config
from pyconsul.service import AgentService


class FakeAgent:
    def __init__(self):
        self.left = False
        self.leaves = []

    def leave(self):
        self.left = True
        d = Deferred()
        self.leaves.append(d)
        return d


class FakeReactor(Clock):
    """Runs callFromThread at once and records what the real handlers would do."""

    def __init__(self):
        super().__init__()
        self.handled = []

    def callFromThread(self, function, *args):
        function(*args)

    def sigInt(self, number, frame=None):
        self.handled.append("SIGINT")

    def sigTerm(self, number, frame=None):
        self.handled.append("SIGTERM")


def client_config(**changes):
    config, _ = agent_config.build_from_flags({"dev": True})
    return attrs.evolve(config, server=False, skip_leave_on_interrupt=False, leave_on_terminate=True, **changes)


class SignalTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = FakeReactor()
        self.agent = FakeAgent()
        self.reloads = []
        self.service = AgentService(client_config(), self.reactor, agent=self.agent, reload=self.reload)
        self.service.running = True  # as started: it has no children to start here

    def reload(self):
        self.reloads.append(True)
        return "log level info"

    def test_handlers_are_taken_even_over_ignored_signals(self):
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        for number in previous:
            self.addCleanup(signal.signal, number, previous[number])
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.service.take_signals(self.reactor)
        for number in previous:
            self.assertTrue(callable(signal.getsignal(number)), number)
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        self.assertEqual((self.service.stop_reason, self.reactor.handled), ("interrupt", ["SIGINT"]))

    def test_sigterm_is_a_terminate(self):
        self.service.signalled(signal.SIGTERM, self.reactor)
        self.assertEqual((self.service.stop_reason, self.reactor.handled), ("terminate", ["SIGTERM"]))
        self.assertTrue(self.service.should_leave())

    def test_sighup_reloads_and_does_not_stop(self):
        self.service.signalled(signal.SIGHUP, self.reactor)
        self.assertEqual((self.reloads, self.reactor.handled, self.service.stop_reason), ([True], [], None))

    def test_a_failed_reload_is_logged_and_the_agent_goes_on(self):
        def bad():
            raise agent_config.ConfigError("config file x.json: invalid JSON at line 1 column 2: oops")

        self.service.reload = bad
        with capturedLogs() as events:
            self.service.signalled(signal.SIGHUP, self.reactor)
        self.assertIn("Failed to reload the configuration: config file x.json: invalid JSON",
                      [formatEvent(event) for event in events][-1])
        self.assertEqual((self.reactor.handled, self.service.running), ([], True))

    def test_a_second_signal_ends_the_wait_for_the_leave(self):
        self.service.signalled(signal.SIGINT, self.reactor)
        stopped = self.service.stopService()
        self.assertEqual(len(self.agent.leaves), 1)
        self.assertNoResult(stopped)
        self.service.signalled(signal.SIGINT, self.reactor)
        self.successResultOf(stopped)
        self.assertEqual(self.reactor.handled, ["SIGINT"])  # the reactor is stopped once
        self.agent.leaves[0].callback(None)  # a leave that ends later changes nothing

    def test_the_leave_is_waited_for_otherwise(self):
        self.service.signalled(signal.SIGINT, self.reactor)
        stopped = self.service.stopService()
        self.assertNoResult(stopped)
        self.agent.leaves[0].callback(None)
        self.successResultOf(stopped)

    def test_a_leave_that_never_ends_is_given_up(self):
        self.service.signalled(signal.SIGTERM, self.reactor)
        stopped = self.service.stopService()
        self.reactor.advance(AgentService.LEAVE_TIMEOUT + 1)
        self.successResultOf(stopped)

    def test_a_second_signal_before_the_stop_begins_skips_the_leave(self):
        self.service.signalled(signal.SIGINT, self.reactor)
        self.service.signalled(signal.SIGINT, self.reactor)
        self.successResultOf(self.service.stopService())
        self.assertEqual(self.agent.leaves, [])

    def test_a_signal_after_an_api_leave_does_not_stop_twice(self):
        self.agent.leave().callback(None)
        self.service.signalled(signal.SIGINT, self.reactor)
        self.assertEqual(self.reactor.handled, [])
        self.successResultOf(self.service.stopService())
