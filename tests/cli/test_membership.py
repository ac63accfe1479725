"""``pyconsul join``, ``leave``, ``force-leave`` and ``keygen``."""

import base64

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli import keygen
from pyconsul.cli.http import Response, TransportError

from tests.cli.fakeagent import JOIN_REFUSED, FakeAgent, member
from tests.vectors.targets import run_cli
from tests.cli.test_http import ScriptedTransport
from tests.cli.test_main import run_python

REFUSED = TransportError("dial tcp 127.0.0.1:8500: connect: connection refused")


class CommandTestCase(SynchronousTestCase):
    def setUp(self):
        self.agent = FakeAgent()

    def run_command(self, *argv, agent=None, environ=None):
        return run_cli(list(argv), agent or self.agent, environ=environ)

    def assertRun(self, result, status, stdout=b"", stderr=b""):
        self.assertEqual(result, (status, stdout, stderr))

    def sent(self):
        return [(method, target) for method, target, _ in self.agent.requests]


class JoinTests(CommandTestCase):
    def test_join_one(self):
        self.assertRun(self.run_command("join", "127.0.0.2"), 0,
                       b"Successfully joined cluster by contacting 1 nodes.\n")
        self.assertEqual(self.agent.joined, [("127.0.0.2", False)])
        self.assertEqual(self.sent(), [("PUT", "/v1/agent/join/127.0.0.2")])

    def test_join_several_over_wan(self):
        self.assertRun(self.run_command("join", "-wan", "10.1.0.1", "[2001:db8::1]:8302"), 0,
                       b"Successfully joined cluster by contacting 2 nodes.\n")
        self.assertEqual(self.agent.joined, [("10.1.0.1", True), ("[2001:db8::1]:8302", True)])
        self.assertEqual(self.sent(), [("PUT", "/v1/agent/join/10.1.0.1?wan=1"),
                                       ("PUT", "/v1/agent/join/%5B2001:db8::1%5D:8302?wan=1")])

    def test_some_addresses_fail(self):
        self.agent.join_errors["10.0.0.9"] = JOIN_REFUSED % ("10.0.0.9", "10.0.0.9:8301")
        self.assertRun(self.run_command("join", "10.0.0.2", "10.0.0.9", "10.0.0.3"), 0,
                       b"Successfully joined cluster by contacting 2 nodes.\n",
                       b"Error joining address '10.0.0.9': Unexpected response code: 500 (1 error occurred:\n"
                       b"\t* Failed to join 10.0.0.9: dial tcp 10.0.0.9:8301: connect: connection refused\n\n)\n")

    def test_every_address_fails(self):
        self.agent.join_errors = {"a": "no a", "b": "no b"}
        self.assertRun(self.run_command("join", "a", "b"), 1, stderr=(
            b"Error joining address 'a': Unexpected response code: 500 (no a)\n"
            b"Error joining address 'b': Unexpected response code: 500 (no b)\n"
            b"Failed to join any nodes.\n"))

    def test_unreachable_agent(self):
        refused = ScriptedTransport(lambda request: REFUSED)
        self.assertRun(self.run_command("join", "10.0.0.2", agent=refused), 1, stderr=(
            b"Error joining address '10.0.0.2': Put \"http://127.0.0.1:8500/v1/agent/join/10.0.0.2\": "
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"
            b"Failed to join any nodes.\n"))

    def test_no_address(self):
        status, stdout, stderr = self.run_command("join")
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"At least one address to join must be specified.\n\n"
                                          b"Usage: pyconsul join [options] ADDRESS...\n"))
        self.assertIn(b"\n  -wan\n", stderr)
        self.assertEqual(self.agent.requests, [])

    def test_flag_error_and_bad_settings(self):
        status, _, stderr = self.run_command("join", "-wan=maybe", "x")
        self.assertEqual((status, stderr.splitlines()[0]),
                         (1, b'invalid boolean value "maybe" for -wan: parse error'))
        self.assertRun(self.run_command("join", "x", environ={"CONSUL_HTTP_ADDR": "ftp://x:1"}), 1,
                       stderr=b"Error connecting to Consul agent: Unknown protocol scheme: ftp\n")
        self.assertEqual(self.agent.requests, [])


class LeaveTests(CommandTestCase):
    def test_leave(self):
        self.assertRun(self.run_command("leave"), 0, b"Graceful leave complete\n")
        self.assertTrue(self.agent.left)
        self.assertEqual(self.sent(), [("PUT", "/v1/agent/leave")])

    def test_refused(self):
        self.agent.overrides[("PUT", "/v1/agent/leave")] = (403, {}, b"Permission denied")
        self.assertRun(self.run_command("leave"), 1,
                       stderr=b"Error leaving: Unexpected response code: 403 (Permission denied)\n")
        refused = ScriptedTransport(lambda request: REFUSED)
        self.assertRun(self.run_command("leave", agent=refused), 1, stderr=(
            b'Error leaving: Put "http://127.0.0.1:8500/v1/agent/leave": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_arguments_are_refused(self):
        status, stdout, stderr = self.run_command("leave", "now", "please")
        self.assertEqual((status, stderr), (1, b"Error found unexpected args: [now please]\n"))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul leave [options]\n"))
        self.assertFalse(self.agent.left)
        self.assertEqual(self.agent.requests, [])

    def test_http_addr(self):
        transport = ScriptedTransport(lambda request: Response(200, {}, b""))
        self.run_command("leave", "-http-addr=127.0.0.3:8500", agent=transport)
        self.assertEqual(transport.requests[0].url, "http://127.0.0.3:8500/v1/agent/leave")


class ForceLeaveTests(CommandTestCase):
    def setUp(self):
        super().setUp()
        self.agent.members = [member("alive-1", "10.0.0.1"), member("dead-1", "10.0.0.2", status=4)]
        self.agent.wan_members = [member("dead-1.dc1", "10.0.0.2", port=8302, status=4)]

    def statuses(self, pool):
        return {entry["Name"]: entry["Status"] for entry in pool}

    def test_force_leave_prints_nothing(self):
        self.assertRun(self.run_command("force-leave", "dead-1"), 0)
        self.assertEqual(self.statuses(self.agent.members), {"alive-1": 1, "dead-1": 3})
        self.assertEqual(self.statuses(self.agent.wan_members), {"dead-1.dc1": 4})
        self.assertEqual(self.sent(), [("PUT", "/v1/agent/force-leave/dead-1")])

    def test_prune_and_wan(self):
        self.assertRun(self.run_command("force-leave", "-prune", "dead-1"), 0)
        self.assertEqual(self.statuses(self.agent.members), {"alive-1": 1})
        self.assertRun(self.run_command("force-leave", "-wan", "-prune", "dead-1.dc1"), 0)
        self.assertEqual(self.agent.wan_members, [])
        self.assertEqual(self.sent(), [("PUT", "/v1/agent/force-leave/dead-1?prune=1"),
                                       ("PUT", "/v1/agent/force-leave/dead-1.dc1?prune=1&wan=1")])

    def test_unknown_node(self):
        self.assertRun(self.run_command("force-leave", "ghost"), 1, stderr=(
            b"Error force leaving: Unexpected response code: 500 (agent: No node found with name 'ghost')\n"))
        # The WAN name of a node is not its LAN name.
        self.assertEqual(self.run_command("force-leave", "-wan", "dead-1")[0], 1)

    def test_exactly_one_node(self):
        for argv in (["force-leave"], ["force-leave", "a", "b"]):
            status, stdout, stderr = self.run_command(*argv)
            self.assertEqual((status, stdout), (1, b""))
            self.assertTrue(stderr.startswith(b"A single node name must be specified to force leave.\n\n"
                                              b"Usage: pyconsul force-leave [options] NODE\n"))
        self.assertEqual(self.agent.requests, [])

    def test_unreachable_agent(self):
        refused = ScriptedTransport(lambda request: REFUSED)
        self.assertRun(self.run_command("force-leave", "n", agent=refused), 1, stderr=(
            b'Error force leaving: Put "http://127.0.0.1:8500/v1/agent/force-leave/n": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))


class KeygenTests(CommandTestCase):
    def test_a_new_key_each_time(self):
        keys = set()
        for _ in range(3):
            status, stdout, stderr = self.run_command("keygen")
            self.assertEqual((status, stderr, stdout[-1:]), (0, b"", b"\n"))
            self.assertEqual(len(base64.b64decode(stdout[:-1], validate=True)), 32)
            keys.add(stdout)
        self.assertEqual(len(keys), 3)
        self.assertEqual(self.agent.requests, [])

    def test_key_is_standard_base64_of_the_random_bytes(self):
        self.assertEqual(keygen.new_key(lambda size: bytes(range(size))),
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        self.assertEqual(keygen.new_key(lambda size: b"\xff" * size),
                         "//////////////////////////////////////////8=")

    def test_no_randomness(self):
        def broken(size):
            raise OSError(38, "Function not implemented")

        self.patch(keygen.command, "random_bytes", broken)
        self.assertRun(self.run_command("keygen"), 1,
                       stderr=b"Error reading random data: [Errno 38] Function not implemented\n")

    def test_arguments_and_help(self):
        status, stdout, stderr = self.run_command("keygen", "extra")
        self.assertEqual((status, stderr), (1, b"Error found unexpected args: [extra]\n"))
        status, stdout, _ = self.run_command("keygen", "-h")
        self.assertEqual(status, 0)
        self.assertTrue(stdout.startswith(b"Usage: pyconsul keygen\n"))
        self.assertNotIn(b"-http-addr", stdout)


class RegistrationTests(CommandTestCase):
    def test_listed_in_the_help(self):
        _, stdout, _ = self.run_command("-h")
        for name in (b"members", b"join", b"leave", b"force-leave", b"keygen"):
            self.assertRegex(stdout, rb"\n    " + name + rb" +[A-Z]")

    def test_commands_do_not_load_twisted(self):
        script = (
            "import sys\n"
            "from pyconsul.cli.main import main\n"
            "for name in ('members', 'join', 'leave', 'force-leave', 'keygen'):\n"
            "    main([name, '-h'])\n"
            "main(['keygen'])\n"
            "heavy = sorted(n for n in sys.modules if n.split('.')[0] in ('twisted', 'klein', 'treq', 'attr',"
            " 'cryptography'))\n"
            "print(heavy, file=sys.stderr)\n"
        )
        result = run_python("-c", script)
        self.assertEqual(result.stderr, b"[]\n")
