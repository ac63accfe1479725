"""This agent's services and checks: what registers them, what runs the checks.

Services and checks come from the config files (re-read on reload) or over
HTTP. Each check has a runner (pyconsul.agent.checks) whose results go into
the local state, which anti-entropy keeps in the catalog. Over-HTTP
registrations survive a restart: they are kept under ``data_dir/services``
and ``data_dir/checks`` (as Consul does), and so is the last status of a TTL
check, until its TTL runs out.

A check that stays critical longer than its service's
``deregister_critical_service_after`` takes its service away with it.
"""

import hashlib
import json
import os

import attr
from twisted.internet.task import LoopingCall

from pyconsul.agent import definitions
from pyconsul.agent.checks import InvalidCheckType, TTLCheck, make_runner
from pyconsul.agent.definitions import CRITICAL, DefinitionError
from pyconsul.logs import Logger
from pyconsul.state import records

API, FILE = "api", "file"  # where a registration came from
NODE_MAINTENANCE = "_node_maintenance"
SERVICE_MAINTENANCE = "_service_maintenance:"
DEFAULT_NODE_REASON = ("Maintenance mode is enabled for this node, but no reason was provided. "
                       "This is a default message.")
DEFAULT_SERVICE_REASON = ("Maintenance mode is enabled for this service, but no reason was provided. "
                          "This is a default message.")
REAP_INTERVAL = 30.0  # Consul's check_reap_interval


@attr.s
class Service:
    definition: object = attr.ib()  # ServiceDefinition
    source: str = attr.ib()
    body: bytes | None = attr.ib(default=None)  # the HTTP body, kept to persist it


@attr.s
class Check:
    health: object = attr.ib()  # the HealthCheck it started as
    definition: object = attr.ib()  # CheckDefinition; None for maintenance checks
    source: str = attr.ib()
    runner: object = attr.ib(default=None)
    critical_since: float | None = attr.ib(default=None)
    body: bytes | None = attr.ib(default=None)


def _file_name(identifier):
    return hashlib.md5(identifier.encode("utf-8")).hexdigest()


class AgentServices:
    log = Logger()

    def __init__(self, config, local, deps, clock, data_dir=None, rpc=None):
        self.config = config
        self.node = config.node_name
        self.local = local  # LocalState
        self.deps = deps  # CheckDeps
        self.clock = clock
        self.data_dir = data_dir
        self.alias_source = AliasSource(self, rpc, clock)
        self.services = {}  # service ID -> Service
        self.checks = {}  # check ID -> Check
        self.listeners = []  # called after any change (blocking /v1/agent/service/<id>)
        self._reaper = LoopingCall(self.reap)
        self._reaper.clock = clock

    # -- lifecycle ---------------------------------------------------------------

    def start(self):
        self.load_files(self.config.services, self.config.checks)
        self._restore()
        self._reaper.start(REAP_INTERVAL, now=False)

    def stop(self):
        if self._reaper.running:
            self._reaper.stop()
        self.alias_source.stop()
        for check in self.checks.values():
            if check.runner is not None:
                check.runner.stop()

    # -- services ----------------------------------------------------------------

    def add_service(self, definition, source=API, replace_existing_checks=False, body=None):
        """Register (or replace) a service and its checks; DefinitionError if refused."""
        health_checks = definition.health_checks(self.node)
        for _, check in health_checks:
            self._refuse_script(check, source)
        old = self.services.get(definition.id)
        keep = {health.check_id for health, _ in health_checks}
        if old is not None and replace_existing_checks:
            for check_id, check in list(self.checks.items()):
                if check.health.service_id == definition.id and check_id not in keep:
                    self._drop_check(check_id)
        self.services[definition.id] = Service(definition, source, body)
        self.local.add_service(records.service_record(definition.to_node_service()), definition.token)
        for health, check in health_checks:
            self._add_check(health, check, source)
        if source == API:
            self._persist_service(definition.id)
        else:  # a file's service replaces one registered over HTTP for good
            self._forget(os.path.join("services", _file_name(definition.id)))
        self._changed()

    def remove_service(self, service_id):
        """Deregister a service and its checks; False if it is unknown."""
        if service_id not in self.services:
            return False
        del self.services[service_id]
        for check_id, check in list(self.checks.items()):
            if check.health.service_id == service_id:
                self._drop_check(check_id)
        self.local.remove_service(service_id)
        self._forget(os.path.join("services", _file_name(service_id)))
        self._changed()
        return True

    def agent_service(self, service_id):
        service = self.services.get(service_id)
        return None if service is None else service.definition

    # -- checks ------------------------------------------------------------------

    def add_check(self, check, source=API, body=None):
        """check/register: a node check, or a check of a registered service."""
        health = definitions.registered_check(check, self.node)
        if check.service_id:
            service = self.services.get(check.service_id)
            if service is None:
                raise DefinitionError('ServiceID "%s" does not exist' % check.service_id, status=500)
            health = health.for_service(service.definition)
        self._refuse_script(check, source)
        self._add_check(health, check, source, body)
        self._changed()

    def remove_check(self, check_id):
        if check_id not in self.checks:
            return False
        self._drop_check(check_id)
        self._changed()
        return True

    def _refuse_script(self, check, source):
        refusal = definitions.script_check_refusal(
            check, source == API, self.config.enable_script_checks, self.config.enable_local_script_checks)
        if refusal is not None:
            raise DefinitionError(refusal, status=500)

    def _add_check(self, health, check, source, body=None):
        check_id = health.check_id
        try:
            runner = make_runner(check_id, check, lambda status, output: self._result(check_id, status, output),
                                 self.deps, alias_source=self.alias_source)
        except InvalidCheckType as error:
            raise DefinitionError(str(error))
        if check_id in self.checks:
            self._drop_check(check_id, forget=False)
        if check.alias_node and check.alias_node.lower() != self.node.lower():
            self.alias_source.watch_node(check.alias_node)
        self.checks[check_id] = Check(health, check, source, runner, body=body)
        self.local.add_check(self._record(health), check.token)
        runner.start()
        if source == API and body is not None:
            self._persist_check(check_id)

    def _record(self, health):
        """The catalog's record of a check, as the local state keeps it."""
        record = records.check_record(health.to_json(), self.node)
        return dict(record, ServiceName=health.service_name, ServiceTags=list(health.service_tags))

    def _drop_check(self, check_id, forget=True):
        check = self.checks.pop(check_id)
        if check.runner is not None:
            check.runner.stop()
        self.local.remove_check(check_id)
        if forget:
            self._forget(os.path.join("checks", _file_name(check_id)))
            self._forget(os.path.join("checks", "state", _file_name(check_id)))

    def _result(self, check_id, status, output):
        check = self.checks.get(check_id)
        record = self.local.live_checks().get(check_id)
        if check is None or record is None:
            return
        if (record["Status"], record["Output"]) == (status, output):
            return  # nothing new (an alias check looks again on every change)
        if status == CRITICAL:
            if check.critical_since is None:
                check.critical_since = self.clock.seconds()
        else:
            check.critical_since = None
        self.local.update_check(check_id, status, output)
        self._changed()

    def update_ttl(self, check_id, status, output):
        """check/pass|warn|fail|update; DefinitionError (500) for a check with no TTL."""
        check = self.checks.get(check_id)
        if check is None or not isinstance(check.runner, TTLCheck):
            raise DefinitionError('CheckID "%s" does not have associated TTL' % check_id, status=500)
        stored = check.runner.set_status(status, output)
        self._persist_ttl_state(check_id, status, stored)

    def check_records(self):
        """check ID -> the check as /v1/agent/checks shows it (no indexes: the agent's own copy)."""
        return {check_id: dict(record, CreateIndex=0, ModifyIndex=0)
                for check_id, record in self.local.live_checks().items()}

    # -- maintenance ------------------------------------------------------------

    def node_maintenance(self, enable, reason=""):
        if not enable:
            self.remove_check(NODE_MAINTENANCE)
            return
        self._maintenance_check(NODE_MAINTENANCE, "Node Maintenance Mode", reason or DEFAULT_NODE_REASON)

    def service_maintenance(self, service_id, enable, reason=""):
        service = self.services.get(service_id)
        if service is None:
            raise DefinitionError('No service registered with ID "%s"' % service_id, status=404)
        check_id = SERVICE_MAINTENANCE + service_id
        if not enable:
            self.remove_check(check_id)
            return
        self._maintenance_check(check_id, "Service Maintenance Mode", reason or DEFAULT_SERVICE_REASON,
                                service.definition)

    def _maintenance_check(self, check_id, name, notes, service=None):
        health = definitions.HealthCheck(node=self.node, check_id=check_id, name=name, notes=notes, status=CRITICAL)
        if service is not None:
            health = health.for_service(service)
        self.checks[check_id] = Check(health, None, API)
        self.local.add_check(self._record(health))
        self._changed()

    # -- config files -------------------------------------------------------------

    def load_files(self, services, checks):
        """The config files' services and checks, as now read: new ones are
        added, changed ones replaced, those no longer there removed. One that
        is refused is logged and the others still load."""
        wanted = {s.id for s in services}
        for service_id, service in list(self.services.items()):
            if service.source == FILE and service_id not in wanted:
                self.remove_service(service_id)
        wanted_checks = {c.id for c in checks}
        for check_id, check in list(self.checks.items()):
            if check.source == FILE and check.health.service_id == "" and check_id not in wanted_checks:
                self.remove_check(check_id)
        for service in services:
            current = self.services.get(service.id)
            if current is not None and current.definition == service and current.source == FILE:
                continue
            try:
                self.add_service(service, FILE, replace_existing_checks=True)
            except DefinitionError as error:
                self.log.error("Failed to register service {service}: {error}", service=service.name,
                               error=error.message)
        for check in checks:
            current = self.checks.get(check.id)
            if current is not None and current.definition == check and current.source == FILE:
                continue
            try:
                self.add_check(check, FILE)
            except DefinitionError as error:
                self.log.error("Failed to register check {check}: {error}", check=check.id, error=error.message)

    # -- reaping -----------------------------------------------------------------------

    def reap(self):
        now = self.clock.seconds()
        for check_id, check in list(self.checks.items()):
            if check.definition is None or check.critical_since is None:
                continue
            after = check.definition.reap_after
            service_id = check.health.service_id
            if after and service_id and now - check.critical_since > after / 1e9:
                self.log.info("Check {check} has been critical for too long; deregistered service {service}",
                              check=check_id, service=service_id)
                self.remove_service(service_id)

    # -- changes and persistence -----------------------------------------------------------

    def _changed(self):
        for listener in list(self.listeners):
            listener()

    def _path(self, *parts):
        return os.path.join(self.data_dir, *parts)

    def _write(self, relative, value):
        if self.data_dir is None:
            return
        path = self._path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(value, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)

    def _forget(self, relative):
        if self.data_dir is not None:
            try:
                os.remove(self._path(relative))
            except FileNotFoundError:
                pass

    def _persist_service(self, service_id):
        service = self.services[service_id]
        if service.body is not None:
            self._write(os.path.join("services", _file_name(service_id)),
                        {"Body": service.body.decode("utf-8", "surrogateescape")})

    def _persist_check(self, check_id):
        check = self.checks[check_id]
        self._write(os.path.join("checks", _file_name(check_id)),
                    {"Body": check.body.decode("utf-8", "surrogateescape")})

    def _persist_ttl_state(self, check_id, status, output):
        check = self.checks[check_id]
        expires = self.clock.seconds() + check.definition.ttl / 1e9
        self._write(os.path.join("checks", "state", _file_name(check_id)),
                    {"CheckID": check_id, "Status": status, "Output": output, "Expires": expires})

    def _restore(self):
        """Registrations made over HTTP before a restart, and the TTL checks'
        last statuses that have not expired."""
        if self.data_dir is None:
            return
        for body in self._bodies("services"):
            try:
                self.add_service(definitions.parse_service_register(body), API, body=body)
            except DefinitionError as error:
                self.log.error("Failed to restore a service: {error}", error=error.message)
        for body in self._bodies("checks"):
            try:
                self.add_check(definitions.parse_check_register(body), API, body=body)
            except DefinitionError as error:
                self.log.error("Failed to restore a check: {error}", error=error.message)
        state_dir = self._path("checks", "state")
        for name in sorted(os.listdir(state_dir)) if os.path.isdir(state_dir) else ():
            try:
                with open(os.path.join(state_dir, name), encoding="utf-8") as f:
                    state = json.load(f)
                check = self.checks.get(state["CheckID"])
                if check is not None and isinstance(check.runner, TTLCheck) and state["Expires"] > self.clock.seconds():
                    check.runner.set_status(state["Status"], state["Output"])
            except (OSError, ValueError, KeyError, TypeError) as error:
                self.log.warn("Ignoring saved check state {name}: {error}", name=name, error=error)

    def _bodies(self, kind):
        directory = self._path(kind)
        if not os.path.isdir(directory):
            return
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if not os.path.isfile(path) or name.endswith(".tmp"):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    yield json.load(f)["Body"].encode("utf-8", "surrogateescape")
            except (OSError, ValueError, KeyError, TypeError) as error:
                self.log.warn("Ignoring saved {kind} file {name}: {error}", kind=kind, name=name, error=error)


class AliasSource:
    """What alias checks follow: this agent's own checks, and those of other
    nodes, kept by one blocking query per node followed."""

    log = Logger()
    RETRY = 5.0

    def __init__(self, services, rpc, clock):
        self.services = services
        self.rpc = rpc
        self.clock = clock
        self.remote = {}  # node name (lower case) -> its checks, as last read
        self.running = True

    def checks(self):
        return list(self.services.local.live_checks().values()) + [c for found in self.remote.values()
                                                                  for c in found]

    def service_exists(self, service_id):
        return service_id in self.services.services

    def subscribe(self, callback):
        self.services.listeners.append(callback)
        return lambda: callback in self.services.listeners and self.services.listeners.remove(callback)

    def watch_node(self, node):
        if node.lower() in self.remote or self.rpc is None:
            return
        self.remote[node.lower()] = []
        self._query(node, 0)

    def stop(self):
        self.running = False

    def _query(self, node, index):
        if not self.running:
            return
        args = {"Node": node, "QueryOptions": {"MinQueryIndex": index, "MaxQueryTime": 600.0, "AllowStale": True}}
        self.rpc.call("Health.NodeChecks", args).addCallbacks(self._answered, self._failed,
                                                              callbackArgs=(node,), errbackArgs=(node,))

    def _answered(self, reply, node):
        self.remote[node.lower()] = reply["HealthChecks"]
        self.services._changed()
        self._query(node, reply["Index"])

    def _failed(self, failure, node):
        for check in self.services.checks.values():
            runner = check.runner
            if check.definition is not None and check.definition.alias_node.lower() == node.lower():
                if hasattr(runner, "source_failed"):
                    runner.source_failed(str(failure.value))
        if self.running:
            self.clock.callLater(self.RETRY, self._query, node, 0)
