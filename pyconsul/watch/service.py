"""The agent's watches: the ``watches`` of its configuration, running.

As in Consul, the watches talk to the agent's own HTTP API (its first
client address; a wildcard address is reached on loopback), so they start
only once it listens; they stop first when the agent stops, and a reload
stops every one and starts the new set (each handler then runs once more
with the current view, as Consul's do).
"""

import ipaddress

from pyconsul.logs import Logger
from pyconsul.watch.handlers import make_runner
from pyconsul.watch.runner import AgentHTTP, WatchRunner

log = Logger(namespace="pyconsul.watch")


def api_address(config):
    """(host, port) where the agent's own HTTP API is reached."""
    host = config.client_addrs[0]
    address = ipaddress.ip_address(host)
    if address.is_unspecified:
        host = "::1" if address.version == 6 else "127.0.0.1"
    return host, config.ports.http


class AgentWatches:
    """Runs WatchSpecs (pyconsul.watch.spec) against the agent at ``address``."""

    def __init__(self, reactor, address, specs=(), environ=None, get=None):
        self.reactor = reactor
        self.specs = tuple(specs)
        self.environ = environ
        self.get = get if get is not None else AgentHTTP(reactor, *address)
        self.runners = []
        self.started = False

    def start(self):
        self.started = True
        for spec in self.specs:
            if getattr(spec.handler, "deprecated", False):
                log.warn("The 'handler' field in watches has been deprecated and replaced with the 'args' "
                         "field. See https://www.consul.io/docs/agent/watches.html")
            runner = WatchRunner(spec.query, self.get, self.reactor,
                                 make_runner(spec.handler, self.reactor, self.environ))
            self.runners.append(runner)
            runner.start()
        if self.specs:
            log.info("Watches started: {count}", count=len(self.specs))

    def stop(self):
        self.started = False
        runners, self.runners = self.runners, []
        for runner in runners:
            runner.stop()

    def replace(self, specs):
        """A reload: the new set replaces the running one."""
        was_started = self.started
        self.stop()
        self.specs = tuple(specs)
        if was_started:
            self.start()
