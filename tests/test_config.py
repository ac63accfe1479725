"""Configuration: defaults, files, flags, and clear errors."""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.localagent import node_registration
from pyconsul.config import ConfigError, DNSConfig, build, build_from_flags


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
        path = self.write("c.json", {"telemetry": {"disable_hostname": True}, "ports": {"grpc": 8502},
                                     "data_dir": self.data_dir()})
        _, warnings = build({}, config_files=[path])
        self.assertEqual(len(warnings), 2)
        self.assertIn("'telemetry'", warnings[0])
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


class DNSConfigTests(SynchronousTestCase):
    """domain, alt_domain, recursors and dns_config, as Consul 1.10 reads them."""

    write = ConfigTests.write
    error = ConfigTests.error

    def dev(self, values=None, **kwargs):
        config, warnings = build(values or {}, dev=True, **kwargs)
        self.assertEqual(warnings, [])
        return config

    def test_defaults(self):
        config = self.dev()
        self.assertEqual((config.domain, config.alt_domain, config.recursors), ("consul.", "", ()))
        self.assertEqual(config.dns, DNSConfig())
        dns = config.dns
        self.assertEqual(
            (dns.allow_stale, dns.max_stale, dns.node_ttl, dns.service_ttl, dns.udp_answer_limit,
             dns.a_record_limit, dns.enable_truncate, dns.only_passing, dns.recursor_timeout,
             dns.recursor_strategy, dns.disable_compression, dns.enable_additional_node_meta_txt),
            (True, 87600 * 3600.0, 0.0, {}, 3, 0, False, False, 2.0, "sequential", False, True),
        )
        self.assertEqual((dns.soa_refresh, dns.soa_retry, dns.soa_expire, dns.soa_min_ttl),
                         (3600, 600, 86400, 0))
        self.assertEqual((dns.use_cache, dns.cache_max_age), (False, 0.0))

    def test_every_key_from_a_file(self):
        path = self.write("dns.json", {
            "domain": "example.org",
            "alt_domain": "example.net.",
            "recursors": ["8.8.8.8"],
            "recursor": "1.1.1.1:5353",
            "dns_config": {
                "allow_stale": False,
                "max_stale": "10s",
                "node_ttl": "30s",
                "service_ttl": {"web": "5s", "api-*": "1m", "*": "0s"},
                "udp_answer_limit": 5,
                "a_record_limit": 2,
                "enable_truncate": True,
                "only_passing": True,
                "recursor_timeout": "500ms",
                "recursor_strategy": "random",
                "disable_compression": True,
                "enable_additional_node_meta_txt": False,
                "soa": {"refresh": 1, "retry": 2, "expire": 3, "min_ttl": 4},
                "use_cache": True,
                "cache_max_age": "1m30s",
            },
        })
        config = self.dev(config_files=[path])
        self.assertEqual((config.domain, config.alt_domain), ("example.org.", "example.net."))
        self.assertEqual(config.recursors, (("8.8.8.8", 53), ("1.1.1.1", 5353)))
        self.assertEqual(config.dns, DNSConfig(
            allow_stale=False, max_stale=10.0, node_ttl=30.0,
            service_ttl={"web": 5.0, "api-*": 60.0, "*": 0.0}, udp_answer_limit=5, a_record_limit=2,
            enable_truncate=True, only_passing=True, recursor_timeout=0.5, recursor_strategy="random",
            disable_compression=True, enable_additional_node_meta_txt=False, soa_refresh=1,
            soa_retry=2, soa_expire=3, soa_min_ttl=4, use_cache=True, cache_max_age=90.0,
        ))

    def test_files_merge_dns_config_key_by_key(self):
        first = self.write("a.json", {"dns_config": {"node_ttl": "10s", "service_ttl": {"Web": "1s"},
                                                     "soa": {"retry": 5}}})
        second = self.write("b.json", {"dns_config": {"only_passing": True, "service_ttl": {"web": "2s",
                                                                                            "db": "3s"}}})
        dns = self.dev(config_files=[first, second]).dns
        self.assertEqual((dns.node_ttl, dns.only_passing, dns.soa_retry, dns.soa_refresh),
                         (10.0, True, 5, 3600))
        # Names are lower-cased in each file, so the later file's "web" wins.
        self.assertEqual(dns.service_ttl, {"web": 2.0, "db": 3.0})

    def test_flags(self):
        config, _ = build_from_flags({"dev": True, "domain": "Corp", "alt-domain": "Corp.Example",
                                      "recursor": ["10.0.0.1", "10.0.0.2:5300"]})
        self.assertEqual((config.domain, config.alt_domain), ("corp.", "corp.example."))
        self.assertEqual(config.recursors, (("10.0.0.1", 53), ("10.0.0.2", 5300)))

    def test_flags_override_the_domain_of_files(self):
        path = self.write("d.json", {"domain": "fromfile", "alt_domain": "alt-fromfile"})
        config, _ = build_from_flags({"dev": True, "config-file": [path], "domain": "fromflag"})
        self.assertEqual((config.domain, config.alt_domain), ("fromflag.", "alt-fromfile."))

    def test_recursors_add_up_in_order(self):
        first = self.write("a.json", {"recursor": "10.0.0.2", "recursors": ["10.0.0.1"]})
        second = self.write("b.json", {"recursors": ["10.0.0.3", "10.0.0.4"]})
        third = self.write("c.json", {"recursor": "10.0.0.5"})
        config, _ = build_from_flags({"dev": True, "config-file": [first, second, third],
                                      "recursor": ["10.0.0.6", "10.0.0.7"]})
        self.assertEqual([host for host, _ in config.recursors],
                         ["10.0.0.%d" % n for n in range(1, 8)])

    def test_recursor_forms(self):
        config = self.dev({"recursors": ["192.0.2.1", "192.0.2.2:5353", "2001:db8::1", "[2001:db8::2]:54",
                                         "[2001:DB8::3]", "192.0.2.4 192.0.2.5", ""]})
        self.assertEqual(config.recursors, (
            ("192.0.2.1", 53), ("192.0.2.2", 5353), ("2001:db8::1", 53), ("2001:db8::2", 54),
            ("2001:db8::3", 53), ("192.0.2.4", 53), ("192.0.2.5", 53),
        ))

    def test_repeated_recursors_are_asked_once(self):
        # As Consul does: an address given twice keeps its first place.
        config = self.dev({"recursors": ["192.0.2.1", "192.0.2.2", "192.0.2.1:53"]})
        self.assertEqual(config.recursors, (("192.0.2.1", 53), ("192.0.2.2", 53)))

    def test_domain_normalisation(self):
        for given, expected in (("consul", "consul."), ("consul.", "consul."), ("Consul", "consul."),
                                ("DC.Example.COM.", "dc.example.com."), ("my_zone-1", "my_zone-1.")):
            self.assertEqual(self.dev({"domain": given}).domain, expected)
            self.assertEqual(self.dev({"alt_domain": given}).alt_domain, expected)
        self.assertEqual(self.dev({"alt_domain": ""}).alt_domain, "")

    def test_bad_domains(self):
        path = self.write("d.json", {"domain": ""})
        message = self.error({}, config_files=[path], dev=True)
        self.assertIn(path, message)
        self.assertIn("'domain' must name a DNS domain", message)
        self.assertIn("must name a DNS domain", self.error({"domain": "."}, dev=True))
        message = self.error({"domain": "a..b"}, dev=True)
        self.assertIn("the command line: 'domain' cannot be 'a..b': a label is empty", message)
        self.assertIn("'alt_domain' cannot be '.consul': a label is empty",
                      self.error({"alt_domain": ".consul"}, dev=True))
        message = self.error({"domain": "my zone"}, dev=True)
        self.assertIn("label 'my zone' has characters other than letters, digits, '-' and '_'", message)
        message = self.error({"alt_domain": "ex!ample.com"}, dev=True)
        self.assertIn("'alt_domain' cannot be 'ex!ample.com': label 'ex!ample' has characters", message)
        message = self.error({"domain": "a" * 64}, dev=True)
        self.assertIn("a label is longer than 63 characters", message)
        self.assertIn("longer than a DNS name can be", self.error({"domain": "a." * 127 + "aa"}, dev=True))
        self.assertEqual(self.dev({"domain": "a." * 127}).domain, "a." * 127)

    def test_alt_domain_cannot_look_like_a_query(self):
        for alt in ("service.example", "node", "query.example", "addr.x", "connect.x", "DC1.example"):
            message = self.error({"alt_domain": alt}, dev=True)
            self.assertIn("'alt_domain' cannot start with service, connect, node, query, addr", message)
            self.assertIn("'dc1'", message)
        self.assertEqual(self.dev({"alt_domain": "services.example"}).alt_domain, "services.example.")

    def test_bad_recursors(self):
        path = self.write("r.json", {"recursors": ["8.8.8.8", "dns.example.com"]})
        message = self.error({}, config_files=[path], dev=True)
        self.assertIn(path, message)
        self.assertIn("'recursors' entry 'dns.example.com' must be an IP address", message)
        self.assertIn("not host name", message)
        # The entry is blamed on the source that gave it, not the last to set recursors.
        later = self.write("s.json", {"recursors": ["8.8.4.4"]})
        self.assertIn(path, self.error({}, config_files=[path, later], dev=True))
        single = self.write("t.json", {"recursor": "resolver"})
        self.assertIn(single, self.error({"recursors": ["8.8.4.4"]}, config_files=[single], dev=True))
        message = self.error({"recursors": ["0.0.0.0"]}, dev=True)
        self.assertIn("'recursors' entry '0.0.0.0' cannot be 0.0.0.0, :: or [::]", message)
        self.assertIn("cannot be 0.0.0.0", self.error({"recursors": ["[::]:53"]}, dev=True))
        for bad in ("8.8.8.8:", "8.8.8.8:0", "8.8.8.8:65536", "8.8.8.8:dns", "[::1]:x"):
            self.assertIn("entry %r has a bad port: must be from 1 to 65535" % bad,
                          self.error({"recursors": [bad]}, dev=True))
        for bad in ("[::1", "[::1]53"):
            self.assertIn("entry %r is not ip, ip:port or [ipv6]:port" % bad,
                          self.error({"recursors": [bad]}, dev=True))
        message = self.error({"recursor": ["8.8.8.8"]}, dev=True)
        self.assertIn("'recursor' must be a string", message)
        self.assertIn("'recursors' must be a list of strings", self.error({"recursors": "8.8.8.8"}, dev=True))
        with self.assertRaises(ConfigError) as caught:
            build_from_flags({"dev": True, "recursor": ["nameserver"]})
        message = str(caught.exception)
        self.assertIn("the command line: 'recursors' entry 'nameserver' must be an IP address", message)

    def test_bad_dns_config_values(self):
        for key, value, expected in (
            ("udp_answer_limit", -1, "'dns_config.udp_answer_limit' cannot be -1: must not be negative"),
            ("a_record_limit", -2, "'dns_config.a_record_limit' cannot be -2: must not be negative"),
            ("recursor_strategy", "fastest", "'dns_config.recursor_strategy' must be sequential or random, "
                                             "not 'fastest'"),
            ("soa", {"refresh": -1}, "'dns_config.soa.refresh' must be from 0 to 4294967295, not -1"),
            ("soa", {"min_ttl": 2**32}, "'dns_config.soa.min_ttl' must be from 0 to 4294967295"),
        ):
            path = self.write("v.json", {"dns_config": {key: value}})
            message = self.error({}, config_files=[path], dev=True)
            self.assertIn(path, message)
            self.assertIn(expected, message)
        self.assertEqual(self.dev({"dns_config": {"recursor_strategy": ""}}).dns.recursor_strategy,
                         "sequential")

    def test_dns_config_types(self):
        for key, value, expected in (
            ("allow_stale", "yes", "'dns_config.allow_stale' must be a boolean"),
            ("max_stale", "0s", "'dns_config.max_stale' must be a duration"),
            ("max_stale", 5, "'dns_config.max_stale' must be a duration"),
            ("node_ttl", "-1s", "'dns_config.node_ttl' must be a duration such as \"5m\", or \"0s\""),
            ("recursor_timeout", "0s", "'dns_config.recursor_timeout' must be a duration"),
            ("cache_max_age", "soon", "'dns_config.cache_max_age' must be a duration"),
            ("service_ttl", {"web": "10"}, "'dns_config.service_ttl' must be an object of durations"),
            ("service_ttl", "10s", "'dns_config.service_ttl' must be an object of durations"),
            ("udp_answer_limit", 1.5, "'dns_config.udp_answer_limit' must be an integer"),
            ("soa", 5, "'dns_config.soa' must be an object"),
            ("soa", {"refresh": "1h"}, "'dns_config.soa.refresh' must be an integer"),
            ("recursor_strategy", 1, "'dns_config.recursor_strategy' must be a string"),
        ):
            path = self.write("t.json", {"dns_config": {key: value}})
            message = self.error({}, config_files=[path], dev=True)
            self.assertIn(path, message)
            self.assertIn(expected, message)
        self.assertIn("'dns_config' must be an object", self.error({"dns_config": []}, dev=True))
        self.assertIn("'domain' must be a string", self.error({"domain": 1}, dev=True))
        self.assertIn("unknown configuration key 'dns_config.ttl'",
                      self.error({"dns_config": {"ttl": "1s"}}, dev=True))
        self.assertIn("unknown configuration key 'dns_config.soa.serial'",
                      self.error({"dns_config": {"soa": {"serial": 1}}}, dev=True))

    def test_consul_only_dns_key_warns(self):
        path = self.write("e.json", {"dns_config": {"prefer_namespace": True, "only_passing": True}})
        config, warnings = build({}, config_files=[path], dev=True)
        self.assertEqual(warnings, [
            "%s: 'dns_config.prefer_namespace' is a Consul setting pyconsul does not support yet; "
            "it is ignored" % path
        ])
        self.assertTrue(config.dns.only_passing)


class WatchesConfigTests(SynchronousTestCase):
    """The watches key: a list of watches, checked as Consul's agent checks them."""

    write = ConfigTests.write
    error = ConfigTests.error

    def test_no_watches_by_default(self):
        config, _ = build({}, dev=True)
        self.assertEqual(config.watches, ())

    def test_watches_from_every_file_add_up_in_order(self):
        from pyconsul.watch.spec import HTTPHandler, ScriptHandler

        first = self.write("a.json", {"watches": [
            {"type": "key", "key": "app/config", "args": ["/usr/local/bin/reload", "app"]},
        ]})
        second = self.write("b.json", {"watches": [
            {"type": "service", "service": "web", "tag": ["v1"], "passingonly": True,
             "handler_type": "http", "http_handler_config": {"path": "http://127.0.0.1:9000/web",
                                                             "method": "PUT", "timeout": "5s"}},
            {"type": "checks", "state": "critical", "handler": "logger critical"},
        ]})
        config, warnings = build({}, config_files=[first, second], dev=True)
        self.assertEqual(warnings, [])
        self.assertEqual([watch.query.type for watch in config.watches], ["key", "service", "checks"])
        self.assertEqual(config.watches[0].query.path, "/v1/kv/app/config")
        self.assertEqual(config.watches[0].handler, ScriptHandler(args=("/usr/local/bin/reload", "app")))
        self.assertEqual(config.watches[1].query.params, (("tag", "v1"), ("passing", "1")))
        self.assertEqual(config.watches[1].handler, HTTPHandler(path="http://127.0.0.1:9000/web", method="PUT",
                                                                timeout=5.0))
        self.assertEqual(config.watches[2].handler, ScriptHandler(script="logger critical"))

    def test_it_is_no_longer_a_warning(self):
        path = self.write("w.json", {"watches": []})
        self.assertEqual(build({}, config_files=[path], dev=True)[1], [])

    def test_a_bad_watch_names_the_file_the_entry_and_consuls_reason(self):
        good = self.write("good.json", {"watches": [{"type": "nodes", "args": ["/bin/true"]}]})
        bad = self.write("bad.json", {"watches": [{"type": "key", "args": ["/bin/true"]}]})
        message = self.error({}, config_files=[good, bad], dev=True)
        self.assertEqual(message, "%s: 'watches' entry {\"type\": \"key\", \"args\": [\"/bin/true\"]}: "
                                  "Must specify a single key to watch" % bad)

    def test_consuls_checks(self):
        table = [
            ({}, "Watch type must be specified"),
            ({"type": "nodes"}, "Must define a watch handler"),
            ({"type": "bogus", "args": ["x"]}, "Unsupported watch type: bogus"),
            ({"type": "nodes", "handler_type": "exec", "args": ["x"]}, "Handler type 'exec' not recognized"),
            ({"type": "nodes", "handler_type": "http"},
             "Handler type 'http' requires 'http_handler_config' to be set"),
            ({"type": "nodes", "handler_type": "http", "http_handler_config": {"method": "PUT"}},
             "Failed to parse 'http_handler_config': Requires 'path' to be set"),
            ({"type": "nodes", "args": ["x"], "handler": "y"}, "Only one watch handler allowed"),
            ({"type": "service", "service": "web", "passingonly": "true", "args": ["x"]},
             "Expecting passingonly to be a boolean"),
            ({"type": "connect_roots", "args": ["x"]}, "Watch type connect_roots is not allowed in agent config"),
            ({"type": "nodes", "args": ["x"], "key": "k"}, "Invalid parameters: [key]"),
        ]
        for entry, reason in table:
            path = self.write("w.json", {"watches": [entry]})
            message = self.error({}, config_files=[path], dev=True)
            self.assertTrue(message.startswith(path + ": 'watches' entry "), message)
            self.assertTrue(message.endswith(": " + reason), message)

    def test_the_key_holds_a_list_of_objects(self):
        for value in ({"type": "nodes"}, ["nodes"], "nodes"):
            path = self.write("w.json", {"watches": value})
            self.assertIn("'watches' must be a list of objects", self.error({}, config_files=[path], dev=True))

    def test_watches_need_the_http_api(self):
        path = self.write("w.json", {"watches": [{"type": "nodes", "args": ["x"]}], "ports": {"http": -1}})
        message = self.error({}, config_files=[path], dev=True)
        self.assertIn(path, message)
        self.assertIn("watch plans require an HTTP or HTTPS endpoint", message)
        # Without watches the HTTP API may be off.
        path = self.write("n.json", {"watches": [], "ports": {"http": -1}})
        self.assertEqual(build({}, config_files=[path], dev=True)[0].watches, ())


class WANConfigTests(SynchronousTestCase):
    write, data_dir, error = ConfigTests.write, ConfigTests.data_dir, ConfigTests.error

    def test_the_wan_pool_from_flags_and_files(self):
        path = self.write("wan.json", {"server": True, "retry_join_wan": ["10.1.0.1"],
                                       "gossip_wan": {"probe_interval": "2s", "gossip_nodes": 3},
                                       "data_dir": self.data_dir(), "advertise_addr": "10.0.0.5"})
        config, _ = build_from_flags({"config-file": [path], "join-wan": ["10.2.0.1"],
                                      "retry-join-wan": ["10.1.0.2"]})
        self.assertEqual(config.start_join_wan, ("10.2.0.1",))
        self.assertEqual(config.retry_join_wan, ("10.1.0.1", "10.1.0.2"))
        self.assertEqual(config.gossip_wan, {"probe_interval": 2.0, "gossip_nodes": 3})
        self.assertEqual(config.advertise_addr_wan, "10.0.0.5")  # the LAN's unless given
        config, _ = build_from_flags({"config-file": [path], "advertise-wan": "192.0.2.7"})
        self.assertEqual(config.advertise_addr_wan, "192.0.2.7")

    def test_translate_wan_addrs_and_the_nodes_wan_address(self):
        path = self.write("translate.json", {"translate_wan_addrs": True, "data_dir": self.data_dir(),
                                             "advertise_addr": "10.0.0.5"})
        config, warnings = build_from_flags({"config-file": [path], "advertise-wan": "192.0.2.7"})
        self.assertTrue(config.translate_wan_addrs)
        self.assertEqual([w for w in warnings if "translate" in w], [])  # acted on, not "not supported"
        self.assertEqual(node_registration(config)["TaggedAddresses"],
                         {"lan": "10.0.0.5", "lan_ipv4": "10.0.0.5", "wan": "192.0.2.7", "wan_ipv4": "192.0.2.7"})
        self.assertFalse(build({}, dev=True)[0].translate_wan_addrs)
        self.assertIn("translate_wan_addrs", self.error({"data_dir": self.data_dir(), "translate_wan_addrs": "yes"}))

    def test_wan_mistakes_are_named(self):
        self.assertIn("needs server mode", self.error({"data_dir": self.data_dir(), "start_join_wan": ["10.0.0.1"]}))
        self.assertIn("'gossip_wan.gossip_nodes' must be at least 1",
                      self.error({"server": True, "data_dir": self.data_dir(), "gossip_wan": {"gossip_nodes": 0}}))
        self.assertIn("'advertise_addr_wan' must be an IP address",
                      self.error({"server": True, "data_dir": self.data_dir(), "advertise_addr_wan": "nope"}))

    def test_serf_wan_port_minus_one_turns_the_pool_off(self):
        config, _ = build({"server": True, "data_dir": self.data_dir(), "ports": {"serf_wan": -1}})
        self.assertEqual(config.ports.serf_wan, -1)
