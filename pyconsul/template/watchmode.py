"""Watch mode: one blocking query per distinct dependency, renders on change.

Every resource reads a set of dependencies: its declared KV prefixes, and
whatever its last render asked for (``service "web"``, ``nodes``, and in
consul-template's shape ``key "a/b"`` ...). :class:`WatchMode` keeps one
:class:`~pyconsul.template.watch.Watch` per distinct dependency, shared by
every resource that reads it, and re-renders the readers of a dependency
whose answer changed -- once everything they read has been read. A render
that asks for something new starts its watch (and renders again when it
answers); a dependency nothing reads any more is dropped. Resources that
read nothing declared (a template that only uses ``service``) render once
at the start to find out what they read.

Renders happen at the end of the reactor turn that brought the change
(:class:`~pyconsul.template.quiescence.Coalescer`: what changed together
renders together), or with ``-wait`` once the answers have been quiet for a
while (:class:`~pyconsul.template.quiescence.Quiescence`).
"""

from twisted.logger import Logger

from pyconsul.template.quiescence import Coalescer, Quiescence
from pyconsul.template.syncing import make_job, static_deps
from pyconsul.template.watch import DEFAULT_WAIT, Watch

log = Logger(namespace="pyconsul.template")


class WatchMode:
    """Blocking queries, one per distinct dependency; renders on change.

    ``source`` answers ``read(dep, index, wait)``; ``runner`` has
    ``sync(jobs) -> Deferred SyncReport``. ``call_soon`` runs a function at
    the end of the current reactor turn (see :class:`Coalescer`);
    ``quiescence`` is ``(min, max)`` seconds for ``-wait``, or None to
    render without waiting. ``on_synced(report)`` is told of every batch;
    ``order`` sorts the resources of a batch (by default by their path).
    """

    def __init__(self, resources, source, runner, clock, call_soon, quiescence=None, wait=DEFAULT_WAIT,
                 make_backoff=None, logger=None, on_synced=None, order=None):
        self.resources = list(resources)
        self.source = source
        self.runner = runner
        self.clock = clock
        self.wait = wait
        self.make_backoff = make_backoff
        self.log = logger if logger is not None else log
        self.on_synced = on_synced
        self.order = order if order is not None else (lambda r: r.path)
        self.deps = {}  # resource -> the dependencies it reads
        self.readers = {}  # dependency -> the resources that read it
        self.watches = {}
        self._started = False
        for resource in self.resources:
            self._reads(resource, static_deps(resource))  # started by start()
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
        self._started = True
        for dep in sorted(self.watches, key=str):
            self.watches[dep].start()
        self.renders.add(r for r in self.resources if not self.deps[r])

    def stop(self):
        self._started = False
        for watch in self.watches.values():
            watch.stop()
        self.renders.stop()

    # -- who reads what ------------------------------------------------------------

    def _reads(self, resource, deps):
        """Make ``deps`` what ``resource`` reads: drop what no resource
        reads any more; returns the watches to start for what is new."""
        old = self.deps.get(resource, frozenset())
        self.deps[resource] = deps
        for dep in old - deps:
            readers = self.readers[dep]
            readers.discard(resource)
            if not readers:
                del self.readers[dep]
                self.watches.pop(dep).stop()
        new = []
        for dep in sorted(deps - old, key=str):
            self.readers.setdefault(dep, set()).add(resource)
            if dep not in self.watches:
                extra = {"backoff": self.make_backoff()} if self.make_backoff is not None else {}
                self.watches[dep] = Watch(dep, self.source, self.clock, self._changed, wait=self.wait,
                                          logger=self.log, **extra)
                new.append(self.watches[dep])
        return new

    def _ready(self, resource):
        return all(self.watches[dep].ready for dep in self.deps[resource])

    # -- changes and renders -----------------------------------------------------------

    def _changed(self, watch):
        # A resource renders once everything it reads has been read.
        ready = [r for r in self.readers.get(watch.dep, ()) if self._ready(r)]
        rendered = self.renders.add(ready)
        return rendered if self.hold_queries else None

    def _render(self, resources):
        brain = {dep: watch.entries for dep, watch in self.watches.items() if watch.ready}
        ordered = sorted(resources, key=self.order)
        d = self.runner.sync(make_job(r, brain) for r in ordered)
        return d.addCallback(self._synced)

    def _synced(self, report):
        if not self._started:
            return report
        new = []
        for resource, used in report.used.items():
            deps = static_deps(resource) | used
            if resource not in report.results:
                # A render that failed keeps watching what it read before,
                # so that a change can mend it.
                deps |= self.deps[resource]
            new.extend(self._reads(resource, deps))
        # Started once every resource's reads are known: an answer that
        # comes at once renders all its readers, and asks whether everything
        # else each of them reads is there.
        for watch in new:
            watch.start()
        if self.on_synced is not None:
            self.on_synced(report)
        return report
