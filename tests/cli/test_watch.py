"""``pyconsul watch`` against a scripted agent: flags, messages, output, handlers."""

import json
import os

from pyconsul.cli import watchloop
from pyconsul.cli.http import Response, TransportError

from tests.cli.clitest import REFUSED, CliTestCase, refusing_agent
from tests.cli.test_http import ScriptedTransport

LEADER = Response(200, {"x-consul-index": None}, b'"127.0.0.1:8300"')
PAIR = {"LockIndex": 0, "Key": "app/x", "Flags": 0, "Value": "YmFy", "CreateIndex": 5, "ModifyIndex": 5}


def answer(index, value=None, status=200):
    body = b"" if value is None else json.dumps(value).encode()
    return Response(status, {"x-consul-index": str(index)}, body)


class WatchAgent(ScriptedTransport):
    """Answers /v1/status/leader, then the watch's GETs from a script; when
    the script runs out, the user presses Ctrl-C."""

    def __init__(self, *answers):
        self.script = list(answers)
        super().__init__(self.next_answer)

    def next_answer(self, request):
        if request.target.startswith("/v1/status/leader"):
            return LEADER
        if not self.script:
            raise KeyboardInterrupt()
        return self.script.pop(0)

    def targets(self):
        return [request.target for request in self.requests]


class WatchTests(CliTestCase):
    command = ("watch",)

    def setUp(self):
        super().setUp()
        self.slept = []
        self.patch(watchloop, "sleep", self.slept.append)
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.environ = {"CONSUL_HTTP_ADDR": "127.0.0.1:8500", "PATH": os.environ.get("PATH", os.defpath)}

    def watch(self, *argv, agent):
        return self.run_command(*argv, agent=agent, environ=self.environ)

    def recorder(self):
        """A shell handler that appends $CONSUL_INDEX and its stdin to a file."""
        path = os.path.join(self.directory, "calls")
        return path, 'echo "$CONSUL_INDEX" >> %s; cat >> %s' % (path, path)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    # -- flags and messages ------------------------------------------------------------

    def test_type_is_required(self):
        agent = WatchAgent()
        status, stdout, stderr = self.watch(agent=agent)
        self.assertEqual((status, stdout), (1, b""))
        self.assertTrue(stderr.startswith(b"Watch type must be specified\n\nUsage: pyconsul watch [options] "
                                          b"[child...]\n"))
        self.assertEqual(agent.requests, [])

    def test_parameter_errors(self):
        table = [
            (["-type=nope"], "Unsupported watch type: nope"),
            (["-type=key"], "Must specify a single key to watch"),
            (["-type=keyprefix", "-key=x"], "Must specify a single prefix to watch"),
            (["-type=key", "-key=x", "-prefix=y"], "Invalid parameters: [prefix]"),
            (["-type=nodes", "-service=web"], "Invalid parameters: [service]"),
            (["-type=event", "-stale"], "Invalid parameters: [stale]"),
            (["-type=checks", "-service=web", "-state=critical"], "Cannot specify service and state"),
            (["-type=service", "-service=web", "-passingonly=maybe"],
             'Failed to parse passingonly flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
            (["-type=connect_roots"], "Type connect_roots is not supported in the CLI tool"),
            (["-type=agent_service"], "Type agent_service is not supported in the CLI tool"),
        ]
        for argv, message in table:
            agent = WatchAgent()
            self.assertRun(self.watch(*argv, agent=agent), 1, stderr=(message + "\n").encode())
            self.assertEqual(agent.requests, [], argv)

    def test_flag_errors(self):
        self.assertUsageError(self.watch("-type", agent=WatchAgent()), "flag needs an argument: -type")
        self.assertUsageError(self.watch("-shell=maybe", agent=WatchAgent()),
                              'invalid boolean value "maybe" for -shell: parse error')

    def test_agent_not_answering(self):
        self.assertRun(self.watch("-type=nodes", agent=refusing_agent()), 1,
                       stderr=('Error querying Consul agent: Get "http://127.0.0.1:8500/v1/status/leader": %s\n'
                               % REFUSED).encode())

    def test_bad_address(self):
        self.assertRun(self.watch("-type=nodes", "-http-addr=ftp://x", agent=WatchAgent()), 1,
                       stderr=b"Unknown protocol scheme: ftp\n")

    # -- without a handler: the view, once ---------------------------------------------

    def test_prints_the_view_as_go_indents_it_and_ends(self):
        agent = WatchAgent(answer(5, [PAIR]))
        self.assertRun(self.watch("-type=key", "-key=app/x", agent=agent), 0, stdout=(
            "{\n"
            '    "Key": "app/x",\n'
            '    "CreateIndex": 5,\n'
            '    "ModifyIndex": 5,\n'
            '    "LockIndex": 0,\n'
            '    "Flags": 0,\n'
            '    "Value": "YmFy",\n'
            '    "Session": ""\n'
            "}\n").encode())
        self.assertEqual(agent.targets(), ["/v1/status/leader", "/v1/kv/app/x"])

    def test_a_missing_key_is_null(self):
        agent = WatchAgent(answer(3, status=404))
        self.assertRun(self.watch("-type=key", "-key=nope", agent=agent), 0, stdout=b"null\n")

    def test_go_escapes_html_characters(self):
        agent = WatchAgent(answer(3, {"a<b>&c": ["x"]}))
        self.assertRun(self.watch("-type=services", agent=agent), 0,
                       stdout=b'{\n    "a\\u003cb\\u003e\\u0026c": [\n        "x"\n    ]\n}\n')

    def test_every_flag_reaches_the_request(self):
        token_file = os.path.join(self.directory, "token")
        with open(token_file, "w") as f:
            f.write("from-file\n")
        agent = WatchAgent(answer(3, []))
        self.watch("-type=service", "-service=web", "-tag=v1", "-tag=blue", "-passingonly=true",
                   "-datacenter=dc2", "-stale", "-token-file=" + token_file, agent=agent)
        request = agent.requests[-1]
        self.assertEqual(request.target, "/v1/health/service/web?dc=dc2&passing=1&stale=&tag=v1&tag=blue")
        self.assertIn(("X-Consul-Token", "from-file"), request.headers)
        self.assertEqual([name for name, _ in request.headers].count("X-Consul-Token"), 1)

    def test_checks_and_events(self):
        agent = WatchAgent(answer(3, []))
        self.watch("-type=checks", "-state=critical", agent=agent)
        self.assertEqual(agent.targets()[-1], "/v1/health/state/critical")
        agent = WatchAgent(answer(3, []))
        self.watch("-type=event", "-name=deploy", agent=agent)
        self.assertEqual(agent.targets()[-1], "/v1/event/list?name=deploy")

    # -- with a handler: every change, until interrupted ----------------------------------

    def test_the_handler_runs_on_the_first_answer_and_on_each_change(self):
        path, command = self.recorder()
        changed = dict(PAIR, Value="YmF6", ModifyIndex=8)
        agent = WatchAgent(answer(3, status=404), answer(3, status=404), answer(5, [PAIR]),
                           answer(7, [PAIR]), answer(8, [changed]))
        # Interrupted (the script ran out): exit 0, as Consul's.
        self.assertRun(self.watch("-type=key", "-key=app/x", command, agent=agent), 0)
        self.assertEqual(self.read(path), (
            b'3\nnull\n'
            b'5\n{"Key":"app/x","CreateIndex":5,"ModifyIndex":5,"LockIndex":0,"Flags":0,"Value":"YmFy",'
            b'"Session":""}\n'
            b'8\n{"Key":"app/x","CreateIndex":5,"ModifyIndex":8,"LockIndex":0,"Flags":0,"Value":"YmF6",'
            b'"Session":""}\n'))
        self.assertEqual(agent.targets(), ["/v1/status/leader", "/v1/kv/app/x", "/v1/kv/app/x?index=3",
                                           "/v1/kv/app/x?index=3", "/v1/kv/app/x?index=5",
                                           "/v1/kv/app/x?index=7", "/v1/kv/app/x?index=8"])

    def test_handler_words_are_joined_for_the_shell(self):
        agent = WatchAgent(answer(4, []))
        self.assertRun(self.watch("-type=nodes", "echo", "index", "$CONSUL_INDEX", agent=agent), 0,
                       stdout=b"index 4\n")

    def test_without_the_shell_the_words_are_a_program_and_its_arguments(self):
        agent = WatchAgent(answer(4, []))
        self.assertRun(self.watch("-type=nodes", "-shell=false", "echo", "$CONSUL_INDEX", agent=agent), 0,
                       stdout=b"$CONSUL_INDEX\n")

    def test_the_shell_is_shell(self):
        self.environ["SHELL"] = "/bin/echo"
        agent = WatchAgent(answer(4, []))
        self.assertRun(self.watch("-type=nodes", "true", agent=agent), 0, stdout=b"-c true\n")

    def test_a_failing_handler_ends_the_watch(self):
        agent = WatchAgent(answer(4, []), answer(5, [1]))
        self.assertRun(self.watch("-type=nodes", "echo oops >&2; exit 3", agent=agent), 1,
                       stderr=b"oops\nError executing handler: exit status 3\n")
        self.assertEqual(len(agent.script), 1)  # nothing asked after it

    def test_a_handler_that_cannot_start(self):
        agent = WatchAgent(answer(4, []))
        self.assertRun(self.watch("-type=nodes", "-shell=false", "no-such-handler-here", agent=agent), 1,
                       stderr=b'Error starting handler: exec: "no-such-handler-here": executable file not '
                              b'found in $PATH\n')

    def test_failures_are_logged_and_retried_with_the_plans_back_off(self):
        path, command = self.recorder()
        agent = WatchAgent(TransportError(REFUSED), Response(500, {}, b"No cluster leader"), answer(6, []))
        status, stdout, stderr = self.watch("-type=nodes", command, agent=agent)
        self.assertEqual(status, 0)
        self.assertEqual(self.slept, [5.0, 20.0])
        lines = stderr.decode().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} \[ERROR\] watch: "
                                   r"Watch errored: type=nodes error=")
        self.assertIn(r'error="Get \"http://127.0.0.1:8500/v1/catalog/nodes\": dial tcp', lines[0])
        self.assertTrue(lines[0].endswith(" retry=5s"))
        self.assertIn('error="Unexpected response code: 500 (No cluster leader)" retry=20s', lines[1])
        self.assertEqual(self.read(path), b"6\n[]\n")

    def test_sigterm_ends_the_watch_with_status_zero(self):
        # The handler sends the watch itself a SIGTERM.
        agent = WatchAgent(answer(4, []), answer(5, [1]))
        self.assertRun(self.watch("-type=nodes", "kill -TERM %d" % os.getpid(), agent=agent), 0)
        self.assertEqual(len(agent.script), 1)
