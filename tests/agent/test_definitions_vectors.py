"""The recorded agent-service and agent-check vectors, replayed through the
definition parsers.

A few lines below stand in for the agent (a dict of services and checks):
just enough to see that what the parsers return shows exactly as Consul
showed it.
"""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.agent.definitions import (
    DefinitionError, parse_check_register, parse_service_register, registered_check)

from tests.vectors import load

NODE = "{$n1}"  # the vectors' placeholder for the agent's node name
DATACENTER = "dc1"


class _Agent:
    def __init__(self):
        self.services = {}
        self.checks = {}

    def register_service(self, body):
        service = parse_service_register(body)
        self.services[service.id] = service
        for health, _ in service.health_checks(NODE):
            self.checks[health.check_id] = health

    def register_check(self, body):
        check = parse_check_register(body)
        health = registered_check(check, NODE)
        if check.service_id:
            if check.service_id not in self.services:
                # The agent's refusal, not the parser's: Consul answers 500.
                raise DefinitionError('ServiceID "%s" does not exist' % check.service_id, 500)
            health = health.for_service(self.services[check.service_id])
        self.checks[health.check_id] = health

    def deregister_service(self, service_id):
        self.services.pop(service_id, None)
        for check_id in [c for c, health in self.checks.items() if health.service_id == service_id]:
            del self.checks[check_id]


def _with_indexes(shape, expected):
    """Our check JSON with the recording's CreateIndex/ModifyIndex placeholders."""
    shape = dict(shape)
    shape["CreateIndex"] = expected["CreateIndex"]
    shape["ModifyIndex"] = expected["ModifyIndex"]
    return shape


class RecordedVectorTests(SynchronousTestCase):
    def replay(self, vector):
        agent = _Agent()
        compared = 0
        for step in vector["steps"]:
            request, expect = step.get("http"), step.get("expect")
            if request is None:
                continue
            method, path = request["method"], request["path"]
            body = request.get("body", "").encode()
            if method == "PUT" and path in ("/v1/agent/service/register", "/v1/agent/check/register"):
                register = agent.register_service if path.endswith("service/register") else agent.register_check
                try:
                    register(body)
                except DefinitionError as error:
                    self.assertEqual((error.status, error.message), (expect["status"], expect["body"]),
                                     vector["name"])
                else:
                    self.assertEqual(expect["status"], 200, vector["name"])
                compared += 1
            elif method == "PUT" and path.startswith("/v1/agent/service/deregister/"):
                agent.deregister_service(path.rsplit("/", 1)[1])
            elif method == "PUT" and path.startswith("/v1/agent/check/deregister/"):
                agent.checks.pop(path.rsplit("/", 1)[1], None)
            elif method == "GET" and path == "/v1/agent/services":
                want = expect["json"]
                got = {sid: s.to_agent_json(DATACENTER) for sid, s in agent.services.items()}
                self.assertEqual(got, want, vector["name"])
                compared += 1
            elif method == "GET" and path.startswith("/v1/agent/service/") and expect["status"] == 200:
                want = expect["json"]
                service = agent.services[path.rsplit("/", 1)[1]]
                self.assertEqual(service.to_agent_json(DATACENTER, want["ContentHash"]), want, vector["name"])
                compared += 1
            elif method == "GET" and path == "/v1/agent/checks":
                want = expect["json"]
                got = {cid: _with_indexes(h.to_json(), want[cid]) if cid in want else h.to_json()
                       for cid, h in agent.checks.items()}
                self.assertEqual(got, want, vector["name"])
                compared += 1
        return compared

    def test_every_agent_vector(self):
        replayed = 0
        for vector in load("consul-catalog", "vectors.json"):
            if vector["kind"] in ("agent-service", "agent-check"):
                replayed += self.replay(vector)
        # Guard against the loop silently matching nothing.
        self.assertGreater(replayed, 25)

    def test_service_sync_vector_body(self):
        # The catalog vector registers through the agent too; the catalog's
        # entry shows the service as the agent derived it.
        vector = next(v for v in load("consul-catalog", "vectors.json")
                      if v["name"] == "catalog-agent-service-sync")
        register = next(s for s in vector["steps"]
                        if s.get("http", {}).get("path") == "/v1/agent/service/register")
        service = parse_service_register(register["http"]["body"].encode())
        node_step = next(s for s in vector["steps"]
                         if s.get("http", {}).get("path", "").startswith("/v1/catalog/node/"))
        want = dict(node_step["expect"]["json"]["Services"]["web1"])
        del want["CreateIndex"], want["ModifyIndex"]
        self.assertEqual(service.to_node_service(), want)
