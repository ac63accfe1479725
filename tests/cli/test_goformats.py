"""Go's base64 decoder, JSON encoder and scanner messages, Duration.String, Quote."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul import goparse
from pyconsul.cli import gobase64, gojson


class Base64Tests(SynchronousTestCase):
    def test_decodes(self):
        table = [
            ("", b""),
            ("aGk=", b"hi"),
            ("aGk=\n", b"hi"),
            ("aG\r\nk=", b"hi"),
            ("aGVsbG8gd29ybGQ=", b"hello world"),
            ("aA==", b"h"),
            ("aB==", b"h"),  # Go ignores the bits left over in the last character
            ("AAH+/w==", b"\x00\x01\xfe\xff"),
        ]
        for text, expected in table:
            self.assertEqual(gobase64.decode(text), expected, text)

    def test_error_offsets(self):
        table = [
            ("!!!", 0),
            ("aGk", 0),
            ("aG", 0),
            ("a", 0),
            ("a===", 1),
            ("aG=", 3),
            ("aG=x", 2),
            ("aGk=x", 4),
            ("aGk=\nx", 5),
            ("aGVsbG8gd29ybGQ", 12),
            ("aGVs bG8=", 4),
            ("aGVs-A==", 4),
        ]
        for text, offset in table:
            error = self.assertRaises(gobase64.Base64Error, gobase64.decode, text)
            self.assertEqual(str(error), "illegal base64 data at input byte %d" % offset, text)


class JsonEncodingTests(SynchronousTestCase):
    def test_export_layout(self):
        entries = [{"key": "x/a", "flags": 7, "value": "aGVsbG8="}, {"key": "x/b", "flags": 0, "value": ""}]
        self.assertEqual(
            gojson.marshal_indent(entries),
            '[\n\t{\n\t\t"key": "x/a",\n\t\t"flags": 7,\n\t\t"value": "aGVsbG8="\n\t},\n'
            '\t{\n\t\t"key": "x/b",\n\t\t"flags": 0,\n\t\t"value": ""\n\t}\n]',
        )
        self.assertEqual(gojson.marshal_indent([]), "[]")
        self.assertEqual(gojson.marshal_indent({"a": [], "b": {}, "c": None, "d": True}),
                         '{\n\t"a": [],\n\t"b": {},\n\t"c": null,\n\t"d": true\n}')

    def test_string_escapes(self):
        table = [
            ("plain/key", '"plain/key"'),
            ('q"b\\s', '"q\\"b\\\\s"'),
            ("a<b>&c", '"a\\u003cb\\u003e\\u0026c"'),
            ("\n\r\t\b\f\x00\x1f\x7f", '"\\n\\r\\t\\u0008\\u000c\\u0000\\u001f\x7f"'),
            ("caf\u00e9 \u65e5\u672c \U0001f600", '"caf\u00e9 \u65e5\u672c \U0001f600"'),
            ("\u2028\u2029", '"\\u2028\\u2029"'),
            ("bad\ud800", '"bad\\ufffd"'),
        ]
        for text, expected in table:
            self.assertEqual(gojson.encode_string(text), expected, repr(text))


class JsonSyntaxTests(SynchronousTestCase):
    def test_valid(self):
        for text in (b"[]", b" [ ] ", b"null", b"{}", b'[{"key":"a","flags":1e3,"value":"\\u00e9"}]', b"-0.5E+2", b"0"):
            self.assertIsNone(gojson.syntax_error(text), text)

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
        ]
        for text, expected in table:
            self.assertEqual(gojson.syntax_error(text), expected, text)

    def test_depth_limit(self):
        self.assertIsNone(gojson.syntax_error(b"[" * 10000 + b"]" * 10000))
        self.assertEqual(gojson.syntax_error(b"[" * 10001), "invalid character '[' exceeded max depth")


class GoTextTests(SynchronousTestCase):
    def test_format_duration(self):
        table = [
            (0, "0s"),
            (1, "1ns"),
            (1500, "1.5\u00b5s"),
            (1500000, "1.5ms"),
            (goparse.SECOND, "1s"),
            (90 * goparse.SECOND, "1m30s"),
            (goparse.HOUR, "1h0m0s"),
            (-(goparse.HOUR + goparse.SECOND // 2), "-1h0m0.5s"),
        ]
        for value, expected in table:
            self.assertEqual(goparse.format_duration(value), expected)

    def test_quote(self):
        table = [
            ("abc", '"abc"'),
            ('a"b\\', '"a\\"b\\\\"'),
            ("\n\t\x01\x7f", '"\\n\\t\\x01\\x7f"'),
            ("\u00e9\u00a0\u200b", '"\u00e9\\u00a0\\u200b"'),
            ("\udcff", '"\\xff"'),
        ]
        for text, expected in table:
            self.assertEqual(goparse.quote(text), expected, repr(text))
