"""Fakes for the check runners' collaborators: a twisted.web agent, a TCP
connector and a process spawner, driven by the tests."""

import signal

from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone

from pyconsul.agent.checks.script import SpawnError


class FakeAgent:
    def __init__(self):
        self.requests = []

    def request(self, method, uri, headers=None, bodyProducer=None):
        answer = Deferred(lambda d: self.requests[-1].__setitem__("cancelled", True))
        self.requests.append({"method": method, "uri": uri, "headers": headers, "body": bodyProducer,
                              "answer": answer, "cancelled": False})
        return answer


class FakeBodyTransport:
    stopped = False

    def stopProducing(self):
        self.stopped = True


class FakeResponse:
    def __init__(self, code, phrase=b"OK"):
        self.code = code
        self.phrase = phrase
        self.protocol = None
        self.transport = FakeBodyTransport()

    def deliverBody(self, protocol):
        self.protocol = protocol
        protocol.makeConnection(self.transport)

    def send(self, *chunks, end=ResponseDone):
        for chunk in chunks:
            self.protocol.dataReceived(chunk)
        if end is not None:
            self.protocol.connectionLost(Failure(end()))


class FakeConnector:
    def __init__(self):
        self.attempts = []

    def connect(self, host, port):
        attempt = Deferred(lambda d: self.attempts[-1].append("cancelled"))
        self.attempts.append([host, port, attempt])
        return attempt


class FakeTransport:
    pid = 4242  # a real transport's pid, until the process is reaped

    def __init__(self):
        self.stdin_closed = False

    def closeStdin(self):
        self.stdin_closed = True


class FakeSession:
    def __init__(self, protocol):
        self.protocol = protocol
        self.signals = []
        self.closed = False
        protocol.makeConnection(FakeTransport())

    def kill_group(self, signum=signal.SIGKILL):
        self.signals.append(signum)

    def close(self):
        self.closed = True

    def output(self, data, err=False):
        (self.protocol.errReceived if err else self.protocol.outReceived)(data)

    def exit(self, code):
        reason = ProcessDone(0) if code == 0 else ProcessTerminated(exitCode=code)
        self.protocol.processEnded(Failure(reason))

    def killed(self, signum):
        self.protocol.processEnded(Failure(ProcessTerminated(signal=signum)))


class FakeSpawner:
    def __init__(self):
        self.sessions = []
        self.refusal = None

    def spawn(self, protocol, args):
        if self.refusal is not None:
            raise SpawnError(self.refusal)
        session = FakeSession(protocol)
        session.args = args
        self.sessions.append(session)
        return session
