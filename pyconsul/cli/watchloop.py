"""The watch command's loop: a watch plan driven by the synchronous client.

:func:`run_watch` asks, hands each answer to the plan
(:mod:`pyconsul.watch.plan`), and for each change calls the handler:
:class:`PrintHandler` prints the view and ends the watch (exit 0);
:class:`ChildHandler` runs the child command, waits for it and goes on (a
child that fails or cannot start ends it with exit 1). A request that
fails is logged on stderr, as Consul's watch logs it, and retried after
the plan's back-off. SIGINT or SIGTERM ends the watch with exit 0, the
signal passed on to a child that is running, as Consul does.

``sleep`` is module state so that tests can replace it.
"""

import os
import signal
import subprocess
import threading
import time

from pyconsul.cli.http import ApiError
from pyconsul.golang import duration, strconv
from pyconsul.golang import json as go_json
from pyconsul.watch.goexec import exit_text, look_path, not_found, shell_argv
from pyconsul.watch.plan import Fire, Plan, Retry

sleep = time.sleep


class Stop(Exception):
    """A handler ended the watch; ``status`` is the exit status."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class _Signalled(Exception):
    def __init__(self, number):
        super().__init__(number)
        self.number = number


def run_watch(query, client, handler, console):
    """Watch until a handler stops it or a signal comes; the exit status."""
    plan = Plan(query)
    with _stop_signals():
        try:
            while True:
                _step(plan, client, handler, console)
        except Stop as stop:
            return stop.status
        except KeyboardInterrupt:
            handler.interrupted(signal.SIGINT)
            return 0
        except _Signalled as signalled:
            handler.interrupted(signalled.number)
            return 0


def _step(plan, client, handler, console):
    request = plan.request()
    try:
        response = client.request("GET", request.path, params=request.params, headers=list(request.headers))
    except ApiError as error:
        effect = plan.failed(str(error))
    else:
        effect = plan.answered(response.status, response.header("X-Consul-Index"), response.body)
    if isinstance(effect, Retry):
        console.err(log_line("ERROR", "Watch errored", type=plan.query.type, error=effect.error,
                             retry=duration.format_duration(int(effect.delay * duration.SECOND))))
        console.flush()
        sleep(effect.delay)
    elif isinstance(effect, Fire):
        handler(effect.index, effect.result)


def log_line(level, message, **fields):
    """One line as hclog writes it: time, [LEVEL], name: message, key=value."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
    stamp += ".%03d%s" % (int(now * 1000) % 1000, time.strftime("%z", time.localtime(now)))
    parts = ["%s [%s] watch: %s:" % (stamp, level, message)]
    for name, value in fields.items():
        text = str(value)
        parts.append("%s=%s" % (name, strconv.quote(text) if (" " in text or '"' in text or not text) else text))
    return " ".join(parts)


class _stop_signals:
    """SIGTERM raises _Signalled while the watch runs (SIGINT already raises
    KeyboardInterrupt); the previous handler comes back afterwards."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(number, frame):
        raise _Signalled(number)

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


class PrintHandler:
    """No child: print the view, Go's MarshalIndent with four spaces, and stop."""

    def __init__(self, console):
        self.console = console

    def __call__(self, index, result):
        self.console.out(go_json.marshal_indent(result, "    "))
        raise Stop(0)

    def interrupted(self, number):
        pass


class ChildHandler:
    """Run the child for each change: the view on stdin, CONSUL_INDEX set."""

    def __init__(self, args, shell, console):
        self.args = list(args)
        self.shell = shell
        self.console = console
        self.running = None  # the child's Popen while it runs

    def argv(self):
        if self.shell:
            return shell_argv(" ".join(self.args), self.console.environ)
        return self.args

    def __call__(self, index, result):
        console = self.console
        argv = self.argv()
        program = look_path(argv[0], console.environ)
        if program is None:
            console.err("Error starting handler: %s" % not_found(argv[0]))
            raise Stop(1)
        environment = dict(console.environ)
        environment["CONSUL_INDEX"] = str(index)
        console.flush()
        stdout, stderr = _stream(console.stdout), _stream(console.stderr)
        try:
            self.running = subprocess.Popen([program] + argv[1:], executable=program, stdin=subprocess.PIPE,
                                            stdout=stdout, stderr=stderr, env=environment, cwd=console.cwd)
        except OSError as error:
            console.err("Error starting handler: fork/exec %s: %s" % (program, _errno_text(error)))
            raise Stop(1)
        out, err = self.running.communicate((go_json.marshal(result) + "\n").encode("utf-8", "surrogateescape"))
        status, self.running = self.running.returncode, None
        if out:
            console.write_out(out)
        if err:
            console.write_err(err)
        if status != 0:
            console.err("Error executing handler: %s" % exit_text(status))
            raise Stop(1)

    def interrupted(self, number):
        # Consul passes the signal on to the child, and exits without waiting.
        if self.running is not None and self.running.poll() is None:
            self.running.send_signal(number)


def _stream(stream):
    """The child writes straight to a real stream; to a pipe otherwise (tests)."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return subprocess.PIPE
    return stream


def _errno_text(error):
    text = os.strerror(error.errno) if error.errno else str(error)
    return text[:1].lower() + text[1:]
