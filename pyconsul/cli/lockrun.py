"""Runs the programs of :mod:`pyconsul.cli.lockapi` on threads, with the
synchronous HTTP client: the program that acquires runs in the caller's
thread, and what it spawns (the session renewal, the lock monitor) each in
a daemon thread of its own. Each thread has a client of its own, so a
blocking read in one never holds up a request in another.

``Sleep`` waits on an event that any of its wake signals sets; nothing
sleeps blindly.
"""

import threading
import time

from pyconsul.cli.http import ApiError
from pyconsul.cli.lockapi import Call, Now, Sleep, Spawn, Task


class ThreadRunner:
    def __init__(self, make_client, clock=time.monotonic):
        self.make_client = make_client
        self.clock = clock
        self._local = threading.local()
        self.threads = []

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self.make_client()
        return client

    def run(self, program):
        """Run ``program`` to its end in this thread; its result (or its exception)."""
        value, error = None, None
        while True:
            try:
                effect = program.throw(error) if error is not None else program.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            if isinstance(effect, Call):
                try:
                    value = self._client().request(effect.method, effect.path, effect.params, effect.body,
                                                   list(effect.headers))
                except ApiError as failure:
                    error = failure
            elif isinstance(effect, Sleep):
                value = self._sleep(effect)
            elif isinstance(effect, Now):
                value = self.clock()
            elif isinstance(effect, Spawn):
                value = self.spawn(effect.program, effect.name)
            else:
                error = TypeError("unknown effect %r" % (effect,))

    def spawn(self, program, name=""):
        task = Task(name)

        def body():
            try:
                result = self.run(program)
            except Exception as failure:  # the task records it; nobody else would see it
                task.finish(error=failure)
            else:
                task.finish(result=result)

        thread = threading.Thread(target=body, name="lock-%s" % name, daemon=True)
        self.threads.append((task, thread))
        thread.start()
        return task

    @staticmethod
    def _sleep(effect):
        woken = threading.Event()
        woke = []

        def wake(signal):
            woke.append(signal)
            woken.set()

        cancels = [signal.listen(wake) for signal in effect.wake]
        try:
            woken.wait(effect.seconds)
        finally:
            for cancel in cancels:
                cancel()
        return woke[0] if woke else None

    def join(self, task, timeout):
        """Wait (at most ``timeout`` seconds) for a spawned task's thread."""
        for known, thread in self.threads:
            if known is task:
                thread.join(timeout)
                return not thread.is_alive()
        return True
