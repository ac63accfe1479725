"""An in-memory Consul KV API with blocking queries, on a fake clock.

:class:`FakeKV` answers ``list(prefix, index, wait)`` as the agent does: the
entries under a string prefix and their index (the highest ModifyIndex
under the prefix, deletions included; the store's index when nothing is
there). With ``index`` > 0 the answer waits until something under the prefix
changes or ``wait`` passes on the clock. :meth:`go_down` makes every request
fail until :meth:`come_back`, as an agent that was stopped.
"""

from twisted.internet.defer import Deferred, fail, succeed

from pyconsul.template.consul import KVError, Listing


class FakeKV:
    def __init__(self, clock):
        self.clock = clock
        self.index = 1
        self.values = {}  # key -> (value bytes, modify index)
        self.tombstones = {}  # key -> index of its deletion
        self.requests = []  # (prefix, index, wait) of every request
        self.request_times = []  # the clock's time of each
        self.waiting = []  # [prefix, index, Deferred, timer]
        self.down = False

    # -- the API -----------------------------------------------------------------

    def read(self, dep, index=0, wait=None):
        """The reader's interface: only KV prefixes here."""
        return self.list(dep.prefix, index, wait)

    def list(self, prefix, index=0, wait=None):
        self.requests.append((prefix, index, wait))
        self.request_times.append(self.clock.seconds())
        if self.down:
            return fail(KVError(f'Get "http://fake/v1/kv/{prefix}": connection refused'))
        if not index or self._index_of(prefix) > index:
            return succeed(self._listing(prefix))
        entry = [prefix, index, None, None]
        entry[2] = Deferred(lambda d: self._forget(entry))
        if wait is not None:
            entry[3] = self.clock.callLater(wait, self._timed_out, entry)
        self.waiting.append(entry)
        return entry[2]

    def blocked(self, prefix=None):
        """How many blocking queries are waiting (for ``prefix``)."""
        return sum(1 for p, _, _, _ in self.waiting if prefix is None or p == prefix)

    # -- changing it ------------------------------------------------------------------

    def put(self, key, value):
        self.index += 1
        self.values[key] = (value if isinstance(value, bytes) else value.encode(), self.index)
        self.tombstones.pop(key, None)
        self._wake(key)

    def delete(self, key):
        self.index += 1
        del self.values[key]
        self.tombstones[key] = self.index
        self._wake(key)

    def reset(self, values):
        """The agent restarted with other data and a lower index."""
        self.index = 1
        self.tombstones = {}
        self.values = {k: (v.encode(), 1) for k, v in values.items()}
        for entry in list(self.waiting):
            self._answer(entry)

    def go_down(self):
        self.down = True
        for entry in list(self.waiting):
            self._forget(entry)
            entry[2].errback(KVError(f'Get "http://fake/v1/kv/{entry[0]}": EOF'))

    def come_back(self):
        self.down = False

    # -- inside -------------------------------------------------------------------------

    def _index_of(self, prefix):
        indexes = [i for k, (_, i) in self.values.items() if k.startswith(prefix)]
        indexes += [i for k, i in self.tombstones.items() if k.startswith(prefix)]
        return max(indexes) if indexes else self.index

    def _listing(self, prefix):
        entries = {k: v for k, (v, _) in self.values.items() if k.startswith(prefix)}
        return Listing(self._index_of(prefix), entries)

    def _forget(self, entry):
        if entry in self.waiting:
            self.waiting.remove(entry)
        if entry[3] is not None and entry[3].active():
            entry[3].cancel()

    def _answer(self, entry):
        self._forget(entry)
        entry[2].callback(self._listing(entry[0]))

    def _timed_out(self, entry):
        entry[3] = None
        self._answer(entry)

    def _wake(self, key):
        for entry in list(self.waiting):
            if key.startswith(entry[0]):
                self._answer(entry)
