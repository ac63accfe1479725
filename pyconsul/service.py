"""The agent's service tree and the order in which it starts and stops.

Start: the server (Raft and the state store) first, then the listeners, so
no request arrives before there is something to answer it. Stop: the
listeners first, then the server, which waits for its last disk write.
"""

import fcntl
import os

from twisted.application.service import MultiService, Service
from twisted.internet.defer import inlineCallbacks, maybeDeferred
from twisted.internet.error import CannotListenError

from pyconsul.logs import Logger


class StartError(Exception):
    """The agent cannot start; the message says why, for the user."""


class ListeningService(Service):
    """Listens on one address as soon as it starts, so a port that is taken
    fails the start-up at once rather than leaving a half-started agent."""

    def __init__(self, what, listen, address, port):
        self.what = what
        self._listen = listen  # () -> IListeningPort
        self.address = address
        self.port = port
        self.listening = None

    def startService(self):
        try:
            self.listening = self._listen()
        except CannotListenError as e:
            raise StartError(
                "cannot listen for %s on %s:%d: %s" % (self.what, self.address, self.port, e.socketError)
            )
        super().startService()

    def stopService(self):
        super().stopService()
        if self.listening is not None:
            return self.listening.stopListening()


class ThreadPoolService(Service):
    def __init__(self, pool):
        self.pool = pool

    def startService(self):
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        self.pool.stop()


class DataDirLock:
    """One agent per data directory: a second one would corrupt the log."""

    def __init__(self, data_dir):
        self.path = os.path.join(data_dir, "pyconsul.lock")
        self._file = None

    def acquire(self):
        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            self._file = None
            raise StartError(
                "the data directory %s is in use by another agent (pid %s)"
                % (os.path.dirname(self.path), holder)
            )
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class AgentService(MultiService):
    log = Logger()

    def __init__(self, config, server=None, listeners=(), pools=(), on_stopped=None):
        super().__init__()
        self.config = config
        self.server = server
        self.pools = list(pools)
        self.listeners = list(listeners)
        self.on_stopped = on_stopped
        for pool in self.pools:
            pool.setServiceParent(self)
        for listener in self.listeners:
            listener.setServiceParent(self)

    def startService(self):
        self.log.info(
            "pyconsul agent {node} ({mode}) starting in datacenter {dc}",
            node=self.config.node_name,
            mode="server" if self.config.server else "client",
            dc=self.config.datacenter,
        )
        Service.startService(self)
        for pool in self.pools:
            pool.startService()
        if self.server is not None:
            self.server.start()
        try:
            for listener in self.listeners:
                listener.startService()
        except StartError:
            for listener in self.listeners:
                if listener.running:
                    listener.stopService()
            raise

    @inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        for listener in reversed(self.listeners):
            if listener.running:
                yield maybeDeferred(listener.stopService)
        if self.server is not None:
            yield self.server.stop()
        for pool in reversed(self.pools):
            if pool.running:
                pool.stopService()
        if self.on_stopped is not None:
            self.on_stopped()
        self.log.info("pyconsul agent {node} stopped", node=self.config.node_name)
