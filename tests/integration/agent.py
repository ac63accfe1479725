"""Real ``twistd -n pyconsul`` processes for integration tests.

Each agent gets a loopback address of its own (Linux routes all of
127.0.0.0/8 to lo), so every one can keep Consul's default ports: each test
module takes third octets of its own, ``f"{NET}.<module's>.<agent>"``. The
suite runs on trial's workers, which may run two tests of one module at once:
NET is ``127.<worker number>``, so no two workers share an address. Waits poll
with a deadline; every process is stopped by its own pid in the test's
cleanup.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

def _worker_number():
    """trial -jN runs each worker in _trial_temp/<number>; plain trial is 0."""
    here = os.path.basename(os.getcwd())
    return int(here) if here.isdigit() else 0


NET = "127.%d" % _worker_number()
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def environment():
    """The checkout first on the path, so processes run this tree's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSUL_")}
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def wait_for(condition, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


class Agent:
    """One agent process. ``args`` are the plugin's options after ``pyconsul``.

    ``via`` is how it is started: ``"twistd"`` (``twistd -n pyconsul``) or
    ``"cli"`` (``pyconsul agent``, which reads the same options with Go's
    flag syntax). ``sigint`` is the SIGINT disposition it inherits:
    ``SIG_DFL`` as from a terminal, ``SIG_IGN`` as a background job of a
    non-interactive shell has it.
    """

    def __init__(self, testcase, address, args=(), workdir=None, via="twistd", sigint=signal.SIG_DFL):
        self.testcase = testcase
        self.address = address
        self.args = list(args)
        self.via = via
        self.sigint = sigint
        self.workdir = workdir or os.path.abspath(testcase.mktemp())
        os.makedirs(self.workdir, exist_ok=True)
        self.log_path = os.path.join(self.workdir, "agent.log")
        self.process = None
        self.http = "%s:8500" % address

    def command(self):
        if self.via == "cli":
            start = [sys.executable, "-m", "pyconsul", "agent"]
        else:
            start = [os.path.join(BIN, "twistd"), "-n", "--pidfile=", "pyconsul"]
        return [*start, "--bind", self.address, "--client", self.address, *self.args]

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            env=environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Set whatever the test runner itself inherited (a runner started
            # in the background has SIGINT ignored, and so would its children).
            preexec_fn=lambda: signal.signal(signal.SIGINT, self.sigint),
        )
        log.close()
        self.testcase.addCleanup(self.stop)
        return self

    def run_to_exit(self, timeout=30):
        """Run the agent expecting it to refuse to start: (exit status, output)."""
        completed = subprocess.run(
            self.command(), cwd=self.workdir, env=environment(), capture_output=True, timeout=timeout
        )
        return completed.returncode, (completed.stdout + completed.stderr).decode("utf-8", "replace")

    def wait_until_leader(self, timeout=30):
        def has_leader():
            if self.process.poll() is not None:
                raise AssertionError("agent exited with %s:\n%s" % (self.process.returncode, self.log()))
            try:
                status, body = self.request("GET", "/v1/status/leader")
            except OSError:
                return False
            return status == 200 and json.loads(body) != ""

        wait_for(has_leader, timeout, what="a leader at %s" % self.http)
        return self

    def request(self, method, path, body=None, timeout=10):
        request = urllib.request.Request("http://%s%s" % (self.http, path), data=body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def kill(self, sig=signal.SIGKILL):
        self.process.send_signal(sig)
        self.process.wait(timeout=30)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def pyconsul_cli(*argv, http=None, stdin=b"", cwd=None, timeout=60):
    """Run the ``pyconsul`` command of this tree: (exit status, stdout, stderr)."""
    env = environment()
    if http is not None:
        env["CONSUL_HTTP_ADDR"] = http
    completed = subprocess.run(
        [sys.executable, "-m", "pyconsul", *argv],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    return completed.returncode, completed.stdout.decode(), completed.stderr.decode()
