"""Where the lock tests run the lock programs: a real in-process agent
(``pyconsul.testing.server.InMemoryServer``: Raft, state store, session
TTL timers, lock-delays, blocking queries), reached through StubTreq.

``VirtualRunner`` runs the programs of ``pyconsul.cli.lockapi`` on the
server's fake clock: any number of them side by side, each request sent to
the HTTP API, each ``Sleep`` a ``callLater``. Time moves only in
``run_until``, so a test of a 30 s TTL or a 15 s lock-delay takes
milliseconds and always interleaves the same way. Programs started in one
``group`` (a contender and what it spawns) can be frozen together, as a
``kill -9`` of the process running them would.

``RealTimeTransport`` serves the synchronous client (``round_trip``) from
any thread, the server's clock following the wall clock, for the tests
of the whole command with its threads and child processes.
"""

import json
import threading
import time

from treq.testing import StubTreq

from pyconsul.cli.http import RequestError, Response, TransportError, encode_query, escape_path
from pyconsul.cli.lockapi import Call, Now, Sleep, Spawn, Task
from pyconsul.testing.server import InMemoryServer

BASE = "http://127.0.0.1:8500"
STEP = 0.05


def _target(call):
    target = escape_path(call.path)
    if call.params:
        target += "?" + encode_query(call.params)
    return target


def _headers(response):
    return {name.decode().lower(): values[0].decode() for name, values in response.headers.getAllRawHeaders()}


def _collect(d):
    return d.addCallback(lambda response: response.content().addCallback(
        lambda body: Response(response.code, _headers(response), body)))


class VirtualTask(Task):
    def __init__(self, program, name, group):
        super().__init__(name)
        self.program = program
        self.group = group


class VirtualRunner:
    def __init__(self, server=None):
        self.server = server or InMemoryServer()
        self.clock = self.server.clock
        self.treq = StubTreq(self.server.http.resource())
        self.log = []  # (group, task name, method, target, status or None)
        self.faults = []  # (task, call) -> Response, exception or None (None: ask the server)
        self.frozen = set()
        self.tasks = []

    # -- running programs ------------------------------------------------------

    def start(self, program, name="main", group="main"):
        task = VirtualTask(program, name, group)
        self.tasks.append(task)
        self.clock.callLater(0, self._resume, task)
        return task

    def freeze(self, group):
        """Never resume the group's programs again (their process was killed)."""
        self.frozen.add(group)

    def _resume(self, task, value=None, error=None):
        if task.group in self.frozen:
            return
        while True:
            try:
                effect = task.program.throw(error) if error is not None else task.program.send(value)
            except StopIteration as stop:
                task.finish(result=stop.value)
                return
            except Exception as failure:
                task.finish(error=failure)
                return
            value, error = None, None
            if isinstance(effect, Now):
                value = self.clock.seconds()
            elif isinstance(effect, Spawn):
                value = self.start(effect.program, effect.name, task.group)
            elif isinstance(effect, Sleep):
                self._sleep(task, effect)
                return
            elif isinstance(effect, Call):
                self._call(task, effect)
                return
            else:
                error = TypeError("unknown effect %r" % (effect,))

    def _sleep(self, task, sleep):
        woke = []

        def wake(signal):
            if woke:
                return
            woke.append(signal)
            if timer.active():
                timer.cancel()
            for cancel in cancels:
                cancel()
            self.clock.callLater(0, self._resume, task, signal)

        timer = self.clock.callLater(sleep.seconds, wake, None)
        cancels = []
        cancels.extend(signal.listen(wake) for signal in sleep.wake)

    def _call(self, task, call):
        target = _target(call)
        entry = [task.group, task.name, call.method, target, None]
        self.log.append(entry)
        for fault in self.faults:
            answer = fault(task, call)
            if answer is None:
                continue
            if isinstance(answer, Exception):
                self.clock.callLater(0, self._resume, task, None, answer)
            else:
                entry[4] = answer.status
                self.clock.callLater(0, self._resume, task, answer)
            return
        d = _collect(self.treq.request(call.method, BASE + target, data=call.body or b"",
                                       headers=dict(call.headers), allow_redirects=False))

        def answered(response):
            entry[4] = response.status
            self._resume(task, response)

        d.addCallbacks(answered, lambda failure: self._resume(task, None, RequestError(failure.getErrorMessage())))

    # -- time ------------------------------------------------------------------

    def now(self):
        return self.clock.seconds()

    def step(self, seconds=STEP):
        self.server.advance(seconds)
        self.treq.flush()
        self.server.advance(0)
        self.treq.flush()

    def run_until(self, condition, within=120.0, what="the condition"):
        """Move virtual time on until condition() is true (at most ``within`` s)."""
        deadline = self.now() + within
        while not condition():
            if self.now() > deadline:
                raise AssertionError("%s did not happen within %s virtual seconds" % (what, within))
            self.step()

    def run_for(self, seconds):
        deadline = self.now() + seconds
        while self.now() < deadline:
            self.step()

    def finish(self, task, within=120.0):
        """Run until task ends; its result (its exception is raised)."""
        self.run_until(task.finished.is_set, within, "the end of %s" % task.name)
        if task.error is not None:
            raise task.error
        return task.result

    def run(self, program, within=120.0, group="main"):
        return self.finish(self.start(program, group=group), within)

    # -- looking at the server -------------------------------------------------

    def http(self, method, path, body=b""):
        d = _collect(self.treq.request(method, BASE + path, data=body, allow_redirects=False))
        answers = []
        d.addCallback(answers.append)
        for _ in range(200):
            if answers:
                return answers[0]
            self.step(0.01)
        raise AssertionError("no answer to %s %s" % (method, path))

    def json(self, method, path, body=b""):
        response = self.http(method, path, body)
        return json.loads(response.body) if response.status == 200 else None

    def kv(self, key):
        """The entry at key as the API shows it, or None."""
        entries = self.json("GET", "/v1/kv/" + key)
        return entries[0] if entries else None

    def kv_keys(self, prefix=""):
        return self.json("GET", "/v1/kv/" + prefix + "?keys") or []

    def sessions(self):
        return {session["ID"]: session for session in self.json("GET", "/v1/session/list") or ()}

    def requests(self, group=None, name=None):
        return [(method, target) for g, n, method, target, _ in self.log
                if (group is None or g == group) and (name is None or n == name)]


class RealTimeTransport:
    """The in-memory server as a transport for ``pyconsul.cli.http.Client``,
    usable from several threads at once; its clock keeps up with real time
    whenever someone is waiting for an answer."""

    POLL = 0.002

    def __init__(self, server=None):
        self.server = server or InMemoryServer()
        self.treq = StubTreq(self.server.http.resource())
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.base = self.server.clock.seconds()
        self.requests = []

    def _pump(self):
        behind = self.base + (time.monotonic() - self.started) - self.server.clock.seconds()
        self.server.advance(max(behind, 0.0))
        self.treq.flush()

    def round_trip(self, request):
        answers = []
        with self.lock:
            self.requests.append((request.method, request.target))
            d = _collect(self.treq.request(request.method, BASE + request.target, data=request.body or b"",
                                           headers=dict(request.headers), allow_redirects=False))
            d.addBoth(answers.append)
        while True:
            with self.lock:
                self._pump()
                if answers:
                    break
            time.sleep(self.POLL)  # the answer comes from this loop's own pumping
        answer = answers[0]
        if not isinstance(answer, Response):
            raise TransportError(answer.getErrorMessage())
        return answer
