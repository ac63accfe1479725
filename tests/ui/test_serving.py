"""The UI on the HTTP port, through StubTreq: the app's page for every path
under the content path, its files with their types, Consul's redirects, and
nothing of it without -ui."""

import json

import attr
from treq.testing import StubTreq
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.config import build
from pyconsul.testing.server import InMemoryServer
from pyconsul.ui.assets import STATIC, Assets
from pyconsul.ui.resource import with_ui
from tests.http.test_kv import APITestCase

NOT_UNDER_V1 = b"Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"
NO_UI = b"Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart."


def dev_config(**values):
    return build(values, dev=True, hostname="ui-test")[0]


class ServingTestCase(APITestCase):
    """The API's test case, on the port as the agent builds it (with_ui)."""

    config = None  # set per class: which agent config the port is built from

    def setUp(self):
        self.agent = InMemoryServer()
        self.treq = StubTreq(with_ui(self.agent.http.resource(), self.config))


class EnabledTests(ServingTestCase):
    config = attr.evolve(dev_config(), ui_enabled=True)

    def test_every_app_address_is_the_app_page(self):
        for path in ("/ui/", "/ui/dc1/services", "/ui/dc1/services/web", "/ui/dc1/nodes/n%201",
                     "/ui/dc1/kv/a/b/", "/ui/dc1/kv/a/b/edit", "/ui/settings", "/ui/anything/else?x=1"):
            response, content = self.request("GET", path)
            self.assertEqual(response.code, 200, path)
            self.assertEqual(self.header(response, "Content-Type"), "text/html; charset=utf-8", path)
            self.assertIn(b'<script type="module" src="/ui/assets/app.js">', content, path)
            self.assertIn(b'<meta name="pyconsul-ui-content-path" content="/ui/">', content)
            self.assertNotIn(b"{{CONTENT_PATH}}", content)

    def test_assets_with_their_types(self):
        for path, content_type in (("/ui/assets/app.js", "text/javascript; charset=utf-8"),
                                   ("/ui/assets/pages/services.js", "text/javascript; charset=utf-8"),
                                   ("/ui/assets/app.css", "text/css; charset=utf-8")):
            response, content = self.request("GET", path)
            self.assertEqual((response.code, self.header(response, "Content-Type")), (200, content_type), path)
            with open(STATIC + path[len("/ui"):], "rb") as f:
                self.assertEqual(content, f.read())
            self.assertEqual(self.header(response, "X-Content-Type-Options"), "nosniff")

    def test_a_missing_asset_is_404_not_the_page(self):
        response, content = self.request("GET", "/ui/assets/nope.js")
        self.assertEqual((response.code, content), (404, b"404 page not found\n"))

    def test_an_unchanged_asset_is_304(self):
        response, _ = self.request("GET", "/ui/assets/app.js")
        etag = self.header(response, "ETag")
        self.assertEqual(self.header(response, "Cache-Control"), "no-cache")
        response, content = self.request("GET", "/ui/assets/app.js", headers={"If-None-Match": ['"x", ' + etag]})
        self.assertEqual((response.code, content), (304, b""))
        response, _ = self.request("GET", "/ui/assets/app.js", headers={"If-None-Match": ['"other"']})
        self.assertEqual(response.code, 200)

    def test_root_redirects_to_the_ui(self):
        for method in ("GET", "PUT"):
            response, content = self.request(method, "/")
            self.assertEqual((response.code, self.header(response, "Location")), (301, "/ui/"), method)
        response, content = self.request("GET", "/")
        self.assertEqual(content, b'<a href="/ui/">Moved Permanently</a>.\n\n')

    def test_the_content_path_without_its_slash(self):
        response, _ = self.request("GET", "/ui?a=1")
        self.assertEqual((response.code, self.header(response, "Location")), (301, "/ui/?a=1"))

    def test_unclean_paths_are_cleaned_first(self):
        response, _ = self.request("GET", "/ui//dc1/services")
        self.assertEqual((response.code, self.header(response, "Location")), (301, "/ui/dc1/services"))
        response, _ = self.request("GET", "/ui/assets/../../v1/status/leader")
        self.assertEqual((response.code, self.header(response, "Location")), (301, "/v1/status/leader"))

    def test_robots(self):
        response, content = self.request("GET", "/robots.txt")
        self.assertEqual((response.code, content), (200, b"User-agent: *\nDisallow: /\n"))

    def test_the_api_is_untouched(self):
        response, content = self.request("GET", "/v1/status/leader")
        self.assertEqual(response.code, 200)
        self.assertIsInstance(json.loads(content), str)
        response, content = self.request("GET", "/v1/kv/nothing-here")
        self.assertEqual(response.code, 404)
        response, content = self.request("GET", "/nope")
        self.assertEqual((response.code, content), (404, NOT_UNDER_V1))


class ContentPathTests(ServingTestCase):
    config = attr.evolve(dev_config(), ui_enabled=True, ui_content_path='/consul/"ui"/')

    def test_the_app_lives_there(self):
        response, content = self.request("GET", "/consul/%22ui%22/dc1/kv/")
        self.assertEqual(response.code, 200)
        # Escaped into the page: a content path cannot break out of its attribute.
        self.assertIn(b'content="/consul/&quot;ui&quot;/"', content)
        response, _ = self.request("GET", "/")
        self.assertEqual(self.header(response, "Location"), "/consul/%22ui%22/")
        response, content = self.request("GET", "/ui/")
        self.assertEqual((response.code, content), (404, NOT_UNDER_V1))


class DisabledTests(ServingTestCase):
    config = dev_config()

    def setUp(self):
        self.config = attr.evolve(self.config, ui_enabled=False)
        super().setUp()

    def test_no_ui_without_the_flag(self):
        for path in ("/ui/", "/ui/dc1/services", "/ui/assets/app.js", "/robots.txt"):
            response, content = self.request("GET", path)
            self.assertEqual((response.code, content), (404, NOT_UNDER_V1), path)
        response, content = self.request("GET", "/")
        self.assertEqual((response.code, content), (200, NO_UI))

    def test_the_resource_is_the_apis_own(self):
        api = self.agent.http.resource()
        self.assertIs(with_ui(api, self.config), api)


class AssetTests(SynchronousTestCase):
    def test_every_shipped_file_has_a_known_type(self):
        assets = Assets.load()
        self.assertIn("assets/app.js", assets.files)
        for name, asset in assets.files.items():
            self.assertNotEqual(asset.content_type, "application/octet-stream", name)

    def test_lookup(self):
        assets = Assets.load("/x/")
        self.assertIs(assets.lookup("dc1/services"), assets.index)
        self.assertIs(assets.lookup(""), assets.index)
        self.assertIs(assets.lookup("index.html"), assets.index)
        self.assertIsNone(assets.lookup("assets/missing.css"))
        self.assertIs(assets.lookup("assets/app.css"), assets.files["assets/app.css"])
        self.assertIn(b'href="/x/assets/app.css"', assets.index.body)

    def test_modules_import_only_shipped_modules(self):
        """Every relative import of every module names a file that is served."""
        import posixpath
        import re

        assets = Assets.load()
        for name, asset in assets.files.items():
            if not name.endswith(".js"):
                continue
            for target in re.findall(r'(?:from|import)\s*\(?\s*"(\.[^"]+)"', asset.body.decode()):
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
                self.assertIn(resolved, assets.files, "%s imports %s" % (name, target))


class PackagingTests(SynchronousTestCase):
    def test_setup_cfg_ships_every_static_file(self):
        """A plain `pip install .` carries the whole UI: each file under
        static/ matches one of setup.cfg's package_data patterns."""
        import configparser
        import fnmatch
        import os

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        parser = configparser.ConfigParser()
        parser.read(os.path.join(root, "setup.cfg"))
        patterns = [p.strip() for p in parser["options.package_data"]["pyconsul.ui"].split(",")]
        for name in Assets.load().files.keys() | {"index.html"}:
            relative = "static/" + name
            self.assertTrue(any(fnmatch.fnmatchcase(relative, p) and relative.count("/") == p.count("/")
                                for p in patterns), relative)
