"""Docker, gRPC and H2PING checks: accepted, and left critical.

pyconsul has no Docker client, gRPC health client or HTTP/2 ping. Such a
check is registered (so definitions written for Consul load unchanged), is
critical from its start with an output that says why, and the agent logs a
warning, rather than a check that silently never runs.
"""

from pyconsul.agent.definitions import CRITICAL
from pyconsul.logs import Logger

NAMES = {"docker": "Docker", "grpc": "gRPC", "h2ping": "H2PING"}


def unsupported_output(kind):
    return "pyconsul does not run %s checks; this check stays critical" % NAMES[kind]


class UnsupportedCheck:
    log = Logger()

    def __init__(self, check_id, kind, notify):
        self.check_id = check_id
        self.kind = kind
        self.notify = notify

    def start(self):
        self.log.warn("{kind} checks are not supported by pyconsul; check {check} stays critical",
                      kind=NAMES[self.kind], check=self.check_id)
        self.notify(CRITICAL, unsupported_output(self.kind))

    def stop(self):
        pass
