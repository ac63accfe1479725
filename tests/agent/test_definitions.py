"""Service and check definitions over HTTP: what Consul 1.10 accepts, derives
and refuses, with its exact texts."""

import json

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.definitions import (
    ALIAS, DOCKER, GRPC, H2PING, HTTP, SCRIPT, TCP, TTL, CheckDefinition, DefinitionError,
    ServiceAddress, Weights, parse_check_register, parse_check_update, parse_service_register,
    registered_check, script_check_refusal)
from pyconsul.agent.definitions.checks import CHECK_DEFINITION_AUX, CHECK_TYPE_AUX
from pyconsul.agent.definitions.services import SERVICE_AUX
from pyconsul.golang.duration import MINUTE, SECOND


def _body(value):
    return value if isinstance(value, bytes) else json.dumps(value).encode()


class _Refusals:
    def assertRefused(self, parse, body, message, status=400):
        with self.assertRaises(DefinitionError) as caught:
            parse(_body(body))
        self.assertEqual((caught.exception.status, caught.exception.message), (status, message))


def service(body):
    return parse_service_register(_body(body))


class ServiceDecodeTests(SynchronousTestCase, _Refusals):
    def refused(self, body, message, status=400):
        self.assertRefused(parse_service_register, body, message, status)

    def decode_failed(self, body, error):
        self.refused(body, "Request decode failed: " + error)

    def test_bodies_that_are_not_json(self):
        self.decode_failed(b"", "EOF")
        self.decode_failed(b"  \n", "EOF")
        self.decode_failed(b'{"Name": "web"', "unexpected EOF")
        self.decode_failed(b'{"Name": web}', "invalid character 'w' looking for beginning of value")
        self.decode_failed(b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value")

    def test_only_the_first_value_is_read(self):
        # json.Decoder stops after one value; what follows is never looked at.
        self.assertEqual(service(b'{"Name": "web"} {garbage').name, "web")
        self.assertEqual(service(b'{"Name": "web"}}').name, "web")

    def test_null_and_other_top_level_values(self):
        self.refused(b"null", "Missing service name")
        self.decode_failed(b"[1]", "json: cannot unmarshal array into Go value of type " + SERVICE_AUX.go_type)
        self.decode_failed(b'"web"', "json: cannot unmarshal string into Go value of type " + SERVICE_AUX.go_type)

    def test_unknown_fields(self):
        self.decode_failed({"Name": "web", "Namespace": "x"}, 'json: unknown field "Namespace"')
        self.decode_failed({"Name": "web", "socketpath ": 1}, 'json: unknown field "socketpath "')
        # Only these two snake_case aliases exist for services.
        self.decode_failed({"Name": "web", "socket_path": "/s"}, 'json: unknown field "socket_path"')
        self.decode_failed({"Name": "web", "Weights": {"Critical": 1}}, 'json: unknown field "Critical"')

    def test_type_errors_name_the_field_as_go_does(self):
        into = "json: cannot unmarshal %s into Go struct field %s of type %s"
        cases = [
            ({"Name": 5}, into % ("number", ".Name", "string")),
            ({"Name": "w", "Port": "80"}, into % ("string", ".Port", "int")),
            ({"Name": "w", "Port": 1.5}, into % ("number 1.5", ".Port", "int")),
            ({"Name": "w", "Port": 1e30}, into % ("number 1e+30", ".Port", "int")),
            ({"Name": "w", "Tags": "v1"}, into % ("string", ".Tags", "[]string")),
            ({"Name": "w", "Tags": [1]}, into % ("number", ".Tags", "string")),
            ({"Name": "w", "Meta": {"a": 1}}, into % ("number", ".Meta", "string")),
            ({"Name": "w", "Meta": []}, into % ("array", ".Meta", "map[string]string")),
            ({"Name": "w", "EnableTagOverride": "yes"}, into % ("string", ".EnableTagOverride", "bool")),
            ({"Name": "w", "Weights": 3}, into % ("number", ".Weights", "structs.Weights")),
            ({"Name": "w", "Weights": {"Passing": "1"}}, into % ("string", "Weights.Weights.Passing", "int")),
            ({"Name": "w", "TaggedAddresses": {"lan": {"Port": "1"}}},
             into % ("string", "ServiceAddress.TaggedAddresses.Port", "int")),
            ({"Name": "w", "Kind": 1}, into % ("number", ".Kind", "structs.ServiceKind")),
            ({"Name": "w", "Checks": {}}, into % ("object", ".Checks", "structs.CheckTypes")),
            # A mismatch inside a check is renamed after the field holding it.
            ({"Name": "w", "Check": {"HTTP": 5}}, into % ("number", ".Check", "string")),
            ({"Name": "w", "Checks": [{"TTL": "1s"}, {"Notes": []}]}, into % ("array", ".Checks", "string")),
            ({"Name": "w", "Check": []}, into % ("array", ".Check", CHECK_TYPE_AUX.go_type)),
        ]
        for body, error in cases:
            self.decode_failed(body, error)

    def test_first_error_wins_but_a_check_failure_ends_the_decode(self):
        self.decode_failed({"Port": "x", "Tags": 1, "Name": "w"},
                           "json: cannot unmarshal string into Go struct field .Port of type int")
        self.decode_failed({"A": 1, "Port": "x"}, 'json: unknown field "A"')
        # The check's own decode fails and returns its error at once, ahead
        # of the unknown field saved before it.
        self.decode_failed({"A": 1, "Check": {"TTL": "soon"}}, 'time: invalid duration "soon"')
        self.decode_failed({"A": 1, "Check": {"TTL": "1s"}}, 'json: unknown field "A"')

    def test_keys_match_case_insensitively(self):
        parsed = service({"name": "web", "ID": "w1", "PORT": 80, "tAgS": ["a"], "check": {"ttl": "30s"}})
        self.assertEqual((parsed.id, parsed.port, parsed.tags), ("w1", 80, ("a",)))
        self.assertEqual(parsed.checks[0].ttl, 30 * SECOND)
        # Go's folding lets the Kelvin sign stand for k.
        self.assertEqual(service({"Name": "w", "\u212aind": "x"}).kind, "x")
        # An exact match beats a folded one; the last value given wins.
        self.assertEqual(service({"name": "a", "Name": "b", "NAME": "c"}).name, "c")

    def test_snake_case_aliases(self):
        parsed = service({"Name": "w", "enable_tag_override": True,
                          "tagged_addresses": {"wan": {"address": "1.2.3.4", "port": 80}}})
        self.assertTrue(parsed.enable_tag_override)
        self.assertEqual(dict(parsed.tagged_addresses), {"wan": ServiceAddress("1.2.3.4", 80)})
        both = service({"Name": "w", "TaggedAddresses": {"lan": {"Address": "10.0.0.1"}},
                        "tagged_addresses": {"wan": {"Address": "1.2.3.4"}}})
        self.assertEqual(dict(both.tagged_addresses), {"lan": ServiceAddress("10.0.0.1", 0)})

    def test_nulls(self):
        parsed = service({"Name": "w", "Port": None, "Tags": None, "Meta": {"a": None}, "Weights": None,
                          "Check": None, "Checks": None, "Proxy": None, "Connect": None})
        self.assertEqual((parsed.port, parsed.tags, parsed.meta, parsed.checks), (0, (), (("a", ""),), ()))
        self.assertEqual(parsed.weights, Weights(1, 1))


class ServiceValidationTests(SynchronousTestCase, _Refusals):
    def refused(self, body, message, status=400):
        self.assertRefused(parse_service_register, body, message, status)

    def test_name_and_address(self):
        self.refused({"ID": "x", "Port": 1}, "Missing service name")
        for address in ("0.0.0.0", "::", "[::]"):
            self.refused({"Name": "w", "Address": address}, "Invalid service address")

    def test_weights(self):
        self.refused({"Name": "w", "Weights": {}}, "Invalid Weights: Passing must be greater than 0")
        self.refused({"Name": "w", "Weights": {"Passing": 1, "Warning": -1}},
                     "Invalid Weights: Warning must be greater or equal than 0")
        self.refused({"Name": "w", "Weights": {"Passing": 65536}},
                     "Invalid Weights: DNS Weight must be between 0 and 65535")
        # A field left out is 0, as in Go.
        self.assertEqual(service({"Name": "w", "Weights": {"Passing": 3}}).weights, Weights(3, 0))

    def test_meta(self):
        def meta(pairs, problem):
            self.refused({"Name": "w", "Meta": pairs}, "Invalid Service Meta: " + problem)

        meta({"consul-x": "v"}, "Couldn't load metadata pair ('consul-x', 'v'): "
                                "Key prefix 'consul-' is reserved for internal use")
        meta({"a b": "v"}, "Couldn't load metadata pair ('a b', 'v'): Key contains invalid characters")
        meta({"": "v"}, "Couldn't load metadata pair ('', 'v'): Key cannot be blank")
        meta({"k" * 129: "v"}, "Couldn't load metadata pair ('%s', 'v'): Key is too long (limit: 128 characters)"
             % ("k" * 129))
        meta({"k": "v" * 513}, "Couldn't load metadata pair ('k', '%s'): Value is too long (limit: 512 characters)"
             % ("v" * 513))
        meta({"k%d" % n: "" for n in range(65)}, "Node metadata cannot contain more than 64 key/value pairs")
        self.assertEqual(len(service({"Name": "w", "Meta": {"k%d" % n: "" for n in range(64)}}).meta), 64)

    def test_checks(self):
        self.refused({"Name": "w", "Check": {"HTTP": "http://x/"}},
                     "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks")
        self.refused({"Name": "w", "Checks": [{"TTL": "1s"}, {"Name": "none"}]},
                     "Invalid check: TTL must be > 0 for TTL checks")
        self.refused({"Name": "w", "Checks": [None]}, "Invalid check: TTL must be > 0 for TTL checks")
        self.refused({"Name": "w", "Check": {"TTL": "1s", "Status": "ok"}},
                     "Status for checks must 'passing', 'warning', 'critical'")
        # A Check that sets nothing is no check at all.
        self.assertEqual(service({"Name": "w", "Check": {}}).checks, ())
        self.assertEqual(service({"Name": "w", "Check": {"Name": ""}}).checks, ())

    def test_tagged_addresses_are_checked_by_the_agent(self):
        # AddService's refusal: Consul answers it with a 500.
        self.refused({"Name": "w", "TaggedAddresses": {"lan_ipv4": {"Address": "::1"}}},
                     'Service tagged address "lan_ipv4" must be a valid ipv4 address', 500)
        self.refused({"Name": "w", "TaggedAddresses": {"lan_ipv6": {"Address": "10.0.0.1"}}},
                     'Service tagged address "lan_ipv6" must be a valid ipv6 address', 500)
        # Consul never checks wan_ipv6.
        parsed = service({"Name": "w", "TaggedAddresses": {"wan_ipv6": {"Address": "x"}}})
        self.assertEqual(dict(parsed.tagged_addresses), {"wan_ipv6": ServiceAddress("x", 0)})

    def test_connect_is_refused_clearly(self):
        message = "pyconsul does not support Connect: a service %s"
        self.refused({"Name": "w", "Kind": "connect-proxy"},
                     message % "of kind connect-proxy cannot be registered")
        self.refused({"Name": "w", "Proxy": {"DestinationServiceName": "db"}}, message % "cannot set Proxy")
        self.refused({"Name": "w", "Connect": {"SidecarService": {}}}, message % "cannot set Connect")
        self.refused({"Name": "w", "Connect": {"Native": True}}, message % "cannot set Connect")
        # Asking for nothing is fine: clients send zero values.
        self.assertEqual(service({"Name": "w", "Proxy": {}, "Connect": {"Native": False}}).name, "w")


class ServiceDerivationTests(SynchronousTestCase):
    def test_defaults(self):
        parsed = service({"Name": "web"})
        self.assertEqual((parsed.id, parsed.weights, parsed.tagged_addresses), ("web", Weights(1, 1), ()))

    def test_tagged_addresses_from_the_address(self):
        parsed = service({"Name": "w", "Address": "10.0.0.5", "Port": 80,
                          "TaggedAddresses": {"wan_ipv4": {"Address": "1.2.3.4", "Port": 8080}}})
        self.assertEqual(dict(parsed.tagged_addresses), {"lan_ipv4": ServiceAddress("10.0.0.5", 80),
                                                         "wan_ipv4": ServiceAddress("1.2.3.4", 8080)})
        v6 = service({"Name": "w", "Address": "fd00::5", "Port": 80})
        self.assertEqual(dict(v6.tagged_addresses), {"lan_ipv6": ServiceAddress("fd00::5", 80),
                                                     "wan_ipv6": ServiceAddress("fd00::5", 80)})
        self.assertEqual(service({"Name": "w", "Address": "web.local"}).tagged_addresses, ())

    def test_check_ids_and_names(self):
        parsed = service({"Name": "web", "ID": "w1", "Check": {"TTL": "5s"},
                          "Checks": [{"TTL": "5s", "CheckID": "own", "Name": "mine"}, {"TTL": "5s"}]})
        shown = [(h.check_id, h.name) for h, _ in parsed.health_checks("n1")]
        self.assertEqual(shown, [("service:w1:1", "Service 'web' check"), ("own", "mine"),
                                 ("service:w1:3", "Service 'web' check")])
        one = service({"Name": "web", "Checks": [{"TTL": "5s"}]})
        self.assertEqual([h.check_id for h, _ in one.health_checks("n1")], ["service:web"])

    def test_service_checks_show_interval_only_when_set(self):
        parsed = service({"Name": "web", "Tags": ["a"], "Check": {
            "HTTP": "http://x/", "Interval": "10s", "Timeout": "1500ms", "Status": "passing", "Notes": "n"}})
        (health, check), = parsed.health_checks("n1")
        self.assertEqual(health.to_json(), {
            "Node": "n1", "CheckID": "service:web", "Name": "Service 'web' check", "Status": "passing",
            "Notes": "n", "Output": "", "ServiceID": "web", "ServiceName": "web", "ServiceTags": ["a"],
            "Type": "http", "Interval": "10s", "Timeout": "1.5s", "ExposedPort": 0, "Definition": {},
            "CreateIndex": 0, "ModifyIndex": 0})
        self.assertEqual(check.interval, 10 * SECOND)


class CheckRegisterTests(SynchronousTestCase, _Refusals):
    def refused(self, body, message, status=400):
        self.assertRefused(parse_check_register, body, message, status)

    def check(self, body):
        return parse_check_register(_body(body))

    def test_the_recorded_refusal_of_CheckID(self):
        self.refused({"Name": "mem", "CheckID": "mem", "TTL": "30s"},
                     'Request decode failed: json: unknown field "CheckID"')
        self.assertEqual(self.check({"Name": "mem", "ID": "m1", "TTL": "30s"}).id, "m1")

    def test_aliases_check_register_accepts(self):
        parsed = self.check({"name": "c", "interval": "10s", "script_args": ["/bin/true"], "service_id": "web",
                             "docker_container_id": "d", "tls_skip_verify": True, "tls_server_name": "s",
                             "grpc_use_tls": True, "deregister_critical_service_after": "90m"})
        self.assertEqual((parsed.script_args, parsed.service_id, parsed.docker_container_id),
                         (("/bin/true",), "web", "d"))
        self.assertEqual((parsed.tls_skip_verify, parsed.tls_server_name, parsed.grpc_use_tls), (True, "s", True))
        self.assertEqual(parsed.deregister_critical_service_after, 90 * MINUTE)
        self.assertEqual(self.check({"Name": "c", "Interval": "1s", "Args": ["a"]}).script_args, ("a",))
        # The canonical spelling wins over the aliases.
        both = self.check({"Name": "c", "Interval": "1s", "ScriptArgs": ["x"], "args": ["y"], "ServiceID": "a",
                           "service_id": "b"})
        self.assertEqual((both.script_args, both.service_id), (("x",), "a"))

    def test_aliases_it_does_not(self):
        for key in ("alias_node", "success_before_passing", "failures_before_critical", "output_max_size",
                    "CheckID", "script", "udp"):
            self.refused({"Name": "c", "TTL": "1s", key: "x"}, 'Request decode failed: json: unknown field "%s"' % key)

    def test_durations_as_strings_or_numbers(self):
        parsed = self.check({"Name": "c", "HTTP": "http://x/", "Interval": 2e9, "Timeout": 1500000000.7})
        self.assertEqual((parsed.interval, parsed.timeout), (2 * SECOND, 1500000000))
        # Other values are ignored, as Consul ignores them.
        self.assertEqual(self.check({"Name": "c", "TTL": "1s", "Timeout": True}).timeout, 0)
        self.refused({"Name": "c", "TTL": "1 s"}, 'Request decode failed: time: unknown unit " s" in duration "1 s"')
        self.refused({"Name": "c", "TTL": "1", "Interval": "x"}, 'Request decode failed: time: invalid duration "x"')
        self.refused({"Name": "c", "TTL": "5"}, 'Request decode failed: time: missing unit in duration "5"')
        self.refused(b'{"Name": "c", "TTL": 1e400}',
                     "Request decode failed: json: cannot unmarshal number 1e400 into Go struct field .TTL "
                     "of type float64")
        # The decode's own errors come before the durations'.
        self.refused({"Name": "c", "TTL": "x", "Notes": 1},
                     "Request decode failed: json: cannot unmarshal number into Go struct field .Notes of type string")

    def test_validation(self):
        self.refused({"TTL": "1s"}, "Missing check name")
        self.refused(b"null", "Missing check name")
        self.refused({"Name": "c", "TTL": "1s", "Status": "ok"}, "Bad check status")
        self.refused({"Name": "c"}, "Invalid check: TTL must be > 0 for TTL checks")
        self.refused({"Name": "c", "TTL": "1s", "Interval": "1s"},
                     "Invalid check: Interval and TTL cannot both be specified")
        self.refused({"Name": "c", "TCP": "x:1"},
                     "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks")
        self.refused({"Name": "c", "TCP": "x:1", "Interval": "1s", "AliasService": "web"},
                     "Invalid check: Interval cannot be set for Alias checks")
        self.refused({"Name": "c", "AliasService": "web", "TTL": "1s"},
                     "Invalid check: TTL must be not be set for Alias checks")
        self.refused({"Name": "c", "TTL": "1s", "OutputMaxSize": -1},
                     "Invalid check: MaxOutputMaxSize must be positive")
        self.refused({"Name": "c", "TTL": "1s", "FailuresBeforeWarning": 2, "FailuresBeforeCritical": 1},
                     "Invalid check: FailuresBeforeWarning can't be higher than FailuresBeforeCritical")
        self.assertEqual(self.check({"Name": "c", "AliasService": "web"}).type, ALIAS)

    def test_registered_check(self):
        health = registered_check(self.check({"Name": "mem", "TTL": "30s", "Notes": "n"}), "n1")
        self.assertEqual(health.to_json(), {
            "Node": "n1", "CheckID": "mem", "Name": "mem", "Status": "critical", "Notes": "n", "Output": "",
            "ServiceID": "", "ServiceName": "", "ServiceTags": [], "Type": "ttl", "Interval": "0s",
            "Timeout": "0s", "ExposedPort": 0, "Definition": {}, "CreateIndex": 0, "ModifyIndex": 0})
        http = registered_check(self.check({"Name": "h", "ID": "h1", "HTTP": "http://x/", "Interval": "15s",
                                            "Status": "warning"}), "n1")
        self.assertEqual((http.check_id, http.status, http.type, http.interval), ("h1", "warning", "http", "15s"))


class CheckTypeTests(SynchronousTestCase):
    def test_types_and_runners(self):
        periodic = {"interval": SECOND}
        cases = [
            (CheckDefinition(ttl=SECOND), TTL, TTL),
            (CheckDefinition(http="u", **periodic), HTTP, HTTP),
            (CheckDefinition(tcp="a:1", **periodic), TCP, TCP),
            (CheckDefinition(script_args=["x"], **periodic), SCRIPT, SCRIPT),
            (CheckDefinition(script_args=["x"], docker_container_id="d", **periodic), DOCKER, DOCKER),
            (CheckDefinition(grpc="a:1", **periodic), GRPC, GRPC),
            (CheckDefinition(h2ping="a:1", **periodic), H2PING, H2PING),
            (CheckDefinition(alias_service="web"), ALIAS, ALIAS),
            # Type() and addCheck try the kinds in different orders.
            (CheckDefinition(http="u", grpc="a:1", **periodic), GRPC, HTTP),
            (CheckDefinition(script_args=["x"]), SCRIPT, None),
            (CheckDefinition(), "", None),
        ]
        for check, kind, runner in cases:
            self.assertEqual((check.type, check.runner), (kind, runner), check)

    def test_minimums(self):
        self.assertEqual(CheckDefinition(interval=SECOND // 10).run_interval, SECOND)
        self.assertEqual(CheckDefinition(interval=5 * SECOND).run_interval, 5 * SECOND)
        self.assertEqual(CheckDefinition(deregister_critical_service_after=SECOND).reap_after, MINUTE)
        self.assertEqual(CheckDefinition().reap_after, 0)

    def test_output_limit_is_only_lowered(self):
        self.assertEqual(CheckDefinition().output_limit(4096), 4096)
        self.assertEqual(CheckDefinition(output_max_size=100).output_limit(4096), 100)
        self.assertEqual(CheckDefinition(output_max_size=10000).output_limit(4096), 4096)

    def test_script_refusal(self):
        script = CheckDefinition(script_args=["/bin/true"], interval=SECOND)
        remote = ("Scripts are disabled on this agent from remote calls; "
                  "to enable, configure 'enable_script_checks' to true")
        local = ("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or "
                 "'enable_local_script_checks' to true")
        self.assertEqual(script_check_refusal(script, True, False, True), remote)
        self.assertEqual(script_check_refusal(script, False, False, False), local)
        self.assertIsNone(script_check_refusal(script, True, True, False))
        self.assertIsNone(script_check_refusal(script, False, False, True))
        self.assertIsNone(script_check_refusal(CheckDefinition(ttl=SECOND), True, False, False))

    def test_script_checks_parse_whatever_the_agent_allows(self):
        # The parser accepts them; the agent then asks script_check_refusal.
        check = parse_check_register(b'{"Name": "disk", "Args": ["/usr/lib/check_disk", "-w", "10%"], '
                                     b'"Interval": "30s", "Timeout": "5s"}')
        self.assertEqual((check.type, check.runner, check.script_args, check.timeout),
                         (SCRIPT, SCRIPT, ("/usr/lib/check_disk", "-w", "10%"), 5 * SECOND))
        self.assertIsNotNone(script_check_refusal(check, True, False, False))


class CheckUpdateTests(SynchronousTestCase, _Refusals):
    def test_update(self):
        self.assertEqual(parse_check_update(b'{"Status": "passing", "Output": "ok"}'), ("passing", "ok"))
        self.assertEqual(parse_check_update(b'{"status": "warning"}'), ("warning", ""))

    def test_refusals(self):
        self.assertRefused(parse_check_update, {"Status": "fine"}, "Invalid check status: 'fine'")
        self.assertRefused(parse_check_update, b"", "Request decode failed: EOF")
        self.assertRefused(parse_check_update, {"Status": "passing", "Note": "x"},
                           'Request decode failed: json: unknown field "Note"')
        self.assertRefused(parse_check_update, {"Status": 1},
                           "Request decode failed: json: cannot unmarshal number into Go struct field "
                           "checkUpdate.Status of type string")


class GoTypeNamesTests(SynchronousTestCase):
    def test_anonymous_aux_structs_are_written_as_reflect_writes_them(self):
        self.assertTrue(CHECK_DEFINITION_AUX.go_type.startswith(
            'struct { Interval interface {}; Timeout interface {}; TTL interface {}; '
            'DeregisterCriticalServiceAfter interface {}; Args []string "json:\\"args\\""; '))
        self.assertTrue(CHECK_DEFINITION_AUX.go_type.endswith(
            'ServiceIDSnake string "json:\\"service_id\\""; *structs.Alias }'))
