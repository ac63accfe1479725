"""The lock and semaphore programs (pyconsul.cli.lockapi) against a real
in-memory agent in virtual time: what they ask, in which order, how they
wait, what the server ends up holding, and the Go api's error texts.

Consul 1.10's api/lock.go, api/semaphore.go and api/session.go
(RenewPeriodic) are the reference.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.http import RequestError, Response
from pyconsul.cli.lockapi import (LOCK_FLAG, SEMAPHORE_FLAG, Call, Lock, LockConflict, LockError, LockHeld,
                                  LockInUse, LockNotHeld, Now, Options, Semaphore, SemaphoreConflict,
                                  SemaphoreInUse, SemaphoreNotHeld, SessionExpired, Signal, Sleep,
                                  is_retryable, renew_periodic, session_create, wait_param)

from tests.cli.lockagent import VirtualRunner

KEY = "service/web/.lock"


def server_error(text=b"rpc error: No cluster leader"):
    return Response(500, {}, text)


class LockTestCase(SynchronousTestCase):
    def setUp(self):
        self.runner = VirtualRunner()
        self.stop = Signal("stop")

    def lock(self, name="a", **options):
        return Lock(KEY, Options(session_name=name, **options))

    def semaphore(self, name="a", limit=2, prefix="jobs", **options):
        return Semaphore(prefix, limit, Options(session_name=name, **options))

    def acquire(self, contender, group):
        """Acquire (as ``group``) and return the lost signal."""
        lost = self.runner.run(contender.acquire(self.stop), group=group)
        self.assertIsNotNone(lost)
        return lost

    def holder(self, key=KEY):
        entry = self.runner.kv(key)
        return entry.get("Session") if entry else None

    def contender(self, contender, group, record, hold=1.0):
        """A program that acquires, holds for ``hold`` seconds, releases,
        noting (start, end) in record."""

        def program():
            lost = yield from contender.acquire(self.stop)
            started = yield Now()
            yield Sleep(hold)
            record.append((started, (yield Now()), group, lost.is_set()))
            yield from contender.release()

        return self.runner.start(program(), group=group)


def overlapping(intervals, most):
    """True if more than ``most`` of the (start, end) intervals overlap anywhere."""
    events = sorted([(start, 1) for start, _, *_ in intervals] + [(end, -1) for _, end, *_ in intervals],
                    key=lambda event: (event[0], event[1]))
    running = 0
    for _, change in events:
        running += change
        if running > most:
            return True
    return False


class GoHelperTests(SynchronousTestCase):
    def test_wait_is_whole_milliseconds(self):
        self.assertEqual(wait_param(15.0), "15000ms")
        self.assertEqual(wait_param(2.9999), "2999ms")
        self.assertEqual(wait_param(0.0001), "1ms")

    def test_retryable_errors(self):
        self.assertTrue(is_retryable(RequestError("Get \"http://x/v1/kv/a\": EOF")))
        self.assertTrue(is_retryable(LockError("Unexpected response code: 500")))
        self.assertFalse(is_retryable(LockError("Unexpected response code: 403")))

    def test_session_body_is_gos_map_encoding(self):
        program = session_create({"TTL": "15s", "Name": "x <y>", "Behavior": ""})
        call = next(program)
        self.assertEqual(call, Call("PUT", "/v1/session/create", {}, b'{"Name":"x \\u003cy\\u003e","TTL":"15s"}'))


class LockAcquireTests(LockTestCase):
    def test_a_free_lock_is_taken_with_a_session_of_its_own(self):
        lock = self.lock("web lock")
        lost = self.acquire(lock, "a")
        session = lock.session
        self.assertEqual(self.runner.requests("a", "main"), [
            ("PUT", "/v1/session/create"),
            ("GET", "/v1/kv/service/web/.lock?wait=15000ms"),
            ("PUT", "/v1/kv/service/web/.lock?acquire=%s&flags=%d" % (session, LOCK_FLAG)),
        ])
        entry = self.runner.kv(KEY)
        self.assertEqual((entry["Session"], entry["Flags"], entry["LockIndex"], entry["Value"]),
                         (session, LOCK_FLAG, 1, None))
        info = self.runner.sessions()[session]
        self.assertEqual((info["Name"], info["TTL"], info["Behavior"], info["LockDelay"]),
                         ("web lock", "15s", "release", 15 * 10 ** 9))
        self.assertFalse(lost.is_set())
        # The monitor follows the key with consistent blocking reads.
        self.runner.run_for(1)
        self.assertEqual(self.runner.requests("a", "monitor")[:2], [
            ("GET", "/v1/kv/service/web/.lock?consistent="),
            ("GET", "/v1/kv/service/web/.lock?consistent=&index=%d" % entry["ModifyIndex"]),
        ])

    def test_a_held_lock_is_waited_for_on_its_index(self):
        first = self.lock("a")
        self.acquire(first, "a")
        index = self.runner.kv(KEY)["ModifyIndex"]
        second = self.lock("b")
        waiting = self.runner.start(second.acquire(self.stop), group="b")
        self.runner.run_for(40)
        self.assertFalse(waiting.finished.is_set())
        self.assertEqual(self.holder(), first.session)
        requests = self.runner.requests("b", "main")
        self.assertEqual(requests[:2], [("PUT", "/v1/session/create"),
                                        ("GET", "/v1/kv/service/web/.lock?wait=15000ms")])
        # Every 15 s the blocking read ends and is asked again; no acquire is tried.
        self.assertEqual(requests[2:], [("GET", "/v1/kv/service/web/.lock?index=%d&wait=15000ms" % index)] * 3)
        self.runner.run(first.release(), group="a")
        released_at = self.runner.now()
        lost = self.runner.finish(waiting)
        self.assertLess(self.runner.now() - released_at, 1.0)
        self.assertFalse(lost.is_set())
        self.assertEqual(self.holder(), second.session)

    def test_only_one_holder_at_a_time(self):
        record = []
        tasks = [self.contender(self.lock(str(n)), str(n), record) for n in range(5)]
        self.runner.run_until(lambda: all(task.finished.is_set() for task in tasks), 200)
        for task in tasks:
            self.assertIsNone(task.error)
        self.assertEqual(len(record), 5)
        self.assertFalse(overlapping(record, 1), record)
        self.assertFalse(any(lost for *_, lost in record))

    def test_a_lock_delay_is_waited_out_in_steps_of_five_seconds(self):
        first = self.lock("a")
        lost_first = self.acquire(first, "a")
        second = self.lock("b")
        waiting = self.runner.start(second.acquire(self.stop), group="b")
        self.runner.run_for(1)
        self.runner.http("PUT", "/v1/session/destroy/" + first.session)
        invalidated_at = self.runner.now()
        self.runner.run_until(lost_first.is_set, 1, "the loss of the first lock")
        self.runner.finish(waiting, 30)
        # Not before the 15 s lock-delay is over, and at most one retry pause after it.
        waited = self.runner.now() - invalidated_at
        self.assertGreaterEqual(waited, 15)
        self.assertLessEqual(waited, 20.5)
        acquires = [r for r in self.runner.requests("b", "main") if "acquire=" in r[1]]
        self.assertEqual(len(acquires), 4)  # refused at 0, 5 and 10 s, taken at 15 s
        self.assertEqual(self.holder(), second.session)

    def test_a_killed_holders_lock_is_taken_over_once_its_ttl_lapses(self):
        first = self.lock("a")
        self.acquire(first, "a")
        second = self.lock("b")
        waiting = self.runner.start(second.acquire(self.stop), group="b")
        self.runner.run_for(10)
        self.runner.freeze("a")  # kill -9: no renewal, no release, no destroy
        killed_at = self.runner.now()
        self.runner.finish(waiting, 120)
        took = self.runner.now() - killed_at
        # The leader ends the session 2 x 15 s after its last renewal (at most
        # 7.5 s before the kill); then the 15 s lock-delay; then one retry pause.
        self.assertGreaterEqual(took, 30 - 7.5 + 15)
        self.assertLessEqual(took, 30 + 15 + 5 + 1)
        self.assertNotIn(first.session, self.runner.sessions())
        self.assertEqual(self.holder(), second.session)

    def test_a_key_with_other_flags_is_a_conflict(self):
        self.runner.http("PUT", "/v1/kv/" + KEY + "?flags=7", b"mine")
        lock = self.lock()
        with self.assertRaises(LockConflict) as caught:
            self.runner.run(lock.acquire(self.stop), group="a")
        self.assertEqual(str(caught.exception), "Existing key does not match lock use")
        self.runner.run_for(1)
        self.assertEqual(self.runner.sessions(), {})  # its session is destroyed
        self.assertEqual(self.runner.kv(KEY)["Flags"], 7)

    def test_a_semaphore_key_is_a_conflict_for_a_lock(self):
        self.acquire(self.semaphore(prefix="service/web"), "s")
        with self.assertRaises(LockConflict):
            self.runner.run(self.lock().acquire(self.stop), group="a")

    def test_one_shot_gives_up_after_the_wait_time(self):
        first = self.lock("a")
        self.acquire(first, "a")
        index = self.runner.kv(KEY)["ModifyIndex"]
        second = self.lock("b", try_once=True, wait_time=3.0)
        started = self.runner.now()
        self.assertIsNone(self.runner.run(second.acquire(self.stop), group="b"))
        self.assertGreaterEqual(self.runner.now() - started, 3.0)
        self.assertLess(self.runner.now() - started, 3.5)
        requests = self.runner.requests("b", "main")
        self.assertEqual(requests[1], ("GET", "/v1/kv/service/web/.lock?wait=3000ms"))
        # The next read waits only for what is left of the 3 s.
        self.assertRegex(requests[2][1], r"^/v1/kv/service/web/\.lock\?index=%d&wait=(\d+)ms$" % index)
        self.assertLessEqual(int(requests[2][1].rpartition("=")[2][:-2]), 3000)
        self.assertEqual(len(requests), 3)
        self.runner.run_for(1)
        self.assertEqual(list(self.runner.sessions()), [first.session])

    def test_one_shot_takes_a_free_lock(self):
        lock = self.lock(try_once=True, wait_time=3.0)
        self.acquire(lock, "a")
        self.assertEqual(self.holder(), lock.session)

    def test_stop_ends_the_wait_at_the_next_read(self):
        first = self.lock("a")
        self.acquire(first, "a")
        second = self.lock("b")
        waiting = self.runner.start(second.acquire(self.stop), group="b")
        self.runner.run_for(1)
        self.stop.set()
        self.assertIsNone(self.runner.finish(waiting, 16))
        self.runner.run_for(1)
        self.assertEqual(list(self.runner.sessions()), [first.session])

    def test_stop_before_the_first_read(self):
        self.stop.set()
        lock = self.lock()
        self.assertIsNone(self.runner.run(lock.acquire(self.stop), group="a"))
        self.assertEqual(self.runner.requests("a", "main"), [("PUT", "/v1/session/create")])

    def test_stop_cuts_the_lock_delay_pause_short(self):
        first = self.lock("a")
        self.acquire(first, "a")
        self.runner.http("PUT", "/v1/session/destroy/" + first.session)
        second = self.lock("b")
        waiting = self.runner.start(second.acquire(self.stop), group="b")
        self.runner.run_until(lambda: any("acquire=" in t for _, t in self.runner.requests("b", "main")), 5)
        self.runner.run_for(1)  # in the 5 s pause now
        self.stop.set()
        stopped_at = self.runner.now()
        self.assertIsNone(self.runner.finish(waiting, 5))
        self.assertLess(self.runner.now() - stopped_at, 0.5)

    def test_a_held_lock_cannot_be_acquired_again(self):
        lock = self.lock()
        self.acquire(lock, "a")
        with self.assertRaises(LockHeld) as caught:
            self.runner.run(lock.acquire(self.stop), group="a")
        self.assertEqual(str(caught.exception), "Lock already held")

    def test_session_create_failure(self):
        self.runner.faults.append(lambda task, call: server_error(b"No cluster leader")
                                  if call.path == "/v1/session/create" else None)
        with self.assertRaises(LockError) as caught:
            self.runner.run(self.lock().acquire(self.stop))
        self.assertEqual(str(caught.exception),
                         "failed to create session: Unexpected response code: 500 (No cluster leader)")

    def test_read_failure(self):
        self.runner.faults.append(lambda task, call: server_error() if call.method == "GET" else None)
        with self.assertRaises(LockError) as caught:
            self.runner.run(self.lock().acquire(self.stop))
        # The 1.10 api's KV reads leave the body out.
        self.assertEqual(str(caught.exception), "failed to read lock: Unexpected response code: 500")
        self.runner.run_for(1)
        self.assertEqual(self.runner.sessions(), {})


class LockMonitorTests(LockTestCase):
    def test_lost_when_the_session_is_destroyed(self):
        lock = self.lock()
        lost = self.acquire(lock, "a")
        self.runner.run_for(2)
        self.runner.http("PUT", "/v1/session/destroy/" + lock.session)
        self.runner.run_until(lost.is_set, 1, "the loss")

    def test_lost_when_the_key_is_deleted(self):
        lost = self.acquire(self.lock(), "a")
        self.runner.run_for(2)
        self.runner.http("DELETE", "/v1/kv/" + KEY)
        self.runner.run_until(lost.is_set, 1, "the loss")

    def test_kept_while_the_key_changes_but_stays_ours(self):
        lock = self.lock()
        lost = self.acquire(lock, "a")
        self.runner.http("PUT", "/v1/kv/%s?acquire=%s&flags=%d" % (KEY, lock.session, LOCK_FLAG), b"v2")
        self.runner.run_for(60)
        self.assertFalse(lost.is_set())

    def test_transient_server_errors_are_ridden_out(self):
        lock = self.lock(monitor_retries=3, monitor_retry_time=1.0)
        lost = self.acquire(lock, "a")
        self.runner.run_for(1)
        failures = []

        def fail_twice(task, call):
            if task.name == "monitor" and len(failures) < 2:
                failures.append(call)
                return server_error()
            return None

        self.runner.faults.append(fail_twice)
        self.runner.http("PUT", "/v1/kv/%s?acquire=%s&flags=%d" % (KEY, lock.session, LOCK_FLAG), b"wake")
        self.runner.run_for(10)
        self.assertFalse(lost.is_set())
        # After an error the read starts again without an index.
        self.assertEqual([call.params for call in failures], [
            {"consistent": "", "index": str(self.runner.kv(KEY)["ModifyIndex"])}, {"consistent": ""}])
        self.assertEqual(self.runner.requests("a", "monitor")[-1][1].split("&")[0],
                         "/v1/kv/service/web/.lock?consistent=")

    def test_lost_after_too_many_errors(self):
        lock = self.lock(monitor_retries=3, monitor_retry_time=1.0)
        lost = self.acquire(lock, "a")
        self.runner.run_for(1)
        self.runner.faults.append(lambda task, call: server_error() if task.name == "monitor" else None)
        before = len(self.runner.requests("a", "monitor"))
        self.runner.http("PUT", "/v1/kv/%s?acquire=%s&flags=%d" % (KEY, lock.session, LOCK_FLAG), b"wake")
        woke_at = self.runner.now()
        self.runner.run_until(lost.is_set, 10, "the loss")
        self.assertGreaterEqual(self.runner.now() - woke_at, 3.0)  # three pauses of 1 s
        self.assertEqual(len(self.runner.requests("a", "monitor")) - before, 4)

    def test_other_errors_are_not_retried(self):
        lost = self.acquire(self.lock(monitor_retries=3), "a")
        self.runner.run_for(1)  # the monitor's read is out
        self.runner.faults.append(lambda task, call: Response(403, {}, b"Permission denied")
                                  if task.name == "monitor" else None)
        self.runner.http("PUT", "/v1/kv/other", b"x")
        self.runner.http("DELETE", "/v1/kv/other")
        self.runner.run_for(0.5)
        self.assertFalse(lost.is_set())  # the blocking read on the lock key is still out
        lock_key_change = "/v1/kv/%s?flags=%d" % (KEY, LOCK_FLAG)
        self.runner.http("PUT", lock_key_change, b"touched")  # a plain write keeps the holder
        self.runner.run_until(lost.is_set, 0.5, "the loss")

    def test_an_unreachable_agent_is_retried(self):
        lock = self.lock(monitor_retries=2, monitor_retry_time=1.0)
        lost = self.acquire(lock, "a")
        answers = [RequestError("Get \"http://127.0.0.1:8500/v1/kv/x\": EOF")]
        self.runner.faults.append(lambda task, call: answers.pop() if task.name == "monitor" and answers else None)
        self.runner.http("PUT", "/v1/kv/%s?acquire=%s&flags=%d" % (KEY, lock.session, LOCK_FLAG), b"wake")
        self.runner.run_for(5)
        self.assertFalse(lost.is_set())

    def test_no_retries_by_default(self):
        lost = self.acquire(self.lock(), "a")
        self.runner.run_for(1)
        self.runner.faults.append(lambda task, call: server_error() if task.name == "monitor" else None)
        self.runner.http("PUT", "/v1/kv/%s?flags=%d" % (KEY, LOCK_FLAG), b"wake")
        self.runner.run_until(lost.is_set, 0.5, "the loss")


class LockReleaseTests(LockTestCase):
    def test_release_frees_the_key_and_destroys_the_session(self):
        lock = self.lock()
        lost = self.acquire(lock, "a")
        session = lock.session
        self.runner.run(lock.release(), group="a")
        self.assertIn(("PUT", "/v1/kv/%s?flags=%d&release=%s" % (KEY, LOCK_FLAG, session)),
                      self.runner.requests("a", "main"))
        self.runner.run_until(lambda: not self.runner.sessions(), 1, "the end of the session")
        self.assertIn(("PUT", "/v1/session/destroy/" + session), self.runner.requests("a", "renew"))
        entry = self.runner.kv(KEY)
        self.assertNotIn("Session", entry)
        self.runner.run_until(lost.is_set, 1, "the monitor to stop")
        self.runner.run(lock.destroy(), group="a")
        self.assertIsNone(self.runner.kv(KEY))

    def test_no_lock_delay_after_a_release(self):
        first = self.lock("a")
        self.acquire(first, "a")
        self.runner.run(first.release(), group="a")
        self.runner.run_for(1)
        released_at = self.runner.now()
        self.acquire(self.lock("b"), "b")
        self.assertLess(self.runner.now() - released_at, 1)

    def test_release_of_a_lock_not_held(self):
        with self.assertRaises(LockNotHeld) as caught:
            self.runner.run(self.lock().release())
        self.assertEqual(str(caught.exception), "Lock not held")

    def test_release_after_the_lock_was_lost(self):
        lock = self.lock()
        lost = self.acquire(lock, "a")
        self.runner.http("PUT", "/v1/session/destroy/" + lock.session)
        self.runner.run_until(lost.is_set, 1, "the loss")
        self.runner.run(lock.release(), group="a")

    def test_destroy_refuses_a_lock_in_use(self):
        first = self.lock("a")
        self.acquire(first, "a")
        with self.assertRaises(LockHeld):
            self.runner.run(first.destroy(), group="a")
        with self.assertRaises(LockInUse) as caught:
            self.runner.run(self.lock("b").destroy(), group="b")
        self.assertEqual(str(caught.exception), "Lock in use")

    def test_destroy_of_nothing_and_of_a_foreign_key(self):
        self.runner.run(self.lock().destroy())
        self.runner.http("PUT", "/v1/kv/" + KEY, b"other")
        with self.assertRaises(LockConflict):
            self.runner.run(self.lock().destroy())
        self.assertIsNotNone(self.runner.kv(KEY))

    def test_release_failure(self):
        lock = self.lock()
        self.acquire(lock, "a")
        self.runner.faults.append(lambda task, call: server_error(b"boom") if "release" in call.params else None)
        with self.assertRaises(LockError) as caught:
            self.runner.run(lock.release(), group="a")
        self.assertEqual(str(caught.exception), "failed to release lock: Unexpected response code: 500 (boom)")
        # The session is destroyed anyway.
        self.runner.run_until(lambda: not self.runner.sessions(), 1, "the end of the session")


class RenewTests(LockTestCase):
    def create(self, ttl="15s"):
        return self.runner.json("PUT", "/v1/session/create", json.dumps({"TTL": ttl}).encode())["ID"]

    def test_renews_every_half_ttl(self):
        session = self.create()
        done = Signal()
        task = self.runner.start(renew_periodic("15s", session, done), "renew")
        self.runner.run_for(61)
        self.assertEqual(self.runner.requests(name="renew"), [("PUT", "/v1/session/renew/" + session)] * 8)
        self.runner.run_for(120)
        self.assertIn(session, self.runner.sessions())
        done.set()
        self.runner.finish(task, 1)
        self.assertEqual(self.runner.requests(name="renew")[-1], ("PUT", "/v1/session/destroy/" + session))
        self.assertNotIn(session, self.runner.sessions())

    def test_follows_the_ttl_the_server_gives(self):
        session = self.create()
        renewed = []

        def longer_ttl(task, call):
            if call.path.startswith("/v1/session/renew/"):
                renewed.append(self.runner.now())
                return Response(200, {}, json.dumps([{"ID": session, "TTL": "40s"}]).encode())
            return None

        self.runner.faults.append(longer_ttl)
        self.runner.start(renew_periodic("15s", session, Signal()), "renew")
        self.runner.run_for(50)
        self.assertEqual(len(renewed), 3)  # at 7.5 s, then every 20 s
        self.assertAlmostEqual(renewed[1] - renewed[0], 20, delta=0.2)

    def test_stops_when_the_session_is_gone(self):
        session = self.create()
        task = self.runner.start(renew_periodic("15s", session, Signal()), "renew")
        self.runner.run_for(1)
        self.runner.http("PUT", "/v1/session/destroy/" + session)
        self.assertIsInstance(self.runner.finish(task, 8), SessionExpired)
        self.assertEqual(str(task.result), "session expired")

    def test_retries_each_second_then_gives_up_after_a_ttl(self):
        session = self.create()
        failure = RequestError('Put "http://127.0.0.1:8500/v1/session/renew/x": EOF')
        self.runner.faults.append(lambda task, call: failure if call.path.startswith("/v1/session/renew/") else None)
        task = self.runner.start(renew_periodic("15s", session, Signal()), "renew")
        self.assertIs(self.runner.finish(task, 30), failure)
        self.assertGreater(self.runner.now(), 15)
        # One at 7.5 s, then one a second until more than 15 s have passed.
        self.assertEqual(len(self.runner.requests(name="renew")), 9)


class SemaphoreTests(LockTestCase):
    def test_a_free_slot_is_taken(self):
        semaphore = self.semaphore("sem", limit=2)
        lost = self.acquire(semaphore, "a")
        session = semaphore.session
        self.assertEqual(self.runner.requests("a", "main"), [
            ("PUT", "/v1/session/create"),
            ("PUT", "/v1/kv/jobs/%s?acquire=%s&flags=%d" % (session, session, SEMAPHORE_FLAG)),
            ("GET", "/v1/kv/jobs?recurse=&wait=15000ms"),
            ("PUT", "/v1/kv/jobs/.lock?cas=0&flags=%d" % SEMAPHORE_FLAG),
        ])
        self.assertEqual(self.runner.sessions()[session]["Behavior"], "delete")
        contender = self.runner.kv("jobs/" + session)
        self.assertEqual((contender["Session"], contender["Flags"]), (session, SEMAPHORE_FLAG))
        entry = self.runner.http("GET", "/v1/kv/jobs/.lock?raw")
        self.assertEqual(entry.body, b'{"Limit":2,"Holders":{"%s":true}}' % session.encode())
        self.assertFalse(lost.is_set())

    def test_never_more_holders_than_the_limit(self):
        record = []
        tasks = [self.contender(self.semaphore(str(n), limit=2), str(n), record) for n in range(6)]
        self.runner.run_until(lambda: all(task.finished.is_set() for task in tasks), 200)
        for task in tasks:
            self.assertIsNone(task.error)
        self.assertEqual(len(record), 6)
        self.assertFalse(overlapping(record, 2), record)
        self.assertTrue(overlapping(record, 1), record)  # the two slots were both used
        self.assertEqual(self.runner.kv_keys("jobs"), ["jobs/.lock"])

    def test_a_full_semaphore_is_waited_for_on_the_prefix_index(self):
        self.acquire(self.semaphore("a", limit=1), "a")
        waiting = self.runner.start(self.semaphore("b", limit=1).acquire(self.stop), group="b")
        self.runner.run_for(20)
        self.assertFalse(waiting.finished.is_set())
        reads = [target for method, target in self.runner.requests("b", "main") if method == "GET"]
        self.assertEqual(reads[0], "/v1/kv/jobs?recurse=&wait=15000ms")
        self.assertRegex(reads[1], r"^/v1/kv/jobs\?index=\d+&recurse=&wait=15000ms$")
        self.assertEqual(len(reads), 3)

    def test_dead_holders_are_pruned(self):
        first, second, third = (self.semaphore(name, limit=2) for name in "abc")
        self.acquire(first, "a")
        self.acquire(second, "b")
        waiting = self.runner.start(third.acquire(self.stop), group="c")
        self.runner.run_for(5)
        self.runner.freeze("a")
        killed_at = self.runner.now()
        self.runner.finish(waiting, 60)
        # No lock-delay here: the session's end deletes its contender key.
        self.assertLessEqual(self.runner.now() - killed_at, 31)
        self.assertIsNone(self.runner.kv("jobs/" + first.session))
        holders = json.loads(self.runner.http("GET", "/v1/kv/jobs/.lock?raw").body)["Holders"]
        self.assertEqual(holders, {second.session: True, third.session: True})

    def test_limit_conflict(self):
        self.acquire(self.semaphore("a", limit=2), "a")
        with self.assertRaises(LockError) as caught:
            self.runner.run(self.semaphore("b", limit=3).acquire(self.stop), group="b")
        self.assertEqual(str(caught.exception), "semaphore limit conflict (lock: 2, local: 3)")
        self.runner.run_for(1)
        self.assertEqual(len(self.runner.sessions()), 1)
        self.assertEqual(len(self.runner.kv_keys("jobs/")), 2)  # its contender key went with its session

    def test_a_lock_key_is_a_conflict_for_a_semaphore(self):
        self.acquire(Lock("jobs/.lock", Options()), "l")
        with self.assertRaises(SemaphoreConflict) as caught:
            self.runner.run(self.semaphore().acquire(self.stop), group="s")
        self.assertEqual(str(caught.exception), "Existing key does not match semaphore use")

    def test_a_lock_key_that_is_not_json(self):
        self.runner.http("PUT", "/v1/kv/jobs/.lock?flags=%d" % SEMAPHORE_FLAG, b"xyz")
        with self.assertRaises(LockError) as caught:
            self.runner.run(self.semaphore().acquire(self.stop))
        self.assertEqual(str(caught.exception),
                         "lock decoding failed: invalid character 'x' looking for beginning of value")

    def test_bad_options(self):
        with self.assertRaises(LockError) as caught:
            Semaphore("", 2, Options())
        self.assertEqual(str(caught.exception), "missing prefix")
        with self.assertRaises(LockError) as caught:
            Semaphore("p", 0, Options())
        self.assertEqual(str(caught.exception), "semaphore limit must be positive")
        with self.assertRaises(LockError) as caught:
            Lock("", Options())
        self.assertEqual(str(caught.exception), "missing key")

    def test_release_leaves_holders_and_deletes_the_contender_key(self):
        first, second = self.semaphore("a"), self.semaphore("b")
        lost = self.acquire(first, "a")
        self.acquire(second, "b")
        session = first.session
        self.runner.run(first.release(), group="a")
        holders = json.loads(self.runner.http("GET", "/v1/kv/jobs/.lock?raw").body)["Holders"]
        self.assertEqual(holders, {second.session: True})
        self.assertIsNone(self.runner.kv("jobs/" + session))
        self.runner.run_until(lost.is_set, 1, "the monitor to stop")
        self.runner.run_until(lambda: session not in self.runner.sessions(), 1, "the end of the session")
        with self.assertRaises(SemaphoreInUse) as caught:
            self.runner.run(first.destroy(), group="a")
        self.assertEqual(str(caught.exception), "Semaphore in use")
        self.runner.run(second.release(), group="b")
        self.runner.run(second.destroy(), group="b")
        self.assertEqual(self.runner.kv_keys("jobs"), [])

    def test_releases_at_the_same_time_retry_their_cas(self):
        first, second = self.semaphore("a"), self.semaphore("b")
        self.acquire(first, "a")
        self.acquire(second, "b")
        tasks = [self.runner.start(first.release(), group="a"), self.runner.start(second.release(), group="b")]
        self.runner.run_until(lambda: all(task.finished.is_set() for task in tasks), 5)
        for task in tasks:
            self.assertIsNone(task.error)
        cas_writes = [t for m, t in self.runner.requests() if m == "PUT" and t.startswith("/v1/kv/jobs/.lock?cas=")]
        self.assertEqual(len(cas_writes), 2 + 2 + 1)  # two acquisitions, two releases, one retried
        self.assertEqual(json.loads(self.runner.http("GET", "/v1/kv/jobs/.lock?raw").body)["Holders"], {})

    def test_release_of_a_semaphore_not_held(self):
        with self.assertRaises(SemaphoreNotHeld) as caught:
            self.runner.run(self.semaphore().release())
        self.assertEqual(str(caught.exception), "Semaphore not held")

    def test_lost_when_dropped_from_the_holders(self):
        semaphore = self.semaphore()
        lost = self.acquire(semaphore, "a")
        self.runner.run_for(1)
        self.runner.http("PUT", "/v1/kv/jobs/.lock?flags=%d" % SEMAPHORE_FLAG, b'{"Limit":2,"Holders":{}}')
        self.runner.run_until(lost.is_set, 1, "the loss")

    def test_lost_when_the_contender_key_goes(self):
        semaphore = self.semaphore()
        lost = self.acquire(semaphore, "a")
        self.runner.run_for(1)
        self.runner.http("DELETE", "/v1/kv/jobs/" + semaphore.session)
        self.runner.run_until(lost.is_set, 1, "the loss")

    def test_one_shot_semaphore_gives_up(self):
        self.acquire(self.semaphore("a", limit=1), "a")
        late = self.semaphore("b", limit=1, try_once=True, wait_time=2.0)
        started = self.runner.now()
        self.assertIsNone(self.runner.run(late.acquire(self.stop), group="b"))
        self.assertLess(self.runner.now() - started, 2.5)
        self.runner.run_for(1)
        self.assertEqual(len(self.runner.sessions()), 1)
        self.assertEqual(len(self.runner.kv_keys("jobs/")), 2)
