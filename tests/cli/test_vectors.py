"""Every recorded ``consul kv`` CLI vector, replayed through ``main()``.

One test per vector of the CLI kinds in ../shared/testdata/consul-kv/vectors.json:
the exact stdout, stderr and exit status consul printed must come out of
pyconsul, against an in-memory agent.
"""

import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.cli.replay import CLI_KINDS, load_vectors, replay

EXPECTED_CLI_VECTORS = 20


class CliVectorTests(SynchronousTestCase):
    def test_vectors_found(self):
        """The vectors file is there and holds the CLI vectors (never skipped)."""
        names = [vector["name"] for vector in load_vectors() if vector["kind"] in CLI_KINDS]
        self.assertGreaterEqual(len(names), EXPECTED_CLI_VECTORS, names)


def _make_test(vector):
    def test(self):
        with tempfile.TemporaryDirectory() as directory:
            replay(vector, directory)

    test.__doc__ = vector.get("about") or "Vector %s (%s)." % (vector["name"], vector["kind"])
    return test


def _add_vector_tests():
    try:
        vectors = load_vectors()
    except AssertionError:
        return  # test_vectors_found reports the missing file
    for vector in vectors:
        if vector["kind"] in CLI_KINDS:
            name = "test_" + vector["name"].replace("-", "_")
            setattr(CliVectorTests, name, _make_test(vector))


_add_vector_tests()
