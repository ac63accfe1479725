"""TTL checks: the application reports, and silence means critical.

``set_status`` (the agent's ``check/pass|warn|fail|update``) reports a
status and restarts the timer; when the TTL passes without one the check
turns critical, with Consul's output ``TTL expired`` and the last output.
"""

from pyconsul import timers
from pyconsul.agent.checks.capture import cap_update
from pyconsul.agent.definitions import CRITICAL
from pyconsul.golang.duration import SECOND
from pyconsul.logs import Logger


def expired_output(last_output):
    if not last_output:
        return "TTL expired"
    return "TTL expired (last output before timeout follows): %s" % last_output


class TTLCheck:
    log = Logger()

    def __init__(self, check_id, ttl, notify, clock, output_limit):
        self.check_id = check_id
        self.ttl = ttl  # nanoseconds
        self.notify = notify
        self.clock = clock
        self.output_limit = output_limit
        self.last_output = ""
        self._timer = None
        self._stopped = True

    def start(self):
        self._stopped = False
        self._arm()

    def stop(self):
        self._stopped = True
        self._timer = timers.cancel(self._timer)

    def set_status(self, status, output):
        """Report status; returns the output as stored (cut to the limit)."""
        self.log.debug("Check status updated: check {check}, status {status}", check=self.check_id, status=status)
        output = cap_update(output, self.output_limit)
        self.notify(status, output)
        self.last_output = output
        if not self._stopped:
            self._arm()
        return output

    def _arm(self):
        timers.cancel(self._timer)
        self._timer = self.clock.callLater(self.ttl / SECOND, self._expired)

    def _expired(self):
        self._timer = None
        self.log.warn("Check missed TTL, is now critical: check {check}", check=self.check_id)
        self.notify(CRITICAL, expired_output(self.last_output))
