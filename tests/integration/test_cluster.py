"""Raft clusters of real processes: elections, forwarding, failures, partitions."""

import json
import os
import signal

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, pyconsul_cli, wait_for
from tests.integration.cluster import Cluster


def put(agent, key, value, timeout=20):
    """(status, body), or (None, error) when the agent does not answer."""
    try:
        return agent.request("PUT", "/v1/kv/" + key, value.encode(), timeout=timeout)
    except OSError as error:
        return None, str(error).encode()


def read(agent, key, mode=""):
    try:
        status, body = agent.request("GET", "/v1/kv/%s?raw%s" % (key, "&" + mode if mode else ""))
    except OSError:
        return None
    return body.decode() if status == 200 else None


class ThreeServerTests(SynchronousTestCase):
    def test_writes_through_followers_and_a_client_survive_the_leader(self):
        cluster = Cluster(self, f"{NET}.10", 3).start()
        follower = cluster.followers()[0]
        self.assertEqual(put(follower, "via/follower", "1"), (200, b"true"))
        client = cluster.client(f"{NET}.10.9")
        wait_for(lambda: put(client, "via/client", "2") == (200, b"true"), what="a write through the client")
        for server in cluster.servers:
            self.assertEqual(read(server, "via/follower"), "1")  # default: from the leader
            wait_for(lambda server=server: read(server, "via/client", "stale") == "2", what="replication")
        peers = json.loads(cluster.servers[0].request("GET", "/v1/status/peers")[1])
        self.assertEqual(sorted(peers), sorted("%s:8300" % s.address for s in cluster.servers))

        old_leader = cluster.leader()
        old_leader.kill(signal.SIGKILL)
        rest = [s for s in cluster.servers if s is not old_leader]
        cluster.wait_for_new_leader(rest, old_leader)
        wait_for(lambda: put(client, "after/failover", "3") == (200, b"true"), what="writes after failover")

        old_leader.start()
        wait_for(lambda: read(old_leader, "after/failover", "stale") == "3", what="the old leader catching up")
        cluster.wait_for_leader()

    def test_a_follower_far_behind_catches_up_from_a_snapshot(self):
        cluster = Cluster(self, f"{NET}.24", 3, raft_snapshot_threshold=64, raft_trailing_logs=8).start()
        lagging = cluster.followers()[0]
        lagging.kill(signal.SIGKILL)
        leader = cluster.leader()
        for n in range(200):
            self.assertEqual(put(leader, "bulk/%03d" % n, str(n)), (200, b"true"))
        lagging.start()
        wait_for(lambda: read(lagging, "bulk/199", "stale") == "199", what="catch-up", timeout=60)
        self.assertIn("received snapshot", lagging.log())

    def test_a_paused_leader_is_replaced_and_rejoins(self):
        cluster = Cluster(self, f"{NET}.25", 3).start()
        leader = cluster.leader()
        leader.process.send_signal(signal.SIGSTOP)
        self.addCleanup(lambda: leader.process.poll() is None and leader.process.send_signal(signal.SIGCONT))
        rest = [s for s in cluster.servers if s is not leader]
        cluster.wait_for_new_leader(rest, leader)
        wait_for(lambda: put(rest[0], "during/pause", "x") == (200, b"true"), what="writes without it")
        leader.process.send_signal(signal.SIGCONT)
        wait_for(lambda: read(leader, "during/pause", "stale") == "x", what="the paused server catching up")
        cluster.wait_for_leader()

    def test_a_leader_cut_off_from_the_majority(self):
        cluster = Cluster(self, f"{NET}.16", 3).start()
        leader = cluster.leader()
        majority = [s for s in cluster.servers if s is not leader]
        cluster.partition([leader], majority)
        cluster.wait_for_new_leader(majority, leader)
        wait_for(lambda: put(majority[0], "majority/side", "ok") == (200, b"true"), what="majority writes")
        # The minority side cannot commit: a write there fails, in bounded time.
        status, _ = put(leader, "minority/side", "lost", timeout=60)
        self.assertNotEqual(status, 200)
        cluster.heal()
        cluster.wait_for_leader()
        wait_for(lambda: read(leader, "majority/side", "stale") == "ok", what="the minority catching up")
        self.assertIsNone(read(majority[0], "minority/side"))

    def test_no_leader_means_a_clear_error(self):
        cluster = Cluster(self, f"{NET}.17", 3).start()
        survivor = cluster.followers()[0]
        for server in cluster.servers:
            if server is not survivor:
                server.kill(signal.SIGKILL)
        status, body = put(survivor, "k", "v", timeout=60)
        self.assertEqual(status, 500)
        self.assertIn(b"No cluster leader", body)


class OperatorTests(SynchronousTestCase):
    def test_list_and_remove_peers(self):
        cluster = Cluster(self, f"{NET}.20", 3).start()
        leader = cluster.leader()
        status, out, err = pyconsul_cli("operator", "raft", "list-peers", http=cluster.servers[0].http)
        self.assertEqual(status, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["Node", "ID", "Address", "State", "Voter", "RaftProtocol"])
        rows = {line.split()[0]: line.split() for line in lines[1:]}
        self.assertEqual(sorted(rows), ["s1", "s2", "s3"])
        leader_name = [name for name, row in rows.items() if row[3] == "leader"]
        self.assertEqual(leader_name, ["s%d" % (cluster.servers.index(leader) + 1)])
        self.assertTrue(all(row[4] == "true" and row[5] == "3" for row in rows.values()))

        victim = cluster.followers()[0]
        victim.kill(signal.SIGKILL)
        status, out, err = pyconsul_cli(
            "operator", "raft", "remove-peer", "-address=%s:8300" % victim.address, http=leader.http
        )
        self.assertEqual((status, out), (0, 'Removed peer with address "%s:8300"\n' % victim.address), err)
        self.assertNotIn("%s:8300" % victim.address, peers_of(leader))
        status, _, err = pyconsul_cli("operator", "raft", "remove-peer", "-id=nope", http=leader.http)
        self.assertEqual(status, 1)
        self.assertIn('id "nope" was not found in the Raft configuration', err)


class FiveServerTests(SynchronousTestCase):
    def test_two_failures_are_survived(self):
        cluster = Cluster(self, f"{NET}.11", 5).start()
        leader = cluster.leader()
        leader.kill(signal.SIGKILL)
        cluster.followers()[0].kill(signal.SIGKILL)
        rest = cluster.running()
        self.assertEqual(len(rest), 3)
        cluster.wait_for_new_leader(rest, leader)
        wait_for(lambda: put(rest[0], "five/k", "v") == (200, b"true"), what="writes with 3 of 5")


class MembershipChangeTests(SynchronousTestCase):
    def test_servers_join_and_leave_the_configuration(self):
        cluster = Cluster(self, f"{NET}.12", 3).start()
        extra = Agent(self, f"{NET}.12.4", [
            "--server", "--data-dir", os.path.abspath(self.mktemp()), "--node", "s4",
            "--retry-join", f"{NET}.12.1", "--config-file", cluster.config_path]).start()

        def peers():
            return sorted(json.loads(cluster.servers[0].request("GET", "/v1/status/peers")[1]))

        wait_for(lambda: f"{NET}.12.4:8300" in peers(), what="the new server in the configuration")
        wait_for(lambda: read(extra, "nothing", "stale") is None, what="the new server answering")
        wait_for(lambda: put(cluster.servers[0], "seen/by/new", "1") == (200, b"true"), what="a write")
        wait_for(lambda: read(extra, "seen/by/new", "stale") == "1", what="replication to the new server")

        extra.kill(signal.SIGINT)  # a server's Ctrl-C: it stays a member (fails)
        leaving = cluster.leader()
        status, _ = leaving.request("PUT", "/v1/agent/leave", timeout=60)
        self.assertEqual(status, 200)
        rest = [s for s in cluster.servers if s is not leaving and s.process.poll() is None]
        cluster.wait_for_new_leader(rest, leaving)
        wait_for(lambda: "%s:8300" % leaving.address not in peers_of(rest[0]), what="the leaver removed")
        wait_for(lambda: put(rest[0], "after/leave", "1") == (200, b"true"), what="writes after the leave")


def peers_of(agent):
    return json.loads(agent.request("GET", "/v1/status/peers")[1])
