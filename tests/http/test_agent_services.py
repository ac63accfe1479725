"""/v1/agent services and checks on an in-memory agent, through StubTreq."""

import json

from tests.http.test_kv import APITestCase

WEB = {"Name": "web", "ID": "web1", "Port": 80, "Tags": ["v1"],
       "Check": {"CheckID": "web-ttl", "TTL": "30s", "Status": "passing"}}


class AgentTestCase(APITestCase):
    def put(self, path, body=None, status=200):
        data = json.dumps(body).encode() if body is not None else b""
        response, content = self.request("PUT", path, data)
        self.assertEqual(response.code, status, content)
        return content

    def get(self, path, status=200):
        response, content = self.request("GET", path)
        self.assertEqual(response.code, status, content)
        return response, json.loads(content) if content else None

    def catalog_check(self, check_id):
        checks = self.agent.fsm.store.catalog.node_checks("node-1")
        return {c["CheckID"]: c for c in checks}.get(check_id)


class ServiceTests(AgentTestCase):
    def test_register_read_and_sync_to_the_catalog(self):
        self.put("/v1/agent/service/register", WEB)
        _, services = self.get("/v1/agent/services")
        self.assertEqual(list(services), ["web1"])
        self.assertEqual(services["web1"]["Datacenter"], "dc1")
        [(node, service)] = self.agent.fsm.store.catalog.service_instances("web")
        self.assertEqual((node["Node"], service["Port"]), ("node-1", 80))
        self.assertEqual(self.catalog_check("web-ttl")["Status"], "passing")

    def test_one_service_with_a_content_hash_and_hash_blocking(self):
        self.put("/v1/agent/service/register", WEB)
        response, service = self.get("/v1/agent/service/web1")
        digest = self.header(response, "X-Consul-ContentHash")
        self.assertEqual(service["ContentHash"], digest)
        waiting = self.started("GET", "/v1/agent/service/web1?hash=%s&wait=30s" % digest)
        self.assertNoResult(waiting)
        self.put("/v1/agent/service/register", dict(WEB, Port=81))
        response, content = self.finished(waiting)
        self.assertEqual(json.loads(content)["Port"], 81)
        self.assertNotEqual(self.header(response, "X-Consul-ContentHash"), digest)

    def test_hash_blocking_times_out_with_the_same_answer(self):
        self.put("/v1/agent/service/register", WEB)
        response, _ = self.get("/v1/agent/service/web1")
        digest = self.header(response, "X-Consul-ContentHash")
        waiting = self.started("GET", "/v1/agent/service/web1?hash=%s&wait=2s" % digest)
        self.agent.advance(3)
        response, _ = self.finished(waiting)
        self.assertEqual(self.header(response, "X-Consul-ContentHash"), digest)

    def test_replace_existing_checks(self):
        self.put("/v1/agent/service/register", WEB)
        self.put("/v1/agent/service/register", dict(WEB, Check={"CheckID": "other", "TTL": "10s"}))
        _, checks = self.get("/v1/agent/checks")
        self.assertEqual(sorted(checks), ["other", "web-ttl"])
        self.put("/v1/agent/service/register?replace-existing-checks",
                 dict(WEB, Check={"CheckID": "third", "TTL": "10s"}))
        _, checks = self.get("/v1/agent/checks")
        self.assertEqual(sorted(checks), ["third"])

    def test_filters(self):
        self.put("/v1/agent/service/register", WEB)
        self.put("/v1/agent/service/register", {"Name": "db", "Port": 5432})
        _, found = self.get("/v1/agent/services?filter=Port%20%3D%3D%205432")
        self.assertEqual(list(found), ["db"])
        _, found = self.get("/v1/agent/checks?filter=ServiceName%20%3D%3D%20web")
        self.assertEqual(list(found), ["web-ttl"])
        response, content = self.request("GET", "/v1/agent/services?filter=Nope%20%3D%3D%201")
        self.assertEqual(response.code, 400)

    def test_script_checks_are_refused_unless_enabled(self):
        response, content = self.request("PUT", "/v1/agent/check/register",
                                         json.dumps({"Name": "s", "Args": ["/bin/true"], "Interval": "10s"}).encode())
        self.assertEqual(response.code, 500)
        self.assertIn(b"Scripts are disabled on this agent from remote calls", content)


class CheckTests(AgentTestCase):
    def test_ttl_pass_warn_fail_update(self):
        self.put("/v1/agent/check/register", {"Name": "mem", "TTL": "30s"})
        for verb, status in (("pass", "passing"), ("warn", "warning"), ("fail", "critical")):
            self.put("/v1/agent/check/%s/mem?note=%s-note" % (verb, verb))
            _, checks = self.get("/v1/agent/checks")
            self.assertEqual((checks["mem"]["Status"], checks["mem"]["Output"]), (status, verb + "-note"))
        self.put("/v1/agent/check/update/mem", {"Status": "passing", "Output": "fine"})
        self.assertEqual(self.catalog_check("mem")["Status"], "passing")
        response, content = self.request("PUT", "/v1/agent/check/update/mem", b'{"Status": "bogus"}')
        self.assertEqual((response.code, content), (400, b"Invalid check status: 'bogus'"))

    def test_a_ttl_that_runs_out_is_critical(self):
        self.put("/v1/agent/check/register", {"Name": "mem", "TTL": "10s", "Status": "passing"})
        self.agent.advance(11)
        _, checks = self.get("/v1/agent/checks")
        self.assertEqual((checks["mem"]["Status"], checks["mem"]["Output"]), ("critical", "TTL expired"))
        self.assertEqual(self.catalog_check("mem")["Status"], "critical")


class MaintenanceTests(AgentTestCase):
    def test_node_maintenance(self):
        self.put("/v1/agent/maintenance?enable=true&reason=patching")
        _, checks = self.get("/v1/agent/checks")
        self.assertEqual((checks["_node_maintenance"]["Notes"], checks["_node_maintenance"]["Status"]),
                         ("patching", "critical"))
        self.put("/v1/agent/maintenance?enable=false")
        _, checks = self.get("/v1/agent/checks")
        self.assertNotIn("_node_maintenance", checks)
        for query, message in (("", b"Missing value for enable"), ("?enable=maybe", b'Invalid value for enable: "maybe"')):
            response, content = self.request("PUT", "/v1/agent/maintenance" + query)
            self.assertEqual((response.code, content), (400, message))

    def test_service_maintenance(self):
        self.put("/v1/agent/service/register", WEB)
        self.put("/v1/agent/service/maintenance/web1?enable=1")
        _, checks = self.get("/v1/agent/checks")
        check = checks["_service_maintenance:web1"]
        self.assertTrue(check["Notes"].startswith("Maintenance mode is enabled for this service"))
        self.assertEqual(check["ServiceName"], "web")
        response, content = self.request("PUT", "/v1/agent/service/maintenance/nope?enable=true")
        self.assertEqual((response.code, content), (404, b'No service registered with ID "nope"'))


class HealthTests(AgentTestCase):
    def test_aggregated_health_by_id_and_name(self):
        self.put("/v1/agent/service/register", WEB)
        response, info = self.get("/v1/agent/health/service/id/web1")
        self.assertEqual((info["AggregatedStatus"], self.header(response, "X-Consul-Reason")), ("passing", "passing"))
        self.put("/v1/agent/check/warn/web-ttl")
        response, _ = self.get("/v1/agent/health/service/id/web1", status=429)
        response, content = self.request("GET", "/v1/agent/health/service/id/web1?format=text")
        self.assertEqual((response.code, content), (429, b"warning"))
        self.put("/v1/agent/check/fail/web-ttl")
        _, found = self.get("/v1/agent/health/service/name/web", status=503)
        self.assertEqual([i["Service"]["ID"] for i in found], ["web1"])
        self.put("/v1/agent/check/pass/web-ttl")
        self.put("/v1/agent/service/maintenance/web1?enable=true")
        response, content = self.request("GET", "/v1/agent/health/service/id/web1?format=text")
        self.assertEqual((response.code, content), (503, b"maintenance"))

    def test_unknown_services(self):
        response, content = self.request("GET", "/v1/agent/health/service/id/nope?format=text")
        self.assertEqual((response.code, content), (404, b"ServiceId nope not found"))
        response, content = self.request("GET", "/v1/agent/health/service/name/nope")
        self.assertEqual((response.code, json.loads(content)), (404, []))


class ReloadTests(AgentTestCase):
    def test_reload_without_config_files_answers_ok(self):
        self.put("/v1/agent/reload")
