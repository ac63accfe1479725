"""make_runner: the runner each kind of check gets, and the warnings Consul logs."""

import random

from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.checks import (
    AliasCheck, CheckDeps, IntervalCheck, InvalidCheckType, TTLCheck, UnsupportedCheck, make_runner)
from pyconsul.agent.definitions import CRITICAL, PASSING, CheckDefinition, parse_service_register
from pyconsul.golang.duration import SECOND

from tests.agent.checkfakes import FakeAgent, FakeConnector, FakeResponse, FakeSpawner


class RunnerTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.http = FakeAgent()
        self.agents_for = []
        self.deps = CheckDeps(clock=self.clock, rng=random.Random(3), http_agents=self.http_agent,
                              tcp=FakeConnector(), spawner=FakeSpawner(), output_limit=100)
        self.reports = []

    def http_agent(self, check):
        self.agents_for.append(check)
        return self.http

    def runner(self, check, **extra):
        return make_runner("c1", check, lambda *r: self.reports.append(r), self.deps, **extra)

    def test_kinds(self):
        periodic = {"interval": 10 * SECOND}
        self.assertIsInstance(self.runner(CheckDefinition(ttl=SECOND)), TTLCheck)
        for fields in ({"http": "http://x/"}, {"tcp": "x:1"}, {"script_args": ["x"]}):
            self.assertIsInstance(self.runner(CheckDefinition(**fields, **periodic)), IntervalCheck)
        self.assertIsInstance(self.runner(CheckDefinition(alias_service="web"), alias_source=object()), AliasCheck)
        for fields in ({"grpc": "x:1"}, {"h2ping": "x:1"}, {"script_args": ["x"], "docker_container_id": "d"}):
            self.assertIsInstance(self.runner(CheckDefinition(**fields, **periodic)), UnsupportedCheck)
        with self.assertRaises(InvalidCheckType) as caught:
            self.runner(CheckDefinition())
        self.assertEqual(str(caught.exception), "Check type is not valid")

    def test_an_http_check_from_registration_to_report(self):
        service = parse_service_register(b'{"Name": "web", "Check": {"HTTP": "http://10.0.0.1/h", "Interval": "10s",'
                                         b' "TLSSkipVerify": true, "OutputMaxSize": 5}}')
        runner = self.runner(service.checks[0])
        self.assertTrue(self.agents_for[0].tls_skip_verify)
        runner.start()
        self.clock.advance(10)
        response = FakeResponse(200)
        self.http.requests[-1]["answer"].callback(response)
        response.send(b"0123456789")
        self.assertEqual(self.reports, [(PASSING, "HTTP GET http://10.0.0.1/h: 200 OK Output: 56789")])
        runner.stop()

    def test_the_agents_output_limit_applies(self):
        runner = self.runner(CheckDefinition(ttl=SECOND))
        runner.start()
        self.assertEqual(runner.set_status(PASSING, "x" * 150), "x" * 100 + " ... (captured 100 of 150 bytes)")

    def test_a_short_interval_runs_every_second_with_a_warning(self):
        with capturedLogs() as events:
            runner = self.runner(CheckDefinition(tcp="db:5432", interval=SECOND // 10,
                                                 deregister_critical_service_after=SECOND))
        messages = [formatEvent(event) for event in events]
        self.assertIn("check has interval below minimum: check c1, minimum_interval 1s", messages)
        self.assertIn("check has deregister interval below minimum: check c1, minimum_interval 1m0s", messages)
        runner.start()
        connector = self.deps.tcp
        self.clock.advance(1)
        connector.attempts[-1][2].callback(None)
        self.clock.advance(1)
        self.assertEqual(len(connector.attempts), 2)
        runner.stop()

    def test_unsupported_kinds_stay_critical_and_say_why(self):
        with capturedLogs() as events:
            runner = self.runner(CheckDefinition(grpc="db:9000", interval=SECOND))
            runner.start()
        self.assertEqual(self.reports, [(CRITICAL, "pyconsul does not run gRPC checks; this check stays critical")])
        self.assertIn("gRPC checks are not supported by pyconsul; check c1 stays critical",
                      [formatEvent(event) for event in events])
        runner.stop()

    def test_a_script_check_runs_its_args(self):
        runner = self.runner(CheckDefinition(script_args=["/bin/check", "--quick"], interval=SECOND))
        runner.start()
        self.clock.advance(1)
        session = self.deps.spawner.sessions[-1]
        self.assertEqual(session.args, ("/bin/check", "--quick"))
        session.output(b"fine")
        session.exit(0)
        self.assertEqual(self.reports, [(PASSING, "fine")])
        runner.stop()

