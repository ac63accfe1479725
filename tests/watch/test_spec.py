"""Watch parameters: Consul's watch.Parse and the agent's checks, with their messages."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.watch.spec import (
    HTTPHandler,
    ScriptHandler,
    WatchError,
    parse,
    parse_agent_watch,
)


class ParseTests(SynchronousTestCase):
    def error(self, params, exempt=()):
        with self.assertRaises(WatchError) as caught:
            parse(params, exempt)
        return str(caught.exception)

    def test_consuls_messages(self):
        table = [
            ({}, "Watch type must be specified"),
            ({"type": ""}, "Watch type must be specified"),
            ({"type": 3}, "Expecting type to be a string"),
            ({"type": "nope"}, "Unsupported watch type: nope"),
            ({"type": "key"}, "Must specify a single key to watch"),
            ({"type": "key", "key": 1}, "Expecting key to be a string"),
            ({"type": "keyprefix"}, "Must specify a single prefix to watch"),
            ({"type": "service"}, "Must specify a single service to watch"),
            ({"type": "service", "service": "w", "passingonly": "true"}, "Expecting passingonly to be a boolean"),
            ({"type": "service", "service": "w", "tag": 3}, "Expecting tag to be a string or []string"),
            ({"type": "service", "service": "w", "tag": ["a", 3]}, "Index 1 of tag expected to be string"),
            ({"type": "checks", "service": "w", "state": "critical"}, "Cannot specify service and state"),
            ({"type": "nodes", "stale": "yes"}, "Expecting stale to be a boolean"),
            ({"type": "nodes", "datacenter": 1}, "Expecting datacenter to be a string"),
            ({"type": "key", "key": "x", "prefix": "y", "name": "z"}, "Invalid parameters: [name prefix]"),
            # The event watch reads no "stale".
            ({"type": "event", "stale": True}, "Invalid parameters: [stale]"),
            # Tags are only the service type's.
            ({"type": "checks", "tag": "a"}, "Invalid parameters: [tag]"),
            ({"type": "nodes", "handler_type": "http"},
             "Handler type 'http' requires 'http_handler_config' to be set"),
        ]
        for params, message in table:
            self.assertEqual(self.error(params), message, params)

    def test_the_generic_keys(self):
        parsed = parse({"type": "key", "key": "k", "datacenter": "dc2", "token": "t", "stale": True})
        query = parsed.query
        self.assertEqual((query.type, query.datacenter, query.token, query.stale), ("key", "dc2", "t", True))

    def test_exempt_keys_are_kept_aside(self):
        parsed = parse({"type": "nodes", "args": ["x"], "handler": "y"}, exempt=("args", "handler"))
        self.assertEqual(parsed.exempt, {"args": ["x"], "handler": "y"})
        self.assertEqual(self.error({"type": "nodes", "args": ["x"]}), "Invalid parameters: [args]")

    def test_the_caller_keeps_its_params(self):
        params = {"type": "key", "key": "k"}
        parse(params)
        self.assertEqual(params, {"type": "key", "key": "k"})

    def test_types_pyconsul_does_not_watch_parse(self):
        # As in Consul; the command line and the agent then refuse them.
        self.assertFalse(parse({"type": "connect_leaf", "service": "web"}).query.supported)
        self.assertFalse(parse({"type": "agent_service", "service_id": "web-1"}).query.supported)


class HTTPHandlerConfigTests(SynchronousTestCase):
    def handler(self, config):
        return parse({"type": "nodes", "handler_type": "http", "http_handler_config": config}).http_handler

    def error(self, config):
        with self.assertRaises(WatchError) as caught:
            self.handler(config)
        return str(caught.exception)

    def test_defaults(self):
        self.assertEqual(self.handler({"path": "http://127.0.0.1:9000/hook"}),
                         HTTPHandler(path="http://127.0.0.1:9000/hook", method="POST", header=(), timeout=10.0,
                                     tls_skip_verify=False))

    def test_every_setting(self):
        handler = self.handler({"path": "https://h/x", "method": "PUT", "timeout": "1m30s",
                                "header": {"X-A": ["1", "2"], "X-B": "3"}, "tls_skip_verify": True})
        self.assertEqual(handler, HTTPHandler(path="https://h/x", method="PUT",
                                              header=(("X-A", ("1", "2")), ("X-B", ("3",))), timeout=90.0,
                                              tls_skip_verify=True))

    def test_weakly_typed_values_as_consul_takes_them(self):
        self.assertTrue(self.handler({"path": "http://h/", "tls_skip_verify": "true"}).tls_skip_verify)
        self.assertEqual(self.handler({"Path": "http://h/", "Method": "PUT"}).method, "PUT")

    def test_errors(self):
        self.assertEqual(self.error({}), "Failed to parse 'http_handler_config': Requires 'path' to be set")
        self.assertEqual(self.error({"path": "http://h/", "timeout": "soon"}),
                         "Failed to parse 'http_handler_config': Failed to parse timeout: "
                         'time: invalid duration "soon"')
        self.assertIn("'header'", self.error({"path": "http://h/", "header": ["x"]}))
        self.assertIn("must be an object", self.error("http://h/"))


class AgentWatchTests(SynchronousTestCase):
    def error(self, params):
        with self.assertRaises(WatchError) as caught:
            parse_agent_watch(params)
        return str(caught.exception)

    def test_handlers(self):
        self.assertEqual(parse_agent_watch({"type": "nodes", "args": ["/bin/handle", "-v"]}).handler,
                         ScriptHandler(args=("/bin/handle", "-v")))
        self.assertEqual(parse_agent_watch({"type": "nodes", "args": "/bin/handle"}).handler,
                         ScriptHandler(args=("/bin/handle",)))
        script = parse_agent_watch({"type": "nodes", "handler": "handle >> log"}).handler
        self.assertEqual(script, ScriptHandler(script="handle >> log"))
        self.assertTrue(script.deprecated)
        http = parse_agent_watch({"type": "nodes", "handler_type": "http",
                                  "http_handler_config": {"path": "http://h/"}}).handler
        self.assertEqual(http, HTTPHandler(path="http://h/"))

    def test_consuls_messages(self):
        table = [
            ({"type": "nodes"}, "Must define a watch handler"),
            ({"type": "nodes", "handler_type": "exec", "args": ["x"]}, "Handler type 'exec' not recognized"),
            ({"type": "nodes", "handler_type": 1, "args": ["x"]}, "Handler type '1' not recognized"),
            ({"type": "nodes", "args": ["x"], "handler": "y"}, "Only one watch handler allowed"),
            ({"type": "nodes", "handler_type": "http", "http_handler_config": {"path": "http://h/"},
              "args": ["x"]}, "Only one watch handler allowed"),
            ({"type": "nodes", "handler": ["x"]}, "Watch handler must be a string"),
            ({"type": "nodes", "args": [1]}, "Watch args must be a list of strings"),
            ({"type": "nodes", "args": {"x": 1}}, "Watch args must be a list of strings"),
            ({"type": "connect_roots", "args": ["x"]}, "Watch type connect_roots is not allowed in agent config"),
            ({"type": "key", "args": ["x"]}, "Must specify a single key to watch"),
            ({"type": "nodes", "args": ["x"], "color": "red"}, "Invalid parameters: [color]"),
        ]
        for params, message in table:
            self.assertEqual(self.error(params), message, params)

    def test_pyconsuls_own_refusals_say_what_to_do(self):
        self.assertIn("does not support watch type agent_service",
                      self.error({"type": "agent_service", "service_id": "web", "args": ["x"]}))
        self.assertIn("name the program", self.error({"type": "nodes", "args": []}))
        self.assertIn("must be an object", self.error(["type", "nodes"]))
