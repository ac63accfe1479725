"""Member addresses printed as Go's net.TCPAddr prints them."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.netaddr import tcp_address


class TcpAddressTests(SynchronousTestCase):
    def test_table(self):
        table = [
            ("10.0.0.1", 8301, "10.0.0.1:8301"),
            ("127.0.0.1", 0, "127.0.0.1:0"),
            # Go 1.16 reads leading zeros as decimal and drops them.
            ("010.000.0.01", 8301, "10.0.0.1:8301"),
            ("::1", 8301, "[::1]:8301"),
            ("2001:0DB8:0000:0000:0000:0000:0000:0010", 8302, "[2001:db8::10]:8302"),
            # The longest run of zero groups becomes "::", the first on a tie; one alone stays.
            ("1:0:0:2:0:0:0:3", 1, "[1:0:0:2::3]:1"),
            ("1:0:0:2:0:0:3:4", 1, "[1::2:0:0:3:4]:1"),
            ("1:0:2:3:4:5:6:7", 1, "[1:0:2:3:4:5:6:7]:1"),
            ("::ffff:10.0.0.7", 8301, "10.0.0.7:8301"),
            # What Go cannot parse prints as an empty host.
            ("", 8301, ":8301"),
            ("node1.example.com", 8301, ":8301"),
            ("256.0.0.1", 8301, ":8301"),
            ("10.0.0", 8301, ":8301"),
            ("10.0.0.1:8301", 8301, ":8301"),
            ("fe80::1%eth0", 8301, ":8301"),
            ("1.2.3.\u0664", 8301, ":8301"),
        ]
        for host, port, expected in table:
            self.assertEqual(tcp_address(host, port), expected, host)
