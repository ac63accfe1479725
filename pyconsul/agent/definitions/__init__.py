"""Service and check definitions, as Consul's agent reads and shows them.

Pure code: bytes or parsed JSON in, frozen attrs values out.

- ``parse_service_register(body)`` and ``parse_check_register(body)``: the
  bodies of ``PUT /v1/agent/service/register`` and ``/v1/agent/check/register``;
  ``parse_check_update(body)``: ``PUT /v1/agent/check/update/<id>``.
- ``read_definitions(values, source)``: the ``service``/``services`` and
  ``check``/``checks`` of one agent config file; ``load_services(sources)``:
  the services of config files as ``consul services register`` loads them
  (``ServiceDefinition.to_registration()`` is the body it sends).
- ``ServiceDefinition.health_checks(node)`` and ``registered_check(check, node)``:
  the ``HealthCheck`` values the agent keeps and shows.
- ``DefinitionError``: Consul's refusal text and its HTTP status;
  ``DefinitionFileError``: a config file's, in pyconsul's words and Consul's.
"""

from pyconsul.agent.definitions.checks import (
    ALIAS, DOCKER, GRPC, H2PING, HTTP, SCRIPT, TCP, TTL, CheckDefinition, HealthCheck,
    parse_check_register, parse_check_update, registered_check, script_check_refusal)
from pyconsul.agent.definitions.errors import BAD_REQUEST, SERVER_ERROR, DefinitionError
from pyconsul.agent.definitions.files import DefinitionFileError, FileDefinitions, load_services, read_definitions
from pyconsul.agent.definitions.services import (
    ServiceAddress, ServiceDefinition, Weights, parse_service_register)
from pyconsul.agent.definitions.validate import CRITICAL, PASSING, STATUSES, WARNING

__all__ = [
    "ALIAS", "BAD_REQUEST", "CRITICAL", "CheckDefinition", "DOCKER", "DefinitionError",
    "DefinitionFileError", "FileDefinitions", "GRPC", "H2PING", "HTTP", "HealthCheck", "PASSING", "SCRIPT",
    "SERVER_ERROR", "STATUSES", "ServiceAddress", "ServiceDefinition", "TCP", "TTL", "WARNING",
    "Weights", "parse_check_register", "parse_check_update", "parse_service_register",
    "load_services", "read_definitions", "registered_check", "script_check_refusal",
]
