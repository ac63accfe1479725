"""consul-template's command shape: its -template flag, its flags, and its
write semantics (config/template.go's ParseTemplateConfig, renderer.go,
manager/runner.go's Run), with real files, a fake agent and a fake clock;
commands are recorded, not run."""

import io
import os
import stat

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.console import Console
from pyconsul.cli.template import command
from pyconsul.template.ctconfig import (
    ConsulTemplateConfig,
    TemplateFlagError,
    TemplateSpec,
    build_consul_template_config,
    parse_template_flag,
)
from pyconsul.template.deps import KVPrefix
from pyconsul.template.ctrender import ConsulTemplateError, ConsulTemplateRunner, Renderer, load_templates
from pyconsul.template.modes import WatchMode
from pyconsul.template.resource import CommandResult
from pyconsul.template.runconfig import RunConfigError
from pyconsul.template.watch import Backoff
from tests.template.fakeagent import FakeAgent
from tests.template.test_modes import in_this_thread
from tests.template.test_quiescence import Turns
from tests.template.test_resource import WORLD, RecordingRunner, read
from tests.template.test_watch import Events

WEB = '{{range service "web"}}{{.Address}}:{{.Port}} {{end}}\n'


class TemplateFlagTests(SynchronousTestCase):
    def test_in_out_command(self):
        cases = {
            "in.tmpl": TemplateSpec("in.tmpl"),
            "in.tmpl:out.conf": TemplateSpec("in.tmpl", "out.conf"),
            "in.tmpl:out.conf:service nginx reload": TemplateSpec("in.tmpl", "out.conf", "service nginx reload"),
            "/a/in:/b/out:sh -c 'x:y:z'": TemplateSpec("/a/in", "/b/out", "sh -c 'x:y:z'"),
            "C:\\in.tmpl:D:\\out.conf:run": TemplateSpec("C:\\in.tmpl", "D:\\out.conf", "run"),
            "in::out": TemplateSpec("in", "out"),
            # A one-letter path followed by a colon reads as a drive letter, in consul-template too.
            "a:b": TemplateSpec("a:b"),
        }
        for text, spec in cases.items():
            self.assertEqual(parse_template_flag(text), spec, text)

    def test_empty(self):
        for text in ("", "  ", ":", "::"):
            with self.assertRaises(TemplateFlagError, msg=text) as caught:
                parse_template_flag(text)
            self.assertEqual(str(caught.exception), "template: cannot be empty")

    def test_display(self):
        self.assertEqual(TemplateSpec("in.tmpl", "/out/x\"y").display(), '"in.tmpl" => "/out/x\\"y"')


class ConfigTests(SynchronousTestCase):
    def test_defaults(self):
        config = build_consul_template_config(["in:out"], environ={})
        self.assertEqual(config, ConsulTemplateConfig([TemplateSpec("in", "out")], "127.0.0.1:8500"))
        self.assertEqual((config.log_level, config.quiescence, config.once, config.dry), ("warn", None, False, False))

    def test_the_environment(self):
        config = build_consul_template_config([], environ={"CONSUL_HTTP_ADDR": "10.0.0.5:8500",
                                                           "CONSUL_HTTP_TOKEN": "secret"})
        self.assertEqual((config.address, config.token), ("10.0.0.5:8500", "secret"))
        config = build_consul_template_config([], address="https://c:8501", environ={"CONSUL_HTTP_ADDR": "x:1"})
        self.assertEqual((config.node.scheme, config.node.authority), ("https", "c:8501"))

    def test_flags(self):
        config = build_consul_template_config(["a:b", "in:out:cmd"], once=True, dry=True, wait="2s", log_level="ERR",
                                              environ={})
        self.assertEqual(config.templates, (TemplateSpec("a:b"), TemplateSpec("in", "out", "cmd")))
        self.assertEqual((config.once, config.dry, config.quiescence, config.log_level),
                         (True, True, (2.0, 8.0), "err"))

    def test_bad_values(self):
        cases = [
            (dict(address="ftp://x:1"), "-consul-addr: node 'ftp://x:1': unknown scheme 'ftp'"),
            (dict(log_level="loud"), '-log-level "loud": expected one of trace, debug, info, warn, err'),
            (dict(wait="soon"), "-wait 'soon'"),
        ]
        for kwargs, message in cases:
            with self.assertRaises(RunConfigError) as caught:
                build_consul_template_config([], environ={}, **kwargs)
            self.assertIn(message, str(caught.exception))


class CommandLineTests(SynchronousTestCase):
    def run_command(self, *argv):
        out, err = io.BytesIO(), io.BytesIO()
        status = command.run(list(argv), Console(io.BytesIO(), out, err, {}))
        return status, out.getvalue().decode(), err.getvalue().decode()

    def test_the_shapes_do_not_mix(self):
        status, _, err = self.run_command("-template", "a:b", "-onetime")
        self.assertEqual((status, err), (1, "Error: -template is consul-template's shape and -onetime is confd's; "
                                            "use one or the other\n"))
        status, _, err = self.run_command("-once", "-confdir", "/etc/confd")
        self.assertEqual(status, 1)
        self.assertIn("-once is consul-template's shape and -confdir is confd's", err)

    def test_a_bad_template_flag_is_consul_templates_status_13(self):
        self.assertEqual(self.run_command("-template", ""), (13, "", "template: cannot be empty\n"))

    def test_a_bad_value_is_an_error(self):
        status, _, err = self.run_command("-template", "a:b", "-consul-addr", "gopher://x")
        self.assertEqual(status, 1)
        self.assertIn("Error: -consul-addr", err)

    def test_help(self):
        status, out, _ = self.run_command("-h")
        self.assertEqual(status, 0)
        for flag in ("-template=<in:out[:command]>", "-consul-addr=<address>", "-once", "-dry", "-wait=<min[:max]>",
                     "-log-level"):
            self.assertIn("  " + flag, out)
        self.assertIn('pyconsul template -template "haproxy.tmpl:/etc/haproxy/haproxy.cfg:systemctl reload '
                      'haproxy"', out)


class Files:
    """A template directory for a test."""

    def __init__(self, testcase):
        self.root = os.path.abspath(testcase.mktemp())
        os.makedirs(self.root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def template(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)


class LoadTests(SynchronousTestCase):
    def test_a_missing_template(self):
        missing = os.path.abspath(self.mktemp())
        with self.assertRaises(ConsulTemplateError) as caught:
            load_templates([TemplateSpec(missing, "out")], WORLD)
        self.assertEqual(str(caught.exception), f"failed to read template: open {missing}: no such file or directory")

    def test_a_template_that_does_not_parse(self):
        path = Files(self).template("bad.tmpl", "{{ range }}")
        with self.assertRaises(ConsulTemplateError) as caught:
            load_templates([TemplateSpec(path, "out")], WORLD)
        self.assertEqual(str(caught.exception), f"{path}: parse: template: :1: missing value for range")

    def test_an_unknown_function(self):
        path = Files(self).template("bad.tmpl", "{{ vault \"x\" }}")
        with self.assertRaises(ConsulTemplateError) as caught:
            load_templates([TemplateSpec(path, "out")], WORLD)
        self.assertIn('function "vault" not defined', str(caught.exception))


class RendererTests(SynchronousTestCase):
    """renderer.go: atomic writes, kept permissions, parents made, dry runs."""

    def setUp(self):
        self.files = Files(self)
        self.dry = io.BytesIO()

    def write(self, dest, contents, dry=False):
        spec = TemplateSpec(self.files.template("t.tmpl", "x"), dest)
        tmpl = load_templates([spec], WORLD)[0]
        return Renderer(WORLD, dry=dry, dry_stream=self.dry).write(tmpl, contents)

    def test_a_new_file_and_its_parents(self):
        dest = self.files.path("a", "b", "out.conf")
        self.assertTrue(self.write(dest, b"one\n"))
        self.assertEqual(read(dest), b"one\n")
        self.assertEqual(stat.S_IMODE(os.stat(dest).st_mode), 0o644)
        self.assertEqual(stat.S_IMODE(os.stat(self.files.path("a")).st_mode) & 0o755, 0o755)
        self.assertEqual(sorted(os.listdir(self.files.path("a", "b"))), ["out.conf"])  # no temporary file left

    def test_the_same_contents_are_not_written_again(self):
        dest = self.files.path("out.conf")
        self.write(dest, b"one\n")
        before = os.stat(dest)
        self.assertFalse(self.write(dest, b"one\n"))
        self.assertEqual(os.stat(dest).st_ino, before.st_ino)

    def test_an_existing_files_mode_is_kept(self):
        dest = self.files.path("out.conf")
        self.write(dest, b"one\n")
        os.chmod(dest, 0o600)
        self.assertTrue(self.write(dest, b"two\n"))
        self.assertEqual((read(dest), stat.S_IMODE(os.stat(dest).st_mode)), (b"two\n", 0o600))

    def test_dry(self):
        dest = self.files.path("out.conf")
        self.assertTrue(self.write(dest, b"one\n", dry=True))
        self.assertEqual(self.dry.getvalue(), f"> {dest}\none\n".encode())
        self.assertFalse(os.path.exists(dest))
        self.write(dest, b"one\n")
        self.dry.truncate(0)
        self.dry.seek(0)
        self.assertFalse(self.write(dest, b"one\n", dry=True))  # nothing would change
        self.assertEqual(self.dry.getvalue(), b"")

    def test_errors(self):
        with self.assertRaises(ConsulTemplateError) as caught:
            self.write("", b"x")
        self.assertTrue(str(caught.exception).endswith('=> "": failed writing file: missing destination'))
        blocker = self.files.template("file", "")
        with self.assertRaises(ConsulTemplateError) as caught:
            self.write(os.path.join(blocker, "out.conf"), b"x")
        self.assertIn(f"failed reading file: open {blocker}/out.conf: not a directory", str(caught.exception))


class RunnerTests(SynchronousTestCase):
    """A batch as Runner.Run: every template, then the commands once each."""

    def setUp(self):
        self.files = Files(self)
        self.commands = RecordingRunner()
        self.output = io.BytesIO()

    def runner(self, specs, dry=False, once=False):
        templates = load_templates(specs, WORLD)
        renderer = Renderer(WORLD, dry=dry, dry_stream=self.output)
        runner = ConsulTemplateRunner(renderer, in_this_thread, commands=self.commands, output=self.output,
                                      once=once, logger=Events().logger())
        return runner, templates

    def spec(self, name, text, command=""):
        return TemplateSpec(self.files.template(name + ".tmpl", text), self.files.path(name + ".conf"), command)

    def sync(self, runner, templates, brain=None):
        return self.successResultOf(runner.sync((t, {}, brain or {}) for t in templates))

    def test_commands_run_after_every_template_once_each_in_flag_order(self):
        runner, templates = self.runner([self.spec("b", "b\n", "reload"), self.spec("a", "a\n", "restart a"),
                                         self.spec("c", "c\n", "reload")])
        self.commands.on_run = lambda command: self.assertTrue(os.path.exists(self.files.path("c.conf")))
        report = self.sync(runner, reversed(templates))
        self.assertEqual((report.errors, self.commands.commands), ([], ["reload", "restart a"]))
        self.sync(runner, templates)
        self.assertEqual(self.commands.commands, ["reload", "restart a"])  # nothing changed

    def test_a_template_that_lacks_data_is_not_written(self):
        runner, templates = self.runner([self.spec("web", WEB, "reload")])
        report = self.sync(runner, templates)
        self.assertEqual((report.errors, self.commands.commands), ([], []))
        self.assertEqual([str(d) for d in report.missing[templates[0]]], ["health.service(web|passing)"])
        self.assertFalse(os.path.exists(templates[0].spec.destination))

    def test_a_failing_command_is_an_error(self):
        self.commands.results["reload"] = CommandResult(b"oops\n", "exit status 1")
        runner, templates = self.runner([self.spec("a", "a\n", "reload")])
        report = self.sync(runner, templates)
        self.assertEqual(self.output.getvalue(), b"oops\n")
        self.assertEqual(len(report.errors), 1)
        text = str(report.errors[0])
        self.assertTrue(text.startswith('1 error occurred:\n\t* failed to execute command "reload" from '), text)
        self.assertIn("This is assumed to be a failure. Please ensure the command\nexits with a zero exit status.",
                      text)

    def test_a_template_error_stops_the_batch(self):
        runner, templates = self.runner([self.spec("a", "a\n", "reload"), self.spec("b", '{{service "a b"}}'),
                                         self.spec("c", "c\n", "reload c")])
        report = self.sync(runner, templates)
        self.assertEqual(self.commands.commands, [])
        self.assertFalse(os.path.exists(self.files.path("c.conf")))
        self.assertEqual(str(report.errors[0]), f'{templates[1].spec.source}: execute: template: :1:2: executing "" '
                                                'at <service "a b">: error calling service: health.service: '
                                                'invalid format: "a b"')

    def test_dry_runs_no_command(self):
        runner, templates = self.runner([self.spec("a", "a\n", "reload")], dry=True)
        self.sync(runner, templates)
        self.assertEqual(self.commands.commands, [])
        self.assertEqual(self.output.getvalue(), f"> {self.files.path('a.conf')}\na\n".encode())

    def test_once_renders_each_template_once(self):
        runner, templates = self.runner([self.spec("a", "{{key \"k\"}}\n", "reload")], once=True)
        self.sync(runner, templates, {KVPrefix("k"): {"k": b"1"}})
        self.sync(runner, templates, {KVPrefix("k"): {"k": b"2"}})
        self.assertEqual((read(self.files.path("a.conf")), self.commands.commands), (b"1\n", ["reload"]))
        self.assertEqual(runner.rendered, set(templates))


class WatchModeTests(SynchronousTestCase):
    """consul-template's shape in watch mode, over the fake agent."""

    def setUp(self):
        self.clock = Clock()
        self.turns = Turns()
        self.agent = FakeAgent(self.clock)
        self.files = Files(self)
        self.commands = RecordingRunner()
        self.reports = []

    def start(self, specs, once=False):
        templates = load_templates(specs, WORLD)
        runner = ConsulTemplateRunner(Renderer(WORLD), in_this_thread, commands=self.commands, once=once,
                                      logger=Events().logger())
        mode = WatchMode(templates, self.agent, runner, self.clock, self.turns.call_soon,
                         make_backoff=lambda: Backoff(jitter=0), logger=Events().logger(),
                         on_synced=self.reports.append, order=lambda t: t.index)
        mode.start()
        self.addCleanup(mode.stop)
        return runner, templates

    def test_renders_what_the_catalog_and_kv_hold_and_follows_them(self):
        self.agent.register("n1", "10.0.0.1", service={"ID": "web1", "Service": "web", "Port": 80})
        source = self.files.template("in.tmpl", '{{key "app/name"}}: ' + WEB)
        dest = self.files.path("out", "web.conf")
        self.start([TemplateSpec(source, dest, "reload")])
        self.turns.settle()
        self.assertFalse(os.path.exists(dest))  # key waits for app/name
        self.agent.put("app/name", "shop")
        self.turns.settle()
        self.assertEqual(read(dest), b"shop: 10.0.0.1:80 \n")
        self.agent.register("n2", "10.0.0.2", service={"ID": "web2", "Service": "web", "Port": 81})
        self.turns.settle()
        self.assertEqual((read(dest), self.commands.commands), (b"shop: 10.0.0.1:80 10.0.0.2:81 \n",
                                                                ["reload", "reload"]))
        self.assertTrue(all(not r.errors for r in self.reports))

    def test_once_renders_everything_once(self):
        source = self.files.template("in.tmpl", WEB)
        runner, templates = self.start([TemplateSpec(source, self.files.path("a"), "ra"),
                                        TemplateSpec(source, self.files.path("b"), "rb")], once=True)
        self.turns.settle()
        self.assertEqual(runner.rendered, set(templates))
        self.agent.register("n2", "10.0.0.2", service={"ID": "web2", "Service": "web", "Port": 81})
        self.turns.settle()
        self.assertEqual((read(self.files.path("a")), self.commands.commands), (b"\n", ["ra", "rb"]))
