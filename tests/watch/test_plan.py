"""The watch plan core: Consul's plan.go rules, answer by answer, no I/O."""

import json

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.watch.plan import Fire, Plan, Retry, id_to_index, retry_delay
from pyconsul.watch.spec import parse


def plan_for(**params):
    return Plan(parse(params).query)


def body(value):
    return json.dumps(value).encode()


PAIR = {"LockIndex": 0, "Key": "app/x", "Flags": 0, "Value": "YmFy", "CreateIndex": 5, "ModifyIndex": 5}
# What the handler gets for PAIR: Go's api.KVPair, Session always there.
HANDLED_PAIR = {"Key": "app/x", "CreateIndex": 5, "ModifyIndex": 5, "LockIndex": 0, "Flags": 0,
                "Value": "YmFy", "Session": ""}


def event(event_id, name="deploy", ltime=1):
    return {"ID": event_id, "Name": name, "Payload": None, "NodeFilter": "", "ServiceFilter": "",
            "TagFilter": "", "Version": 1, "LTime": ltime}


class RequestTests(SynchronousTestCase):
    """What each type asks of the HTTP API, as Go's api client writes it."""

    def target(self, index=0, **params):
        return parse(params).query.request(index).target

    def test_each_type(self):
        table = [
            ({"type": "key", "key": "app/config"}, "/v1/kv/app/config"),
            ({"type": "key", "key": "/app/config"}, "/v1/kv/app/config"),
            ({"type": "key", "key": "a b?"}, "/v1/kv/a%20b%3F"),
            ({"type": "keyprefix", "prefix": "app/"}, "/v1/kv/app/?recurse="),
            ({"type": "services"}, "/v1/catalog/services"),
            ({"type": "nodes"}, "/v1/catalog/nodes"),
            ({"type": "service", "service": "web"}, "/v1/health/service/web"),
            ({"type": "service", "service": "web", "tag": ["b", "a"], "passingonly": True},
             "/v1/health/service/web?passing=1&tag=b&tag=a"),
            ({"type": "service", "service": "web", "tag": "v1", "passingonly": False},
             "/v1/health/service/web?tag=v1"),
            ({"type": "checks"}, "/v1/health/state/any"),
            ({"type": "checks", "state": "critical"}, "/v1/health/state/critical"),
            ({"type": "checks", "service": "web"}, "/v1/health/checks/web"),
            ({"type": "event"}, "/v1/event/list"),
            ({"type": "event", "name": "deploy"}, "/v1/event/list?name=deploy"),
        ]
        for params, target in table:
            self.assertEqual(self.target(**params), target, params)

    def test_index_datacenter_and_stale(self):
        self.assertEqual(self.target(index=42, type="key", key="x", datacenter="dc2", stale=True),
                         "/v1/kv/x?dc=dc2&index=42&stale=")
        self.assertEqual(self.target(index=7, type="keyprefix", prefix="p"), "/v1/kv/p?index=7&recurse=")

    def test_token_is_a_header(self):
        request = parse({"type": "nodes", "token": "s3cret"}).query.request()
        self.assertEqual(request.headers, (("X-Consul-Token", "s3cret"),))
        self.assertEqual(parse({"type": "nodes"}).query.request().headers, ())

    def test_the_plan_asks_with_the_last_index(self):
        plan = plan_for(type="nodes")
        self.assertEqual(plan.request().target, "/v1/catalog/nodes")
        plan.answered(200, "12", b"[]")
        self.assertEqual(plan.request().target, "/v1/catalog/nodes?index=12")


class ChangeTests(SynchronousTestCase):
    """When the handler runs."""

    def test_the_first_answer_fires_even_when_empty(self):
        plan = plan_for(type="key", key="app/x")
        self.assertEqual(plan.answered(404, "3", b""), Fire(3, None))

    def test_the_same_index_does_nothing(self):
        plan = plan_for(type="key", key="app/x")
        plan.answered(200, "5", body([PAIR]))
        # A blocking query that ran out of time answers with the index it was asked.
        self.assertIsNone(plan.answered(200, "5", body([PAIR])))
        self.assertEqual(plan.request().target, "/v1/kv/app/x?index=5")

    def test_a_new_index_with_the_same_result_does_nothing(self):
        plan = plan_for(type="services")
        self.assertEqual(plan.answered(200, "5", body({"consul": []})), Fire(5, {"consul": []}))
        self.assertIsNone(plan.answered(200, "9", body({"consul": []})))
        self.assertEqual(plan.request().target, "/v1/catalog/services?index=9")

    def test_a_new_index_with_a_new_result_fires(self):
        plan = plan_for(type="key", key="app/x")
        plan.answered(404, "3", b"")
        self.assertEqual(plan.answered(200, "5", body([PAIR])), Fire(5, HANDLED_PAIR))
        changed = dict(PAIR, Value="YmF6", ModifyIndex=8)
        self.assertEqual(plan.answered(200, "8", body([changed])),
                         Fire(8, dict(HANDLED_PAIR, Value="YmF6", ModifyIndex=8)))
        self.assertEqual(plan.answered(404, "9", b""), Fire(9, None))

    def test_an_index_going_backwards_starts_again_from_zero(self):
        plan = plan_for(type="nodes")
        plan.answered(200, "50", b"[1]")
        # The agent's data went back (a restored snapshot): same result, so no run...
        self.assertIsNone(plan.answered(200, "20", b"[1]"))
        # ...and the next query does not block.
        self.assertEqual(plan.request().target, "/v1/catalog/nodes")
        self.assertIsNone(plan.answered(200, "20", b"[1]"))
        self.assertEqual(plan.request().target, "/v1/catalog/nodes?index=20")

    def test_an_index_going_backwards_with_a_new_result_fires(self):
        plan = plan_for(type="nodes")
        plan.answered(200, "50", b"[1]")
        self.assertEqual(plan.answered(200, "20", b"[2]"), Fire(20, [2]))
        self.assertEqual(plan.request().target, "/v1/catalog/nodes")


class FailureTests(SynchronousTestCase):
    def test_back_off_is_five_seconds_times_failures_squared_up_to_three_minutes(self):
        self.assertEqual([retry_delay(n) for n in range(1, 8)], [5, 20, 45, 80, 125, 180, 180])
        plan = plan_for(type="nodes")
        delays = [plan.failed("down").delay for _ in range(7)]
        self.assertEqual(delays, [5, 20, 45, 80, 125, 180, 180])

    def test_an_answer_resets_the_back_off(self):
        plan = plan_for(type="nodes")
        plan.failed("down")
        plan.failed("down")
        plan.answered(200, "3", b"[]")
        self.assertEqual(plan.failed("down"), Retry(5.0, "down"))

    def test_after_a_failure_the_index_is_forgotten_and_the_handler_runs_again(self):
        plan = plan_for(type="nodes")
        self.assertIsInstance(plan.answered(200, "3", b"[]"), Fire)
        plan.failed("down")
        self.assertEqual(plan.request().target, "/v1/catalog/nodes")
        # Nothing changed, but as in Consul the first answer after a failure fires.
        self.assertEqual(plan.answered(200, "3", b"[]"), Fire(3, []))

    def test_bad_answers_are_failures_with_the_api_clients_words(self):
        plan = plan_for(type="nodes")
        self.assertEqual(plan.answered(500, "3", b"rpc error: No cluster leader"),
                         Retry(5.0, "Unexpected response code: 500 (rpc error: No cluster leader)"))
        self.assertEqual(plan.answered(200, None, b"[]"),
                         Retry(20.0, 'Failed to parse X-Consul-Index: strconv.ParseUint: parsing "": '
                                     'invalid syntax'))
        self.assertEqual(plan.answered(200, "x1", b"[]").error,
                         'Failed to parse X-Consul-Index: strconv.ParseUint: parsing "x1": invalid syntax')
        self.assertTrue(plan.answered(200, "4", b"{nope").error.startswith("Failed to decode the answer"))

    def test_only_kv_reads_take_a_404(self):
        self.assertEqual(plan_for(type="keyprefix", prefix="app").answered(404, "7", b""), Fire(7, None))
        self.assertEqual(plan_for(type="service", service="web").answered(404, "7", b"nope"),
                         Retry(5.0, "Unexpected response code: 404 (nope)"))
        self.assertEqual(plan_for(type="key", key="x").answered(403, "7", b"Permission denied"),
                         Retry(5.0, "Unexpected response code: 403 (Permission denied)"))


class ShapeTests(SynchronousTestCase):
    """Results as Go's api structs encode them."""

    def test_kv_pairs(self):
        plan = plan_for(type="keyprefix", prefix="app")
        session = dict(PAIR, Key="app/y", Session="abc-123")
        fire = plan.answered(200, "6", body([PAIR, session]))
        self.assertEqual(fire.result, [HANDLED_PAIR, dict(HANDLED_PAIR, Key="app/y", Session="abc-123")])
        self.assertEqual(list(fire.result[0]), ["Key", "CreateIndex", "ModifyIndex", "LockIndex", "Flags",
                                                "Value", "Session"])

    def test_an_empty_value_is_null(self):
        fire = plan_for(type="key", key="x").answered(200, "2", body([dict(PAIR, Value=None)]))
        self.assertIsNone(fire.result["Value"])

    def test_other_answers_as_they_came(self):
        nodes = [{"ID": "n1", "Node": "a", "Address": "10.0.0.1", "Meta": {"b": "2", "a": "1"}}]
        self.assertEqual(plan_for(type="nodes").answered(200, "2", body(nodes)), Fire(2, nodes))


class EventTests(SynchronousTestCase):
    """The event list's index is a hash of the newest event's ID."""

    FIRST = "00000000-0000-0001-0000-000000000002"  # hashes to 1 ^ 2 = 3
    SECOND = "00000000-0000-0008-0000-000000000001"  # 8 ^ 1 = 9
    LOWER = "00000000-0000-0004-0000-000000000000"  # 4: lower than 9

    def test_id_to_index(self):
        self.assertEqual(id_to_index(self.FIRST), 3)
        self.assertEqual(id_to_index("b54fe110-7af5-cafc-d1fb-afc8ba432b1c"),
                         0xb54fe1107af5cafc ^ 0xd1fbafc8ba432b1c)
        self.assertIsNone(id_to_index("not-a-uuid"))
        self.assertIsNone(id_to_index("zzzzzzzz-0000-0001-0000-000000000002"))

    def test_only_events_after_the_last_seen(self):
        plan = plan_for(type="event", name="deploy")
        first = event(self.FIRST)
        self.assertEqual(plan.answered(200, "3", body([first])), Fire(3, [first]))
        second = event(self.SECOND, ltime=2)
        self.assertEqual(plan.request().target, "/v1/event/list?index=3&name=deploy")
        self.assertEqual(plan.answered(200, "9", body([first, second])), Fire(9, [second]))

    def test_events_get_every_field(self):
        plan = plan_for(type="event")
        fire = plan.answered(200, "3", body([{"ID": self.FIRST, "Name": "deploy", "LTime": 4}]))
        self.assertEqual(fire.result, [{"ID": self.FIRST, "Name": "deploy", "Payload": None, "NodeFilter": "",
                                        "ServiceFilter": "", "TagFilter": "", "Version": 0, "LTime": 4}])

    def test_a_hash_lower_than_the_last_replays_the_list_as_consul_does(self):
        plan = plan_for(type="event")
        second, lower = event(self.SECOND), event(self.LOWER, ltime=2)
        plan.answered(200, "9", body([second]))
        self.assertEqual(plan.answered(200, "4", body([second, lower])), Fire(4, [lower]))
        # "Backwards": the next query starts from 0 and nothing is pruned.
        self.assertEqual(plan.request().target, "/v1/event/list")
        self.assertEqual(plan.answered(200, "4", body([second, lower])), Fire(4, [second, lower]))

    def test_no_events(self):
        plan = plan_for(type="event")
        self.assertEqual(plan.answered(200, "1", b"[]"), Fire(1, []))
        self.assertIsNone(plan.answered(200, "1", b"[]"))

    def test_a_missing_index_is_zero_for_events(self):
        # Go's event list ignores its index header's errors.
        self.assertEqual(plan_for(type="event").answered(200, None, b"null"), Fire(0, None))
