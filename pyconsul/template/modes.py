"""confd's three ways of running, over Consul's KV API.

* :func:`run_once` (``-onetime``): read every prefix once, sync every
  resource, exit status 0 or 1 (any error), as confd.
* :class:`IntervalMode` (``-interval N``): the same pass every N seconds,
  counted from the end of the previous pass, as confd; conf.d is read
  again on each pass, so new resources are picked up.
* :class:`WatchMode` (``-watch``, the default): one :class:`PrefixWatch` per
  distinct KV prefix the resources read, shared by all resources that read
  it; a change re-renders the resources that read that prefix at the end of
  the reactor turn that brought it (:class:`Coalescer`: what changed
  together renders together), or with ``-wait`` once the store has been
  quiet for a while (:class:`Quiescence`).

Syncing (files, commands) blocks, so :class:`SyncRunner` hands it to
``run_in_thread`` (a :class:`~pyconsul.template.app.SyncThread` in the
program, a direct call in tests), one batch at a time.
"""

from twisted.internet.defer import DeferredList
from twisted.logger import Logger

from pyconsul.template.consul import KVError
from pyconsul.template.quiescence import Coalescer, Quiescence
from pyconsul.template.resource import ResourceError, required_prefixes
from pyconsul.template.watch import DEFAULT_WAIT, PrefixWatch

log = Logger(namespace="pyconsul.template")


def merged_entries(resource, entries_by_prefix):
    """The entries of every prefix ``resource`` reads, in one dict."""
    merged = {}
    for prefix in resource.kv_prefixes:
        merged.update(entries_by_prefix[prefix])
    return merged


class SyncRunner:
    """Brings resources up to date with a Processor, off the reactor thread.

    :meth:`sync` takes ``(resource, entries)`` jobs -- entries may instead be
    the KVError that kept them from being read -- and returns a Deferred list
    of the errors, each of which has been logged as confd logs it.
    """

    def __init__(self, processor, run_in_thread, logger=None):
        self.processor = processor
        self.run_in_thread = run_in_thread
        self.log = logger if logger is not None else log

    def sync(self, jobs):
        return self.run_in_thread(self._sync_jobs, list(jobs))

    def _sync_jobs(self, jobs):
        errors = []
        for resource, entries in jobs:
            try:
                self.log.debug("Retrieving keys from store")
                self.log.debug("Key prefix set to {prefix}", prefix=resource.prefix)
                if isinstance(entries, Exception):
                    raise entries
                self.processor.sync(resource, entries)
            except (ResourceError, KVError) as e:
                self.log.error("{error}", error=str(e), resource=resource.path)
                errors.append(e)
            except Exception as e:
                # A bug must not stop the other resources from being synced.
                self.log.failure("Processing {resource}", resource=resource.path)
                errors.append(e)
        return errors


def fetch_all(kv, prefixes):
    """A Deferred dict: prefix -> its entries, or the KVError met reading it."""
    prefixes = list(prefixes)

    def collect(results):
        by_prefix = {}
        for prefix, (ok, value) in zip(prefixes, results):
            if ok:
                by_prefix[prefix] = value.entries
            elif value.check(KVError):
                by_prefix[prefix] = value.value
            else:
                log.failure("Reading {prefix!r}", value, prefix=prefix)
                by_prefix[prefix] = KVError(f"reading {prefix!r}: {value.getErrorMessage()}")
        return by_prefix

    d = DeferredList([kv.list(prefix) for prefix in prefixes], consumeErrors=True)
    return d.addCallback(collect)


def _jobs(resources, by_prefix):
    jobs = []
    for resource in resources:
        failed = [by_prefix[p] for p in resource.kv_prefixes if isinstance(by_prefix[p], Exception)]
        jobs.append((resource, failed[0] if failed else merged_entries(resource, by_prefix)))
    return jobs


def sync_pass(resources, kv, runner):
    """Read what ``resources`` need, once, and sync them all: a Deferred
    list of errors."""
    d = fetch_all(kv, required_prefixes(resources))
    return d.addCallback(lambda by_prefix: runner.sync(_jobs(resources, by_prefix)))


def run_once(resources, kv, runner):
    """``-onetime``: a Deferred exit status, 1 if anything failed."""
    d = sync_pass(resources, kv, runner)
    return d.addCallback(lambda errors: 1 if errors else 0)


class IntervalMode:
    """A sync pass every ``interval`` seconds after the previous one ended.

    ``load`` returns ``(resources, errors)`` (``load_resources`` with the
    settings bound); a pass with broken conf.d files logs them and syncs the
    others.
    """

    def __init__(self, load, kv, runner, clock, interval, logger=None):
        self.load = load
        self.kv = kv
        self.runner = runner
        self.clock = clock
        self.interval = interval
        self.log = logger if logger is not None else log
        self.passes = 0
        self._timer = None
        self._stopped = True

    def start(self):
        self._stopped = False
        self._pass()

    def stop(self):
        self._stopped = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _pass(self):
        self._timer = None
        if self._stopped:
            return
        resources, errors = self.load()
        for error in errors:
            self.log.error("{error}", error=str(error))
        d = sync_pass(resources, self.kv, self.runner)
        d.addErrback(lambda f: self.log.failure("Sync pass", f))
        d.addBoth(self._passed)

    def _passed(self, _):
        self.passes += 1
        if not self._stopped:
            self._timer = self.clock.callLater(self.interval, self._pass)


class WatchMode:
    """Blocking queries, one per distinct prefix; renders on change.

    ``call_soon`` runs a function at the end of the current reactor turn (see
    :class:`Coalescer`); ``quiescence`` is ``(min, max)`` seconds for
    ``-wait``, or None to render without waiting.
    """

    def __init__(self, resources, kv, runner, clock, call_soon, quiescence=None, wait=DEFAULT_WAIT,
                 make_backoff=None, logger=None):
        self.resources = list(resources)
        self.runner = runner
        self.log = logger if logger is not None else log
        self.readers = {}  # prefix -> the resources that read it
        for resource in self.resources:
            for prefix in resource.kv_prefixes:
                self.readers.setdefault(prefix, []).append(resource)
        self.watches = {}
        for prefix in sorted(self.readers):
            extra = {"backoff": make_backoff()} if make_backoff is not None else {}
            self.watches[prefix] = PrefixWatch(prefix, kv, clock, self._prefix_changed, wait=wait,
                                               logger=self.log, **extra)
        if quiescence is None:
            self.renders = Coalescer(call_soon, self._render)
        else:
            self.renders = Quiescence(clock, self._render, *quiescence)
        # Without -wait a watch asks again once its change is rendered: the
        # render does not wait behind the next question, and what changes
        # meanwhile comes back at once. With -wait the watches must see every
        # change of a burst to know when it is over.
        self.hold_queries = quiescence is None

    def start(self):
        for watch in self.watches.values():
            watch.start()

    def stop(self):
        for watch in self.watches.values():
            watch.stop()
        self.renders.stop()

    def _prefix_changed(self, watch):
        # A resource renders once everything it reads has been read.
        ready = [
            r for r in self.readers[watch.prefix]
            if all(self.watches[p].ready for p in r.kv_prefixes)
        ]
        rendered = self.renders.add(ready)
        return rendered if self.hold_queries else None

    def _render(self, resources):
        entries = {prefix: watch.entries for prefix, watch in self.watches.items()}
        ordered = sorted(resources, key=lambda r: r.path)
        return self.runner.sync((r, merged_entries(r, entries)) for r in ordered)
