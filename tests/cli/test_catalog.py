"""``pyconsul catalog datacenters|nodes|services``: Consul 1.10's tables,
messages and exit statuses, against the in-memory agent."""

from tests.cli.clitest import CliTestCase, answering, lines, refusing_agent
from tests.vectors.targets import run_cli

WEB_ID = "1b662d97-8b5c-3cc2-0ac0-96f55ad423b5"
DB_ID = "d407a592-e93c-4d8e-8a6d-aba853d1e067"
AGENT_ID = "7c5a1c3e-0000-4000-8000-000000000001"
AGENT_TAGGED = {"lan": "127.0.0.1", "lan_ipv4": "127.0.0.1", "wan": "127.0.0.1", "wan_ipv4": "127.0.0.1"}


def fill(catalog):
    """Three nodes as a small cluster has them, with a few services."""
    catalog.add_node("web-01", "10.0.1.5", WEB_ID, tagged_addresses={"wan": "198.51.100.5", "lan": "10.0.1.5"},
                     meta={"rack": "r1", "env": "prod"})
    catalog.add_node("db-1", "10.0.2.7", DB_ID)
    catalog.add_node("fake-agent", "127.0.0.1", AGENT_ID, tagged_addresses=AGENT_TAGGED,
                     meta={"consul-network-segment": ""})
    catalog.add_service("fake-agent", "consul")
    catalog.add_service("web-01", "web", "web-a", tags=["v2", "rails"], port=80)
    catalog.add_service("web-01", "web", "web-b", tags=["v1", "rails"], port=81)
    catalog.add_service("db-1", "postgres", tags=["primary"], port=5432)


class DatacentersTests(CliTestCase):
    command = ("catalog", "datacenters")

    def test_one_per_line_in_the_agents_order(self):
        self.agent.catalog.datacenters = ["dc1", "eu-west", "ap-south"]
        self.assertRun(self.run_command(), 0, lines("dc1", "eu-west", "ap-south"))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/datacenters")])

    def test_none(self):
        self.agent.catalog.datacenters = []
        self.assertRun(self.run_command(), 0)

    def test_datacenter_flag(self):
        self.agent.catalog.datacenters = ["dc1", "dc2"]
        self.assertRun(self.run_command("-datacenter=dc2"), 0, lines("dc1", "dc2"))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/datacenters?dc=dc2")])

    def test_a_failed_request_still_exits_0(self):
        """Consul 1.10 reports the error but returns 0 from this command."""
        self.assertRun(self.run_command("-datacenter=mars"), 0,
                       stderr=b"Error listing datacenters: Unexpected response code: 500 (No path to datacenter)\n")

    def test_unreachable_agent(self):
        self.assertRun(self.run_command(agent=refusing_agent()), 0, stderr=(
            b'Error listing datacenters: Get "http://127.0.0.1:8500/v1/catalog/datacenters": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_answer_that_is_not_a_list_of_names(self):
        self.assertRun(self.run_command(agent=answering(200, b'{"dc1": true}')), 0, stderr=(
            b"Error listing datacenters: json: cannot unmarshal object into Go value of type []string\n"))

    def test_stale_is_accepted_but_not_sent(self):
        self.assertEqual(self.run_command("-stale")[0], 0)
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/datacenters")])

    def test_arguments_are_refused(self):
        self.assertRun(self.run_command("dc1", "dc2"), 1, stderr=b"Too many arguments (expected 0, got 2)\n")
        self.assertEqual(self.agent.requests, [])

    def test_bad_client_settings(self):
        self.assertRun(self.run_command(environ={"CONSUL_HTTP_ADDR": "ftp://x:1"}), 1,
                       stderr=b"Error connecting to Consul agent: Unknown protocol scheme: ftp\n")


class NodesTests(CliTestCase):
    command = ("catalog", "nodes")

    def setUp(self):
        super().setUp()
        fill(self.agent.catalog)

    def test_table_with_short_ids(self):
        self.assertRun(self.run_command(), 0, lines(
            "Node        ID        Address    DC",
            "db-1        d407a592  10.0.2.7   dc1",
            "fake-agent  7c5a1c3e  127.0.0.1  dc1",
            "web-01      1b662d97  10.0.1.5   dc1",
        ))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/nodes")])

    def test_ids_that_are_not_uuids(self):
        catalog = self.agent.catalog
        catalog.nodes.clear()
        catalog.add_node("a", "10.0.0.1", "")  # registered through /v1/catalog/register without an ID
        catalog.add_node("b", "10.0.0.2", "nodash")
        catalog.add_node("c", "10.0.0.3", "-leading-dash")
        self.assertRun(self.run_command(), 0, lines(
            "Node  ID             Address   DC",
            "a                    10.0.0.1  dc1",
            "b     nodash         10.0.0.2  dc1",
            "c     -leading-dash  10.0.0.3  dc1",
        ))

    def test_detailed(self):
        # Maps print as k=v sorted by key, joined by ", "; a node without
        # tagged addresses or metadata ends its line in the columns' padding.
        self.assertRun(self.run_command("-detailed"), 0, lines(
            "Node        ID                                    Address    DC   TaggedAddresses" + " " * 53 + "  Meta",
            "db-1        d407a592-e93c-4d8e-8a6d-aba853d1e067  10.0.2.7   dc1  " + " " * 68 + "  ",
            "fake-agent  7c5a1c3e-0000-4000-8000-000000000001  127.0.0.1  dc1  "
            "lan=127.0.0.1, lan_ipv4=127.0.0.1, wan=127.0.0.1, wan_ipv4=127.0.0.1  consul-network-segment=",
            "web-01      1b662d97-8b5c-3cc2-0ac0-96f55ad423b5  10.0.1.5   dc1  "
            "lan=10.0.1.5, wan=198.51.100.5" + " " * 38 + "  env=prod, rack=r1",
        ))

    def test_service(self):
        self.assertRun(self.run_command("-service=web"), 0, lines(
            # One row per instance: web-01 runs two.
            "Node    ID        Address   DC",
            "web-01  1b662d97  10.0.1.5  dc1",
            "web-01  1b662d97  10.0.1.5  dc1",
        ))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/service/web")])

    def test_service_detailed_shows_the_node_metadata(self):
        self.assertRun(self.run_command("-service", "postgres", "-detailed"), 0, lines(
            "Node  ID                                    Address   DC   TaggedAddresses  Meta",
            "db-1  d407a592-e93c-4d8e-8a6d-aba853d1e067  10.0.2.7  dc1                   ",
        ))

    def test_nothing_matches(self):
        nothing = (0, b"", b"No nodes match the given query - try expanding your search.\n")
        self.assertRun(self.run_command("-service=missing"), *nothing)
        self.assertRun(self.run_command("-node-meta=rack=r9"), *nothing)
        self.agent.catalog.nodes.clear()
        self.assertRun(self.run_command(), *nothing)

    def test_node_meta(self):
        self.assertRun(self.run_command("-node-meta", "rack=r1", "--node-meta=env=prod"), 0, lines(
            "Node    ID        Address   DC",
            "web-01  1b662d97  10.0.1.5  dc1",
        ))
        # One parameter per pair, key:value, in key order.
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/nodes?node-meta=env%3Aprod&node-meta=rack%3Ar1")])

    def test_node_meta_given_twice_keeps_the_last_value(self):
        self.run_command("-node-meta=rack=r2", "-node-meta=rack=r1=x")
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/nodes?node-meta=rack%3Ar1%3Dx")])

    def test_node_meta_without_equals(self):
        self.assertUsageError(self.run_command("-node-meta=rack"),
                              'invalid value "rack" for flag -node-meta: Missing "=" value in argument: rack')
        self.assertEqual(self.agent.requests, [])

    def test_near(self):
        self.agent.catalog.coordinates = {"web-01": 0.0, "db-1": 9.0, "fake-agent": 2.0}
        status, stdout, _ = self.run_command("-near=db-1")
        self.assertEqual([line.split()[0] for line in stdout.decode().splitlines()],
                         ["Node", "db-1", "fake-agent", "web-01"])
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/nodes?near=db-1")])
        status, stdout, _ = self.run_command("-near=_agent")
        self.assertEqual([line.split()[0] for line in stdout.decode().splitlines()],
                         ["Node", "fake-agent", "web-01", "db-1"])

    def test_near_with_service(self):
        self.run_command("-service=web", "-near=_agent", "-node-meta=rack=r1")
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/service/web?near=_agent&node-meta=rack%3Ar1")])

    def test_filter(self):
        self.assertRun(self.run_command('-filter=Meta.env == "prod"'), 0, lines(
            "Node    ID        Address   DC",
            "web-01  1b662d97  10.0.1.5  dc1",
        ))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/nodes?filter=Meta.env+%3D%3D+%22prod%22")])

    def test_filter_the_agent_refuses(self):
        status, stdout, stderr = self.run_command("-filter=Node ===")
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"Error listing nodes: Unexpected response code: 400 "
                                          b"(Failed to create boolean expression evaluator: "), stderr)
        status, _, stderr = self.run_command("-service=web", "-filter=Node ===")
        self.assertEqual(status, 1)
        self.assertTrue(stderr.startswith(b"Error listing nodes for service: Unexpected response code: 400 "))

    def test_datacenter_and_stale(self):
        self.run_command("-datacenter=dc1", "-stale")
        # -stale is accepted but, as with Consul 1.10, not put in the query.
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/nodes?dc=dc1")])
        self.assertRun(self.run_command("-datacenter=dc9"), 1,
                       stderr=b"Error listing nodes: Unexpected response code: 500 (No path to datacenter)\n")

    def test_address_and_token(self):
        transport = answering(200, b"[]")
        self.run_command("-http-addr=10.0.0.5:8500", "-token=secret", agent=transport)
        request = transport.requests[0]
        self.assertEqual(request.url, "http://10.0.0.5:8500/v1/catalog/nodes")
        self.assertIn(("X-Consul-Token", "secret"), request.headers)

    def test_unreachable_agent(self):
        self.assertRun(self.run_command(agent=refusing_agent()), 1, stderr=(
            b'Error listing nodes: Get "http://127.0.0.1:8500/v1/catalog/nodes": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))
        self.assertRun(self.run_command("-service=web", agent=refusing_agent()), 1, stderr=(
            b'Error listing nodes for service: Get "http://127.0.0.1:8500/v1/catalog/service/web": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_error_status(self):
        self.assertRun(self.run_command(agent=answering(403, b"Permission denied")), 1,
                       stderr=b"Error listing nodes: Unexpected response code: 403 (Permission denied)\n")

    def test_answers_that_are_not_node_lists(self):
        for body, message in [
            (b"<html>", b"invalid character '<' looking for beginning of value"),
            (b"", b"EOF"),
            (b'[{"Node": "a", "Address": 7}]',
             b"json: cannot unmarshal number into Go struct field Node.Address of type string"),
            (b'{"Node": "a"}', b"json: cannot unmarshal object into Go value of type []*api.Node"),
        ]:
            self.assertRun(self.run_command(agent=answering(200, body)), 1,
                           stderr=b"Error listing nodes: " + message + b"\n")

    def test_null_answer_is_no_nodes(self):
        self.assertRun(self.run_command(agent=answering(200, b"null")), 0,
                       stderr=b"No nodes match the given query - try expanding your search.\n")

    def test_vertical_bars_split_columns(self):
        """columnize splits at every "|", even inside a node name, as in Consul 1.10."""
        self.agent.catalog.nodes.clear()
        self.agent.catalog.add_node("a|b", "10.0.0.1", "x-y")
        self.assertRun(self.run_command(), 0, lines(
            "Node  ID  Address  DC",
            "a     b   x        10.0.0.1  dc1",
        ))

    def test_arguments_are_refused(self):
        self.assertRun(self.run_command("web"), 1, stderr=b"Too many arguments (expected 0, got 1)\n")
        self.assertEqual(self.agent.requests, [])

    def test_unknown_flag(self):
        self.assertUsageError(self.run_command("-tags"), "flag provided but not defined: -tags")

    def test_help(self):
        status, stdout, stderr = self.run_command("-h")
        self.assertEqual((status, stderr), (0, b""))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul catalog nodes [options]\n"))
        for flag in (b"-detailed", b"-filter=<string>", b"-near=<string>", b"-node-meta=<key=value>",
                     b"-service=<id or name>", b"-datacenter=<value>", b"-stale", b"-http-addr=<address>"):
            self.assertIn(b"\n  " + flag + b"\n", stdout)
        self.assertNotIn(b"-namespace", stdout)


class ServicesTests(CliTestCase):
    command = ("catalog", "services")

    def setUp(self):
        super().setUp()
        fill(self.agent.catalog)

    def test_names_sorted(self):
        self.assertRun(self.run_command(), 0, lines("consul", "postgres", "web"))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/services")])

    def test_tags(self):
        # Go's tabwriter pads every line but the trimmed last one, including
        # that of a service without tags.
        self.assertRun(self.run_command("-tags"), 0, lines(
            "consul        ",
            "postgres      primary",
            "web           rails,v1,v2",
        ))

    def test_tags_last_service_without_tags(self):
        self.agent.catalog.add_node("z", "10.0.0.9")
        self.agent.catalog.add_service("z", "zookeeper")
        status, stdout, _ = self.run_command("-tags")
        self.assertEqual(stdout.decode().splitlines()[-1], "zookeeper")
        self.assertTrue(stdout.endswith(b"\nzookeeper\n"))

    def test_node(self):
        self.assertRun(self.run_command("-node=web-01", "-tags"), 0, lines(
            # Both instances of web add their tags, repeats kept, then sorted.
            "web      rails,rails,v1,v2",
        ))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/node/web-01")])
        self.assertRun(self.run_command("-node", "db-1"), 0, lines("postgres"))

    def test_node_without_services_or_unknown(self):
        nothing = (0, b"", b"No services match the given query - try expanding your search.\n")
        self.agent.catalog.add_node("empty", "10.0.0.8")
        self.assertRun(self.run_command("-node=empty"), *nothing)
        self.assertRun(self.run_command("-node=missing"), *nothing)

    def test_node_meta(self):
        self.assertRun(self.run_command("-node-meta=rack=r1"), 0, lines("web"))
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/services?node-meta=rack%3Ar1")])
        self.assertRun(self.run_command("-node-meta=rack=r9"), 0,
                       stderr=b"No services match the given query - try expanding your search.\n")

    def test_node_meta_goes_with_node_too(self):
        self.run_command("-node=web-01", "-node-meta=rack=r1")
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/node/web-01?node-meta=rack%3Ar1")])

    def test_namespace_and_datacenter(self):
        self.run_command("-datacenter=dc1", "-namespace=team-a")
        self.assertEqual(self.paths(), [("GET", "/v1/catalog/services?dc=dc1&ns=team-a")])

    def test_errors(self):
        self.assertRun(self.run_command(agent=answering(500, b"rpc error: No cluster leader")), 1,
                       stderr=b"Error listing services: Unexpected response code: 500 (rpc error: No cluster leader)\n")
        self.assertRun(self.run_command("-node=x", agent=answering(500, b"No cluster leader")), 1,
                       stderr=b"Error listing services for node: Unexpected response code: 500 (No cluster leader)\n")
        self.assertRun(self.run_command(agent=answering(200, b'{"web": "rails"}')), 1, stderr=(
            b"Error listing services: json: cannot unmarshal string into Go value of type []string\n"))

    def test_unreachable_agent(self):
        self.assertRun(self.run_command(agent=refusing_agent()), 1, stderr=(
            b'Error listing services: Get "http://127.0.0.1:8500/v1/catalog/services": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_empty_catalog(self):
        self.assertRun(self.run_command(agent=answering(200, b"{}")), 0,
                       stderr=b"No services match the given query - try expanding your search.\n")

    def test_arguments_and_flags(self):
        self.assertRun(self.run_command("web"), 1, stderr=b"Too many arguments (expected 0, got 1)\n")
        self.assertUsageError(self.run_command("-filter=x"), "flag provided but not defined: -filter")
        self.assertUsageError(self.run_command("-tags=maybe"),
                              'invalid boolean value "maybe" for -tags: parse error')

    def test_help(self):
        status, stdout, _ = self.run_command("--help")
        self.assertEqual(status, 0)
        self.assertTrue(stdout.startswith(b"Usage: pyconsul catalog services [options]\n"))
        for flag in (b"-node=<id or name>", b"-node-meta=<key=value>", b"-tags", b"-namespace=<value>"):
            self.assertIn(b"\n  " + flag + b"\n", stdout)


class GroupTests(CliTestCase):
    command = ("catalog",)

    def test_without_a_subcommand(self):
        status, stdout, stderr = self.run_command()
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"Usage: pyconsul catalog <subcommand> [options] [args]\n"))
        for name in (b"datacenters", b"nodes", b"services"):
            self.assertIn(b"\n    " + name + b" ", stderr)

    def test_help(self):
        status, stdout, _ = self.run_command("-h")
        self.assertEqual(status, 0)
        self.assertIn(b"Subcommands:", stdout)
        status, stdout, _ = self.run_command("nodes", "-detailed", "-h")
        self.assertTrue(stdout.startswith(b"Usage: pyconsul catalog nodes"))

    def test_listed_by_pyconsul(self):
        status, stdout, _ = run_cli([], self.agent)
        self.assertIn(b"\n    catalog ", stdout)
