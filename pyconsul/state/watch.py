"""Wake-ups for blocking queries when a key, or any key under a prefix, changes."""


class WatchRegistry:
    """One-shot callbacks keyed by exact key or by prefix.

    Changes are collected while a batch of commands is applied and delivered
    once, by :meth:`fire`, so a watcher never sees half a batch.
    """

    def __init__(self):
        self._by_key = {}
        self._by_prefix = {}
        self._changed = set()

    def watch_key(self, key, callback):
        return self._add(self._by_key, key, callback)

    def watch_prefix(self, prefix, callback):
        return self._add(self._by_prefix, prefix, callback)

    @staticmethod
    def _add(table, name, callback):
        table.setdefault(name, set()).add(callback)

        def cancel():
            callbacks = table.get(name)
            if callbacks is not None:
                callbacks.discard(callback)
                if not callbacks:
                    del table[name]

        return cancel

    def changed(self, key):
        self._changed.add(key)

    def pending(self):
        """What has changed since the last fire (to put back if undone)."""
        return set(self._changed)

    def restore_pending(self, changed):
        self._changed = set(changed)

    def fire(self):
        changed, self._changed = self._changed, set()
        if not changed or not (self._by_key or self._by_prefix):
            return
        due = set()
        for key in changed:
            due.update(self._by_key.pop(key, ()))
            due.update(self._prefix_watchers(key))
        for callback in due:
            callback()

    def _prefix_watchers(self, key):
        # Either look up every prefix of the key, or test every watched
        # prefix against it: whichever is fewer lookups.
        found = []
        if len(self._by_prefix) <= len(key) + 1:
            names = [p for p in self._by_prefix if key.startswith(p)]
        else:
            names = [key[:n] for n in range(len(key) + 1) if key[:n] in self._by_prefix]
        for name in names:
            found.extend(self._by_prefix.pop(name))
        return found
