"""/v1/event/fire and /v1/event/list on an in-memory server agent, through StubTreq."""

import base64
import json
import re

from pyconsul.agent.events import uuid_to_index

from tests.http.test_kv import APITestCase

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
WEB = {"Name": "web", "ID": "web1", "Port": 80, "Tags": ["v1", "blue"]}


class EventTestCase(APITestCase):
    def fire(self, name, payload=b"", query=""):
        response, content = self.request("PUT", "/v1/event/fire/%s%s" % (name, query), payload)
        self.assertEqual(response.code, 200, content)
        return json.loads(content)

    def listed(self, query=""):
        response, content = self.request("GET", "/v1/event/list" + query)
        self.assertEqual(response.code, 200, content)
        return response, json.loads(content)

    def names(self, query=""):
        return [e["Name"] for e in self.listed(query)[1]]

    def index(self, response):
        return int(self.header(response, "X-Consul-Index"))


class FireTests(EventTestCase):
    def test_the_answer_is_the_event_as_sent(self):
        event = self.fire("deploy", b"v1.2", "?node=^node-&service=web&tag=v1")
        self.assertRegex(event.pop("ID"), UUID)
        self.assertEqual(event, {
            "Name": "deploy", "Payload": base64.b64encode(b"v1.2").decode(), "NodeFilter": "^node-",
            "ServiceFilter": "web", "TagFilter": "v1", "Version": 1, "LTime": 0,
        })

    def test_no_body_is_a_null_payload(self):
        self.assertIsNone(self.fire("deploy")["Payload"])

    def test_answer_is_json_and_pretty_on_request(self):
        response, content = self.request("PUT", "/v1/event/fire/deploy?pretty")
        self.assertEqual(self.header(response, "Content-Type"), "application/json")
        self.assertTrue(content.startswith(b'{\n    "ID": "'))

    def test_a_missing_name(self):
        response, content = self.request("PUT", "/v1/event/fire/")
        self.assertEqual((response.code, content), (400, b"Missing name"))

    def test_the_subtree_without_its_slash_is_redirected(self):
        response, _ = self.request("PUT", "/v1/event/fire")
        self.assertEqual(response.code, 301)

    def test_a_tag_filter_needs_a_service_filter(self):
        response, content = self.request("PUT", "/v1/event/fire/deploy?tag=v1")
        self.assertEqual((response.code, content), (500, b"Cannot provide tag filter without service filter"))
        self.assertEqual(self.names(), [])

    def test_filters_must_be_go_regular_expressions(self):
        for kind, query in (("node", "?node=("), ("service", "?service=a**"), ("tag", "?service=x&tag=[z-a]")):
            response, content = self.request("PUT", "/v1/event/fire/deploy" + query)
            self.assertEqual(response.code, 500)
            self.assertTrue(content.startswith(b"Invalid %s filter: error parsing regexp: " % kind.encode()), content)

    def test_an_event_too_large_for_serf(self):
        response, content = self.request("PUT", "/v1/event/fire/deploy", b"x" * 500)
        self.assertEqual((response.code, content),
                         (500, b"user event exceeds configured limit of 512 bytes before encoding"))
        self.assertEqual(self.names(), [])

    def test_about_four_hundred_bytes_of_payload_fit(self):
        self.fire("deploy", b"x" * 380)
        self.assertEqual(self.names(), ["deploy"])

    def test_another_datacenter(self):
        response, content = self.request("PUT", "/v1/event/fire/deploy?dc=dc9")
        self.assertEqual((response.code, content), (500, b"No path to datacenter"))

    def test_only_put(self):
        response, _ = self.request("GET", "/v1/event/fire/deploy")
        self.assertEqual(response.code, 405)
        response, _ = self.request("POST", "/v1/event/list")
        self.assertEqual(response.code, 405)

    def test_names_starting_with_an_underscore_are_refused(self):
        for name in ("_mine", "_rexec"):
            response, content = self.request("PUT", "/v1/event/fire/" + name, b"{}")
            self.assertEqual(response.code, 500)
            self.assertEqual(content, b"User event name '%s' starts with '_', which is reserved for Consul's "
                                      b"internal events" % name.encode())
        self.assertEqual(self.names(), [])

    def test_an_escaped_name(self):
        self.fire("a%20b")
        self.assertEqual(self.names(), ["a b"])


class ListTests(EventTestCase):
    def test_nothing_yet_is_an_empty_list_with_index_one(self):
        response, events = self.listed()
        self.assertEqual((events, self.index(response)), ([], 1))

    def test_events_oldest_first_with_their_lamport_time(self):
        ids = [self.fire("deploy", b"%d" % i)["ID"] for i in range(3)]
        response, events = self.listed()
        self.assertEqual([e["ID"] for e in events], ids)
        self.assertEqual([e["LTime"] for e in events], [1, 2, 3])
        self.assertEqual(events[0]["Payload"], base64.b64encode(b"0").decode())
        self.assertEqual(self.index(response), uuid_to_index(ids[-1]))

    def test_name_filter_and_its_index(self):
        deploy = self.fire("deploy")["ID"]
        self.fire("restart")
        response, events = self.listed("?name=deploy")
        self.assertEqual([e["ID"] for e in events], [deploy])
        self.assertEqual(self.index(response), uuid_to_index(deploy))
        response, events = self.listed("?name=nothing")
        self.assertEqual((events, self.index(response)), ([], 1))

    def test_the_last_256_are_kept(self):
        for i in range(300):
            self.fire("e%d" % i)
        names = self.names()
        self.assertEqual(len(names), 256)
        self.assertEqual((names[0], names[-1]), ("e44", "e299"))

    def test_the_index_trick(self):
        self.assertEqual(uuid_to_index("b54fe110-7af5-cafc-d1fb-afc8ba432b1c"),
                         0xB54FE1107AF5CAFC ^ 0xD1FBAFC8BA432B1C)

    def test_bad_index_and_wait(self):
        for query, message in (("?index=x", b"Invalid index"), ("?index=-1", b"Invalid index"),
                               ("?wait=forever", b"Invalid wait time")):
            response, content = self.request("GET", "/v1/event/list" + query)
            self.assertEqual((response.code, content), (400, message))


class FilterTests(EventTestCase):
    def setUp(self):
        super().setUp()
        response, content = self.request("PUT", "/v1/agent/service/register", json.dumps(WEB).encode())
        self.assertEqual(response.code, 200, content)

    def taken(self, query):
        self.fire("deploy", query=query)
        return self.names() == ["deploy"]

    def test_node_filter_matching_this_node(self):
        self.assertTrue(self.taken("?node=^node-1$"))

    def test_node_filter_matching_another_node(self):
        self.assertFalse(self.taken("?node=^node-2$"))

    def test_service_filter_matches_the_service_id(self):
        self.assertTrue(self.taken("?service=^web1$"))

    def test_service_filter_matching_no_service(self):
        self.assertFalse(self.taken("?service=^db"))

    def test_tag_filter_on_a_tag_of_that_service(self):
        self.assertTrue(self.taken("?service=web&tag=^blue$"))

    def test_tag_filter_on_a_tag_it_lacks(self):
        self.assertFalse(self.taken("?service=web&tag=^green$"))

    def test_all_filters_must_match(self):
        self.assertFalse(self.taken("?node=other&service=web"))


class BlockingTests(EventTestCase):
    def test_waits_for_the_next_event(self):
        self.fire("deploy")
        response, _ = self.listed()
        waiting = self.started("GET", "/v1/event/list?index=%d&wait=1m" % self.index(response))
        self.agent.advance(30)
        self.assertNoResult(waiting)
        new = self.fire("deploy", b"2")["ID"]
        response, content = self.finished(waiting)
        self.assertEqual([e["Name"] for e in json.loads(content)], ["deploy", "deploy"])
        self.assertEqual(self.index(response), uuid_to_index(new))

    def test_an_event_under_another_name_does_not_end_the_wait(self):
        self.fire("deploy")
        response, _ = self.listed("?name=deploy")
        waiting = self.started("GET", "/v1/event/list?name=deploy&index=%d&wait=1m" % self.index(response))
        self.fire("restart")
        self.assertNoResult(waiting)
        self.fire("deploy")
        response, content = self.finished(waiting)
        self.assertEqual(len(json.loads(content)), 2)

    def test_the_wait_ends_with_the_same_answer(self):
        self.fire("deploy")
        response, before = self.listed()
        index = self.index(response)
        waiting = self.started("GET", "/v1/event/list?index=%d&wait=10s" % index)
        self.agent.advance(9.9)
        self.assertNoResult(waiting)
        self.agent.advance(0.2)
        response, content = self.finished(waiting)
        self.assertEqual((json.loads(content), self.index(response)), (before, index))

    def test_an_empty_list_blocks_on_index_one(self):
        waiting = self.started("GET", "/v1/event/list?index=1")
        self.agent.advance(599)
        self.assertNoResult(waiting)
        self.agent.advance(2)  # ten minutes when ?wait is not given, as Consul
        response, content = self.finished(waiting)
        self.assertEqual((json.loads(content), self.index(response)), ([], 1))

    def test_the_wait_is_capped_at_ten_minutes(self):
        waiting = self.started("GET", "/v1/event/list?index=1&wait=1h")
        self.agent.advance(601)
        self.assertEqual(self.finished(waiting)[0].code, 200)

    def test_another_index_answers_at_once(self):
        self.fire("deploy")
        response, events = self.listed("?index=12345&wait=1m")
        self.assertEqual(len(events), 1)
