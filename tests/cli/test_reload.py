"""``pyconsul reload``: one PUT, Consul's line on success, its errors and exit statuses."""

from tests.cli.clitest import CliTestCase, answering, lines, refusing_agent


class ReloadTests(CliTestCase):
    command = ("reload",)

    def test_triggers_a_reload(self):
        self.assertRun(self.run_command(), 0, lines("Configuration reload triggered"))
        self.assertEqual(self.paths(), [("PUT", "/v1/agent/reload")])
        self.assertEqual(self.agent.local.reloads, 1)

    def test_the_agent_fails_to_reload(self):
        self.agent.local.reload_error = "Failed reloading services: service \"web\": invalid port"
        self.assertRun(self.run_command(), 1, stderr=(
            b"Error reloading: Unexpected response code: 500 "
            b"(Failed reloading services: service \"web\": invalid port)\n"))
        self.assertEqual(self.agent.local.reloads, 0)

    def test_permission_denied(self):
        self.assertRun(self.run_command(agent=answering(403, b"Permission denied")), 1,
                       stderr=b"Error reloading: Unexpected response code: 403 (Permission denied)\n")

    def test_unreachable_agent(self):
        self.assertRun(self.run_command(agent=refusing_agent()), 1, stderr=(
            b'Error reloading: Put "http://127.0.0.1:8500/v1/agent/reload": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_address_and_token(self):
        transport = answering(200, b"")
        self.assertEqual(self.run_command("--http-addr", "10.0.0.9:8500", "-token=t0k", agent=transport)[0], 0)
        request = transport.requests[0]
        self.assertEqual((request.method, request.url), ("PUT", "http://10.0.0.9:8500/v1/agent/reload"))
        self.assertIn(("X-Consul-Token", "t0k"), request.headers)

    def test_bad_client_settings(self):
        self.assertRun(self.run_command(environ={"CONSUL_HTTP_ADDR": "ftp://x:1"}), 1,
                       stderr=b"Error connecting to Consul agent: Unknown protocol scheme: ftp\n")
        self.assertEqual(self.agent.requests, [])

    def test_arguments_are_ignored_as_by_consul(self):
        self.assertRun(self.run_command("now", "please"), 0, lines("Configuration reload triggered"))

    def test_flags(self):
        self.assertUsageError(self.run_command("-datacenter=dc2"), "flag provided but not defined: -datacenter")
        self.assertUsageError(self.run_command("-token"), "flag needs an argument: -token")
        self.assertEqual(self.agent.requests, [])

    def test_help(self):
        status, stdout, stderr = self.run_command("-help")
        self.assertEqual((status, stderr), (0, b""))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul reload [options]\n"))
        self.assertIn(b"\n  -http-addr=<address>\n", stdout)
        self.assertNotIn(b"-stale", stdout)

    def test_wrong_method_is_refused_by_the_fake_as_by_consul(self):
        """The fake agent's reload endpoint takes only PUT, as Consul's does."""
        self.assertEqual(self.agent.handle("GET", "/v1/agent/reload")[:1], (405,))
