"""The ContentHash of /v1/agent/service/<id>, checked against answers
recorded from Consul 1.10.3."""

import copy
import json

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.contenthash import content_hash
from pyconsul.agent.definitions import parse_service_register

# (registration body, the answer Consul 1.10.3 gave for it)
RECORDED = [
    ({"Name": "web", "ID": "web1", "Tags": ["v1", "primary"], "Meta": {"env": "prod"}, "Port": 8080,
      "Address": "10.1.2.3"},
     {"ID": "web1", "Service": "web", "Tags": ["v1", "primary"], "Meta": {"env": "prod"}, "Port": 8080,
      "Address": "10.1.2.3", "SocketPath": "",
      "TaggedAddresses": {"lan_ipv4": {"Address": "10.1.2.3", "Port": 8080},
                          "wan_ipv4": {"Address": "10.1.2.3", "Port": 8080}},
      "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False,
      "ContentHash": "110184bf52e0135b", "Datacenter": "dc1"}),
    ({"Name": "db"},
     {"ID": "db", "Service": "db", "Tags": [], "Meta": {}, "Port": 0, "Address": "", "SocketPath": "",
      "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False,
      "ContentHash": "97e9e235b51a808a", "Datacenter": "dc1"}),
    ({"Name": "web", "ID": "web1", "Port": 9090},
     {"ID": "web1", "Service": "web", "Tags": [], "Meta": {}, "Port": 9090, "Address": "", "SocketPath": "",
      "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False,
      "ContentHash": "333536b9d08f1bf1", "Datacenter": "dc1"}),
]


def _without_hash(answer):
    shown = dict(answer)
    del shown["ContentHash"]
    return shown


class RecordedTests(SynchronousTestCase):
    def test_recorded_answers(self):
        for _, answer in RECORDED:
            self.assertEqual(content_hash(_without_hash(answer)), answer["ContentHash"])

    def test_the_hash_in_the_input_is_ignored(self):
        for _, answer in RECORDED:
            self.assertEqual(content_hash(answer), answer["ContentHash"])

    def test_from_registration(self):
        """The agent JSON pyconsul builds from the same registrations hashes the same."""
        for body, answer in RECORDED:
            service = parse_service_register(json.dumps(body).encode())
            self.assertEqual(content_hash(service.to_agent_json("dc1")), answer["ContentHash"])


class PropertyTests(SynchronousTestCase):
    def base(self):
        return _without_hash(RECORDED[0][1])

    def test_map_key_order_does_not_matter(self):
        shown = self.base()
        shown["Meta"] = {"a": "1", "b": "2", "c": "3"}
        reordered = dict(shown)
        reordered["Meta"] = {"c": "3", "a": "1", "b": "2"}
        reordered["TaggedAddresses"] = dict(reversed(list(shown["TaggedAddresses"].items())))
        self.assertEqual(content_hash(shown), content_hash(reordered))

    def test_datacenter_is_ignored(self):
        shown = self.base()
        shown["Datacenter"] = "dc2"
        self.assertEqual(content_hash(shown), RECORDED[0][1]["ContentHash"])

    def test_absent_means_empty(self):
        shown = _without_hash(RECORDED[1][1])
        for name in ("Tags", "Meta", "SocketPath"):
            del shown[name]
        self.assertEqual(content_hash(shown), RECORDED[1][1]["ContentHash"])

    def test_each_field_counts(self):
        changes = [
            ("Kind", "typical"), ("ID", "web2"), ("Service", "www"), ("Tags", ["primary", "v1"]),
            ("Tags", ["v1"]), ("Meta", {"env": "dev"}), ("Meta", {"env": "prod", "x": ""}),
            ("Port", 8081), ("Address", "10.1.2.4"), ("SocketPath", "/tmp/s"),
            ("Weights", {"Passing": 2, "Warning": 1}), ("Weights", {"Passing": 1, "Warning": 0}),
            ("EnableTagOverride", True), ("CreateIndex", 5), ("ModifyIndex", 5),
        ]
        original = content_hash(self.base())
        seen = {original}
        for name, value in changes:
            shown = self.base()
            shown[name] = value
            changed = content_hash(shown)
            self.assertNotEqual(changed, original, name)
            seen.add(changed)
        shown = self.base()
        shown["TaggedAddresses"] = copy.deepcopy(shown["TaggedAddresses"])
        shown["TaggedAddresses"]["wan_ipv4"]["Port"] = 1
        seen.add(content_hash(shown))
        self.assertEqual(len(seen), len(changes) + 2)

    def test_leading_zeros_are_dropped(self):
        # About one hash in sixteen is below 2**60; find one among the ports.
        shown = self.base()
        for port in range(1, 1000):
            shown["Port"] = port
            value = content_hash(shown)
            if len(value) < 16:
                break
        else:
            self.fail("no hash below 2**60 among 999 ports")
        self.assertNotEqual(value[0], "0")
        self.assertEqual(value, "%x" % int(value, 16))
        self.assertEqual(value, value.lower())

    def test_connect_is_refused(self):
        for name in ("Proxy", "Connect"):
            shown = self.base()
            shown[name] = {}
            self.assertRaises(ValueError, content_hash, shown)
