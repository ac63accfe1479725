"""``pyconsul members`` against the in-memory agent: the exact tables, flags and exit codes."""

import json

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.http import Response, TransportError

from tests.cli.fakeagent import FakeAgent, member
from tests.vectors.targets import run_cli
from tests.cli.test_http import ScriptedTransport


def table(*lines):
    return ("\n".join(lines) + "\n").encode()


class MembersTestCase(SynchronousTestCase):
    def setUp(self):
        self.agent = FakeAgent()

    def members(self, *argv, agent=None, environ=None):
        return run_cli(["members"] + list(argv), agent or self.agent, environ=environ)

    def assertRun(self, result, status, stdout=b"", stderr=b""):
        self.assertEqual(result, (status, stdout, stderr))


class TableLayoutTests(MembersTestCase):
    def test_three_servers(self):
        """The first thing a user sees after joining three agents."""
        self.agent.members = [member("agent-two", "127.0.0.2"), member("agent-three", "127.0.0.3"),
                              member("agent-one", "127.0.0.1")]
        self.assertRun(self.members(), 0, table(
            "Node         Address         Status  Type    Build   Protocol  DC",
            "agent-one    127.0.0.1:8301  alive   server  1.10.0  2         dc1",
            "agent-three  127.0.0.3:8301  alive   server  1.10.0  2         dc1",
            "agent-two    127.0.0.2:8301  alive   server  1.10.0  2         dc1",
        ))

    def test_short_fields_keep_the_header_widths(self):
        self.agent.members = [member("a", "1.2.3.4", port=1, build="1:x", vsn="", dc="d")]
        self.assertRun(self.members(), 0, table(
            "Node  Address    Status  Type    Build  Protocol  DC",
            "a     1.2.3.4:1  alive   server  1                d",
        ))

    def test_failed_left_leaving_and_unusual_members(self):
        self.agent.members = [
            member("web", "10.0.1.5", role="node", status=3),
            member("consul-server-long-name-2", "10.0.0.2", status=4),
            member("batch", "10.0.3.1", role="node", segment="alpha"),
            member("api", "2001:db8::10", role="node", status=2, build="1.9.5", dc="east"),
            member("gateway", "10.0.2.1", role="mystery"),
            member("old", "10.0.1.9", role="node", build=None),
            member("s1", "10.0.0.1"),
        ]
        # Servers first (segment <all>), then the default segment, then others;
        # by name within each. An unknown role leaves the last columns empty,
        # padded all the same.
        self.assertRun(self.members(), 0, table(
            "Node                       Address              Status   Type     Build   Protocol  DC",
            "consul-server-long-name-2  10.0.0.2:8301        failed   server   1.10.0  2         dc1",
            "s1                         10.0.0.1:8301        alive    server   1.10.0  2         dc1",
            "api                        [2001:db8::10]:8301  leaving  client   1.9.5   2         east",
            "gateway                    10.0.2.1:8301        alive    unknown" + " " * 20,
            "old                        10.0.1.9:8301        alive    client   < 0.3   2         dc1",
            "web                        10.0.1.5:8301        left     client   1.10.0  2         dc1",
            "batch                      10.0.3.1:8301        alive    client   1.10.0  2         dc1",
        ))

    def test_non_ascii_names_widen_their_column_by_their_bytes(self):
        # "nœud" is 4 characters but 5 bytes: the column is 5 wide, as consul's is.
        self.agent.members = [member("nœud", "10.0.0.1"), member("ab", "10.0.0.2")]
        self.assertRun(self.members(), 0, table(
            "Node   Address        Status  Type    Build   Protocol  DC",
            "ab     10.0.0.2:8301  alive   server  1.10.0  2         dc1",
            "nœud   10.0.0.1:8301  alive   server  1.10.0  2         dc1",
        ))

    def test_detailed(self):
        self.agent.members = [
            {"Name": "client-1", "Addr": "10.0.0.9", "Port": 8301, "Status": 4,
             "Tags": {"vsn": "2", "role": "node", "dc": "dc1", "build": "1.10.0:abc"}},
            {"Name": "s", "Addr": "10.0.0.1", "Port": 8301, "Status": 1,
             "Tags": {"role": "consul", "dc": "dc1", "port": "8300"}},
            {"Name": "bare", "Addr": "10.0.0.3", "Port": 8301, "Status": 3},
        ]
        # The segment tag shows as the table would show it, added where missing.
        self.assertRun(self.members("-detailed"), 0, table(
            "Node      Address        Status  Tags",
            "s         10.0.0.1:8301  alive   dc=dc1,port=8300,role=consul,segment=<all>",
            "bare      10.0.0.3:8301  left    segment=<default>",
            "client-1  10.0.0.9:8301  failed  build=1.10.0:abc,dc=dc1,role=node,segment=<default>,vsn=2",
        ))

    def test_status_words(self):
        self.agent.members = [member("n%d" % status, "10.0.0.%d" % status, status=status) for status in range(6)]
        status, stdout, _ = self.members()
        words = [line.split()[2] for line in stdout.decode().splitlines()[1:]]
        self.assertEqual((status, words), (0, ["none", "alive", "leaving", "left", "failed", "unknown(5)"]))

    def test_odd_member_data(self):
        self.agent.members = [
            {"Name": "  padded  ", "Addr": "not-an-ip", "Port": 8301, "Status": 1, "Tags": None},
            {"Name": "mapped", "Addr": "::ffff:10.0.0.4", "Port": 8301, "Status": 1,
             "Tags": {"role": "node", "build": "", "segment": "", "vsn": "3"}},
        ]
        # Sorted by the name as given (a space sorts first), printed trimmed;
        # an address Go cannot parse loses its host.
        self.assertRun(self.members(), 0, table(
            "Node    Address        Status  Type     Build  Protocol  DC",
            "padded  :8301          alive   unknown" + " " * 19,
            "mapped  10.0.0.4:8301  alive   client   < 0.3  3" + " " * 9,
        ))


class FlagTests(MembersTestCase):
    def setUp(self):
        super().setUp()
        self.agent.members = [
            member("s1", "10.0.0.1"),
            member("s2", "10.0.0.2", status=4),
            member("c1", "10.0.0.3", role="node", status=3),
            member("c2", "10.0.0.4", role="node", status=2),
        ]

    def names(self, *argv):
        status, stdout, stderr = self.members(*argv)
        self.assertEqual((status, stderr), (0, b""))
        return [line.split()[0] for line in stdout.decode().splitlines()[1:]]

    def test_status_filter(self):
        self.assertEqual(self.names("-status=alive"), ["s1"])
        self.assertEqual(self.names("-status", "^(failed|left)$"), ["s2", "c1"])
        self.assertEqual(self.names("--status=le"), ["s2", "c1", "c2"])  # not anchored: "failed" has "le" too
        self.assertEqual(self.names("-status=^le"), ["c1", "c2"])
        self.assertEqual(self.names("-status=."), ["s1", "s2", "c1", "c2"])
        self.assertEqual(self.names("-detailed", "-status=fail"), ["s2"])

    def test_no_member_matches(self):
        self.assertRun(self.members("-status=none"), 2)
        self.agent.members = []
        self.assertRun(self.members(), 2)

    def test_invalid_status_regexp(self):
        self.assertRun(self.members("-status=(alive"), 1,
                       stderr=b"Failed to compile status regexp: missing ), unterminated subpattern at position 0\n")
        self.assertRun(self.members("-status=*"), 1,
                       stderr=b"Failed to compile status regexp: nothing to repeat at position 0\n")
        self.assertEqual(self.agent.requests, [])

    def test_wan(self):
        self.agent.wan_members = [member("s1.dc1", "10.0.0.1", port=8302), member("s9.dc2", "10.9.0.1", port=8302)]
        self.assertRun(self.members("-wan"), 0, table(
            "Node    Address        Status  Type    Build   Protocol  DC",
            "s1.dc1  10.0.0.1:8302  alive   server  1.10.0  2         dc1",
            "s9.dc2  10.9.0.1:8302  alive   server  1.10.0  2         dc1",
        ))
        self.assertEqual(self.agent.requests[-1][:2], ("GET", "/v1/agent/members?segment=_all&wan=1"))

    def test_segment(self):
        self.assertRun(self.members("-segment=alpha"), 1, stderr=(
            b"Error retrieving members: Unexpected response code: 500 "
            b"(Network segments are not supported in this version of Consul)\n"))
        self.assertEqual(self.agent.requests[-1][1], "/v1/agent/members?segment=alpha")
        self.agent.overrides[("GET", "/v1/agent/members")] = (200, {}, json.dumps([member("s1", "10.0.0.1")]).encode())
        status, stdout, _ = self.members("-segment=")
        self.assertEqual((status, stdout.split()[-1]), (0, b"dc1"))

    def test_flag_errors(self):
        status, stdout, stderr = self.members("-status")
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"flag needs an argument: -status\nUsage:\n"))
        status, _, stderr = self.members("-verbose")
        self.assertEqual((status, stderr.splitlines()[0]), (1, b"flag provided but not defined: -verbose"))
        self.assertEqual(self.agent.requests, [])

    def test_stray_arguments(self):
        status, stdout, stderr = self.members("all")
        self.assertEqual((status, stderr), (1, b"Error found unexpected args: [all]\n"))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul members [options]\n"))
        self.assertEqual(self.agent.requests, [])

    def test_help(self):
        status, stdout, stderr = self.members("-h")
        self.assertEqual((status, stderr), (0, b""))
        for flag in (b"-detailed", b"-status=<regexp>", b"-wan", b"-segment=<string>", b"-http-addr=<address>"):
            self.assertIn(b"\n  " + flag + b"\n", stdout)
        self.assertNotIn(b"-datacenter", stdout)  # consul members has no -datacenter either


class AgentErrorTests(MembersTestCase):
    def test_unreachable_agent(self):
        error = TransportError("dial tcp 127.0.0.1:8500: connect: connection refused")
        refused = ScriptedTransport(lambda request: error)
        self.assertRun(self.members(agent=refused), 1, stderr=(
            b'Error retrieving members: Get "http://127.0.0.1:8500/v1/agent/members?segment=_all": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_error_status(self):
        denied = ScriptedTransport(lambda request: Response(403, {}, b"Permission denied"))
        self.assertRun(self.members(agent=denied), 1,
                       stderr=b"Error retrieving members: Unexpected response code: 403 (Permission denied)\n")

    def test_answer_that_is_not_a_member_list(self):
        for body, message in [
            (b"<html>", b"invalid character '<' looking for beginning of value"),
            (b"", b"EOF"),
            (b'[{"Name": "a", "Status": "alive"}]',
             b"json: cannot unmarshal string into Go struct field AgentMember.Status of type int"),
        ]:
            broken = ScriptedTransport(lambda request, body=body: Response(200, {}, body))
            self.assertRun(self.members(agent=broken), 1, stderr=b"Error retrieving members: " + message + b"\n")

    def test_bad_client_settings(self):
        self.assertRun(self.members(environ={"CONSUL_HTTP_ADDR": "ftp://x:1"}), 1,
                       stderr=b"Error connecting to Consul agent: Unknown protocol scheme: ftp\n")

    def test_address_and_token(self):
        transport = ScriptedTransport(lambda request: Response(200, {}, b"[]"))
        self.members("-http-addr=10.0.0.5:8500", "-token=secret", agent=transport)
        request = transport.requests[0]
        self.assertEqual(request.url, "http://10.0.0.5:8500/v1/agent/members?segment=_all")
        self.assertIn(("X-Consul-Token", "secret"), request.headers)
