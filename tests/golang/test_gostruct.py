"""JSON into Go values: what encoding/json (Go 1.16) keeps and the errors it gives."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.golang import gostruct as go
from pyconsul.golang.errors import GoError

STRING, INT, BOOL = go.String(), go.Int(), go.Bool()
ADDRESS = go.Struct("Address", "pkg.Address", [go.Field("Host", STRING), go.Field("Port", INT)])
ADDRESS_POINTER = go.Struct("Address", "pkg.Address", ADDRESS.fields, pointer=True)
SERVICE = go.Struct("Service", "pkg.Service", [
    go.Field("Name", STRING),
    go.Field("Kind", go.String("pkg.Kind")),
    go.Field("Port", INT),
    go.Field("Index", go.Uint()),
    go.Field("Enabled", BOOL),
    go.Field("Tags", go.Slice(STRING)),
    go.Field("Meta", go.Map(STRING)),
    go.Field("Address", ADDRESS),
    go.Field("Backup", ADDRESS_POINTER),
    go.Field("Extra", go.Any(plain=True)),
    go.Field("Raw", go.Any()),
    go.Field("name_alias", STRING, "alias"),
])


def decode(data, go_type=SERVICE, **options):
    return go.decode(data, go_type, **options)


class DecodeTests(SynchronousTestCase):
    def failed(self, data, message, go_type=SERVICE, **options):
        with self.assertRaises(GoError) as caught:
            decode(data, go_type, **options)
        self.assertEqual(str(caught.exception), message)

    def test_only_the_first_value_is_read(self):
        self.assertEqual(decode(b'{"Name": "web"} {garbage'), {"Name": "web"})
        self.assertEqual(decode(b' [1, 2]]', go.Slice(INT)), [1, 2])
        self.assertEqual(decode(b'"a" "b"', STRING), "a")

    def test_bodies_that_are_not_json(self):
        self.failed(b"", "EOF")
        self.failed(b" \r\n\t", "EOF")
        self.failed(b'{"Name": "web"', "unexpected EOF")
        self.failed(b'{"Name": web}', "invalid character 'w' looking for beginning of value")
        self.failed(b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value")

    def test_null_leaves_the_zero_value(self):
        self.assertEqual(decode(b"null"), {})
        self.assertIsNone(decode(b"null", ADDRESS_POINTER))
        self.assertIsNone(decode(b"null", go.Slice(INT)))
        # A nil pointer, slice, map or interface is left out; null into a
        # string, number or struct changes nothing.
        self.assertEqual(decode(b'{"Name": "a", "Name": null, "Port": null, "Tags": null, "Meta": null, '
                                b'"Address": null, "Backup": null, "Extra": null}'), {"Name": "a"})
        self.assertEqual(decode(b'{"Tags": ["a"], "Tags": null}'), {})

    def test_nulls_inside_slices_and_maps_are_zero_values(self):
        self.assertEqual(decode(b'{"Tags": ["a", null], "Meta": {"k": null}}'), {"Tags": ["a", ""], "Meta": {"k": ""}})
        self.assertEqual(decode(b'[null, {"Host": "h"}]', go.Slice(ADDRESS_POINTER)), [None, {"Host": "h"}])

    def test_values(self):
        self.assertEqual(decode(b'{"Name": "web", "Port": -80, "Index": 18446744073709551615, "Enabled": true, '
                                b'"Tags": ["a", "b"], "Meta": {"k": "v"}, "Address": {"Host": "h", "Port": 1}}'), {
            "Name": "web", "Port": -80, "Index": 18446744073709551615, "Enabled": True, "Tags": ["a", "b"],
            "Meta": {"k": "v"}, "Address": {"Host": "h", "Port": 1}})
        # The decoded dict is keyed by the field's attribute.
        self.assertEqual(decode(b'{"name_alias": "x"}'), {"alias": "x"})

    def test_repeated_keys(self):
        # The last value wins; a struct or map decoded again is added to.
        self.assertEqual(decode(b'{"Port": 1, "Port": 2}'), {"Port": 2})
        self.assertEqual(decode(b'{"Meta": {"a": "1"}, "Meta": {"b": "2"}}'), {"Meta": {"a": "1", "b": "2"}})
        self.assertEqual(decode(b'{"Address": {"Host": "h"}, "Address": {"Port": 2}}'),
                         {"Address": {"Host": "h", "Port": 2}})

    def test_keys_match_exactly_else_without_case(self):
        self.assertEqual(decode(b'{"nAmE": "a", "PORT": 1}'), {"Name": "a", "Port": 1})
        # Go folds the Kelvin sign to k and the long s to s.
        self.assertEqual(decode('{"\u212aind": "x", "\u017fervice": 1}'.encode()), {"Kind": "x"})
        self.assertEqual(decode(b'{"Name": "exact", "NAME": "folded"}'), {"Name": "folded"})

    def test_unknown_fields(self):
        self.assertEqual(decode(b'{"Name": "a", "Colour": 1, "Address": {"Floor": 2}}'), {"Name": "a", "Address": {}})
        self.failed(b'{"Name": "a", "Colour": 1}', 'json: unknown field "Colour"', disallow_unknown_fields=True)
        self.failed(b'{"Address": {"Floor": 2}}', 'json: unknown field "Floor"', disallow_unknown_fields=True)

    def test_type_errors_as_go_words_them(self):
        into = "json: cannot unmarshal %s into Go struct field %s of type %s"
        cases = [
            (b'{"Name": 5}', into % ("number", "Service.Name", "string")),
            (b'{"Kind": true}', into % ("bool", "Service.Kind", "pkg.Kind")),
            (b'{"Port": "80"}', into % ("string", "Service.Port", "int")),
            (b'{"Port": 1.5}', into % ("number 1.5", "Service.Port", "int")),
            (b'{"Port": 1e3}', into % ("number 1e3", "Service.Port", "int")),
            (b'{"Port": 9223372036854775808}', into % ("number 9223372036854775808", "Service.Port", "int")),
            (b'{"Index": -1}', into % ("number -1", "Service.Index", "uint64")),
            (b'{"Index": -0}', into % ("number -0", "Service.Index", "uint64")),
            (b'{"Enabled": "yes"}', into % ("string", "Service.Enabled", "bool")),
            (b'{"Tags": "a"}', into % ("string", "Service.Tags", "[]string")),
            (b'{"Tags": [1]}', into % ("number", "Service.Tags", "string")),
            (b'{"Meta": []}', into % ("array", "Service.Meta", "map[string]string")),
            (b'{"Meta": {"k": {}}}', into % ("object", "Service.Meta", "string")),
            (b'{"Address": 1}', into % ("number", "Service.Address", "pkg.Address")),
            # The innermost struct names the path of every field on the way.
            (b'{"Address": {"Port": "1"}}', into % ("string", "Address.Address.Port", "int")),
            (b'{"Extra": 1e400}', into % ("number 1e400", "Service.Extra", "float64")),
            (b'[]', "json: cannot unmarshal array into Go value of type pkg.Service"),
        ]
        for data, message in cases:
            self.failed(data, message)
        self.failed(b'{"a": 1}', "json: cannot unmarshal object into Go value of type []*pkg.Address",
                    go.Slice(ADDRESS_POINTER))
        self.failed(b'[1]', "json: cannot unmarshal array into Go value of type map[string]int", go.Map(INT))

    def test_the_first_error_wins_and_the_rest_is_still_read(self):
        self.failed(b'{"Port": "x", "Tags": 1, "Colour": 2}',
                    "json: cannot unmarshal string into Go struct field Service.Port of type int",
                    disallow_unknown_fields=True)
        self.failed(b'{"Colour": 2, "Port": "x"}', 'json: unknown field "Colour"', disallow_unknown_fields=True)

    def test_interface_values(self):
        found = decode(b'{"Extra": {"a": [1, 2.5, 1e2, -0, "s", true, null], "a": {"b": 7}}, "Raw": {"n": 1.0}}')
        self.assertEqual(found["Extra"], {"a": {"b": 7}})
        self.assertEqual(go.plain(go.first_value(b'[1, 2.5, 1e2, -0, "s", true, null]')),
                         [1, 2.5, 100.0, 0, "s", True, None])
        # Without plain=True the value is kept as written.
        raw = found["Raw"]
        self.assertIsInstance(raw, go.JSONObject)
        self.assertEqual(raw.pairs, [("n", "1.0")])
        self.assertIsInstance(raw.get("n"), go.Number)


class FirstValueTests(SynchronousTestCase):
    def test_objects_keep_every_member_in_order(self):
        value = go.first_value(b'{"b": 1, "a": 2, "b": 3}')
        self.assertEqual(value.pairs, [("b", "1"), ("a", "2"), ("b", "3")])
        self.assertEqual(value.get("b"), "3")
        self.assertEqual(value.get("c", "none"), "none")

    def test_kinds(self):
        self.assertEqual([go.kind_of(go.first_value(data)) for data in
                          (b'"s"', b"1", b"true", b"[]", b"{}", b"null")],
                         ["string", "number", "bool", "array", "object", "null"])


class UnmarshalerTests(SynchronousTestCase):
    """A field whose type decodes itself, as a Go type with UnmarshalJSON."""

    def setUp(self):
        inner = go.Struct("", "struct { Note string }", [go.Field("Note", STRING)])

        def unmarshal_check(value):
            fields = go.unmarshal(value, inner)
            if fields is go.SKIP or fields is None:
                return "empty"
            if fields.get("Note") == "bad":
                raise GoError("bad note")
            return fields.get("Note", "")

        self.outer = go.Struct("Outer", "pkg.Outer", [
            go.Field("Name", STRING),
            go.Field("Check", go.Unmarshaler(unmarshal_check, "pkg.Check")),
            go.Field("Checks", go.Slice(go.Unmarshaler(unmarshal_check, "*pkg.Check", pointer=True))),
        ])

    def failed(self, data, message):
        with self.assertRaises(GoError) as caught:
            go.decode(data, self.outer, disallow_unknown_fields=True)
        self.assertEqual(str(caught.exception), message)

    def test_values(self):
        self.assertEqual(go.decode(b'{"Check": {"Note": "n"}, "Checks": [null, {}]}', self.outer),
                         {"Check": "n", "Checks": [None, ""]})
        # A value (not a pointer) has its method called for null too.
        self.assertEqual(go.decode(b'{"Check": null}', self.outer), {"Check": "empty"})

    def test_its_error_ends_the_decode_at_once(self):
        self.failed(b'{"Colour": 1, "Check": {"Note": "bad"}}', "bad note")
        self.failed(b'{"Colour": 1, "Check": {"Note": "fine"}}', 'json: unknown field "Colour"')

    def test_a_mismatch_inside_is_renamed_after_the_field(self):
        self.failed(b'{"Check": {"Note": 1}}',
                    "json: cannot unmarshal number into Go struct field Outer.Check of type string")
        self.failed(b'{"Checks": [{"Note": []}]}',
                    "json: cannot unmarshal array into Go struct field Outer.Checks of type string")


class TypeNameTests(SynchronousTestCase):
    def test_names_are_derived_as_go_writes_them(self):
        pointer = go.Struct("Address", "pkg.Address", [], pointer=True)
        self.assertEqual(go.Slice(pointer).name, "[]*pkg.Address")
        self.assertEqual(go.Map(go.Slice(STRING)).name, "map[string][]string")
        self.assertEqual(go.Map(ADDRESS).name, "map[string]pkg.Address")
        self.assertEqual(go.Slice(ADDRESS, "pkg.Addresses").name, "pkg.Addresses")
        self.assertEqual(go.Uint("uint16", (1 << 16) - 1).name, "uint16")
