"""Recorded behaviour vectors (``tests/data``) and the runner that checks an
agent against them.

A vector is a list of steps, each an HTTP request or a CLI call, with the
answer the real program gave. ``load`` reads a file of them; ``run_vector``
sends the steps to a target (a live agent, or the in-memory fake agent) and
returns the differences; ``Symbols`` binds the placeholders that stand for
values which differ between implementations (Raft indexes, IDs, addresses).
"""

import json
import os

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
FORMAT = "consul-kv-vectors/1"


def data_path(*parts):
    """A file of the suite's recorded data; its absence is an error, not a skip."""
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        raise AssertionError("missing recorded test data: %s" % path)
    return path


def load(*parts):
    """The vectors of a ``consul-kv-vectors/1`` file under tests/data."""
    with open(data_path(*parts), encoding="utf-8") as handle:
        document = json.load(handle)
    if document.get("format") != FORMAT:
        raise AssertionError("%s is not in format %s" % (os.path.join(*parts), FORMAT))
    return document["vectors"]
