"""The discovery functions in the three modes: a fake agent (FakeAgent),
a fake clock, real files; commands are recorded, not run.

In watch mode the catalog is followed exactly as KV prefixes are: one
blocking query per distinct dependency, shared by every resource that
reads it, a render when an answer changes, back-off while the agent is
down; a render that asks for something new starts its watch, and what no
resource reads any more is dropped. -onetime and -interval read each
dependency once per pass, in as many rounds as the renders reveal them.
"""

import os

from pyconsul.template import deps, load_resources
from pyconsul.template.modes import IntervalMode, run_once
from pyconsul.template.watch import DEFAULT_WAIT
from tests.template.fakeagent import FakeAgent
from tests.template.test_modes import ModeTestCase, in_this_thread
from tests.template.test_resource import read
from tests.template.test_watch import run_until

WEB = '{{range service "web"}}{{.Address}}:{{.Port}} {{end}}\n'
WEB_DEP = deps.parse_health_service("web")
ALL_SERVICES = "{{range services}}{{.Name}}:{{range service .Name}} {{.Port}}{{end}};{{end}}\n"


def web(number, status="passing"):
    """The arguments of a registration of web instance ``number`` on node n<number>."""
    return dict(node=f"n{number}", address=f"10.0.0.{number}",
                service={"ID": f"web{number}", "Service": "web", "Port": 8000 + number},
                check={"CheckID": f"web{number}-alive", "Status": status, "ServiceID": f"web{number}"})


class DiscoveryModeTestCase(ModeTestCase):
    def setUp(self):
        super().setUp()
        self.kv = self.agent = FakeAgent(self.clock)
        self.syncs = []  # the resources of each sync batch

        def counting_thread(function, *args):
            self.syncs.append(sorted(os.path.basename(job[0].path) for job in args[0]))
            return in_this_thread(function, *args)

        self.in_thread = counting_thread


class WatchModeTests(DiscoveryModeTestCase):
    def test_a_service_change_renders_once(self):
        self.agent.register(**web(1))
        resource = self.resource("web", WEB, keys=[])
        self.watch_mode([resource])
        self.settle()
        self.assertEqual(read(resource.dest), b"10.0.0.1:8001 \n")
        self.assertEqual(self.reloads("web"), 1)

        self.syncs.clear()
        self.agent.register(**web(2))
        self.settle()
        self.assertEqual(read(resource.dest), b"10.0.0.1:8001 10.0.0.2:8002 \n")
        self.assertEqual((self.syncs, self.reloads("web")), ([["web.toml"]], 2))

    def test_an_instance_whose_check_goes_critical_leaves(self):
        self.agent.register(**web(1))
        self.agent.register(**web(2))
        resource = self.resource("web", WEB, keys=[])
        self.watch_mode([resource])
        self.settle()
        self.agent.register(**web(1, status="critical"))
        self.settle()
        self.assertEqual(read(resource.dest), b"10.0.0.2:8002 \n")
        self.agent.register(**web(1, status="passing"))
        self.settle()
        self.assertEqual(read(resource.dest), b"10.0.0.1:8001 10.0.0.2:8002 \n")
        self.assertEqual(self.reloads("web"), 3)

    def test_two_templates_on_one_service_share_one_query(self):
        self.agent.register(**web(1))
        a = self.resource("a", WEB, keys=[])
        b = self.resource("b", '{{range service "web"}}{{.ID}}{{end}}\n', keys=["/app"])
        self.watch_mode([a, b])
        self.settle()
        self.assertEqual(self.agent.requests_for(WEB_DEP), [(0, DEFAULT_WAIT), (self.agent.index, DEFAULT_WAIT)])
        self.assertEqual(self.agent.blocked_on(WEB_DEP), 1)
        self.agent.register(**web(2))
        self.settle()
        self.assertEqual(len(self.agent.requests_for(WEB_DEP)), 3)
        self.assertEqual((read(a.dest), read(b.dest)), (b"10.0.0.1:8001 10.0.0.2:8002 \n", b"web1web2\n"))
        self.assertEqual((self.reloads("a"), self.reloads("b")), (2, 2))

    def test_a_change_elsewhere_in_the_catalog_renders_nothing(self):
        self.agent.register(**web(1))
        resource = self.resource("web", WEB, keys=[])
        self.watch_mode([resource])
        self.settle()
        self.syncs.clear()
        self.agent.register("n9", "10.0.0.9", service={"ID": "db", "Service": "db", "Port": 5432})
        self.settle()
        self.assertEqual((self.syncs, self.agent.blocked_on(WEB_DEP)), ([], 1))

    def test_what_a_render_asks_for_is_watched_and_what_it_no_longer_asks_for_dropped(self):
        self.agent.register(**web(1))
        resource = self.resource("all", ALL_SERVICES, keys=[])
        self.watch_mode([resource])
        self.settle()
        self.assertEqual(read(resource.dest), b"consul: 8300;web: 8001;\n")
        db = deps.parse_health_service("db")
        self.agent.register("n9", "10.0.0.9", service={"ID": "db", "Service": "db", "Port": 5432})
        self.settle()
        self.assertEqual(read(resource.dest), b"consul: 8300;db: 5432;web: 8001;\n")
        self.assertEqual(self.agent.blocked_on(db), 1)
        self.agent.deregister("n1", "web1")
        self.settle()
        self.assertEqual(read(resource.dest), b"consul: 8300;db: 5432;\n")
        self.assertEqual(self.agent.blocked_on(WEB_DEP), 0)
        self.assertEqual(sorted(str(d) for d in self.agent.answered if self.agent.blocked_on(d)),
                         ["catalog.services", "health.service(consul|passing)", "health.service(db|passing)"])

    def test_kv_and_the_catalog_together(self):
        self.agent.register(**web(1))
        resource = self.resource("mix", '{{getv "/app/port"}} ' + WEB, keys=["/app"])
        self.watch_mode([resource])
        self.settle()
        self.assertFalse(os.path.exists(resource.dest))  # the key is not there: a confd error
        self.agent.put("app/port", "80")
        self.settle()
        self.assertEqual(read(resource.dest), b"80 10.0.0.1:8001 \n")
        self.agent.register(**web(2))
        self.settle()
        self.assertEqual(read(resource.dest), b"80 10.0.0.1:8001 10.0.0.2:8002 \n")

    def test_a_template_error_keeps_watching_what_it_read(self):
        self.agent.register(**web(1))
        resource = self.resource("web", '{{range service "web"}}{{.Port}}{{end}}{{if nodes}}'
                                 '{{(index nodes 9).Node}}{{end}}\n', keys=[])
        self.watch_mode([resource])
        self.settle()
        self.assertIn("error calling index: index out of range: 9", "\n".join(self.events.texts))
        for n in range(2, 11):
            self.agent.register(f"n{n}", f"10.0.0.{n}")
        self.settle()
        self.assertEqual(read(resource.dest), b"8001n8\n")  # agent-1 n1 n10 n2 ... n8

    def test_the_agent_down_then_back(self):
        self.agent.register(**web(1))
        resource = self.resource("web", WEB, keys=[])
        self.watch_mode([resource])
        self.settle()
        self.agent.go_down()
        run_until(self.clock, 30)
        self.assertLess(len(self.agent.requests_for(WEB_DEP)), 12)
        self.assertIn('Get "http://fake/v1/health/service/web": EOF (retrying in 0.2s)', self.events.texts)
        self.assertEqual(read(resource.dest), b"10.0.0.1:8001 \n")
        self.agent.come_back()
        self.agent.register(**web(2))
        run_until(self.clock, 45)
        self.settle()
        self.assertEqual(read(resource.dest), b"10.0.0.1:8001 10.0.0.2:8002 \n")
        self.assertIn("Watching health.service(web|passing) again", self.events.texts)
        self.assertEqual(self.agent.blocked_on(WEB_DEP), 1)

    def test_the_agents_own_node(self):
        resource = self.resource("self", "{{with node}}{{.Node.Node}}:{{range .Services}} {{.ID}}{{end}}{{end}}\n",
                                 keys=[])
        self.watch_mode([resource])
        self.settle()
        self.assertEqual(read(resource.dest), b"agent-1: consul\n")
        self.agent.register("agent-1", "10.1.0.7", service={"ID": "web1", "Service": "web", "Port": 80})
        self.settle()
        self.assertEqual(read(resource.dest), b"agent-1: consul web1\n")


class WatchModeWithWaitTests(DiscoveryModeTestCase):
    quiescence = (0.02, 0.08)

    def test_a_burst_of_registrations_is_one_render(self):
        resource = self.resource("web", WEB, keys=[])
        self.watch_mode([resource])
        self.clock.advance(0.02)
        self.syncs.clear()
        for n in range(1, 6):
            self.agent.register(**web(n))
            self.clock.advance(0.005)
        self.clock.advance(0.02)
        self.assertEqual(self.syncs, [["web.toml"]])
        self.assertEqual(read(resource.dest).count(b":80"), 5)


class OnePassTests(DiscoveryModeTestCase):
    def test_onetime_fetches_what_each_round_reveals(self):
        self.agent.register(**web(1))
        resource = self.resource("all", ALL_SERVICES, keys=["/app"])
        self.assertEqual(self.successResultOf(run_once([resource], self.agent, self.runner())), 0)
        self.assertEqual(read(resource.dest), b"consul: 8300;web: 8001;\n")
        self.assertEqual(len(self.syncs), 3)  # nothing known; the services; their instances
        self.assertEqual(sorted((str(d), i) for d, i, _ in self.agent.catalog_requests),
                         [("catalog.services", 0), ("health.service(consul|passing)", 0),
                          ("health.service(web|passing)", 0)])
        self.assertEqual(self.kv.requests, [("app", 0, None)])

    def test_a_query_shared_by_resources_is_read_once(self):
        resources = [self.resource(f"t{n}", WEB, keys=[]) for n in range(5)]
        self.assertEqual(self.successResultOf(run_once(resources, self.agent, self.runner())), 0)
        self.assertEqual(self.agent.requests_for(WEB_DEP), [(0, None)])
        self.assertEqual(len(self.syncs), 2)

    def test_a_discovered_query_that_fails_is_that_resources_error(self):
        resource = self.resource("web", WEB, keys=[])
        fine = self.resource("fine", "fine\n", keys=[])
        self.agent.go_down()
        self.assertEqual(self.successResultOf(run_once([resource, fine], self.agent, self.runner())), 1)
        self.assertIn('Get "http://fake/v1/health/service/web": connection refused', self.events.texts)
        self.assertEqual(read(fine.dest), b"fine\n")
        self.assertFalse(os.path.exists(resource.dest))

    def test_interval_mode_reads_the_catalog_once_per_pass(self):
        self.agent.register(**web(1))
        resource = self.resource("web", WEB, keys=[])
        mode = IntervalMode(lambda: load_resources(self.dir.settings()), self.agent, self.runner(), self.clock, 2,
                            logger=self.events.logger())
        mode.start()
        self.addCleanup(mode.stop)
        self.agent.register(**web(2))
        self.assertEqual(read(resource.dest), b"10.0.0.1:8001 \n")
        self.clock.advance(2)
        self.assertEqual(read(resource.dest), b"10.0.0.1:8001 10.0.0.2:8002 \n")
        self.assertEqual(self.agent.requests_for(WEB_DEP), [(0, None), (0, None)])
