"""confd's options: its TOML file, the command line, and which wins."""

import io
import os

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.console import Console
from pyconsul.cli.flags import FlagSet
from pyconsul.cli.template import TEMPLATE_FLAGS, command, given_options
from pyconsul.template.runconfig import (
    RunConfig,
    RunConfigError,
    build_run_config,
    parse_wait,
    read_config_file,
)

MISSING = "/nonexistent/confd.toml"


def from_flags(*argv, config_file=MISSING, environ=None):
    parsed = FlagSet(TEMPLATE_FLAGS).parse(list(argv))
    given = parsed.is_set("config-file")
    return build_run_config(given_options(parsed), config_file=parsed.config_file if given else config_file,
                            config_file_given=given, environ=environ or {})[0]


class FlagTests(SynchronousTestCase):
    def test_the_users_command_line(self):
        config = from_flags("-confdir", "./", "-interval", "2", "-backend", "consul", "-node", "localhost:8500")
        self.assertEqual(config.mode, "interval")
        self.assertEqual((config.confdir, config.interval, config.nodes), ("./", 2, ("localhost:8500",)))

    def test_double_dashes_as_go(self):
        config = from_flags("--confdir=./", "--interval=2", "--backend", "consul", "--node=localhost:8500")
        self.assertEqual((config.mode, config.interval, config.nodes), ("interval", 2, ("localhost:8500",)))

    def test_defaults(self):
        config = from_flags()
        self.assertEqual(config, RunConfig())
        self.assertEqual(config.mode, "watch")
        self.assertEqual(config.nodes, ("127.0.0.1:8500",))
        self.assertIsNone(config.quiescence)

    def test_watch_wins_over_interval(self):
        self.assertEqual(from_flags("-watch", "-interval", "5").mode, "watch")

    def test_onetime(self):
        self.assertEqual(from_flags("-onetime", "-interval", "5").mode, "onetime")

    def test_every_option(self):
        config = from_flags("-confdir", "/c", "-prefix", "/prod", "-noop", "-sync-only", "-keep-stage-file",
                            "-log-level", "DEBUG", "-node", "a:1", "-node", "http://b:2", "-wait", "5ms:1s",
                            "-scheme", "https")
        self.assertEqual(config.nodes, ("a:1", "http://b:2"))
        self.assertEqual((config.log_level, config.scheme), ("debug", "https"))
        self.assertEqual(config.quiescence, (0.005, 1.0))
        settings = config.settings
        self.assertEqual((settings.confdir, settings.prefix, settings.noop, settings.sync_only,
                          settings.keep_stage_file), ("/c", "/prod", True, True, True))

    def test_token_from_the_environment(self):
        self.assertEqual(from_flags(environ={"CONSUL_HTTP_TOKEN": "t"}).token, "t")

    def test_bad_values(self):
        cases = [
            (("-backend", "etcd"), 'backend "etcd" is not supported'),
            (("-interval", "0"), "interval must be at least 1 second, not 0"),
            (("-log-level", "loud"), 'not a valid level: "loud"'),
            (("-node", "ftp://x:1"), "unknown scheme 'ftp'"),
            (("-wait", "fast"), "-wait 'fast'"),
            (("-wait", "1s:10ms"), "need 0 <= MIN <= MAX"),
            (("-wait=-1s",), "need 0 <= MIN <= MAX"),
            (("-wait=1s:2s:3s",), "-wait '1s:2s:3s': expected MIN or MIN:MAX"),
            (("-wait=",), "-wait '': time: invalid duration"),
            (("-scheme", "gopher"), 'scheme must be "http" or "https"'),
        ]
        for argv, message in cases:
            with self.assertRaises(RunConfigError, msg=argv) as caught:
                from_flags(*argv)
            self.assertIn(message, str(caught.exception))

    def test_parse_wait(self):
        self.assertEqual(parse_wait("20ms"), (0.02, 0.08))
        self.assertEqual(parse_wait("0s"), (0, 0))
        self.assertEqual(parse_wait("1s:2s"), (1, 2))
        self.assertEqual(parse_wait(" 1s : 2s "), (1, 2))

    def test_wait_is_quiescence_as_consul_templates(self):
        self.assertEqual(from_flags("-wait=2s").quiescence, (2, 8))
        self.assertEqual(from_flags("-wait", "20ms:50ms").quiescence, (0.02, 0.05))
        self.assertEqual(from_flags("--wait=1s:1s").quiescence, (1, 1))

    def test_a_wait_of_zero_renders_at_once(self):
        self.assertIsNone(from_flags("-wait=0s").quiescence)
        self.assertIsNone(from_flags("-wait=0:5s").quiescence)


class ConfigFileTests(SynchronousTestCase):
    def write(self, text):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_confds_keys(self):
        path = self.write(
            'backend = "consul"\nnodes = ["10.0.0.1:8500", "10.0.0.2:8500"]\nprefix = "/app"\n'
            'interval = 30\nnoop = true\nsync-only = true\nlog-level = "warn"\nconfdir = "/srv/confd"\n'
            'keep-stage-file = true\nscheme = "https"\n'
        )
        config, warnings = build_run_config({}, config_file=path, config_file_given=True, environ={})
        self.assertEqual(warnings, [])
        self.assertEqual(config.nodes, ("10.0.0.1:8500", "10.0.0.2:8500"))
        self.assertEqual((config.prefix, config.interval, config.mode), ("/app", 30, "interval"))
        self.assertEqual((config.noop, config.sync_only, config.keep_stage_file), (True, True, True))
        self.assertEqual((config.log_level, config.confdir, config.scheme), ("warn", "/srv/confd", "https"))

    def test_confds_own_spelling_of_keep_stage_file(self):
        options, _ = read_config_file(self.write("KeepStageFile = true\n"))
        self.assertEqual(options, {"keep_stage_file": True})

    def test_watch_in_the_file(self):
        config, _ = build_run_config({}, config_file=self.write("interval = 5\nwatch = true\n"), environ={})
        self.assertEqual(config.mode, "watch")

    def test_flags_win_over_the_file(self):
        path = self.write('interval = 30\nnodes = ["10.0.0.1:8500"]\nprefix = "/file"\n')
        config = from_flags("-config-file", path, "-interval", "2", "-node", "h:1", "-prefix", "")
        self.assertEqual((config.interval, config.nodes, config.prefix), (2, ("h:1",), ""))

    def test_the_default_file_is_read_when_it_exists(self):
        path = self.write("interval = 7\n")
        config, _ = build_run_config({}, config_file=path, config_file_given=False, environ={})
        self.assertEqual(config.interval, 7)

    def test_a_named_file_must_exist(self):
        with self.assertRaises(RunConfigError) as caught:
            from_flags("-config-file", "/nonexistent/x.toml")
        self.assertEqual(str(caught.exception),
                         "cannot read config file /nonexistent/x.toml: No such file or directory")

    def test_wrong_types_name_the_file_and_key(self):
        for text, message in [
            ('interval = "10"\n', "interval must be an integer, not '10'"),
            ("watch = 1\n", "watch must be true or false, not 1"),
            ('nodes = "a:1"\n', "nodes must be a list of strings"),
            ("nodes = []\n", "nodes is empty"),
            ("interval = true\n", "interval must be an integer"),
        ]:
            path = self.write(text)
            with self.assertRaises(RunConfigError) as caught:
                build_run_config({}, config_file=path, config_file_given=True, environ={})
            self.assertIn(message, str(caught.exception))
            if "empty" not in message:
                self.assertIn(path, str(caught.exception))

    def test_bad_toml(self):
        path = self.write("interval = = 3\n")
        with self.assertRaises(RunConfigError) as caught:
            read_config_file(path)
        self.assertIn("config file %s:" % path, str(caught.exception))

    def test_unused_and_unknown_keys_are_warnings(self):
        path = self.write('client_cert = "/c.pem"\nfrobnicate = 1\n')
        _, warnings = build_run_config({}, config_file=path, config_file_given=True, environ={})
        self.assertEqual(warnings, [
            f"config file {path}: client_cert is not used with the consul backend; ignored",
            f"config file {path}: unknown key 'frobnicate' ignored",
        ])


class CommandTests(SynchronousTestCase):
    """What the command says before it starts anything."""

    def run_command(self, *argv):
        out, err = io.BytesIO(), io.BytesIO()
        status = command.run(list(argv), Console(io.BytesIO(), out, err, {}))
        return status, out.getvalue().decode(), err.getvalue().decode()

    def test_a_config_error_is_one_line_and_status_1(self):
        self.assertEqual(self.run_command("-backend", "etcd", "-config-file", MISSING + "x", "-onetime")[0], 1)
        status, out, err = self.run_command("-backend", "etcd")
        self.assertEqual((status, out), (1, ""))
        self.assertTrue(err.startswith('Error: backend "etcd" is not supported'), err)
        self.assertEqual(err.count("\n"), 1)

    def test_unknown_flag_as_go(self):
        status, _, err = self.run_command("-frobnicate")
        self.assertEqual(status, 1)
        self.assertIn("flag provided but not defined: -frobnicate", err)

    def test_no_arguments(self):
        status, _, err = self.run_command("extra")
        self.assertEqual(status, 1)
        self.assertIn("Error found unexpected args: [extra]", err)

    def test_help(self):
        status, out, _ = self.run_command("-h")
        self.assertEqual(status, 0)
        self.assertIn("pyconsul template -confdir ./ -interval 2 -backend consul -node localhost:8500", out)
        for flag in ("-confdir", "-config-file", "-onetime", "-interval", "-watch", "-node", "-backend",
                     "-prefix", "-noop", "-sync-only", "-keep-stage-file", "-log-level", "-wait"):
            self.assertIn("  %s" % flag, out)
        self.assertIn("-wait=<min[:max]>", out)
        self.assertIn("Without it (or with a MIN of 0) a change is rendered as soon as it is seen.",
                      " ".join(out.split()))
