"""Filters on records: go-bexpr v0.1.2's validation and evaluation semantics."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.filter import Filter, FilterError, apply, apply_to_map, compile_filter
from pyconsul.filter.schemas import (
    AGENT_SERVICE, CHECK_SERVICE_NODE, HEALTH_CHECK, NODE, NODE_SERVICE, SERVICE_NODE,
)
from pyconsul.filter.types import BOOL, INT, STRING, List, Map, Struct

# A schema with one field of each kind.
ADDRESS = Struct("Address", {"Address": STRING, "Port": INT})
ITEM = Struct("Item", {"Name": STRING, "Size": INT, "Tags": List(STRING)})
RECORD = Struct("Record", {
    "Name": STRING,
    "Port": INT,
    "On": BOOL,
    "Tags": List(STRING),
    "Ports": List(INT),
    "Meta": Map(STRING),
    "Addresses": Map(ADDRESS),
    "Items": List(ITEM),
    "Inner": Struct("Inner", {"Name": STRING, "Deeper": Struct("Deeper", {"Flag": BOOL})}),
})

SAMPLE = {
    "Name": "web-1",
    "Port": 8080,
    "On": True,
    "Tags": ["v1", "primary"],
    "Ports": [80, 443],
    "Meta": {"env": "prod", "empty": ""},
    "Addresses": {"lan": {"Address": "10.0.0.1", "Port": 80}},
    "Items": [{"Name": "a", "Size": 1, "Tags": ["x"]}, {"Name": "b", "Size": 2}],
    "Inner": {"Name": "in"},
}


class FilterTestCase(SynchronousTestCase):
    schema = RECORD

    def assertMatches(self, expression, record, expected=True):
        result = compile_filter(expression, self.schema).matches(record)
        self.assertIs(result, expected, expression)

    def assertRejects(self, expression, record):
        self.assertMatches(expression, record, False)

    def assertError(self, expression, detail):
        with self.assertRaises(FilterError) as caught:
            compile_filter(expression, self.schema)
        self.assertEqual(caught.exception.detail, detail)
        self.assertEqual(str(caught.exception), "Failed to create boolean expression evaluator: " + detail)


class StringFieldTests(FilterTestCase):
    def test_equality(self):
        self.assertMatches('Name == "web-1"', SAMPLE)
        self.assertMatches("Name == `web-1`", SAMPLE)
        self.assertRejects('Name == "web"', SAMPLE)
        self.assertMatches('Name != "web"', SAMPLE)
        self.assertRejects('Name != "web-1"', SAMPLE)

    def test_substring(self):
        self.assertMatches('"eb-" in Name', SAMPLE)
        self.assertMatches('Name contains "web"', SAMPLE)
        self.assertMatches('Name not contains "db"', SAMPLE)
        self.assertRejects('"db" in Name', SAMPLE)
        self.assertMatches('"" in Name', SAMPLE)

    def test_matches(self):
        self.assertMatches('Name matches "^web-[0-9]+$"', SAMPLE)
        self.assertRejects('Name matches "^db"', SAMPLE)
        self.assertMatches('Name not matches "^db"', SAMPLE)
        # matches searches; it is not anchored.
        self.assertMatches('Name matches "b-1"', SAMPLE)

    def test_numbers_and_words_compare_as_text(self):
        self.assertMatches("Name == 80", {"Name": "80"})
        self.assertMatches("Name == true", {"Name": "true"})
        self.assertMatches("Name == web.a", {"Name": "web.a"})

    def test_is_empty_is_not_for_strings(self):
        self.assertError("Name is empty", 'Invalid match operator "Is Empty" for selector "Name"')

    def test_omitted_string_is_empty_string(self):
        self.assertMatches('Name == ""', {})
        self.assertMatches('Name == ""', {"Name": None})
        self.assertMatches('Inner.Name == ""', {})


class IntegerFieldTests(FilterTestCase):
    def test_equality(self):
        self.assertMatches("Port == 8080", SAMPLE)
        self.assertMatches('Port == "8080"', SAMPLE)
        self.assertMatches("Port != 80", SAMPLE)
        self.assertMatches("Port == 0", {})

    def test_go_integer_syntax(self):
        # The value is read as Go's strconv.ParseInt(value, 0, 64) reads it.
        self.assertMatches('Port == "0x1F90"', SAMPLE)
        self.assertMatches('Port == "0o17620"', SAMPLE)
        self.assertMatches('Port == "017620"', SAMPLE)
        self.assertMatches('Port == "8_080"', SAMPLE)
        self.assertMatches('Port == "+8080"', SAMPLE)
        self.assertMatches("Port == -1", {"Port": -1})

    def test_bad_integers(self):
        self.assertError("Port == abc",
                         'Failed to coerce value "abc" for selector "Port": strconv.ParseInt: parsing "abc": invalid syntax')
        self.assertError("Port == 1.5",
                         'Failed to coerce value "1.5" for selector "Port": strconv.ParseInt: parsing "1.5": invalid syntax')
        self.assertError('Port == "99999999999999999999"',
                         'Failed to coerce value "99999999999999999999" for selector "Port": '
                         'strconv.ParseInt: parsing "99999999999999999999": value out of range')

    def test_operators(self):
        for op in ('"1" in Port', "Port contains 1", "Port matches 1", "Port is empty"):
            with self.assertRaises(FilterError):
                compile_filter(op, RECORD)
        self.assertError("Port matches 1", 'Invalid match operator "Matches" for selector "Port"')
        self.assertError('"1" in Port', 'Invalid match operator "In" for selector "Port"')


class BooleanFieldTests(FilterTestCase):
    def test_spellings(self):
        for word in ("true", "True", "TRUE", "t", "T", "1", '"true"'):
            self.assertMatches("On == " + word, SAMPLE)
        for word in ("false", "False", "FALSE", "f", "F", "0"):
            self.assertMatches("On != " + word, SAMPLE)
        self.assertMatches("On == false", {})
        self.assertMatches("Inner.Deeper.Flag == false", SAMPLE)

    def test_bad_booleans(self):
        self.assertError("On == yes",
                         'Failed to coerce value "yes" for selector "On": strconv.ParseBool: parsing "yes": invalid syntax')


class ListFieldTests(FilterTestCase):
    def test_membership(self):
        self.assertMatches('"v1" in Tags', SAMPLE)
        self.assertMatches("Tags contains primary", SAMPLE)
        self.assertRejects('"v" in Tags', SAMPLE)  # elements, not substrings
        self.assertMatches('"v2" not in Tags', SAMPLE)
        self.assertMatches("Tags not contains v2", SAMPLE)

    def test_membership_of_integers_compares_numbers(self):
        self.assertMatches("443 in Ports", SAMPLE)
        self.assertMatches('"0x50" in Ports', SAMPLE)
        self.assertError('"x" in Ports',
                         'Failed to coerce value "x" for selector "Ports": strconv.ParseInt: parsing "x": invalid syntax')

    def test_emptiness(self):
        self.assertMatches("Tags is not empty", SAMPLE)
        self.assertMatches("Tags is empty", {"Tags": []})
        self.assertMatches("Tags is empty", {"Tags": None})
        self.assertMatches("Tags is empty", {})

    def test_no_equality(self):
        self.assertError("Tags == v1", 'Invalid match operator "Equal" for selector "Tags"')
        self.assertError("Tags matches v1", 'Invalid match operator "Matches" for selector "Tags"')
        self.assertError("Tags.x == v1", 'Selector "Tags.x" is not valid')


class MapFieldTests(FilterTestCase):
    def test_values(self):
        self.assertMatches("Meta.env == prod", SAMPLE)
        self.assertMatches('Meta["env"] == prod', SAMPLE)
        self.assertMatches("Meta.env != qa", SAMPLE)
        self.assertMatches('Meta.env contains "ro"', SAMPLE)
        self.assertMatches('Meta.env matches "^p"', SAMPLE)
        self.assertMatches('Meta.empty == ""', SAMPLE)

    def test_keys(self):
        self.assertMatches('"env" in Meta', SAMPLE)
        self.assertMatches("Meta contains env", SAMPLE)
        self.assertRejects('"prod" in Meta', SAMPLE)  # keys, not values
        self.assertMatches('"x" not in Meta', SAMPLE)
        self.assertMatches("Meta is not empty", SAMPLE)
        self.assertMatches("Meta is empty", {"Meta": {}})
        self.assertMatches("Meta is empty", {})

    def test_missing_key(self):
        # A missing key is not "": == is false, and so is "is not empty"
        # and in; every other operator is true, both matches included.
        record = {"Meta": {"env": "prod"}}
        self.assertRejects('Meta.other == ""', record)
        self.assertRejects('Meta.other == "x"', record)
        self.assertMatches('Meta.other != "x"', record)
        self.assertRejects('"x" in Meta.other', record)
        self.assertMatches('"x" not in Meta.other', record)
        self.assertMatches('Meta.other matches "x"', record)
        self.assertMatches('Meta.other not matches "x"', record)
        self.assertMatches('Meta.other != ""', {})

    def test_missing_key_on_the_way(self):
        self.assertRejects("Addresses.wan.Port == 80", SAMPLE)
        self.assertMatches("Addresses.wan.Port != 80", SAMPLE)
        self.assertMatches("Addresses.lan.Port == 80", SAMPLE)
        self.assertMatches('Addresses.lan.Address matches "^10\\\\."', SAMPLE)

    def test_map_of_structs(self):
        self.assertError("Addresses.lan == x", 'Invalid match operator "Equal" for selector "Addresses.lan"')
        self.assertError("Addresses.lan.Nope == x", 'Selector "Addresses.lan.Nope" is not valid')
        self.assertMatches('"lan" in Addresses', SAMPLE)

    def test_map_values_go_no_deeper(self):
        self.assertError("Meta.env.x == y", 'Selector "Meta.env.x" is not valid')


class ListOfStructsTests(FilterTestCase):
    def test_any_element(self):
        self.assertMatches("Items.Name == a", SAMPLE)
        self.assertMatches("Items.Name == b", SAMPLE)
        self.assertRejects("Items.Name == c", SAMPLE)
        self.assertMatches("Items.Size == 2", SAMPLE)

    def test_negated_operators_are_any_too(self):
        # "!=" asks whether some element differs, not whether all do.
        self.assertMatches("Items.Name != a", SAMPLE)
        self.assertRejects("not Items.Name == a", SAMPLE)
        self.assertRejects("Items.Name != a", {"Items": [{"Name": "a"}]})

    def test_empty_list_matches_nothing(self):
        for expression in ("Items.Name == a", "Items.Name != a", '"x" not in Items.Tags'):
            self.assertRejects(expression, {"Items": []})
            self.assertRejects(expression, {})

    def test_nested_lists(self):
        self.assertMatches('"x" in Items.Tags', SAMPLE)
        self.assertMatches('Items.Tags is empty', SAMPLE)  # the second item has none
        self.assertRejects('"y" in Items.Tags', SAMPLE)

    def test_operators_on_the_list_itself(self):
        self.assertMatches("Items is not empty", SAMPLE)
        self.assertMatches("Items is empty", {})
        self.assertError('"a" in Items', 'Invalid match operator "In" for selector "Items"')


class StructureTests(FilterTestCase):
    def test_unknown_fields(self):
        self.assertError("Foo == 1", 'Selector "Foo" is not valid')
        self.assertError("Inner.Foo.Bar == 1", 'Selector "Inner.Foo" is not valid')
        self.assertError("name == x", 'Selector "name" is not valid')  # names are case-sensitive
        self.assertError('Inner["Deeper"].x == 1', 'Selector "Inner.Deeper.x" is not valid')

    def test_structs_have_no_operators(self):
        self.assertError("Inner == x", 'Invalid match operator "Equal" for selector "Inner"')
        self.assertError("Inner is empty", 'Invalid match operator "Is Empty" for selector "Inner"')

    def test_selector_in_messages_is_quoted_as_go_does(self):
        # pigeon reports every error it met, one per line.
        self.assertError('Meta["a\\"b"].c == 1',
                         '1:6 (5): rule "string": invalid syntax\n1:10 (9): rule "index": Unclosed index expression')
        self.assertError('Inner["a\\tb"] == 1', 'Selector "Inner.a\\tb" is not valid')

    def test_validation_goes_left_to_right(self):
        self.assertError("Foo == 1 and Bar == 2", 'Selector "Foo" is not valid')
        self.assertError("Name == x or (Port == y and Bar == 2)",
                         'Failed to coerce value "y" for selector "Port": strconv.ParseInt: parsing "y": invalid syntax')

    def test_regex_errors(self):
        self.assertError('Name matches "("',
                         'Failed to compile regular expression "(": error parsing regexp: missing closing ): `(`')
        self.assertError('Name matches "\\\\1"',
                         'Failed to compile regular expression "\\\\1": error parsing regexp: invalid escape sequence: `\\1`')

    def test_wrong_shapes_in_records_read_as_zero_values(self):
        flt = compile_filter('Name == "" and Port == 0 and Tags is empty and Items.Name != x and Meta.a == b', RECORD)
        for record in (None, [], "x", 3, {"Name": 3, "Port": "x", "Tags": "x", "Items": {"a": 1}, "Meta": []}):
            self.assertFalse(flt.matches(record))
        self.assertTrue(compile_filter('Name == "" and Port == 0', RECORD).matches({"Name": 3, "Port": "x"}))

    def test_booleans_are_not_integers(self):
        self.assertRejects("Port == 1", {"Port": True})
        self.assertMatches("Port == 1", {"Port": 1.0})


class LogicTests(FilterTestCase):
    def test_and_or_not(self):
        self.assertMatches('Name == "web-1" and Port == 8080', SAMPLE)
        self.assertRejects('Name == "web-1" and Port == 80', SAMPLE)
        self.assertMatches("Name == x or Port == 8080", SAMPLE)
        self.assertRejects("Name == x or Port == 80", SAMPLE)
        self.assertMatches("not Name == x", SAMPLE)
        self.assertMatches("Name == x or Name == y or Port == 8080", SAMPLE)
        self.assertMatches("(Name == x or Port == 8080) and not (On == false)", SAMPLE)

    def test_long_chains(self):
        expression = " and ".join("Port != %d" % n for n in range(1000))
        self.assertMatches(expression, SAMPLE)
        expression = " or ".join("Port == %d" % n for n in range(1000))
        self.assertRejects(expression, SAMPLE)

    def test_deep_nesting_is_refused_not_crashed(self):
        expression = "not (Port == 1 and " * 300 + "Port == 1" + ")" * 300
        with self.assertRaises(FilterError) as caught:
            compile_filter(expression, RECORD)
        self.assertEqual(caught.exception.detail, "expression is nested too deeply")
        expression = "(" * 3000 + "Port == 1" + ")" * 3000
        with self.assertRaises(FilterError):
            compile_filter(expression, RECORD)

    def test_moderate_nesting(self):
        self.assertMatches("(" * 40 + "Port == 8080" + ")" * 40, SAMPLE)
        self.assertMatches("not (" * 40 + "Port == 8080" + ")" * 40, SAMPLE)


class ApiTests(SynchronousTestCase):
    def test_empty_expression_is_no_filter(self):
        flt = compile_filter("", NODE)
        self.assertIsInstance(flt, Filter)
        self.assertTrue(flt.matches({}))
        self.assertEqual(apply(flt, [1, 2]), [1, 2])
        self.assertEqual(apply_to_map(flt, {"a": 1}), {"a": 1})

    def test_blank_expression_is_an_error(self):
        with self.assertRaises(FilterError) as caught:
            compile_filter("  ", NODE)
        self.assertTrue(caught.exception.detail.startswith("1:3 (2): no match found, expected: "))

    def test_error_status(self):
        with self.assertRaises(FilterError) as caught:
            compile_filter("Foo == 1", NODE)
        self.assertEqual(caught.exception.status, 500)

    def test_apply_keeps_order(self):
        flt = compile_filter("Node != b", NODE)
        nodes = [{"Node": "a"}, {"Node": "b"}, {"Node": "c"}]
        self.assertEqual(apply(flt, nodes), [{"Node": "a"}, {"Node": "c"}])

    def test_bytes_expression(self):
        self.assertTrue(compile_filter(b"Node == a", NODE).matches({"Node": "a"}))


class ConsulRecordTests(SynchronousTestCase):
    """Examples from Consul's filtering documentation and common client use."""

    def test_agent_services(self):
        services = {
            "redis1": {"ID": "redis1", "Service": "redis", "Tags": ["primary", "production"],
                       "Meta": {"env": "production", "foo": "bar"}, "Port": 1234, "Address": "",
                       "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False},
            "redis2": {"ID": "redis2", "Service": "redis", "Tags": ["secondary", "production"],
                       "Meta": {"env": "production", "foo": "bar"}, "Port": 1235, "Address": "",
                       "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False},
            "redis3": {"ID": "redis3", "Service": "redis", "Tags": ["primary", "qa"], "Meta": {"env": "qa"},
                       "Port": 1234, "Address": "", "Weights": {"Passing": 1, "Warning": 1},
                       "EnableTagOverride": False},
        }
        flt = compile_filter('Meta.env == "qa"', AGENT_SERVICE)
        self.assertEqual(list(apply_to_map(flt, services)), ["redis3"])
        flt = compile_filter('"primary" in Tags and Port == 1234', AGENT_SERVICE)
        self.assertEqual(sorted(apply_to_map(flt, services)), ["redis1", "redis3"])
        flt = compile_filter("Weights.Passing == 1 and Connect.Native == false and Proxy.Upstreams is empty",
                             AGENT_SERVICE)
        self.assertEqual(len(apply_to_map(flt, services)), 3)

    def test_catalog_service(self):
        entries = [
            {"ID": "b4f64e8c", "Node": "node-1", "Address": "198.18.0.1", "Datacenter": "dc1",
             "TaggedAddresses": None, "NodeMeta": {"agent": "true", "arch": "i386", "os": "darwin"},
             "ServiceKind": "", "ServiceID": "api-internal", "ServiceName": "api-internal",
             "ServiceTags": ["tag"], "ServiceAddress": "", "ServiceWeights": {"Passing": 1, "Warning": 1},
             "ServiceMeta": {"environment": "qa"}, "ServicePort": 9090, "ServiceEnableTagOverride": False,
             "ServiceProxy": {}, "ServiceConnect": {}, "CreateIndex": 30, "ModifyIndex": 30},
            {"ID": "b4faf93a", "Node": "node-2", "Address": "198.18.0.2", "Datacenter": "dc1",
             "TaggedAddresses": None, "NodeMeta": {"arch": "arm", "os": "linux"},
             "ServiceKind": "", "ServiceID": "api-internal", "ServiceName": "api-internal",
             "ServiceTags": ["test", "tag"], "ServiceAddress": "", "ServiceWeights": {"Passing": 1, "Warning": 1},
             "ServiceMeta": {"environment": "production"}, "ServicePort": 9090,
             "ServiceEnableTagOverride": False, "ServiceProxy": {}, "ServiceConnect": {},
             "CreateIndex": 29, "ModifyIndex": 29},
        ]
        self.assertEqual([e["Node"] for e in apply(compile_filter('NodeMeta.os == "linux"', SERVICE_NODE), entries)],
                         ["node-2"])
        self.assertEqual(len(apply(compile_filter('"tag" in ServiceTags', SERVICE_NODE), entries)), 2)
        self.assertEqual(len(apply(compile_filter("ServiceProxy.DestinationServiceName == \"\"", SERVICE_NODE),
                                   entries)), 2)
        with self.assertRaises(FilterError):
            compile_filter("CreateIndex == 30", SERVICE_NODE)  # bexpr:"-"

    def test_health_checks(self):
        checks = [
            {"Node": "node-1", "CheckID": "node-health", "Name": "Node level check", "Status": "critical",
             "Notes": "", "Output": "", "ServiceID": "", "ServiceName": "", "ServiceTags": [],
             "Definition": {}, "CreateIndex": 13, "ModifyIndex": 13},
            {"Node": "node-1", "CheckID": "svc-web-health", "Name": "Service level check - web",
             "Status": "warning", "Notes": "", "Output": "", "ServiceID": "", "ServiceName": "web",
             "ServiceTags": [], "Definition": {}, "CreateIndex": 18, "ModifyIndex": 18},
        ]
        kept = apply(compile_filter('ServiceName != ""', HEALTH_CHECK), checks)
        self.assertEqual([c["CheckID"] for c in kept], ["svc-web-health"])
        kept = apply(compile_filter("Status == `critical`", HEALTH_CHECK), checks)
        self.assertEqual([c["CheckID"] for c in kept], ["node-health"])
        self.assertEqual(len(apply(compile_filter("ExposedPort == 0", HEALTH_CHECK), checks)), 2)
        with self.assertRaises(FilterError):
            compile_filter("Interval == 10s", HEALTH_CHECK)  # not in Consul 1.10

    def test_health_service(self):
        entries = [
            {"Node": {"Node": "n1", "Address": "10.0.0.1", "Meta": {"rack": "a"}},
             "Service": {"ID": "web1", "Service": "web", "Tags": ["v1"], "Port": 80},
             "Checks": [{"Status": "passing", "ServiceName": "web"}, {"Status": "critical"}]},
            {"Node": {"Node": "n2", "Address": "10.0.0.2"},
             "Service": {"ID": "web2", "Service": "web", "Tags": ["v1"], "Port": 80},
             "Checks": [{"Status": "passing"}]},
        ]
        flt = compile_filter('Service.Tags contains "v1" and Checks.Status != critical', CHECK_SERVICE_NODE)
        # Both: each has a check that is not critical.
        self.assertEqual(len(apply(flt, entries)), 2)
        flt = compile_filter('Service.Tags contains "v1" and not Checks.Status == critical', CHECK_SERVICE_NODE)
        self.assertEqual([e["Node"]["Node"] for e in apply(flt, entries)], ["n2"])
        flt = compile_filter('Node.Node == "n1" and Node.Meta.rack == a', CHECK_SERVICE_NODE)
        self.assertEqual(len(apply(flt, entries)), 1)

    def test_node_services_map(self):
        services = {"web": {"ID": "web", "Service": "web", "Tags": [], "Port": 80,
                            "TaggedAddresses": {"lan": {"Address": "10.0.0.1", "Port": 80}},
                            "Proxy": {"Upstreams": [{"DestinationName": "db", "LocalBindPort": 9000}]}},
                    "db": {"ID": "db", "Service": "db", "Port": 5432}}
        flt = compile_filter("Proxy.Upstreams.DestinationName == db", NODE_SERVICE)
        self.assertEqual(list(apply_to_map(flt, services)), ["web"])
        flt = compile_filter("TaggedAddresses.lan.Port == 80", NODE_SERVICE)
        self.assertEqual(list(apply_to_map(flt, services)), ["web"])
        flt = compile_filter("Proxy.TransparentProxy.OutboundListenerPort == 0 and Proxy.Mode == \"\"", NODE_SERVICE)
        self.assertEqual(len(apply_to_map(flt, services)), 2)

    def test_nodes(self):
        nodes = [{"ID": "40e4", "Node": "baz", "Address": "10.1.10.11", "Datacenter": "dc1",
                  "TaggedAddresses": {"lan": "10.1.10.11", "wan": "10.1.10.11"}, "Meta": {"instance_type": "t2.medium"}},
                 {"ID": "8f24", "Node": "foobar", "Address": "10.1.10.12", "Datacenter": "dc2",
                  "TaggedAddresses": {"lan": "10.1.10.11", "wan": "10.1.10.12"}, "Meta": {"instance_type": "t2.large"}}]
        flt = compile_filter('Meta.instance_type matches "large$" or TaggedAddresses.wan == "10.1.10.11"', NODE)
        self.assertEqual(len(apply(flt, nodes)), 2)
        flt = compile_filter('Datacenter == dc2 and Node matches "^foo"', NODE)
        self.assertEqual([n["Node"] for n in apply(flt, nodes)], ["foobar"])
