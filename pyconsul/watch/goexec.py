"""How Go's os/exec words what happened to a handler it ran, for the logs
and messages of both the agent's handlers and ``pyconsul watch``."""

import os
import shutil
import signal

from pyconsul.golang import strconv

# syscall.Signal.String() for the signals a handler is likely to die of.
_SIGNAL_NAMES = {
    signal.SIGHUP: "hangup", signal.SIGINT: "interrupt", signal.SIGQUIT: "quit", signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault", signal.SIGPIPE: "broken pipe",
    signal.SIGABRT: "aborted", signal.SIGUSR1: "user defined signal 1", signal.SIGUSR2: "user defined signal 2",
}


def exit_text(status):
    """ExitError's text for a wait status as subprocess gives it (negative:
    killed by that signal): ``exit status 2``, ``signal: killed``."""
    if status < 0:
        return "signal: %s" % _SIGNAL_NAMES.get(-status, "signal %d" % -status)
    return "exit status %d" % status


def look_path(program, environ):
    """exec.LookPath: a name with a slash as it is, else searched in PATH;
    None when not found."""
    if "/" in program:
        return program
    return shutil.which(program, path=environ.get("PATH", os.defpath))


def not_found(program):
    return "exec: %s: executable file not found in $PATH" % strconv.quote(program)


def shell_argv(command, environ):
    """Consul's exec.Script: ``$SHELL -c command``, /bin/sh without SHELL."""
    return [environ.get("SHELL") or "/bin/sh", "-c", command]
