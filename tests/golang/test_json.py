"""Go's encoding/json: encoder output, scanner messages, and Unmarshal."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.golang import json as go_json


class JsonEncodingTests(SynchronousTestCase):
    def test_export_layout(self):
        entries = [{"key": "x/a", "flags": 7, "value": "aGVsbG8="}, {"key": "x/b", "flags": 0, "value": ""}]
        self.assertEqual(
            go_json.marshal_indent(entries),
            '[\n\t{\n\t\t"key": "x/a",\n\t\t"flags": 7,\n\t\t"value": "aGVsbG8="\n\t},\n'
            '\t{\n\t\t"key": "x/b",\n\t\t"flags": 0,\n\t\t"value": ""\n\t}\n]',
        )
        self.assertEqual(go_json.marshal_indent([]), "[]")
        self.assertEqual(go_json.marshal_indent({"a": [], "b": {}, "c": None, "d": True}),
                         '{\n\t"a": [],\n\t"b": {},\n\t"c": null,\n\t"d": true\n}')

    def test_compact_and_pretty(self):
        """The HTTP API's bodies: json.Marshal, or MarshalIndent with four spaces for ?pretty."""
        value = [{"Key": "a<b>", "Flags": 18446744073709551615, "Value": None, "Ok": False}]
        self.assertEqual(go_json.marshal(value),
                         '[{"Key":"a\\u003cb\\u003e","Flags":18446744073709551615,"Value":null,"Ok":false}]')
        self.assertEqual(go_json.marshal_indent({"a": [1, 2]}, "    "),
                         '{\n    "a": [\n        1,\n        2\n    ]\n}')
        self.assertEqual(go_json.marshal(("x", True)), '["x",true]')

    def test_string_escapes(self):
        table = [
            ("plain/key", '"plain/key"'),
            ('q"b\\s', '"q\\"b\\\\s"'),
            ("a<b>&c", '"a\\u003cb\\u003e\\u0026c"'),
            ("\n\r\t\b\f\x00\x1f\x7f", '"\\n\\r\\t\\u0008\\u000c\\u0000\\u001f\x7f"'),
            ("caf\u00e9 \u65e5\u672c \U0001f600", '"caf\u00e9 \u65e5\u672c \U0001f600"'),
            ("\u2028\u2029", '"\\u2028\\u2029"'),
            ("bad\ud800", '"bad\\ufffd"'),
            ("\\b\\f\\\\", '"\\\\b\\\\f\\\\\\\\"'),  # backslashes followed by b and f stay as they are
            ("byte \udcff", '"byte \\ufffd"'),
        ]
        for text, expected in table:
            self.assertEqual(go_json.encode_string(text), expected, repr(text))
        self.assertEqual(go_json.marshal({"<\b": "\f"}), '{"\\u003c\\u0008":"\\u000c"}')


class JsonSyntaxTests(SynchronousTestCase):
    def test_valid(self):
        for text in (b"[]", b" [ ] ", b"null", b"{}", b'[{"key":"a","flags":1e3,"value":"\\u00e9"}]', b"-0.5E+2", b"0"):
            self.assertIsNone(go_json.syntax_error(text), text)

    def test_messages(self):
        table = [
            (b"notjson", "invalid character 'o' in literal null (expecting 'u')"),
            (b"", "unexpected end of JSON input"),
            (b"[", "unexpected end of JSON input"),
            (b"[1,]", "invalid character ']' looking for beginning of value"),
            (b"[1] x", "invalid character 'x' after top-level value"),
            (b'{"a" 1}', "invalid character '1' after object key"),
            (b'{"a":1 "b"}', "invalid character '\"' after object key:value pair"),
            (b"[1 2]", "invalid character '2' after array element"),
            (b"{1}", "invalid character '1' looking for beginning of object key string"),
            (b'"a\x01"', "invalid character '\\x01' in string literal"),
            (b'"\\q"', "invalid character 'q' in string escape code"),
            (b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
            (b"-", "invalid character ' ' in numeric literal"),
            (b"-a", "invalid character 'a' in numeric literal"),
            (b"1.", "invalid character ' ' after decimal point in numeric literal"),
            (b"1e+", "invalid character ' ' in exponent of numeric literal"),
            (b"tru", "invalid character ' ' in literal true (expecting 'e')"),
            (b"fals!", "invalid character '!' in literal false (expecting 'e')"),
            (b"'a'", "invalid character '\\'' looking for beginning of value"),
            (b"\xc3\xa9", "invalid character '\u00c3' looking for beginning of value"),
            (b"\xef\xbb\xbf[]", "invalid character '\u00ef' looking for beginning of value"),
            (b"[01]", "invalid character '1' after array element"),
            (b"{}}", "invalid character '}' after top-level value"),
            (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        ]
        for text, expected in table:
            self.assertEqual(go_json.syntax_error(text), expected, text)

    def test_depth_limit(self):
        self.assertIsNone(go_json.syntax_error(b"[" * 10000 + b"]" * 10000))
        self.assertEqual(go_json.syntax_error(b"[" * 10001), "invalid character '[' exceeded max depth")
        self.assertEqual(go_json.syntax_error(b'{"a":' * 10001), "invalid character '{' exceeded max depth")


class UnmarshalTests(SynchronousTestCase):
    def test_values_as_go_interfaces(self):
        value = go_json.unmarshal(b' {"a": [1, -2.5e1, "x", true, false, null], "b": {}, "c": []} ')
        self.assertEqual(value, {"a": [1.0, -25.0, "x", True, False, None], "b": {}, "c": []})
        self.assertIsInstance(value["a"][0], float)  # every number is a float64
        self.assertIsNone(go_json.unmarshal(b"null"))
        self.assertEqual(go_json.unmarshal(b'{"a":1,"a":2}'), {"a": 2.0})  # the last one wins

    def test_broken_text_becomes_replacement_characters(self):
        data = b'{"k\xff": "caf\xc3\xa9 \xff\xfe \\ud800 \\ud83d\\ude00 \\udc00x"}'
        self.assertEqual(go_json.unmarshal(data), {"k\ufffd": "caf\u00e9 \ufffd\ufffd \ufffd \U0001f600 \ufffdx"})

    def test_syntax_errors(self):
        for into in (go_json.ANY, go_json.MAP, go_json.SLICE):
            error = self.assertRaises(go_json.JSONSyntaxError, go_json.unmarshal, b"[1,]", into)
            self.assertEqual(str(error), "invalid character ']' looking for beginning of value")

    def test_type_errors(self):
        table = [
            (b"[1]", go_json.MAP, "json: cannot unmarshal array into Go value of type map[string]interface {}"),
            (b' "s"', go_json.SLICE, "json: cannot unmarshal string into Go value of type []interface {}"),
            (b"-1", go_json.MAP, "json: cannot unmarshal number into Go value of type map[string]interface {}"),
            (b"true", go_json.SLICE, "json: cannot unmarshal bool into Go value of type []interface {}"),
            (b"{}", go_json.SLICE, "json: cannot unmarshal object into Go value of type []interface {}"),
            (b'{"n": [1e400]}', go_json.MAP, "json: cannot unmarshal number 1e400 into Go value of type float64"),
        ]
        for data, into, message in table:
            error = self.assertRaises(go_json.UnmarshalTypeError, go_json.unmarshal, data, into)
            self.assertEqual(str(error), message, data)
        self.assertIsNone(go_json.unmarshal(b"null", go_json.MAP))  # a nil map
        self.assertEqual(go_json.unmarshal(b"[]", go_json.SLICE), [])

    def test_as_deep_as_go_allows(self):
        value = go_json.unmarshal(b'{"a":' * 5000 + b"[" * 5000 + b"]" * 5000 + b"}" * 5000)
        depth = 0
        while value:
            value = value["a"] if isinstance(value, dict) else value[0]
            depth += 1
        self.assertEqual(depth, 9999)  # the innermost array is empty
        error = self.assertRaises(go_json.JSONSyntaxError, go_json.unmarshal, b"[" * 10001 + b"]" * 10001)
        self.assertEqual(str(error), "invalid character '[' exceeded max depth")

    def test_chosen_types(self):
        class Tagged(list):
            pass

        value = go_json.unmarshal(b'[{"n": 12.50}, [0]]', number=str, object_type=dict, array_type=Tagged)
        self.assertEqual(value, [{"n": "12.50"}, ["0"]])
        self.assertIsInstance(value, Tagged)
        self.assertIsInstance(value[1], Tagged)
