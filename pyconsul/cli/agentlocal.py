"""The calls of Go's ``api`` package about the agent itself: its services,
checks, maintenance mode, configuration reload and self-description.

As the consul CLI sends them:

* ``PUT /v1/agent/service/register`` with the ``AgentServiceRegistration``
  as ``json.Encoder`` writes it (Go's field order, empty fields left out
  where the struct says ``omitempty``, a final newline);
* ``PUT /v1/agent/service/deregister/<id>``;
* ``PUT /v1/agent/maintenance`` and ``/v1/agent/service/maintenance/<id>``
  with ``enable=true&reason=...`` (the reason always sent, even empty) or
  ``enable=false``;
* ``PUT /v1/agent/reload``; ``GET /v1/agent/checks``; ``GET
  /v1/agent/self``, whose ``Config.NodeName`` is the agent's node name.

Only a 200 is a success (``Unexpected response code: ...`` otherwise).
"""

from pyconsul.cli.catalogapi import STRINGS, decode_answer
from pyconsul.cli.http import UnexpectedStatus
from pyconsul.golang import gostruct as go
from pyconsul.golang import json as go_json

SELF = go.Map(go.Map(go.Any(plain=True)))

AGENT_CHECK = go.Struct("AgentCheck", "api.AgentCheck", [
    go.Field(name, go.String()) for name in (
        "Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "Type")
] + [go.Field("ServiceTags", STRINGS)], pointer=True)
CHECKS = go.Map(AGENT_CHECK)


class LocalAgent:
    def __init__(self, client):
        self.client = client

    def _call(self, method, path, params=None, body=None):
        response = self.client.request(method, path, params, body)
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        return response

    def node_name(self):
        """Config.NodeName of /v1/agent/self ("" if the answer lacks it)."""
        info = decode_answer(self._call("GET", "/v1/agent/self").body, SELF) or {}
        name = (info.get("Config") or {}).get("NodeName")
        return name if isinstance(name, str) else ""

    def checks(self):
        """Check ID -> the check as /v1/agent/checks shows it."""
        checks = decode_answer(self._call("GET", "/v1/agent/checks").body, CHECKS) or {}
        return {check_id: check for check_id, check in checks.items() if check is not None}

    def service_register(self, registration):
        """Register a service: registration is the api struct as an ordered dict."""
        body = (go_json.marshal(registration) + "\n").encode("utf-8", "surrogateescape")
        self._call("PUT", "/v1/agent/service/register", body=body)

    def service_deregister(self, service_id):
        self._call("PUT", "/v1/agent/service/deregister/" + service_id)

    def enable_node_maintenance(self, reason):
        self._call("PUT", "/v1/agent/maintenance", {"enable": "true", "reason": reason})

    def disable_node_maintenance(self):
        self._call("PUT", "/v1/agent/maintenance", {"enable": "false"})

    def enable_service_maintenance(self, service_id, reason):
        self._call("PUT", "/v1/agent/service/maintenance/" + service_id, {"enable": "true", "reason": reason})

    def disable_service_maintenance(self, service_id):
        self._call("PUT", "/v1/agent/service/maintenance/" + service_id, {"enable": "false"})

    def reload(self):
        self._call("PUT", "/v1/agent/reload")
