"""``pyconsul services register|deregister``: flags and definition files,
the bodies sent to the agent, and Consul 1.10's lines, errors and statuses."""

import json
import os
import tempfile

from tests.cli.clitest import CliTestCase, answering, lines, refusing_agent
from tests.vectors.targets import run_cli


class ServicesTestCase(CliTestCase):
    def setUp(self):
        super().setUp()
        self.directory = tempfile.mkdtemp()
        self.addCleanup(_remove_tree, self.directory)

    def write(self, name, content):
        path = os.path.join(self.directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content if isinstance(content, str) else json.dumps(content))
        return name

    def run_command(self, *argv, agent=None, environ=None):
        return super().run_command(*argv, agent=agent, cwd=self.directory, environ=environ)

    def bodies(self):
        """The registration bodies the agent accepted, as sent."""
        return [body for body, _ in self.agent.local.registrations]


def _remove_tree(directory):
    for root, directories, files in os.walk(directory, topdown=False):
        for name in files:
            os.unlink(os.path.join(root, name))
        for name in directories:
            os.rmdir(os.path.join(root, name))
    os.rmdir(directory)


class RegisterFlagsTests(ServicesTestCase):
    command = ("services", "register")

    def test_name_port_tag(self):
        self.assertRun(self.run_command("-name=web", "-port=80", "-tag=rails"), 0, lines("Registered service: web"))
        self.assertEqual(self.paths(), [("PUT", "/v1/agent/service/register")])
        self.assertEqual(self.bodies(), [b'{"Name":"web","Tags":["rails"],"Port":80,"Check":null,"Checks":null}\n'])

    def test_every_flag(self):
        self.assertRun(self.run_command(
            "-id=web-1", "-name=web", "-address=10.0.0.5", "-port", "8080", "-socket=/run/web.sock",
            "-meta=env=prod", "-meta", "team=a=b", "-tag=v1", "--tag=canary",
            "-tagged-address=lan=10.0.0.5:8080", "-tagged-address=v6=[2001:db8::12]:1234", "-kind=mesh-gateway",
        ), 0, lines("Registered service: web"))
        self.assertEqual(json.loads(self.bodies()[0]), {
            "Kind": "mesh-gateway", "ID": "web-1", "Name": "web", "Tags": ["v1", "canary"], "Port": 8080,
            "Address": "10.0.0.5", "SocketPath": "/run/web.sock",
            "TaggedAddresses": {"lan": {"Address": "10.0.0.5", "Port": 8080},
                                "v6": {"Address": "2001:db8::12", "Port": 1234}},
            "Meta": {"env": "prod", "team": "a=b"}, "Check": None, "Checks": None,
        })
        # Go's field order.
        self.assertEqual(list(json.loads(self.bodies()[0])),
                         ["Kind", "ID", "Name", "Tags", "Port", "Address", "SocketPath", "TaggedAddresses",
                          "Meta", "Check", "Checks"])

    def test_html_characters_are_escaped_as_go_does(self):
        self.run_command("-name=a<b>&c")
        self.assertEqual(self.bodies(), [b'{"Name":"a\\u003cb\\u003e\\u0026c","Check":null,"Checks":null}\n'])

    def test_tagged_address_errors(self):
        for value, message in [
            ("lan=10.0.0.5", "address 10.0.0.5: missing port in address"),
            ("lan=2001:db8::1:80", "address 2001:db8::1:80: too many colons in address"),
            ("lan=[2001:db8::1", "address [2001:db8::1: missing ']' in address"),
            ("lan=10.0.0.5:http", 'strconv.Atoi: parsing "http": invalid syntax'),
            ("lan=10.0.0.5:", 'strconv.Atoi: parsing "": invalid syntax'),
        ]:
            self.assertRun(self.run_command("-name=web", "-tagged-address=" + value), 1,
                           stderr=("Invalid Tagged Address: %s\n" % message).encode())
        self.assertEqual(self.agent.requests, [])

    def test_tagged_address_needs_a_name(self):
        self.assertUsageError(self.run_command("-name=web", "-tagged-address=10.0.0.5:80"),
                              'invalid value "10.0.0.5:80" for flag -tagged-address: '
                              'Missing "=" value in argument: 10.0.0.5:80')

    def test_needs_files_or_a_name(self):
        self.assertRun(self.run_command(), 1, stderr=b"Service registration requires at least one argument or flags.\n")
        self.assertRun(self.run_command("-id=web-1", "-port=80"), 1,
                       stderr=b"Service registration requires at least one argument or flags.\n")
        self.write("web.json", {"service": {"name": "web"}})
        self.assertRun(self.run_command("-name=web", "web.json"), 1,
                       stderr=b"Service registration requires arguments or -id, not both.\n")
        self.assertEqual(self.agent.requests, [])

    def test_flag_values(self):
        self.assertUsageError(self.run_command("-name=web", "-port=eighty"),
                              'invalid value "eighty" for flag -port: parse error')
        self.assertUsageError(self.run_command("-name=web", "-meta=env"),
                              'invalid value "env" for flag -meta: Missing "=" value in argument: env')
        self.assertUsageError(self.run_command("-check=x"), "flag provided but not defined: -check")

    def test_datacenter_namespace_token(self):
        self.run_command("-name=web", "-datacenter=dc2", "-namespace=team", "-stale")
        self.assertEqual(self.paths(), [("PUT", "/v1/agent/service/register?dc=dc2&ns=team")])
        transport = answering(200, b"")
        self.run_command("-name=web", "-token=s3", agent=transport)
        self.assertIn(("X-Consul-Token", "s3"), transport.requests[0].headers)

    def test_the_agent_refuses(self):
        self.assertRun(self.run_command("-name=web", agent=answering(400, b"Invalid Service Meta: bad")), 1,
                       stderr=b'Error registering service "web": Unexpected response code: 400 (Invalid Service Meta: bad)\n')

    def test_unreachable_agent(self):
        self.assertRun(self.run_command("-name=web", agent=refusing_agent()), 1, stderr=(
            b'Error registering service "web": Put "http://127.0.0.1:8500/v1/agent/service/register": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_bad_client_settings(self):
        self.assertRun(self.run_command("-name=web", environ={"CONSUL_HTTP_ADDR": "ftp://x:1"}), 1,
                       stderr=b"Error connecting to Consul agent: Unknown protocol scheme: ftp\n")

    def test_help(self):
        status, stdout, stderr = self.run_command("-h")
        self.assertEqual((status, stderr), (0, b""))
        self.assertTrue(stdout.startswith(b"Usage: pyconsul services register [options] [FILE...]\n"))
        for flag in (b"-id=<string>", b"-name=<string>", b"-address=<string>", b"-port=<int>", b"-socket=<string>",
                     b"-meta=<value>", b"-tag=<value>", b"-tagged-address=<value>", b"-kind=<string>",
                     b"-datacenter=<value>", b"-namespace=<value>"):
            self.assertIn(b"\n  " + flag + b"\n", stdout)


class RegisterFileTests(ServicesTestCase):
    command = ("services", "register")

    def test_one_service(self):
        self.write("web.json", {"service": {"name": "web", "tags": ["rails"], "port": 80}})
        self.assertRun(self.run_command("web.json"), 0, lines("Registered service: web"))
        # Files always carry the weights, as Consul's loader fills them in.
        self.assertEqual(self.bodies(), [
            b'{"Name":"web","Tags":["rails"],"Port":80,"Weights":{"Passing":1,"Warning":1},'
            b'"Check":null,"Checks":null}\n'])

    def test_every_field_and_check(self):
        self.write("web.json", {"service": {
            "id": "web-1", "name": "web", "tags": ["a"], "address": "10.0.0.5", "port": 80,
            "tagged_addresses": {"wan": {"address": "198.51.100.5", "port": 8080}},
            "meta": {"env": "prod"}, "enable_tag_override": True, "weights": {"passing": 10},
            "token": "not sent", "kind": "something-else",
            "check": {"id": "web-ttl", "ttl": "30s", "notes": "kept last"},
            "checks": [
                {"name": "http", "http": "http://localhost/health", "method": "HEAD",
                 "header": {"X-A": ["1"]}, "interval": "90s", "timeout": "1s", "tls_skip_verify": True,
                 "deregister_critical_service_after": "90m", "success_before_passing": 2},
                {"args": ["/bin/check", "-q"], "interval": "10s", "status": "passing"},
            ],
        }})
        self.assertEqual(self.run_command("web.json")[0], 0)
        self.assertEqual(json.loads(self.bodies()[0]), {
            "ID": "web-1", "Name": "web", "Tags": ["a"], "Port": 80, "Address": "10.0.0.5",
            "TaggedAddresses": {"wan": {"Address": "198.51.100.5", "Port": 8080}},
            "EnableTagOverride": True, "Meta": {"env": "prod"}, "Weights": {"Passing": 10, "Warning": 1},
            "Check": None,
            "Checks": [
                {"Name": "http", "Interval": "1m30s", "Timeout": "1s", "HTTP": "http://localhost/health",
                 "Header": {"X-A": ["1"]}, "Method": "HEAD", "TLSSkipVerify": True,
                 "SuccessBeforePassing": 2, "DeregisterCriticalServiceAfter": "1h30m0s"},
                {"ScriptArgs": ["/bin/check", "-q"], "Interval": "10s", "Status": "passing"},
                {"CheckID": "web-ttl", "TTL": "30s", "Notes": "kept last"},
            ],
        })

    def test_keys_match_as_consuls_loader_matches_them(self):
        """Without regard to case, and the aliases HookTranslateKeys knows."""
        self.write("web.json", {"Service": {"Name": "web", "ID": "w", "Enable_Tag_Override": True,
                                            "Check": {"ID": "c", "TTL": "5s", "ScriptArgs": ["x"],
                                                      "DeregisterCriticalServiceAfter": "1m"}}})
        self.assertEqual(self.run_command("web.json")[0], 0)
        body = json.loads(self.bodies()[0])
        self.assertEqual((body["ID"], body["EnableTagOverride"], body["Checks"]),
                         ("w", True, [{"CheckID": "c", "ScriptArgs": ["x"], "TTL": "5s",
                                       "DeregisterCriticalServiceAfter": "1m0s"}]))

    def test_camel_case_is_not_snake_case(self):
        """Underscores count: EnableTagOverride is no key of Consul's files, nor CheckID or script_args."""
        self.write("web.json", {"Service": {"Name": "web", "EnableTagOverride": True,
                                            "Check": {"CheckID": "c", "TTL": "5s", "script_args": ["x"]}}})
        self.assertRun(self.run_command("web.json"), 1, stderr=(
            b"Error: failed to parse web.json: 3 errors occurred:\n"
            b"\t* invalid config key service.EnableTagOverride\n"
            b"\t* invalid config key service.check.CheckID\n"
            b"\t* invalid config key service.check.script_args\n\n\n"))
        self.assertEqual(self.agent.requests, [])

    def test_services_list_and_several_files_in_order(self):
        self.write("a.json", {"service": {"name": "last-of-a"}, "services": [{"name": "one"}, {"name": "two"}]})
        self.write("b.json", {"services": [{"name": "three"}]})
        self.assertRun(self.run_command("a.json", "b.json"), 0, lines(
            "Registered service: one", "Registered service: two", "Registered service: last-of-a",
            "Registered service: three"))

    def test_other_agent_settings_are_ignored(self):
        self.write("agent.json", {"node_name": "x", "check": {"ttl": "5s"}, "service": {"name": "web"}})
        self.assertRun(self.run_command("agent.json"), 0, lines("Registered service: web"))

    def test_flags_beside_files_are_ignored(self):
        self.write("web.json", {"service": {"name": "web"}})
        self.assertEqual(self.run_command("-tag=ignored", "-port=1", "web.json")[0], 0)
        self.assertNotIn(b"ignored", self.bodies()[0])

    def test_directory(self):
        self.write("conf/b.json", {"service": {"name": "b"}})
        self.write("conf/a.json", {"service": {"name": "a"}})
        self.write("conf/notes.txt", "not a definition")
        self.write("conf/sub/c.json", {"service": {"name": "c"}})
        self.assertRun(self.run_command("conf"), 0, lines("Registered service: a", "Registered service: b"),
                       lines("skipping file conf/notes.txt, extension must be .hcl or .json, "
                             "or config format must be set"))

    def test_empty_file_registers_nothing(self):
        self.write("empty.json", "")
        self.assertRun(self.run_command("empty.json"), 0)
        self.assertEqual(self.agent.requests, [])

    def test_absolute_path(self):
        path = os.path.join(self.directory, self.write("web.json", {"service": {"name": "web"}}))
        self.assertRun(run_cli(["services", "register", path], self.agent), 0, lines("Registered service: web"))

    def test_file_errors(self):
        self.write("web.txt", {"service": {"name": "web"}})
        self.write("web.hcl", 'service { name = "web" }')
        self.write("broken.json", '{"service": {"name": "web",}}')
        self.write("list.json", "[]")
        self.write("spaces.json", "  \n")
        for argv, message in [
            (["missing.json"], "config: Open failed on missing.json. open missing.json: no such file or directory"),
            (["web.txt"], "file web.txt has unknown extension; must be .hcl or .json, or config format must be set"),
            (["web.hcl"], "failed to parse web.hcl: HCL is not supported by pyconsul; write the service "
                          "definitions as JSON"),
            (["broken.json"], "failed to parse broken.json: invalid character '}' looking for beginning of "
                              "object key string"),
            (["list.json"], "failed to parse list.json: json: cannot unmarshal array into Go value of type "
                            "map[string]interface {}"),
            (["spaces.json"], "failed to parse spaces.json: unexpected end of JSON input"),
        ]:
            self.assertRun(self.run_command(*argv), 1, stderr=("Error: %s\n" % message).encode())
        self.assertEqual(self.agent.requests, [])

    def test_every_file_is_opened_before_any_is_parsed(self):
        self.write("broken.json", "{")
        self.assertRun(self.run_command("broken.json", "missing.json"), 1, stderr=(
            b"Error: config: Open failed on missing.json. open missing.json: no such file or directory\n"))

    def test_values_of_the_wrong_type(self):
        self.write("web.json", {"service": {"name": "web", "port": "80", "tags": "rails", "meta": [1, 2],
                                            "enable_tag_override": "yes", "check": {"interval": 10}}})
        self.assertRun(self.run_command("web.json"), 1, stderr=(
            b"Error: failed to parse web.json: 5 error(s) decoding:\n\n"
            b"* 'service.check.interval' expected type 'string', got unconvertible type 'float64', value: '10'\n"
            b"* 'service.enable_tag_override' expected type 'bool', got unconvertible type 'string', value: 'yes'\n"
            b"* 'service.meta' expected a map, got 'slice'\n"
            b"* 'service.port' expected type 'int', got unconvertible type 'string', value: '80'\n"
            b"* 'service.tags': source data must be an array or slice, got string\n"))

    def test_decoder_leniencies(self):
        """A one-element list stands for its element; a fraction is cut to an integer."""
        self.write("web.json", {"service": [{"name": ["web"], "port": 80.9}]})
        self.assertEqual(self.run_command("web.json")[0], 0)
        self.assertEqual(json.loads(self.bodies()[0])["Port"], 80)

    def test_unknown_keys(self):
        self.write("web.json", {"servce": {}, "service": {"name": "web",
                                                         "checks": [{"ttl": "5s", "intervall": "1s"}]}})
        self.assertRun(self.run_command("web.json"), 1, stderr=(
            b"Error: failed to parse web.json: 2 errors occurred:\n"
            b"\t* invalid config key servce\n"
            b"\t* invalid config key service.checks[0].intervall\n\n\n"))

    def test_bad_durations(self):
        self.write("web.json", {"service": {"name": "web", "checks": [{"id": "c1", "interval": "10"},
                                                                     {"ttl": "soon"}]}})
        self.assertRun(self.run_command("web.json"), 1, stderr=(
            b"Error: 2 errors occurred:\n"
            b'\t* check[c1].interval: invalid duration: "10": time: missing unit in duration "10"\n'
            b'\t* check[].ttl: invalid duration: "soon": time: invalid duration "soon"\n\n\n'))

    def test_builder_errors(self):
        """What Consul's config builder refuses, all of it, worded as there."""
        self.write("web.json", {"service": {"name": "web", "meta": {"consul-x": "1"}, "weights": {"passing": 0},
                                            "socket_path": "/run/web.sock", "port": 80}})
        self.assertRun(self.run_command("web.json"), 1, stderr=(
            b"Error: 3 errors occurred:\n"
            b"\t* invalid meta for service web: Couldn't load metadata pair ('consul-x', '1'): "
            b"Key prefix 'consul-' is reserved for internal use\n"
            b"\t* Invalid weight definition for service web: Passing must be greater than 0\n"
            b"\t* service web cannot have both socket path /run/web.sock and address/port\n\n\n"))

    def test_settings_pyconsul_does_not_support_are_ignored_with_a_warning(self):
        """Connect's, and those of Consul Enterprise and of later versions, as the agent's files."""
        self.write("web.json", {"service": {"name": "web", "connect": {"sidecar_service": {}}, "namespace": "ns",
                                            "kind": "connect-proxy", "check": {"ttl": "5s", "os_service": "x"}}})
        self.assertRun(self.run_command("web.json"), 0, lines("Registered service: web"), lines(
            "web.json: 'service.connect' is a Consul setting pyconsul does not support; it is ignored",
            "web.json: 'service.namespace' is a Consul setting pyconsul does not support; it is ignored",
            "web.json: 'service.check.os_service' is a Consul setting pyconsul does not support; it is ignored",
            "web.json: 'service.kind' is a Consul setting pyconsul does not support; it is ignored"))
        self.assertEqual(self.bodies(), [
            b'{"Name":"web","Weights":{"Passing":1,"Warning":1},"Check":null,"Checks":[{"TTL":"5s"}]}\n'])

    def test_what_only_the_agent_checks_is_left_to_it(self):
        """Consul's loader takes a check without an interval, a bad status or a
        bad tagged address; the agent it is sent to decides."""
        self.write("web.json", {"service": {"name": "web", "address": "10.0.0.5",
                                            "tagged_addresses": {"lan_ipv4": {"address": "::1"}},
                                            "checks": [{"http": "http://localhost/", "status": "up",
                                                        "failures_before_warning": 2}]}})
        self.assertEqual(self.run_command("web.json")[0], 0)
        self.assertEqual(json.loads(self.bodies()[0]), {
            "Name": "web", "Address": "10.0.0.5", "TaggedAddresses": {"lan_ipv4": {"Address": "::1", "Port": 0}},
            "Weights": {"Passing": 1, "Warning": 1}, "Check": None,
            "Checks": [{"HTTP": "http://localhost/", "Status": "up", "FailuresBeforeWarning": 2}]})

    def test_the_agent_refuses_a_nameless_service(self):
        self.write("web.json", {"service": {"port": 80}})
        self.assertRun(self.run_command("web.json"), 1, stderr=(
            b'Error registering service "": Unexpected response code: 400 (Missing service name)\n'))

    def test_a_failure_stops_at_that_service(self):
        self.write("two.json", {"services": [{"name": "first"}, {"port": 1}, {"name": "third"}]})
        self.assertRun(self.run_command("two.json"), 1, lines("Registered service: first"),
                       b'Error registering service "": Unexpected response code: 400 (Missing service name)\n')
        self.assertEqual(sorted(self.agent.local.services), ["first"])


class DeregisterTests(ServicesTestCase):
    command = ("services", "deregister")

    def setUp(self):
        super().setUp()
        self.agent.local.services["web"] = {"Name": "web"}

    def test_by_id(self):
        self.assertRun(self.run_command("-id=web"), 0, lines("Deregistered service: web"))
        self.assertEqual(self.paths(), [("PUT", "/v1/agent/service/deregister/web")])
        self.assertEqual(self.agent.local.services, {})

    def test_an_unknown_id_is_no_error(self):
        """Consul 1.10's agent answers 200 for a service it does not have."""
        self.assertRun(self.run_command("-id=nope"), 0, lines("Deregistered service: nope"))

    def test_id_is_escaped_in_the_path(self):
        self.run_command("-id=a b/c")
        self.assertEqual(self.paths(), [("PUT", "/v1/agent/service/deregister/a%20b/c")])

    def test_files(self):
        self.write("web.json", {"services": [{"name": "web", "id": "web-1"}, {"name": "db"}, {"port": 1}]})
        self.assertRun(self.run_command("web.json"), 0,
                       lines("Deregistered service: web-1", "Deregistered service: db"))
        self.assertEqual(self.agent.local.deregistered, ["web-1", "db"])

    def test_needs_files_or_an_id(self):
        self.assertRun(self.run_command(), 1, stderr=b"Service deregistration requires at least one argument or -id.\n")
        self.write("web.json", {"service": {"name": "web"}})
        self.assertRun(self.run_command("-id=web", "web.json"), 1,
                       stderr=b"Service deregistration requires arguments or -id, not both.\n")
        self.assertEqual(self.agent.requests, [])

    def test_file_errors(self):
        self.assertRun(self.run_command("missing.json"), 1, stderr=(
            b"Error: config: Open failed on missing.json. open missing.json: no such file or directory\n"))

    def test_the_agent_refuses(self):
        """Consul says "registering" here too, with the service's name (empty for -id)."""
        denied = answering(403, b"Permission denied")
        self.assertRun(self.run_command("-id=web", agent=denied), 1, stderr=(
            b'Error registering service "": Unexpected response code: 403 (Permission denied)\n'))
        self.write("web.json", {"service": {"name": "web"}})
        self.assertRun(self.run_command("web.json", agent=denied), 1, stderr=(
            b'Error registering service "web": Unexpected response code: 403 (Permission denied)\n'))

    def test_unreachable_agent(self):
        self.assertRun(self.run_command("-id=web", agent=refusing_agent()), 1, stderr=(
            b'Error registering service "": Put "http://127.0.0.1:8500/v1/agent/service/deregister/web": '
            b"dial tcp 127.0.0.1:8500: connect: connection refused\n"))

    def test_flags(self):
        self.run_command("-id=web", "-datacenter=dc1", "-namespace=n")
        self.assertEqual(self.paths(), [("PUT", "/v1/agent/service/deregister/web?dc=dc1&ns=n")])
        self.assertUsageError(self.run_command("-name=web"), "flag provided but not defined: -name")
        status, stdout, _ = self.run_command("-h")
        self.assertEqual(status, 0)
        self.assertTrue(stdout.startswith(b"Usage: pyconsul services deregister [options] [FILE...]\n"))
        self.assertIn(b"\n  -id=<string>\n", stdout)


class GroupTests(ServicesTestCase):
    command = ("services",)

    def test_without_a_subcommand(self):
        status, stdout, stderr = self.run_command()
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"Usage: pyconsul services <subcommand> [options] [args]\n"))
        self.assertIn(b"\n    deregister    ", stderr)
        self.assertIn(b"\n    register      ", stderr)

    def test_listed_by_pyconsul(self):
        status, stdout, _ = run_cli([], self.agent)
        for name in (b"catalog", b"maint", b"reload", b"services"):
            self.assertIn(b"\n    " + name + b" ", stdout)
