"""The program's parts that are not in the modes: the sync thread."""

import threading

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template.app import SyncThread


class ReactorThreadCalls:
    """Collects callFromThread calls, to be run by the test as the reactor would."""

    def __init__(self):
        self.calls = []

    def callFromThread(self, function, *args):
        self.calls.append((function, args))

    def run(self):
        for function, args in self.calls:
            function(*args)


class SyncThreadTests(SynchronousTestCase):
    def test_calls_run_in_order_in_the_thread_and_report_on_the_reactor(self):
        reactor = ReactorThreadCalls()
        thread = SyncThread(reactor)
        seen = []

        def work(n):
            seen.append((threading.current_thread().name, n))
            return n * 2

        first, broken, last = thread(work, 1), thread(lambda: 1 / 0), thread(work, 2)
        thread.stop()  # after the calls already queued
        self.assertEqual(seen, [("pyconsul-template-sync", 1), ("pyconsul-template-sync", 2)])
        self.assertNoResult(first)
        reactor.run()
        self.assertEqual((self.successResultOf(first), self.successResultOf(last)), (2, 4))
        self.failureResultOf(broken, ZeroDivisionError)
