"""``pyconsul maint``: enabling, disabling and listing maintenance mode, with
Consul 1.10's lines, errors and exit statuses."""

import json

from pyconsul.cli.http import Response

from tests.cli.clitest import CliTestCase, answering, lines, refusing_agent
from tests.cli.fakecatalog import DEFAULT_NODE_REASON, DEFAULT_SERVICE_REASON
from tests.cli.test_http import ScriptedTransport


class MaintTestCase(CliTestCase):
    command = ("maint",)

    def setUp(self):
        super().setUp()
        self.agent.local.services["web-1"] = {"ID": "web-1", "Name": "web", "Tags": ["v1"]}
        self.agent.local.services["db"] = {"Name": "db"}

    def maintenance_checks(self):
        return {check_id: check["Notes"] for check_id, check in self.agent.local.checks.items()}


class NodeTests(MaintTestCase):
    def test_enable_with_a_reason(self):
        self.assertRun(self.run_command("-enable", "-reason=kernel upgrade"), 0,
                       lines("Node maintenance is now enabled"))
        self.assertEqual(self.paths(), [("GET", "/v1/agent/self"),
                                        ("PUT", "/v1/agent/maintenance?enable=true&reason=kernel+upgrade")])
        self.assertEqual(self.maintenance_checks(), {"_node_maintenance": "kernel upgrade"})

    def test_enable_without_a_reason_still_sends_an_empty_one(self):
        self.assertRun(self.run_command("-enable"), 0, lines("Node maintenance is now enabled"))
        self.assertEqual(self.paths()[-1], ("PUT", "/v1/agent/maintenance?enable=true&reason="))
        self.assertEqual(self.maintenance_checks(), {"_node_maintenance": DEFAULT_NODE_REASON})

    def test_disable(self):
        self.run_command("-enable")
        self.assertRun(self.run_command("-disable"), 0, lines("Node maintenance is now disabled"))
        self.assertEqual(self.paths()[-1], ("PUT", "/v1/agent/maintenance?enable=false"))
        self.assertEqual(self.maintenance_checks(), {})
        # Disabling what is not enabled is no error.
        self.assertRun(self.run_command("-disable"), 0, lines("Node maintenance is now disabled"))

    def test_enable_refused(self):
        self.agent.overrides[("PUT", "/v1/agent/maintenance")] = (403, {}, b"Permission denied")
        self.assertRun(self.run_command("-enable"), 1, stderr=(
            b"Error enabling node maintenance: Unexpected response code: 403 (Permission denied)\n"))
        self.assertRun(self.run_command("-disable"), 1, stderr=(
            b"Error disabling node maintenance: Unexpected response code: 403 (Permission denied)\n"))


class ServiceTests(MaintTestCase):
    def test_enable_and_disable(self):
        self.assertRun(self.run_command("-enable", "-service=web-1", "-reason", "canary"), 0,
                       lines('Service maintenance is now enabled for "web-1"'))
        self.assertEqual(self.paths()[-1],
                         ("PUT", "/v1/agent/service/maintenance/web-1?enable=true&reason=canary"))
        self.assertEqual(self.maintenance_checks(), {"_service_maintenance:web-1": "canary"})
        self.assertRun(self.run_command("-disable", "-service=web-1"), 0,
                       lines('Service maintenance is now disabled for "web-1"'))
        self.assertEqual(self.paths()[-1], ("PUT", "/v1/agent/service/maintenance/web-1?enable=false"))
        self.assertEqual(self.maintenance_checks(), {})

    def test_default_reason(self):
        self.run_command("-enable", "-service=db")
        self.assertEqual(self.maintenance_checks(), {"_service_maintenance:db": DEFAULT_SERVICE_REASON})

    def test_service_id_is_quoted_as_go_quotes_it(self):
        self.agent.local.services['a "b"\tc'] = {"Name": "odd"}
        self.assertRun(self.run_command("-enable", '-service=a "b"\tc'), 0,
                       lines('Service maintenance is now enabled for "a \\"b\\"\\tc"'))
        self.assertEqual(self.paths()[-1],
                         ("PUT", "/v1/agent/service/maintenance/a%20%22b%22%09c?enable=true&reason="))

    def test_unknown_service(self):
        self.assertRun(self.run_command("-enable", "-service=nope"), 1, stderr=(
            b'Error enabling service maintenance: Unexpected response code: 404 '
            b'(No service registered with ID "nope")\n'))
        self.assertRun(self.run_command("-disable", "-service=nope"), 1, stderr=(
            b'Error disabling service maintenance: Unexpected response code: 404 '
            b'(No service registered with ID "nope")\n'))


class ListingTests(MaintTestCase):
    def test_nothing_in_maintenance_prints_nothing(self):
        self.assertRun(self.run_command(), 0)
        self.assertEqual(self.paths(), [("GET", "/v1/agent/self"), ("GET", "/v1/agent/checks")])

    def test_node_and_services(self):
        self.run_command("-enable", "-reason=rack move")
        self.run_command("-enable", "-service=web-1", "-reason=canary")
        self.run_command("-enable", "-service=db")
        self.agent.local.checks["service:web-1"] = dict(self.agent.local.checks["_node_maintenance"],
                                                        CheckID="service:web-1", Notes="not maintenance")
        self.assertRun(self.run_command(), 0, lines(
            "Node:",
            "  Name:   fake-agent",
            "  Reason: rack move",
            "",
            "Service:",
            "  ID:     db",
            "  Reason: " + DEFAULT_SERVICE_REASON,
            "",
            "Service:",
            "  ID:     web-1",
            "  Reason: canary",
            "",
        ))

    def test_node_name_comes_from_the_agent(self):
        self.agent.local.node_name = "edge-7"
        self.run_command("-enable")
        status, stdout, _ = self.run_command()
        self.assertEqual(stdout.splitlines()[1], b"  Name:   edge-7")

    def test_checks_unavailable(self):
        self.agent.overrides[("GET", "/v1/agent/checks")] = (500, {}, b"internal error")
        self.assertRun(self.run_command(), 1,
                       stderr=b"Error getting checks: Unexpected response code: 500 (internal error)\n")

    def test_checks_answer_that_does_not_decode(self):
        self.agent.overrides[("GET", "/v1/agent/checks")] = (200, {}, b'{"x": {"Notes": 5}}')
        self.assertRun(self.run_command(), 1, stderr=(
            b"Error getting checks: json: cannot unmarshal number into Go struct field "
            b"AgentCheck.Notes of type string\n"))


class AgentErrorTests(MaintTestCase):
    def test_unreachable_agent(self):
        for argv in ([], ["-enable"], ["-disable", "-service=web-1"]):
            self.assertRun(self.run_command(*argv, agent=refusing_agent()), 1, stderr=(
                b'Error querying Consul agent: Get "http://127.0.0.1:8500/v1/agent/self": '
                b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_self_refused(self):
        self.assertRun(self.run_command("-enable", agent=answering(403, b"Permission denied")), 1,
                       stderr=b"Error querying Consul agent: Unexpected response code: 403 (Permission denied)\n")
        self.assertRun(self.run_command(agent=answering(200, b"[]")), 1, stderr=(
            b"Error querying Consul agent: json: cannot unmarshal array into Go value of type "
            b"map[string]map[string]interface {}\n"))

    def test_requests_carry_the_token(self):
        def answer(request):
            if request.target.startswith("/v1/agent/self"):
                return Response(200, {}, json.dumps({"Config": {"NodeName": "n"}}).encode())
            return Response(200, {}, b"")

        transport = ScriptedTransport(answer)
        self.assertEqual(self.run_command("-enable", "-token=s3cret", agent=transport)[0], 0)
        self.assertEqual([request.method for request in transport.requests], ["GET", "PUT"])
        for request in transport.requests:
            self.assertIn(("X-Consul-Token", "s3cret"), request.headers)


class FlagTests(MaintTestCase):
    def test_conflicting_flags(self):
        for argv, message in [
            (["-enable", "-disable"], b"Only one of -enable or -disable may be provided\n"),
            (["-disable", "-reason=x"], b"Reason may only be provided with -enable\n"),
            (["-reason=x"], b"Reason may only be provided with -enable\n"),
            (["-service=web-1"], b"Service requires either -enable or -disable\n"),
        ]:
            self.assertRun(self.run_command(*argv), 1, stderr=message)
        self.assertEqual(self.agent.requests, [])

    def test_empty_reason_without_enable_is_no_reason(self):
        self.assertRun(self.run_command("-disable", "-reason="), 0, lines("Node maintenance is now disabled"))

    def test_boolean_values(self):
        self.assertRun(self.run_command("-enable=false"), 0)  # a listing
        self.assertUsageError(self.run_command("-enable=yes"), 'invalid boolean value "yes" for -enable: parse error')
        self.assertUsageError(self.run_command("-datacenter=dc1"), "flag provided but not defined: -datacenter")

    def test_arguments_are_ignored_as_by_consul(self):
        self.assertRun(self.run_command("-enable", "now"), 0, lines("Node maintenance is now enabled"))

    def test_help(self):
        status, stdout, stderr = self.run_command("-h")
        self.assertEqual((status, stderr), (0, b""))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul maint [options]\n"))
        for flag in (b"-enable", b"-disable", b"-reason=<string>", b"-service=<string>", b"-token=<value>"):
            self.assertIn(b"\n  " + flag + b"\n", stdout)
