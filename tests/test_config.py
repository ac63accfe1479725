"""Configuration: defaults, files, flags, and clear errors."""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.config import ConfigError, build, build_from_flags


class ConfigTests(SynchronousTestCase):
    def write(self, name, content):
        directory = self.mktemp()
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def data_dir(self):
        path = self.mktemp()
        os.makedirs(path)
        return path

    def error(self, *args, **kwargs):
        with self.assertRaises(ConfigError) as caught:
            build(*args, **kwargs)
        return str(caught.exception)

    def test_consul_defaults(self):
        config, warnings = build({"data_dir": self.data_dir()})
        self.assertEqual(
            (config.ports.http, config.ports.dns, config.ports.server, config.ports.serf_lan,
             config.ports.serf_wan),
            (8500, 8600, 8300, 8301, 8302),
        )
        self.assertEqual(config.datacenter, "dc1")
        self.assertEqual(config.client_addrs, ("127.0.0.1",))
        self.assertEqual(config.raft_multiplier, 5)
        self.assertFalse(config.server)
        self.assertEqual(warnings, [])

    def test_dev(self):
        config, _ = build({}, dev=True, hostname="myhost")
        self.assertEqual((config.server, config.bootstrap, config.data_dir), (True, True, None))
        self.assertEqual((config.node_name, config.raft_multiplier), ("myhost", 1))
        self.assertEqual(config.server_address, "127.0.0.1:8300")

    def test_flags_override_files_and_lists_add_up(self):
        path = self.write("a.json", {"ports": {"http": 9000}, "retry_join": ["10.0.0.1"],
                                     "node_name": "from-file", "data_dir": self.data_dir()})
        config, _ = build_from_flags(
            {"config-file": [path], "http-port": 9100, "retry-join": ["10.0.0.2"]}
        )
        self.assertEqual(config.ports.http, 9100)
        self.assertEqual(config.node_name, "from-file")
        self.assertEqual(config.retry_join, ("10.0.0.1", "10.0.0.2"))

    def test_config_dir_in_lexical_order(self):
        directory = self.mktemp()
        os.makedirs(directory)
        for name, value in (("b.json", "second"), ("a.json", "first")):
            with open(os.path.join(directory, name), "w") as f:
                json.dump({"node_name": value}, f)
        with open(os.path.join(directory, "notes.txt"), "w") as f:
            f.write("not config")
        config, _ = build({"data_dir": self.data_dir()}, config_dirs=[directory])
        self.assertEqual(config.node_name, "second")

    def test_unknown_key_names_file_and_key(self):
        path = self.write("bad.json", {"colour": "blue"})
        message = self.error({}, config_files=[path])
        self.assertIn(path, message)
        self.assertIn("'colour'", message)
        self.assertIn("unknown configuration key", message)

    def test_unknown_nested_key(self):
        path = self.write("bad.json", {"ports": {"htp": 1}})
        self.assertIn("'ports.htp'", self.error({}, config_files=[path]))

    def test_consul_keys_not_implemented_warn(self):
        path = self.write("c.json", {"ui_config": {"enabled": True}, "ports": {"grpc": 8502},
                                     "data_dir": self.data_dir()})
        _, warnings = build({}, config_files=[path])
        self.assertEqual(len(warnings), 2)
        self.assertIn("'ui_config'", warnings[0])
        self.assertIn("'ports.grpc'", warnings[1])

    def test_wrong_type(self):
        path = self.write("t.json", {"server": "yes"})
        message = self.error({}, config_files=[path])
        self.assertIn("'server' must be a boolean", message)
        self.assertIn(path, message)

    def test_port_out_of_range(self):
        path = self.write("p.json", {"ports": {"http": 70000}, "data_dir": self.data_dir()})
        message = self.error({}, config_files=[path])
        self.assertIn(path, message)
        self.assertIn("'ports.http'", message)
        self.assertIn("70000", message)
        self.assertIn("'ports.server'", self.error({"ports": {"server": -1}, "data_dir": "x"}))

    def test_invalid_json(self):
        path = self.write("j.json", '{"server": true,,}')
        message = self.error({}, config_files=[path])
        self.assertIn(path, message)
        self.assertIn("line 1 column 17", message)

    def test_missing_file(self):
        self.assertIn("cannot read config file", self.error({}, config_files=["/nonexistent.json"]))

    def test_data_dir_required_and_usable(self):
        self.assertIn("data_dir is required", self.error({}))
        blocker = self.write("file", "x")
        message = self.error({"data_dir": blocker})
        self.assertIn("'data_dir'", message)

    def test_bad_addresses(self):
        self.assertIn("'bind_addr'", self.error({"bind_addr": "nope", "data_dir": "x"}, dev=True))
        config, _ = build({"client_addr": "127.0.0.1 ::1"}, dev=True)
        self.assertEqual(config.client_addrs, ("127.0.0.1", "::1"))

    def test_bootstrap_rules(self):
        self.assertIn("needs server mode", self.error({"bootstrap": True, "data_dir": self.data_dir()}))
        message = self.error(
            {"server": True, "bootstrap": True, "bootstrap_expect": 3, "data_dir": self.data_dir()}
        )
        self.assertIn("cannot be used with bootstrap", message)

    def test_leave_defaults_by_mode(self):
        client, _ = build({"data_dir": self.data_dir()})
        server, _ = build({"data_dir": self.data_dir(), "server": True})
        self.assertEqual((client.leave_on_terminate, client.skip_leave_on_interrupt), (True, False))
        self.assertEqual((server.leave_on_terminate, server.skip_leave_on_interrupt), (False, True))

    def test_node_id_is_kept_in_the_data_dir(self):
        data_dir = self.data_dir()
        first, _ = build({"data_dir": data_dir})
        second, _ = build({"data_dir": data_dir})
        self.assertEqual(first.node_id, second.node_id)

    def test_raft_multiplier_range(self):
        message = self.error({"performance": {"raft_multiplier": 11}}, dev=True)
        self.assertIn("'performance.raft_multiplier'", message)

    def test_gossip_lan_timings(self):
        config, _ = build({"gossip_lan": {"probe_interval": "200ms", "suspicion_mult": 2}}, dev=True)
        self.assertEqual(config.gossip_lan, {"probe_interval": 0.2, "suspicion_mult": 2})
        message = self.error({"gossip_lan": {"probe_interval": "soon"}}, dev=True)
        self.assertIn("'gossip_lan.probe_interval' must be a duration", message)
        self.assertIn("at least 1", self.error({"gossip_lan": {"gossip_nodes": 0}}, dev=True))

    def test_gossip_key(self):
        self.assertIn("'encrypt' is not valid base64", self.error({"encrypt": "not a key!"}, dev=True))
        self.assertIn("not 5", self.error({"encrypt": "aGVsbG8="}, dev=True))
        config, _ = build({"encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="}, dev=True)
        self.assertTrue(config.encrypt)
