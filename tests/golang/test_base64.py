"""Go's base64.StdEncoding: what it decodes, and the offsets its errors name."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.golang import base64 as go_base64


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
            ("YW\nJj", b"abc"),
            (b"YWJj", b"abc"),
        ]
        for text, expected in table:
            self.assertEqual(go_base64.decode(text), expected, text)

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
            ("YWI=\nYw==", 5),
            ("YW*=", 2),
            ("====", 0),
            ("aGk=aGk=", 4),
        ]
        for text, offset in table:
            error = self.assertRaises(go_base64.CorruptInputError, go_base64.decode, text)
            self.assertEqual(str(error), "illegal base64 data at input byte %d" % offset, text)
            self.assertEqual(error.offset, offset)

    def test_encodes_padded(self):
        table = [(b"", ""), (b"h", "aA=="), (b"hi", "aGk="), (b"\x00\x01\xfe\xff", "AAH+/w==")]
        for data, expected in table:
            self.assertEqual(go_base64.encode(data), expected)
