"""The vector runner itself: it must catch every difference the recording shows."""

import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.vectors.runner import CLIResult, HTTPResult, judge, run_vector
from tests.vectors.symbols import Symbols


class ScriptedTarget:
    """Answers requests from a list, in order, and records what was sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def http(self, method, path, body=None, headers=None):
        self.sent.append((method, path, body))
        return self.answers.pop(0)

    def cli(self, argv, stdin, cwd):
        self.sent.append(tuple(argv))
        return self.answers.pop(0)


def http(status=200, body=b"", elapsed=0.0, **headers):
    return HTTPResult(status, [(name.replace("_", "-"), value) for name, value in headers.items()], body, elapsed)


def vector(*steps, order=()):
    return {"name": "v", "kind": "test", "index_order": list(order), "steps": list(steps)}


def run(vector_, target):
    with tempfile.TemporaryDirectory() as directory:
        return run_vector(vector_, target, directory)


class SymbolTests(SynchronousTestCase):
    def test_an_index_keeps_its_value(self):
        symbols = Symbols(["i1"])
        self.assertIsNone(symbols.bind("i1", 5))
        self.assertIsNone(symbols.bind("i1", 5))
        self.assertIn("seen before", symbols.bind("i1", 6))

    def test_indexes_keep_the_recorded_order_and_differ(self):
        symbols = Symbols(["i2", "i1"])
        self.assertIsNone(symbols.bind("i1", 10))
        self.assertIn("{$i2} < {$i1}", symbols.bind("i2", 11))
        self.assertIn("the same as", symbols.bind("i2", 10))
        self.assertIsNone(symbols.bind("i2", 9))

    def test_an_index_must_be_listed_and_an_integer(self):
        symbols = Symbols(["i1"])
        self.assertIn("index_order", symbols.bind("i7", 1))
        self.assertIn("non-negative", symbols.bind("i1", -1))
        self.assertIn("non-negative", symbols.bind("i1", True))

    def test_ids_differ_and_addresses_have_a_port(self):
        symbols = Symbols()
        self.assertIsNone(symbols.bind("u1", "abc"))
        self.assertIn("the same as", symbols.bind("u2", "abc"))
        self.assertIn("host:port", symbols.bind("a1", "127.0.0.1"))
        self.assertIsNone(symbols.bind("a1", "127.0.0.1:8300"))

    def test_text_binds_and_then_matches_literally(self):
        symbols, diffs = Symbols(["i1"]), []
        symbols.match_text("stdout", "Key k\nModifyIndex {$i1}\n", "Key k\nModifyIndex 42\n", diffs)
        self.assertEqual((diffs, symbols.values["i1"]), ([], 42))
        symbols.match_text("stdout", "CreateIndex {$i1}", "CreateIndex 43", diffs)
        symbols.match_text("stdout", "Key k\nModifyIndex {$i1}\n", "Key k\nModifyIndex 44\n", diffs)
        self.assertEqual(diffs, ["stdout: expected 'CreateIndex 42', got 'CreateIndex 43'",
                                 "stdout: line 2: expected 'ModifyIndex 42\\n', got 'ModifyIndex 44\\n'"])

    def test_json_reports_missing_extra_and_wrong_types(self):
        symbols, diffs = Symbols(["i1"]), []
        symbols.match_json({"A": 1, "B": True, "I": "{$i1}"}, {"A": True, "C": 1, "I": 3}, "json", diffs)
        self.assertEqual(
            diffs,
            ["json: missing field(s) B", "json: unexpected field(s) C", "json.A: expected 1, got True"],
        )
        self.assertEqual(symbols.values["i1"], 3)

    def test_json_lists_keep_their_order(self):
        diffs = []
        Symbols().match_json(["a", "b"], ["b", "a"], "json", diffs)
        self.assertEqual(len(diffs), 2)


class JudgeTests(SynchronousTestCase):
    def test_status_headers_and_body(self):
        expect = {"status": 200, "headers": {"X-Consul-Index": "{$i1}", "Vary": "Accept-Encoding"},
                  "headers_present": ["Date"], "body": "true"}
        answer = http(404, b"false", X_Consul_Index="7")
        diffs = judge(expect, answer, Symbols(["i1"]))
        self.assertEqual(diffs, [
            "status: expected 200, got 404",
            "body: expected 'true', got 'false'",
            "header Vary: missing (expected 'Accept-Encoding')",
            "header Date: missing",
        ])

    def test_only_the_named_headers(self):
        expect = {"status": 200, "headers": {"X-Consul-Index": "{$i1}", "Vary": "x"}, "headers_present": ["Date"],
                  "body": ""}
        self.assertEqual(judge(expect, http(X_Consul_Index="7"), Symbols(["i1"]), ["X-Consul-Index"]), [])

    def test_cli_streams_and_exit_status(self):
        expect = {"exit_status": 0, "stdout": "1\n", "stderr": ""}
        self.assertEqual(judge(expect, CLIResult(0, b"1\n", b"", 0), Symbols()), [])
        diffs = judge(expect, CLIResult(1, b"2\n", b"oops", 0), Symbols())
        self.assertEqual(len(diffs), 3)

    def test_elapsed_bounds(self):
        expect = {"status": 200, "body": "", "elapsed_s": {"min": 0.9, "max": 3.0}}
        self.assertEqual(judge(expect, http(elapsed=1.0), Symbols()), [])
        self.assertEqual(len(judge(expect, http(elapsed=0.1), Symbols())), 1)
        self.assertEqual(len(judge(expect, http(elapsed=3.5), Symbols())), 1)


class RunTests(SynchronousTestCase):
    def test_a_bound_index_is_sent_in_a_later_request(self):
        target = ScriptedTarget(http(body=b"true", X_Consul_Index="12"), http(body=b"true"))
        steps = [
            {"http": {"method": "PUT", "path": "/v1/kv/a", "body": "x"},
             "expect": {"status": 200, "headers": {"X-Consul-Index": "{$i1}"}, "body": "true"}},
            {"http": {"method": "PUT", "path": "/v1/kv/a?cas={$i1}"}, "expect": {"status": 200, "body": "true"}},
        ]
        self.assertEqual(run(vector(*steps, order=["i1"]), target), [])
        self.assertEqual(target.sent, [("PUT", "/v1/kv/a", b"x"), ("PUT", "/v1/kv/a?cas=12", None)])

    def test_an_unbound_placeholder_fails_its_step(self):
        steps = [{"http": {"method": "GET", "path": "/v1/kv/a?index={$i1}"}, "expect": {"status": 200, "body": ""}}]
        failures = run(vector(*steps, order=["i1"]), ScriptedTarget())
        self.assertEqual(len(failures), 1)
        self.assertIn("not bound", failures[0][2][0])

    def test_an_async_step_is_judged_when_awaited(self):
        steps = [
            {"async": "watch", "http": {"method": "GET", "path": "/slow"}, "expect": {"status": 200, "body": "late"}},
            {"await": "watch"},
        ]
        failures = run(vector(*steps), ScriptedTarget(http(body=b"early")))
        self.assertEqual([(number, title) for number, title, _ in failures], [(1, "GET /slow")])

    def test_cli_steps_get_their_files(self):
        class Files(ScriptedTarget):
            def cli(self, argv, stdin, cwd):
                with open(cwd + "/data.txt") as handle:
                    return CLIResult(0, handle.read().encode(), b"", 0)

        steps = [{"cli": {"argv": ["kv", "put", "k", "@data.txt"], "files": {"data.txt": {"repeat": ["ab", 2]}}},
                  "expect": {"exit_status": 0, "stdout": "abab", "stderr": ""}}]
        self.assertEqual(run(vector(*steps), Files()), [])
