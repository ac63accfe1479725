"""Clusters of real server processes for integration tests."""

import json
import os

from tests.integration.agent import Agent, wait_for

FAST = {
    "performance": {"raft_multiplier": 1},
    "gossip_lan": {
        "probe_interval": "200ms",
        "probe_timeout": "100ms",
        "gossip_interval": "50ms",
        "suspicion_mult": 2,
    },
}


class Cluster:
    """``size`` servers on ``prefix``.1..size, bootstrapped with -bootstrap-expect,
    in ``datacenter``; ``args``: more options for each server."""

    def __init__(self, testcase, prefix, size, datacenter="dc1", args=(), **config):
        self.testcase = testcase
        self.config_path = os.path.abspath(testcase.mktemp() + ".json")
        with open(self.config_path, "w") as f:
            json.dump(dict(FAST, **config), f)
        self.servers = []
        self.datacenter = datacenter
        extra = list(args)
        for number in range(1, size + 1):
            args = [
                "--server",
                "--datacenter",
                datacenter,
                "--bootstrap-expect",
                str(size),
                "--data-dir",
                os.path.abspath(testcase.mktemp()),
                "--node",
                "s%d" % number,
                "--retry-join",
                "%s.1" % prefix,
                "--enable-fault-injection",
                "--config-file",
                self.config_path,
                *extra,
            ]
            self.servers.append(Agent(testcase, "%s.%d" % (prefix, number), args))

    def start(self):
        for server in self.servers:
            server.start()
        self.wait_for_leader()
        return self

    def client(self, address, name="client", *extra):
        args = ["--data-dir", os.path.abspath(self.testcase.mktemp()), "--node", name, "--datacenter",
                self.datacenter, "--retry-join", self.servers[0].address, "--config-file", self.config_path, *extra]
        return Agent(self.testcase, address, args).start()

    def running(self):
        return [s for s in self.servers if s.process.poll() is None]

    def leader_address(self, servers=None):
        """The leader all the given (running) servers agree on, or None."""
        seen = set()
        for server in servers or self.running():
            try:
                status, body = server.request("GET", "/v1/status/leader", timeout=2)
            except OSError:
                return None
            if status != 200:
                return None
            seen.add(json.loads(body))
        if len(seen) == 1 and "" not in seen:
            return seen.pop()
        return None

    def wait_for_leader(self, servers=None, timeout=60):
        return wait_for(lambda: self.leader_address(servers), timeout, what="an agreed leader")

    def wait_for_new_leader(self, servers, old, timeout=60):
        """The leader ``servers`` agree on once it is no longer ``old``."""

        def new_leader():
            address = self.leader_address(servers)
            if address and address.rpartition(":")[0] != old.address:
                return address
            return None

        return wait_for(new_leader, timeout, what="a new leader")

    def leader(self):
        address = self.wait_for_leader()
        host = address.rpartition(":")[0]
        return next(s for s in self.servers if s.address == host)

    def followers(self):
        leader = self.leader()
        return [s for s in self.running() if s is not leader]

    def partition(self, *groups):
        """Cut the groups of servers off from each other (both ways)."""
        for group in groups:
            others = [s.address for s in self.servers if s not in group]
            for server in group:
                server.request("PUT", "/v1/debug/faults", json.dumps({"Block": others}).encode())

    def heal(self):
        for server in self.running():
            server.request("PUT", "/v1/debug/faults", b'{"Block": []}')
