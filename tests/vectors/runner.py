"""Running a vector's steps against a target and judging the answers.

A target answers ``http(method, path, body, headers)`` with an
``HTTPResult`` and ``cli(argv, stdin, cwd)`` with a ``CLIResult``
(``tests.vectors.targets`` has a live agent and the in-memory fake one).

Steps run in order. An HTTP step marked ``async`` is sent in a thread of its
own and judged at the later ``await`` step that names it; that is how a
recorded blocking query shows it returns when a write arrives while it
waits. A ``sleep`` step lets that much time pass, as it did when the vector
was recorded: the answers do not depend on it (a write that lands before
the blocking query arrives makes the query return at once, with the same
answer).
"""

import base64
import hashlib
import json
import os
import threading
import time

import attrs

from tests.vectors.symbols import Symbols, short

ASYNC_TIMEOUT = 70.0


@attrs.frozen
class HTTPResult:
    status: int
    headers: list  # [(name, value)], as sent
    body: bytes
    elapsed: float

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@attrs.frozen
class CLIResult:
    exit_status: int
    stdout: bytes
    stderr: bytes
    elapsed: float


class VectorError(Exception):
    """The vector itself is malformed."""


def _file_bytes(content):
    if isinstance(content, str):
        return content.encode()
    if "base64" in content:
        return base64.b64decode(content["base64"])
    text, count = content["repeat"]
    return (text * count).encode()


def _request_body(spec, symbols):
    if "body_base64" in spec:
        return base64.b64decode(spec["body_base64"])
    if "body_repeat" in spec:
        text, count = spec["body_repeat"]
        return (text * count).encode()
    if "body" in spec:
        body = spec["body"]
        return symbols.fill(body if isinstance(body, str) else json.dumps(body)).encode()
    return None


def execute(step, target, workdir, symbols):
    """Send one http or cli step, its placeholders filled from symbols."""
    if "http" in step:
        spec = step["http"]
        headers = {name: symbols.fill(value) for name, value in spec.get("headers", {}).items()}
        return target.http(spec["method"], symbols.fill(spec["path"]), _request_body(spec, symbols), headers)
    spec = step["cli"]
    for name, content in spec.get("files", {}).items():
        if os.path.isabs(name) or ".." in name.split("/"):
            raise VectorError("file name %r must stay in the working directory" % name)
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(_file_bytes(content))
    if "stdin_base64" in spec:
        stdin = base64.b64decode(spec["stdin_base64"])
    else:
        stdin = symbols.fill(spec.get("stdin", "")).encode()
    result = target.cli([symbols.fill(argument) for argument in spec["argv"]], stdin, workdir)
    if "save_stdout" in spec:
        with open(os.path.join(workdir, spec["save_stdout"]), "wb") as handle:
            handle.write(result.stdout)
    return result


class Background:
    """An async step, running until its await step collects it."""

    def __init__(self, send):
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=(send,), daemon=True)
        self.thread.start()

    def _run(self, send):
        try:
            self.result = send()
        except Exception as error:  # reported when awaited
            self.error = error

    def collect(self):
        self.thread.join(ASYNC_TIMEOUT)
        if self.thread.is_alive():
            raise TimeoutError("no answer after %.0f s" % ASYNC_TIMEOUT)
        if self.error is not None:
            raise self.error
        return self.result


def title(step, symbols):
    def show(text):
        try:
            return symbols.fill(text)
        except KeyError:
            return text

    if "http" in step:
        text = "%s %s" % (step["http"]["method"], show(step["http"]["path"]))
    else:
        text = " ".join(show(argument) for argument in step["cli"]["argv"])
    return text if len(text) <= 100 else text[:97] + "..."


def run_vector(vector, target, workdir, prog="pyconsul", headers=None):
    """Run every step of vector; returns [(step number, title, [difference, ...])].

    headers: the names of the headers to judge (all that were recorded when None).
    """
    symbols = Symbols(vector.get("index_order", []), prog)
    failures, running = [], {}
    for number, step in enumerate(vector["steps"], 1):
        if "sleep" in step:
            # A target on a fake clock lets the time pass there instead.
            getattr(target, "sleep", time.sleep)(step["sleep"])
            continue
        if "async" in step:
            running[step["async"]] = (number, step, Background(lambda s=step: execute(s, target, workdir, symbols)))
            continue
        try:
            if "await" in step:
                if step["await"] not in running:
                    raise VectorError("step %d awaits %r, which was never started" % (number, step["await"]))
                number, step, background = running.pop(step["await"])
                result = background.collect()
            elif "http" in step or "cli" in step:
                result = execute(step, target, workdir, symbols)
            else:
                raise VectorError("step %d is neither http, cli, sleep, async nor await" % number)
        except KeyError as error:
            diffs = ["{$%s} is not bound: the earlier step that shows it did not match" % error.args[0]]
        except (OSError, TimeoutError) as error:
            diffs = ["%s: %s" % (type(error).__name__, error)]
        else:
            diffs = judge(step["expect"], result, symbols, headers)
        if diffs:
            failures.append((number, title(step, symbols), diffs))
    if running:
        raise VectorError("async steps never awaited: %s" % ", ".join(sorted(running)))
    return failures


def judge(expect, result, symbols, headers=None):
    """What differs between a recorded expectation and an answer."""
    judged = None if headers is None else {name.lower() for name in headers}
    diffs = []
    if isinstance(result, HTTPResult):
        if result.status != expect["status"]:
            diffs.append("status: expected %d, got %d" % (expect["status"], result.status))
        _judge_body(expect, result.body, symbols, diffs)
        for name, value in expect.get("headers", {}).items():
            if judged is None or name.lower() in judged:
                symbols.match_text("header %s" % name, value, result.header(name), diffs)
        for name in expect.get("headers_present", []):
            if (judged is None or name.lower() in judged) and result.header(name) is None:
                diffs.append("header %s: missing" % name)
    else:
        if result.exit_status != expect["exit_status"]:
            diffs.append("exit status: expected %d, got %d (stderr %s)"
                         % (expect["exit_status"], result.exit_status, short(result.stderr)))
        for stream in ("stdout", "stderr"):
            actual = getattr(result, stream)
            if stream + "_base64" in expect:
                if base64.b64decode(expect[stream + "_base64"]) != actual:
                    diffs.append("%s: expected bytes %s, got %s"
                                 % (stream, short(base64.b64decode(expect[stream + "_base64"])), short(actual)))
            else:
                symbols.match_text(stream, expect[stream], actual.decode("utf-8", "replace"), diffs)
    bounds = expect.get("elapsed_s")
    if bounds:
        low, high = bounds.get("min"), bounds.get("max")
        if (low is not None and result.elapsed < low) or (high is not None and result.elapsed > high):
            diffs.append("elapsed: took %.3f s, expected between %s and %s s" % (result.elapsed, low, high))
    return diffs


def _judge_body(expect, body, symbols, diffs):
    if "json" in expect:
        try:
            parsed = json.loads(body)
        except ValueError:
            diffs.append("body: expected JSON %s, got %s" % (short(expect["json"]), short(body)))
        else:
            symbols.match_json(expect["json"], parsed, "json", diffs)
    elif "body_sha256" in expect:
        digest = hashlib.sha256(body).hexdigest()
        if len(body) != expect["body_length"] or digest != expect["body_sha256"]:
            diffs.append("body: expected %d bytes with sha256 %s, got %d bytes with sha256 %s"
                         % (expect["body_length"], expect["body_sha256"][:12], len(body), digest[:12]))
    elif "body_base64" in expect:
        if base64.b64decode(expect["body_base64"]) != body:
            wanted = base64.b64decode(expect["body_base64"])
            diffs.append("body: expected bytes %s, got %s" % (short(wanted), short(body)))
    elif "body" in expect:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            diffs.append("body: expected text %s, got bytes %s" % (short(expect["body"]), short(body)))
        else:
            symbols.match_text("body", expect["body"], text, diffs)
