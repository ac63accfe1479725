"""``pyconsul lock``: run a command only while holding a lock (or a slot of
a semaphore) in the KV store, as Consul 1.10's ``consul lock`` does.

    pyconsul lock service/web/leader ./run-web.sh
    pyconsul lock -n=3 jobs/batch 'nice ./batch.sh'
    pyconsul lock -timeout=10s -child-exit-code locks/backup /usr/local/bin/backup

With ``-n=1`` (the default) it is Consul's leader-election lock on
``PREFIX/.lock``; with more it is Consul's semaphore under ``PREFIX``
(:mod:`pyconsul.cli.lockapi` holds both algorithms). Once held, the child
runs (``$SHELL -c`` with the words joined, unless ``-shell=false``) with
``CONSUL_LOCK_HELD=true`` in its environment, stdout and stderr shared,
stdin only with ``-pass-stdin``. The command then waits for whichever comes
first:

* the child exits: the lock is released (exit 0; 2 with ``-child-exit-code``
  when the child failed);
* the lock is lost (its session invalidated, the key taken or deleted, the
  agent unreachable for longer than ``-monitor-retry`` allows): the child
  gets SIGTERM, and SIGKILL if it is still there after the grace period;
* SIGINT or SIGTERM: passed on to the child, which is then stopped the
  same way.

Then the lock is released, its key deleted if nobody else uses it, and the
session destroyed. ``-timeout`` bounds the acquisition; a command that does
not get the lock in time exits 1. Messages and exit statuses are Consul's.

As in Consul, a signal during the acquisition is noticed between two
reads of the lock key, so it may take up to 15 s to take effect.
"""

import dataclasses
import os
import queue
import shutil
import signal
import subprocess
import threading

from pyconsul.cli import http
from pyconsul.cli.agentlocal import LocalAgent
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag, DurationFlag, IntFlag, StringFlag
from pyconsul.cli.httpflags import CLIENT_FLAGS, SERVER_FLAGS, client_config
from pyconsul.cli.lockapi import (SEMAPHORE_KEY, Lock, LockError, LockInUse, Options, Semaphore,
                                  SemaphoreInUse, Signal)
from pyconsul.cli.lockrun import ThreadRunner
from pyconsul.golang import duration, strconv
from pyconsul.golang import path as gopath

KILL_GRACE = 5.0  # seconds between the SIGTERM and the SIGKILL of a child
MONITOR_RETRIES = 3
MONITOR_RETRY_TIME = 1.0
SESSION_END_WAIT = 10.0  # how long to wait, at the end, for the session to be destroyed

LOCK_FLAGS = (
    IntFlag("n", "How many may hold the lock at once. 1 is a lock (one holder); more makes it a "
            "semaphore with that many slots. Every contender on a prefix must give the same number.",
            default=1),
    StringFlag("name", "Name of the session that holds the lock. Without it the name says which "
               "command holds the lock on which prefix."),
    BoolFlag("pass-stdin", "Give the child this command's standard input (otherwise it reads nothing)."),
    BoolFlag("shell", "Join the child's words and run them with the shell ($SHELL -c, or /bin/sh); "
             "with -shell=false the first word is the program and the rest its arguments.", default=True),
    DurationFlag("timeout", "Give up if the lock is not acquired within this time (\"30s\", \"5m\"); "
                 "0 waits for as long as it takes."),
    DurationFlag("try", "Old name of -timeout."),
    IntFlag("monitor-retry", "How many times in a row an error from the agent (HTTP 500 or no "
            "answer) is retried, 1 s apart, while watching a held lock, before the lock counts as "
            "lost. 0 gives it up at the first error.", default=MONITOR_RETRIES),
    BoolFlag("child-exit-code", "Exit 2 when the child fails (a non-zero exit, a signal, or it could "
             "not start); otherwise the command exits 0 whatever the child did."),
    BoolFlag("verbose", "Say what is happening at each step."),
)


class LockCommand(Command):
    synopsis = "Runs a command while holding a lock or semaphore"
    usage = """
Usage: {prog} lock [options] PREFIX CHILD...

  Waits until it holds the lock at PREFIX in the key-value store, then
  runs CHILD with CONSUL_LOCK_HELD=true in its environment, and releases
  the lock when CHILD ends. Only one of the commands locking PREFIX runs
  its child at a time: a hot standby for a service that must not run
  twice.

      $ {prog} lock service/cron/leader ./cron-runner

  With -n greater than 1, up to that many children may run at once (a
  semaphore); every contender on PREFIX must use the same -n.

      $ {prog} lock -n=3 jobs/thumbnails ./make-thumbnails

  If the lock is lost while CHILD runs (its session ends, the agent
  cannot be reached), CHILD is sent SIGTERM, then SIGKILL if it has not
  exited 5 seconds later. SIGINT and SIGTERM sent to this command are
  passed on to CHILD, which is then stopped the same way.

  PREFIX must be writable with the token used.
"""
    flag_groups = (LOCK_FLAGS, CLIENT_FLAGS, SERVER_FLAGS)

    def execute(self, parsed, console):
        if parsed.n <= 0:
            console.err("Lock holder limit must be positive")
            return 1
        if len(parsed.args) < 2:
            console.err("Key prefix and child command must be specified")
            return 1
        prefix = parsed.args[0]
        if prefix.startswith("/"):
            prefix = prefix[1:]
        child_args = parsed.args[1:]
        # -try is -timeout's old name; Go's two flags share one variable.
        timeout = parsed.values["try"] if parsed.is_set("try") and not parsed.is_set("timeout") else parsed.timeout
        if timeout < 0:
            console.err("Timeout must be positive")
            return 1
        name = parsed.name or "Consul lock for '%s' at '%s'" % (" ".join(child_args), prefix)
        if parsed.monitor_retry < 0:
            console.err("Number for 'monitor-retry' must be >= 0")
            return 1
        # The lock's reads choose their own consistency: -stale is not applied to them.
        config = dataclasses.replace(client_config(parsed, console.environ), stale=False)
        try:
            client = http.Client(config, transport=console.transport)
        except http.ApiError as error:
            console.err("Error connecting to Consul agent: %s" % error)
            return 1
        try:
            LocalAgent(client).node_name()
        except http.ApiError as error:
            console.err("Error querying Consul agent: %s" % error)
            return 1
        run = LockRun(console, parsed.verbose)
        options = Options(session_name=name, monitor_retries=parsed.monitor_retry,
                          monitor_retry_time=MONITOR_RETRY_TIME)
        if timeout > 0:
            options.try_once = True
            options.wait_time = timeout / duration.SECOND
        try:
            if parsed.n == 1:
                key = gopath.join(prefix, SEMAPHORE_KEY)
                run.info("Setting up lock at path: %s" % key)
                contender, in_use = Lock(key, options), LockInUse
            else:
                run.info("Setting up semaphore (limit %d) at prefix: %s" % (parsed.n, prefix))
                contender, in_use = Semaphore(prefix, parsed.n, options), SemaphoreInUse
        except LockError as error:
            console.err("Lock setup failed: %s" % error)
            return 1
        runner = ThreadRunner(lambda: http.Client(config, transport=console.transport))
        child = Child(child_args, parsed.shell, parsed.pass_stdin, run)
        status = run.hold(runner, contender, in_use, child)
        if status is None:
            # As in Consul, only a child that ended by itself makes it 2.
            status = 2 if parsed.child_exit_code and run.child_failed else 0
        return status


# ------------------------------------------------------------------- the run


class LockRun:
    """One acquisition, child and release, as Consul's lock command's Run."""

    def __init__(self, console, verbose):
        self.console = console
        self.verbose = verbose
        self.shutdown = Signal("shutdown")
        self.child = None
        self.child_failed = False  # the child ended by itself, and failed

    def info(self, text):
        if self.verbose:
            self.console.out(text)
            self.console.flush()

    def error(self, text):
        self.console.err(text)
        self.console.flush()

    def hold(self, runner, contender, in_use, child):
        """Acquire, run the child, release; an exit status, or None for
        "whatever the child's outcome makes it"."""
        self.child = child
        with _Signals(self._signalled):
            try:
                return self._hold(runner, contender, in_use, child)
            finally:
                # The renewal thread destroys the session once told to stop.
                if contender.renewer is not None:
                    runner.join(contender.renewer, SESSION_END_WAIT)

    def _hold(self, runner, contender, in_use, child):
        self.info("Attempting lock acquisition")
        try:
            lost = runner.run(contender.acquire(self.shutdown))
        except http.ApiError as error:
            self.error("Lock acquisition failed: %s" % error)
            return 1
        if lost is None:
            self.error("Shutdown triggered or timeout during lock acquisition")
            return 1
        if self.shutdown.is_set():
            self.error("Shutdown triggered during lock acquisition")
        else:
            child.start(self.console)
            first = _first_of(child.done, self.shutdown, lost)
            if first is child.done:
                self.child_failed = child.failed
                self.info("Child terminated, releasing lock")
            else:
                self.info("Shutdown triggered, killing child" if first is self.shutdown
                          else "Lock lost, killing child")
                child.stop()
        try:
            runner.run(contender.release())
        except http.ApiError as error:
            self.error("Lock release failed: %s" % error)
            return 1
        try:
            runner.run(contender.destroy())
        except in_use:
            self.info("Cleanup aborted, lock in use")
        except http.ApiError as error:
            self.error("Lock cleanup failed: %s" % error)
            return 1
        else:
            self.info("Cleanup succeeded")
        return None

    def _signalled(self, number):
        # Consul's agent.ForwardSignals passes the signal to a running child;
        # the shutdown then stops it (SIGTERM, grace period, SIGKILL).
        self.shutdown.set()
        self.child.forward(number)


def _first_of(*signals):
    """Wait until one of the signals is set; the one that was set first."""
    woken = threading.Event()
    first = []
    guard = threading.Lock()

    def wake(signal):
        with guard:
            first.append(signal)
        woken.set()

    cancels = [signal.listen(wake) for signal in signals]
    try:
        while not woken.wait(1.0):
            pass
    finally:
        for cancel in cancels:
            cancel()
    return first[0]


class _Signals:
    """SIGINT and SIGTERM handled while the lock is used (main thread only).

    The handler only queues the number (SimpleQueue.put is safe there); a
    thread of its own does the work, so no lock is ever taken in the handler.
    """

    NUMBERS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, handle):
        self.handle = handle
        self.previous = {}
        self.queue = queue.SimpleQueue()
        self.thread = None

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        self.thread = threading.Thread(target=self._watch, name="lock-signals", daemon=True)
        self.thread.start()
        for number in self.NUMBERS:
            self.previous[number] = signal.signal(number, self._queue)
        return self

    def _queue(self, number, frame):
        self.queue.put(number)

    def _watch(self):
        while True:
            number = self.queue.get()
            if number is None:
                return
            self.handle(number)

    def __exit__(self, *exc_info):
        for number, previous in self.previous.items():
            signal.signal(number, previous)
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join(5.0)
        return False


# ----------------------------------------------------------------- the child

# syscall.Signal.String() for the signals a child is likely to die of.
_SIGNAL_NAMES = {
    signal.SIGHUP: "hangup", signal.SIGINT: "interrupt", signal.SIGQUIT: "quit", signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault", signal.SIGPIPE: "broken pipe",
    signal.SIGABRT: "aborted", signal.SIGUSR1: "user defined signal 1", signal.SIGUSR2: "user defined signal 2",
}


def exit_text(status):
    """Go's ExitError text for a Popen return code (negative: the signal)."""
    if status < 0:
        return "signal: %s" % _SIGNAL_NAMES.get(-status, "signal %d" % -status)
    return "exit status %d" % status


def _errno_text(error):
    text = os.strerror(error.errno) if error.errno else str(error)
    return text[:1].lower() + text[1:]


def _fileno(stream):
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


class Child:
    """The child command: started once the lock is held, waited for by a
    thread of its own, which sets ``done``; ``failed`` if it exited non-zero,
    was killed by a signal or could not start."""

    def __init__(self, args, shell, pass_stdin, run):
        self.args = list(args)
        self.shell = shell
        self.pass_stdin = pass_stdin
        self.run = run
        self.process = None
        self.done = Signal("child")
        self.failed = False
        self._lock = threading.Lock()

    def argv(self, environ):
        if self.shell:
            # Consul's exec.Script: $SHELL -c, /bin/sh without SHELL.
            return [environ.get("SHELL") or "/bin/sh", "-c", " ".join(self.args)]
        return list(self.args)

    def start(self, console):
        run = self.run
        run.info("Starting handler")
        argv = self.argv(console.environ)
        program = argv[0]
        if "/" not in program:
            program = shutil.which(program, path=console.environ.get("PATH", os.defpath))
            if program is None:
                self._failed("Error starting handler: exec: %s: executable file not found in $PATH"
                             % strconv.quote(argv[0]))
                return
        environment = dict(console.environ)
        environment["CONSUL_LOCK_HELD"] = "true"
        stdin, data = subprocess.DEVNULL, None
        if self.pass_stdin:
            run.info("Stdin passed to handler process")
            stdin = _fileno(console.stdin)
            if stdin is None:
                stdin, data = subprocess.PIPE, console.read_stdin()
        stdout, stderr = _fileno(console.stdout), _fileno(console.stderr)
        console.flush()
        try:
            with self._lock:
                self.process = subprocess.Popen(
                    [argv[0]] + argv[1:], executable=program, stdin=stdin,
                    stdout=subprocess.PIPE if stdout is None else stdout,
                    stderr=subprocess.PIPE if stderr is None else stderr,
                    env=environment, cwd=console.cwd)
        except OSError as error:
            self._failed("Error starting handler: fork/exec %s: %s" % (program, _errno_text(error)))
            return
        threading.Thread(target=self._wait, args=(console, data), name="lock-child", daemon=True).start()

    def _failed(self, message):
        self.run.error(message)
        self.failed = True
        self.done.set()

    def _wait(self, console, data):
        out, err = self.process.communicate(data)
        if out:
            console.write_out(out)
        if err:
            console.write_err(err)
        status = self.process.returncode
        if status != 0:
            self.run.error("Error running handler: %s" % exit_text(status))
            self.failed = True
        self.done.set()

    def forward(self, number):
        with self._lock:
            if self.process is not None and not self.done.is_set():
                try:
                    self.process.send_signal(number)
                except OSError as error:
                    self.run.error("Warning, could not forward signal: failed to send signal %s: %s"
                                   % (strconv.quote(_SIGNAL_NAMES.get(number, str(number))), _errno_text(error)))

    def stop(self):
        """killChild: SIGTERM, then SIGKILL after the grace period."""
        run = self.run
        with self._lock:
            process = self.process
        if process is None:
            run.info("No child process to kill")
            return
        run.info("Terminating child pid %d" % process.pid)
        if not self._signal(process, signal.SIGTERM, "Failed to terminate %d: %s"):
            return
        if _wait_for(self.done, KILL_GRACE):
            run.info("Child terminated")
            return
        run.info("Child did not exit after grace period of %s"
                 % duration.format_duration(int(KILL_GRACE * duration.SECOND)))
        run.info("Killing child pid %d" % process.pid)
        if self._signal(process, signal.SIGKILL, "Failed to kill %d: %s"):
            _wait_for(self.done, KILL_GRACE)

    def _signal(self, process, number, failure):
        if self.done.is_set():
            return True
        try:
            process.send_signal(number)
        except OSError as error:
            self.run.error(failure % (process.pid, _errno_text(error)))
            return False
        return True


def _wait_for(signal_, seconds):
    woken = threading.Event()
    cancel = signal_.listen(lambda _: woken.set())
    try:
        return woken.wait(seconds)
    finally:
        cancel()


command = LockCommand()
