"""Signals on real agent processes, whatever disposition they inherited.

A background job of a non-interactive shell (``twistd -n pyconsul ... &``
in a script, ``nohup``) starts with SIGINT ignored. Consul takes SIGINT,
SIGTERM and SIGHUP over anyway, and so must pyconsul, started either way
(``twistd pyconsul`` or ``pyconsul agent``).
"""

import json
import os
import signal

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, wait_for
from tests.integration.cluster import Cluster
from tests.integration.test_gossip_agents import _answers, config_file, statuses


def exited(agent):
    return agent.process.poll() is not None


class IgnoredSigintTests(SynchronousTestCase):
    def leave_on_ctrl_c(self, via, addresses):
        path = config_file(self)
        server = Agent(self, addresses[0], ["--server", "--bootstrap", "--data-dir", os.path.abspath(self.mktemp()),
                                            "--node", "server1", "--config-file", path]).start()
        client = Agent(self, addresses[1], ["--data-dir", os.path.abspath(self.mktemp()), "--node", "client1",
                                            "--config-file", path, "--retry-join", addresses[0]],
                       via=via, sigint=signal.SIG_IGN).start()
        wait_for(lambda: _answers(server) and _answers(client), what="both agents")
        wait_for(lambda: statuses(server).get("client1") == "alive", what="client1 alive")
        client.process.send_signal(signal.SIGINT)
        wait_for(lambda: exited(client), what="the client to exit")
        # It stopped cleanly, then exited by the signal, as twistd does.
        self.assertEqual(client.process.returncode, -signal.SIGINT, client.log())
        self.assertIn("Graceful leave complete", client.log())
        wait_for(lambda: statuses(server).get("client1") == "left", what="client1 left")

    def test_twistd(self):
        self.leave_on_ctrl_c("twistd", [f"{NET}.3.1", f"{NET}.3.2"])

    def test_pyconsul_agent(self):
        self.leave_on_ctrl_c("cli", [f"{NET}.3.3", f"{NET}.3.4"])

    def test_sigterm_follows_leave_on_terminate(self):
        path = config_file(self, leave_on_terminate=False)
        server = Agent(self, f"{NET}.3.5", ["--server", "--bootstrap", "--data-dir", os.path.abspath(self.mktemp()),
                                           "--node", "server1", "--config-file", config_file(self)]).start()
        client = Agent(self, f"{NET}.3.6", ["--data-dir", os.path.abspath(self.mktemp()), "--node", "client1",
                                           "--config-file", path, "--retry-join", f"{NET}.3.5"],
                       via="cli", sigint=signal.SIG_IGN).start()
        wait_for(lambda: _answers(server) and _answers(client), what="both agents")
        wait_for(lambda: statuses(server).get("client1") == "alive", what="client1 alive")
        client.process.send_signal(signal.SIGTERM)
        wait_for(lambda: exited(client), what="the client to exit")
        self.assertEqual(client.process.returncode, -signal.SIGTERM)
        self.assertNotIn("Gracefully leaving", client.log())
        wait_for(lambda: statuses(server).get("client1") == "failed", what="client1 failed", timeout=60)


class ReloadTests(SynchronousTestCase):
    def test_sighup_reloads_and_a_bad_file_changes_nothing(self):
        path = config_file(self, log_level="info")
        agent = Agent(self, f"{NET}.3.7", ["--dev", "--node", "dev1", "--config-file", path],
                      via="cli", sigint=signal.SIG_IGN).start()
        wait_for(lambda: _answers(agent), what="the agent")
        self.assertNotIn("HTTP GET /v1/agent/self", agent.log())

        with open(path, "w") as f:
            json.dump({"log_level": "debug"}, f)
        agent.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "Reloaded the configuration: log level debug" in agent.log(), what="the reload")
        agent.request("GET", "/v1/agent/self")
        wait_for(lambda: "HTTP GET /v1/agent/self 200" in agent.log(), what="a debug line")

        with open(path, "w") as f:
            f.write("{not json")
        agent.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "Failed to reload the configuration" in agent.log(), what="the refusal")
        self.assertIn(path, agent.log())
        self.assertEqual(agent.request("GET", "/v1/agent/self")[0], 200)
        self.assertFalse(exited(agent))


class SecondSignalTests(SynchronousTestCase):
    def test_a_second_ctrl_c_stops_a_leave_that_cannot_finish(self):
        # A server that should leave on Ctrl-C, whose peers are gone: leaving
        # the Raft configuration cannot commit, so the leave waits (for
        # seconds); a second Ctrl-C ends the wait at once.
        cluster = Cluster(self, f"{NET}.31", 3, skip_leave_on_interrupt=False)
        for server in cluster.servers:
            server.sigint = signal.SIG_IGN
        cluster.start()
        leaving, *others = cluster.servers
        for other in others:
            other.kill(signal.SIGKILL)
        leaving.process.send_signal(signal.SIGINT)
        wait_for(lambda: "Gracefully leaving the cluster" in leaving.log(), what="the leave to start")
        leaving.process.send_signal(signal.SIGINT)
        wait_for(lambda: exited(leaving), what="the server to exit")
        self.assertIn("Caught second signal SIGINT", leaving.log())
        self.assertNotIn("Graceful leave complete", leaving.log())

