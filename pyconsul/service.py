"""The agent's service tree and the order in which it starts and stops.

Start: the server (Raft and the state store) first, then gossip and the
listeners, so no request arrives before there is something to answer it.

Stop, and why it matters: peers tell a clean leave from a failure only by
the leave message gossip sends. So when the agent should leave (Ctrl-C on a
client, SIGTERM with leave_on_terminate, or /v1/agent/leave), it first
gossips its leave and waits for it to go out (bounded), and only then stops
the listeners, gossip and the server. When it should not (a server's Ctrl-C
by default, so restarts keep the quorum), it simply stops: its peers will see
it fail, exactly as if it had been killed. A second SIGINT or SIGTERM while
it waits for the leave stops it at once, as Consul's does. SIGHUP reloads.
"""

import fcntl
import os
import signal

from twisted.application.service import MultiService, Service
from twisted.internet.defer import CancelledError, Deferred, TimeoutError, inlineCallbacks, maybeDeferred
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


class GossipService(Service):
    """A gossip pool's UDP and TCP ports (the LAN's, or a server's WAN's)."""

    def __init__(self, driver, interface, port, pool="LAN"):
        self.driver = driver
        self.interface = interface
        self.port = port
        self.pool = pool

    def startService(self):
        try:
            self.driver.start(self.interface, self.port)
        except CannotListenError as e:
            what = "gossip" if self.pool == "LAN" else "WAN gossip"
            raise StartError(
                "cannot listen for %s on %s:%d: %s" % (what, self.interface, self.port, e.socketError)
            )
        super().startService()

    def stopService(self):
        super().stopService()
        return self.driver.stop()


class JoinService(Service):
    """``-join`` once at start; ``-retry-join`` until it works, backing off
    (with ``wan``, ``-join-wan`` and ``-retry-join-wan``)."""

    log = Logger()
    FIRST_RETRY = 1.0
    MAX_RETRY = 30.0  # Consul's retry_interval

    def __init__(self, agent, clock, start_join=(), retry_join=(), wan=False):
        self.agent = agent
        self.pool = "WAN" if wan else "LAN"
        self._join = (lambda addresses: agent.join(addresses, wan=True)) if wan else agent.join
        self.clock = clock
        self.start_join = list(start_join)
        self.retry_join = list(retry_join)
        self._retry = None
        self._delay = self.FIRST_RETRY

    def startService(self):
        super().startService()
        if self.start_join:
            d = self._join(self.start_join)
            d.addCallbacks(self._joined, self._start_join_failed)
        if self.retry_join:
            self._attempt()

    def _joined(self, count):
        self.log.info("Join completed ({pool}): contacted {count} nodes", pool=self.pool, count=count)

    def _start_join_failed(self, failure):
        self.log.error("Join failed ({pool}): {error}", pool=self.pool, error=failure.value)

    def _attempt(self):
        self._retry = None
        d = self._join(self.retry_join)
        d.addCallbacks(self._joined, self._retry_later)

    def _retry_later(self, failure):
        if not self.running:
            return
        self.log.warn(
            "Join failed ({pool}): {error}; retrying in {delay:.0f} s", pool=self.pool, error=failure.value,
            delay=self._delay,
        )
        self._retry = self.clock.callLater(self._delay, self._attempt)
        self._delay = min(self._delay * 2, self.MAX_RETRY)

    def stopService(self):
        super().stopService()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()


class CallbackService(Service):
    """A part of the agent that only needs to be told to start and stop."""

    def __init__(self, start, stop):
        self._start = start
        self._stop = stop

    def startService(self):
        super().startService()
        self._start()

    def stopService(self):
        super().stopService()
        return self._stop()


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
    LEAVE_TIMEOUT = 30.0  # a leave that cannot get out in this time is given up

    def __init__(
        self,
        config,
        clock,
        agent=None,
        server=None,
        gossip=None,
        listeners=(),
        pools=(),
        joiner=None,
        extras=(),
        on_stopped=None,
        reload=None,
        wan_gossip=None,
        wan_joiner=None,
    ):
        super().__init__()
        self.config = config
        self.clock = clock
        self.agent = agent
        self.server = server
        self.gossip = gossip
        self.wan_gossip = wan_gossip  # a server's WAN pool
        self.joiner = joiner
        self.wan_joiner = wan_joiner
        self.pools = list(pools)
        self.listeners = list(listeners)
        # Started last, stopped first: parts that use everything above.
        self.extras = list(extras)
        self.on_stopped = on_stopped
        # () -> a line saying what changed; raises ConfigError for a bad file.
        self.reload = reload
        # Why we are stopping: "interrupt" (SIGINT), "terminate" (SIGTERM),
        # or None (the agent left through the API, or the reactor stopped).
        self.stop_reason = None
        self._forced = False  # a second signal: stop without leaving
        self._leaving = None  # the leave being waited for, while it is
        for child in [*self.pools, gossip, wan_gossip, *self.listeners, joiner, wan_joiner, *self.extras]:
            if child is not None:
                child.setServiceParent(self)

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
        started = []
        try:
            for child in [self.gossip, self.wan_gossip, *self.listeners]:
                if child is not None:
                    child.startService()
                    started.append(child)
        except StartError as error:
            for child in started:
                child.stopService()
            # One line for the user, and a non-zero exit: not a traceback.
            raise SystemExit("pyconsul: %s" % error)
        for extra in self.extras:
            extra.startService()
        for joiner in (self.joiner, self.wan_joiner):
            if joiner is not None:
                joiner.startService()

    def take_signals(self, reactor):
        """Handle SIGINT, SIGTERM and SIGHUP as Consul does. Called once the
        reactor runs, so these replace the reactor's own handlers.

        They are taken even when the process inherited them ignored (a
        background job of a script, nohup): Twisted leaves an ignored SIGINT
        alone, and Ctrl-C would then never make the node leave.
        """

        def handler(number, frame):
            # Signal context: only hand the signal over to the reactor.
            reactor.callFromThread(self.signalled, number, reactor)

        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, handler)

    def signalled(self, number, reactor):
        name = signal.Signals(number).name
        if number == signal.SIGHUP:
            self.log.info("Caught signal: {signal}", signal=name)
            self.reload_config()
        elif self.stop_reason is not None or not self.running or (self.agent is not None and self.agent.left):
            # Already stopping. As Consul: a second signal during a graceful leave stops now.
            self.log.warn("Caught second signal {signal}; stopping without waiting for the leave", signal=name)
            self._forced = True
            if self._leaving is not None:
                self._leaving.cancel()
        else:
            self.log.info("Caught signal: {signal}", signal=name)
            self.stop_reason = "interrupt" if number == signal.SIGINT else "terminate"
            # The reactor's own handler: it stops, and twistd then exits by
            # this signal, as a process killed by it would.
            (reactor.sigInt if number == signal.SIGINT else reactor.sigTerm)(number)

    def reload_config(self):
        if self.reload is None:
            self.log.info("Nothing to reload")
            return
        try:
            changed = self.reload()
        except Exception as error:  # a bad file must not stop a running agent
            self.log.error("Failed to reload the configuration: {error}", error=error)
        else:
            self.log.info("Reloaded the configuration: {changed}", changed=changed)

    def should_leave(self):
        if self.agent is None or self.agent.left or self._forced:
            return False
        if self.stop_reason == "interrupt":
            return not self.config.skip_leave_on_interrupt
        if self.stop_reason == "terminate":
            return self.config.leave_on_terminate
        return False

    def _left(self, result):
        if self._leaving is not None and not self._leaving.called:
            self._leaving.callback(result)

    @inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        if self.should_leave():
            self.log.info("Gracefully leaving the cluster")
            # Waited for through a Deferred of its own: a second signal
            # cancels the wait, not the leave (cancelling the leave would
            # only make it skip a step and go on).
            self._leaving = Deferred()
            self.agent.leave().addTimeout(self.LEAVE_TIMEOUT, self.clock).addBoth(self._left)
            try:
                yield self._leaving
                self.log.info("Graceful leave complete")
            except TimeoutError:
                self.log.warn("The leave did not finish in {t:.0f} s; stopping", t=self.LEAVE_TIMEOUT)
            except CancelledError:
                pass  # a second signal: stop now
            finally:
                self._leaving = None
        for joiner in (self.joiner, self.wan_joiner):
            if joiner is not None and joiner.running:
                joiner.stopService()
        for extra in reversed(self.extras):
            if extra.running:
                yield maybeDeferred(extra.stopService)
        for child in [*reversed(self.listeners), self.wan_gossip, self.gossip]:
            if child is not None and child.running:
                yield maybeDeferred(child.stopService)
        if self.server is not None:
            yield self.server.stop()
        for pool in reversed(self.pools):
            if pool.running:
                pool.stopService()
        if self.on_stopped is not None:
            self.on_stopped()
        self.log.info("pyconsul agent {node} stopped", node=self.config.node_name)
