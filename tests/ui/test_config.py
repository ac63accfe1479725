"""The UI's settings as Consul reads them: -ui, ui_config, the older ui and
ui_content_path keys, and -dev turning it on."""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.config import ConfigError, build, build_from_flags
from pyconsul import tap


class UIConfigTests(SynchronousTestCase):
    def build(self, values=None, files=(), dev=True):
        paths = []
        for number, content in enumerate(files):
            path = os.path.join(self.mktemp() + ".json")
            with open(path, "w") as f:
                json.dump(content, f)
            paths.append(path)
        return build(values or {}, config_files=paths, dev=dev, hostname="h")

    def test_off_by_default_and_on_with_dev(self):
        data_dir = self.mktemp()
        config, _ = build({"data_dir": data_dir}, hostname="h")
        self.assertEqual((config.ui_enabled, config.ui_content_path), (False, "/ui/"))
        config, _ = self.build()
        self.assertIs(config.ui_enabled, True)  # Consul's -dev enables the UI

    def test_dev_can_turn_it_off(self):
        config, _ = self.build({"ui_config": {"enabled": False}})
        self.assertIs(config.ui_enabled, False)

    def test_the_flags(self):
        config, warnings = build_from_flags({"data-dir": self.mktemp(), "ui": True, "ui-content-path": "console"},
                                            hostname="h")
        self.assertEqual((config.ui_enabled, config.ui_content_path, warnings), (True, "/console/", []))

    def test_twistd_options(self):
        options = tap.Options()
        options.parseOptions(["--data-dir", self.mktemp(), "--ui", "--ui-content-path", "/a/b"])
        self.assertEqual((options.config.ui_enabled, options.config.ui_content_path), (True, "/a/b/"))

    def test_content_path_gets_its_slashes(self):
        for given, path in (("", "/ui/"), ("ui", "/ui/"), ("/x/y", "/x/y/"), ("//z//", "/z/")):
            config, _ = self.build({"ui_config": {"content_path": given}})
            self.assertEqual(config.ui_content_path, path, given)

    def test_bad_content_paths(self):
        for given, problem in (("///", "not only slashes"), ("/v1/ui", "under /v1/")):
            with self.assertRaises(ConfigError) as caught:
                self.build({"ui_config": {"content_path": given}})
            self.assertIn("'ui_config.content_path'", str(caught.exception))
            self.assertIn(problem, str(caught.exception))

    def test_the_older_keys_with_consuls_warnings(self):
        config, warnings = self.build(dev=False, files=[{"ui": True, "ui_content_path": "old", "data_dir": self.mktemp()}])
        self.assertEqual((config.ui_enabled, config.ui_content_path), (True, "/old/"))
        self.assertEqual(warnings, [
            "The 'ui' field is deprecated. Use the 'ui_config.enabled' field instead.",
            "The 'ui_content_path' field is deprecated. Use the 'ui_config.content_path' field instead.",
        ])

    def test_ui_config_wins_over_the_older_keys(self):
        config, _ = self.build(dev=False, files=[{"ui": True, "data_dir": self.mktemp()},
                                                  {"ui_config": {"enabled": False, "content_path": "/new/"},
                                                   "ui_content_path": "/old/"}])
        self.assertEqual((config.ui_enabled, config.ui_content_path), (False, "/new/"))

    def test_consuls_other_ui_keys_warn(self):
        _, warnings = self.build({"ui_config": {"enabled": True, "metrics_provider": "prometheus"}})
        self.assertEqual(len(warnings), 1)
        self.assertIn("'ui_config.metrics_provider'", warnings[0])

    def test_wrong_types(self):
        with self.assertRaises(ConfigError) as caught:
            self.build({"ui_config": {"enabled": "yes"}})
        self.assertIn("'ui_config.enabled' must be a boolean", str(caught.exception))
