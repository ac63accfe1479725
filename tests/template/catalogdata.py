"""The agent's catalog answers as Consul 1.10.3 gave them
(tests/data/consul-catalog/vectors.json), for the template tests.

``answer(vector, path)`` is the JSON a recorded GET returned, with its
placeholders bound to fixed values: ``{$n1}`` the agent's node name
``agent-1``, ``{$h1}`` its address ``10.1.0.7``, ``{$u1}`` its node ID, and
the indexes ``{$i1}``, ``{$i2}`` ... to 101, 102 ... in the order the
vector recorded them.
"""

import copy

from tests.vectors import load
from tests.vectors.symbols import PLACEHOLDER

AGENT_NODE = "agent-1"
AGENT_ADDRESS = "10.1.0.7"
AGENT_ID = "8e3c6a52-7d0e-4c7f-9e53-1c2b3a4d5e6f"

_VECTORS = {v["name"]: v for v in load("consul-catalog", "vectors.json")}


def _bind(value, bindings):
    if isinstance(value, dict):
        return {_bind(k, bindings): _bind(v, bindings) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind(v, bindings) for v in value]
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return bindings[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(bindings[m.group(1)]), value)
    return value


def answer(vector, path):
    """The JSON body of the recorded ``GET path`` of ``vector``."""
    recorded = _VECTORS[vector]
    bindings = {"n1": AGENT_NODE, "h1": AGENT_ADDRESS, "u1": AGENT_ID}
    for rank, name in enumerate(recorded["index_order"]):
        bindings[name] = 101 + rank
    for step in recorded["steps"]:
        http = step.get("http")
        if http and http["method"] == "GET" and _bind(http["path"], bindings) == path:
            return copy.deepcopy(_bind(step["expect"]["json"], bindings))
    raise AssertionError(f"{vector} has no GET {path}")


def health_entry(node, service, checks=()):
    """A /v1/health/service entry from recorded pieces."""
    return {"Node": copy.deepcopy(node), "Service": copy.deepcopy(service), "Checks": copy.deepcopy(list(checks))}


def check(node, check_id, status, service_id="", output="", name=None):
    """A HealthCheck in the recorded shape (that of health-service-passing)."""
    recorded = answer("health-service-passing", "/v1/health/service/redis")[0]["Checks"][0]
    recorded.update(Node=node, CheckID=check_id, Name=name or check_id, Status=status,
                    ServiceID=service_id, Output=output)
    return recorded
