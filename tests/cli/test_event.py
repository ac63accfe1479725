"""``pyconsul event``: against the real HTTP API of an in-memory agent, and
against canned answers for the errors; Consul's messages and exit statuses."""

import json

from treq.testing import StubTreq

from pyconsul.cli.http import Response
from pyconsul.testing.server import InMemoryServer

from tests.cli.clitest import CliTestCase, answering, lines, refusing_agent
from tests.cli.test_http import ScriptedTransport
from tests.vectors.targets import run_cli


class InMemoryTransport:
    """The CLI's transport, answered by an InMemoryServer through StubTreq."""

    def __init__(self, server):
        self.server = server
        self.treq = StubTreq(server.http.resource())
        self.requests = []

    def round_trip(self, request):
        self.requests.append(request)
        answers = []
        d = self.treq.request(request.method, "http://127.0.0.1:8500" + request.target, data=request.body or b"",
                              headers={name: [value] for name, value in request.headers}, allow_redirects=False)
        d.addCallback(lambda response: response.content().addCallback(
            lambda body: answers.append(Response(
                response.code, {name.decode().lower(): values[0].decode()
                                for name, values in response.headers.getAllRawHeaders()}, body))))
        self.server.advance()
        self.treq.flush()
        return answers[0]


def scripted(fire_answer):
    """A transport that knows the agent's name and answers the fire with ``fire_answer``."""

    def answer(request):
        if request.target.startswith("/v1/agent/self"):
            return Response(200, {}, json.dumps({"Config": {"NodeName": "n1"}}).encode())
        return fire_answer

    return ScriptedTransport(answer)


class EventCommandTests(CliTestCase):
    command = ("event",)

    def setUp(self):
        self.server = InMemoryServer()
        self.agent = InMemoryTransport(self.server)

    def kept(self):
        return self.server.events.events()

    def test_fires_and_prints_the_id(self):
        status, stdout, stderr = self.run_command("-name=deploy", "v1.2.3")
        [event] = self.kept()
        self.assertEqual((status, stdout, stderr), (0, lines("Event ID: %s" % event.id), b""))
        self.assertEqual((event.name, event.payload), ("deploy", b"v1.2.3"))

    def test_asks_the_agent_for_its_name_first_then_fires(self):
        self.run_command("-name", "deploy", "-node=^node-", "-service=web", "-tag=v1")
        [check, fire] = self.agent.requests
        self.assertEqual((check.method, check.target), ("GET", "/v1/agent/self"))
        self.assertEqual(fire.method, "PUT")
        self.assertEqual(fire.target, "/v1/event/fire/deploy?node=%5Enode-&service=web&tag=v1")
        self.assertIn(("Content-Type", "application/octet-stream"), fire.headers)
        self.assertIsNone(fire.body)

    def test_without_a_payload_the_event_has_none(self):
        self.assertEqual(self.run_command("--name=restart")[0], 0)
        self.assertIsNone(self.kept()[0].payload)

    def test_a_name_is_required(self):
        status, stdout, stderr = self.run_command("payload")
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"Event name must be specified\n\nUsage: pyconsul event [options] [payload]"))
        self.assertEqual(self.agent.requests, [])

    def test_too_many_arguments(self):
        status, _, stderr = self.run_command("-name=x", "a", "b")
        self.assertEqual(status, 1)
        self.assertTrue(stderr.startswith(b"Too many command line arguments.\n\nUsage:"))
        self.assertEqual(self.agent.requests, [])

    def test_a_tag_needs_a_service(self):
        self.assertRun(self.run_command("-name=x", "-tag=v1"), 1,
                       stderr=lines("Cannot provide tag filter without service filter."))

    def test_filters_are_checked_as_go_regular_expressions(self):
        self.assertRun(self.run_command("-name=x", "-node=("), 1, stderr=lines(
            "Failed to compile node filter regexp: error parsing regexp: missing closing ): `(`"))
        self.assertRun(self.run_command("-name=x", "-service=a**"), 1, stderr=lines(
            "Failed to compile service filter regexp: error parsing regexp: invalid nested repetition operator: `**`"))
        self.assertRun(self.run_command("-name=x", "-service=a", "-tag=[b-a]"), 1, stderr=lines(
            "Failed to compile tag filter regexp: error parsing regexp: invalid character class range: `b-a`"))
        self.assertEqual(self.agent.requests, [])

    def test_an_event_too_large(self):
        self.assertRun(self.run_command("-name=x", "y" * 600), 1, stderr=lines(
            "Error firing event: Unexpected response code: 500 "
            "(user event exceeds configured limit of 512 bytes before encoding)"))

    def test_unreachable_agent(self):
        self.assertRun(self.run_command("-name=x", agent=refusing_agent()), 1, stderr=lines(
            'Error querying Consul agent: Get "http://127.0.0.1:8500/v1/agent/self": '
            "dial tcp 127.0.0.1:8500: connect: connection refused"))

    def test_permission_denied(self):
        self.assertRun(self.run_command("-name=x", agent=answering(403, b"Permission denied")), 1,
                       stderr=lines("Error querying Consul agent: Unexpected response code: 403 (Permission denied)"))

    def test_fire_refused(self):
        transport = scripted(Response(500, {}, b"No known Consul servers"))
        self.assertRun(self.run_command("-name=x", agent=transport), 1, stderr=lines(
            "Error firing event: Unexpected response code: 500 (No known Consul servers)"))

    def test_address_and_token(self):
        transport = scripted(Response(200, {}, b'{"ID": "abc", "Name": "x"}'))
        self.assertRun(self.run_command("-http-addr=10.0.0.9:8500", "-token=t0k", "-name=x", agent=transport), 0,
                       lines("Event ID: abc"))
        fire = transport.requests[1]
        self.assertEqual(fire.url, "http://10.0.0.9:8500/v1/event/fire/x")
        self.assertIn(("X-Consul-Token", "t0k"), fire.headers)

    def test_bad_client_settings(self):
        self.assertRun(self.run_command("-name=x", environ={"CONSUL_HTTP_ADDR": "ftp://x:1"}), 1,
                       stderr=lines("Error connecting to Consul agent: Unknown protocol scheme: ftp"))

    def test_flags(self):
        self.assertUsageError(self.run_command("-datacenter=dc2", "-name=x"),
                              "flag provided but not defined: -datacenter")
        self.assertUsageError(self.run_command("-name"), "flag needs an argument: -name")

    def test_help(self):
        status, stdout, stderr = self.run_command("-help")
        self.assertEqual((status, stderr), (0, b""))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul event [options] [payload]\n"))
        for flag in (b"-name=<string>", b"-node=<string>", b"-service=<string>", b"-tag=<string>",
                     b"-http-addr=<address>"):
            self.assertIn(b"\n  " + flag + b"\n", stdout)

    def test_listed_among_the_commands(self):
        status, stdout, _ = run_cli(["--help"], self.agent)
        self.assertEqual(status, 0)
        self.assertIn(b"    event          Fires a new user event\n", stdout)
