"""confd resources: loading conf.d files and applying them to the file system.

Commands go through a recording runner, so check and reload behaviour is
tested without subprocesses; SubprocessRunnerTests covers the real runner.
"""

import hashlib
import os
import stat

from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import (
    CheckFailed,
    CommandResult,
    Processor,
    ReloadFailed,
    RenderError,
    ResourceConfigError,
    ResourceError,
    Settings,
    SubprocessRunner,
    World,
    entries_from_consul,
    load_resource,
    load_resources,
    required_prefixes,
)
from pyconsul.template.dns import StaticResolver
from pyconsul.template.resource import go_file_mode, parse_mode
from tests.template.test_confd_cases import CASES, _method_name, case_world

NGINX_TEMPLATE = 'proxy_pass http://www.{{getv "/nginx/http/server/proxy"}};\n'
WORLD = World(environ={}, resolver=StaticResolver(), clock=lambda: 0, time_zone=lambda s: (0, "UTC"))


class RecordingRunner:
    """Records commands; answers each with ``results[prefix]`` or success."""

    def __init__(self, results=None, on_run=None):
        self.commands = []
        self.results = results or {}
        self.on_run = on_run

    def run(self, command):
        self.commands.append(command)
        if self.on_run is not None:
            self.on_run(command)
        for prefix, result in self.results.items():
            if command.startswith(prefix):
                return result
        return CommandResult(b"")


def md5(data):
    return hashlib.md5(data).hexdigest()


class ConfDir:
    """A confd directory (conf.d, templates) plus a destination directory."""

    def __init__(self, testcase):
        self.root = os.path.abspath(testcase.mktemp())
        os.makedirs(os.path.join(self.root, "conf.d"))
        os.makedirs(os.path.join(self.root, "templates"))
        self.out = os.path.join(self.root, "out")
        os.makedirs(self.out)

    def resource(self, name, template, **fields):
        fields.setdefault("src", name + ".tmpl")
        fields.setdefault("dest", os.path.join(self.out, name + ".conf"))
        fields.setdefault("keys", ["/"])
        lines = ["[template]"]
        for key, value in fields.items():
            if isinstance(value, str):
                lines.append(f"{key} = {_toml_string(value)}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(_toml_value(v) for v in value)}]")
            else:
                lines.append(f"{key} = {value}")
        path = os.path.join(self.root, "conf.d", name + ".toml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        if template is not None and fields["src"]:
            self.write_template(fields["src"], template)
        return path

    def write_template(self, src, text):
        with open(os.path.join(self.root, "templates", src), "w", encoding="utf-8") as f:
            f.write(text)

    def settings(self, **options):
        return Settings(confdir=self.root, **options)

    def stage_files(self):
        return [n for n in os.listdir(self.out) if n.startswith(".")]


def _toml_value(v):
    return _toml_string(v) if isinstance(v, str) else str(v)


def _toml_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def read(path):
    with open(path, "rb") as f:
        return f.read()


class LoadResourceTests(SynchronousTestCase):
    def setUp(self):
        self.dir = ConfDir(self)

    def test_all_fields(self):
        path = self.dir.resource(
            "nginx",
            NGINX_TEMPLATE,
            dest="/etc/nginx/nginx.conf",
            keys=["/nginx", "/common"],
            prefix="production",
            mode="0640",
            uid=10,
            gid=20,
            check_cmd="nginx -t -c {{.src}}",
            reload_cmd="nginx -s reload",
        )
        r = load_resource(path, self.dir.settings())
        self.assertEqual(r.src, os.path.join(self.dir.root, "templates", "nginx.tmpl"))
        self.assertEqual(r.dest, "/etc/nginx/nginx.conf")
        self.assertEqual(r.keys, ("/nginx", "/common"))
        self.assertEqual(r.prefix, "/production")
        self.assertEqual((r.mode, r.uid, r.gid), (0o640, 10, 20))
        self.assertEqual(r.check_cmd, "nginx -t -c {{.src}}")
        self.assertEqual(r.reload_cmd, "nginx -s reload")
        self.assertEqual(r.store_paths, ("/production/nginx", "/production/common"))
        self.assertEqual(r.kv_prefixes, ("production/common", "production/nginx"))

    def test_defaults(self):
        r = load_resource(self.dir.resource("a", "x", keys=["/a"]), self.dir.settings())
        self.assertEqual((r.prefix, r.mode, r.uid, r.gid, r.check_cmd, r.reload_cmd), ("/", None, None, None, "", ""))
        self.assertEqual(r.kv_prefixes, ("a",))

    def test_global_prefix_overrides(self):
        path = self.dir.resource("a", "x", keys=["/a"], prefix="/mine")
        r = load_resource(path, self.dir.settings(prefix="global"))
        self.assertEqual(r.prefix, "/global")
        self.assertEqual(r.kv_prefixes, ("global/a",))

    def test_mode_parsed_like_go(self):
        # ParseUint(mode, 0, 32): a leading 0 means octal, none means decimal.
        self.assertEqual(parse_mode("0644"), 0o644)
        self.assertEqual(parse_mode("0o600"), 0o600)
        self.assertEqual(parse_mode("420"), 0o644)

    def test_owner_by_name(self):
        path = self.dir.resource("a", "x", owner="www")
        r = load_resource(path, self.dir.settings(), lookup_user={"www": 33}.__getitem__)
        self.assertEqual(r.uid, 33)

    def assertConfigError(self, expected, **fields):
        path = self.dir.resource("bad", "x", **fields)
        with self.assertRaises(ResourceConfigError) as caught:
            load_resource(path, self.dir.settings())
        self.assertIn(path, str(caught.exception))
        self.assertIn(expected, str(caught.exception))

    def test_empty_src(self):
        self.assertConfigError("empty src template", src="")

    def test_mode_must_be_a_string(self):
        self.assertConfigError('template.mode must be a string such as "0644"', mode=420)

    def test_bad_mode(self):
        self.assertConfigError('template.mode: strconv.ParseUint: parsing "rw": invalid syntax', mode="rw")

    def test_keys_must_be_strings(self):
        self.assertConfigError("template.keys must be a list of strings", keys=["/a", 1])

    def test_unknown_owner(self):
        self.assertConfigError("template.owner: unknown user", owner="no-such-user-here")

    def test_bad_toml(self):
        path = os.path.join(self.dir.root, "conf.d", "broken.toml")
        with open(path, "w") as f:
            f.write("[template\nsrc=")
        with self.assertRaises(ResourceConfigError) as caught:
            load_resource(path, self.dir.settings())
        self.assertIn("Cannot process template resource " + path, str(caught.exception))

    def test_load_all_skips_bad_files(self):
        self.dir.resource("good", "x", keys=["/a"])
        self.dir.resource("bad", "x", src="")
        os.makedirs(os.path.join(self.dir.root, "conf.d", "sub"))
        with open(os.path.join(self.dir.root, "conf.d", "sub", "more.toml"), "w") as f:
            f.write('[template]\nsrc = "good.tmpl"\ndest = "/tmp/x"\nkeys = ["/a", "/b"]\n')
        resources, errors = load_resources(self.dir.settings())
        self.assertEqual([os.path.basename(r.path) for r in resources], ["good.toml", "more.toml"])
        self.assertEqual(len(errors), 1)
        self.assertEqual(required_prefixes(resources), ["a", "b"])


class SyncTests(SynchronousTestCase):
    def setUp(self):
        self.dir = ConfDir(self)
        self.events = []
        self.logger = Logger(namespace="test", observer=self.events.append)
        self.runner = RecordingRunner()

    def processor(self, **options):
        return Processor(self.dir.settings(**options), runner=self.runner, world=WORLD, logger=self.logger)

    def nginx(self, **fields):
        fields.setdefault("keys", ["/nginx"])
        fields.setdefault("reload_cmd", "reload nginx")
        return load_resource(self.dir.resource("nginx", NGINX_TEMPLATE, **fields), self.dir.settings())

    def messages(self):
        return [formatEvent(e) for e in self.events]

    def test_nginx_example(self):
        """The user's example: missing key, then the key appears, then no change."""
        r = self.nginx()
        p = self.processor()
        with self.assertRaises(RenderError) as caught:
            p.sync(r, {})
        self.assertIn(
            "executing \"nginx.tmpl\" at <getv \"/nginx/http/server/proxy\">: error calling getv: "
            "key does not exist: /nginx/http/server/proxy",
            str(caught.exception),
        )
        self.assertFalse(os.path.exists(r.dest))
        self.assertEqual(self.dir.stage_files(), [])

        result = p.sync(r, {"nginx/http/server/proxy": b"google.com"})
        self.assertTrue(result.changed and result.written)
        self.assertEqual(read(r.dest), b"proxy_pass http://www.google.com;\n")
        self.assertEqual(self.runner.commands, ["reload nginx"])
        self.assertIn(f"Target config {r.dest} out of sync", self.messages())
        self.assertIn(f"Target config {r.dest} has been updated", self.messages())

        result = p.sync(r, {"nginx/http/server/proxy": b"google.com"})
        self.assertFalse(result.changed or result.written)
        self.assertEqual(self.runner.commands, ["reload nginx"])  # the reload ran once
        self.assertEqual(self.dir.stage_files(), [])

    def test_md5_log_line(self):
        r = self.nginx()
        p = self.processor()
        p.sync(r, {"/nginx/http/server/proxy": "a.com"})
        p.sync(r, {"/nginx/http/server/proxy": "b.com"})
        old, new = md5(b"proxy_pass http://www.a.com;\n"), md5(b"proxy_pass http://www.b.com;\n")
        self.assertIn(f"{r.dest} has md5sum {old} should be {new}", self.messages())
        event = [e for e in self.events if "md5sum" in e["log_format"]][0]
        self.assertEqual((event["dest"], event["current"], event["wanted"]), (r.dest, old, new))
        self.assertEqual(read(r.dest), b"proxy_pass http://www.b.com;\n")

    def test_stage_file_is_checked_in_destination_directory(self):
        seen = {}

        def inspect(command):
            staged = command.split()[-1]
            seen["dir"] = os.path.dirname(staged)
            seen["name"] = os.path.basename(staged)
            seen["content"] = read(staged)
            seen["mode"] = stat.S_IMODE(os.stat(staged).st_mode)

        self.runner.on_run = inspect
        r = self.nginx(check_cmd="check {{.src}}", reload_cmd="", mode="0600")
        self.processor().sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual(self.runner.commands[0].split()[0], "check")
        self.assertEqual(seen["dir"], self.dir.out)
        self.assertTrue(seen["name"].startswith(".nginx.conf"))
        self.assertEqual(seen["content"], b"proxy_pass http://www.x;\n")
        self.assertEqual(seen["mode"], 0o600)
        self.assertEqual(self.dir.stage_files(), [])

    def test_failing_check_keeps_old_file(self):
        r = self.nginx(check_cmd="check {{.src}}")
        p = self.processor()
        p.sync(r, {"/nginx/http/server/proxy": "good"})
        self.runner.results["check"] = CommandResult(b"syntax error\n", "exit status 1")
        self.runner.commands.clear()
        with self.assertRaises(CheckFailed) as caught:
            p.sync(r, {"/nginx/http/server/proxy": "bad"})
        self.assertEqual(str(caught.exception), "Config check failed: exit status 1")
        self.assertEqual(caught.exception.output, b"syntax error\n")
        self.assertEqual(read(r.dest), b"proxy_pass http://www.good;\n")
        self.assertEqual(len(self.runner.commands), 1)  # no reload
        self.assertIn('"syntax error\\n"', self.messages())  # the output, as confd logs it
        self.assertEqual(self.dir.stage_files(), [])
        # The next change is tried again.
        del self.runner.results["check"]
        p.sync(r, {"/nginx/http/server/proxy": "fixed"})
        self.assertEqual(read(r.dest), b"proxy_pass http://www.fixed;\n")

    def test_failing_reload_after_replace(self):
        self.runner.results["reload"] = CommandResult(b"", "exit status 2")
        r = self.nginx()
        with self.assertRaises(ReloadFailed) as caught:
            self.processor().sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual(str(caught.exception), "exit status 2")
        self.assertEqual(read(r.dest), b"proxy_pass http://www.x;\n")

    def test_noop(self):
        r = self.nginx()
        result = self.processor(noop=True).sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual((result.changed, result.written), (True, False))
        self.assertFalse(os.path.exists(r.dest))
        self.assertEqual(self.runner.commands, [])
        self.assertIn(f"Noop mode enabled. {r.dest} will not be modified", self.messages())
        self.assertEqual(self.dir.stage_files(), [])

    def test_sync_only_runs_no_commands(self):
        r = self.nginx(check_cmd="check {{.src}}")
        result = self.processor(sync_only=True).sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertTrue(result.written)
        self.assertEqual(self.runner.commands, [])

    def test_keep_stage_file(self):
        r = self.nginx()
        p = self.processor(keep_stage_file=True)
        p.sync(r, {"/nginx/http/server/proxy": "x"})
        result = p.sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertIsNotNone(result.stage_file)
        self.assertEqual(read(result.stage_file), read(r.dest))
        self.assertIn(f"Keeping staged file: {result.stage_file}", self.messages())

    def test_mode_defaults_and_existing_file(self):
        r = self.nginx()
        p = self.processor()
        p.sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual(stat.S_IMODE(os.stat(r.dest).st_mode), 0o644)
        os.chmod(r.dest, 0o600)
        p.sync(r, {"/nginx/http/server/proxy": "y"})
        self.assertEqual(stat.S_IMODE(os.stat(r.dest).st_mode), 0o600)

    def test_mode_change_alone_is_out_of_sync(self):
        r = self.nginx(mode="0640")
        p = self.processor()
        p.sync(r, {"/nginx/http/server/proxy": "x"})
        os.chmod(r.dest, 0o644)
        result = p.sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertTrue(result.written)
        self.assertIn(f"{r.dest} has mode -rw-r--r-- should be -rw-r-----", self.messages())
        self.assertEqual(stat.S_IMODE(os.stat(r.dest).st_mode), 0o640)

    def test_the_new_file_is_synced_before_the_reload(self):
        steps = []
        r = self.nginx()

        def fsync(fd):
            steps.append(("fsync", os.fstat(fd).st_ino == os.stat(r.dest).st_ino, read(r.dest)))

        self.runner.on_run = lambda command: steps.append(("run", command))
        p = Processor(self.dir.settings(), runner=self.runner, world=WORLD, logger=self.logger, fsync=fsync)
        p.sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual(steps, [("fsync", True, b"proxy_pass http://www.x;\n"), ("run", "reload nginx")])
        p.sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual(len(steps), 2)  # nothing written, nothing synced

    def test_a_failing_sync_stops_before_the_reload(self):
        def fsync(fd):
            raise OSError(5, "input/output error")

        r = self.nginx()
        p = Processor(self.dir.settings(), runner=self.runner, world=WORLD, logger=self.logger, fsync=fsync)
        with self.assertRaises(ResourceError) as caught:
            p.sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual(str(caught.exception), f"sync {r.dest}: input/output error")
        self.assertEqual(self.runner.commands, [])
        self.assertEqual(self.dir.stage_files(), [])

    def test_owner_applied_to_stage_file(self):
        calls = []
        r = self.nginx(uid=1234, gid=5678)
        p = Processor(
            self.dir.settings(), runner=self.runner, world=WORLD, logger=self.logger,
            chown=lambda path, uid, gid: calls.append((os.path.basename(path), uid, gid)),
            ids=(1, 2),
        )
        p.sync(r, {"/nginx/http/server/proxy": "x"})
        self.assertEqual(len(calls), 1)
        name, uid, gid = calls[0]
        self.assertTrue(name.startswith(".nginx.conf"))
        self.assertEqual((uid, gid), (1234, 5678))

    def test_owner_defaults_to_effective_ids(self):
        r = self.nginx()
        self.processor().sync(r, {"/nginx/http/server/proxy": "x"})
        st = os.stat(r.dest)
        self.assertEqual((st.st_uid, st.st_gid), (os.geteuid(), os.getegid()))

    def test_prefix_is_removed_for_the_template(self):
        path = self.dir.resource("app", '{{range gets "/app/*"}}{{.Key}}={{.Value}} {{end}}', keys=["/app"], prefix="prod")
        r = load_resource(path, self.dir.settings())
        entries = {"prod/app/a": b"1", "prod/app/b": b"2", "dev/app/a": b"3", "prod/app/": None}
        self.processor().sync(r, entries)
        self.assertEqual(read(r.dest), b"/app/a=1 /app/b=2 ")

    def test_missing_template(self):
        path = self.dir.resource("gone", None, keys=["/a"])
        r = load_resource(path, self.dir.settings())
        with self.assertRaises(RenderError) as caught:
            self.processor().sync(r, {})
        self.assertEqual(str(caught.exception), f"Missing template: {r.src}")

    def test_parse_error(self):
        r = load_resource(self.dir.resource("p", "{{if}}", keys=["/a"]), self.dir.settings())
        with self.assertRaises(RenderError) as caught:
            self.processor().sync(r, {})
        self.assertEqual(
            str(caught.exception), f"Unable to process template {r.src}, template: p.tmpl:1: missing value for if"
        )
        self.assertFalse(os.path.exists(r.dest))

    def test_template_edits_are_picked_up(self):
        r = load_resource(self.dir.resource("e", "one", keys=["/a"]), self.dir.settings())
        p = self.processor()
        p.sync(r, {})
        self.dir.write_template("e.tmpl", "second version")
        p.sync(r, {})
        self.assertEqual(read(r.dest), b"second version")

    def test_sync_all_logs_and_continues(self):
        bad = load_resource(self.dir.resource("bad", '{{getv "/nope"}}', keys=["/"]), self.dir.settings())
        good = load_resource(self.dir.resource("good", "ok", keys=["/"]), self.dir.settings())
        results, errors = self.processor().sync_all([bad, good], {})
        self.assertEqual([r.resource for r in results], [good])
        self.assertEqual(len(errors), 1)
        self.assertTrue(any("key does not exist: /nope" in m for m in self.messages()))

    def test_entries_from_consul(self):
        entries = entries_from_consul(
            [{"Key": "nginx/http/server/proxy", "Value": "Z29vZ2xlLmNvbQ=="}, {"Key": "nginx/", "Value": None}]
        )
        self.assertEqual(entries, {"nginx/http/server/proxy": b"google.com", "nginx/": None})
        r = self.nginx()
        self.processor().sync(r, entries)
        self.assertEqual(read(r.dest), b"proxy_pass http://www.google.com;\n")

    def test_go_file_mode(self):
        self.assertEqual(go_file_mode(stat.S_IFREG | 0o644), "-rw-r--r--")
        self.assertEqual(go_file_mode(stat.S_IFREG | stat.S_ISUID | 0o755), "urwxr-xr-x")


class SubprocessRunnerTests(SynchronousTestCase):
    def test_success_and_output(self):
        result = SubprocessRunner().run("echo out; echo err >&2")
        self.assertIsNone(result.error)
        self.assertEqual(result.output, b"out\nerr\n")

    def test_exit_status(self):
        result = SubprocessRunner().run("echo no; exit 3")
        self.assertEqual((result.error, result.output), ("exit status 3", b"no\n"))

    def test_signal(self):
        self.assertEqual(SubprocessRunner().run("kill -9 $$").error, "signal: killed")

    def test_check_cmd_through_shell(self):
        d = ConfDir(self)
        r = load_resource(
            d.resource("s", "content\n", keys=["/"], check_cmd="grep -q content {{.src}}"), d.settings()
        )
        Processor(d.settings(), world=WORLD).sync(r, {})
        self.assertEqual(read(r.dest), b"content\n")
        r = load_resource(d.resource("s", "other\n", keys=["/"], check_cmd="grep -q content {{.src}}"), d.settings())
        with self.assertRaises(CheckFailed):
            Processor(d.settings(), world=WORLD).sync(r, {})
        self.assertEqual(read(r.dest), b"content\n")


class RecordedCasesThroughResources(SynchronousTestCase):
    """Every recorded confd case, run the way confd ran it: conf.d, templates, dest."""


def _make_resource_test(case):
    def test(self):
        d = ConfDir(self)
        fields = {"src": "case.tmpl", "keys": case.get("keys", ["/"])}
        if "prefix" in case:
            fields["prefix"] = case["prefix"]
        r = load_resource(d.resource("case", case["template"], **fields), d.settings())
        p = Processor(d.settings(), runner=RecordingRunner(), world=case_world(case),
                      logger=Logger(observer=lambda e: None))
        if "output" in case:
            p.sync(r, case["data"])
            self.assertEqual(read(r.dest), case["output"].encode("utf-8"))
        else:
            with self.assertRaises(RenderError) as caught:
                p.sync(r, case["data"])
            self.assertIn(case["error"], str(caught.exception))
            self.assertFalse(os.path.exists(r.dest))
        self.assertEqual(d.stage_files(), [])

    return test


for _case in CASES:
    setattr(RecordedCasesThroughResources, _method_name(_case["name"]), _make_resource_test(_case))
