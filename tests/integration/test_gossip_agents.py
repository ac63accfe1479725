"""Three real agents gossiping: the user's transcript (join, members, a
kill -9 seen as failed, a leave seen as left) and an encrypted cluster that
keeps out a member with another key."""

import json
import os
import signal

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.codec.gossip import new_key
from tests.integration.agent import NET, Agent, pyconsul_cli, wait_for

# Fast failure detection so the test does not wait for LAN timings.
FAST_GOSSIP = {
    "gossip_lan": {
        "probe_interval": "200ms",
        "probe_timeout": "100ms",
        "gossip_interval": "50ms",
        "suspicion_mult": 2,
    }
}


def config_file(testcase, **extra):
    path = os.path.abspath(testcase.mktemp() + ".json")
    with open(path, "w") as f:
        json.dump(dict(FAST_GOSSIP, **extra), f)
    return path


def start_agents(testcase, addresses, **config):
    path = config_file(testcase, **config)
    agents = []
    for number, address in enumerate(addresses, 1):
        args = ["--data-dir", os.path.abspath(testcase.mktemp()), "--node", "node%d" % number,
                "--config-file", path]
        if number == 1:
            args[:0] = ["--server", "--bootstrap"]
        agents.append(Agent(testcase, address, args).start())
    for agent in agents:
        wait_for(lambda agent=agent: _answers(agent), what="agent at %s" % agent.http)
    return agents


def _answers(agent):
    try:
        return agent.request("GET", "/v1/agent/self")[0] == 200
    except OSError:
        return False


def statuses(agent):
    """{name: status word} as `pyconsul members` shows it."""
    status, out, err = pyconsul_cli("members", http=agent.http)
    assert status == 0, err
    rows = [line.split() for line in out.splitlines()[1:]]
    return {row[0]: row[2] for row in rows}


class MembershipTranscriptTests(SynchronousTestCase):
    def test_join_members_failure_and_leave(self):
        one, two, three = start_agents(self, [f"{NET}.0.1", f"{NET}.0.2", f"{NET}.0.3"])
        for agent in (two, three):
            status, out, err = pyconsul_cli("join", one.address, http=agent.http)
            self.assertEqual((status, out), (0, "Successfully joined cluster by contacting 1 nodes.\n"), err)
        everyone_alive = {"node1": "alive", "node2": "alive", "node3": "alive"}
        for agent in (one, two, three):
            wait_for(lambda agent=agent: statuses(agent) == everyone_alive, what="three alive members")
        status, out, _ = pyconsul_cli("members", http=one.http)
        header = out.splitlines()[0].split()
        self.assertEqual(header, ["Node", "Address", "Status", "Type", "Build", "Protocol", "DC"])
        rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
        self.assertEqual(rows["node1"][1:4], [f"{NET}.0.1:8301", "alive", "server"])
        self.assertEqual(rows["node2"][3], "client")
        self.assertEqual(rows["node2"][6], "dc1")

        three.kill(signal.SIGKILL)
        for agent in (one, two):
            wait_for(lambda agent=agent: statuses(agent).get("node3") == "failed",
                     what="node3 failed", timeout=60)

        status, out, err = pyconsul_cli("leave", http=two.http)
        self.assertEqual((status, out), (0, "Graceful leave complete\n"), err)
        wait_for(lambda: two.process.poll() is not None, what="node2 to exit")
        wait_for(lambda: statuses(one).get("node2") == "left", what="node2 left")
        self.assertEqual(statuses(one)["node3"], "failed")

    def test_ctrl_c_on_a_client_is_a_leave(self):
        one, two = start_agents(self, [f"{NET}.0.4", f"{NET}.0.5"])
        pyconsul_cli("join", one.address, http=two.http)
        wait_for(lambda: statuses(one).get("node2") == "alive", what="node2 alive")
        two.kill(signal.SIGINT)
        # twistd stops cleanly, then exits by the signal that stopped it.
        self.assertEqual(two.process.returncode, -signal.SIGINT)
        self.assertIn("Graceful leave complete", two.log())
        wait_for(lambda: statuses(one).get("node2") == "left", what="node2 left")

    def test_signals_follow_each_modes_defaults(self):
        # Clients leave on SIGTERM; servers do not leave on Ctrl-C, so a
        # restart keeps their place (peers see them fail).
        one, two, three = start_agents(self, [f"{NET}.0.11", f"{NET}.0.12", f"{NET}.0.13"])
        server = Agent(self, f"{NET}.0.14", ["--server", "--data-dir", os.path.abspath(self.mktemp()),
                                            "--node", "server2", "--config-file", config_file(self)])
        server.start()
        wait_for(lambda: _answers(server), what="the second server")
        for agent in (two, server):
            pyconsul_cli("join", one.address, http=agent.http)
        wait_for(lambda: statuses(one).get("server2") == "alive", what="server2 alive")
        wait_for(lambda: statuses(one).get("node2") == "alive", what="node2 alive")
        two.kill(signal.SIGTERM)
        server.kill(signal.SIGINT)
        self.assertNotIn("Graceful leave complete", server.log())
        wait_for(lambda: statuses(one).get("node2") == "left", what="node2 left")
        wait_for(lambda: statuses(one).get("server2") == "failed", what="server2 failed", timeout=60)

    def test_a_failed_member_that_returns_is_alive_again(self):
        one, two = start_agents(self, [f"{NET}.0.6", f"{NET}.0.7"])
        pyconsul_cli("join", one.address, http=two.http)
        wait_for(lambda: statuses(one).get("node2") == "alive", what="node2 alive")
        two.kill(signal.SIGKILL)
        wait_for(lambda: statuses(one).get("node2") == "failed", what="node2 failed", timeout=60)
        two.start()
        wait_for(lambda: _answers(two), what="node2 back")
        pyconsul_cli("join", one.address, http=two.http)
        wait_for(lambda: statuses(one).get("node2") == "alive", what="node2 alive again")


class EncryptionTests(SynchronousTestCase):
    def test_a_member_with_another_key_cannot_join(self):
        key = new_key()
        one, two = start_agents(self, [f"{NET}.0.8", f"{NET}.0.9"], encrypt=key)
        status, _, err = pyconsul_cli("join", one.address, http=two.http)
        self.assertEqual(status, 0, err)
        wait_for(lambda: statuses(one).get("node2") == "alive", what="encrypted join")

        stranger = Agent(
            self,
            f"{NET}.0.10",
            ["--data-dir", os.path.abspath(self.mktemp()), "--node", "stranger",
             "--config-file", config_file(self, encrypt=new_key())],
        ).start()
        wait_for(lambda: _answers(stranger), what="the stranger agent")
        status, _, err = pyconsul_cli("join", one.address, http=stranger.http)
        self.assertEqual(status, 1)
        self.assertNotIn("stranger", statuses(one))
        wait_for(lambda: "-encrypt" in one.log(), what="a log line about the key")
