"""The watch runner on a fake clock: against a scripted getter, and against an
in-memory agent's real HTTP API through StubTreq."""

import json

from treq.testing import StubTreq
from twisted.internet import error as net_error
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template.httpclient import Response
from pyconsul.testing.server import InMemoryServer
from pyconsul.watch.runner import AgentHTTP, RequestFailed, WatchRunner
from pyconsul.watch.spec import parse


class ScriptedGet:
    """Each request gets a Deferred the test fires; cancelling it is recorded."""

    def __init__(self):
        self.requests = []  # (target, Deferred)
        self.cancelled = []

    def __call__(self, request):
        d = Deferred(lambda d: self.cancelled.append(request.target))
        self.requests.append((request.target, d))
        return d

    @property
    def targets(self):
        return [target for target, _ in self.requests]

    def answer(self, index, value, status=200):
        _, d = self.requests[-1]
        d.callback((status, str(index), json.dumps(value).encode()))

    def fail(self, message):
        _, d = self.requests[-1]
        d.errback(RequestFailed(message))


class Handler:
    def __init__(self):
        self.calls = []
        self.held = None  # a Deferred to return from the next call

    def __call__(self, index, result):
        self.calls.append((index, result))
        held, self.held = self.held, None
        return held


def runner_for(params, get, clock, handler, events=None):
    logger = Logger(observer=events.append if events is not None else lambda event: None)
    return WatchRunner(parse(params).query, get, clock, handler, logger=logger)


class WatchRunnerTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.get = ScriptedGet()
        self.handler = Handler()
        self.events = []
        self.runner = runner_for({"type": "nodes"}, self.get, self.clock, self.handler, self.events)

    def test_one_question_at_a_time(self):
        self.runner.start()
        self.assertEqual(self.get.targets, ["/v1/catalog/nodes"])
        self.get.answer(5, [])
        self.assertEqual(self.handler.calls, [(5, [])])
        self.assertEqual(self.get.targets, ["/v1/catalog/nodes", "/v1/catalog/nodes?index=5"])
        # A blocking query that timed out: asked again at once, no handler.
        self.get.answer(5, [])
        self.get.answer(6, [])
        self.assertEqual(self.handler.calls, [(5, [])])
        self.get.answer(7, [{"Node": "a"}])
        self.assertEqual(self.handler.calls, [(5, []), (7, [{"Node": "a"}])])
        self.assertEqual(len(self.get.requests), 5)

    def test_the_next_question_waits_for_the_handler(self):
        self.handler.held = Deferred()
        held = self.handler.held
        self.runner.start()
        self.get.answer(5, [])
        self.assertEqual(len(self.get.requests), 1)
        held.callback(None)
        self.assertEqual(self.get.targets[-1], "/v1/catalog/nodes?index=5")

    def test_a_failing_handler_is_logged_and_the_watch_goes_on(self):
        self.handler.held = fail(ValueError("boom"))
        self.runner.start()
        self.get.answer(5, [])
        self.assertEqual(len(self.get.requests), 2)
        self.assertTrue(any(event.get("log_failure") is not None for event in self.events))

    def test_failures_wait_for_the_back_off(self):
        self.runner.start()
        self.get.fail('Get "http://127.0.0.1:8500/v1/catalog/nodes": EOF')
        error = [event for event in self.events if event.get("error")][-1]
        self.assertEqual((error["type"], error["error"], error["retry"]),
                         ("nodes", 'Get "http://127.0.0.1:8500/v1/catalog/nodes": EOF', 5.0))
        self.clock.advance(4.9)
        self.assertEqual(len(self.get.requests), 1)
        self.clock.advance(0.1)
        self.assertEqual(len(self.get.requests), 2)
        self.get.fail("EOF")
        self.clock.advance(19.9)
        self.assertEqual(len(self.get.requests), 2)
        self.clock.advance(0.1)
        self.get.answer(3, [])
        self.assertEqual(self.handler.calls, [(3, [])])

    def test_an_unexpected_failure_is_a_retry_too(self):
        self.runner.start()
        _, d = self.get.requests[-1]
        d.errback(net_error.ConnectionLost())
        self.clock.advance(5)
        self.assertEqual(len(self.get.requests), 2)

    def test_stop_cancels_the_open_question(self):
        self.runner.start()
        self.runner.stop()
        self.assertEqual(self.get.cancelled, ["/v1/catalog/nodes"])
        self.clock.advance(600)
        self.assertEqual(len(self.get.requests), 1)

    def test_stop_while_backing_off(self):
        self.runner.start()
        self.get.fail("EOF")
        self.runner.stop()
        self.clock.advance(600)
        self.assertEqual(len(self.get.requests), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_while_the_handler_runs(self):
        self.handler.held = Deferred()
        held = self.handler.held
        self.runner.start()
        self.get.answer(5, [])
        self.runner.stop()
        held.callback(None)
        self.assertEqual(len(self.get.requests), 1)


class FakeHTTP:
    def __init__(self, result):
        self.result = result
        self.asked = []

    def get(self, node, target, headers):
        self.asked.append((node.authority, target, headers))
        return self.result() if callable(self.result) else self.result


class AgentHTTPTests(SynchronousTestCase):
    def request(self):
        return parse({"type": "key", "key": "app/x", "token": "t0k"}).query.request(12)

    def test_answers(self):
        http = FakeHTTP(succeed(Response(200, {b"x-consul-index": b"13"}, b"[]")))
        d = AgentHTTP(Clock(), "127.0.0.1", 8500, http=http)(self.request())
        self.assertEqual(self.successResultOf(d), (200, "13", b"[]"))
        authority, target, headers = http.asked[0]
        self.assertEqual((authority, target), ("127.0.0.1:8500", "/v1/kv/app/x?index=12"))
        self.assertIn(("X-Consul-Token", "t0k"), headers)

    def test_failures_in_gos_words(self):
        http = FakeHTTP(lambda: fail(net_error.ConnectionRefusedError()))
        d = AgentHTTP(Clock(), "127.0.0.1", 8500, http=http)(self.request())
        self.assertEqual(str(self.failureResultOf(d, RequestFailed).value),
                         'Get "http://127.0.0.1:8500/v1/kv/app/x?index=12": dial tcp 127.0.0.1:8500: connect: '
                         'connection refused')

    def test_a_request_that_never_ends_is_given_up(self):
        clock = Clock()
        pending = Deferred()
        d = AgentHTTP(clock, "127.0.0.1", 8500, http=FakeHTTP(pending), timeout=30)(self.request())
        clock.advance(30)
        self.assertIn("context deadline exceeded", str(self.failureResultOf(d, RequestFailed).value))


class StubGet:
    """AgentHTTP's answers, from an in-memory agent's HTTP API via StubTreq."""

    def __init__(self, server):
        self.treq = StubTreq(server.http.resource())

    def __call__(self, request):
        d = self.treq.get("http://127.0.0.1:8500" + request.target, headers=dict(request.headers))
        return d.addCallback(self._read)

    def _read(self, response):
        index = response.headers.getRawHeaders("X-Consul-Index", [None])[0]
        return response.content().addCallback(lambda body: (response.code, index, body))


class InMemoryAgentTests(SynchronousTestCase):
    """Watches of a real (in-memory) agent: the HTTP API's shapes and blocking queries."""

    def setUp(self):
        self.server = InMemoryServer()
        self.get = StubGet(self.server)
        self.handler = Handler()

    def pump(self, rounds=30):
        for _ in range(rounds):
            self.server.advance(0.1)
            self.get.treq.flush()

    def write(self, method, path, body=b""):
        answers = []
        self.get.treq.request(method, "http://127.0.0.1:8500" + path, data=body).addCallback(answers.append)
        self.pump()
        self.assertEqual(answers[0].code, 200)

    def start(self, **params):
        runner = WatchRunner(parse(params).query, self.get, self.server.clock, self.handler,
                             logger=Logger(observer=lambda event: None))
        runner.start()
        self.addCleanup(runner.stop)
        self.pump()
        return runner

    def test_a_key(self):
        self.start(type="key", key="app/x")
        [(first_index, first)] = self.handler.calls
        self.assertIsNone(first)
        self.write("PUT", "/v1/kv/app/x", b"bar")
        self.write("PUT", "/v1/kv/other", b"unrelated")
        self.write("PUT", "/v1/kv/app/x", b"baz")
        values = [result and result["Value"] for _, result in self.handler.calls]
        self.assertEqual(values, [None, "YmFy", "YmF6"])
        index, pair = self.handler.calls[-1]
        self.assertEqual(list(pair), ["Key", "CreateIndex", "ModifyIndex", "LockIndex", "Flags", "Value",
                                      "Session"])
        self.assertEqual((pair["Key"], pair["ModifyIndex"]), ("app/x", index))
        self.write("DELETE", "/v1/kv/app/x")
        self.assertIsNone(self.handler.calls[-1][1])

    def test_a_prefix(self):
        self.start(type="keyprefix", prefix="app/")
        self.write("PUT", "/v1/kv/app/a", b"1")
        self.write("PUT", "/v1/kv/app/b", b"2")
        self.assertEqual([[pair["Key"] for pair in result or []] for _, result in self.handler.calls],
                         [[], ["app/a"], ["app/a", "app/b"]])
        self.assertIsNone(self.handler.calls[0][1])  # nothing under the prefix yet: null

    def test_services(self):
        self.start(type="services")
        before = len(self.handler.calls)
        self.write("PUT", "/v1/agent/service/register", json.dumps({"Name": "web", "Tags": ["v1"]}).encode())
        self.assertGreater(len(self.handler.calls), before)
        self.assertEqual(self.handler.calls[-1][1]["web"], ["v1"])
