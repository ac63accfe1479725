"""The prepared query RPC endpoints in virtual time: Apply's checks and
messages (Consul 1.10's prepared_query_endpoint.go), blocking Get and
List, Explain, and Execute -- health, tags, meta, limit, the near-sort hook
and the source it is given, failover through fake datacenters -- and
ExecuteRemote. Single-server tests run on :class:`InMemoryServer` (whose
node ``node-1`` is in the catalog); one runs through a follower of three.
"""

import random

from twisted.internet.defer import fail, succeed
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.server.errors import RPCError
from pyconsul.state import commands
from pyconsul.server.queries import failover_targets, filter_ignore, go_uuid, tag_filter
from pyconsul.state.queries import is_uuid, query_record
from tests.server.test_sessions import ThreeServers, session_args
from tests.server.servercase import ServerTestCase

SERF = {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"}


def register(node, address, service=None, checks=(), meta=None, tagged=None):
    request = {"Node": node, "Address": address, "Checks": [SERF] + list(checks)}
    if meta is not None:
        request["NodeMeta"] = meta
    if tagged is not None:
        request["TaggedAddresses"] = tagged
    if service is not None:
        request["Service"] = service
    return request


class QueryServerTestCase(ServerTestCase):
    def create(self, **query):
        query.setdefault("Service", {"Service": "redis"})
        return self.call("PreparedQuery.Apply", {"Op": "create", "Query": query})

    def refused(self, op="create", **query):
        return self.refusal("PreparedQuery.Apply", {"Op": op, "Query": query}).message

    def register(self, *args, **kwargs):
        self.call("Catalog.Register", register(*args, **kwargs))

    def execute(self, name, **args):
        args["QueryIDOrName"] = name
        args.setdefault("Agent", {"Node": "node-1", "Datacenter": "dc1", "Segment": ""})
        return self.call("PreparedQuery.Execute", args)

    def nodes(self, reply):
        return sorted(entry["Node"]["Node"] for entry in reply["Nodes"])


class ApplyTests(QueryServerTestCase):
    def test_create_answers_a_fresh_id(self):
        query_id = self.create(Name="redis")
        self.assertTrue(is_uuid(query_id))
        self.assertEqual(self.store.queries.get(query_id)["Name"], "redis")

    def test_ids_are_go_uuids_from_the_injected_rng(self):
        self.assertEqual(go_uuid(random.Random(1)), go_uuid(random.Random(1)))
        self.assertTrue(is_uuid(go_uuid(random.Random(2))))

    def test_create_refusals(self):
        self.assertEqual(self.refused(ID="x", Name="a", Service={"Service": "s"}),
                         "ID must be empty when creating a new prepared query")
        self.assertEqual(self.refused(Service={"Service": "s"}), "Invalid prepared query: Must be bound to a session")
        self.assertEqual(self.refused(Name="a"), "Invalid prepared query: Must provide a Service name to query")
        self.assertEqual(self.refused(Name="a", Token="<hidden>", Service={"Service": "s"}),
                         "Invalid prepared query: Bad Token '<hidden>', it looks like a query definition with a "
                         "redacted token was submitted")
        self.assertEqual(self.refused(Name="a", Service={"Service": "s", "Failover": {"NearestN": -1}}),
                         "Invalid prepared query: Bad NearestN '-1', must be >= 0")
        self.assertEqual(self.refused(Name="a", Service={"Service": "s", "NodeMeta": {"bad key": "v"}}),
                         "Invalid prepared query: Couldn't load metadata pair ('bad key', 'v'): Key contains "
                         "invalid characters")
        self.assertEqual(self.refused(Name="a", Service={"Service": "s"}, DNS={"TTL": "soon"}),
                         'Invalid prepared query: Bad DNS TTL \'soon\': time: invalid duration "soon"')
        self.assertEqual(self.refused(Name="a", Service={"Service": "s"}, DNS={"TTL": "-1s"}),
                         "Invalid prepared query: DNS TTL '-1000000000', must be >=0")
        self.assertEqual(self.refused(op="merge", ID="aaaaaaaa-0000-4000-8000-000000000001"),
                         "Cannot modify non-existent prepared query: 'aaaaaaaa-0000-4000-8000-000000000001'")

    def test_consul_meta_keys_are_allowed_in_queries(self):
        self.create(Name="a", Service={"Service": "s", "NodeMeta": {"consul-network-segment": ""}})

    def test_the_state_stores_refusals_come_back(self):
        self.create(Name="redis")
        self.assertEqual(self.refused(Name="REDIS", Service={"Service": "s"}),
                         "name 'REDIS' aliases an existing query name")
        self.assertEqual(self.refused(Session="11111111-1111-1111-1111-111111111111", Service={"Service": "s"}),
                         'invalid session "11111111-1111-1111-1111-111111111111"')

    def test_a_session_bound_query(self):
        session = self.call("Session.Apply", session_args())
        query_id = self.create(Session=session)
        self.call("Session.Apply", {"Op": "destroy", "Session": {"ID": session}})
        self.assertIsNone(self.store.queries.get(query_id))

    def test_update_and_delete(self):
        query_id = self.create(Name="redis")
        self.assertEqual(self.call("PreparedQuery.Apply", {"Op": "update", "Query": {
            "ID": query_id, "Name": "cache", "Service": {"Service": "memcached"}}}), query_id)
        self.assertEqual(self.store.queries.get(query_id)["Service"]["Service"], "memcached")
        self.assertEqual(self.call("PreparedQuery.Apply", {"Op": "delete", "Query": {"ID": query_id}}), query_id)
        self.assertIsNone(self.store.queries.get(query_id))
        self.assertEqual(self.refused(op="delete", ID=query_id),
                         "Cannot modify non-existent prepared query: '%s'" % query_id)
        self.assertEqual(self.refused(op="update", ID="redis"),
                         "Prepared Query lookup failed: failed prepared query lookup: index error: UUID must be "
                         "36 characters")

    def test_unknown_operation_on_an_existing_query(self):
        query_id = self.create(Name="redis")
        self.assertEqual(self.refused(op="merge", ID=query_id), "Unknown prepared query operation: merge")


class ReadTests(QueryServerTestCase):
    def test_get_and_list(self):
        first = self.create(Name="a")
        second = self.create(Name="b")
        reply = self.call("PreparedQuery.Get", {"QueryID": first})
        self.assertEqual([q["ID"] for q in reply["Queries"]], [first])
        self.assertEqual(reply["Index"], self.store.queries.index)
        listed = self.call("PreparedQuery.List", {})
        self.assertEqual({q["ID"] for q in listed["Queries"]}, {first, second})
        self.assertTrue(listed["KnownLeader"])

    def test_an_empty_list_answers_index_one(self):
        self.assertEqual(self.call("PreparedQuery.List", {})["Index"], 1)

    def test_get_unknown(self):
        error = self.refusal("PreparedQuery.Get", {"QueryID": "aaaaaaaa-0000-4000-8000-000000000009"})
        self.assertEqual((error.message, error.status), ("Query not found", 404))
        self.assertEqual(self.refusal("PreparedQuery.Get", {"QueryID": "x"}).message,
                         "failed prepared query lookup: index error: UUID must be 36 characters")

    def test_a_blocking_get_wakes_on_its_query_only(self):
        query_id = self.create(Name="a")
        index = self.store.queries.index
        d = self.endpoints.call("PreparedQuery.Get", {"QueryID": query_id,
                                                      "QueryOptions": {"MinQueryIndex": index, "MaxQueryTime": 60}})
        self.agent.advance(1)
        self.create(Name="other")
        self.assertNoResult(d)
        self.call("PreparedQuery.Apply", {"Op": "update", "Query": {"ID": query_id, "Name": "a",
                                                                     "Service": {"Service": "db"}}})
        reply = self.successResultOf(d)
        self.assertEqual(reply["Queries"][0]["Service"]["Service"], "db")
        self.assertGreater(reply["Index"], index)

    def test_a_blocking_list_times_out(self):
        self.create(Name="a")
        index = self.store.queries.index
        d = self.endpoints.call("PreparedQuery.List", {"QueryOptions": {"MinQueryIndex": index, "MaxQueryTime": 10}})
        self.agent.advance(9)
        self.assertNoResult(d)
        self.agent.advance(2)
        self.assertEqual(self.successResultOf(d)["Index"], index)

    def test_explain_renders_a_template(self):
        self.create(Name="geo-", Template={"Type": "name_prefix_match", "Regexp": "^geo-(.*)$"},
                    Service={"Service": "${match(1)}", "Tags": ["${name.suffix}"]})
        reply = self.call("PreparedQuery.Explain", {"QueryIDOrName": "geo-web"})
        self.assertEqual(reply["Query"]["Service"]["Service"], "web")
        self.assertEqual(reply["Query"]["Service"]["Tags"], ["web"])
        self.assertEqual((reply["Index"], reply["KnownLeader"]), (0, True))
        self.assertEqual(self.refusal("PreparedQuery.Explain", {"QueryIDOrName": "nope"}).message, "Query not found")


class ExecuteTests(QueryServerTestCase):
    def setUp(self):
        super().setUp()
        web = {"Service": "web", "Port": 80}
        self.register("a", "10.0.0.1", dict(web, Tags=["primary", "v1"]), meta={"rack": "r1"})
        self.register("b", "10.0.0.2", dict(web, Tags=["v1"], Meta={"tier": "gold"}), meta={"rack": "r2"})
        self.register("c", "10.0.0.3", dict(web, Tags=["v2", "Experimental"]),
                      checks=[{"CheckID": "web-check", "Name": "web", "Status": "warning", "ServiceID": "web"}])
        self.register("d", "10.0.0.4", dict(web, Tags=["v2"]),
                      checks=[{"CheckID": "flaky", "Name": "flaky", "Status": "critical"}])

    def test_the_healthy_instances(self):
        self.create(Name="web", Service={"Service": "web"}, DNS={"TTL": "10s"})
        reply = self.execute("web")
        self.assertEqual(self.nodes(reply), ["a", "b", "c"])  # d is critical; c's warning is allowed
        self.assertEqual((reply["Service"], reply["Datacenter"], reply["Failovers"], reply["DNS"]),
                         ("web", "dc1", 0, {"TTL": "10s"}))
        self.assertEqual(set(reply["Nodes"][0]), {"Node", "Service", "Checks"})

    def test_by_id_and_by_name_without_case(self):
        query_id = self.create(Name="web", Service={"Service": "WEB"})
        self.assertEqual(self.nodes(self.execute(query_id)), ["a", "b", "c"])
        self.assertEqual(self.nodes(self.execute("Web")), ["a", "b", "c"])

    def test_only_passing_and_ignored_checks(self):
        self.create(Name="passing", Service={"Service": "web", "OnlyPassing": True})
        self.create(Name="ignoring", Service={"Service": "web", "OnlyPassing": True,
                                              "IgnoreCheckIDs": ["flaky", "web-check"]})
        self.assertEqual(self.nodes(self.execute("passing")), ["a", "b"])
        self.assertEqual(self.nodes(self.execute("ignoring")), ["a", "b", "c", "d"])

    def test_tags_with_negation_and_without_case(self):
        self.create(Name="v1", Service={"Service": "web", "Tags": ["V1", "!primary"]})
        self.create(Name="stable", Service={"Service": "web", "Tags": ["!experimental"]})
        self.assertEqual(self.nodes(self.execute("v1")), ["b"])
        self.assertEqual(self.nodes(self.execute("stable")), ["a", "b"])

    def test_node_and_service_meta(self):
        self.create(Name="r2", Service={"Service": "web", "NodeMeta": {"rack": "r2"}})
        self.create(Name="gold", Service={"Service": "web", "ServiceMeta": {"tier": "gold"}})
        self.create(Name="none", Service={"Service": "web", "NodeMeta": {"rack": "r9"}})
        self.assertEqual(self.nodes(self.execute("r2")), ["b"])
        self.assertEqual(self.nodes(self.execute("gold")), ["b"])
        self.assertEqual(self.nodes(self.execute("none")), [])

    def test_shuffled_then_limited(self):
        self.create(Name="web", Service={"Service": "web"})
        orders = {tuple(e["Node"]["Node"] for e in self.execute("web")["Nodes"]) for _ in range(20)}
        self.assertGreater(len(orders), 1)
        self.assertEqual(len(self.execute("web", Limit=2)["Nodes"]), 2)

    def test_a_template_picks_the_service(self):
        self.create(Name="svc-", Template={"Type": "name_prefix_match"}, Service={"Service": "${name.suffix}"})
        self.assertEqual(self.nodes(self.execute("svc-web")), ["a", "b", "c"])
        self.assertEqual(self.execute("svc-nothing")["Nodes"], [])

    def test_unknown(self):
        error = self.refusal("PreparedQuery.Execute", {"QueryIDOrName": "nope"})
        self.assertEqual((error.message, error.status), ("Query not found", 404))
        self.assertEqual(self.refusal("PreparedQuery.Execute", {"QueryIDOrName": ""}).message, "Missing query ID")

    def test_connect_instances(self):
        self.register("e", "10.0.0.5", {"Service": "web-proxy", "Kind": "connect-proxy", "Port": 21000,
                                        "Proxy": {"DestinationServiceName": "web"}})
        self.register("f", "10.0.0.6", {"Service": "web", "ID": "web-native", "Port": 81,
                                        "Connect": {"Native": True}})
        self.create(Name="web", Service={"Service": "web"})
        self.assertEqual(self.nodes(self.execute("web", Connect=True)), ["e", "f"])
        self.create(Name="mesh", Service={"Service": "web", "Connect": True})
        self.assertEqual(self.nodes(self.execute("mesh")), ["e", "f"])


class NearTests(ExecuteTests):
    def setUp(self):
        super().setUp()
        self.sorted_from = []

        def sort_by_distance(source, nodes):
            self.sorted_from.append(dict(source))
            return sorted(nodes, key=lambda e: e["Node"]["Node"], reverse=True)

        self.endpoints.sort_by_distance = sort_by_distance

    def order(self, reply):
        return [e["Node"]["Node"] for e in reply["Nodes"]]

    def test_no_source_no_sort(self):
        self.create(Name="web", Service={"Service": "web"})
        self.execute("web")
        self.assertEqual(self.sorted_from, [])

    def test_sorted_from_the_requests_source_with_that_node_first(self):
        self.create(Name="web", Service={"Service": "web"})
        reply = self.execute("web", Source={"Node": "B", "Datacenter": "dc1"})
        self.assertEqual(self.order(reply), ["b", "c", "a"])  # sorted c b a, then the source node first
        self.assertEqual(self.sorted_from[-1]["Node"], "B")

    def test_near_agent_is_the_asking_agent(self):
        self.create(Name="web", Service={"Service": "web", "Near": "_agent"})
        self.execute("web", Agent={"Node": "a", "Datacenter": "dc1"})
        self.assertEqual(self.sorted_from[-1], {"Node": "a", "Datacenter": "dc1", "Segment": "", "Ip": ""})

    def test_the_requests_source_beats_the_querys_near(self):
        self.create(Name="web", Service={"Service": "web", "Near": "a"})
        self.execute("web", Source={"Node": "c"})
        self.assertEqual(self.sorted_from[-1]["Node"], "c")

    def test_near_ip_is_the_node_with_that_address(self):
        self.create(Name="web", Service={"Service": "web", "Near": "_ip"})
        self.execute("web", Source={"Ip": "10.0.0.2"})
        self.assertEqual(self.sorted_from[-1]["Node"], "b")
        self.execute("web", Source={"Ip": "10.9.9.9"})
        self.execute("web")
        self.assertEqual(len(self.sorted_from), 1)  # no node: no sort

    def test_the_source_node_is_not_moved_from_another_datacenter(self):
        self.create(Name="web", Service={"Service": "web"})
        reply = self.execute("web", Source={"Node": "a", "Datacenter": "dc2"})
        self.assertEqual(self.order(reply), ["c", "b", "a"])

    def test_the_limit_comes_after_the_sort(self):
        self.create(Name="web", Service={"Service": "web"})
        self.assertEqual(self.order(self.execute("web", Source={"Node": "x"}, Limit=1)), ["c"])


class CoordinateSortTests(ExecuteTests):
    """Without a hook, the coordinates in the state store sort the answer."""

    def coordinates(self, **positions):
        updates = [{"Node": node, "Segment": "", "Coord": {"Vec": [x] + [0.0] * 7, "Error": 0.1,
                                                            "Adjustment": 0.0, "Height": 0.00001}}
                   for node, x in positions.items()]
        d = self.agent.server.apply(commands.coordinate_batch_update(updates))
        self.agent.advance()
        self.successResultOf(d)

    def test_nearest_first(self):
        self.coordinates(a=0.0, b=0.03, c=0.01)
        self.create(Name="web", Service={"Service": "web"})
        for _ in range(5):
            reply = self.execute("web", Source={"Node": "a", "Datacenter": "dc1"})
            self.assertEqual([e["Node"]["Node"] for e in reply["Nodes"]], ["a", "c", "b"])

    def test_a_source_without_a_coordinate_leaves_the_shuffle(self):
        self.create(Name="web", Service={"Service": "web"})
        orders = {tuple(e["Node"]["Node"] for e in self.execute("web", Source={"Node": "zz"})["Nodes"])
                  for _ in range(20)}
        self.assertGreater(len(orders), 1)


class FailoverTests(QueryServerTestCase):
    def setUp(self):
        super().setUp()
        self.asked = []
        self.remote = {"dc2": [], "dc3": ["n3"], "dc4": ["n4"]}
        self.endpoints.datacenters_by_distance = lambda: ["dc1", "dc2", "dc3", "dc4"]

        def forward_datacenter(dc, method, args):
            self.asked.append((dc, method, args))
            if dc not in self.remote:
                return fail(RPCError("No path to datacenter"))
            nodes = [{"Node": {"Node": n}, "Service": {}, "Checks": []} for n in self.remote[dc]]
            return succeed({"Service": "db", "Nodes": nodes, "DNS": {"TTL": "5s"}, "Datacenter": dc,
                            "Failovers": 0, "Index": 0, "KnownLeader": True, "LastContact": 0})

        self.endpoints.forward_datacenter = forward_datacenter

    def test_local_instances_need_no_failover(self):
        self.register("n1", "10.0.0.1", {"Service": "db"})
        self.create(Name="db", Service={"Service": "db", "Failover": {"NearestN": 3}})
        reply = self.execute("db")
        self.assertEqual((reply["Failovers"], reply["Datacenter"], self.asked), (0, "dc1", []))

    def test_nearest_n_in_order_until_one_has_instances(self):
        self.create(Name="db", Service={"Service": "db", "Failover": {"NearestN": 3}})
        reply = self.execute("db", Limit=4, QueryOptions={"AllowStale": True})
        self.assertEqual([dc for dc, _, _ in self.asked], ["dc2", "dc3"])
        self.assertEqual((reply["Datacenter"], reply["Failovers"]), ("dc3", 2))
        self.assertEqual([e["Node"]["Node"] for e in reply["Nodes"]], ["n3"])
        dc, method, args = self.asked[0]
        self.assertEqual(method, "PreparedQuery.ExecuteRemote")
        self.assertEqual((args["Datacenter"], args["Limit"], args["QueryOptions"]), ("dc2", 4, {"AllowStale": True}))
        self.assertEqual(args["Query"], self.store.queries.resolve("db"))

    def test_listed_datacenters_after_the_nearest_and_unknown_ones_skipped(self):
        self.create(Name="db", Service={"Service": "db", "Failover": {
            "NearestN": 1, "Datacenters": ["dc9", "dc2", "dc4", "dc3"]}})
        reply = self.execute("db")
        self.assertEqual([dc for dc, _, _ in self.asked], ["dc2", "dc4"])
        self.assertEqual((reply["Datacenter"], reply["Failovers"]), ("dc4", 2))

    def test_a_failing_datacenter_is_passed_over(self):
        self.endpoints.datacenters_by_distance = lambda: ["dc5", "dc3"]
        self.create(Name="db", Service={"Service": "db", "Failover": {"NearestN": 2}})
        reply = self.execute("db")
        self.assertEqual((reply["Datacenter"], reply["Failovers"]), ("dc3", 2))

    def test_nothing_anywhere(self):
        self.remote = {"dc2": []}
        self.create(Name="db", Service={"Service": "db", "Failover": {"Datacenters": ["dc2", "dc3"]}})
        reply = self.execute("db")
        self.assertEqual((reply["Nodes"], reply["Failovers"]), ([], 2))
        self.assertEqual(reply["Datacenter"], "dc2")  # the last answer that came back

    def test_without_other_datacenters_nothing_is_tried(self):
        del self.endpoints.datacenters_by_distance
        self.create(Name="db", Service={"Service": "db", "Failover": {"NearestN": 2, "Datacenters": ["dc2"]}})
        reply = self.execute("db")
        self.assertEqual((reply["Failovers"], self.asked), (0, []))

    def test_without_a_way_to_forward_there_is_no_path(self):
        del self.endpoints.forward_datacenter
        self.create(Name="db", Service={"Service": "db", "Failover": {"NearestN": 1}})
        reply = self.execute("db")
        self.assertEqual((reply["Failovers"], reply["Nodes"], reply["Datacenter"]), (1, [], "dc1"))

    def test_failover_targets(self):
        query = query_record({"Service": {"Failover": {"NearestN": 2, "Datacenters": ["b", "x", "d", "d"]}}})
        self.assertEqual(failover_targets(query, ["a", "b", "c", "d"]), ["a", "b", "d", "d"])


class ExecuteRemoteTests(QueryServerTestCase):
    def test_runs_the_shipped_query_without_failover(self):
        self.register("n1", "10.0.0.1", {"Service": "db", "Tags": ["primary"]})
        self.register("n2", "10.0.0.2", {"Service": "db"})
        self.endpoints.forward_datacenter = lambda *args: self.fail("no failover from a remote execute")
        query = query_record({"ID": "x", "Service": {"Service": "db", "Tags": ["primary"],
                                                     "Failover": {"NearestN": 3}}, "DNS": {"TTL": "3s"}})
        reply = self.call("PreparedQuery.ExecuteRemote", {"Datacenter": "dc1", "Query": query, "Limit": 5})
        self.assertEqual([e["Node"]["Node"] for e in reply["Nodes"]], ["n1"])
        self.assertEqual((reply["Datacenter"], reply["DNS"], reply["Failovers"]), ("dc1", {"TTL": "3s"}, 0))
        everyone = dict(query, Service=dict(query["Service"], Tags=None))
        self.assertEqual(len(self.call("PreparedQuery.ExecuteRemote", {"Query": everyone, "Limit": 1})["Nodes"]), 1)


class FilterTests(SynchronousTestCase):
    def entry(self, tags=(), *statuses):
        return {"Service": {"Tags": None if tags is None else list(tags)},
                "Checks": [{"CheckID": "c%d" % i, "Status": s} for i, s in enumerate(statuses)]}

    def test_filter_ignore(self):
        entries = [self.entry((), "passing"), self.entry((), "warning"), self.entry((), "critical", "passing")]
        self.assertEqual(filter_ignore(entries, False, ()), entries[:2])
        self.assertEqual(filter_ignore(entries, True, ()), entries[:1])
        self.assertEqual(filter_ignore(entries, True, ["c0"]), entries)

    def test_tag_filter(self):
        entries = [self.entry(["a", "B"]), self.entry(["a"]), self.entry(None)]
        self.assertEqual(tag_filter(["A", "!b"], entries), entries[1:2])
        self.assertEqual(tag_filter(["!a"], entries), entries[2:])


class FollowerTests(SynchronousTestCase):
    def test_create_and_execute_through_a_follower(self):
        cluster = ThreeServers()
        leader, follower = cluster.leader(), cluster.followers()[0]
        self.successResultOf(cluster.call(leader, "Catalog.Register", register("n1", "10.0.0.1", {"Service": "db"})))
        query_id = self.successResultOf(cluster.call(follower, "PreparedQuery.Apply", {
            "Op": "create", "Query": {"Name": "db", "Service": {"Service": "db"}}}))
        cluster.advance(1)
        for member in cluster.members.values():
            self.assertEqual(member.store.queries.get(query_id)["Name"], "db")
        reply = self.successResultOf(cluster.call(follower, "PreparedQuery.Execute", {"QueryIDOrName": "db"}))
        self.assertEqual([e["Node"]["Node"] for e in reply["Nodes"]], ["n1"])
        stale = self.successResultOf(cluster.call(follower, "PreparedQuery.Execute", {
            "QueryIDOrName": "db", "QueryOptions": {"AllowStale": True}}))
        self.assertEqual(len(stale["Nodes"]), 1)
