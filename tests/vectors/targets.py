"""What a vector's steps are sent to.

``LiveAgent``: a running agent, over HTTP on a fresh connection per request
(the path sent byte for byte, as recorded), and the ``pyconsul`` command of
this tree as a real process. ``InProcess``: the in-memory fake agent, with
``pyconsul.cli.main.main`` called directly.
"""

import http.client
import io
import os
import subprocess
import sys
import time

from pyconsul.cli.console import Console
from pyconsul.cli.main import main
from tests.vectors.runner import CLIResult, HTTPResult

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HTTP_TIMEOUT = 60.0
CLI_TIMEOUT = 60.0


def cli_environment(http_addr):
    """The caller's environment without CONSUL_* settings, this tree first on the path."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONSUL_")}
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["CONSUL_HTTP_ADDR"] = http_addr
    return env


class LiveAgent:
    def __init__(self, http_addr, cli=(sys.executable, "-m", "pyconsul")):
        self.http_addr = http_addr
        self.cli_prefix = list(cli)

    def http(self, method, path, body=None, headers=None):
        host, _, port = self.http_addr.rpartition(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=HTTP_TIMEOUT)
        start = time.monotonic()
        try:
            connection.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            sent = dict(headers or {})
            if body is not None or method in ("PUT", "POST", "PATCH"):
                sent.setdefault("Content-Length", str(len(body or b"")))
            for name, value in sent.items():
                connection.putheader(name, value)
            try:
                connection.endheaders(body or None)
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered before the whole body was read (413), then closed
            response = connection.getresponse()
            data = response.read()
            return HTTPResult(response.status, response.getheaders(), data, time.monotonic() - start)
        finally:
            connection.close()

    def cli(self, argv, stdin, cwd):
        start = time.monotonic()
        completed = subprocess.run(
            self.cli_prefix + list(argv),
            input=stdin,
            capture_output=True,
            cwd=cwd,
            env=cli_environment(self.http_addr),
            timeout=CLI_TIMEOUT,
        )
        return CLIResult(completed.returncode, completed.stdout, completed.stderr, time.monotonic() - start)


def run_cli(argv, agent, stdin=b"", cwd=None, environ=None):
    """main(argv) against an in-memory agent: (exit status, stdout bytes, stderr bytes)."""
    stdout, stderr = io.BytesIO(), io.BytesIO()
    environ = environ if environ is not None else {"CONSUL_HTTP_ADDR": "127.0.0.1:8500"}
    console = Console(io.BytesIO(stdin), stdout, stderr, environ, cwd=cwd, transport=agent)
    status = main(argv, console)
    return status, stdout.getvalue(), stderr.getvalue()


class InProcess:
    """The fake agent (``tests.cli.fakeagent.FakeAgent``) and main() in this process."""

    def __init__(self, agent):
        self.agent = agent

    def http(self, method, path, body=None, headers=None):
        status, answer_headers, answer = self.agent.handle(method, path, body)
        return HTTPResult(status, list(answer_headers.items()), answer, 0.0)

    def cli(self, argv, stdin, cwd):
        status, stdout, stderr = run_cli(argv, self.agent, stdin, cwd=cwd)
        return CLIResult(status, stdout, stderr, 0.0)


class InMemoryAgent:
    """A dev agent in this process (pyconsul.testing.server.InMemoryServer),
    through StubTreq, on a fake clock: a ``sleep`` step advances it."""

    def __init__(self, server):
        from treq.testing import StubTreq

        self.server = server
        self.treq = StubTreq(server.http.resource())

    def http(self, method, path, body=None, headers=None):
        answers = []
        d = self.treq.request(method, "http://127.0.0.1:8500" + path, data=body or b"", headers=headers,
                              allow_redirects=False)
        d.addCallback(lambda response: response.content().addCallback(
            lambda content: answers.append(HTTPResult(
                response.code, [(name.decode(), value.decode()) for name, values in
                                response.headers.getAllRawHeaders() for value in values], content, 0.0))))
        for _ in range(100):
            self.server.advance()
            self.treq.flush()
            if answers:
                return answers[0]
        raise AssertionError("no answer to %s %s" % (method, path))

    def cli(self, argv, stdin, cwd):
        raise AssertionError("the in-memory agent runs no CLI steps")

    def sleep(self, seconds):
        self.server.advance(seconds)
