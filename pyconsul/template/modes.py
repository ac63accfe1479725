"""confd's three ways of running, over Consul's KV API and catalog.

* :func:`run_once` (``-onetime``): read every prefix once, sync every
  resource, exit status 0 or 1 (any error), as confd. What the discovery
  functions ask for (``service "web"`` ...) is fetched as their renders
  reveal it, and those renders run again with it: one pass may take a few
  rounds (``range services`` then ``service .Name``).
* :class:`IntervalMode` (``-interval N``): the same pass every N seconds,
  counted from the end of the previous pass, as confd; conf.d is read
  again on each pass, so new resources are picked up.
* :class:`~pyconsul.template.watchmode.WatchMode` (``-watch``, the
  default): one blocking query per distinct dependency, shared by every
  resource that reads it.
"""

from twisted.internet.defer import DeferredList, inlineCallbacks
from twisted.logger import Logger

from pyconsul import timers
from pyconsul.template.consul import KVError
from pyconsul.template.resource import ResourceError
from pyconsul.template.syncing import (
    SyncReport,
    SyncRunner,
    make_job,
    merged_entries,
    static_deps,
)
from pyconsul.template.watch import describe
from pyconsul.template.watchmode import WatchMode

log = Logger(namespace="pyconsul.template")

__all__ = ["IntervalMode", "SyncReport", "SyncRunner", "WatchMode", "fetch_all", "merged_entries",
           "run_once", "sync_pass"]

# Each round of a pass reads what the previous renders found missing; a
# template whose every render asks for something new still ends.
MAX_ROUNDS = 50


def fetch_all(source, deps):
    """A Deferred ``(brain, failed)``: dependency -> raw answer, and
    dependency -> the KVError met reading it."""
    deps = sorted(set(deps), key=str)

    def collect(results):
        brain, failed = {}, {}
        for dep, (ok, value) in zip(deps, results):
            if ok:
                brain[dep] = value.entries
            elif value.check(KVError):
                failed[dep] = value.value
            else:
                log.failure("Reading {what}", value, what=describe(dep))
                failed[dep] = KVError(f"reading {describe(dep)}: {value.getErrorMessage()}")
        return brain, failed

    d = DeferredList([source.read(dep) for dep in deps], consumeErrors=True)
    return d.addCallback(collect)


def _merge(total, report):
    total.errors.extend(report.errors)
    total.used.update(report.used)
    for resource, result in report.results.items():
        total.results[resource] = result
        total.missing.pop(resource, None)
    total.missing.update(report.missing)


@inlineCallbacks
def sync_pass(resources, source, runner):
    """Read what ``resources`` need and sync them, then fetch what their
    renders lacked and sync those again until nothing is lacking: a
    Deferred :class:`SyncReport` of the whole pass."""
    resources = list(resources)
    deps_of = {r: static_deps(r) for r in resources}
    brain, failed = yield fetch_all(source, set().union(*deps_of.values()))
    asked = set(brain) | set(failed)
    total, pending = SyncReport(), resources
    for _ in range(MAX_ROUNDS):
        report = yield runner.sync(make_job(r, brain, failed, deps_of[r]) for r in pending)
        _merge(total, report)
        pending = [r for r in pending if r in report.missing]
        wanted = set().union(*(report.missing[r] for r in pending)) - asked
        if not wanted:
            break
        more, more_failed = yield fetch_all(source, wanted)
        brain.update(more)
        failed.update(more_failed)
        asked |= wanted
        for resource in pending:
            # A lacking render whose reads failed is that failure.
            deps_of[resource] = static_deps(resource) | report.missing[resource]
    for resource in pending:
        lacking = ", ".join(sorted(describe(d) for d in total.missing[resource]))
        error = ResourceError(f"{resource.path} was not rendered: it still waits for {lacking}")
        log.error("{error}", error=str(error))
        total.errors.append(error)
    return total


def run_once(resources, source, runner):
    """``-onetime``: a Deferred exit status, 1 if anything failed."""
    d = sync_pass(resources, source, runner)
    return d.addCallback(lambda report: 1 if report.errors else 0)


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
        self._timer = timers.cancel(self._timer)

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
