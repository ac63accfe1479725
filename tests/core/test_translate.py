"""translate_wan_addrs: which address of a remote node or service an answer gives."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core import translate


class AddressTests(SynchronousTestCase):
    def test_the_wan_address_replaces_the_lan_one(self):
        self.assertEqual(translate.node_address("10.0.0.1", {"lan": "10.0.0.1", "wan": "1.2.3.4"}), "1.2.3.4")

    def test_without_a_wan_address_the_address_stays(self):
        self.assertEqual(translate.node_address("10.0.0.1", {"lan": "10.0.0.1"}), "10.0.0.1")
        self.assertEqual(translate.node_address("10.0.0.1", None), "10.0.0.1")

    def test_a_family_tagged_address_comes_first_as_in_consul(self):
        tagged = {"lan": "10.0.0.1", "lan_ipv4": "10.0.0.1", "wan": "1.2.3.4", "wan_ipv4": "1.2.3.5"}
        self.assertEqual(translate.node_address("10.0.0.1", tagged), "1.2.3.5")
        # No WAN form of the family: the LAN one, before the plain WAN address.
        self.assertEqual(translate.node_address("10.0.0.1", {"lan_ipv6": "fd00::1", "wan": "1.2.3.4"}), "fd00::1")

    def test_a_service_takes_its_wan_address_and_port(self):
        tagged = {"wan": {"Address": "5.6.7.8", "Port": 8080}}
        self.assertEqual((translate.service_address("10.0.0.9", tagged), translate.service_port(80, tagged)),
                         ("5.6.7.8", 8080))
        # A WAN address without a port keeps the service's port.
        self.assertEqual(translate.service_port(80, {"wan": {"Address": "5.6.7.8", "Port": 0}}), 80)
        self.assertEqual((translate.service_address("", None), translate.service_port(80, None)), ("", 80))


class RecordTests(SynchronousTestCase):
    ENTRY = {"Node": {"Node": "n1", "Address": "10.0.0.1", "TaggedAddresses": {"wan": "1.2.3.4"}},
             "Service": {"ID": "web1", "Address": "10.0.0.9", "Port": 80,
                         "TaggedAddresses": {"wan": {"Address": "5.6.7.8", "Port": 8080}}},
             "Checks": []}

    def test_a_health_entry_is_translated_on_a_copy(self):
        translated = translate.check_service_node(self.ENTRY)
        self.assertEqual((translated["Node"]["Address"], translated["Service"]["Address"],
                          translated["Service"]["Port"]), ("1.2.3.4", "5.6.7.8", 8080))
        self.assertEqual((self.ENTRY["Node"]["Address"], self.ENTRY["Service"]["Port"]), ("10.0.0.1", 80))

    def test_a_catalog_service_entry(self):
        entry = {"Node": "n1", "Address": "10.0.0.1", "TaggedAddresses": {"wan": "1.2.3.4"},
                 "ServiceAddress": "", "ServicePort": 80, "ServiceTaggedAddresses": None}
        translated = translate.service_node(entry)
        self.assertEqual((translated["Address"], translated["ServiceAddress"], translated["ServicePort"]),
                         ("1.2.3.4", "", 80))

    def test_a_node_and_its_services(self):
        found = {"Node": self.ENTRY["Node"], "Services": {"web1": self.ENTRY["Service"]}}
        translated = translate.node_services(found)
        self.assertEqual((translated["Node"]["Address"], translated["Services"]["web1"]["Port"]), ("1.2.3.4", 8080))
        listed = translate.node_service_list({"Node": self.ENTRY["Node"], "Services": [self.ENTRY["Service"]]})
        self.assertEqual(listed["Services"][0]["Address"], "5.6.7.8")
        self.assertIsNone(translate.node_services(None))
        self.assertIsNone(translate.node_service_list(None))


class TranslatorTests(SynchronousTestCase):
    def test_only_other_datacenters_and_only_when_enabled(self):
        on, off = translate.Translator("dc1", True), translate.Translator("dc1", False)
        self.assertEqual([on.applies(dc) for dc in ("dc2", "dc1", "", None)], [True, False, False, False])
        self.assertFalse(off.applies("dc2"))
