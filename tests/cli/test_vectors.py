"""Every recorded ``consul kv`` CLI vector, replayed through ``main()``.

One test per vector of the CLI kinds in tests/data/consul-kv/vectors.json:
the exact stdout, stderr and exit status consul printed must come out of
pyconsul, against the in-memory agent. The HTTP steps of these vectors look
at what the CLI stored; the fake agent answers them, and of their headers
only X-Consul-Index is judged (the fake models no others; the live agent's
headers are judged in tests.integration.test_kv_agent).
"""

import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.cli.fakeagent import FakeAgent
from tests.vectors import load
from tests.vectors.runner import run_vector
from tests.vectors.targets import InProcess

CLI_KINDS = frozenset(["transcript", "cli-put", "cli-get", "cli-delete", "cli-export-import", "cli-errors"])
EXPECTED_CLI_VECTORS = 20


def cli_vectors():
    return [vector for vector in load("consul-kv", "vectors.json") if vector["kind"] in CLI_KINDS]


class CliVectorTests(SynchronousTestCase):
    def test_vectors_found(self):
        """The vectors file is there and holds the CLI vectors (never skipped)."""
        names = [vector["name"] for vector in cli_vectors()]
        self.assertGreaterEqual(len(names), EXPECTED_CLI_VECTORS, names)


def _make_test(vector):
    def test(self):
        with tempfile.TemporaryDirectory() as directory:
            failures = run_vector(vector, InProcess(FakeAgent()), directory, headers=["X-Consul-Index"])
        self.assertEqual(failures, [])

    test.__doc__ = vector.get("about") or "Vector %s (%s)." % (vector["name"], vector["kind"])
    return test


for _vector in cli_vectors():
    setattr(CliVectorTests, "test_" + _vector["name"].replace("-", "_"), _make_test(_vector))
