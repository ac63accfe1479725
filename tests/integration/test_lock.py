"""``pyconsul lock`` as real processes against a real ``--dev`` agent.

* Two contenders on one prefix never run their commands at the same time.
* A holder killed with ``kill -9`` (its session never destroyed) loses the
  lock once the leader ends its session (2 x the 15 s TTL after its last
  renewal) and the 15 s lock-delay has passed; the waiting contender then
  takes it.
* A semaphore of 3 with 6 contenders: never more than 3 commands at once,
  and 3 at once do run.
* When the command exits, the lock is released, its key deleted and its
  session destroyed.
* SIGTERM to ``pyconsul lock`` stops the child, and the lock is released.

Each command appends ``start``/``end`` lines with timestamps to a log file;
the checks read that file. Every wait polls with a deadline, and every
process is stopped by its own pid in the cleanup.
"""

import json
import os
import signal
import subprocess
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, environment, pyconsul_cli, wait_for
from tests.integration.cluster import Cluster

# A child command: logs "start", waits until ``together`` children run at
# once (or until ``total`` have started, for the last ones), holds for
# ``hold`` seconds, logs "end" (also when SIGTERM ends it early). With a
# pid file it records its pid first.
CHILD = r'''
import os, signal, sys, time
log, name, hold, together, total = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if len(sys.argv) > 6:
    with open(sys.argv[6], "w") as f:
        f.write(str(os.getpid()))

def append(kind):
    with open(log, "a") as f:
        f.write("%s %s %.6f %s\n" % (kind, name, time.time(), os.environ.get("CONSUL_LOCK_HELD", "")))

def counts():
    with open(log) as f:
        kinds = [line.split()[0] for line in f if line.strip()]
    return kinds.count("start"), kinds.count("start") - kinds.count("end")

class Terminated(Exception):
    pass

def terminated(number, frame):
    # pyconsul lock forwards a SIGTERM and then sends its own, as Consul's;
    # the second may run this handler again inside the first. Either way
    # one Terminated reaches the code below, which logs the end once.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()

signal.signal(signal.SIGTERM, terminated)
try:
    append("start")
    deadline = time.monotonic() + 60
    while together > 1 and time.monotonic() < deadline:
        started, running = counts()
        if running >= together or started >= total:
            break
        time.sleep(0.02)
    time.sleep(hold)
except Terminated:
    append("end")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)  # ended by SIGTERM, as the holder sees it
append("end")
'''


def read_log(path):
    """[(kind, name, time, CONSUL_LOCK_HELD)] in the order written."""
    entries = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if parts:
                    entries.append((parts[0], parts[1], float(parts[2]), parts[3] if len(parts) > 3 else ""))
    return entries


def intervals(entries):
    starts = {name: stamp for kind, name, stamp, _ in entries if kind == "start"}
    ends = {name: stamp for kind, name, stamp, _ in entries if kind == "end"}
    return {name: (starts[name], ends.get(name)) for name in starts}


def most_at_once(entries):
    running = most = 0
    for kind, _, _, _ in sorted(entries, key=lambda entry: entry[2]):
        running += 1 if kind == "start" else -1
        most = max(most, running)
    return most


class LockProcessTestCase(SynchronousTestCase):
    address = None

    def setUp(self):
        self.agent = self.start_agent()
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.child_script = os.path.join(self.dir, "child.py")
        with open(self.child_script, "w") as f:
            f.write(CHILD)
        self.log = os.path.join(self.dir, "commands.log")

    def start_agent(self):
        return Agent(self, self.address, ["--dev"]).start().wait_until_leader()

    def child(self, name, hold, together=1, total=1, pid_file=None):
        argv = [sys.executable, self.child_script, self.log, name, str(hold), str(together), str(total)]
        return argv + ([pid_file] if pid_file else [])

    def start_lock(self, *argv, name="lock", agent=None):
        """A ``pyconsul lock`` process in the background; stopped in cleanup."""
        env = environment()
        env["CONSUL_HTTP_ADDR"] = (agent or self.agent).http
        out = open(os.path.join(self.dir, name + ".out"), "wb")
        process = subprocess.Popen([sys.executable, "-m", "pyconsul", "lock", *argv], env=env, cwd=self.dir,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.addCleanup(self._stop, process)
        return process

    @staticmethod
    def _stop(process):
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    def output(self, name):
        with open(os.path.join(self.dir, name + ".out"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_exit(self, process, name, timeout=60):
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not exit within %s s:\n%s" % (name, timeout, self.output(name)))

    def api(self, path):
        status, body = self.agent.request("GET", path)
        return json.loads(body) if status == 200 else None

    def sessions(self):
        return self.api("/v1/session/list") or []

    def keys(self, prefix):
        return self.api("/v1/kv/%s?keys" % prefix) or []


class MutualExclusionTests(LockProcessTestCase):
    address = f"{NET}.112.1"

    def test_two_contenders_never_run_at_the_same_time(self):
        names = ["a1", "b1", "a2", "b2", "a3", "b3"]
        pending = {}
        # Two contenders, each running its command three times in a row.
        for contender in "ab":
            name = contender + "1"
            pending[contender] = [contender + "2", contender + "3"]
            self.start_lock("-shell=false", "jobs/exclusive", *self.child(name, 0.5), name=name)
        deadline = time.monotonic() + 120
        processes = {}
        while True:
            entries = read_log(self.log)
            ended = {name for kind, name, _, _ in entries if kind == "end"}
            for contender, queue in pending.items():
                if queue and "%s%d" % (contender, 3 - len(queue)) in ended:
                    name = queue.pop(0)
                    processes[name] = self.start_lock("-shell=false", "jobs/exclusive", *self.child(name, 0.5),
                                                      name=name)
            if len(ended) == len(names):
                break
            if time.monotonic() > deadline:
                raise AssertionError("the commands did not all run: %r" % (entries,))
            time.sleep(0.05)
        entries = read_log(self.log)
        self.assertEqual(most_at_once(entries), 1, entries)
        self.assertEqual(sorted(intervals(entries)), sorted(names))
        self.assertTrue(all(held == "true" for _, _, _, held in entries))
        wait_for(lambda: not self.sessions() and not self.keys("jobs/exclusive"), 30,
                 what="every session and the lock key to go")

    def test_the_lock_is_held_while_the_command_runs_and_released_after(self):
        code = ("import json, urllib.request; print(json.dumps(json.load(urllib.request.urlopen("
                "'http://%s/v1/kv/jobs/once/.lock'))[0]))" % self.agent.http)
        status, stdout, stderr = pyconsul_cli("lock", "-shell=false", "jobs/once", sys.executable, "-c", code,
                                              http=self.agent.http)
        self.assertEqual((status, stderr), (0, ""))
        entry = json.loads(stdout)
        self.assertEqual(entry["Flags"], 0x2DDCCBC058A50C18)
        self.assertTrue(entry["Session"])
        # Gone once the command has exited: no key, no session.
        self.assertEqual(self.keys("jobs/once"), [])
        self.assertEqual(self.sessions(), [])


class TakeoverTests(LockProcessTestCase):
    address = f"{NET}.112.2"

    def test_a_killed_holders_lock_is_taken_after_its_ttl_and_the_lock_delay(self):
        pid_file = os.path.join(self.dir, "first.pid")
        first = self.start_lock("-shell=false", "jobs/leader", *self.child("first", 600, pid_file=pid_file),
                                name="first")
        wait_for(lambda: os.path.exists(pid_file) and open(pid_file).read(), 60, what="the first command")
        child_pid = int(open(pid_file).read())
        self.addCleanup(_kill_quietly, child_pid)
        second = self.start_lock("-shell=false", "jobs/leader", *self.child("second", 0.1), name="second")
        wait_for(lambda: len(self.sessions()) == 2, 30, what="the second contender's session")
        # The whole first machine dies: the command and its child, without a word.
        first.kill()
        first.wait(timeout=30)
        _kill_quietly(child_pid)
        killed_at = time.time()
        self.assertEqual(self.wait_exit(second, "second", timeout=60), 0, self.output("second"))
        second_start = intervals(read_log(self.log))["second"][0]
        took = second_start - killed_at
        # The session lives 2 x 15 s after its last renewal (at most 7.5 s
        # before the kill), then the key stays locked for the 15 s lock-delay.
        self.assertGreaterEqual(took, 30 - 7.5 + 15 - 0.5, read_log(self.log))
        self.assertLess(took, 60)
        wait_for(lambda: not self.sessions() and not self.keys("jobs/leader"), 30,
                 what="every session and the lock key to go")


class SemaphoreTests(LockProcessTestCase):
    address = f"{NET}.112.3"

    def test_never_more_than_the_limit_at_once(self):
        names = ["c%d" % n for n in range(6)]
        processes = [self.start_lock("-n=3", "-shell=false", "jobs/pool",
                                     *self.child(name, 0.3, together=3, total=6), name=name)
                     for name in names]
        for name, process in zip(names, processes):
            self.assertEqual(self.wait_exit(process, name, timeout=120), 0, self.output(name))
        entries = read_log(self.log)
        self.assertEqual(sorted(intervals(entries)), names)
        self.assertEqual(most_at_once(entries), 3, entries)
        wait_for(lambda: not self.sessions() and not self.keys("jobs/pool"), 30,
                 what="every session and the semaphore keys to go")


class SignalTests(LockProcessTestCase):
    address = f"{NET}.112.4"

    def test_sigterm_stops_the_child_and_releases_the_lock(self):
        pid_file = os.path.join(self.dir, "child.pid")
        process = self.start_lock("-shell=false", "-verbose", "jobs/service",
                                  *self.child("svc", 600, pid_file=pid_file), name="svc")
        wait_for(lambda: os.path.exists(pid_file) and open(pid_file).read(), 60, what="the child")
        child_pid = int(open(pid_file).read())
        self.addCleanup(_kill_quietly, child_pid)
        self.assertEqual(len(self.sessions()), 1)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(process, "svc", timeout=30), 0, self.output("svc"))
        self.assertFalse(_alive(child_pid))
        output = self.output("svc")
        self.assertIn("Shutdown triggered, killing child\n", output)
        self.assertIn("Error running handler: signal: terminated\n", output)
        self.assertIn("Cleanup succeeded\n", output)
        self.assertEqual([kind for kind, _, _, _ in read_log(self.log)], ["start", "end"])
        self.assertEqual(self.keys("jobs/service"), [])
        self.assertEqual(self.sessions(), [])


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ")[-1].split()[0] != "Z"


def _kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class LeaderFailureTests(LockProcessTestCase):
    """Three servers (NET.111.1-3); the contenders talk to the two followers."""

    def start_agent(self):
        self.cluster = Cluster(self, f"{NET}.111", 3).start()
        return self.cluster.leader()

    def test_a_leader_kill_never_lets_two_commands_run(self):
        followers = self.cluster.followers()
        first = self.start_lock("-shell=false", "jobs/ha", *self.child("first", 600), name="first",
                                agent=followers[0])
        wait_for(lambda: read_log(self.log), 60, what="the first command")
        second = self.start_lock("-shell=false", "jobs/ha", *self.child("second", 600), name="second",
                                 agent=followers[1])
        wait_for(lambda: len(_api(followers[0], "/v1/session/list") or []) == 2, 30,
                 what="the second contender's session")
        self.agent.kill()
        self.cluster.wait_for_new_leader(followers, self.agent)
        # Whether the first holder rides the election out or loses its lock
        # (and stops its command before releasing it), one command runs.
        wait_for(lambda: running(read_log(self.log)) == 1, 60, what="one command running")
        # The lock still changes hands through the new leader.
        first.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(first, "first", timeout=60), 0, self.output("first"))
        wait_for(lambda: "second" in intervals(read_log(self.log)), 60, what="the second command")
        second.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(second, "second", timeout=60), 0, self.output("second"))
        entries = read_log(self.log)
        self.assertEqual(most_at_once(entries), 1, entries)
        self.assertEqual(running(entries), 0, entries)


def running(entries):
    kinds = [kind for kind, _, _, _ in entries]
    return kinds.count("start") - kinds.count("end")


def _api(agent, path):
    status, body = agent.request("GET", path)
    return json.loads(body) if status == 200 else None
