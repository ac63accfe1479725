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
* consul-template's discovery functions over the agent's catalog: services
  registered with ``PUT /v1/catalog/register``, an instance whose check goes
  critical leaving the rendered file in watch mode and coming back.
* consul-template's command shape end to end: ``-template in:out:command``
  with ``-once``, ``-dry``, a template error (exit 14) and SIGINT (exit 12).
"""

import json
import os
import signal
import subprocess
import sys
import urllib.parse

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.agent import NET, Agent, environment, wait_for
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
        agent = Agent(self, f"{NET}.6.1", ["--dev"]).start().wait_until_leader()
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
        self.scenario(f"{NET}.6.2", [])

    def test_interval_mode(self):
        self.scenario(f"{NET}.6.3", ["-interval", "2"])


class AgentAvailabilityTests(SynchronousTestCase):
    def test_waits_for_the_agent_and_renders_once_it_is_up(self):
        confdir = os.path.abspath(self.mktemp())
        dest = os.path.join(confdir, "out", "proxy")
        os.makedirs(os.path.dirname(dest))
        write(os.path.join(confdir, "templates", "proxy.tmpl"), '{{getv "/nginx/http/server/proxy"}}\n')
        write_resource(confdir, "proxy", "proxy.tmpl", dest, ["/nginx"])
        template = TemplateProcess(self, ["-confdir", confdir, "-node", f"{NET}.6.4:8500"], confdir).start()
        template.wait_for_log(f"dial tcp {NET}.6.4:8500: connect: connection refused (retrying in", count=2)

        agent = Agent(self, f"{NET}.6.4", ["--dev"]).start().wait_until_leader()
        put(agent, "nginx/http/server/proxy", "google.com")
        wait_for(lambda: os.path.exists(dest) and read(dest) == b"google.com\n", what="the rendered file")
        self.assertIn("Watching 'nginx' again", template.log())

    def test_onetime_without_an_agent_fails(self):
        confdir = os.path.abspath(self.mktemp())
        dest = os.path.join(confdir, "out", "proxy")
        write(os.path.join(confdir, "templates", "proxy.tmpl"), "x\n")
        write_resource(confdir, "proxy", "proxy.tmpl", dest, ["/nginx"])
        status, log = run_template("-onetime", "-confdir", confdir, "-node", f"{NET}.6.5:8500", cwd=confdir)
        self.assertEqual(status, 1, log)
        self.assertIn(f'ERROR Get "http://{NET}.6.5:8500/v1/kv/nginx?recurse=": '
                      f"dial tcp {NET}.6.5:8500: connect: connection refused", log)
        self.assertFalse(os.path.exists(dest))

    def test_a_broken_resource_file_stops_it_at_once(self):
        confdir = os.path.abspath(self.mktemp())
        write(os.path.join(confdir, "conf.d", "broken.toml"), "[template]\nsrc = 3\n")
        status, log = run_template("-confdir", confdir, "-node", f"{NET}.6.5:8500", cwd=confdir)
        self.assertEqual(status, 1, log)
        self.assertIn("Cannot process template resource %s/conf.d/broken.toml" % confdir, log)

    def test_nothing_to_watch(self):
        confdir = os.path.abspath(self.mktemp())
        status, log = run_template("-confdir", confdir, "-node", f"{NET}.6.5:8500", cwd=".")
        self.assertEqual(status, 0, log)
        self.assertIn("WARNING Cannot load template resources: confdir '%s' does not exist" % confdir, log)
        os.makedirs(os.path.join(confdir, "conf.d"))
        status, log = run_template("-onetime", "-confdir", confdir, "-node", f"{NET}.6.5:8500", cwd=confdir)
        self.assertEqual(status, 0, log)
        self.assertIn("WARNING Found no templates", log)


# -- the catalog ----------------------------------------------------------------------

WEB_TEMPLATE = '{{range service "web"}}{{.Address}}:{{.Port}} {{end}}\n'


def register(agent, node, address, service_id, port, status="passing"):
    body = {"Node": node, "Address": address,
            "Service": {"ID": service_id, "Service": "web", "Port": port, "Tags": ["v1"]},
            "Check": {"CheckID": service_id + "-alive", "Name": "alive", "Status": status, "ServiceID": service_id}}
    status_code, answer = agent.request("PUT", "/v1/catalog/register", json.dumps(body).encode())
    if (status_code, answer) != (200, b"true"):
        raise AssertionError("register %s: %s %r" % (service_id, status_code, answer))


class CatalogTests(SynchronousTestCase):
    def wait_for_text(self, path, text):
        wait_for(lambda: os.path.exists(path) and read(path) == text.encode(),
                 what="%s to read %r (it reads %r)" % (path, text, read(path) if os.path.exists(path) else None))

    def test_watch_mode_follows_the_health_of_the_instances(self):
        agent = Agent(self, f"{NET}.6.10", ["--dev"]).start().wait_until_leader()
        register(agent, "web-a", "10.0.0.1", "web1", 80)
        register(agent, "web-b", "10.0.0.2", "web2", 81)
        confdir = os.path.abspath(self.mktemp())
        dest = os.path.join(confdir, "out", "web.conf")
        reloads = os.path.join(confdir, "reloads")
        os.makedirs(os.path.dirname(dest))
        write(os.path.join(confdir, "templates", "web.tmpl"), WEB_TEMPLATE)
        write_resource(confdir, "web", "web.tmpl", dest, [], reload_cmd="echo reload >> %s" % reloads)
        template = TemplateProcess(self, ["-confdir", confdir, "-node", agent.http], confdir).start()
        self.wait_for_text(dest, "10.0.0.1:80 10.0.0.2:81 \n")

        register(agent, "web-a", "10.0.0.1", "web1", 80, status="critical")
        self.wait_for_text(dest, "10.0.0.2:81 \n")
        register(agent, "web-a", "10.0.0.1", "web1", 80, status="passing")
        self.wait_for_text(dest, "10.0.0.1:80 10.0.0.2:81 \n")
        wait_for(lambda: os.path.exists(reloads) and read(reloads) == b"reload\n" * 3, what="3 reloads")
        self.assertEqual(template.stop(), 0)
        self.assertNotIn("Traceback", template.log())

    def test_the_agents_own_node_and_every_service(self):
        agent = Agent(self, f"{NET}.6.11", ["--dev", "--node", "tmpl-node"]).start().wait_until_leader()
        register(agent, "web-a", "10.0.0.1", "web1", 80)
        workdir = os.path.abspath(self.mktemp())
        source = os.path.join(workdir, "all.tmpl")
        write(source, "{{with node}}{{.Node.Node}}{{end}}|{{range services}}{{.Name}}{{.Tags}}:"
                      "{{range service .Name}} {{.Node}}{{end}};{{end}}|{{range nodes}}{{.Node}} {{end}}\n")
        dest = os.path.join(workdir, "all.out")
        status, log = run_template("-consul-addr", agent.http, "-template", "%s:%s" % (source, dest), "-once",
                                   cwd=workdir)
        self.assertEqual(status, 0, log)
        self.assertEqual(read(dest), b"tmpl-node|consul[]: tmpl-node;web[v1]: web-a;|tmpl-node web-a \n")


class ConsulTemplateShapeTests(SynchronousTestCase):
    """``pyconsul template -template ...`` as consul-template's users run it."""

    def setUp(self):
        self.agent = Agent(self, f"{NET}.6.12", ["--dev"]).start().wait_until_leader()
        register(self.agent, "web-a", "10.0.0.1", "web1", 80)
        put(self.agent, "app/name", "shop")
        self.workdir = os.path.abspath(self.mktemp())
        self.source = os.path.join(self.workdir, "web.tmpl")
        write(self.source, '{{key "app/name"}}: ' + WEB_TEMPLATE)

    def test_once_writes_the_file_and_runs_the_command(self):
        dest = os.path.join(self.workdir, "deep", "er", "web.conf")
        marker = os.path.join(self.workdir, "reloaded")
        spec = "%s:%s:touch %s" % (self.source, dest, marker)
        status, log = run_template("-consul-addr", self.agent.http, "-template", spec, "-once", cwd=self.workdir)
        self.assertEqual(status, 0, log)
        self.assertEqual(read(dest), b"shop: 10.0.0.1:80 \n")
        self.assertTrue(os.path.exists(marker))
        self.assertEqual(log, "")  # consul-template logs only warnings and worse by default

    def test_dry_prints_instead(self):
        dest = os.path.join(self.workdir, "web.conf")
        env = environment()
        done = subprocess.run(template_command("-consul-addr", self.agent.http, "-template",
                                               "%s:%s" % (self.source, dest), "-once", "-dry"),
                              cwd=self.workdir, env=env, capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, ("> %s\nshop: 10.0.0.1:80 \n" % dest).encode())
        self.assertFalse(os.path.exists(dest))

    def test_a_template_error_ends_the_run(self):
        bad = os.path.join(self.workdir, "bad.tmpl")
        write(bad, '{{range service "web x"}}{{end}}')
        status, log = run_template("-consul-addr", self.agent.http, "-template", bad + ":out", cwd=self.workdir)
        self.assertEqual(status, 14, log)
        self.assertIn('ERROR %s: execute: template: :1:8: executing "" at <service "web x">: error calling '
                      'service: health.service: invalid format: "web x"' % bad, log)

    def test_watch_mode_until_interrupted(self):
        dest = os.path.join(self.workdir, "web.conf")
        reloads = os.path.join(self.workdir, "reloads")
        spec = "%s:%s:echo reload >> %s" % (self.source, dest, reloads)
        template = TemplateProcess(self, ["-consul-addr", self.agent.http, "-template", spec, "-log-level", "info"],
                                   self.workdir).start()
        wait_for(lambda: os.path.exists(dest) and read(dest) == b"shop: 10.0.0.1:80 \n", what="the first render")
        register(self.agent, "web-b", "10.0.0.2", "web2", 81)
        put(self.agent, "app/name", "store")
        wait_for(lambda: read(dest) == b"store: 10.0.0.1:80 10.0.0.2:81 \n", what="the catalog and KV changes")
        register(self.agent, "web-a", "10.0.0.1", "web1", 80, status="critical")
        wait_for(lambda: read(dest) == b"store: 10.0.0.2:81 \n", what="web1 to leave")
        # One reload per render: the command runs after each render that changed the file.
        wait_for(lambda: read(reloads).count(b"reload\n") == template.log().count("(runner) rendered") >= 3,
                 what="a reload after each of at least three renders")
        template.process.send_signal(signal.SIGINT)
        self.assertEqual(template.process.wait(timeout=30), 12)
        self.assertIn("Cleaning up...", template.log())
        self.assertNotIn("Traceback", template.log())
