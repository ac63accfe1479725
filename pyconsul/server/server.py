"""The server role of an agent: the Raft driver, the state store and the
duties of a leader, behind two calls the RPC endpoints use: ``apply`` for a
write and ``read_ready`` before a read."""

from twisted.internet.defer import Deferred, fail, succeed
from pyconsul.logs import Logger

from pyconsul.core.raft import NotLeader, Role
from pyconsul.server.errors import NoClusterLeader, RPCError
from pyconsul.server.tombstones import TombstoneGC
from pyconsul.state import commands

# How long a request waits for a leader before failing (Consul's
# rpc_hold_timeout): elections usually finish well within it.
RPC_HOLD_TIMEOUT = 7.0
COMMIT_TIMEOUT = 30.0


class ConsulServer:
    log = Logger()

    def __init__(self, *, driver, fsm, clock, hold_timeout=RPC_HOLD_TIMEOUT):
        self.driver = driver
        self.fsm = fsm
        self.store = fsm.store
        self.clock = clock
        self.hold_timeout = hold_timeout
        self.tombstones = TombstoneGC(clock, reap=self._reap_tombstones)
        self._leader_waiters = []
        self.leadership_listeners = []  # called with True / False as leadership comes and goes
        driver.on_leadership = self._leadership_changed
        driver.on_leader_known = self._leader_known
        fsm.on_tombstone = self.tombstones.hint

    def start(self):
        self.driver.start()

    def stop(self):
        self.tombstones.set_enabled(False)
        self._release_leader_waiters()
        return self.driver.stop()

    # -- leadership --------------------------------------------------------------

    def _leadership_changed(self, role):
        leading = role is Role.LEADER
        self.tombstones.set_enabled(leading)
        if leading:
            # A new leader does not know when existing tombstones were made:
            # it gives all of them a full TTL from now.
            self.tombstones.hint(self.store.kv.tombstones_index)
        for listener in list(self.leadership_listeners):
            listener(leading)

    def _leader_known(self):
        self._release_leader_waiters()

    def _release_leader_waiters(self):
        waiters, self._leader_waiters = self._leader_waiters, []
        for d in waiters:
            d.callback(None)

    def wait_for_leader(self):
        """Fires when a leader is known, or after the hold timeout."""
        if self.driver.known_leader:
            return succeed(None)
        d = Deferred()
        self._leader_waiters.append(d)

        def give_up():
            self._leader_waiters.remove(d)
            d.callback(None)

        timer = self.clock.callLater(self.hold_timeout, give_up)

        def stop_timer(result):
            if timer.active():
                timer.cancel()
            return result

        return d.addBoth(stop_timer)

    def _leader(self):
        """None when this server leads; otherwise a Deferred that waits for
        a leader and fails unless it is this server."""
        if self.driver.is_leader:
            return None
        return self.wait_for_leader().addCallback(self._check_leader)

    def _check_leader(self, _):
        if not self.driver.known_leader:
            raise NoClusterLeader()
        if not self.driver.is_leader:
            # The endpoints forward to the leader before coming here; this
            # server lost the leadership in between: the caller may retry.
            raise RPCError("leadership lost while handling the request; %s leads now"
                           % (self.driver.leader_address or "no server"))

    # -- the two calls -----------------------------------------------------------

    def apply(self, command):
        """Replicate ``command`` through Raft; a Deferred of its result."""
        waiting = self._leader()
        if waiting is None:
            return self._propose(command)
        return waiting.addCallback(lambda _: self._propose(command))

    def _propose(self, command):
        try:
            d = self.driver.propose(command)
        except NotLeader:
            return fail(NoClusterLeader())
        # A leader cut off from its quorum steps down (check-quorum) and the
        # write fails; this bound is the last resort should that not happen.
        return d.addTimeout(COMMIT_TIMEOUT, self.clock, onTimeoutCancel=self._commit_timed_out)

    @staticmethod
    def _commit_timed_out(result, timeout):
        raise RPCError("timed out after %.0f s waiting for the write to commit; it may still be applied" % timeout)

    def read_ready(self, consistency):
        """None if a read in this consistency mode may use the local store
        now, else a Deferred that fires when it may.

        ``stale``: at once, whatever this server has. ``default``: on the
        leader, once it has applied everything committed before its term.
        ``consistent``: additionally after a quorum confirms the leadership.
        """
        if consistency == "stale":
            return None
        waiting = self._leader()
        if waiting is None:
            return self._read_point(consistency)
        return waiting.addCallback(lambda _: self._read_point(consistency))

    def _read_point(self, consistency):
        try:
            if consistency == "consistent":
                return self.driver.read_index()
            return self.driver.barrier()
        except NotLeader:
            return fail(NoClusterLeader())

    def query_meta(self):
        """What every read answers about the leader's freshness."""
        last_contact = self.driver.last_contact()
        return {
            "KnownLeader": self.driver.known_leader,
            "LastContact": 0 if last_contact is None else int(last_contact * 1000),
        }

    # -- leader duties ---------------------------------------------------------------

    def _reap_tombstones(self, index):
        if not self.driver.is_leader:
            return None
        return self.apply(commands.tombstone_reap(index))
