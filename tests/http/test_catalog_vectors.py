"""The recorded Consul catalog, agent and health vectors, against a fresh
in-memory agent each (as they were recorded, one `consul agent -dev` per vector)."""

import tempfile

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.testing.server import InMemoryServer
from tests.vectors import load
from tests.vectors.runner import run_vector
from tests.vectors.targets import InMemoryAgent

KINDS = frozenset(["agent-service", "agent-check", "catalog", "health", "session", "txn"])


def catalog_vectors():
    return [v for v in load("consul-catalog", "vectors.json") if v["kind"] in KINDS]


class CatalogVectorTests(SynchronousTestCase):
    def test_vectors_found(self):
        self.assertEqual(len(catalog_vectors()), 44)


def _make_test(vector):
    def test(self):
        server = InMemoryServer()
        server.advance(1)
        with tempfile.TemporaryDirectory() as directory:
            failures = run_vector(vector, InMemoryAgent(server), directory)
        self.assertEqual(failures, [])

    test.__doc__ = vector.get("about") or "Vector %s (%s)." % (vector["name"], vector["kind"])
    return test


for _vector in catalog_vectors():
    setattr(CatalogVectorTests, "test_" + _vector["name"].replace("-", "_"), _make_test(_vector))
