"""Handing renders to the sync thread, and what comes back.

A job is ``(resource, entries, brain)``: the KV entries of the resource's
declared prefixes (or the KVError that kept them from being read) and the
brain, dependency -> raw answer, that its discovery functions read.
:class:`SyncRunner` syncs a batch of jobs with a Processor through
``run_in_thread`` (a :class:`~pyconsul.template.app.SyncThread` in the
program, a direct call in tests) and answers with a :class:`SyncReport`:
the errors, each logged as confd logs it, and for every resource what its
render asked for and what it lacked, from which the modes learn what to
fetch or watch next.
"""

import attr
from twisted.logger import Logger

from pyconsul.template.consul import KVError
from pyconsul.template.resource import ResourceError

log = Logger(namespace="pyconsul.template")


def static_deps(resource):
    """What a resource reads whatever its template does (its KV prefixes)."""
    return frozenset(getattr(resource, "deps", ()))


def merged_entries(resource, brain):
    """The entries of every KV prefix ``resource`` declares, in one dict."""
    merged = {}
    for dep in resource.deps:
        merged.update(brain[dep])
    return merged


def make_job(resource, brain, failed=None, deps=None):
    """The job for ``resource``: the first read of ``deps`` (by default its
    declared ones) that failed, in ``failed`` (dep -> KVError), stands in
    for its entries."""
    failed = failed or {}
    for dep in sorted(deps if deps is not None else static_deps(resource), key=str):
        if dep in failed:
            return resource, failed[dep], brain
    return resource, merged_entries(resource, brain), brain


@attr.s
class SyncReport:
    """A batch's outcome: ``errors``; ``results`` (resource -> SyncResult)
    for the renders that got as far as a result; ``used`` (resource ->
    dependencies its render asked for, also when it failed); ``missing``
    (resource -> what an incomplete render lacked)."""

    errors = attr.ib(factory=list)
    results = attr.ib(factory=dict)
    used = attr.ib(factory=dict)
    missing = attr.ib(factory=dict)

    def record(self, resource, result):
        self.results[resource] = result
        self.used[resource] = result.used
        if result.missing:
            self.missing[resource] = result.missing

    def failed(self, resource, error):
        self.errors.append(error)
        used = getattr(error, "used", None)
        if used:
            self.used[resource] = used


class SyncRunner:
    """Brings resources up to date with a Processor, off the reactor thread.

    :meth:`sync` takes jobs and returns a Deferred :class:`SyncReport`.
    """

    def __init__(self, processor, run_in_thread, logger=None):
        self.processor = processor
        self.run_in_thread = run_in_thread
        self.log = logger if logger is not None else log

    def sync(self, jobs):
        return self.run_in_thread(self._sync_jobs, list(jobs))

    def _sync_jobs(self, jobs):
        report = SyncReport()
        for resource, entries, brain in jobs:
            try:
                self.log.debug("Retrieving keys from store")
                self.log.debug("Key prefix set to {prefix}", prefix=resource.prefix)
                if isinstance(entries, Exception):
                    raise entries
                report.record(resource, self.processor.sync(resource, entries, brain))
            except (ResourceError, KVError) as e:
                self.log.error("{error}", error=str(e), resource=resource.path)
                report.failed(resource, e)
            except Exception as e:
                # A bug must not stop the other resources from being synced.
                self.log.failure("Processing {resource}", resource=resource.path)
                report.failed(resource, e)
        return report
