"""``pyconsul template`` as a real process against a real agent.

* Every recorded confd case (``tests/data/confd-templates``): its
  keys written to the agent over HTTP, then ``pyconsul template -onetime``
  renders it through conf.d and the file is compared. To stay fast, one
  agent holds every case's keys, each case under a prefix of its own
  (``c042/...``) which its resource names, and all cases run in two
  processes: one for the cases that succeed (exit 0), one for those that fail
  (exit 1); the debug log says which resource each error belongs to.
* The user's nginx example, in watch mode and in interval mode, with a
  reload_cmd that records its calls.
* An agent that is down, then comes up.
"""

import json
import os
import signal
import subprocess
import sys
import urllib.parse

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import Agent, environment, wait_for
from tests.vectors import data_path

CASES_FILE = data_path("confd-templates", "cases.json")


def put(agent, key, value):
    status, body = agent.request("PUT", "/v1/kv/" + urllib.parse.quote(key), value.encode("utf-8"))
    if (status, body) != (200, b"true"):
        raise AssertionError("PUT %s: %s %r" % (key, status, body))


def delete(agent, key, recurse=False):
    status, _ = agent.request("DELETE", "/v1/kv/" + urllib.parse.quote(key) + ("?recurse" if recurse else ""))
    if status != 200:
        raise AssertionError("DELETE %s: %s" % (key, status))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def toml_string(text):
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_resource(confdir, name, src, dest, keys, prefix=None, **commands):
    lines = ["[template]", "src = %s" % toml_string(src), "dest = %s" % toml_string(dest),
             "keys = [%s]" % ", ".join(toml_string(k) for k in keys)]
    if prefix is not None:
        lines.append("prefix = %s" % toml_string(prefix))
    for field, command in commands.items():
        lines.append("%s = %s" % (field, toml_string(command)))
    write(os.path.join(confdir, "conf.d", name + ".toml"), "\n".join(lines) + "\n")


def template_command(*args):
    return [sys.executable, "-m", "pyconsul", "template", *args]


def run_template(*args, cwd, extra_env=None, timeout=60):
    """A -onetime run: (exit status, log text)."""
    env = environment()
    env.update(extra_env or {})
    done = subprocess.run(template_command(*args), cwd=cwd, env=env, capture_output=True, timeout=timeout)
    return done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace")


class TemplateProcess:
    """A long-running ``pyconsul template``; stopped by its pid in cleanup."""

    def __init__(self, testcase, args, cwd):
        self.testcase = testcase
        self.args = list(args)
        self.cwd = cwd
        self.log_path = os.path.join(cwd, "template.log")
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(template_command(*self.args), cwd=self.cwd, env=environment(),
                                            stdout=log, stderr=subprocess.STDOUT)
        self.testcase.addCleanup(self.stop)
        return self

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.process.returncode

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for_log(self, text, count=1, timeout=30):
        def seen():
            if self.process.poll() is not None:
                raise AssertionError("pyconsul template exited with %s:\n%s" % (self.process.returncode, self.log()))
            return self.log().count(text) >= count

        wait_for(seen, timeout, what="%d x %r in the log of pyconsul template" % (count, text))


# -- the recorded confd cases ----------------------------------------------------------


def load_cases():
    with open(CASES_FILE, encoding="utf-8") as f:
        return json.load(f)


def case_prefix(number):
    return "c%03d" % number


def case_environment(cases):
    """What confd ran with: PATH, TZ=UTC, LANG=C and the cases' variables."""
    env = {"TZ": "UTC", "LANG": "C"}
    for case in cases:
        for name, value in case.get("env", {}).items():
            if env.setdefault(name, value) != value:
                raise AssertionError("cases disagree about $%s" % name)
    return env


def errors_by_case(log):
    """The debug log cut at each resource's "Key prefix set to /cNNN" line."""
    segments, current = {}, None
    for line in log.splitlines():
        marker = line.partition(" DEBUG Key prefix set to /")[2]
        if marker:
            current = int(marker.split("/")[0][1:])
            segments[current] = ""
        elif current is not None:
            segments[current] += line + "\n"
    return segments


class RecordedCasesTests(SynchronousTestCase):
    def test_every_recorded_case_through_the_agent_and_the_command(self):
        cases = load_cases()
        self.assertEqual(len(cases), 197)
        agent = Agent(self, "127.0.6.1", ["--dev"]).start().wait_until_leader()
        delete(agent, "", recurse=True)
        root = os.path.abspath(self.mktemp())
        confdirs = {"ok": os.path.join(root, "ok"), "error": os.path.join(root, "error")}
        out = os.path.join(root, "out")
        os.makedirs(out)
        for number, case in enumerate(cases):
            prefix = case_prefix(number)
            for key, value in case["data"].items():
                put(agent, prefix + key, value)
            confdir = confdirs["ok" if "output" in case else "error"]
            resource_prefix = prefix + "/" + case["prefix"].lstrip("/") if "prefix" in case else prefix
            # Each template is called case.tmpl, as when confd recorded it: Go's
            # error messages name it.
            write(os.path.join(confdir, "templates", prefix, "case.tmpl"), case["template"])
            write_resource(confdir, prefix, prefix + "/case.tmpl", os.path.join(out, prefix),
                           case.get("keys", ["/"]), resource_prefix)
        env = case_environment(cases)
        node = "-node=%s" % agent.http

        status, log = run_template("-onetime", "-confdir", confdirs["ok"], node, cwd=root, extra_env=env)
        self.assertEqual(status, 0, log)
        wrong = []
        for number, case in enumerate(cases):
            if "output" in case:
                dest = os.path.join(out, case_prefix(number))
                rendered = read(dest).decode("utf-8") if os.path.exists(dest) else None
                if rendered != case["output"]:
                    wrong.append((case["name"], rendered, case["output"]))
        self.assertEqual(wrong, [])

        status, log = run_template("-onetime", "-confdir", confdirs["error"], node, "-log-level=debug",
                                   cwd=root, extra_env=env)
        self.assertEqual(status, 1, log)
        segments = errors_by_case(log)
        wrong = []
        for number, case in enumerate(cases):
            if "error" in case:
                segment = segments.get(number, "")
                if os.path.exists(os.path.join(out, case_prefix(number))) or case["error"] not in segment:
                    wrong.append((case["name"], case["error"], segment))
        self.assertEqual(wrong, [])
        self.assertEqual(len(segments), 60)
        self.assertEqual(sorted(os.listdir(out)), sorted(case_prefix(n) for n, c in enumerate(cases) if "output" in c))


# -- the user's nginx example ------------------------------------------------------------------

NGINX_TEMPLATE = """upstream app {
{{range gets "/nginx/upstream/*"}}    server {{.Value}};
{{end}}}
server {
    listen 80;
    location / {
        proxy_pass http://www.{{getv "/nginx/http/server/proxy"}};
    }
}
"""


class NginxExampleTests(SynchronousTestCase):
    def nginx_confdir(self):
        confdir = os.path.abspath(self.mktemp())
        self.dest = os.path.join(confdir, "out", "nginx.conf")
        self.reloads = os.path.join(confdir, "reloads")
        os.makedirs(os.path.dirname(self.dest))
        write(os.path.join(confdir, "templates", "nginx.tmpl"), NGINX_TEMPLATE)
        write_resource(
            confdir, "nginx", "nginx.tmpl", self.dest, ["/nginx"],
            # The stand-in for "nginx -t": a configuration naming a "bad" host fails.
            check_cmd="! grep -q bad {{.src}}",
            reload_cmd="echo reload >> %s" % self.reloads,
        )
        return confdir

    def reload_count(self):
        return read(self.reloads).count(b"reload\n") if os.path.exists(self.reloads) else 0

    def wait_for_file(self, *fragments):
        def has_all():
            return os.path.exists(self.dest) and all(f.encode() in read(self.dest) for f in fragments)

        wait_for(has_all, what="%s to contain %r" % (self.dest, fragments))

    def wait_for_reloads(self, count):
        wait_for(lambda: self.reload_count() >= count, what="%d reloads" % count)
        self.assertEqual(self.reload_count(), count)

    def scenario(self, address, mode_flags):
        agent = Agent(self, address, ["--dev"]).start().wait_until_leader()
        confdir = self.nginx_confdir()
        # The user's command line, with this test's agent.
        template = TemplateProcess(self, ["-confdir", "./", *mode_flags, "-backend", "consul",
                                          "-node", agent.http], confdir).start()

        template.wait_for_log("key does not exist: /nginx/http/server/proxy")
        self.assertIn("ERROR template: nginx.tmpl:7:32: executing \"nginx.tmpl\" at "
                      "<getv \"/nginx/http/server/proxy\">: error calling getv: key does not exist: "
                      "/nginx/http/server/proxy", template.log())
        self.assertFalse(os.path.exists(self.dest))
        self.assertEqual(self.reload_count(), 0)

        put(agent, "nginx/http/server/proxy", "google.com")
        self.wait_for_file("proxy_pass http://www.google.com;")
        # The reload runs before the update is logged.
        template.wait_for_log("INFO Target config %s has been updated" % self.dest)
        self.assertIn("INFO Target config %s out of sync" % self.dest, template.log())
        self.assertEqual(self.reload_count(), 1)
        good = read(self.dest)

        put(agent, "nginx/http/server/proxy", "bad.example.com")
        template.wait_for_log("Config check failed: exit status 1")
        self.assertEqual(read(self.dest), good)
        self.assertEqual(self.reload_count(), 1)

        put(agent, "nginx/http/server/proxy", "google.com")
        put(agent, "nginx/upstream/a", "10.0.0.1:80")
        self.wait_for_file("server 10.0.0.1:80;")
        self.wait_for_reloads(2)
        self.assertIn("INFO %s has md5sum" % self.dest, template.log())
        put(agent, "nginx/upstream/b", "10.0.0.2:80")
        self.wait_for_file("server 10.0.0.1:80;", "server 10.0.0.2:80;")
        self.wait_for_reloads(3)
        delete(agent, "nginx/upstream/a")
        wait_for(lambda: b"10.0.0.1" not in read(self.dest), what="the deleted upstream to go")
        self.assertEqual(read(self.dest).decode(), NGINX_TEMPLATE.split("{{range")[0] + (
            "    server 10.0.0.2:80;\n}\nserver {\n    listen 80;\n    location / {\n"
            "        proxy_pass http://www.google.com;\n    }\n}\n"))
        self.wait_for_reloads(4)
        self.assertEqual([n for n in os.listdir(os.path.dirname(self.dest)) if n != "nginx.conf"], [])

        self.assertEqual(template.stop(), 0)
        self.assertIn("INFO Captured terminated. Exiting...", template.log())
        self.assertNotIn("Traceback", template.log())

    def test_watch_mode(self):
        self.scenario("127.0.6.2", [])

    def test_interval_mode(self):
        self.scenario("127.0.6.3", ["-interval", "2"])


class AgentAvailabilityTests(SynchronousTestCase):
    def test_waits_for_the_agent_and_renders_once_it_is_up(self):
        confdir = os.path.abspath(self.mktemp())
        dest = os.path.join(confdir, "out", "proxy")
        os.makedirs(os.path.dirname(dest))
        write(os.path.join(confdir, "templates", "proxy.tmpl"), '{{getv "/nginx/http/server/proxy"}}\n')
        write_resource(confdir, "proxy", "proxy.tmpl", dest, ["/nginx"])
        template = TemplateProcess(self, ["-confdir", confdir, "-node", "127.0.6.4:8500"], confdir).start()
        template.wait_for_log("dial tcp 127.0.6.4:8500: connect: connection refused (retrying in", count=2)

        agent = Agent(self, "127.0.6.4", ["--dev"]).start().wait_until_leader()
        put(agent, "nginx/http/server/proxy", "google.com")
        wait_for(lambda: os.path.exists(dest) and read(dest) == b"google.com\n", what="the rendered file")
        self.assertIn("Watching 'nginx' again", template.log())

    def test_onetime_without_an_agent_fails(self):
        confdir = os.path.abspath(self.mktemp())
        dest = os.path.join(confdir, "out", "proxy")
        write(os.path.join(confdir, "templates", "proxy.tmpl"), "x\n")
        write_resource(confdir, "proxy", "proxy.tmpl", dest, ["/nginx"])
        status, log = run_template("-onetime", "-confdir", confdir, "-node", "127.0.6.5:8500", cwd=confdir)
        self.assertEqual(status, 1, log)
        self.assertIn('ERROR Get "http://127.0.6.5:8500/v1/kv/nginx?recurse=": '
                      "dial tcp 127.0.6.5:8500: connect: connection refused", log)
        self.assertFalse(os.path.exists(dest))

    def test_a_broken_resource_file_stops_it_at_once(self):
        confdir = os.path.abspath(self.mktemp())
        write(os.path.join(confdir, "conf.d", "broken.toml"), "[template]\nsrc = 3\n")
        status, log = run_template("-confdir", confdir, "-node", "127.0.6.5:8500", cwd=confdir)
        self.assertEqual(status, 1, log)
        self.assertIn("Cannot process template resource %s/conf.d/broken.toml" % confdir, log)

    def test_nothing_to_watch(self):
        confdir = os.path.abspath(self.mktemp())
        status, log = run_template("-confdir", confdir, "-node", "127.0.6.5:8500", cwd=".")
        self.assertEqual(status, 0, log)
        self.assertIn("WARNING Cannot load template resources: confdir '%s' does not exist" % confdir, log)
        os.makedirs(os.path.join(confdir, "conf.d"))
        status, log = run_template("-onetime", "-confdir", confdir, "-node", "127.0.6.5:8500", cwd=confdir)
        self.assertEqual(status, 0, log)
        self.assertIn("WARNING Found no templates", log)
