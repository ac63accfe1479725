"""Alias checks: a check that follows another service's (or node's) health.

Critical if any check of the aliased service (or node) is critical, else
warning if any is warning, else passing -- and the node's own checks count
for a service, as in Consul. The outputs are Consul's: ``All checks
passing.``, ``No checks found.``, ``Aliased check "x" failing: <output>``,
and critical ``Service web could not be found on node <node>`` when the
service has no checks and does not exist.

The checks come from a source the agent provides: ``checks()`` gives the
current ones (catalog-shaped dicts, as the local state or Health.NodeChecks
holds them), ``service_exists(service_id)`` says whether the service is
there, and ``subscribe(callback)`` calls back on every change (returning a
function that unsubscribes). Consul also looks again every minute in case a
change went unseen; so does this.
"""

from pyconsul.agent.definitions import CRITICAL, PASSING, WARNING
from pyconsul.logs import Logger

REFRESH = 60.0  # maxDurationBetweenUpdates, in seconds


def _matches_node(check, node):
    return not node or node.lower() == check.get("Node", "").lower()


def aliased_status(checks, node, service_id, service_exists):
    """(status, output) of an alias of service_id (on node, "" for this agent)."""
    health, message = PASSING, "No checks found."
    service_found = False
    for check in checks:
        if not _matches_node(check, node):
            continue
        # Consul's CompoundServiceID: the ID, or the name when there is none.
        compound = check.get("ServiceID") or check.get("ServiceName") or ""
        matches = compound == service_id
        if check.get("ServiceID") and not matches:
            continue
        service_found = service_found or matches
        status = check.get("Status")
        if status in (CRITICAL, WARNING):
            health = status
            message = 'Aliased check "%s" failing: %s' % (check.get("Name", ""), check.get("Output", ""))
            if status == CRITICAL:
                break  # nothing is worse; warnings keep looking for a critical
        elif health == PASSING:
            message = "All checks passing."
    if not service_found and not service_exists(service_id):
        health = CRITICAL
        message = "Service %s could not be found on node %s" % (service_id, node)
    return health, message


class AliasCheck:
    log = Logger()

    def __init__(self, check_id, node, service_id, source, notify, clock):
        self.check_id = check_id
        self.node = node
        self.service_id = service_id
        self.source = source
        self.notify = notify
        self.clock = clock
        self._unsubscribe = None
        self._refresh = None

    def start(self):
        self._unsubscribe = self.source.subscribe(self.update)
        self.update()

    def stop(self):
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._refresh is not None and self._refresh.active():
            self._refresh.cancel()
        self._refresh = None

    def update(self):
        """Look at the aliased checks again (the source's callback)."""
        if self._unsubscribe is None:
            return  # stopped
        # Not itself: a node-level alias counts for every service on the node,
        # and would otherwise follow (and flip on) its own status.
        checks = [c for c in self.source.checks() if c.get("CheckID") != self.check_id]
        self.notify(*aliased_status(checks, self.node, self.service_id, self.source.service_exists))
        if self._refresh is not None and self._refresh.active():
            self._refresh.cancel()
        self._refresh = self.clock.callLater(REFRESH, self.update)

    def source_failed(self, reason):
        """The source could not read the checks (a remote node's, over RPC)."""
        if self._unsubscribe is not None:
            self.notify(CRITICAL, "Failure checking aliased node or service: %s" % reason)
