"""Script checks: with a fake spawner in virtual time, then real processes
(/bin/sh) in their own sessions."""

import os
import signal
import time

from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pyconsul.agent.checks.capture import OutputCapture
from pyconsul.agent.checks.script import ScriptProbe, SessionSpawner, SpawnError, _Script, find_executable
from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING
from pyconsul.golang.duration import SECOND

from tests.agent.checkfakes import FakeSpawner


class ScriptProbeTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.spawner = FakeSpawner()
        self.results = []

    def run_check(self, args=("/usr/local/bin/check", "-v"), timeout=0, limit=4096):
        running = ScriptProbe("job", args, timeout, self.spawner, self.clock, limit)()
        running.addCallback(self.results.append)
        return running

    def test_exit_codes(self):
        for code, status in ((0, PASSING), (1, WARNING), (2, CRITICAL), (127, CRITICAL)):
            self.run_check()
            session = self.spawner.sessions[-1]
            session.output(b"out ")
            session.output(b"err", err=True)
            session.exit(code)
            self.assertEqual(self.results[-1], (status, "out err"))
        self.assertEqual(self.spawner.sessions[-1].args, ("/usr/local/bin/check", "-v"))
        self.assertTrue(self.spawner.sessions[-1].protocol.transport.stdin_closed)

    def test_death_by_a_signal_is_critical(self):
        self.run_check()
        self.spawner.sessions[-1].killed(signal.SIGSEGV)
        self.assertEqual(self.results, [(CRITICAL, "")])

    def test_what_the_script_leaves_is_killed(self):
        self.run_check()
        session = self.spawner.sessions[-1]
        session.exit(0)
        self.assertEqual(session.signals, [signal.SIGKILL])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_huge_output_keeps_its_end(self):
        self.run_check(limit=10)
        session = self.spawner.sessions[-1]
        for _ in range(100):
            session.output(b"y" * 1000)
        session.output(b"0123456789")
        session.exit(0)
        self.assertEqual(self.results, [(PASSING, "Captured 10 of 100010 bytes\n...\n0123456789")])

    def test_output_that_is_not_utf8(self):
        self.run_check()
        self.spawner.sessions[-1].output(b"\xc3\x28 bad")
        self.spawner.sessions[-1].exit(1)
        status, output = self.results[-1]
        self.assertEqual((status, output.encode("utf-8", "surrogateescape")), (WARNING, b"\xc3\x28 bad"))

    def test_a_timeout_kills_the_group_and_waits_for_the_end(self):
        self.run_check(timeout=2 * SECOND)
        session = self.spawner.sessions[-1]
        session.output(b"working")
        self.clock.advance(2)
        self.assertEqual((session.signals, session.closed), ([signal.SIGKILL], True))
        self.assertEqual(self.results, [])  # not over until the script is gone
        session.killed(signal.SIGKILL)
        self.assertEqual(self.results, [(CRITICAL, "Timed out (2s) running check\n\nworking")])

    def test_the_default_timeout_is_thirty_seconds_and_silence_adds_nothing(self):
        self.run_check()
        self.clock.advance(29.9)
        self.assertEqual(self.spawner.sessions[-1].signals, [])
        self.clock.advance(0.1)
        self.spawner.sessions[-1].killed(signal.SIGKILL)
        self.assertEqual(self.results, [(CRITICAL, "Timed out (30s) running check")])

    def test_a_script_that_cannot_start(self):
        self.spawner.refusal = 'exec: "nope": executable file not found in $PATH'
        self.run_check(("nope",))
        self.assertEqual(self.results, [(CRITICAL, 'exec: "nope": executable file not found in $PATH')])

    def test_cancelling_kills_the_script(self):
        running = self.run_check()
        running.cancel()
        session = self.spawner.sessions[-1]
        self.assertEqual((session.signals, session.closed), ([signal.SIGKILL], True))
        session.killed(signal.SIGKILL)
        self.assertEqual(self.results, [])
        self.failureResultOf(running)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ReapedAtOnceTests(SynchronousTestCase):
    def test_a_script_reaped_before_spawn_returns_keeps_its_group(self):
        # Twisted reaps a child that has already exited while spawnProcess
        # runs, after connecting its protocol, and the transport forgets
        # the pid: the session still knows the group the script left.
        class Transport:
            pid = 4321

            def closeStdin(self):
                pass

        class Reactor:
            def spawnProcess(self, protocol, executable, argv, env, childFDs):
                transport = Transport()
                protocol.makeConnection(transport)
                transport.pid = None
                return transport

        session = SessionSpawner(Reactor()).spawn(_Script(OutputCapture(4096)), ["true"])
        self.assertEqual(session.group, 4321)


class FindExecutableTests(SynchronousTestCase):
    def test_go_words(self):
        self.assertEqual(find_executable("sh", "/bin:/usr/bin"), "/bin/sh")
        self.assertEqual(find_executable("/bin/sh", ""), "/bin/sh")
        cases = [
            ("no-such-check", 'exec: "no-such-check": executable file not found in $PATH'),
            ("/no/such/check", "fork/exec /no/such/check: no such file or directory"),
            ("/etc/passwd", "fork/exec /etc/passwd: permission denied"),
            ("/tmp", "fork/exec /tmp: permission denied"),
        ]
        for name, message in cases:
            with self.assertRaises(SpawnError) as caught:
                find_executable(name, "/bin:/usr/bin")
            self.assertEqual(str(caught.exception), message)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too; its parent (init, once orphaned) reaps it soon.
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class RealProcessTests(TestCase):
    """/bin/sh scripts, each in its own session."""

    def setUp(self):
        self.spawner = SessionSpawner(reactor)

    def run_script(self, script, timeout=10 * SECOND):
        return ScriptProbe("sh", ("/bin/sh", "-c", script), timeout, self.spawner, reactor, 4096)()

    def test_exit_status_and_output(self):
        def checked(result):
            self.assertEqual(result, (WARNING, "to stdout\nto stderr\n"))

        return self.run_script("echo to stdout; echo to stderr >&2; exit 1").addCallback(checked)

    def test_its_own_session(self):
        def checked(result):
            status, output = result
            pid, sid = output.split()
            self.assertEqual((status, pid), (PASSING, sid))
            self.assertNotEqual(int(sid), os.getsid(0))

        return self.run_script("echo $$ $(ps -o sid= -p $$)").addCallback(checked)

    def test_a_script_that_forks_and_exits(self):
        # The child keeps the output open, so the run lasts until the
        # timeout, which kills the whole group: the child does not linger.
        pidfile = self.mktemp()
        script = "sleep 300 & echo $! > %s; echo started" % pidfile

        def checked(result):
            self.assertEqual(result, (CRITICAL, "Timed out (1s) running check\n\nstarted\n"))
            with open(pidfile) as f:
                child = int(f.read())
            return _gone(child)

        return self.run_script(script, timeout=SECOND).addCallback(checked)

    def test_a_detached_child_is_killed_when_the_script_exits(self):
        # Its output redirected, the child does not hold the run up; it
        # is killed with the group as the run ends.
        pidfile = self.mktemp()
        script = "sleep 300 >/dev/null 2>&1 & echo $! > %s; exit 0" % pidfile

        def checked(result):
            self.assertEqual(result, (PASSING, ""))
            with open(pidfile) as f:
                child = int(f.read())
            return _gone(child)

        return self.run_script(script).addCallback(checked)

    def test_a_hanging_script_is_killed_at_the_timeout(self):
        def checked(result):
            self.assertEqual(result, (CRITICAL, "Timed out (500ms) running check"))

        return self.run_script("exec sleep 300", timeout=SECOND // 2).addCallback(checked)


def _gone(pid, deadline=10.0):
    """Poll until pid has died, failing after the deadline."""
    end = time.monotonic() + deadline

    def poll(_=None):
        if not _alive(pid):
            return None
        if time.monotonic() > end:
            raise AssertionError("process %d still alive" % pid)
        return deferLater(reactor, 0.05, poll)

    return poll()

