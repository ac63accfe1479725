"""Script checks: run ``args``; exit 0 is passing, 1 warning, anything else critical.

As Consul's CheckMonitor: stdout and stderr go to one capture of
``output_max_size`` bytes (the end is kept, with a ``Captured N of M bytes``
note), the timeout is 30s by default, and a run is over when the script has
exited *and* its output has closed, so a child left holding the output keeps
the run going until the timeout. On a timeout the whole process group is
killed and the output is ``Timed out (30s) running check``.

The child runs in its own session (so its own process group), which lets a
kill reach whatever it forked; after a run, anything left in the group is
killed too, so that nothing a script starts outlives its run.
"""

import os
import shutil
import signal

from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.protocol import ProcessProtocol

from pyconsul.agent.checks.capture import OutputCapture
from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING
from pyconsul.golang.duration import SECOND, format_duration
from pyconsul.golang.strconv import quote
from pyconsul.logs import Logger

DEFAULT_TIMEOUT = 30 * SECOND


class SpawnError(Exception):
    """The script cannot be started; the message is Go's (exec.Cmd.Start)."""


def find_executable(name, path):
    """exec.Command's lookup: a name with a slash is used as it is (and fails
    when started), a bare name is searched in PATH."""
    if "/" in name:
        if not os.path.exists(name):
            raise SpawnError("fork/exec %s: no such file or directory" % name)
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise SpawnError("fork/exec %s: permission denied" % name)
        return name
    found = shutil.which(name, path=path) if name else None
    if found is None:
        raise SpawnError("exec: %s: executable file not found in $PATH" % quote(name))
    return found


class SessionSpawner:
    """Starts a script in a session of its own, through setsid(1).

    Twisted's spawnProcess has no way to call setsid() in the child;
    setsid(1) does it and execs the script, which keeps the same pid, so
    that pid is also the process group's ID.
    """

    log = Logger()

    def __init__(self, reactor, environ=None, setsid=None):
        self.reactor = reactor
        self.environ = dict(os.environ if environ is None else environ)
        self.setsid = setsid or shutil.which("setsid")
        if self.setsid is None:
            self.log.warn("setsid(1) not found: a timed-out script's children may outlive it")

    def spawn(self, protocol, args):
        """Start ``args`` for ``protocol``, which notes the script's pid as
        ``protocol.pid`` when connected (see _Script)."""
        executable = find_executable(args[0], self.environ.get("PATH", os.defpath))
        argv = [executable, *args[1:]]
        if self.setsid is not None:
            argv = [self.setsid, *argv]
        transport = self.reactor.spawnProcess(protocol, argv[0], argv, env=self.environ,
                                              childFDs={0: "w", 1: "r", 2: "r"})
        return _Session(transport, protocol.pid)


class _Session:
    def __init__(self, transport, group):
        self.transport = transport
        self.group = group

    def kill_group(self, signum=signal.SIGKILL):
        """Signal every process in the script's group (ESRCH: none is left)."""
        try:
            os.killpg(self.group, signum)
        except ProcessLookupError:
            # Not a group yet (setsid has not run), or already empty: only
            # the script itself, if it has not been reaped.
            if self.transport.pid is not None:
                try:
                    os.kill(self.transport.pid, signum)
                except ProcessLookupError:
                    pass

    def close(self):
        """Stop reading the script's output, so that its end can be seen even
        if a child that escaped the group still holds the pipes."""
        self.transport.loseConnection()


class _Script(ProcessProtocol):
    def __init__(self, capture):
        self.capture = capture
        self.pid = None
        self.ended = Deferred()

    def connectionMade(self):
        # Noted now: a script that exits at once is reaped before
        # spawnProcess returns, and its transport forgets the pid, which is
        # still its group's ID for the children it may have left behind.
        self.pid = self.transport.pid
        self.transport.closeStdin()  # as Go's nil Stdin: the script reads EOF

    def outReceived(self, data):
        self.capture.write(data)

    errReceived = outReceived

    def processEnded(self, reason):
        # The exception, not the Failure: a Failure would take the errback path.
        self.ended.callback(reason.value)


def exit_status(ended):
    """The exit code of a ProcessDone or ProcessTerminated; None for a signal."""
    if isinstance(ended, ProcessDone):
        return 0
    if isinstance(ended, ProcessTerminated):
        return ended.exitCode
    return None


class ScriptProbe:
    log = Logger()

    def __init__(self, check_id, args, timeout, spawner, clock, output_limit):
        self.check_id = check_id
        self.args = tuple(args)
        self.timeout = timeout if timeout > 0 else DEFAULT_TIMEOUT
        self.spawner = spawner
        self.clock = clock
        self.output_limit = output_limit

    def __call__(self):
        capture = OutputCapture(self.output_limit)
        script = _Script(capture)
        try:
            session = self.spawner.spawn(script, self.args)
        except SpawnError as error:
            self.log.error("Check failed to invoke: check {check}, error {error}",
                           check=self.check_id, error=error)
            return succeed((CRITICAL, str(error)))
        return _Run(self, script, session, capture).result


class _Run:
    def __init__(self, probe, script, session, capture):
        self.probe = probe
        self.session = session
        self.capture = capture
        self.timed_out = False
        self.result = Deferred(self._cancel)
        self.timer = probe.clock.callLater(probe.timeout / SECOND, self._expire)
        script.ended.addCallback(self._ended)

    def _kill(self):
        self.session.kill_group(signal.SIGKILL)
        self.session.close()

    def _expire(self):
        self.timed_out = True
        self.probe.log.warn("Timed out running check: check {check}, timeout {timeout}",
                            check=self.probe.check_id, timeout=format_duration(self.probe.timeout))
        self._kill()  # the run ends when the killed script has been reaped

    def _cancel(self, _):
        if self.timer.active():
            self.timer.cancel()
        self._kill()

    def _ended(self, ended):
        if self.timer.active():
            self.timer.cancel()
        # Whatever the script left running in its group goes with it.
        self.session.kill_group(signal.SIGKILL)
        if self.result.called:
            return
        output = self.capture.script_output()
        if self.timed_out:
            message = "Timed out (%s) running check" % format_duration(self.probe.timeout)
            if output:
                message += "\n\n" + output
            self.result.callback((CRITICAL, message))
            return
        code = exit_status(ended)
        status = PASSING if code == 0 else WARNING if code == 1 else CRITICAL
        self.result.callback((status, output))
