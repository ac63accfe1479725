"""The ``pyconsul`` entry point: command registry, help, version, start-up cost."""

import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from pyconsul import __version__
from pyconsul.cli import main as cli_main
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag, DurationFlag, StringListFlag

from tests.cli.fakeagent import FakeAgent
from tests.vectors.targets import run_cli

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class GreetCommand(Command):
    """A command registered the way later commands (members, join...) will be."""

    synopsis = "Says hello"
    usage = """
Usage: {prog} greet [options] NAME...
"""
    flag_groups = (
        (
            BoolFlag("loud", "Shout."),
            DurationFlag("wait", "Pause first.", default=0),
            StringListFlag("also", "Someone else to greet; may be repeated."),
        ),
    )

    def execute(self, parsed, console):
        names = parsed.args + parsed.also
        text = "hello " + " ".join(names)
        console.out(text.upper() if parsed.loud else text)
        return 0


command = GreetCommand()


class RegistryTests(SynchronousTestCase):
    def setUp(self):
        self.agent = FakeAgent()

    def run_main(self, *argv):
        return run_cli(list(argv), self.agent)

    def register_greet(self):
        cli_main.register_command("greet", __name__, "Says hello")
        self.addCleanup(cli_main.COMMANDS.pop, "greet")

    def test_registered_command(self):
        self.register_greet()
        self.assertEqual(self.run_main("greet", "-loud", "--also=bob", "-also", "eve", "ann"),
                         (0, b"HELLO ANN BOB EVE\n", b""))
        status, stdout, _ = self.run_main()
        # Names are padded to the longest registered one, whatever that is.
        self.assertRegex(stdout, rb"\n    greet +Says hello\n")
        status, stdout, _ = self.run_main("greet", "-h")
        self.assertEqual(status, 0)
        self.assertTrue(stdout.startswith(b"Usage: pyconsul greet [options] NAME...\n\nCommand Options\n\n  -also=<value>\n"))
        status, _, stderr = self.run_main("greet", "-wait=soon")
        self.assertEqual((status, stderr.split(b"\n")[0]), (1, b'invalid value "soon" for flag -wait: parse error'))

    def test_no_command(self):
        status, stdout, stderr = self.run_main()
        self.assertEqual((status, stderr), (127, b""))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul [--version] [--help] <command> [<args>]\n"))
        self.assertIn(b"\n    kv         ", stdout)
        self.assertIn(b"\n    version    ", stdout)

    def test_unknown_command(self):
        status, stdout, _ = self.run_main("frob", "x")
        self.assertEqual(status, 127)
        self.assertIn(b"Available commands are:", stdout)

    def test_help(self):
        for flag in ("-h", "-help", "--help"):
            status, stdout, _ = self.run_main(flag)
            self.assertEqual(status, 0)
            self.assertIn(b"Available commands are:", stdout)

    def test_options_before_the_command(self):
        status, stdout, stderr = self.run_main("-token=x", "kv", "get", "k")
        self.assertEqual((status, stderr), (1, b""))
        self.assertTrue(stdout.startswith(b'Options belong after the command they are for, not before "kv": -token=x\n'))
        self.assertIn(b"Usage: pyconsul kv <subcommand>", stdout)
        self.assertEqual(self.run_main("-h", "kv", "put")[0], 0)
        self.assertIn(b"Usage: pyconsul kv put", self.run_main("--help", "kv", "put")[1])
        self.assertEqual(self.run_main("-x")[0], 127)
        self.assertEqual(self.agent.requests, [])

    def test_version(self):
        expected = (0, ("pyconsul v%s\n" % __version__).encode(), b"")
        for argv in (["version"], ["--version"], ["-version"], ["-v"]):
            self.assertEqual(self.run_main(*argv), expected, argv)
        self.assertEqual(self.run_main("version", "extra")[0], 1)


def run_python(*arguments):
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join([REPOSITORY] + sys.path))
    environ = {name: value for name, value in environ.items() if not name.startswith("CONSUL_")}
    return subprocess.run([sys.executable] + list(arguments), capture_output=True, env=environ, timeout=60)


class ProcessTests(SynchronousTestCase):
    def test_python_dash_m(self):
        result = run_python("-m", "pyconsul", "version")
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (0, ("pyconsul v%s\n" % __version__).encode(), b""))

    def test_kv_does_not_load_twisted(self):
        """The kv commands start with the standard library only."""
        script = (
            "import sys\n"
            "from pyconsul.cli.main import main\n"
            "status = main(['kv', 'get', '-h'])\n"
            "import pyconsul.cli.kv, pyconsul.cli.http\n"
            "heavy = sorted(n for n in sys.modules if n.split('.')[0] in ('twisted', 'klein', 'treq', 'attr'))\n"
            "print(status, heavy, file=sys.stderr)\n"
        )
        result = run_python("-c", script)
        self.assertEqual(result.stderr, b"0 []\n")

    def test_unreachable_agent_is_one_line(self):
        import socket

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()
        result = run_python("-m", "pyconsul", "kv", "put", "-http-addr=127.0.0.1:%d" % port, "foo", "1")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.decode(),
                         'Error! Failed writing data: Put "http://127.0.0.1:%d/v1/kv/foo": dial tcp 127.0.0.1:%d: '
                         "connect: connection refused\n" % (port, port))
