"""Go's path.Clean and path.Join, as lock prefixes and confd's keys use them."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.golang.path import clean, join


class CleanJoinTests(SynchronousTestCase):
    def test_join_is_gos(self):
        self.assertEqual(join("service/web", ".lock"), "service/web/.lock")
        self.assertEqual(join("", ".lock"), ".lock")
        self.assertEqual(join("a//b/", ".lock"), "a/b/.lock")
        self.assertEqual(join("a/../b", ".lock"), "b/.lock")
        self.assertEqual(join("/a", ".lock"), "/a/.lock")
        self.assertEqual(join("", ""), "")

    def test_clean_is_gos(self):
        self.assertEqual(clean("../x/./y/.."), "../x")
        self.assertEqual(clean("/../x"), "/x")
        self.assertEqual(clean(""), ".")
        self.assertEqual(clean("a/b/"), "a/b")
