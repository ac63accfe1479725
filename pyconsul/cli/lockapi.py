"""Consul's ``api.Lock`` and ``api.Semaphore`` as programs that do no I/O.

``pyconsul lock`` has to behave like the ``consul lock`` command, which is
built on the Go ``api`` package's Lock (one holder) and Semaphore (up to N
holders). Their algorithms are written here as generators: a program
*yields* an effect and is resumed with its outcome, so the same code runs
on threads with the synchronous HTTP client (:mod:`pyconsul.cli.lockrun`)
and, in tests, on an in-memory server in virtual time. The effects:

``Call(method, path, params, body, headers)``
    one HTTP request; resumed with a ``pyconsul.cli.http.Response``, or
    with an ``ApiError`` thrown in when no answer came;
``Sleep(seconds, wake)``
    a pause that ends early when one of the ``wake`` signals is set;
    resumed with that signal, or None when the time ran out;
``Now()``
    resumed with a monotonic time in seconds;
``Spawn(program, name)``
    start another program alongside; resumed with its ``Task``.

A ``Signal`` is a flag that is set once (Go's closed channel): a stop
request, a lost lock, the end of a task.

The lock (``Lock``): key ``PREFIX/.lock`` with flags ``LOCK_FLAG``, taken
with ``?acquire=`` by a session of its own (TTL 15s, renewed every half
TTL, destroyed when the lock is released). Acquisition waits with blocking
reads while another session holds the key, and after a refused acquire of
a free key (lock-delay) retries after 5 s. Once held, a monitor follows the
key with blocking reads and sets the lock's lost signal when the key's
session is no longer ours (retrying errors that look transient).

The semaphore (``Semaphore``): a session with Behavior ``delete``, a
contender key ``PREFIX/<session>`` held by it, and the coordination key
``PREFIX/.lock`` (flags ``SEMAPHORE_FLAG``) holding ``{"Limit": n,
"Holders": {session: true}}``, changed with ``?cas=``. Holders whose
contender key has gone are dropped before counting; while the holders are
at the limit it waits on the prefix's index.

Error texts are the Go package's, because the command prints them.
"""

import json
import threading
from dataclasses import dataclass, field

from pyconsul.cli.http import ApiError, RequestError, UnexpectedStatus
from pyconsul.cli.kvapi import KVPair
from pyconsul.golang import duration
from pyconsul.golang import path as gopath
from pyconsul.golang import json as go_json

LOCK_FLAG = 0x2DDCCBC058A50C18
SEMAPHORE_FLAG = 0xE0F69A2BAA414DE0
SEMAPHORE_KEY = ".lock"

DEFAULT_LOCK_SESSION_NAME = "Consul API Lock"
DEFAULT_SEMAPHORE_SESSION_NAME = "Consul API Semaphore"
DEFAULT_SESSION_TTL = "15s"
DEFAULT_WAIT_TIME = 15.0  # seconds a blocking read waits during acquisition
LOCK_RETRY_TIME = 5.0  # the pause after an acquire refused by lock-delay
DEFAULT_MONITOR_RETRY_TIME = 2.0
RENEW_RETRY_TIME = 1.0  # RenewPeriodic's pause after a failed renewal

KV_PATH = "/v1/kv/"
SERVER_ERROR = "Unexpected response code: 500"


# --------------------------------------------------------------------- errors


class LockError(ApiError):
    """A lock or semaphore operation failed; ``str()`` is the Go api's text."""


class _FixedLockError(LockError):
    """A LockError whose text is always the Go api's same words."""

    text = ""

    def __init__(self):
        super().__init__(self.text)


class LockHeld(_FixedLockError):
    text = "Lock already held"


class LockNotHeld(_FixedLockError):
    text = "Lock not held"


class LockInUse(_FixedLockError):
    text = "Lock in use"


class LockConflict(_FixedLockError):
    text = "Existing key does not match lock use"


class SemaphoreHeld(_FixedLockError):
    text = "Semaphore already held"


class SemaphoreNotHeld(_FixedLockError):
    text = "Semaphore not held"


class SemaphoreInUse(_FixedLockError):
    text = "Semaphore in use"


class SemaphoreConflict(_FixedLockError):
    text = "Existing key does not match semaphore use"


class SessionExpired(_FixedLockError):
    text = "session expired"


def is_retryable(error):
    """api.IsRetryableError: no answer at all, or a 500 from the servers."""
    return isinstance(error, RequestError) or SERVER_ERROR in str(error)


# ---------------------------------------------------------- effects, signals


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict = field(default_factory=dict)
    body: bytes = None
    headers: tuple = ()


@dataclass(frozen=True)
class Sleep:
    seconds: float
    wake: tuple = ()


@dataclass(frozen=True)
class Now:
    pass


@dataclass(frozen=True)
class Spawn:
    program: object
    name: str = ""


class Signal:
    """Set once, seen by everyone: ``listen`` callbacks run when it is set
    (at once if it already is). Safe to use from several threads."""

    def __init__(self, name=""):
        self.name = name
        self._lock = threading.Lock()
        self._set = False
        self._listeners = []

    def __repr__(self):
        return "<Signal %s%s>" % (self.name, " set" if self._set else "")

    def set(self):
        with self._lock:
            if self._set:
                return
            self._set = True
            listeners, self._listeners = self._listeners, []
        for callback in listeners:
            callback(self)

    def is_set(self):
        return self._set

    def listen(self, callback):
        """Call ``callback(signal)`` once it is set; returns a function that
        cancels the call if it has not happened."""
        with self._lock:
            if not self._set:
                self._listeners.append(callback)
                return lambda: self._forget(callback)
        callback(self)
        return lambda: None

    def _forget(self, callback):
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)


class Task:
    """A spawned program: ``finished`` is set when it returns or fails."""

    def __init__(self, name=""):
        self.name = name
        self.finished = Signal(name)
        self.result = None
        self.error = None

    def finish(self, result=None, error=None):
        self.result, self.error = result, error
        self.finished.set()


# --------------------------------------------------------------- go helpers


def wait_param(seconds):
    """The Go api's durToMsec: whole milliseconds, at least 1 for a positive wait."""
    milliseconds = int(seconds * 1000)
    if seconds > 0 and milliseconds == 0:
        milliseconds = 1
    return "%dms" % milliseconds


def query_params(index=0, wait=None, consistent=False):
    params = {}
    if index:
        params["index"] = str(index)
    if wait:
        params["wait"] = wait_param(wait)
    if consistent:
        params["consistent"] = ""
    return params


def last_index(response):
    """X-Consul-Index as the Go api reads it (0 when missing or unreadable)."""
    try:
        return int(response.header("X-Consul-Index") or 0)
    except ValueError:
        return 0


def _decode(body, what="response"):
    try:
        return json.loads(body)
    except ValueError as error:
        problem = go_json.syntax_error(body) or str(error)
        raise ApiError(problem) from None


# ------------------------------------------------------- KV and session calls


def kv_read(key, index=0, wait=None, consistent=False, recurse=False):
    """(decoded entries or None for a 404, the index): the Go api's KV reads."""
    params = query_params(index, wait, consistent)
    if recurse:
        params["recurse"] = ""
    response = yield Call("GET", KV_PATH + key, params)
    if response.status == 404:
        return None, last_index(response)
    if response.status != 200:
        # The 1.10 api's KV reads name the status without the body.
        raise ApiError("Unexpected response code: %d" % response.status)
    return [KVPair.from_json(item) for item in _decode(response.body) or ()], last_index(response)


def kv_get(key, index=0, wait=None, consistent=False):
    items, index = yield from kv_read(key, index, wait, consistent)
    return (items[0] if items else None), index


def kv_list(prefix, index=0, wait=None, consistent=False):
    items, index = yield from kv_read(prefix, index, wait, consistent, recurse=True)
    return items or [], index


def _kv_write(method, key, params, body=None):
    if key.startswith("/"):
        raise ApiError("Invalid key. Key must not begin with a '/': %s" % key)
    headers = (("Content-Type", "application/octet-stream"),) if method == "PUT" else ()
    response = yield Call(method, KV_PATH + key, params, body, headers)
    if response.status != 200:
        raise UnexpectedStatus(response.status, response.body)
    return b"true" in response.body


def _pair_params(pair):
    return {"flags": str(pair.flags)} if pair.flags else {}


def kv_acquire(pair):
    params = dict(_pair_params(pair), acquire=pair.session)
    return (yield from _kv_write("PUT", pair.key, params, pair.value or b""))


def kv_release(pair):
    params = dict(_pair_params(pair), release=pair.session)
    return (yield from _kv_write("PUT", pair.key, params, pair.value or b""))


def kv_cas(pair):
    params = dict(_pair_params(pair), cas=str(pair.modify_index))
    return (yield from _kv_write("PUT", pair.key, params, pair.value or b""))


def kv_delete(key):
    return (yield from _kv_write("DELETE", key, {}))


def kv_delete_cas(pair):
    return (yield from _kv_write("DELETE", pair.key, {"cas": str(pair.modify_index)}))


def session_create(entry):
    """PUT /v1/session/create with the entry's non-empty fields; the new ID."""
    body = go_json.marshal({name: entry[name] for name in sorted(entry) if entry[name]}).encode()
    response = yield Call("PUT", "/v1/session/create", {}, body)
    if response.status != 200:
        raise UnexpectedStatus(response.status, response.body)
    return (_decode(response.body) or {}).get("ID", "")


def session_renew(session_id):
    """The session entry, or None when the agent no longer knows it (404)."""
    response = yield Call("PUT", "/v1/session/renew/" + session_id)
    if response.status == 404:
        return None
    if response.status != 200:
        raise ApiError("Unexpected response code: %d" % response.status)
    entries = _decode(response.body)
    return entries[0] if entries else None


def session_destroy(session_id):
    response = yield Call("PUT", "/v1/session/destroy/" + session_id)
    if response.status != 200:
        raise UnexpectedStatus(response.status, response.body)


def ttl_seconds(text):
    try:
        return duration.parse_duration(text) / duration.SECOND
    except duration.DurationError:
        return 0.0


def renew_periodic(initial_ttl, session_id, done):
    """Session.RenewPeriodic: renew every half TTL until ``done`` is set,
    then destroy the session. Gives up (returning the reason) when the
    session has gone, or when renewals have failed for a whole TTL."""
    ttl = ttl_seconds(initial_ttl)
    pause = ttl / 2
    last_renewal = yield Now()
    last_error = None
    while True:
        if (yield Now()) - last_renewal > ttl:
            return last_error
        woke = yield Sleep(pause, (done,))
        if woke is done:
            try:
                yield from session_destroy(session_id)
            except ApiError:
                pass
            return None
        try:
            entry = yield from session_renew(session_id)
        except ApiError as error:
            pause, last_error = RENEW_RETRY_TIME, error
            continue
        if entry is None:
            return SessionExpired()
        ttl = ttl_seconds(entry.get("TTL") or "")
        pause = ttl / 2
        last_renewal = yield Now()


# ----------------------------------------------------------------- the lock


@dataclass
class Options:
    """What LockOptions and SemaphoreOptions share (already defaulted)."""

    session_name: str = ""
    session_ttl: str = DEFAULT_SESSION_TTL
    monitor_retries: int = 0
    monitor_retry_time: float = DEFAULT_MONITOR_RETRY_TIME
    wait_time: float = DEFAULT_WAIT_TIME
    try_once: bool = False
    value: bytes = None


class _Contender:
    """The session handling Lock and Semaphore share."""

    session_behavior = ""

    def __init__(self, options):
        self.options = options
        self.held = False
        self.session = ""
        self.renew_done = None
        self.renewer = None  # the renewal Task, once a session exists

    def _start_session(self):
        entry = {"Name": self.options.session_name, "TTL": self.options.session_ttl,
                 "Behavior": self.session_behavior}
        try:
            session = yield from session_create(entry)
        except ApiError as error:
            raise LockError("failed to create session: %s" % error) from None
        self.session = session
        self.renew_done = Signal("renew-done")
        self.renewer = yield Spawn(renew_periodic(self.options.session_ttl, session, self.renew_done), "renew")
        return session

    def _stop_renewing(self):
        """The renewer destroys the session once told to stop."""
        if self.renew_done is not None:
            self.renew_done.set()
            self.renew_done = None

    def _one_shot_wait(self, start, attempts):
        """The blocking wait for this attempt, or None when -timeout is up."""
        if not (self.options.try_once and attempts > 0):
            return self.options.wait_time
        elapsed = (yield Now()) - start
        if elapsed > self.options.wait_time:
            return None
        return self.options.wait_time - elapsed


class Lock(_Contender):
    """api.Lock on ``key``; create with the command's options."""

    def __init__(self, key, options):
        if not key:
            raise LockError("missing key")
        super().__init__(options)
        self.key = key

    def entry(self, session):
        return KVPair(key=self.key, value=self.options.value, session=session, flags=LOCK_FLAG)

    def acquire(self, stop):
        """Lock(stopCh): the lost signal once held; None if stopped or out of time."""
        if self.held:
            raise LockHeld()
        yield from self._start_session()
        try:
            return (yield from self._acquire(stop))
        finally:
            if not self.held:
                self._stop_renewing()

    def _acquire(self, stop):
        start = yield Now()
        attempts = 0
        index = 0
        while True:
            if stop.is_set():
                return None
            wait = yield from self._one_shot_wait(start, attempts)
            if wait is None:
                return None
            attempts += 1
            try:
                pair, found_index = yield from kv_get(self.key, index, wait)
            except ApiError as error:
                raise LockError("failed to read lock: %s" % error) from None
            if pair is not None and pair.flags != LOCK_FLAG:
                raise LockConflict()
            if pair is not None and pair.session == self.session:
                break
            if pair is not None and pair.session:
                index = found_index
                continue
            try:
                locked = yield from kv_acquire(self.entry(self.session))
            except ApiError as error:
                raise LockError("failed to acquire lock: %s" % error) from None
            if locked:
                break
            # Why not? A holder: wait for it. None: lock-delay, try again later.
            index = 0
            pair, found_index = yield from kv_get(self.key, 0, wait)
            if pair is not None and pair.session:
                index = found_index
                continue
            if (yield Sleep(LOCK_RETRY_TIME, (stop,))) is stop:
                return None
        monitor = yield Spawn(self._monitor(self.session), "monitor")
        self.held = True
        return monitor.finished

    def _monitor(self, session):
        """Follow the key until it is no longer held by ``session``."""
        index = 0
        while True:
            retries = self.options.monitor_retries
            while True:
                try:
                    pair, found_index = yield from kv_get(self.key, index, consistent=True)
                    break
                except ApiError as error:
                    if retries > 0 and is_retryable(error):
                        yield Sleep(self.options.monitor_retry_time)
                        retries -= 1
                        index = 0
                        continue
                    return error
            if pair is None or pair.session != session:
                return None
            index = found_index

    def release(self):
        """Unlock: release the key and stop renewing (which destroys the session)."""
        if not self.held:
            raise LockNotHeld()
        self.held = False
        entry = self.entry(self.session)
        self.session = ""
        try:
            yield from kv_release(entry)
        except ApiError as error:
            raise LockError("failed to release lock: %s" % error) from None
        finally:
            self._stop_renewing()

    def destroy(self):
        """Delete the key if no one holds it (LockInUse if someone does)."""
        if self.held:
            raise LockHeld()
        try:
            pair, _ = yield from kv_get(self.key)
        except ApiError as error:
            raise LockError("failed to read lock: %s" % error) from None
        if pair is None:
            return
        if pair.flags != LOCK_FLAG:
            raise LockConflict()
        if pair.session:
            raise LockInUse()
        try:
            removed = yield from kv_delete_cas(pair)
        except ApiError as error:
            raise LockError("failed to remove lock: %s" % error) from None
        if not removed:
            raise LockInUse()


# ------------------------------------------------------------- the semaphore


@dataclass
class Holders:
    """The coordination key's value: semaphoreLock in the Go api."""

    limit: int
    holders: dict  # session ID -> True

    def encode(self):
        return go_json.marshal({"Limit": self.limit,
                                "Holders": {name: self.holders[name] for name in sorted(self.holders)}}).encode()


class Semaphore(_Contender):
    """api.Semaphore with ``limit`` slots under ``prefix``."""

    session_behavior = "delete"

    def __init__(self, prefix, limit, options):
        if not prefix:
            raise LockError("missing prefix")
        if limit <= 0:
            raise LockError("semaphore limit must be positive")
        super().__init__(options)
        self.prefix = prefix
        self.limit = limit
        self.lock_key = gopath.join(prefix, SEMAPHORE_KEY)

    def contender_entry(self, session):
        return KVPair(key=gopath.join(self.prefix, session), value=self.options.value, session=session,
                      flags=SEMAPHORE_FLAG)

    def find_lock(self, pairs):
        for pair in pairs:
            if pair.key == self.lock_key:
                return pair
        return KVPair(key="", flags=SEMAPHORE_FLAG)

    def decode(self, pair):
        """The holders recorded in ``pair`` (none when it has no value)."""
        if pair is None or not pair.value:
            return Holders(self.limit, {})
        try:
            data = json.loads(pair.value)
        except ValueError as error:
            problem = go_json.syntax_error(pair.value) or str(error)
            raise LockError("lock decoding failed: %s" % problem) from None
        if not isinstance(data, dict):
            raise LockError("lock decoding failed: json: cannot unmarshal %s into Go value of type api.semaphoreLock"
                            % _json_kind(data))
        # Go matches struct fields without regard to case.
        fields = {name.lower(): value for name, value in data.items()}
        limit = fields.get("limit") or 0
        holders = fields.get("holders") or {}
        if not isinstance(limit, int) or isinstance(limit, bool) or not isinstance(holders, dict):
            raise LockError("lock decoding failed: json: cannot unmarshal the value into Go struct "
                            "api.semaphoreLock")
        return Holders(limit, {name: bool(value) for name, value in holders.items()})

    @staticmethod
    def prune(lock, pairs):
        """Forget holders whose contender key (held by their session) has gone."""
        alive = {pair.session for pair in pairs if pair.session}
        for holder in list(lock.holders):
            if holder not in alive:
                del lock.holders[holder]

    def lock_pair(self, lock, modify_index):
        return KVPair(key=self.lock_key, value=lock.encode(), flags=SEMAPHORE_FLAG, modify_index=modify_index)

    def acquire(self, stop):
        """Acquire(stopCh): the lost signal once a slot is ours; None if
        stopped or out of time."""
        if self.held:
            raise SemaphoreHeld()
        yield from self._start_session()
        try:
            return (yield from self._acquire(stop))
        finally:
            if not self.held:
                self._stop_renewing()

    def _acquire(self, stop):
        try:
            made = yield from kv_acquire(self.contender_entry(self.session))
        except ApiError as error:
            raise LockError("failed to make contender entry: %s" % error) from None
        if not made:
            raise LockError("failed to make contender entry: <nil>")
        start = yield Now()
        attempts = 0
        index = 0
        while True:
            if stop.is_set():
                return None
            wait = yield from self._one_shot_wait(start, attempts)
            if wait is None:
                return None
            attempts += 1
            try:
                pairs, found_index = yield from kv_list(self.prefix, index, wait)
            except ApiError as error:
                raise LockError("failed to read prefix: %s" % error) from None
            lock_pair = self.find_lock(pairs)
            if lock_pair.flags != SEMAPHORE_FLAG:
                raise SemaphoreConflict()
            lock = self.decode(lock_pair)
            if lock.limit != self.limit:
                raise LockError("semaphore limit conflict (lock: %d, local: %d)" % (lock.limit, self.limit))
            self.prune(lock, pairs)
            if len(lock.holders) >= lock.limit:
                index = found_index
                continue
            lock.holders[self.session] = True
            try:
                written = yield from kv_cas(self.lock_pair(lock, lock_pair.modify_index))
            except ApiError as error:
                raise LockError("failed to update lock: %s" % error) from None
            if written:
                break
            # Another contender changed the key first: read it again.
        monitor = yield Spawn(self._monitor(self.session), "monitor")
        self.held = True
        return monitor.finished

    def _monitor(self, session):
        """Follow the prefix until ``session`` is no longer a live holder."""
        index = 0
        while True:
            retries = self.options.monitor_retries
            while True:
                try:
                    pairs, found_index = yield from kv_list(self.prefix, index, consistent=True)
                    break
                except ApiError as error:
                    if retries > 0 and is_retryable(error):
                        yield Sleep(self.options.monitor_retry_time)
                        retries -= 1
                        index = 0
                        continue
                    return error
            try:
                lock = self.decode(self.find_lock(pairs))
            except LockError as error:
                return error
            self.prune(lock, pairs)
            if session not in lock.holders:
                return None
            index = found_index

    def release(self):
        """Give the slot back: leave Holders (retrying a lost CAS), delete
        the contender key, stop renewing (which destroys the session)."""
        if not self.held:
            raise SemaphoreNotHeld()
        self.held = False
        session, self.session = self.session, ""
        try:
            while True:
                pair, _ = yield from kv_get(self.lock_key)
                if pair is None:
                    pair = KVPair(key=self.lock_key)
                lock = self.decode(pair)
                if session not in lock.holders:
                    break
                del lock.holders[session]
                try:
                    written = yield from kv_cas(self.lock_pair(lock, pair.modify_index))
                except ApiError as error:
                    raise LockError("failed to update lock: %s" % error) from None
                if written:
                    break
            yield from kv_delete(gopath.join(self.prefix, session))
        finally:
            self._stop_renewing()

    def destroy(self):
        """Delete the coordination key if no live holder remains."""
        if self.held:
            raise SemaphoreHeld()
        try:
            pairs, _ = yield from kv_list(self.prefix)
        except ApiError as error:
            raise LockError("failed to read prefix: %s" % error) from None
        lock_pair = self.find_lock(pairs)
        if lock_pair.modify_index == 0:
            return
        if lock_pair.flags != SEMAPHORE_FLAG:
            raise SemaphoreConflict()
        lock = self.decode(lock_pair)
        self.prune(lock, pairs)
        if lock.holders:
            raise SemaphoreInUse()
        try:
            removed = yield from kv_delete_cas(lock_pair)
        except ApiError as error:
            raise LockError("failed to remove semaphore: %s" % error) from None
        if not removed:
            raise SemaphoreInUse()


def _json_kind(value):
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"
