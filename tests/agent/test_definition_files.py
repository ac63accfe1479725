"""Service and check definitions in agent config files."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.definitions import (
    DefinitionFileError, ServiceAddress, Weights, load_services, read_definitions)
from pyconsul.config import ConfigError
from pyconsul.golang.duration import MINUTE, SECOND


def read(values):
    return read_definitions(values, "web.json")


class ServiceFileTests(SynchronousTestCase):
    def refused(self, values, message):
        with self.assertRaises(ConfigError) as caught:
            read(values)
        self.assertEqual(str(caught.exception), message)

    def test_the_users_web_json(self):
        found = read({"service": {"name": "web", "tags": ["rails"], "port": 80}})
        (web,) = found.services
        self.assertEqual((web.id, web.name, web.tags, web.port, web.weights), ("web", "web", ("rails",), 80, Weights()))
        self.assertEqual((found.checks, found.warnings), ((), ()))

    def test_services_list_then_service(self):
        found = read({"services": [{"name": "a"}, {"name": "b", "id": "b1"}], "service": {"name": "c"}})
        self.assertEqual([s.id for s in found.services], ["a", "b1", "c"])

    def test_every_service_key(self):
        (service,) = read({"service": {
            "kind": "", "id": "web-1", "name": "web", "tags": ["v1"], "address": "10.0.0.5", "port": 8080,
            "meta": {"version": "1"}, "enable_tag_override": True, "token": "t",
            "tagged_addresses": {"lan": {"address": "10.0.0.5", "port": 8080}},
            "weights": {"passing": 10, "warning": 1},
        }}).services
        self.assertEqual(dict(service.tagged_addresses), {
            "lan": ServiceAddress("10.0.0.5", 8080), "lan_ipv4": ServiceAddress("10.0.0.5", 8080),
            "wan_ipv4": ServiceAddress("10.0.0.5", 8080)})
        self.assertEqual((service.meta, service.enable_tag_override, service.token, service.weights),
                         ((("version", "1"),), True, "t", Weights(10, 1)))

    def test_keys_match_without_case(self):
        (service,) = read({"Service": {"Name": "web", "Port": 80, "ENABLE_TAG_OVERRIDE": True}}).services
        self.assertEqual((service.name, service.port, service.enable_tag_override), ("web", 80, True))

    def test_as_mapstructure_decodes(self):
        # A one-element list stands for its element (HookWeakDecodeFromSlice),
        # and a fraction is cut off an integer.
        (service,) = read({"service": [{"name": ["web"], "port": 80.9, "tags": ["one"],
                                        "check": [{"ttl": ["5s"]}], "weights": [{"passing": 2.5}]}]}).services
        self.assertEqual((service.name, service.port, service.tags, service.weights),
                         ("web", 80, ("one",), Weights(2, 1)))
        self.assertEqual(service.checks[0].ttl, 5 * SECOND)

    def test_checks_come_before_check(self):
        # Consul's builder appends a service's checks first, then its check.
        (service,) = read({"service": {
            "name": "web", "check": {"id": "web-http", "name": "HTTP", "http": "http://localhost:8080/health",
                                     "method": "GET", "header": {"X-A": ["b"]}, "interval": "10s", "timeout": "1s",
                                     "deregister_critical_service_after": "90m"},
            "checks": [{"args": ["/bin/check.sh"], "interval": "30s"}, {"tcp": "localhost:8080", "interval": "10s"},
                       {"ttl": "30s"}]}}).services
        ids = [h.check_id for h, _ in service.health_checks("n1")]
        self.assertEqual(ids, ["service:web:1", "service:web:2", "service:web:3", "web-http"])
        http = service.checks[3]
        self.assertEqual((http.header, http.timeout, http.deregister_critical_service_after),
                         ((("X-A", ("b",)),), SECOND, 90 * MINUTE))
        self.assertEqual({c.output_max_size for c in service.checks}, {4096})

    def test_check_aliases(self):
        (service,) = read({"service": {"name": "web", "check": {
            "ScriptArgs": ["x"], "Interval": "5s", "DockerContainerID": "d", "TLSSkipVerify": True,
            "DeregisterCriticalServiceAfter": "2m"}}}).services
        check = service.checks[0]
        self.assertEqual((check.script_args, check.docker_container_id, check.tls_skip_verify,
                          check.deregister_critical_service_after), (("x",), "d", True, 2 * MINUTE))

    def test_connect_settings_are_ignored_with_a_warning(self):
        found = read({"service": {"name": "web", "connect": {"sidecar_service": {}}, "proxy": {}}})
        self.assertEqual(found.warnings, (
            "web.json: 'service.connect' is a Consul setting pyconsul does not support; it is ignored",
            "web.json: 'service.proxy' is a Consul setting pyconsul does not support; it is ignored"))

    def test_refusals(self):
        self.refused({"service": {"port": 80}}, "web.json: 'service': Service name missing")
        self.refused({"service": {"name": "w", "port": "80"}},
                     "web.json: 'service.port' must be an integer, not \"80\"")
        self.refused({"service": {"name": "w", "colour": 1}}, "web.json: unknown configuration key 'service.colour'")
        self.refused({"services": {"name": "w"}}, "web.json: 'services' must be a list of objects")
        self.refused({"service": ["w"]}, "web.json: 'service' must be an object")
        self.refused({"service": {"name": "w", "meta": {"consul-a": "b"}}},
                     "web.json: 'service.meta': invalid meta for service w: Couldn't load metadata pair "
                     "('consul-a', 'b'): Key prefix 'consul-' is reserved for internal use")
        self.refused({"service": {"name": "w", "weights": {"passing": 0}}},
                     "web.json: 'service.weights': Invalid weight definition for service w: "
                     "Passing must be greater than 0")
        self.refused({"service": {"name": "w", "socket_path": "/s", "port": 1}},
                     "web.json: 'service': service w cannot have both socket path /s and address/port")
        self.refused({"service": {"name": "w", "tagged_addresses": {"wan_ipv4": {"address": "x"}}}},
                     "web.json: 'service.tagged_addresses': Service tagged address \"wan_ipv4\" must be a valid "
                     "ipv4 address")

    def test_check_refusals(self):
        def check(definition, message):
            self.refused({"service": {"name": "w", "checks": [definition]}}, message)

        check({"http": "http://x/"},
              "web.json: 'service.checks[0]': Interval must be > 0 for Script, HTTP, H2PING, or TCP checks")
        check({}, "web.json: 'service.checks[0]': TTL must be > 0 for TTL checks")
        check({"ttl": "abc"}, "web.json: 'service.checks[0].ttl': time: invalid duration \"abc\"")
        check({"ttl": 30}, "web.json: 'service.checks[0].ttl' must be a duration, not 30")
        check({"ttl": "1s", "status": "up"},
              "web.json: 'service.checks[0]': Status for checks must 'passing', 'warning', 'critical'")
        check({"ttl": "1s", "header": {"a": "b"}},
              "web.json: 'service.checks[0].header.a' must be a list of strings, not \"b\"")
        check({"ttl": "1s", "CheckID": "x"}, "web.json: unknown configuration key 'service.checks[0].CheckID'")

    def test_newer_check_keys_are_ignored_with_a_warning(self):
        found = read({"service": {"name": "w", "check": {"ttl": "1s", "disable_redirects": True}}})
        self.assertEqual(found.warnings, (
            "web.json: 'service.check.disable_redirects' is a Consul setting pyconsul does not support; "
            "it is ignored",))


class NodeCheckFileTests(SynchronousTestCase):
    def test_node_checks(self):
        found = read({"checks": [{"name": "mem", "ttl": "1m"}, {"id": "disk", "args": ["df"], "interval": "1m",
                                                                "service_id": "web"}],
                      "check": {"name": "load", "ttl": "10s", "serviceid": "db"}})
        self.assertEqual([(c.id, c.name, c.service_id) for c in found.checks],
                         [("mem", "mem", ""), ("disk", "", "web"), ("load", "load", "db")])

    def test_a_node_check_needs_an_id_or_a_name(self):
        with self.assertRaises(ConfigError) as caught:
            read({"check": {"ttl": "10s"}})
        self.assertEqual(str(caught.exception), "web.json: 'check': CheckID missing")


class MapstructureTests(SynchronousTestCase):
    def test_nulls(self):
        # A null key is not given; a null in a list or a map is the zero value.
        (service,) = read({"service": {"name": "web", "port": None, "tags": ["a", None], "meta": {"k": None},
                                       "checks": [{"ttl": "1s", "header": {"X": None}}]}}).services
        self.assertEqual((service.port, service.tags, service.meta), (0, ("a", ""), (("k", ""),)))
        self.assertEqual(service.checks[0].header, (("X", ()),))

    def test_the_canonical_key_wins_over_an_alias(self):
        (check,) = read({"check": {"name": "c", "ttl": "1s", "ServiceID": "a", "service_id": "b"}}).checks
        self.assertEqual(check.service_id, "b")
        (check,) = read({"check": {"name": "c", "ttl": "1s", "service_id": "b", "serviceid": "a"}}).checks
        self.assertEqual(check.service_id, "b")


class ConsulWordingTests(SynchronousTestCase):
    """Each refusal also carries Consul's loader's words for its step."""

    def consul(self, values):
        with self.assertRaises(DefinitionFileError) as caught:
            read(values)
        return caught.exception.consul

    def test_decoding(self):
        self.assertEqual(self.consul({"service": {"name": "w", "port": "80", "tags": [1, "a"]}}), (
            "failed to parse web.json: 2 error(s) decoding:\n\n"
            "* 'service.port' expected type 'int', got unconvertible type 'string', value: '80'\n"
            "* 'service.tags[0]' expected type 'string', got unconvertible type 'float64', value: '1'"))
        self.assertEqual(self.consul({"Service": {"Name": "w", "Checks": [{"Colour": 1}], "Tagged_Addresses": {
            "lan": {"Floor": 2}}}}), (
            "failed to parse web.json: 2 errors occurred:\n"
            "\t* invalid config key service.checks[0].Colour\n"
            "\t* invalid config key service.tagged_addresses[lan].Floor\n\n"))

    def test_building(self):
        self.assertEqual(self.consul({"service": {"name": "w", "checks": [{"id": "c", "ttl": "1"}],
                                                  "weights": {"warning": -1}}}), (
            "2 errors occurred:\n"
            "\t* check[c].ttl: invalid duration: \"1\": time: missing unit in duration \"1\"\n"
            "\t* Invalid weight definition for service w: Warning must be greater or equal than 0\n\n"))

    def test_adding(self):
        self.assertEqual(self.consul({"service": {"port": 80}}), "Service name missing")


class LoadServicesTests(SynchronousTestCase):
    """Consul's loader, as ``consul services register`` runs it: decoding and
    building, not what the agent checks when it adds the services."""

    def load(self, *sources):
        return load_services(list(sources))

    def failed(self, sources, consul):
        with self.assertRaises(DefinitionFileError) as caught:
            self.load(*sources)
        self.assertEqual(caught.exception.consul, consul)

    def test_services_as_the_files_give_them(self):
        services, warnings = self.load(
            ("a.json", {"service": {"address": "10.0.0.5", "checks": [{"http": "x"}]}, "node_name": "n"}),
            ("b.json", {"services": [{"name": "b", "id": "b1"}], "check": {"ttl": "1s"}}))
        self.assertEqual([(s.id, s.name, s.tagged_addresses) for s in services], [("", "", ()), ("b1", "b", ())])
        self.assertEqual(services[0].checks[0].http, "x")
        self.assertEqual(warnings, [])

    def test_other_keys_of_an_agent_config(self):
        self.failed([("a.json", {"datacenter": "dc1", "acl": {}, "servce": {}})],
                    "failed to parse a.json: 1 error occurred:\n\t* invalid config key servce\n\n")

    def test_the_first_file_that_does_not_decode_stops_the_load(self):
        self.failed([("a.json", {"service": {"port": "x"}}), ("b.json", {"service": {"colour": 1}})],
                    "failed to parse a.json: 1 error(s) decoding:\n\n"
                    "* 'service.port' expected type 'int', got unconvertible type 'string', value: 'x'")

    def test_building_problems_of_all_files_node_checks_first(self):
        self.failed([("a.json", {"service": {"name": "a", "check": {"ttl": "x"}}}),
                     ("b.json", {"check": {"id": "n", "interval": "y"}})], (
            "2 errors occurred:\n"
            "\t* check[n].interval: invalid duration: \"y\": time: invalid duration \"y\"\n"
            "\t* check[].ttl: invalid duration: \"x\": time: invalid duration \"x\"\n\n"))


class RegistrationTests(SynchronousTestCase):
    def test_the_api_struct_in_gos_field_order(self):
        (service,), _ = load_services([("web.json", {"service": {
            "name": "web", "id": "w1", "port": 80, "address": "10.0.0.5", "tags": ["a"], "meta": {"b": "2", "a": "1"},
            "enable_tag_override": True, "tagged_addresses": {"wan": {"address": "x"}}, "token": "t",
            "checks": [{"ttl": "90s", "notes": "n", "id": "c", "output_max_size": 10,
                        "header": {"B": ["2"], "A": ["1"]}}]}})])
        registration = service.to_registration()
        self.assertEqual(list(registration), ["ID", "Name", "Tags", "Port", "Address", "TaggedAddresses",
                                              "EnableTagOverride", "Meta", "Weights", "Check", "Checks"])
        self.assertEqual(list(registration["Meta"]), ["a", "b"])
        self.assertEqual(registration["Checks"], [{"CheckID": "c", "TTL": "1m30s", "Header": {"A": ["1"], "B": ["2"]},
                                                   "Notes": "n"}])
        self.assertEqual(list(registration["Checks"][0]), ["CheckID", "TTL", "Header", "Notes"])
        bare, _ = load_services([("web.json", {"service": {"name": "web"}})])
        self.assertEqual(bare[0].to_registration(), {"Name": "web", "Weights": {"Passing": 1, "Warning": 1},
                                                     "Check": None, "Checks": None})
