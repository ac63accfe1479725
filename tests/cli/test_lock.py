"""``pyconsul lock``: flags, Consul's messages and exit statuses, the child
(shell or not, stdin, environment, output, exit status), losing the lock,
stopping the child, and the clean-up -- run in process against a real
in-memory agent (tests.cli.lockagent.RealTimeTransport) with real child
processes. The lock algorithm itself is tested in test_lockapi.
"""

import json
import os
import re
import signal
import threading
import time

from twisted.trial.unittest import TestCase

from pyconsul.cli import lock
from pyconsul.cli.http import Client, ClientConfig, Response
from pyconsul.cli.lockapi import LOCK_FLAG, SEMAPHORE_FLAG

from tests.cli.clitest import REFUSED, refusing_agent
from tests.cli.lockagent import RealTimeTransport
from tests.cli.test_http import ScriptedTransport
from tests.vectors.targets import run_cli

DEADLINE = 30.0


def environment(**extra):
    env = {"CONSUL_HTTP_ADDR": "127.0.0.1:8500", "PATH": os.environ.get("PATH", os.defpath)}
    env.update(extra)
    return env


def wait_for(condition, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


def in_background(function):
    """Run function in a thread (the command runs in the test's thread)."""
    errors = []

    def body():
        try:
            function()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, errors


class LockCommandTestCase(TestCase):
    def setUp(self):
        self.agent = RealTimeTransport()
        self.api = Client(ClientConfig(), transport=self.agent)
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    def lock(self, *argv, stdin=b"", **extra):
        return run_cli(["lock", *argv], self.agent, stdin=stdin, environ=environment(**extra))

    def call(self, method, path, body=None):
        path, _, query = path.partition("?")
        params = dict(part.partition("=")[::2] for part in query.split("&")) if query else None
        response = self.api.request(method, path, params, body=body)
        return json.loads(response.body) if response.status == 200 and response.body else None

    def sessions(self):
        return self.call("GET", "/v1/session/list") or []

    def keys(self, prefix):
        return self.call("GET", "/v1/kv/%s?keys" % prefix) or []

    def assertAllGone(self, prefix="app"):
        self.assertEqual((self.keys(prefix), self.sessions()), ([], []))

    def hold_elsewhere(self, key="app/.lock", flags=LOCK_FLAG):
        """Another session holding key."""
        session = self.call("PUT", "/v1/session/create", b'{"Name":"elsewhere"}')["ID"]
        self.assertIs(self.call("PUT", "/v1/kv/%s?acquire=%s&flags=%d" % (key, session, flags)), True)
        return session

    def marker(self, name="started"):
        return os.path.join(self.dir, name)


class ArgumentTests(LockCommandTestCase):
    def test_prefix_and_child_are_required(self):
        for argv in ((), ("app",)):
            self.assertEqual(self.lock(*argv), (1, b"", b"Key prefix and child command must be specified\n"))

    def test_limit_must_be_positive(self):
        for limit in ("0", "-2"):
            self.assertEqual(self.lock("-n", limit, "app", "true"), (1, b"", b"Lock holder limit must be positive\n"))

    def test_the_limit_is_checked_before_the_arguments(self):
        self.assertEqual(self.lock("-n=0"), (1, b"", b"Lock holder limit must be positive\n"))

    def test_timeout_must_be_positive(self):
        self.assertEqual(self.lock("-timeout=-1s", "app", "true"), (1, b"", b"Timeout must be positive\n"))

    def test_monitor_retry_must_not_be_negative(self):
        self.assertEqual(self.lock("-monitor-retry=-1", "app", "true"),
                         (1, b"", b"Number for 'monitor-retry' must be >= 0\n"))

    def test_flag_errors_are_gos(self):
        status, stdout, stderr = self.lock("-n=two", "app", "true")
        self.assertEqual((status, stdout), (1, b""))
        self.assertEqual(stderr.split(b"\n")[:2], [b'invalid value "two" for flag -n: parse error', b"Usage:"])

    def test_nothing_is_asked_of_the_agent_before_the_checks_pass(self):
        self.lock("-n=0", "app", "true")
        self.lock("app")
        self.assertEqual(self.agent.requests, [])

    def test_an_unreachable_agent(self):
        result = run_cli(["lock", "app", "true"], refusing_agent(), environ=environment())
        self.assertEqual(result, (1, b"", b'Error querying Consul agent: Get "http://127.0.0.1:8500/v1/agent/self": '
                                          + REFUSED.encode() + b"\n"))

    def test_an_address_it_cannot_use(self):
        self.assertEqual(self.lock("-http-addr=ftp://x", "app", "true"),
                         (1, b"", b"Error connecting to Consul agent: Unknown protocol scheme: ftp\n"))

    def test_a_semaphore_needs_a_prefix(self):
        self.assertEqual(self.lock("-n=2", "/", "true"), (1, b"", b"Lock setup failed: missing prefix\n"))


class SessionRequestTests(LockCommandTestCase):
    """What is asked for, seen through an agent that refuses sessions."""

    def session_request(self, *argv):
        seen = []

        def answer(request):
            seen.append(request)
            if request.target.startswith("/v1/agent/self"):
                return Response(200, {}, b'{"Config": {"NodeName": "n1"}}')
            return Response(500, {}, b"No cluster leader")

        result = run_cli(["lock", *argv], ScriptedTransport(answer), environ=environment())
        self.assertEqual(result, (1, b"", b"Lock acquisition failed: failed to create session: "
                                          b"Unexpected response code: 500 (No cluster leader)\n"))
        self.assertEqual([(r.method, r.target) for r in seen], [("GET", "/v1/agent/self"),
                                                                 ("PUT", "/v1/session/create")])
        return json.loads(seen[1].body)

    def test_the_session_is_named_after_the_command(self):
        self.assertEqual(self.session_request("/app", "echo", "hi"),
                         {"Name": "Consul lock for 'echo hi' at 'app'", "TTL": "15s"})

    def test_name_flag(self):
        self.assertEqual(self.session_request("-name=web leader", "app", "true"), {"Name": "web leader", "TTL": "15s"})

    def test_a_semaphore_session_deletes_its_keys(self):
        self.assertEqual(self.session_request("-n=3", "app", "true"),
                         {"Behavior": "delete", "Name": "Consul lock for 'true' at 'app'", "TTL": "15s"})


class ChildTests(LockCommandTestCase):
    def test_the_child_runs_holding_the_lock_and_everything_is_cleaned_up(self):
        status, stdout, stderr = self.lock("app", 'echo "held=$CONSUL_LOCK_HELD"')
        self.assertEqual((status, stdout, stderr), (0, b"held=true\n", b""))
        self.assertAllGone()
        methods = [(method, target.split("?")[0]) for method, target in self.agent.requests]
        self.assertEqual(methods[:4], [("GET", "/v1/agent/self"), ("PUT", "/v1/session/create"),
                                       ("GET", "/v1/kv/app/.lock"), ("PUT", "/v1/kv/app/.lock")])

    def test_verbose(self):
        status, stdout, stderr = self.lock("-verbose", "app", "echo child")
        self.assertEqual((status, stderr), (0, b""))
        self.assertEqual(stdout.decode().splitlines(), [
            "Setting up lock at path: app/.lock", "Attempting lock acquisition", "Starting handler", "child",
            "Child terminated, releasing lock", "Cleanup succeeded"])

    def test_the_words_are_joined_for_the_shell(self):
        self.assertEqual(self.lock("app", "echo", "a", "b  c"), (0, b"a b c\n", b""))

    def test_the_shell_comes_from_SHELL(self):
        shell = os.path.join(self.dir, "shell")
        with open(shell, "w") as f:
            f.write('#!/bin/sh\necho "shell: $*"\n')
        os.chmod(shell, 0o755)
        self.assertEqual(self.lock("app", "echo", "hi", SHELL=shell), (0, b"shell: -c echo hi\n", b""))

    def test_without_a_shell_the_words_are_the_arguments(self):
        self.assertEqual(self.lock("-shell=false", "app", "printf", "%s|", "a", "b  c"), (0, b"a|b  c|", b""))

    def test_stdin_only_when_asked(self):
        self.assertEqual(self.lock("app", "cat", stdin=b"input"), (0, b"", b""))
        self.assertEqual(self.lock("-pass-stdin", "app", "cat", stdin=b"input"), (0, b"input", b""))
        status, stdout, _ = self.lock("-pass-stdin", "-verbose", "app", "cat", stdin=b"x")
        self.assertIn(b"Starting handler\nStdin passed to handler process\nx", stdout)

    def test_the_childs_stderr(self):
        self.assertEqual(self.lock("app", "echo oops >&2"), (0, b"", b"oops\n"))

    def test_a_failing_child(self):
        self.assertEqual(self.lock("app", "exit 3"), (0, b"", b"Error running handler: exit status 3\n"))
        self.assertEqual(self.lock("-child-exit-code", "app", "exit 3"),
                         (2, b"", b"Error running handler: exit status 3\n"))
        self.assertEqual(self.lock("-child-exit-code", "app", "true"), (0, b"", b""))
        self.assertAllGone()

    def test_a_child_that_cannot_start(self):
        expected = b'Error starting handler: exec: "no-such-program-here": executable file not found in $PATH\n'
        self.assertEqual(self.lock("-shell=false", "app", "no-such-program-here"), (0, b"", expected))
        self.assertEqual(self.lock("-shell=false", "-child-exit-code", "app", "no-such-program-here"),
                         (2, b"", expected))
        self.assertAllGone()

    def test_a_semaphore(self):
        status, stdout, stderr = self.lock("-n=2", "-verbose", "app", "echo child")
        self.assertEqual((status, stderr), (0, b""))
        self.assertEqual(stdout.decode().splitlines(), [
            "Setting up semaphore (limit 2) at prefix: app", "Attempting lock acquisition", "Starting handler",
            "child", "Child terminated, releasing lock", "Cleanup succeeded"])
        self.assertAllGone()


class ContentionTests(LockCommandTestCase):
    def test_timeout_while_another_holds_the_lock(self):
        other = self.hold_elsewhere()
        started = time.monotonic()
        result = self.lock("-timeout=1s", "app", "touch " + self.marker())
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(result, (1, b"", b"Shutdown triggered or timeout during lock acquisition\n"))
        self.assertFalse(os.path.exists(self.marker()))
        self.assertEqual([s["ID"] for s in self.sessions()], [other])

    def test_try_is_the_old_name_of_timeout(self):
        self.hold_elsewhere()
        self.assertEqual(self.lock("-try=500ms", "app", "true"),
                         (1, b"", b"Shutdown triggered or timeout during lock acquisition\n"))

    def test_a_key_that_is_not_a_lock(self):
        self.call("PUT", "/v1/kv/app/.lock", b"plain")
        self.assertEqual(self.lock("app", "true"),
                         (1, b"", b"Lock acquisition failed: Existing key does not match lock use\n"))
        self.assertEqual(self.sessions(), [])

    def test_a_lock_where_a_semaphore_is(self):
        self.hold_elsewhere(flags=SEMAPHORE_FLAG)
        self.assertEqual(self.lock("app", "true"),
                         (1, b"", b"Lock acquisition failed: Existing key does not match lock use\n"))
        # A semaphore key without a value counts as one with no holders (as in Go).
        self.assertEqual(self.lock("-n=2", "app", "true"), (0, b"", b""))

    def test_a_semaphore_where_a_lock_is(self):
        self.hold_elsewhere()
        self.assertEqual(self.lock("-n=2", "app", "true"),
                         (1, b"", b"Lock acquisition failed: Existing key does not match semaphore use\n"))

    def test_semaphore_limits_must_agree(self):
        self.call("PUT", "/v1/kv/app/.lock?flags=%d" % SEMAPHORE_FLAG, b'{"Limit":2,"Holders":{}}')
        self.assertEqual(self.lock("-n=3", "app", "true"),
                         (1, b"", b"Lock acquisition failed: semaphore limit conflict (lock: 2, local: 3)\n"))

    def test_clean_up_leaves_a_semaphore_others_hold(self):
        other = self.hold_elsewhere("app/" + "x", SEMAPHORE_FLAG)
        self.call("PUT", "/v1/session/destroy/" + other)
        other = self.call("PUT", "/v1/session/create", b'{"Behavior":"delete"}')["ID"]
        self.call("PUT", "/v1/kv/app/%s?acquire=%s&flags=%d" % (other, other, SEMAPHORE_FLAG))
        self.call("PUT", "/v1/kv/app/.lock?flags=%d" % SEMAPHORE_FLAG,
                  b'{"Limit":2,"Holders":{"%s":true}}' % other.encode())
        status, stdout, stderr = self.lock("-n=2", "-verbose", "app", "true")
        self.assertEqual((status, stderr), (0, b""))
        self.assertTrue(stdout.endswith(b"Child terminated, releasing lock\nCleanup aborted, lock in use\n"), stdout)
        holders = json.loads(self.api.request("GET", "/v1/kv/app/.lock", {"raw": ""}).body)["Holders"]
        self.assertEqual(holders, {other: True})
        self.assertEqual([s["ID"] for s in self.sessions()], [other])


class StoppingTests(LockCommandTestCase):
    def child(self, *setup):
        return "; ".join(setup + ("touch %s" % self.marker(), "exec sleep 60"))

    def test_a_lost_lock_stops_the_child(self):
        def destroy_session():
            wait_for(lambda: os.path.exists(self.marker()), "the child to start")
            for session in self.sessions():
                self.call("PUT", "/v1/session/destroy/" + session["ID"])

        thread, errors = in_background(destroy_session)
        status, stdout, stderr = self.lock("-verbose", "-child-exit-code", "app", self.child())
        thread.join(DEADLINE)
        self.assertEqual(errors, [])
        # Consul's exit status after a lost lock is 0, even with -child-exit-code.
        self.assertEqual((status, stderr), (0, b"Error running handler: signal: terminated\n"))
        lines = stdout.decode().splitlines()
        self.assertEqual(lines[3], "Lock lost, killing child")
        self.assertRegex(lines[4], r"^Terminating child pid \d+$")
        self.assertEqual(lines[5:], ["Child terminated", "Cleanup succeeded"])
        self.assertAllGone()

    def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(self):
        self.patch(lock, "KILL_GRACE", 0.5)

        def destroy_session():
            wait_for(lambda: os.path.exists(self.marker()), "the child to start")
            for session in self.sessions():
                self.call("PUT", "/v1/session/destroy/" + session["ID"])

        thread, errors = in_background(destroy_session)
        status, stdout, stderr = self.lock("-verbose", "app", self.child("trap '' TERM"))
        thread.join(DEADLINE)
        self.assertEqual(errors, [])
        self.assertEqual((status, stderr), (0, b"Error running handler: signal: killed\n"))
        text = stdout.decode()
        pid = re.search(r"Terminating child pid (\d+)", text).group(1)
        self.assertIn("Child did not exit after grace period of 500ms\nKilling child pid %s\nCleanup succeeded\n"
                      % pid, text)
        self.assertAllGone()

    def test_sigterm_stops_the_child_and_releases_the_lock(self):
        before = signal.getsignal(signal.SIGTERM)

        def terminate():
            wait_for(lambda: os.path.exists(self.marker()), "the child to start")
            if signal.getsignal(signal.SIGTERM) is before:
                raise AssertionError("the lock command does not handle SIGTERM")
            os.kill(os.getpid(), signal.SIGTERM)

        thread, errors = in_background(terminate)
        status, stdout, stderr = self.lock("-verbose", "app", self.child())
        thread.join(DEADLINE)
        self.assertEqual(errors, [])
        self.assertIs(signal.getsignal(signal.SIGTERM), before)
        self.assertEqual((status, stderr), (0, b"Error running handler: signal: terminated\n"))
        self.assertIn(b"Shutdown triggered, killing child\nTerminating child pid ", stdout)
        self.assertAllGone()
