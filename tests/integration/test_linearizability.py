"""Jepsen-style: concurrent clients read, write and compare-and-set a few
keys of a real server cluster while a nemesis kills, pauses and partitions
servers; the recorded history must be linearizable.

The model
---------

Each key is a register holding a value, absent (``None``) at first. Every
write puts a value no other operation ever writes, so a value names the
write that produced it.

Consul's compare-and-set does not compare values: ``PUT ?cas=<index>``
succeeds iff the key's ModifyIndex is still ``index`` (``cas=0``: iff the
key is absent). A client learns an index from a read, which also returns
the value: it reads (value v, index i), then CASes against i. Because each
applied write gets a fresh ModifyIndex and each value is written once,
index i is held exactly when value v is, and the CAS is recorded as
"CAS v -> new value" on the value register. That equivalence is an
assumption about the server, so it is checked too, on every read of every
mode: one ModifyIndex never comes with two values, nor one value with two
ModifyIndexes (which would mean a write applied twice).

What counts as an answer: a read is a 200 (the value) or a 404 (absent); a
write or CAS is a 200 with ``true`` or ``false``. Anything else -- a
timeout, a broken connection, a 500 -- is no answer: a read without one is
dropped, and a write or CAS without one may or may not have taken effect,
at any later time, so the checker keeps it open until the end.

Checks
------

* Keys are split between the two read modes that promise linearizability:
  ``default`` and ``?consistent``. Every read of a key uses its mode, and
  each mode's keys are checked (and their anomalies counted) on their own.
  The checker is in ``tests/linearizability.py``.
* ``?stale`` reads, on every key, may be stale, but may only return a value
  some client tried to write there (or absence).
* No acknowledged write is lost: after the faults are healed and a leader
  is agreed on, one ``?consistent`` read of each key ends its history, and
  the checker must explain it along with everything else.
"""

import base64
import http.client
import json
import os
import random
import signal
import threading
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, wait_for
from tests.integration.cluster import Cluster
from tests.linearizability import CAS, FAIL, OK, READ, UNKNOWN, WRITE, Op, Undecided, check

MODES = ("default", "consistent")
KEYS = {"lin/default/a": "default", "lin/default/b": "default",
        "lin/consistent/a": "consistent", "lin/consistent/b": "consistent"}
CLIENTS = 6
REQUEST_TIMEOUT = 3.0  # seconds without an answer make an operation unanswered
FAULT_TIME = 3.0  # how long each fault lasts
QUIET_TIME = 2.0  # between faults, under load
MAX_STEPS = 5_000_000  # per key's search; running out fails the test
NOT_SENT = "not sent"


class NemesisCluster(Cluster):
    """A :class:`Cluster` whose servers can also be paused, and whose faults
    are set on every server, retried until each takes them."""

    def __init__(self, testcase, prefix, size):
        super().__init__(testcase, prefix, size)
        self.paused = set()

    def start(self):
        for server in self.servers:
            self.start_one(server)
        self.wait_for_leader()
        return self

    def start_one(self, server):
        server.start()
        # Registered after the agent's own stop, so it runs before it:
        # a stopped process cannot exit until it is continued.
        self.testcase.addCleanup(self.resume_all)
        wait_for(lambda: _answers(server), what="%s to answer" % server.http)

    def kill(self, server):
        server.kill(signal.SIGKILL)

    def pause(self, server):
        os.kill(server.process.pid, signal.SIGSTOP)
        self.paused.add(server)

    def resume(self, server):
        os.kill(server.process.pid, signal.SIGCONT)
        self.paused.discard(server)

    def resume_all(self):
        for server in list(self.paused):
            if server.process.poll() is None:
                self.resume(server)
        self.paused.clear()

    def running(self):
        return [s for s in super().running() if s not in self.paused]

    def named_leader(self):
        """The server some running server names as leader, or None (no
        waiting: during a fault there may be none)."""
        for server in self.running():
            try:
                status, body = server.request("GET", "/v1/status/leader", timeout=2)
            except OSError:
                continue
            host = json.loads(body).rpartition(":")[0] if status == 200 else ""
            for candidate in self.servers:
                if candidate.address == host:
                    return candidate
        return None

    def partition(self, *groups):
        for group in groups:
            others = [s.address for s in self.servers if s not in group]
            for server in group:
                self.set_blocked(server, others)

    def heal(self):
        for server in self.servers:
            self.set_blocked(server, [])

    @staticmethod
    def set_blocked(server, hosts):
        body = json.dumps({"Block": hosts}).encode()
        wait_for(lambda: _put_faults(server, body), timeout=30, interval=0.1,
                 what="%s to take the fault list" % server.http)


def _answers(server):
    if server.process.poll() is not None:
        raise AssertionError("%s exited:\n%s" % (server.http, server.log()[-3000:]))
    try:
        return server.request("GET", "/v1/status/leader", timeout=2)[0] == 200
    except OSError:
        return False


def _put_faults(server, body):
    try:
        return server.request("PUT", "/v1/debug/faults", body, timeout=2)[0] == 200
    except OSError:
        return False


class Nemesis(threading.Thread):
    """Runs a fixed list of faults, each lasting FAULT_TIME and followed by
    QUIET_TIME without faults, and logs what it did and when."""

    def __init__(self, cluster, rng, origin):
        super().__init__(name="nemesis")
        self.cluster = cluster
        self.rng = rng
        self.origin = origin
        self.log = []
        self.error = None
        self.schedule = [
            self.kill_and_restart_the_leader,
            self.pause_one,
            self.isolate_the_leader,
            self.random_partition,
            self.kill_and_restart_one,
            self.pause_the_leader,
        ]

    def note(self, text):
        self.log.append("%9.3f  %s" % (time.monotonic() - self.origin, text))

    def run(self):
        try:
            for fault in self.schedule:
                fault()
                time.sleep(QUIET_TIME)  # load continues, without faults
        except BaseException as e:  # reported by the test, not lost in a thread
            self.error = e
            self.cluster.resume_all()

    def leader_or_any(self):
        return self.cluster.named_leader() or self.rng.choice(self.cluster.running())

    def kill_and_restart_the_leader(self):
        self.kill_and_restart(self.leader_or_any(), "the leader")

    def kill_and_restart_one(self):
        self.kill_and_restart(self.rng.choice(self.cluster.servers), "a server")

    def kill_and_restart(self, server, which):
        self.note("kill -9 %s (%s)" % (server.address, which))
        self.cluster.kill(server)
        time.sleep(FAULT_TIME)
        self.note("restart %s" % server.address)
        self.cluster.start_one(server)
        self.note("%s answers again" % server.address)

    def pause_one(self):
        self.pause(self.rng.choice(self.cluster.servers), "a server")

    def pause_the_leader(self):
        self.pause(self.leader_or_any(), "the leader")

    def pause(self, server, which):
        self.note("SIGSTOP %s (%s)" % (server.address, which))
        self.cluster.pause(server)
        time.sleep(FAULT_TIME)
        self.cluster.resume(server)
        self.note("SIGCONT %s" % server.address)

    def isolate_the_leader(self):
        # The leader, with as many followers as still leaves it a minority.
        leader = self.leader_or_any()
        others = [s for s in self.cluster.servers if s is not leader]
        self.rng.shuffle(others)
        minority = [leader] + others[: (len(self.cluster.servers) - 1) // 2 - 1]
        self.partition(minority, "the leader's side")

    def random_partition(self):
        servers = list(self.cluster.servers)
        self.rng.shuffle(servers)
        self.partition(servers[: self.rng.randrange(1, len(servers))], "random")

    def partition(self, side, which):
        other = [s for s in self.cluster.servers if s not in side]
        self.note("partition %s | %s (%s)" % (
            " ".join(s.address for s in side), " ".join(s.address for s in other), which))
        self.cluster.partition(side, other)
        time.sleep(FAULT_TIME)
        self.cluster.heal()
        self.note("heal")


class Client(threading.Thread):
    """One client: its own connections, a server chosen at random for each
    request, operations on random keys until told to stop."""

    def __init__(self, number, cluster, rng, stop):
        super().__init__(name="client-%d" % number)
        self.name_ = "c%d" % number
        self.cluster = cluster
        self.rng = rng
        self.stop = stop
        self.connections = {}
        self.history = []  # Ops on the checked keys
        self.stale = []  # (key, value, op) of ?stale reads
        self.indexes = []  # (key, ModifyIndex, value, server) of every read answered
        self.attempted = []  # (key, value) of every write and CAS sent
        self.sequence = 0
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                key = self.rng.choice(sorted(KEYS))
                roll = self.rng.random()
                if roll < 0.15:
                    self.stale.append(self.read(key, "stale"))
                elif roll < 0.45:
                    self.history.append(self.read(key, KEYS[key]))
                elif roll < 0.7:
                    self.record(self.write(key))
                else:
                    # A CAS needs an index: read one, then CAS against it.
                    seen, index = self.read_with_index(key, KEYS[key])
                    self.history.append(seen)
                    if seen.status == OK:
                        self.record(self.cas(key, seen.value, index))
        except BaseException as e:  # reported by the test, not lost in a thread
            self.error = e
        finally:
            for connection in self.connections.values():
                connection.close()

    def request(self, method, path, body=None):
        """(server, status, body); status None when no answer came, and
        NOT_SENT when the request never left this client."""
        server = self.rng.choice(self.cluster.servers).address
        connection = self.connections.get(server)
        if connection is None:
            connection = http.client.HTTPConnection(server, 8500, timeout=REQUEST_TIMEOUT)
            self.connections[server] = connection
        try:
            connection.request(method, path, body=body)
            response = connection.getresponse()
            return server, response.status, response.read()
        except (OSError, http.client.HTTPException) as e:
            connection.close()
            del self.connections[server]
            # Refused is only ever raised by connect(): nothing was sent.
            # Any other error may come after the server read the request.
            if isinstance(e, ConnectionRefusedError):
                return server, NOT_SENT, type(e).__name__
            return server, None, type(e).__name__

    def read(self, key, mode):
        return self.read_with_index(key, mode)[0]

    def read_with_index(self, key, mode):
        """The read's Op and the ModifyIndex it returned (0: absent)."""
        query = "" if mode == "default" else "?" + mode
        invoked = time.monotonic()
        server, status, body = self.request("GET", "/v1/kv/%s%s" % (key, query))
        completed = time.monotonic()
        note = "%s %s %s" % (server, mode, _status_text(status, body))
        if status == 404:
            return Op(self.name_, key, READ, invoked, completed, OK, None, note=note), 0
        if status != 200:  # dropped by the checker, kept for the record
            return Op(self.name_, key, READ, invoked, None, UNKNOWN, note=note), None
        [entry] = json.loads(body)
        value = base64.b64decode(entry["Value"]).decode()
        self.indexes.append((key, entry["ModifyIndex"], value, server))
        return Op(self.name_, key, READ, invoked, completed, OK, value, note=note), entry["ModifyIndex"]

    def record(self, op):
        # A write never sent is no part of the history; any other is, and
        # its value counts as attempted even if it got no answer.
        if op is not None:
            self.history.append(op)
            self.attempted.append((op.key, op.value))

    def next_value(self):
        self.sequence += 1
        return "%s-%d" % (self.name_, self.sequence)

    def write(self, key):
        value = self.next_value()
        invoked = time.monotonic()
        server, status, body = self.request("PUT", "/v1/kv/" + key, value.encode())
        return self.outcome(WRITE, key, invoked, server, status, body, value, None)

    def cas(self, key, expected, index):
        """CAS against ``index``, read together with ``expected``: recorded
        as a CAS of the values (see the module docstring)."""
        value = self.next_value()
        invoked = time.monotonic()
        server, status, body = self.request("PUT", "/v1/kv/%s?cas=%d" % (key, index), value.encode())
        return self.outcome(CAS, key, invoked, server, status, body, value, expected)

    def outcome(self, kind, key, invoked, server, status, body, value, expected):
        """The Op of a write or CAS; None if it was never sent."""
        if status == NOT_SENT:
            return None
        completed = time.monotonic()
        note = "%s %s" % (server, _status_text(status, body))
        if status == 200 and body in (b"true", b"false"):
            result = OK if body == b"true" else FAIL
            return Op(self.name_, key, kind, invoked, completed, result, value, expected, note)
        return Op(self.name_, key, kind, invoked, None, UNKNOWN, value, expected, note)


def _status_text(status, body):
    if status is None or status == NOT_SENT:
        return "no answer (%s)" % body
    if status in (200, 404):
        return str(status)
    text = body.decode("utf-8", "replace").strip() if isinstance(body, bytes) else str(body)
    return "%d %s" % (status, text[:80])


class LinearizabilityTests(SynchronousTestCase):
    def run_workload(self, prefix, size, seed):
        rng = random.Random(seed)
        cluster = NemesisCluster(self, prefix, size).start()
        origin = time.monotonic()
        stop = threading.Event()
        clients = [Client(n, cluster, random.Random(rng.random()), stop) for n in range(1, CLIENTS + 1)]
        nemesis = Nemesis(cluster, random.Random(rng.random()), origin)
        try:
            for thread in clients + [nemesis]:
                thread.start()
            nemesis.join(timeout=len(nemesis.schedule) * (FAULT_TIME + QUIET_TIME + 60))
            self.assertFalse(nemesis.is_alive(), "the nemesis did not finish its schedule")
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=4 * REQUEST_TIMEOUT)
            cluster.resume_all()
        load_time = time.monotonic() - origin
        for thread in clients + [nemesis]:
            self.assertFalse(thread.is_alive(), "%s did not stop" % thread.name)
            if thread.error is not None:
                raise thread.error

        # Heal everything, then end each key's history with one consistent
        # read: an acknowledged write that was lost shows up there.
        for server in cluster.servers:
            if server.process.poll() is not None:
                cluster.start_one(server)
        cluster.heal()
        cluster.wait_for_leader()
        final = Client(0, cluster, random.Random(rng.random()), stop)
        finals = []
        for key in sorted(KEYS):
            finals.append(wait_for(lambda key=key: _answered(final.read(key, "consistent")),
                                   timeout=60, what="a consistent read of %s" % key))
        history = [op for client in clients for op in client.history] + finals
        return cluster, nemesis, clients + [final], history, origin, load_time

    def check_run(self, prefix, size, seed):
        cluster, nemesis, clients, history, origin, load_time = self.run_workload(prefix, size, seed)
        timeline = "faults:\n" + "\n".join(nemesis.log)
        problems = []
        summary = ["%d servers, seed %d: %.1f s of load" % (size, seed, load_time)]

        for mode in MODES:
            ops = [op for op in history if KEYS[op.key] == mode]
            counts = {status: sum(op.status == status for op in ops) for status in (OK, FAIL, UNKNOWN)}
            started = time.monotonic()
            try:
                verdict = check(ops, max_steps=MAX_STEPS, origin=origin)
            except Undecided as e:
                problems.append("%s reads: the checker could not decide (%s)" % (mode, e))
                continue
            summary.append(
                "%s: %d operations (%d ok, %d failed CAS, %d unanswered), %d anomalies, "
                "checked in %.2f s (%d steps)"
                % (mode, len(ops), counts[OK], counts[FAIL], counts[UNKNOWN], len(verdict.anomalies),
                   time.monotonic() - started, verdict.steps))
            for key in (k for k, m in KEYS.items() if m == mode):
                # Something to check on every key, or the verdict means little.
                kinds = {op.kind for op in ops if op.key == key and op.status == OK}
                if not {READ, WRITE, CAS} <= kinds:
                    problems.append("%s: no acknowledged %s" % (key, {READ, WRITE, CAS} - kinds))
            for anomaly in verdict.anomalies:
                problems.append("%s reads: %s" % (mode, anomaly))

        attempted = {(key, value) for client in clients for key, value in client.attempted}
        stale = [(op, op.key, op.value) for client in clients for op in client.stale if op.status == OK]
        summary.append("stale: %d reads answered" % len(stale))
        for key in sorted(set(KEYS) - {key for _, key, _ in stale}):
            problems.append("%s: no ?stale read answered" % key)
        for op, key, value in stale:
            if value is not None and (key, value) not in attempted:
                problems.append("a ?stale read of %s returned %r, which no client wrote there: "
                                "invoked %.3f, completed %.3f, %s"
                                % (key, value, op.invoked - origin, op.completed - origin, op.note))

        problems += _index_problems(client.indexes for client in clients)
        print("\n".join(summary))
        if problems:
            self.fail("\n\n".join(problems + [timeline] + summary))

    def test_three_servers(self):
        self.check_run(f"{NET}.8", 3, seed=3)

    def test_five_servers(self):
        self.check_run(f"{NET}.9", 5, seed=5)


def _answered(op):
    return op if op.status == OK else None


def _index_problems(per_client):
    """One ModifyIndex per value and one value per ModifyIndex, per key."""
    values_of, indexes_of = {}, {}
    for observations in per_client:
        for key, index, value, server in observations:
            values_of.setdefault((key, index), set()).add(value)
            indexes_of.setdefault((key, value), set()).add(index)
    problems = []
    for (key, index), values in sorted(values_of.items()):
        if len(values) > 1:
            problems.append("%s: ModifyIndex %d was read with several values: %s"
                            % (key, index, sorted(values)))
    for (key, value), indexes in sorted(indexes_of.items()):
        if len(indexes) > 1:
            problems.append("%s: value %r was read with several ModifyIndexes %s "
                            "(a write applied more than once?)" % (key, value, sorted(indexes)))
    return problems
