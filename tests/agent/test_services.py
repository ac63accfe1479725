"""The agent's services and checks: persistence, config files, reaping, alias checks."""

import json
import random

import attr
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.checks import CheckDeps
from pyconsul.agent.definitions import parse_check_register, parse_service_register, read_definitions
from pyconsul.agent.local import LocalState
from pyconsul.agent.services import AgentServices
from pyconsul.config import build


class Catalogless:
    """No servers: these tests look at the agent's own state."""

    def call(self, method, args):
        from twisted.internet.defer import Deferred

        return Deferred()  # never answers


def body(value):
    return json.dumps(value).encode()


class ServicesTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.data_dir = self.mktemp()
        config, _ = build({"node_name": "n1", "data_dir": self.data_dir}, hostname="n1")
        self.config = config

    def make(self, config=None):
        config = config or self.config
        local = LocalState(lambda: {"Node": "n1"}, Catalogless(), self.clock, random.Random(0))
        services = AgentServices(config, local, CheckDeps(self.clock, random.Random(0)), self.clock,
                                 data_dir=config.data_dir)
        self.addCleanup(services.stop)
        return services

    def register(self, services, value):
        raw = body(value)
        services.add_service(parse_service_register(raw), body=raw)

    def status(self, services, check_id):
        record = services.local.live_checks()[check_id]
        return record["Status"], record["Output"]


class PersistenceTests(ServicesTestCase):
    def test_registrations_and_ttl_state_survive_a_restart(self):
        first = self.make()
        first.start()
        self.register(first, {"Name": "web", "Port": 80, "Check": {"TTL": "60s"}})
        raw = body({"Name": "mem", "TTL": "60s"})
        first.add_check(parse_check_register(raw), body=raw)
        first.update_ttl("service:web", "passing", "up")
        first.stop()
        second = self.make()
        second.start()
        self.assertEqual(sorted(second.services), ["web"])
        self.assertEqual(sorted(second.checks), ["mem", "service:web"])
        self.assertEqual(self.status(second, "service:web"), ("passing", "up"))
        self.assertEqual(self.status(second, "mem"), ("critical", ""))

    def test_an_expired_ttl_state_is_not_restored(self):
        first = self.make()
        first.start()
        self.register(first, {"Name": "web", "Check": {"TTL": "10s"}})
        first.update_ttl("service:web", "passing", "up")
        first.stop()
        self.clock.advance(11)
        second = self.make()
        second.start()
        self.assertEqual(self.status(second, "service:web"), ("critical", ""))

    def test_a_deregistered_service_stays_gone(self):
        first = self.make()
        first.start()
        self.register(first, {"Name": "web", "Check": {"TTL": "10s"}})
        first.remove_service("web")
        first.stop()
        second = self.make()
        second.start()
        self.assertEqual((second.services, second.checks), ({}, {}))

    def test_a_damaged_file_is_skipped(self):
        first = self.make()
        first.start()
        self.register(first, {"Name": "web"})
        first.stop()
        import os

        directory = os.path.join(self.data_dir, "services")
        with open(os.path.join(directory, "broken"), "w") as f:
            f.write("{not json")
        second = self.make()
        second.start()
        self.assertEqual(sorted(second.services), ["web"])


class FileTests(ServicesTestCase):
    def definitions(self, value):
        return read_definitions(value, "web.json")

    def test_reload_adds_changes_and_removes_what_the_files_define(self):
        services = self.make()
        services.start()
        self.register(services, {"Name": "api-registered"})
        found = self.definitions({"services": [{"name": "web", "port": 80}, {"name": "db", "port": 5432}],
                                  "check": {"id": "disk", "ttl": "30s"}})
        services.load_files(found.services, found.checks)
        self.assertEqual(sorted(services.services), ["api-registered", "db", "web"])
        found = self.definitions({"service": {"name": "web", "port": 8080}})
        services.load_files(found.services, found.checks)
        self.assertEqual(sorted(services.services), ["api-registered", "web"])
        self.assertEqual(services.agent_service("web").port, 8080)
        self.assertNotIn("disk", services.checks)

    def test_local_script_checks_run_only_when_allowed(self):
        found = self.definitions({"check": {"id": "s", "args": ["/bin/true"], "interval": "10s"}})
        services = self.make()
        services.load_files(found.services, found.checks)
        self.assertNotIn("s", services.checks)  # refused, logged
        allowed = self.make(attr.evolve(self.config, enable_local_script_checks=True))
        allowed.load_files(found.services, found.checks)
        self.assertIn("s", allowed.checks)


class ReapTests(ServicesTestCase):
    def test_a_service_critical_for_too_long_is_deregistered(self):
        services = self.make()
        services.start()
        self.register(services, {"Name": "web", "Check": {"TTL": "10s", "DeregisterCriticalServiceAfter": "1m",
                                                           "Status": "passing"}})
        self.clock.advance(10)  # the TTL runs out: critical from now
        self.clock.advance(60)
        self.assertIn("web", services.services)
        self.clock.advance(30)
        self.assertNotIn("web", services.services)


class AliasTests(ServicesTestCase):
    def test_an_alias_follows_a_local_service(self):
        services = self.make()
        services.start()
        self.register(services, {"Name": "web", "Check": {"TTL": "10s", "Status": "passing"}})
        raw = body({"Name": "web-alias", "AliasService": "web"})
        services.add_check(parse_check_register(raw), body=raw)
        self.assertEqual(self.status(services, "web-alias")[0], "passing")
        services.update_ttl("service:web", "critical", "down")
        self.assertEqual(self.status(services, "web-alias")[0], "critical")
