"""Alias checks: following another service's or node's health."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.checks.alias import AliasCheck, aliased_status
from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING


def check(name, status, service_id="", node="n1", output="", service_name=None):
    return {"Node": node, "CheckID": name, "Name": name, "Status": status, "Output": output,
            "ServiceID": service_id, "ServiceName": service_name if service_name is not None else service_id}


def exists(*ids):
    return lambda service_id: service_id in ids


class AliasedStatusTests(SynchronousTestCase):
    def test_worst_status_wins(self):
        checks = [check("a", PASSING, "web"), check("b", WARNING, "web", output="slow"),
                  check("c", PASSING, "web")]
        self.assertEqual(aliased_status(checks, "", "web", exists("web")),
                         (WARNING, 'Aliased check "b" failing: slow'))
        checks.append(check("d", CRITICAL, "web", output="down"))
        self.assertEqual(aliased_status(checks, "", "web", exists("web")),
                         (CRITICAL, 'Aliased check "d" failing: down'))

    def test_all_passing_and_none_at_all(self):
        self.assertEqual(aliased_status([check("a", PASSING, "web")], "", "web", exists("web")),
                         (PASSING, "All checks passing."))
        self.assertEqual(aliased_status([], "", "web", exists("web")), (PASSING, "No checks found."))

    def test_a_missing_service(self):
        self.assertEqual(aliased_status([], "", "web", exists()),
                         (CRITICAL, "Service web could not be found on node "))
        self.assertEqual(aliased_status([check("n", PASSING)], "n2", "web", exists()),
                         (CRITICAL, "Service web could not be found on node n2"))

    def test_node_checks_count_and_other_services_do_not(self):
        checks = [check("web-ok", PASSING, "web"), check("db-down", CRITICAL, "db"), check("maint", CRITICAL)]
        self.assertEqual(aliased_status(checks, "", "web", exists("web")),
                         (CRITICAL, 'Aliased check "maint" failing: '))
        self.assertEqual(aliased_status(checks[:2], "", "web", exists("web")), (PASSING, "All checks passing."))

    def test_a_node_alias_matches_node_names_without_case(self):
        checks = [check("serfHealth", CRITICAL, node="N2", output="Agent not live or unreachable"),
                  check("other", PASSING, node="n3"), check("svc", CRITICAL, "web", node="n2")]
        self.assertEqual(aliased_status(checks, "n2", "", exists()),
                         (CRITICAL, 'Aliased check "serfHealth" failing: Agent not live or unreachable'))

    def test_checks_registered_through_the_catalog_without_an_id(self):
        # Consul compares the service's compound ID: the ID, else the name.
        self.assertEqual(aliased_status([check("x", WARNING, "", service_name="web")], "", "web", exists()),
                         (WARNING, 'Aliased check "x" failing: '))


class _Source:
    def __init__(self, checks):
        self.current = checks
        self.subscribers = []

    def checks(self):
        return list(self.current)

    def service_exists(self, service_id):
        return service_id == "web"

    def subscribe(self, callback):
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def change(self, checks):
        self.current = checks
        for callback in list(self.subscribers):
            callback()


class AliasCheckTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.source = _Source([check("a", PASSING, "web")])
        self.reports = []
        self.alias = AliasCheck("alias", "", "web", self.source, lambda *r: self.reports.append(r), self.clock)

    def test_follows_changes_from_the_start(self):
        self.alias.start()
        self.assertEqual(self.reports, [(PASSING, "All checks passing.")])
        self.source.change([check("a", CRITICAL, "web", output="no")])
        self.assertEqual(self.reports[-1], (CRITICAL, 'Aliased check "a" failing: no'))

    def test_looks_again_every_minute(self):
        self.alias.start()
        self.source.current = [check("a", WARNING, "web")]  # a change that was not announced
        self.clock.advance(59)
        self.assertEqual(len(self.reports), 1)
        self.clock.advance(1)
        self.assertEqual(self.reports[-1], (WARNING, 'Aliased check "a" failing: '))

    def test_source_failures(self):
        self.alias.start()
        self.alias.source_failed("rpc error: no leader")
        self.assertEqual(self.reports[-1],
                         (CRITICAL, "Failure checking aliased node or service: rpc error: no leader"))

    def test_stop(self):
        self.alias.start()
        self.alias.stop()
        self.assertEqual(self.source.subscribers, [])
        self.source.change([check("a", CRITICAL, "web")])
        self.alias.source_failed("x")
        self.clock.advance(120)
        self.assertEqual(len(self.reports), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
