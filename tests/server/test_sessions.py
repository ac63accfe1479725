"""The session RPC endpoints and the leader's duties for them: TTL timers
(2 x TTL, restarted by a renewal and by a new leader) and the lock-delay
check before a lock is written.

Single-server tests run on :class:`InMemoryServer` (whose own node,
``node-1``, is in the catalog with a passing ``serfHealth``); the
multi-server ones on three Raft drivers joined by an in-memory network on
one fake clock, each with its own state store and RPC endpoints, a
follower forwarding to the leader as in Consul.
"""

import random
import uuid

from twisted.internet.defer import fail
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.raft import Configuration, Server
from pyconsul.net.raft_driver import RaftDriver
from pyconsul.server.endpoints import ServerEndpoints
from pyconsul.server.errors import RPCNotSent
from pyconsul.server.server import ConsulServer
from pyconsul.state.store import FSM
from pyconsul.storage.memory import MemoryLogStore, MemorySnapshotStore
from tests.server.servercase import ServerTestCase

SECOND = 10 ** 9
NODE = "node-1"


def session_args(**fields):
    session = {"Node": NODE, "NodeChecks": ["serfHealth"], "LockDelay": 15 * SECOND, "Behavior": "release", "TTL": ""}
    session.update(fields)
    return {"Op": "create", "Session": session}


def kv_args(op, key, session, value=b"v"):
    return {"Op": op, "DirEnt": {"Key": key, "Value": value, "Flags": 0, "Session": session}}


class SingleServerTestCase(ServerTestCase):
    def create(self, **fields):
        return self.call("Session.Apply", session_args(**fields))

    def destroy(self, session_id):
        return self.call("Session.Apply", {"Op": "destroy", "Session": {"ID": session_id}})

    def renew(self, session_id):
        return self.call("Session.Renew", {"SessionID": session_id})["Sessions"]

    def acquire(self, key, session_id, value=b"v"):
        return self.call("KVS.Apply", kv_args("lock", key, session_id, value))

    def release(self, key, session_id, value=b"v"):
        return self.call("KVS.Apply", kv_args("unlock", key, session_id, value))

    def alive(self):
        return [s["ID"] for s in self.store.sessions.all()]

    def set_check(self, check_id, status, node=NODE):
        request = {"Node": node, "SkipNodeUpdate": True,
                   "Check": {"CheckID": check_id, "Name": check_id, "Status": status}}
        self.call("Catalog.Register", request)


class ApplyTests(SingleServerTestCase):
    def test_create_answers_a_fresh_uuid_and_stores_the_session(self):
        session_id = self.create(Name="lock", TTL="15s", Behavior="delete", LockDelay=5 * SECOND)
        self.assertEqual(str(uuid.UUID(session_id)), session_id)
        [stored] = self.store.sessions.all()
        self.assertEqual({k: stored[k] for k in ("ID", "Name", "Node", "LockDelay", "Behavior", "TTL", "NodeChecks")},
                         {"ID": session_id, "Name": "lock", "Node": NODE, "LockDelay": 5 * SECOND,
                          "Behavior": "delete", "TTL": "15s", "NodeChecks": ["serfHealth"]})
        self.assertEqual(stored["CreateIndex"], self.store.sessions.index)
        self.assertNotEqual(self.create(), session_id)

    def test_an_empty_behavior_is_release(self):
        self.create(Behavior="")
        [stored] = self.store.sessions.all()
        self.assertEqual(stored["Behavior"], "release")

    def test_refusals(self):
        cases = [
            ({"Node": ""}, "Must provide Node"),
            ({"Behavior": "bogus"}, "Invalid Behavior setting 'bogus'"),
            ({"TTL": "9s"}, "Invalid Session TTL '9000000000', must be between [10s=24h0m0s]"),
            ({"TTL": "24h0m1s"}, "Invalid Session TTL '86401000000000', must be between [10s=24h0m0s]"),
            ({"TTL": "-10s"}, "Invalid Session TTL '-10000000000', must be between [10s=24h0m0s]"),
            ({"TTL": "abc"}, 'Session TTL \'abc\' invalid: time: invalid duration "abc"'),
            ({"Node": "ghost"}, "apply failed: Missing node registration"),
            ({"NodeChecks": ["serfHealth", "nope"]}, "apply failed: Missing check 'nope' registration"),
        ]
        for fields, message in cases:
            self.assertEqual(self.error("Session.Apply", session_args(**fields)), message, fields)
        self.assertEqual(self.alive(), [])

    def test_a_critical_check_refuses_the_session(self):
        self.set_check("disk", "critical")
        self.assertEqual(self.error("Session.Apply", session_args(NodeChecks=["disk"])),
                         "apply failed: Check 'disk' is in critical state")

    def test_the_ttl_bounds_are_allowed(self):
        for ttl in ("10s", "24h", "0s", ""):
            self.create(TTL=ttl)
        self.assertEqual(len(self.alive()), 4)

    def test_destroy(self):
        session_id = self.create()
        self.assertIs(self.destroy(session_id), True)
        self.assertEqual(self.alive(), [])
        self.assertIs(self.destroy(session_id), True)  # gone already: no error
        self.assertEqual(self.error("Session.Apply", {"Op": "destroy", "Session": {}}), "Must provide ID")


class ReadTests(SingleServerTestCase):
    def test_get_list_and_node_sessions(self):
        first = self.create()
        second = self.create()
        index = self.store.sessions.index
        reply = self.call("Session.Get", {"SessionID": first})
        self.assertEqual(([s["ID"] for s in reply["Sessions"]], reply["Index"], reply["KnownLeader"]),
                         ([first], index, True))
        reply = self.call("Session.List", {})
        self.assertEqual(([s["ID"] for s in reply["Sessions"]], reply["Index"]), (sorted([first, second]), index))
        reply = self.call("Session.NodeSessions", {"Node": "NODE-1"})
        self.assertEqual(sorted(s["ID"] for s in reply["Sessions"]), sorted([first, second]))
        self.assertEqual(self.call("Session.NodeSessions", {"Node": "ghost"})["Sessions"], [])

    def test_an_unknown_session_is_an_empty_answer(self):
        reply = self.call("Session.Get", {"SessionID": "00000000-0000-0000-0000-000000000000"})
        self.assertEqual((reply["Sessions"], reply["Index"]), ([], 1))
        self.create()
        reply = self.call("Session.Get", {"SessionID": "00000000-0000-0000-0000-000000000000"})
        self.assertEqual(reply["Index"], self.store.sessions.index)

    def test_a_blocking_list_wakes_on_a_create(self):
        self.create()
        index = self.store.sessions.index
        d = self.endpoints.call("Session.List", {"QueryOptions": {"MinQueryIndex": index, "MaxQueryTime": 60}})
        self.agent.advance(1)
        self.assertNoResult(d)
        created = self.create()
        reply = self.successResultOf(d)
        self.assertGreater(reply["Index"], index)
        self.assertIn(created, [s["ID"] for s in reply["Sessions"]])

    def test_a_blocking_get_wakes_on_the_sessions_end(self):
        session_id = self.create()
        other = self.create()
        index = self.store.sessions.index
        d = self.endpoints.call("Session.Get", {"SessionID": session_id,
                                                "QueryOptions": {"MinQueryIndex": index, "MaxQueryTime": 60}})
        self.agent.advance(1)
        self.destroy(other)
        self.assertNoResult(d)  # another session's end is not this one's
        self.set_check("serfHealth", "critical")  # ends it
        reply = self.successResultOf(d)
        self.assertEqual(reply["Sessions"], [])
        self.assertGreater(reply["Index"], index)

    def test_a_blocking_node_sessions_times_out_with_the_same_index(self):
        self.create()
        index = self.store.sessions.index
        d = self.endpoints.call("Session.NodeSessions", {"Node": NODE, "QueryOptions": {
            "MinQueryIndex": index, "MaxQueryTime": 10}})
        self.agent.advance(9)
        self.assertNoResult(d)
        self.agent.advance(2)
        self.assertEqual(self.successResultOf(d)["Index"], index)


class TTLTests(SingleServerTestCase):
    def test_a_session_ends_at_twice_its_ttl(self):
        session_id = self.create(TTL="10s")
        self.acquire("k", session_id)
        self.agent.advance(10.5)
        self.assertEqual(self.alive(), [session_id])  # not at the TTL itself
        self.agent.advance(9.4)
        self.assertEqual(self.alive(), [session_id])
        self.agent.advance(0.2)
        self.assertEqual(self.alive(), [])
        entry = self.store.kv.get("k")[1]
        self.assertEqual((entry.session, entry.value), (None, b"v"))

    def test_a_renewal_restarts_the_timer(self):
        session_id = self.create(TTL="10s")
        self.agent.advance(15)
        [renewed] = self.renew(session_id)
        self.assertEqual((renewed["ID"], renewed["TTL"]), (session_id, "10s"))
        self.agent.advance(19.8)
        self.assertEqual(self.alive(), [session_id])
        self.renew(session_id)
        self.agent.advance(19.8)
        self.assertEqual(self.alive(), [session_id])
        self.agent.advance(0.4)
        self.assertEqual(self.alive(), [])
        self.assertEqual(self.renew(session_id), [])

    def test_renewing_an_unknown_session(self):
        self.assertEqual(self.renew("00000000-0000-0000-0000-000000000000"), [])

    def test_no_ttl_no_end(self):
        self.create()
        self.create(TTL="0s")
        self.agent.advance(3 * 24 * 3600)
        self.assertEqual(len(self.alive()), 2)
        self.assertEqual(self.endpoints.session_timers.timers, {})

    def test_the_longest_ttl(self):
        session_id = self.create(TTL="24h")
        self.agent.advance(48 * 3600 - 1)
        self.assertEqual(self.alive(), [session_id])
        self.agent.advance(2)
        self.assertEqual(self.alive(), [])

    def test_a_destroy_stops_the_timer(self):
        session_id = self.create(TTL="10s")
        self.destroy(session_id)
        self.assertEqual(self.endpoints.session_timers.timers, {})
        self.agent.advance(30)
        self.assertEqual(self.alive(), [])

    def test_an_invalidated_session_needs_no_timer_to_end_it_again(self):
        session_id = self.create(TTL="10s")
        self.set_check("serfHealth", "critical")
        self.assertEqual(self.alive(), [])
        self.agent.advance(30)  # the timer finds nothing to destroy
        self.assertEqual(self.alive(), [])
        self.assertEqual(self.renew(session_id), [])

    def test_an_expired_sessions_keys_get_its_lock_delay(self):
        session_id = self.create(TTL="10s", LockDelay=5 * SECOND, Behavior="delete")
        other = self.create()
        self.acquire("k", session_id)
        self.agent.advance(20.1)
        self.assertIsNone(self.store.kv.get("k")[1])
        self.assertIs(self.acquire("k", other), False)
        self.agent.advance(5)
        self.assertIs(self.acquire("k", other), True)

    def test_a_lost_leadership_stops_the_timers_and_a_new_one_starts_them_afresh(self):
        listener = self.endpoints.session_timers._leadership
        session_id = self.create(TTL="10s")
        self.agent.advance(15)
        listener(False)
        self.assertEqual(self.endpoints.session_timers.timers, {})
        self.agent.advance(30)
        self.assertEqual(self.alive(), [session_id])  # nobody enforces it meanwhile
        listener(True)
        self.agent.advance(19.8)
        self.assertEqual(self.alive(), [session_id])  # a full 2 x TTL from the new leadership
        self.agent.advance(0.4)
        self.assertEqual(self.alive(), [])

    def test_a_new_leader_restarts_every_ttl_session(self):
        listener = self.endpoints.session_timers._leadership
        short = self.create(TTL="10s")
        long = self.create(TTL="30s")
        self.create()
        self.agent.advance(5)
        listener(True)
        self.assertEqual(sorted(self.endpoints.session_timers.timers), sorted([short, long]))
        self.agent.advance(19.9)
        self.assertIn(short, self.alive())
        self.agent.advance(0.2)
        self.assertNotIn(short, self.alive())
        self.agent.advance(39.7)
        self.assertIn(long, self.alive())
        self.agent.advance(0.4)
        self.assertNotIn(long, self.alive())


class LockDelayTests(SingleServerTestCase):
    def test_acquire_after_a_sessions_end_waits_out_the_lock_delay(self):
        holder = self.create()
        waiter = self.create()
        self.assertIs(self.acquire("k", holder), True)
        self.assertIs(self.acquire("k", waiter), False)  # held
        self.destroy(holder)
        self.assertIs(self.acquire("k", waiter), False)  # the lock-delay
        self.assertEqual(self.store.kv.get("k")[1].session, None)
        self.agent.advance(14.9)
        self.assertIs(self.acquire("k", waiter), False)
        fresh = self.create()
        self.assertIs(self.acquire("k", fresh), False)  # whichever session asks
        self.agent.advance(0.2)
        self.assertIs(self.acquire("k", waiter), True)
        entry = self.store.kv.get("k")[1]
        self.assertEqual((entry.session, entry.lock_index), (waiter, 2))

    def test_a_refused_acquire_writes_nothing(self):
        holder = self.create()
        waiter = self.create()
        self.acquire("k", holder, b"held")
        self.destroy(holder)
        before = self.store.last_applied
        self.assertIs(self.acquire("k", waiter, b"mine"), False)
        self.assertEqual(self.store.last_applied, before)
        self.assertEqual(self.store.kv.get("k")[1].value, b"held")

    def test_the_delay_is_checked_before_the_session(self):
        holder = self.create()
        self.acquire("k", holder)
        self.destroy(holder)
        self.assertIs(self.acquire("k", "no-such-session"), False)

    def test_an_invalidation_starts_it_too(self):
        self.set_check("disk", "passing")
        holder = self.create(NodeChecks=["disk"], LockDelay=3 * SECOND)
        waiter = self.create()
        self.acquire("k", holder)
        self.set_check("disk", "critical")
        self.assertEqual(self.alive(), [waiter])
        self.assertIs(self.acquire("k", waiter), False)
        self.agent.advance(3)
        self.assertIs(self.acquire("k", waiter), True)

    def test_no_delay_after_a_release_or_with_a_zero_lock_delay(self):
        holder = self.create()
        quick = self.create(LockDelay=0)
        waiter = self.create()
        self.acquire("a", holder)
        self.assertIs(self.release("a", holder), True)
        self.assertIs(self.acquire("a", waiter), True)
        self.acquire("b", quick)
        self.destroy(quick)
        self.assertIs(self.acquire("b", waiter), True)

    def test_the_delay_is_capped_at_a_minute(self):
        holder = self.create(LockDelay=300 * SECOND)
        waiter = self.create()
        self.acquire("k", holder)
        self.destroy(holder)
        self.agent.advance(59)
        self.assertIs(self.acquire("k", waiter), False)
        self.agent.advance(1.1)
        self.assertIs(self.acquire("k", waiter), True)


class KVLockTests(SingleServerTestCase):
    def test_unknown_and_missing_sessions_are_errors(self):
        self.assertEqual(self.error("KVS.Apply", kv_args("lock", "k", "ghost")),
                         "failed session lookup: UUID must be 36 characters")
        self.assertEqual(self.error("KVS.Apply", kv_args("lock", "k", "00000000-0000-4000-8000-000000000000")), 'invalid session \"00000000-0000-4000-8000-000000000000\"')
        self.assertEqual(self.error("KVS.Apply", kv_args("lock", "k", "")), "missing session")
        self.assertIs(self.release("k", "ghost"), False)

    def test_a_release_without_a_session_is_an_error(self):
        # kvsUnlockTxn: "missing session", before it looks at the key.
        self.acquire("k", self.create())
        self.assertEqual(self.error("KVS.Apply", kv_args("unlock", "k", "")), "missing session")

    def test_acquire_and_release(self):
        first = self.create()
        second = self.create()
        self.assertIs(self.acquire("k", first, b"a"), True)
        self.assertIs(self.acquire("k", first, b"b"), True)
        self.assertIs(self.acquire("k", second), False)
        self.assertIs(self.release("k", second), False)
        self.assertIs(self.release("k", first, None), True)
        entry = self.store.kv.get("k")[1]
        self.assertEqual((entry.session, entry.value, entry.lock_index), (None, None, 1))
        self.assertIs(self.acquire("k", second), True)
        self.assertEqual(self.store.kv.get("k")[1].lock_index, 2)


# -- three servers ---------------------------------------------------------------


class _Transport:
    def __init__(self, network, node_id):
        self.network = network
        self.node_id = node_id
        self.address_of = self.on_message = self.on_unreachable = None
        self.on_snapshot_sent = self.on_snapshot = None

    def send(self, messages):
        for message in messages:
            self.network.clock.callLater(0, self.network.deliver, message)


class _Pool:
    """RPC between the servers: a call is the other server's endpoints'."""

    def __init__(self, network, node_id):
        self.network = network
        self.node_id = node_id

    def call(self, address, method, args, timeout=None):
        target = self.network.by_address.get(address)
        if target is None or self.network.cut_off(self.node_id, target):
            return fail(RPCNotSent("cannot reach server %s" % address))
        return self.network.members[target].endpoints.call(method, args)


class _Member:
    def __init__(self, network, node_id, address, seed):
        self.node_id = node_id
        self.address = address
        self.fsm = FSM(clock=network.clock)
        self.driver = RaftDriver(
            node_id=node_id, address=address, log_store=MemoryLogStore(), snapshot_store=MemorySnapshotStore(),
            fsm=self.fsm, clock=network.clock, rng=random.Random(seed), tick_seconds=0.1,
            transport=_Transport(network, node_id), snapshot_threshold=10 ** 9,
        )
        self.server = ConsulServer(driver=self.driver, fsm=self.fsm, clock=network.clock)
        self.endpoints = ServerEndpoints(self.server, network.clock, random.Random(seed), pool=_Pool(network, node_id))

    @property
    def store(self):
        return self.fsm.store


class ThreeServers:
    """Three servers bootstrapped together; ``isolate`` cuts one off."""

    def __init__(self, seed=0):
        self.clock = Clock()
        self.isolated = set()
        self.members = {}
        self.by_address = {}
        for n in (1, 2, 3):
            node_id, address = "s%d" % n, "10.0.0.%d:8300" % n
            self.members[node_id] = _Member(self, node_id, address, seed * 10 + n)
            self.by_address[address] = node_id
        configuration = Configuration([Server(m.node_id, m.address) for m in self.members.values()])
        for member in self.members.values():
            member.server.start()
            member.driver.bootstrap_cluster(configuration)
        self.wait_for(lambda: self.leader() is not None)

    def cut_off(self, a, b):
        return a in self.isolated or b in self.isolated

    def deliver(self, message):
        if not self.cut_off(message.src, message.dst):
            self.members[message.dst].driver.receive(message)

    def leader(self):
        leaders = [m for m in self.members.values() if m.driver.is_leader and m.node_id not in self.isolated]
        return leaders[0] if len(leaders) == 1 else None

    def followers(self):
        leader = self.leader()
        return [m for m in self.members.values() if m is not leader]

    def advance(self, seconds=0.0, step=0.05):
        """Move time on in small steps, running what falls due."""
        target = self.clock.seconds() + seconds
        while True:
            for _ in range(1000):
                if not any(c.getTime() <= self.clock.seconds() for c in self.clock.getDelayedCalls()):
                    break
                self.clock.advance(0)
            if self.clock.seconds() >= target:
                return
            self.clock.advance(min(step, target - self.clock.seconds()))

    def wait_for(self, condition, limit=60.0):
        waited = 0.0
        while not condition():
            if waited > limit:
                raise AssertionError("the cluster did not settle")
            self.advance(0.1)
            waited += 0.1

    def call(self, member, method, args):
        d = member.endpoints.call(method, args)
        self.advance(0.5)
        return d

    def isolate(self, member):
        self.isolated.add(member.node_id)


class ThreeServerTests(SynchronousTestCase):
    def setUp(self):
        self.cluster = ThreeServers()
        leader = self.cluster.leader()
        register = {"Node": "app-1", "Address": "10.0.1.1",
                    "Check": {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"}}
        self.successResultOf(self.cluster.call(leader, "Catalog.Register", register))

    def create(self, via, **fields):
        return self.successResultOf(self.cluster.call(via, "Session.Apply", session_args(Node="app-1", **fields)))

    def alive(self, member):
        return [s["ID"] for s in member.store.sessions.all()]

    def test_a_session_created_through_a_follower_expires_on_the_leaders_timer(self):
        follower = self.cluster.followers()[0]
        session_id = self.create(follower, TTL="10s")
        leader = self.cluster.leader()
        self.assertIn(session_id, leader.endpoints.session_timers.timers)
        self.assertEqual(follower.endpoints.session_timers.timers, {})
        for member in self.cluster.members.values():
            self.assertEqual(self.alive(member), [session_id])
        self.cluster.advance(15)
        self.assertEqual(self.alive(follower), [session_id])
        self.cluster.advance(6)
        for member in self.cluster.members.values():
            self.assertEqual(self.alive(member), [], member.node_id)

    def test_a_renewal_through_a_follower_reaches_the_leaders_timer(self):
        follower = self.cluster.followers()[0]
        session_id = self.create(follower, TTL="10s")
        self.cluster.advance(15)
        reply = self.successResultOf(self.cluster.call(follower, "Session.Renew", {"SessionID": session_id}))
        self.assertEqual([s["ID"] for s in reply["Sessions"]], [session_id])
        self.cluster.advance(15)
        self.assertEqual(self.alive(follower), [session_id])
        self.cluster.advance(6)
        self.assertEqual(self.alive(follower), [])

    def test_a_new_leader_gives_every_session_a_full_two_ttls(self):
        old = self.cluster.leader()
        session_id = self.create(old, TTL="10s")
        self.cluster.advance(15)  # 5 s left on the old leader's timer
        self.cluster.isolate(old)
        self.cluster.wait_for(lambda: self.cluster.leader() is not None)
        new = self.cluster.leader()
        took_over = self.cluster.clock.seconds()
        self.assertIsNot(new, old)
        self.assertIn(session_id, new.endpoints.session_timers.timers)
        self.cluster.advance(took_over + 19 - self.cluster.clock.seconds())
        self.assertEqual(self.alive(new), [session_id])  # past the old deadline, not ended early
        self.cluster.advance(1.5)
        self.assertEqual(self.alive(new), [])
        # The old leader, cut off, stepped down and cleared its timers.
        self.assertFalse(old.driver.is_leader)
        self.assertEqual(old.endpoints.session_timers.timers, {})

    def test_a_new_leader_keeps_the_lock_delay(self):
        old = self.cluster.leader()
        holder = self.create(old)
        waiter = self.create(old)
        self.assertIs(self.successResultOf(self.cluster.call(old, "KVS.Apply", kv_args("lock", "k", holder))), True)
        self.successResultOf(self.cluster.call(old, "Session.Apply", {"Op": "destroy", "Session": {"ID": holder}}))
        ended = self.cluster.clock.seconds()
        self.cluster.isolate(old)
        self.cluster.wait_for(lambda: self.cluster.leader() is not None)
        new = self.cluster.leader()
        self.assertLess(self.cluster.clock.seconds() - ended, 14)
        # Every server started the delay when it applied the session's end.
        self.assertIs(self.successResultOf(self.cluster.call(new, "KVS.Apply", kv_args("lock", "k", waiter))), False)
        self.cluster.advance(ended + 15.5 - self.cluster.clock.seconds())
        self.assertIs(self.successResultOf(self.cluster.call(new, "KVS.Apply", kv_args("lock", "k", waiter))), True)

    def test_the_lock_delay_is_the_leaders_through_a_follower(self):
        follower = self.cluster.followers()[0]
        holder = self.create(follower)
        waiter = self.create(follower)
        self.successResultOf(self.cluster.call(follower, "KVS.Apply", kv_args("lock", "k", holder)))
        self.successResultOf(self.cluster.call(follower, "Session.Apply", {"Op": "destroy", "Session": {"ID": holder}}))
        self.assertIs(self.successResultOf(self.cluster.call(follower, "KVS.Apply", kv_args("lock", "k", waiter))),
                      False)
        self.cluster.advance(15)
        self.assertIs(self.successResultOf(self.cluster.call(follower, "KVS.Apply", kv_args("lock", "k", waiter))),
                      True)
        entry = follower.store.kv.get("k")[1]
        self.assertEqual((entry.session, entry.lock_index), (waiter, 2))
