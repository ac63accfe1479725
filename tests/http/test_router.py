"""What Consul's router and its open-source edition answer around the
endpoints: Enterprise tenancy selectors refused, paths no endpoint serves."""

import json

from tests.http.test_kv import APITestCase

NAMESPACES = b'Bad request: Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature'
PARTITIONS = b'Bad request: Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature'
NOT_AN_API_PATH = b"Invalid URL path: not a recognized HTTP API endpoint\n"
NOT_UNDER_V1 = b"Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"


class EnterpriseSelectorTests(APITestCase):
    def test_kv_refuses_a_namespace_and_writes_nothing(self):
        for method in ("GET", "PUT", "DELETE"):
            response, content = self.request(method, "/v1/kv/k?ns=team-a", b"v")
            self.assertEqual((response.code, content), (400, NAMESPACES), method)
            self.assertEqual(self.header(response, "Content-Type"), "text/plain; charset=utf-8")
        response, _ = self.request("GET", "/v1/kv/k")
        self.assertEqual(response.code, 404)

    def test_kv_refuses_a_partition(self):
        response, content = self.request("PUT", "/v1/kv/k?partition=p1", b"v")
        self.assertEqual((response.code, content), (400, PARTITIONS))

    def test_the_headers_too(self):
        response, content = self.request("PUT", "/v1/kv/k", b"v", headers={"X-Consul-Namespace": "team-a"})
        self.assertEqual(
            (response.code, content),
            (400, b'Bad request: Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature'),
        )
        response, content = self.request("GET", "/v1/kv/k", headers={"X-Consul-Partition": "p1"})
        self.assertEqual(
            (response.code, content),
            (400, b'Bad request: Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature'),
        )

    def test_empty_selectors_mean_the_default(self):
        self.assertIs(self.put("/v1/kv/k?ns=&partition=", b"v"), True)
        response, _ = self.request("GET", "/v1/kv/k?ns=")
        self.assertEqual(response.code, 200)

    def test_a_namespace_is_checked_before_the_request_is_read(self):
        response, content = self.request("GET", "/v1/kv/k?ns=x&index=abc")
        self.assertEqual((response.code, content), (400, NAMESPACES))

    def test_a_method_check_comes_first(self):
        response, content = self.request("POST", "/v1/kv/k?ns=x")
        self.assertEqual((response.code, content), (405, b"method POST not allowed"))

    def test_agent_membership_refuses_a_partition_only(self):
        response, content = self.request("GET", "/v1/agent/members?partition=p1")
        self.assertEqual((response.code, content), (400, PARTITIONS))
        response, content = self.request("PUT", "/v1/agent/force-leave/node-9?partition=p1")
        self.assertEqual((response.code, content), (400, PARTITIONS))
        response, content = self.request("PUT", "/v1/agent/join/10.0.0.1?partition=p1")
        self.assertEqual((response.code, content), (400, PARTITIONS))
        response, content = self.request("GET", "/v1/agent/members?ns=team-a")
        self.assertEqual(response.code, 200)

    def test_endpoints_without_tenancy_ignore_them(self):
        for path in ("/v1/status/leader", "/v1/status/peers", "/v1/agent/self", "/v1/operator/raft/configuration"):
            response, _ = self.request("GET", path + "?ns=team-a&partition=p1")
            self.assertEqual(response.code, 200, path)


class UnroutedPathTests(APITestCase):
    def test_an_unknown_api_path(self):
        for method in ("GET", "PUT", "DELETE", "OPTIONS", "POST"):
            for path in ("/v1/status/", "/v1/status", "/v1/nope", "/v1/agent/services/x/y"):
                response, content = self.request(method, path)
                self.assertEqual((response.code, content), (404, NOT_AN_API_PATH), (method, path))
                self.assertEqual(self.header(response, "Content-Type"), "text/plain; charset=utf-8")
                # The router answers these itself, without the API's headers.
                self.assertIsNone(self.header(response, "Vary"))
                self.assertIsNone(self.header(response, "X-Consul-Default-Acl-Policy"))

    def test_a_path_outside_v1(self):
        for path in ("/v2/kv/a", "/kv/a", "/ui/", "/favicon.ico"):
            response, content = self.request("GET", path)
            self.assertEqual((response.code, content), (404, NOT_UNDER_V1), path)

    def test_the_root_names_the_agent(self):
        response, content = self.request("GET", "/")
        self.assertEqual(response.code, 200)
        self.assertTrue(content.startswith(b"Consul Agent: UI disabled."), content)
        self.assertEqual(self.header(response, "Content-Type"), "text/plain; charset=utf-8")

    def test_a_subtree_without_its_slash_is_redirected_into_it(self):
        for path, location in (("/v1/kv?keys", "/v1/kv/?keys"), ("/v1/agent/join", "/v1/agent/join/"),
                               ("/v1/agent/force-leave", "/v1/agent/force-leave/")):
            response, _ = self.request("PUT", path)
            self.assertEqual((response.code, self.header(response, "Location")), (301, location), path)

    def test_unclean_unknown_paths_are_cleaned_first(self):
        response, _ = self.request("GET", "/v1//nope")
        self.assertEqual((response.code, self.header(response, "Location")), (301, "/v1/nope"))

    def test_fault_injection_is_absent_unless_enabled(self):
        response, content = self.request("PUT", "/v1/debug/faults", json.dumps({"Block": []}).encode())
        self.assertEqual((response.code, content), (404, NOT_AN_API_PATH))
