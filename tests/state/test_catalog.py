"""The catalog table: registrations, Consul's indexes, and which views each change wakes."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.state.catalog import CatalogError, CatalogTable
from pyconsul.state.store import FSM
from pyconsul.state.watch import WatchRegistry
from pyconsul.state import commands


def register(node="n1", address="10.0.0.1", service=None, checks=(), **extra):
    request = {"Node": node, "Address": address, "Datacenter": "dc1", **extra}
    if service is not None:
        request["Service"] = service
    if checks:
        request["Checks"] = list(checks)
    return request


class Recorder:
    """Which views woke, per fire()."""

    def __init__(self, registry):
        self.registry = registry
        self.woken = set()

    def watch(self, *views):
        for view in views:
            self.registry.watch_key(view, lambda view=view: self.woken.add(view))


class CatalogTestCase(SynchronousTestCase):
    def setUp(self):
        self.watches = WatchRegistry()
        self.catalog = CatalogTable(self.watches)
        self.index = 0

    def apply(self, method, request):
        self.index += 1
        result = getattr(self.catalog, method)(self.index, request)
        self.watches.fire()
        return result


class RegistrationTests(CatalogTestCase):
    def test_a_node_with_a_service_and_a_check(self):
        self.apply("register", register(
            service={"Service": "redis", "ID": "redis1", "Tags": ["primary"], "Port": 6379},
            checks=[{"CheckID": "redis-check", "Name": "Redis", "Status": "passing", "ServiceID": "redis1"}],
        ))
        node = self.catalog.node("N1")  # names match without case
        self.assertEqual((node["Node"], node["CreateIndex"], node["ModifyIndex"]), ("n1", 1, 1))
        [(n, service)] = self.catalog.service_instances("Redis")
        self.assertEqual((service["ID"], service["Port"], service["Weights"]), ("redis1", 6379, {"Passing": 1, "Warning": 1}))
        [check] = self.catalog.service_checks("redis")
        self.assertEqual((check["ServiceName"], check["ServiceTags"], check["Status"]), ("redis", ["primary"], "passing"))

    def test_an_unchanged_registration_changes_no_index(self):
        request = register(service={"Service": "web", "Port": 80})
        self.apply("register", request)
        self.apply("register", request)
        [(node, service)] = self.catalog.service_instances("web")
        self.assertEqual((node["ModifyIndex"], service["ModifyIndex"]), (1, 1))
        self.assertEqual(self.catalog.index_of(("service", "web"), "services"), 1)

    def test_a_check_needs_its_service(self):
        with self.assertRaises(CatalogError) as caught:
            self.apply("register", register(checks=[{"CheckID": "c", "ServiceID": "nope"}]))
        self.assertEqual(str(caught.exception), 'failed inserting check on node "n1": Missing service registration')
        self.assertIsNone(self.catalog.node("n1"))  # nothing of a refused registration is kept

    def test_a_check_with_no_status_is_critical_and_named_by_its_name(self):
        self.apply("register", register(checks=[{"Name": "mem"}]))
        [check] = self.catalog.node_checks("n1")
        self.assertEqual((check["CheckID"], check["Status"]), ("mem", "critical"))

    def test_a_bad_status_is_refused(self):
        with self.assertRaises(CatalogError):
            self.apply("register", register(checks=[{"Name": "mem", "Status": "fine"}]))

    def test_deregistering_a_service_takes_its_checks(self):
        self.apply("register", register(service={"Service": "web"}, checks=[{"Name": "w", "ServiceID": "web"},
                                                                            {"Name": "node-check"}]))
        self.apply("deregister", {"Node": "n1", "ServiceID": "web"})
        self.assertEqual(self.catalog.service_instances("web"), [])
        self.assertEqual([c["CheckID"] for c in self.catalog.node_checks("n1")], ["node-check"])

    def test_deregistering_a_node_takes_everything(self):
        self.apply("register", register(service={"Service": "web"}, checks=[{"Name": "w", "ServiceID": "web"}]))
        self.apply("deregister", {"Node": "n1"})
        self.assertIsNone(self.catalog.node("n1"))
        self.assertEqual((self.catalog.service_instances("web"), self.catalog.checks_in_state("any")), ([], []))
        # The views of what is gone answer their table's index, which moved.
        self.assertEqual(self.catalog.index_of(("service", "web"), "nodes", "services"), 2)
        self.assertEqual(self.catalog.index_of(("node", "n1")), 1)  # Consul 1.10: a missing node answers 1

    def test_a_new_id_cannot_take_a_healthy_nodes_name(self):
        serf = {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"}
        self.apply("register", register(ID="11111111-1111-1111-1111-111111111111", checks=[serf]))
        with self.assertRaises(CatalogError) as caught:
            self.apply("register", register(ID="22222222-2222-2222-2222-222222222222"))
        self.assertIn("Node name n1 is reserved by node 11111111-1111-1111-1111-111111111111", str(caught.exception))
        self.apply("register", register(ID="11111111-1111-1111-1111-111111111111",
                                        checks=[dict(serf, Status="critical")]))
        self.apply("register", register(ID="22222222-2222-2222-2222-222222222222"))
        self.assertEqual(self.catalog.node("n1")["ID"], "22222222-2222-2222-2222-222222222222")

    def test_a_node_keeps_its_id_under_a_new_name(self):
        node_id = "33333333-3333-3333-3333-333333333333"
        self.apply("register", register(node="old", ID=node_id, service={"Service": "web"}))
        self.apply("register", register(node="new", ID=node_id))
        self.assertIsNone(self.catalog.node("old"))
        self.assertEqual(self.catalog.service_instances("web"), [])
        self.assertEqual(self.catalog.node("new")["ID"], node_id)

    def test_service_names_and_their_tags(self):
        self.apply("register", register(node="m1", service={"Service": "a", "Tags": ["x", "y"]}))
        self.apply("register", register(node="m2", service={"Service": "a", "Tags": ["y", "z"]}))
        self.apply("register", register(node="m2", service={"Service": "b"}))
        self.assertEqual(self.catalog.service_names(), {"a": ["x", "y", "z"], "b": []})

    def test_listing_order_is_consuls(self):
        for node in ("b", "A", "c"):
            self.apply("register", register(node=node, service={"Service": "web", "ID": "web-" + node}))
        self.assertEqual([n["Node"] for n, _ in self.catalog.service_instances("web")], ["A", "b", "c"])
        self.assertEqual([n["Node"] for n in self.catalog.nodes.values()], ["A", "b", "c"])


# Views a change may wake, and the change each test applies. A row lists
# exactly the views that must wake; every other watched view must not.
ALL_VIEWS = [
    ("nodes",), ("services",), ("checks",),
    ("service", "web"), ("service", "db"), ("health", "web"), ("health", "db"),
    ("node", "n1"), ("node", "n2"), ("node-checks", "n1"), ("node-checks", "n2"),
    ("state", "passing"), ("state", "critical"), ("state", "warning"), ("state", "any"),
]


class WakeTests(CatalogTestCase):
    def setUp(self):
        super().setUp()
        self.apply("register", register(node="n1", service={"Service": "web", "Port": 80},
                                        checks=[{"Name": "web-up", "ServiceID": "web", "Status": "passing"},
                                                {"Name": "n1-up", "Status": "passing"}]))
        self.apply("register", register(node="n2", address="10.0.0.2", service={"Service": "db", "Port": 5432},
                                        checks=[{"Name": "db-up", "ServiceID": "db", "Status": "passing"}]))

    def woken_by(self, method, request):
        recorder = Recorder(self.watches)
        recorder.watch(*ALL_VIEWS)
        self.apply(method, request)
        return recorder.woken

    def check_row(self, method, request, expected):
        self.assertEqual(self.woken_by(method, request), set(expected))

    def test_a_check_output_change(self):
        self.check_row("register", register(node="n1", checks=[
            {"Name": "web-up", "ServiceID": "web", "Status": "passing", "Output": "fine"}]),
            [("checks",), ("health", "web"), ("node-checks", "n1"), ("state", "passing"), ("state", "any")])

    def test_a_check_turning_critical(self):
        self.check_row("register", register(node="n2", address="10.0.0.2", checks=[
            {"Name": "db-up", "ServiceID": "db", "Status": "critical"}]),
            [("checks",), ("health", "db"), ("node-checks", "n2"), ("state", "passing"), ("state", "critical"),
             ("state", "any")])

    def test_a_node_check_is_part_of_every_instance_on_the_node(self):
        self.check_row("register", register(node="n1", checks=[{"Name": "n1-up", "Status": "warning"}]),
                       [("checks",), ("health", "web"), ("node-checks", "n1"), ("state", "passing"),
                        ("state", "warning"), ("state", "any")])

    def test_a_service_port_change(self):
        self.check_row("register", register(node="n2", address="10.0.0.2", service={"Service": "db", "Port": 6432}),
                       [("services",), ("service", "db"), ("health", "db"), ("node", "n2")])

    def test_a_node_address_change(self):
        self.check_row("register", register(node="n2", address="10.0.0.9"),
                       [("nodes",), ("service", "db"), ("health", "db"), ("node", "n2")])

    def test_the_same_registration_wakes_nothing(self):
        self.check_row("register", register(node="n2", address="10.0.0.2", service={"Service": "db", "Port": 5432}),
                       [])

    def test_a_service_tag_change_reaches_its_checks(self):
        self.check_row("register", register(node="n2", address="10.0.0.2",
                                            service={"Service": "db", "Port": 5432, "Tags": ["primary"]}),
                       [("services",), ("service", "db"), ("health", "db"), ("node", "n2"), ("checks",),
                        ("node-checks", "n2"), ("state", "passing"), ("state", "any")])
        [check] = self.catalog.service_checks("db")
        self.assertEqual(check["ServiceTags"], ["primary"])

    def test_deregistering_a_service(self):
        self.check_row("deregister", {"Node": "n2", "ServiceID": "db"},
                       [("services",), ("service", "db"), ("health", "db"), ("node", "n2"), ("checks",),
                        ("node-checks", "n2"), ("state", "passing"), ("state", "any")])


class FSMTests(SynchronousTestCase):
    def test_commands_and_refusals_through_the_log(self):
        fsm = FSM()
        self.assertIs(fsm.apply(1, commands.catalog_register(register(service={"Service": "web"}))), True)
        refused = fsm.apply(2, commands.catalog_register(register(checks=[{"Name": "c", "ServiceID": "x"}])))
        self.assertIsInstance(refused, CatalogError)
        self.assertEqual([n["Node"] for n in fsm.store.catalog.nodes.values()], ["n1"])

    def test_snapshot_and_restore(self):
        fsm = FSM()
        fsm.apply(1, commands.catalog_register(register(
            service={"Service": "web", "Tags": ["a"]}, checks=[{"Name": "c", "ServiceID": "web", "Status": "passing"}])))
        fsm.apply(2, commands.catalog_register(register(node="n2", service={"Service": "web", "ID": "web2"})))
        copy = FSM()
        copy.restore(list(fsm.snapshot()))
        catalog = copy.store.catalog
        self.assertEqual(catalog.service_instances("web"), fsm.store.catalog.service_instances("web"))
        self.assertEqual(catalog.service_checks("web"), fsm.store.catalog.service_checks("web"))
        self.assertEqual(catalog.index_of(("health", "web"), "checks"), 2)
        self.assertEqual(catalog.table_index, fsm.store.catalog.table_index)
