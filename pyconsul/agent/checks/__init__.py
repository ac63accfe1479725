"""Health check runners: what the agent starts and stops for each check.

``make_runner(check_id, check, notify, deps)`` returns the runner for a
``CheckDefinition``: ``start()`` it when the check is added, ``stop()`` it
when the check is removed or replaced. It reports through
``notify(status, output)``; the agent stores that as the check's Status and
Output. Nothing is reported after ``stop()``.

- TTL: ``TTLCheck``; the agent passes ``check/pass|warn|fail|update`` to
  its ``set_status(status, output)``.
- HTTP, TCP, script: an ``IntervalCheck`` running a probe, through Consul's
  success/failure thresholds.
- alias: ``AliasCheck`` over the ``alias_source`` given to ``make_runner``.
- Docker, gRPC, H2PING: ``UnsupportedCheck``, critical with an explanation.

Everything that does I/O or keeps time comes in through ``CheckDeps``, so
tests run with a ``Clock``, a seeded ``Random`` and fakes.
"""

import attr

from pyconsul.agent.checks.alias import AliasCheck
from pyconsul.agent.checks.http import HTTPAgents, HTTPProbe
from pyconsul.agent.checks.interval import IntervalCheck
from pyconsul.agent.checks.script import ScriptProbe, SessionSpawner
from pyconsul.agent.checks.status import StatusHandler
from pyconsul.agent.checks.tcp import TCPConnector, TCPProbe
from pyconsul.agent.checks.ttl import TTLCheck
from pyconsul.agent.checks.unsupported import UnsupportedCheck
from pyconsul.agent.definitions import ALIAS, DOCKER, GRPC, H2PING, HTTP, SCRIPT, TCP, TTL
from pyconsul.agent.definitions.validate import MIN_DEREGISTER_AFTER, MIN_INTERVAL
from pyconsul.golang.duration import format_duration
from pyconsul.logs import Logger

DEFAULT_OUTPUT_LIMIT = 4096  # check_output_max_size

log = Logger()


@attr.s(frozen=True)
class CheckDeps:
    """What the runners need from the world.

    ``http_agents(check)`` gives the twisted.web IAgent for an HTTP check,
    ``tcp.connect(host, port)`` opens a connection, ``spawner.spawn(protocol,
    args)`` starts a script; ``for_reactor`` builds the real ones.
    """

    clock: object = attr.ib()
    rng: object = attr.ib()
    http_agents: object = attr.ib(default=None)
    tcp: object = attr.ib(default=None)
    spawner: object = attr.ib(default=None)
    output_limit: int = attr.ib(default=DEFAULT_OUTPUT_LIMIT)

    @classmethod
    def for_reactor(cls, reactor, rng, output_limit=DEFAULT_OUTPUT_LIMIT):
        return cls(clock=reactor, rng=rng, http_agents=HTTPAgents(reactor), tcp=TCPConnector(reactor),
                   spawner=SessionSpawner(reactor), output_limit=output_limit)


class InvalidCheckType(ValueError):
    """No runner applies; Consul's agent says "Check type is not valid"."""

    def __init__(self):
        super().__init__("Check type is not valid")


def _warn_minimums(check_id, check):
    if check.runner not in (TTL, ALIAS, None) and check.interval < MIN_INTERVAL:
        log.warn("check has interval below minimum: check {check}, minimum_interval {minimum}",
                 check=check_id, minimum=format_duration(MIN_INTERVAL))
    if 0 < check.deregister_critical_service_after < MIN_DEREGISTER_AFTER:
        log.warn("check has deregister interval below minimum: check {check}, minimum_interval {minimum}",
                 check=check_id, minimum=format_duration(MIN_DEREGISTER_AFTER))


def make_runner(check_id, check, notify, deps, alias_source=None):
    """The runner for check (not yet started); raises InvalidCheckType."""
    kind = check.runner
    if kind is None:
        raise InvalidCheckType()
    _warn_minimums(check_id, check)
    limit = check.output_limit(deps.output_limit)
    if kind == TTL:
        return TTLCheck(check_id, check.ttl, notify, deps.clock, limit)
    if kind in (DOCKER, GRPC, H2PING):
        return UnsupportedCheck(check_id, kind, notify)
    if kind == ALIAS:
        return AliasCheck(check_id, check.alias_node, check.alias_service, alias_source, notify, deps.clock)
    if kind == HTTP:
        probe = HTTPProbe(check_id, check, deps.http_agents(check), deps.clock, limit)
    elif kind == TCP:
        probe = TCPProbe(check_id, check.tcp, check.timeout, deps.tcp, deps.clock)
    else:
        assert kind == SCRIPT
        probe = ScriptProbe(check_id, check.script_args, check.timeout, deps.spawner, deps.clock, limit)
    return IntervalCheck(check_id, probe, check.run_interval, StatusHandler.for_check(check), notify,
                         deps.clock, deps.rng)


__all__ = [
    "AliasCheck", "CheckDeps", "HTTPAgents", "IntervalCheck", "InvalidCheckType", "SessionSpawner",
    "StatusHandler", "TCPConnector", "TTLCheck", "UnsupportedCheck", "make_runner",
]
