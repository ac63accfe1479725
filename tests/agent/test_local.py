"""Anti-entropy: the agent's services and checks kept in the catalog, against
an in-memory server."""

import random

from twisted.internet.defer import Deferred, fail
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.antientropy import AntiEntropy, scale_factor
from pyconsul.agent.local import LocalState
from pyconsul.agent.router import NoServers
from pyconsul.state import commands, records
from pyconsul.testing.server import InMemoryServer


def node_info():
    return {"Node": "node-1", "ID": "2ef7cbd8-9ee5-4a2d-8a34-0a3a8b3c1d42", "Address": "127.0.0.1",
            "TaggedAddresses": {"lan": "127.0.0.1", "wan": "127.0.0.1"}, "NodeMeta": {"consul-network-segment": ""}}


def service(name, service_id=None, port=80, tags=None):
    return records.service_record({"Service": name, "ID": service_id or name, "Port": port, "Tags": tags or []})


def check(check_id, status="critical", service_id="", service_name="", output=""):
    record = records.check_record({"CheckID": check_id, "Name": check_id, "Status": status, "Output": output,
                                   "ServiceID": service_id, "Type": "ttl"}, "node-1")
    if service_id:
        record = dict(record, ServiceName=service_name, ServiceTags=[])
    return record


class FailingRPC:
    """Every call fails, as when no server can be reached."""

    def __init__(self, rpc):
        self.rpc = rpc
        self.down = False

    def call(self, method, args):
        if self.down:
            return fail(NoServers())
        return self.rpc.call(method, args)


class HeldRPC(FailingRPC):
    """With ``hold`` set, registrations wait until ``release()`` sends them."""

    def __init__(self, rpc):
        super().__init__(rpc)
        self.hold = False
        self.held = []

    def call(self, method, args):
        if self.hold and method == "Catalog.Register":
            waiting = Deferred()
            self.held.append((method, args, waiting))
            return waiting
        return super().call(method, args)

    def release(self):
        held, self.held = self.held, []
        for method, args, waiting in held:
            self.rpc.call(method, args).chainDeferred(waiting)


class AntiEntropyTests(SynchronousTestCase):
    def setUp(self):
        self.server = InMemoryServer(local_agent=False)
        self.rpc = HeldRPC(self.server.rpc)
        self.local = LocalState(node_info, self.rpc, self.server.clock, random.Random(1),
                                check_update_interval=300.0, on_change=lambda: self.ae.changed())
        self.ae = AntiEntropy(self.local, self.server.clock, random.Random(2))
        self.ae.start()
        self.server.advance(0)

    @property
    def catalog(self):
        return self.server.fsm.store.catalog

    def catalog_services(self):
        return sorted(s["ID"] for s in self.catalog.node_services("node-1"))

    def catalog_check(self, check_id):
        return self.catalog.checks.get(("node-1", check_id.lower()))

    def test_the_node_is_synced_with_its_tagged_addresses_and_meta(self):
        node = self.catalog.node("node-1")
        self.assertEqual((node["TaggedAddresses"], node["Meta"]),
                         ({"lan": "127.0.0.1", "wan": "127.0.0.1"}, {"consul-network-segment": ""}))
        # The leader's serfHealth check and consul service stay.
        self.assertEqual(self.catalog_services(), ["consul"])
        self.assertEqual(self.catalog_check("serfHealth")["Status"], "passing")

    def test_a_new_service_and_its_checks_are_pushed_at_once(self):
        self.local.add_service(service("web"))
        self.local.add_check(check("service:web", service_id="web", service_name="web"))
        self.server.advance(0)
        self.assertEqual(self.catalog_services(), ["consul", "web"])
        self.assertEqual(self.catalog_check("service:web")["ServiceName"], "web")
        self.assertTrue(self.local.in_sync())

    def test_removing_a_service_deregisters_it_and_its_checks(self):
        self.local.add_service(service("web"))
        self.local.add_check(check("service:web", service_id="web", service_name="web"))
        self.server.advance(0)
        self.local.remove_service("web")
        self.server.advance(0)
        self.assertEqual(self.catalog_services(), ["consul"])
        self.assertIsNone(self.catalog_check("service:web"))
        self.assertEqual(self.local.services, {})

    def test_a_service_removed_while_its_registration_is_on_its_way_is_deregistered(self):
        self.rpc.hold = True
        self.local.add_service(service("web"))
        self.server.advance(0)
        self.assertEqual(len(self.rpc.held), 1)  # the registration is out
        self.local.remove_service("web")
        self.rpc.hold = False
        self.rpc.release()
        self.server.advance(0)
        self.assertEqual(self.catalog_services(), ["consul"])
        self.assertEqual(self.local.services, {})
        self.assertTrue(self.local.in_sync())

    def test_a_check_changed_while_its_registration_is_on_its_way_is_sent_again(self):
        self.local.add_service(service("web"))
        self.local.add_check(check("service:web", service_id="web", service_name="web"))
        self.server.advance(0)
        self.rpc.hold = True
        self.local.update_check("service:web", "passing", "ok")
        self.server.advance(0)
        self.local.update_check("service:web", "warning", "slow")
        self.rpc.hold = False
        self.rpc.release()
        self.server.advance(0)
        self.assertEqual(self.catalog_check("service:web")["Status"], "warning")
        self.assertTrue(self.local.in_sync())

    def test_a_status_change_is_pushed_at_once_an_output_change_later(self):
        self.local.add_check(check("mem", status="passing"))
        self.server.advance(0)
        self.local.update_check("mem", "passing", "82% used")
        self.server.advance(1)
        self.assertEqual(self.catalog_check("mem")["Output"], "")
        self.local.update_check("mem", "passing", "83% used")
        # Deferred by half to all of check_update_interval, staggered.
        self.server.advance(148)
        self.assertEqual(self.catalog_check("mem")["Output"], "")
        self.server.advance(152)
        self.assertEqual(self.catalog_check("mem")["Output"], "83% used")
        self.local.update_check("mem", "critical", "disk full")
        self.server.advance(0)
        self.assertEqual((self.catalog_check("mem")["Status"], self.catalog_check("mem")["Output"]),
                         ("critical", "disk full"))

    def test_a_change_behind_the_agents_back_is_repaired_by_the_next_full_sync(self):
        self.local.add_service(service("web", port=80))
        self.server.advance(0)
        self.server.server.apply(commands.catalog_register(
            {"Node": "node-1", "Address": "127.0.0.1", "SkipNodeUpdate": True,
             "Service": {"Service": "web", "ID": "web", "Port": 9999}}))
        self.server.server.apply(commands.catalog_register(
            {"Node": "node-1", "Address": "127.0.0.1", "SkipNodeUpdate": True,
             "Service": {"Service": "stray", "ID": "stray"}}))
        self.server.advance(0)
        self.assertEqual(self.catalog_services(), ["consul", "stray", "web"])
        self.server.advance(91)  # the next full sync (60 s, staggered by up to 30 s)
        self.assertEqual(self.catalog_services(), ["consul", "web"])
        self.assertEqual(self.catalog.node_services("node-1")[1]["Port"], 80)

    def test_an_outage_is_retried_and_everything_comes_back(self):
        self.rpc.down = True
        self.local.add_service(service("web"))
        self.local.add_check(check("mem"))
        self.server.advance(0)
        self.assertEqual(self.catalog_services(), ["consul"])
        self.rpc.down = False
        self.server.advance(15)
        self.assertEqual(self.catalog_services(), ["consul", "web"])
        self.assertIsNotNone(self.catalog_check("mem"))
        # The servers lose the registration; the next full sync restores it.
        self.server.server.apply(commands.catalog_deregister(
            {"Node": "node-1", "ServiceID": "web"}))
        self.server.advance(91)
        self.assertEqual(self.catalog_services(), ["consul", "web"])

    def test_the_interval_scales_with_the_cluster(self):
        self.assertEqual([scale_factor(n) for n in (1, 128, 129, 256, 257, 1024)], [1, 1, 2, 2, 3, 4])
