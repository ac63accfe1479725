"""``pyconsul kv ...`` against the in-memory agent, beyond the recorded vectors."""

import json
import os
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.http import Response, TransportError
from pyconsul.cli.kv import format_detailed
from pyconsul.cli.kvapi import KVPair

from tests.cli.fakeagent import FakeAgent
from tests.cli.test_http import ScriptedTransport
from tests.vectors import load
from tests.vectors.targets import run_cli


class KvTestCase(SynchronousTestCase):
    def setUp(self):
        self.agent = FakeAgent()

    def kv(self, *argv, stdin=b"", agent=None, environ=None, cwd=None):
        return run_cli(["kv"] + list(argv), agent or self.agent, stdin, cwd=cwd, environ=environ)

    def assertRun(self, result, status, stdout=b"", stderr=b""):
        self.assertEqual(result, (status, stdout, stderr))

    def value(self, key):
        entry = self.agent.entries.get(key)
        return None if entry is None else (entry["Value"], entry["Flags"])

    def writes(self):
        return [request for request in self.agent.requests if request[0] != "GET"]


def scripted(answer):
    return ScriptedTransport(answer)


class PutTests(KvTestCase):
    def test_undecodable_base64_writes_nothing(self):
        """Consul writes an empty value and exits 0 here; pyconsul refuses."""
        self.kv("put", "k", "old")
        result = self.kv("put", "-base64", "k", "!!!")
        self.assertRun(result, 1, stderr=b"Error! Cannot base 64 decode data: illegal base64 data at input byte 0\n")
        self.assertEqual(self.value("k"), (b"old", 0))
        self.assertEqual(len(self.writes()), 1)

    def test_base64(self):
        self.assertRun(self.kv("put", "-base64", "k", "aGVsbG8gd29ybGQ="), 0, b"Success! Data written to: k\n")
        self.assertEqual(self.value("k"), (b"hello world", 0))

    def test_flags(self):
        self.kv("put", "-flags=0x10", "k", "v")
        self.assertEqual(self.value("k"), (b"v", 16))
        self.assertIn("/v1/kv/k?flags=16", self.agent.requests[-1][1])

    def test_bad_flags_value(self):
        status, stdout, stderr = self.kv("put", "-flags=abc", "k", "v")
        self.assertEqual((status, stdout), (1, b""))
        lines = stderr.decode().splitlines()
        self.assertEqual(lines[:2], ['invalid value "abc" for flag -flags: parse error', "Usage:"])
        self.assertIn("  -modify-index uint", lines)
        self.assertEqual(self.agent.requests, [])

    def test_modify_index_without_cas_is_ignored(self):
        self.kv("put", "k", "1")
        self.assertRun(self.kv("put", "-modify-index=999", "k", "2"), 0, b"Success! Data written to: k\n")
        self.assertEqual(self.value("k"), (b"2", 0))

    def test_leading_slash_is_refused(self):
        self.assertRun(self.kv("put", "/foo", "x"), 1,
                       stderr=b"Error! Failed writing data: Invalid key. Key must not begin with a '/': /foo\n")
        self.assertRun(self.kv("put", "-cas", "/foo", "x"), 1,
                       stderr=b"Error! Did not write to /foo: Invalid key. Key must not begin with a '/': /foo\n")
        self.assertEqual(self.agent.requests, [])

    def test_arguments(self):
        self.assertRun(self.kv("put"), 1, stderr=b"Error! Missing KEY argument\n")
        self.assertRun(self.kv("put", "a", "b", "c"), 1, stderr=b"Error! Too many arguments (expected 1 or 2, got 3)\n")
        self.assertRun(self.kv("put", "k", ""), 0, b"Success! Data written to: k\n")
        self.assertEqual(self.value("k"), (b"", 0))

    def test_values_that_look_like_flags(self):
        """After the key everything is data; "-x" is data, and "--" lets "-h" be data too."""
        self.kv("put", "k", "-x")
        self.assertEqual(self.value("k"), (b"-x", 0))
        self.assertRun(self.kv("put", "--", "k", "-h"), 0, b"Success! Data written to: k\n")
        self.assertEqual(self.value("k"), (b"-h", 0))

    def test_command_line_bytes_are_kept(self):
        """Arguments that are not UTF-8 reach the agent as the bytes that were typed."""
        self.kv("put", "k\udcff", "v\udcfe")
        self.assertEqual(self.agent.requests[-1][1], "/v1/kv/k%FF")
        self.assertEqual(self.agent.requests[-1][2], b"v\xfe")

    def test_unreadable_file(self):
        directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, directory)
        self.assertRun(self.kv("put", "k", "@" + directory), 1,
                       stderr=b"Error! Failed to read file: read %s: is a directory\n" % directory.encode())
        self.assertRun(self.kv("put", "k", "@"), 1,
                       stderr=b"Error! Failed to read file: open : no such file or directory\n")

    def test_lock_needs_session(self):
        for flag in ("-acquire", "-release"):
            self.assertRun(self.kv("put", flag, "k", "v"), 1,
                           stderr=b"Error! Missing -session (required with -acquire and -release)\n")

    def test_acquire_and_release(self):
        answers = {"acquire": b"true", "release": b"false"}
        transport = scripted(lambda request: Response(200, {}, answers["acquire" if "acquire=" in request.target else "release"]))
        self.assertRun(self.kv("put", "-acquire", "-session=s1", "lock", "v", agent=transport), 0,
                       b"Success! Lock acquired on: lock\n")
        self.assertEqual(transport.requests[-1].target, "/v1/kv/lock?acquire=s1")
        self.assertRun(self.kv("put", "-release", "-session=s1", "lock", agent=transport), 1,
                       stderr=b"Error! Did not release lock\n")
        answers["acquire"] = b"false"
        self.assertRun(self.kv("put", "-acquire", "-session=s1", "lock", agent=transport), 1,
                       stderr=b"Error! Did not acquire lock\n")

    def test_agent_errors(self):
        transport = scripted(lambda request: Response(500, {}, b"No cluster leader"))
        self.assertRun(self.kv("put", "k", "v", agent=transport), 1,
                       stderr=b"Error! Failed writing data: Unexpected response code: 500 (No cluster leader)\n")
        self.assertRun(self.kv("put", "-cas", "-modify-index=3", "k", "v", agent=transport), 1,
                       stderr=b"Error! Did not write to k: Unexpected response code: 500 (No cluster leader)\n")

    def test_unreachable_agent(self):
        refused = scripted(lambda request: TransportError("dial tcp 127.0.0.1:8500: connect: connection refused"))
        self.assertRun(self.kv("put", "foo", "1", agent=refused), 1,
                       stderr=b'Error! Failed writing data: Put "http://127.0.0.1:8500/v1/kv/foo": '
                              b"dial tcp 127.0.0.1:8500: connect: connection refused\n")
        self.assertRun(self.kv("get", "foo", agent=refused), 1,
                       stderr=b'Error querying Consul agent: Get "http://127.0.0.1:8500/v1/kv/foo": '
                              b"dial tcp 127.0.0.1:8500: connect: connection refused\n")

    def test_agent_address_and_token(self):
        transport = scripted(lambda request: Response(200, {}, b"true"))
        environ = {"CONSUL_HTTP_ADDR": "10.0.0.1:8500", "CONSUL_HTTP_TOKEN": "secret"}
        self.kv("put", "-http-addr=https://10.0.0.2:8501", "k", "v", agent=transport, environ=environ)
        request = transport.requests[0]
        self.assertEqual(request.url, "https://10.0.0.2:8501/v1/kv/k")
        self.assertIn(("X-Consul-Token", "secret"), request.headers)

    def test_bad_address_scheme(self):
        self.assertRun(self.kv("put", "k", "v", environ={"CONSUL_HTTP_ADDR": "ftp://x:1"}), 1,
                       stderr=b"Error connecting to Consul agent: Unknown protocol scheme: ftp\n")


class GetTests(KvTestCase):
    def test_binary_value(self):
        self.agent.handle("PUT", "/v1/kv/b", b"\x00\xff\n")
        self.assertRun(self.kv("get", "b"), 0, b"\x00\xff\n\n")

    def test_base64(self):
        self.kv("put", "k", "hello")
        self.assertRun(self.kv("get", "-base64", "k"), 0, b"aGVsbG8=\n")
        self.assertRun(self.kv("get", "-recurse", "-base64"), 0, b"k:aGVsbG8=\n")
        status, stdout, _ = self.kv("get", "-detailed", "-base64", "k")
        self.assertTrue(stdout.endswith(b"\nValue            aGVsbG8=\n"), stdout)

    def test_detailed_empty_value(self):
        """An empty value leaves "Value" alone on its line, without padding."""
        self.kv("put", "k")
        status, stdout, _ = self.kv("get", "-detailed", "k")
        self.assertTrue(stdout.endswith(b"Session          -\nValue\n"), stdout)

    def test_detailed_layout_with_tabs_and_session(self):
        """Consul's tabwriter: a tab in the value opens a second column on that line."""
        pair = KVPair(key="k", create_index=5, modify_index=1234567, lock_index=2, flags=9, value=b"a\tb",
                      session="adf4238a-882b-9ddc-4a9d-5b6758e4159e")
        self.assertEqual(
            format_detailed(pair),
            b"CreateIndex      5\n"
            b"Flags            9\n"
            b"Key              k\n"
            b"LockIndex        2\n"
            b"ModifyIndex      1234567\n"
            b"Session          adf4238a-882b-9ddc-4a9d-5b6758e4159e\n"
            b"Value            a      b",
        )

    def test_detailed_key_with_newline(self):
        """A line with a single cell closes the column: what follows aligns on its own."""
        pair = KVPair(key="a\nb", create_index=1, modify_index=1, value=b"v")
        self.assertEqual(
            format_detailed(pair),
            b"CreateIndex      1\nFlags            0\nKey              a\nb\n"
            b"LockIndex        0\nModifyIndex      1\nSession          -\nValue            v",
        )

    def test_read_options(self):
        transport = scripted(lambda request: Response(404, {}, b""))
        self.kv("get", "-stale", "-datacenter=dc2", "k", agent=transport)
        self.kv("get", "-keys", "-separator=:", "a", agent=transport)
        self.kv("get", "-recurse", "/a b", agent=transport)
        self.assertEqual([request.target for request in transport.requests],
                         ["/v1/kv/k?dc=dc2&stale=", "/v1/kv/a?keys=&separator=%3A", "/v1/kv/a%20b?recurse="])

    def test_agent_error(self):
        transport = scripted(lambda request: Response(500, {}, b"No path to datacenter"))
        self.assertRun(self.kv("get", "-datacenter=nope", "k", agent=transport), 1,
                       stderr=b"Error querying Consul agent: Unexpected response code: 500 (No path to datacenter)\n")

    def test_arguments(self):
        self.assertRun(self.kv("get", "/"), 1, stderr=b"Error! Missing KEY argument\n")
        self.assertRun(self.kv("get", "-recurse", "a", "b"), 1, stderr=b"Too many arguments (expected 1, got 2)\n")
        self.assertEqual(self.agent.requests, [])

    def test_unknown_flag(self):
        status, stdout, stderr = self.kv("get", "-nope", "k")
        self.assertEqual((status, stdout), (1, b""))
        self.assertEqual(stderr.decode().splitlines()[:2], ["flag provided but not defined: -nope", "Usage:"])
        self.assertIn(b'  -separator string\n    \t', stderr)
        self.assertIn(b'(default "/")\n', stderr)


class DeleteTests(KvTestCase):
    def test_modify_index_needs_cas(self):
        self.assertRun(self.kv("delete", "-modify-index=5", "k"), 1, stderr=b"Cannot specify -modify-index without -cas!\n")

    def test_arguments(self):
        self.assertRun(self.kv("delete"), 1, stderr=b"Error! Missing KEY argument\n")
        self.assertRun(self.kv("delete", "a", "b"), 1, stderr=b"Too many arguments (expected 1, got 2)\n")

    def test_recurse_everything(self):
        self.kv("put", "a", "1")
        self.kv("put", "b/c", "2")
        self.assertRun(self.kv("delete", "-recurse", "/"), 0, b"Success! Deleted keys with prefix: \n")
        self.assertEqual(self.agent.entries, {})

    def test_agent_errors(self):
        transport = scripted(lambda request: Response(403, {}, b"Permission denied"))
        self.assertRun(self.kv("delete", "k", agent=transport), 1,
                       stderr=b"Error deleting key k: Unexpected response code: 403 (Permission denied)\n")
        self.assertRun(self.kv("delete", "-recurse", "p/", agent=transport), 1,
                       stderr=b"Error! Did not delete prefix p/: Unexpected response code: 403 (Permission denied)\n")
        self.assertRun(self.kv("delete", "-cas", "-modify-index=4", "k", agent=transport), 1,
                       stderr=b"Error! Did not delete key k: Unexpected response code: 403 (Permission denied)\n")


class ExportImportTests(KvTestCase):
    def test_export_escapes_like_go(self):
        self.kv("put", "-flags=18446744073709551615", "a<b>&c", "\u00e9")
        status, stdout, stderr = self.kv("export")
        self.assertEqual((status, stderr), (0, b""))
        self.assertEqual(
            stdout.decode(),
            '[\n\t{\n\t\t"key": "a\\u003cb\\u003e\\u0026c",\n\t\t"flags": 18446744073709551615,\n'
            '\t\t"value": "w6k="\n\t}\n]\n',
        )

    def test_import_shapes(self):
        table = [
            (b"null", b""),
            (b"[]", b""),
            (b'[{"KEY": "a", "Flags": 2, "VALUE": "aGk=", "extra": [1]}]', b"Imported: a\n"),
            (b'[{"key": "b", "key": "c", "flags": null, "value": null}]', b"Imported: c\n"),
        ]
        for data, stdout in table:
            self.assertRun(self.kv("import", "-", stdin=data), 0, stdout)
        self.assertEqual(self.value("a"), (b"hi", 2))
        self.assertEqual(self.value("c"), (b"", 0))
        self.assertNotIn("b", self.agent.entries)

    def test_import_shape_errors(self):
        table = [
            (b"{}", "expected a JSON array of entries (as written by kv export), got an object"),
            (b'"x"', "expected a JSON array of entries (as written by kv export), got a string"),
            (b"[null]", 'entry 0 is null; each entry must be an object with "key", "flags" and "value"'),
            (b'[{"key": "a"}, 5]', 'entry 1 is the number 5; each entry must be an object with "key", "flags" and "value"'),
            (b'[{"key": 1}]', 'entry 0: "key" must be a string, not the number 1'),
            (b'[{"value": true}]', 'entry 0: "value" must be a string, not a boolean'),
            (b'[{"flags": -1}]', 'entry 0: "flags" must be a whole number from 0 to 18446744073709551615, not the number -1'),
            (b'[{"flags": 1.0}]', 'entry 0: "flags" must be a whole number from 0 to 18446744073709551615, not the number 1.0'),
            (b'[{"flags": 18446744073709551616}]',
             'entry 0: "flags" must be a whole number from 0 to 18446744073709551615, not the number 18446744073709551616'),
            (b"", "unexpected end of JSON input"),
            (b"[{]", "invalid character ']' looking for beginning of object key string"),
        ]
        for data, message in table:
            self.assertRun(self.kv("import", "-", stdin=data), 1, stderr=b"Cannot unmarshal data: %s\n" % message.encode())
        self.assertEqual(self.writes(), [])

    def test_import_stops_at_bad_value(self):
        data = '[{"key": "a", "value": "aGk="}, {"key": "b", "value": "!"}, {"key": "c", "value": ""}]'
        self.assertRun(self.kv("import", "-prefix=p/", data), 1, b"Imported: p/a\n",
                       b"Error base 64 decoding value for key b: illegal base64 data at input byte 0\n")
        self.assertEqual(sorted(self.agent.entries), ["p/a"])

    def test_import_arguments(self):
        self.assertRun(self.kv("import", ""), 1, stderr=b"Error! Empty DATA argument\n")
        self.assertRun(self.kv("import", "a", "b"), 1, stderr=b"Error! Too many arguments (expected 1, got 2)\n")

    def test_import_namespace_and_errors(self):
        transport = scripted(lambda request: Response(400, {}, b"Namespaces are a Consul Enterprise feature"))
        self.assertRun(self.kv("import", '[{"key": "k", "value": "", "namespace": "team"}]', agent=transport), 1,
                       stderr=b"Error! Failed writing data for key k: Unexpected response code: 400 "
                              b"(Namespaces are a Consul Enterprise feature)\n")
        self.assertEqual(transport.requests[0].target, "/v1/kv/k?ns=team")

    def test_import_leading_slash(self):
        self.assertRun(self.kv("import", '[{"key": "/k", "value": ""}]'), 1,
                       stderr=b"Error! Failed writing data for key /k: Invalid key. Key must not begin with a '/': /k\n")

    def test_export_import_unicode_roundtrip(self):
        self.kv("put", "\u65e5\u672c/\u00e9", "\u2603")
        status, exported, _ = self.kv("export")
        self.kv("delete", "-recurse")
        self.assertRun(self.kv("import", "-", stdin=exported), 0, "Imported: \u65e5\u672c/\u00e9\n".encode())
        self.assertEqual(self.value("\u65e5\u672c/\u00e9"), ("\u2603".encode(), 0))


class UsageTests(KvTestCase):
    def test_kv_alone_and_unknown_subcommand(self):
        for argv in ([], ["frob"]):
            status, stdout, stderr = self.kv(*argv)
            self.assertEqual((status, stdout), (1, b""))
            text = stderr.decode()
            self.assertTrue(text.startswith("Usage: pyconsul kv <subcommand> [options] [args]\n"), text)
            self.assertIn("\nSubcommands:\n    delete    ", text)
            for name in ("export", "get", "import", "put"):
                self.assertIn("\n    %s" % name, text)

    def test_help(self):
        for argv in (["put", "-h"], ["put", "k", "-help"], ["put", "--help", "k", "v"]):
            status, stdout, stderr = self.kv(*argv)
            self.assertEqual((status, stderr), (0, b""), argv)
            self.assertTrue(stdout.startswith(b"Usage: pyconsul kv put [options] KEY [DATA]\n"), stdout)
            self.assertIn(b"\nCommand Options\n\n  -acquire\n", stdout)
            self.assertIn(b"\n  -modify-index=<uint>\n", stdout)
        status, stdout, stderr = self.kv("-h")
        self.assertEqual(status, 0)
        self.assertTrue(stdout.startswith(b"Usage: pyconsul kv <subcommand>"))
        self.assertEqual(self.agent.requests, [])

    def test_help_texts_fit(self):
        """Help lines stay within 72 columns and use no tabs, like Consul's."""
        for argv in (["put"], ["get"], ["delete"], ["export"], ["import"], []):
            status, stdout, _ = self.kv(*argv, "-h")
            for line in stdout.decode().splitlines():
                self.assertLessEqual(len(line), 72, line)
                self.assertNotIn("\t", line)


class QuirkVectorTests(KvTestCase):
    """quirks.json: where Consul's answer is clear it is followed, elsewhere pyconsul words its own."""

    def steps(self, name):
        for vector in load("consul-kv", "quirks.json"):
            if vector["name"] == name:
                return vector["steps"]
        raise AssertionError("quirks.json has no vector %s" % name)

    def test_import_errors(self):
        directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, directory)
        for step in self.steps("cli-import-errors"):
            argv, expect = step["cli"]["argv"], step["expect"]
            status, stdout, stderr = run_cli(argv, self.agent, cwd=directory)
            self.assertEqual((status, stdout.decode()), (expect["exit_status"], expect["stdout"]), argv)
            if "Go value of type" in expect["stderr"]:
                self.assertEqual(stderr, b"Cannot unmarshal data: expected a JSON array of entries "
                                         b"(as written by kv export), got an object\n")
            else:
                self.assertEqual(stderr.decode(), expect["stderr"], argv)

    def test_usage_errors_keep_the_first_line_and_status(self):
        for name in ("cli-flag-parse-error", "cli-unknown-flag", "cli-kv-usage"):
            for step in self.steps(name):
                expect = step["expect"]
                status, stdout, stderr = run_cli(step["cli"]["argv"], self.agent)
                self.assertEqual((status, stdout.decode()), (expect["exit_status"], expect["stdout"]))
                first = expect["stderr"].split("\n")[0].replace("{$prog}", "pyconsul")
                self.assertEqual(stderr.decode().split("\n")[0], first)

    def test_base64_quirk_is_an_error(self):
        steps = self.steps("cli-put-base64")
        bad = [step for step in steps if "cli" in step and "!!!" in step["cli"]["argv"]][0]
        run_cli(["kv", "put", "k", "kept"], self.agent)
        status, stdout, stderr = run_cli(bad["cli"]["argv"], self.agent)
        self.assertEqual(status, 1)
        self.assertEqual(stdout, b"")
        self.assertEqual(stderr.decode(), bad["expect"]["stderr"])
        self.assertEqual(self.value("k"), (b"kept", 0))
        self.assertEqual(json.loads(self.agent.handle("GET", "/v1/kv/k")[2])[0]["Value"], "a2VwdA==")
