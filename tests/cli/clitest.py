"""What the command tests share: a fake agent, main() in process, exact results."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.http import Response, TransportError

from tests.cli.fakeagent import FakeAgent
from tests.cli.test_http import ScriptedTransport
from tests.vectors.targets import run_cli

REFUSED = "dial tcp 127.0.0.1:8500: connect: connection refused"


def lines(*texts):
    """Output lines as the commands print them: each ends with a newline."""
    return "".join(text + "\n" for text in texts).encode()


def refusing_agent():
    """A transport for an agent nobody listens for."""
    return ScriptedTransport(lambda request: TransportError(REFUSED))


def answering(status, body):
    """A transport whose every answer is this status and body."""
    return ScriptedTransport(lambda request: Response(status, {}, body))


class CliTestCase(SynchronousTestCase):
    command = ()  # the words before the arguments, e.g. ("catalog", "nodes")

    def setUp(self):
        self.agent = FakeAgent()

    def run_command(self, *argv, agent=None, cwd=None, environ=None):
        return run_cli(list(self.command) + list(argv), agent or self.agent, cwd=cwd, environ=environ)

    def assertRun(self, result, status, stdout=b"", stderr=b""):
        self.assertEqual(result, (status, stdout, stderr))

    def assertUsageError(self, result, first_line):
        """Go's flag error: the message, then the flag list, on stderr; exit 1."""
        status, stdout, stderr = result
        self.assertEqual((status, stdout), (1, b""))
        self.assertEqual(stderr.split(b"\n")[:2], [first_line.encode(), b"Usage:"])

    def paths(self):
        """The request lines (method and target) the agent saw."""
        return [(method, target) for method, target, _ in self.agent.requests]
