"""The process's side of a command: its streams, environment and directory.

Commands write bytes, because KV values are bytes and must reach stdout
unchanged. Text is encoded as UTF-8, with ``surrogateescape`` so that a key
given on the command line comes back out as the very bytes that were typed.
Tests build a Console over in-memory streams and a fake transport.
"""

import os
import sys


def to_bytes(data):
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    return bytes(data)


class Console:
    def __init__(self, stdin, stdout, stderr, environ, cwd=None, transport=None):
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environ = environ
        self.cwd = cwd
        self.transport = transport  # None: real network connections

    @classmethod
    def from_process(cls):
        # A stream is None when its descriptor was closed before start-up.
        stdin = sys.stdin.buffer if sys.stdin is not None else None
        stdout = sys.stdout.buffer if sys.stdout is not None else open(os.devnull, "wb")
        stderr = sys.stderr.buffer if sys.stderr is not None else open(os.devnull, "wb")
        return cls(stdin, stdout, stderr, os.environ)

    def out(self, data=b""):
        """A line on stdout (the text and a newline)."""
        self.stdout.write(to_bytes(data) + b"\n")

    def err(self, data=b""):
        """A line on stderr."""
        self.stderr.write(to_bytes(data) + b"\n")

    def write_out(self, data):
        self.stdout.write(to_bytes(data))

    def write_err(self, data):
        self.stderr.write(to_bytes(data))

    def flush(self):
        self.stdout.flush()
        self.stderr.flush()

    def read_stdin(self):
        return self.stdin.read() if self.stdin is not None else b""

    def read_file(self, path):
        """The bytes of a file named on the command line (relative to cwd)."""
        full_path = os.fsencode(path)
        if self.cwd is not None:
            full_path = os.path.join(os.fsencode(self.cwd), full_path)
        with open(full_path, "rb") as handle:
            return handle.read()
