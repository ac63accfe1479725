"""Headless Chromium (Debian's, driven by Playwright) against a real agent
process, for the UI's browser tests.

Playwright's sync API runs here in plain synchronous trial tests (no reactor
runs in them); each test starts its own ``-dev`` agent on a loopback address
of its own (NET.14.x) and its own browser, and both are stopped by the
test's cleanups. Waits are Playwright's, with deadlines.
"""

import json
import os
import shutil
import urllib.parse

from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import Agent, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DEADLINE_MS = 15000

log = Logger()


def launch_browser():
    """(playwright, browser): Debian's Chromium, headless."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception:
        playwright.stop()
        raise
    return playwright, browser


def require_browser():
    """Fail, not skip, without the browser: CI installs it (.ci/run)."""
    if shutil.which(CHROMIUM) is None:
        raise AssertionError("no %s: apt-get install chromium" % CHROMIUM)


class BrowserTestCase(SynchronousTestCase):
    """A test with a dev agent (``-dev`` serves the UI, as Consul's does) and a browser."""

    def start(self, address, extra=()):
        require_browser()
        from playwright.sync_api import expect

        expect.set_options(timeout=DEADLINE_MS)
        self.agent = Agent(self, address, ["--dev", "--node", "node-" + address.rsplit(".", 1)[1], *extra])
        self.agent.start()  # boots while the browser starts
        playwright, browser = launch_browser()
        self.addCleanup(playwright.stop)
        self.addCleanup(browser.close)
        self.browser = browser
        self.agent.wait_until_leader()
        self.base = "http://%s" % self.agent.http
        self.node = "node-" + address.rsplit(".", 1)[1]
        self.shots = os.path.abspath(self.mktemp())
        os.makedirs(self.shots)
        return self.new_page()

    def new_page(self, width=1200, height=900):
        context = self.browser.new_context(viewport={"width": width, "height": height})
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(DEADLINE_MS)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        self.addCleanup(lambda: self.assertEqual(errors, [], "JavaScript errors on the page"))
        return page

    def open(self, page, path):
        page.goto(self.base + path)
        page.wait_for_selector("main[data-ready]")
        return page

    def screenshot(self, page, name):
        path = os.path.join(self.shots, name + ".png")
        page.screenshot(path=path, full_page=True)
        log.info("UI screenshot of {name}: {path}", name=name, path=path)
        return path

    # -- the HTTP API, as any client uses it ------------------------------------

    def api(self, method, path, body=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        return self.agent.request(method, path, body)

    def put(self, path, body=None):
        status, content = self.api("PUT", path, body)
        self.assertEqual(status, 200, content)
        return json.loads(content) if content else None

    def register(self, service):
        self.put("/v1/agent/service/register", service)

    def kv(self, key):
        """The entry of ``key`` as the API has it, or None."""
        status, content = self.api("GET", "/v1/kv/" + urllib.parse.quote(key))
        return json.loads(content)[0] if status == 200 else None

    def wait_for_kv(self, key, condition, what):
        return wait_for(lambda: condition(self.kv(key)), timeout=DEADLINE_MS / 1000, what=what)
