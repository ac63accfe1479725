"""Replaying recorded vectors (``consul-kv-vectors/1``) through ``main()``.

CLI steps run ``pyconsul.cli.main.main`` with in-memory streams against a
``FakeAgent``; HTTP steps are sent to the same fake agent to look at what the
CLI stored. Index placeholders (``{$i1}``...) bind to the values seen first
and must then stay equal, stay distinct from each other and keep the order
that ``index_order`` records.
"""

import base64
import io
import json
import os
import re

from pyconsul.cli.console import Console
from pyconsul.cli.main import main

from tests.cli.fakeagent import FakeAgent

PROGRAM = "pyconsul"
PLACEHOLDER = re.compile(r"\{\$(\w+)\}")
CLI_KINDS = frozenset(["transcript", "cli-put", "cli-get", "cli-delete", "cli-export-import", "cli-errors"])


def vectors_dir():
    """shared/testdata/consul-kv, beside the repository (not inside it)."""
    repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repository), "shared", "testdata", "consul-kv")


def load_vectors(name="vectors.json"):
    path = os.path.join(vectors_dir(), name)
    if not os.path.exists(path):
        raise AssertionError("the recorded vectors are missing: %s" % path)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["vectors"]


class Mismatch(AssertionError):
    pass


class Placeholders:
    """Index placeholders of one vector: bound on first sight, then checked."""

    def __init__(self, index_order):
        self.order = list(index_order)
        self.values = {}

    def value_of(self, name):
        if name == "prog":
            return PROGRAM
        if name not in self.values:
            raise Mismatch("placeholder {$%s} used before it was seen" % name)
        return self.values[name]

    def fill(self, text):
        return PLACEHOLDER.sub(lambda match: str(self.value_of(match.group(1))), text)

    def bind(self, name, value, where):
        if name in self.values:
            if self.values[name] != value:
                raise Mismatch("%s: {$%s} is %d here but was %d before" % (where, name, value, self.values[name]))
            return
        for other, seen in self.values.items():
            if seen == value:
                raise Mismatch("%s: {$%s} and {$%s} should differ, both are %d" % (where, name, other, value))
        self.values[name] = value

    def check_order(self):
        bound = [name for name in self.order if name in self.values]
        numbers = [self.values[name] for name in bound]
        if numbers != sorted(numbers):
            raise Mismatch("indexes out of the recorded order %s: %s" % (self.order, self.values))

    def match_text(self, expected, actual, where):
        """actual must equal expected, each {$name} standing for its number."""
        pattern, names, seen = [], [], set()
        position = 0
        for match in PLACEHOLDER.finditer(expected):
            pattern.append(re.escape(expected[position:match.start()]))
            name = match.group(1)
            if name == "prog" or name in self.values:
                pattern.append(re.escape(str(self.value_of(name))))
            elif name in seen:
                pattern.append("(?P=%s)" % name)
            else:
                pattern.append("(?P<%s>[0-9]+)" % name)
                seen.add(name)
                names.append(name)
            position = match.end()
        pattern.append(re.escape(expected[position:]))
        found = re.fullmatch("".join(pattern), actual, re.DOTALL)
        if found is None:
            raise Mismatch("%s: expected %r, got %r" % (where, expected, actual))
        for name in names:
            self.bind(name, int(found.group(name)), where)

    def match_json(self, expected, actual, where):
        if isinstance(expected, str) and PLACEHOLDER.fullmatch(expected) and isinstance(actual, int):
            self.bind(PLACEHOLDER.fullmatch(expected).group(1), actual, where)
        elif isinstance(expected, dict) and isinstance(actual, dict):
            if set(expected) != set(actual):
                raise Mismatch("%s: members %s, expected %s" % (where, sorted(actual), sorted(expected)))
            for name in expected:
                self.match_json(expected[name], actual[name], "%s.%s" % (where, name))
        elif isinstance(expected, list) and isinstance(actual, list):
            if len(expected) != len(actual):
                raise Mismatch("%s: %d items, expected %d" % (where, len(actual), len(expected)))
            for number, (want, got) in enumerate(zip(expected, actual)):
                self.match_json(want, got, "%s[%d]" % (where, number))
        elif type(expected) is not type(actual) or expected != actual:
            raise Mismatch("%s: expected %r, got %r" % (where, expected, actual))


def run_cli(argv, agent, stdin=b"", cwd=None, environ=None):
    """main(argv) against agent; returns (exit status, stdout bytes, stderr bytes)."""
    stdout, stderr = io.BytesIO(), io.BytesIO()
    console = Console(io.BytesIO(stdin), stdout, stderr,
                      environ if environ is not None else {"CONSUL_HTTP_ADDR": "127.0.0.1:8500"},
                      cwd=cwd, transport=agent)
    status = main(argv, console)
    return status, stdout.getvalue(), stderr.getvalue()


def _write_files(files, directory):
    for name, content in files.items():
        if isinstance(content, str):
            data = content.encode()
        elif "base64" in content:
            data = base64.b64decode(content["base64"])
        else:
            text, count = content["repeat"]
            data = (text * count).encode()
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(data)


def _expected_stream(expect, name):
    if name + "_base64" in expect:
        return base64.b64decode(expect[name + "_base64"]), True
    return expect[name], False


def replay(vector, directory):
    """Run every step of vector in directory; raises Mismatch at the first difference."""
    agent = FakeAgent()
    symbols = Placeholders(vector.get("index_order", []))
    for number, step in enumerate(vector["steps"], 1):
        where = "%s step %d" % (vector["name"], number)
        expect = step["expect"]
        if "cli" in step:
            spec = step["cli"]
            _write_files(spec.get("files", {}), directory)
            argv = [symbols.fill(argument) for argument in spec["argv"]]
            if "stdin_base64" in spec:
                stdin = base64.b64decode(spec["stdin_base64"])
            else:
                stdin = symbols.fill(spec.get("stdin", "")).encode()
            status, stdout, stderr = run_cli(argv, agent, stdin, cwd=directory)
            where += " (%s)" % " ".join(argv)
            if status != expect["exit_status"]:
                raise Mismatch("%s: exit status %d, expected %d; stderr %r"
                               % (where, status, expect["exit_status"], stderr))
            for stream, actual in (("stdout", stdout), ("stderr", stderr)):
                wanted, raw = _expected_stream(expect, stream)
                if raw:
                    if wanted != actual:
                        raise Mismatch("%s: %s %r, expected %r" % (where, stream, actual, wanted))
                else:
                    symbols.match_text(wanted, actual.decode("utf-8", "replace"), "%s %s" % (where, stream))
            if "save_stdout" in spec:
                with open(os.path.join(directory, spec["save_stdout"]), "wb") as handle:
                    handle.write(stdout)
        elif "http" in step:
            spec = step["http"]
            if "body_base64" in spec:
                body = base64.b64decode(spec["body_base64"])
            elif "body" in spec:
                body = symbols.fill(spec["body"]).encode()
            else:
                body = None
            status, headers, answer = agent.handle(spec["method"], symbols.fill(spec["path"]), body)
            where += " (%s %s)" % (spec["method"], spec["path"])
            if status != expect["status"]:
                raise Mismatch("%s: status %d, expected %d" % (where, status, expect["status"]))
            wanted_index = expect.get("headers", {}).get("X-Consul-Index")
            if wanted_index is not None:
                symbols.match_text(wanted_index, headers.get("X-Consul-Index", ""), where + " X-Consul-Index")
            if "json" in expect:
                symbols.match_json(expect["json"], json.loads(answer), where + " body")
            elif "body" in expect:
                symbols.match_text(expect["body"], answer.decode("utf-8", "replace"), where + " body")
        else:
            raise Mismatch("%s: a step this replay does not know: %s" % (where, sorted(step)))
    symbols.check_order()
