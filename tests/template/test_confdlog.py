"""confd-style log lines."""

import io
import os
import time

from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template.confdlog import ConfdLogObserver, rfc3339


class ConfdLogObserverTests(SynchronousTestCase):
    def setUp(self):
        self.stream = io.BytesIO()

    def log(self, level="info", namespace="pyconsul.template"):
        observer = ConfdLogObserver(self.stream, level, hostname="web1", pid=4242)
        return Logger(namespace=namespace, observer=observer)

    def lines(self):
        return self.stream.getvalue().decode().splitlines()

    def test_confds_layout(self):
        self.log().info("Target config {dest} out of sync", dest="/etc/nginx/nginx.conf")
        (line,) = self.lines()
        stamp, rest = line.split(" ", 1)
        self.assertEqual(rest, "web1 pyconsul[4242]: INFO Target config /etc/nginx/nginx.conf out of sync")
        self.assertRegex(stamp, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")

    def test_level_names(self):
        log = self.log("debug")
        log.debug("d")
        log.info("i")
        log.warn("w")
        log.error("e")
        log.critical("c")
        words = [line.split(": ", 1)[1] for line in self.lines()]
        self.assertEqual(words, ["DEBUG d", "INFO i", "WARNING w", "ERROR e", "FATAL c"])

    def test_threshold(self):
        log = self.log("warn")
        log.info("hidden")
        log.warn("shown")
        self.assertEqual(len(self.lines()), 1)

    def test_twisteds_chatter_only_when_debugging(self):
        self.log("info", namespace="twisted.web.client").info("Starting factory")
        self.log("info", namespace="twisted.web.client").error("real trouble")
        self.assertEqual([line.split(": ", 1)[1] for line in self.lines()], ["ERROR real trouble"])
        self.log("debug", namespace="twisted.web.client").info("Starting factory")
        self.assertEqual(len(self.lines()), 2)

    def test_failures_carry_their_traceback(self):
        try:
            1 / 0
        except ZeroDivisionError:
            self.log().failure("Processing x")
        text = self.stream.getvalue().decode()
        self.assertIn("FATAL Processing x\nTraceback", text)
        self.assertIn("ZeroDivisionError", text)

    def test_rfc3339(self):
        previous = os.environ.get("TZ")
        self.addCleanup(self._restore_tz, previous)
        os.environ["TZ"] = "UTC"
        time.tzset()
        self.assertEqual(rfc3339(0), "1970-01-01T00:00:00Z")
        os.environ["TZ"] = "PST8PDT"
        time.tzset()
        self.assertEqual(rfc3339(1383534294), "2013-11-03T19:04:54-08:00")

    @staticmethod
    def _restore_tz(previous):
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()
