"""A watch's parameters, read as Consul 1.10 reads them.

The same parameters come from two places: an entry of the agent's
``watches`` configuration (JSON values) and the flags of ``pyconsul watch``.
:func:`parse` is Consul's ``watch.Parse``/``ParseExempt``: the generic keys
(``type``, ``datacenter``, ``token``, ``handler_type`` and
``http_handler_config``), then the type's own keys, and any key left over is
an error. :func:`parse_agent_watch` adds what the agent checks on top
(``handler_type`` ``script`` or ``http``, one handler: ``args``, the
deprecated ``handler``, or ``http_handler_config``).

Errors are :class:`WatchError`, worded as Consul words them ("Must specify a
single key to watch", "Unsupported watch type: x").

Each type becomes a :class:`Query`: the HTTP read Consul's watch makes, and
how the answer is read (``read``: one KV pair, a KV listing, events, or the
JSON as it came).
"""

import attr

from pyconsul.cli.http import encode_query, escape_path
from pyconsul.golang import duration

WATCH_TYPES = ("key", "keyprefix", "services", "nodes", "service", "checks", "event")
# Types Consul knows that pyconsul does not watch.
UNSUPPORTED_TYPES = ("connect_roots", "connect_leaf", "agent_service")
HANDLER_TYPES = ("script", "http")
DEFAULT_HTTP_TIMEOUT = 10.0  # seconds: Consul's watch.DefaultTimeout
DEFAULT_HTTP_METHOD = "POST"

# How a Query's answer is read (see pyconsul.watch.plan).
READ_KV_PAIR, READ_KV_LIST, READ_EVENTS, READ_JSON = "kv-pair", "kv-list", "events", "json"


class WatchError(ValueError):
    """Bad watch parameters; ``str()`` is Consul's message."""


@attr.s(frozen=True, slots=True)
class Request:
    """One GET of the agent's HTTP API."""

    path: str = attr.ib()
    params: dict = attr.ib()  # name -> [values]
    headers: tuple = attr.ib(default=())  # (name, value)

    @property
    def target(self):
        """The request target as Go's api client writes it: the path
        escaped as Go's url.URL does, the query sorted as url.Values."""
        query = encode_query(self.params)
        return escape_path(self.path) + ("?" + query if query else "")


@attr.s(frozen=True, slots=True)
class Query:
    """What a watch reads."""

    type: str = attr.ib()
    path: str = attr.ib()
    params: tuple = attr.ib(default=())  # (name, value) pairs of the type's own
    read: str = attr.ib(default=READ_JSON)
    datacenter: str = attr.ib(default="")
    token: str = attr.ib(default="")
    stale: bool = attr.ib(default=False)

    @property
    def supported(self):
        return self.type in WATCH_TYPES

    def request(self, index=0):
        """The GET for a blocking query at ``index`` (0: answer at once)."""
        params = {}
        for name, value in self.params:
            params.setdefault(name, []).append(value)
        if self.datacenter:
            params["dc"] = [self.datacenter]
        if self.stale:
            params["stale"] = [""]
        if index:
            params["index"] = [str(index)]
        headers = (("X-Consul-Token", self.token),) if self.token else ()
        return Request(self.path, params, headers)


@attr.s(frozen=True, slots=True)
class ScriptHandler:
    """Run ``args`` as a program, or ``script`` with the shell (``$SHELL -c``)."""

    args: tuple = attr.ib(default=None)
    script: str = attr.ib(default=None)

    @property
    def deprecated(self):
        """Given as the ``handler`` key, which Consul deprecated for ``args``."""
        return self.script is not None


@attr.s(frozen=True, slots=True)
class HTTPHandler:
    """Consul's http_handler_config; ``timeout`` in seconds."""

    path: str = attr.ib()
    method: str = attr.ib(default=DEFAULT_HTTP_METHOD)
    header: tuple = attr.ib(default=())  # (name, (values...))
    timeout: float = attr.ib(default=DEFAULT_HTTP_TIMEOUT)
    tls_skip_verify: bool = attr.ib(default=False)


@attr.s(frozen=True, slots=True)
class Parsed:
    """What parse() read: the query, the handler type as given, the http
    handler's settings (for handler_type "http") and the exempt keys."""

    query: Query = attr.ib()
    handler_type: str = attr.ib(default="")
    http_handler: HTTPHandler = attr.ib(default=None)
    exempt: dict = attr.ib(factory=dict)


@attr.s(frozen=True, slots=True)
class WatchSpec:
    """A watch of the agent's configuration: the query and its handler."""

    query: Query = attr.ib()
    handler: object = attr.ib()  # ScriptHandler or HTTPHandler


# -- reading values as Consul's assignValue* do ---------------------------------------


def _take_string(params, name):
    if name not in params:
        return ""
    value = params.pop(name)
    if not isinstance(value, str):
        raise WatchError("Expecting %s to be a string" % name)
    return value


def _take_bool(params, name):
    if name not in params:
        return False
    value = params.pop(name)
    if not isinstance(value, bool):
        raise WatchError("Expecting %s to be a boolean" % name)
    return value


def _take_strings(params, name):
    if name not in params:
        return ()
    value = params.pop(name)
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)):
        raise WatchError("Expecting %s to be a string or []string" % name)
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise WatchError("Index %d of %s expected to be string" % (position, name))
    return tuple(value)


# -- the types -------------------------------------------------------------------------


def _key(params, common):
    stale = _take_bool(params, "stale")
    key = _take_string(params, "key")
    if not key:
        raise WatchError("Must specify a single key to watch")
    return Query("key", "/v1/kv/" + _trim_slash(key), read=READ_KV_PAIR, stale=stale, **common)


def _keyprefix(params, common):
    stale = _take_bool(params, "stale")
    prefix = _take_string(params, "prefix")
    if not prefix:
        raise WatchError("Must specify a single prefix to watch")
    return Query("keyprefix", "/v1/kv/" + _trim_slash(prefix), (("recurse", ""),), read=READ_KV_LIST,
                 stale=stale, **common)


def _trim_slash(key):
    # Go's api: strings.TrimPrefix(key, "/") -- one slash only.
    return key[1:] if key.startswith("/") else key


def _services(params, common):
    return Query("services", "/v1/catalog/services", stale=_take_bool(params, "stale"), **common)


def _nodes(params, common):
    return Query("nodes", "/v1/catalog/nodes", stale=_take_bool(params, "stale"), **common)


def _service(params, common):
    stale = _take_bool(params, "stale")
    service = _take_string(params, "service")
    if not service:
        raise WatchError("Must specify a single service to watch")
    tags = _take_strings(params, "tag")
    passing = _take_bool(params, "passingonly")
    own = tuple(("tag", tag) for tag in tags) + ((("passing", "1"),) if passing else ())
    return Query("service", "/v1/health/service/" + service, own, stale=stale, **common)


def _checks(params, common):
    stale = _take_bool(params, "stale")
    service = _take_string(params, "service")
    state = _take_string(params, "state")
    if service and state:
        raise WatchError("Cannot specify service and state")
    if state or not service:
        return Query("checks", "/v1/health/state/" + (state or "any"), stale=stale, **common)
    return Query("checks", "/v1/health/checks/" + service, stale=stale, **common)


def _event(params, common):
    # Consul's event watch reads no "stale": given, it is left over (an error).
    name = _take_string(params, "name")
    own = (("name", name),) if name else ()
    return Query("event", "/v1/event/list", own, read=READ_EVENTS, **common)


def _unsupported(own_keys):
    def factory(params, common):
        for name in own_keys:
            _take_string(params, name)
        return None  # filled in by parse

    return factory


_FACTORIES = {
    "key": _key,
    "keyprefix": _keyprefix,
    "services": _services,
    "nodes": _nodes,
    "service": _service,
    "checks": _checks,
    "event": _event,
    "connect_roots": _unsupported(()),
    "connect_leaf": _unsupported(("service",)),
    "agent_service": _unsupported(("service_id",)),
}


# -- http_handler_config ---------------------------------------------------------------


def _http_handler(raw):
    """Consul's parseHttpHandlerConfig (its strict decode, then its weak one:
    "true" for a boolean, one string for a list of them)."""
    try:
        return _read_http_handler(raw)
    except WatchError as error:
        raise WatchError("Failed to parse 'http_handler_config': %s" % error) from None


def _field(raw, name):
    # mapstructure matches field names without regard to case.
    for key, value in raw.items():
        if key.lower() == name:
            return value
    return None


def _read_http_handler(raw):
    if not isinstance(raw, dict):
        raise WatchError("it must be an object, such as {\"path\": \"https://example.com/hook\"}")
    path = _weak_string(_field(raw, "path"), "path")
    method = _weak_string(_field(raw, "method"), "method")
    timeout_text = _weak_string(_field(raw, "timeout"), "timeout")
    skip = _field(raw, "tls_skip_verify")
    if isinstance(skip, str) and skip.lower() in ("true", "false", "1", "0", ""):
        skip = skip.lower() in ("true", "1")
    elif isinstance(skip, (int, float)) and not isinstance(skip, bool):
        skip = skip != 0
    elif skip is None:
        skip = False
    elif not isinstance(skip, bool):
        raise WatchError("'tls_skip_verify' must be a boolean")
    header = _read_header(_field(raw, "header"))
    if not path:
        raise WatchError("Requires 'path' to be set")
    timeout = DEFAULT_HTTP_TIMEOUT
    if timeout_text:
        try:
            timeout = duration.parse_duration(timeout_text) / duration.SECOND
        except duration.DurationError as error:
            raise WatchError("Failed to parse timeout: %s" % error) from None
    return HTTPHandler(path=path, method=method or DEFAULT_HTTP_METHOD, header=header, timeout=timeout,
                       tls_skip_verify=skip)


def _weak_string(value, name):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise WatchError("'%s' must be a string" % name)
    return value


def _read_header(value):
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise WatchError("'header' must be an object of lists of strings, such as {\"X-Token\": [\"abc\"]}")
    header = []
    for name, values in value.items():
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise WatchError("'header' value of %r must be a list of strings" % name)
        header.append((name, tuple(values)))
    return tuple(header)


# -- parsing -----------------------------------------------------------------------------


def parse(params, exempt=()):
    """Consul's watch.ParseExempt: a Parsed, or WatchError. ``params`` is
    not changed; the keys named in ``exempt`` are kept aside, unread."""
    params = dict(params)
    common = {"datacenter": _take_string(params, "datacenter"), "token": _take_string(params, "token")}
    watch_type = _take_string(params, "type")
    if not watch_type:
        raise WatchError("Watch type must be specified")
    handler_type = _take_string(params, "handler_type")
    http_handler = None
    if handler_type == "http":
        if "http_handler_config" not in params:
            raise WatchError("Handler type 'http' requires 'http_handler_config' to be set")
        http_handler = _http_handler(params.pop("http_handler_config"))
    factory = _FACTORIES.get(watch_type)
    if factory is None:
        raise WatchError("Unsupported watch type: %s" % watch_type)
    query = factory(params, common) or Query(watch_type, "", **common)
    kept = {name: params.pop(name) for name in exempt if name in params}
    if params:
        raise WatchError("Invalid parameters: [%s]" % " ".join(sorted(params)))
    return Parsed(query, handler_type, http_handler, kept)


def _describe(value):
    """A value in an error message, as Go's %s shows a non-string."""
    return value if isinstance(value, str) else repr(value)


def parse_agent_watch(params):
    """One entry of the agent's ``watches``, as Consul's agent takes it
    (reloadWatches and makeWatchPlan): a WatchSpec, or WatchError."""
    if not isinstance(params, dict):
        raise WatchError("a watch must be an object, such as {\"type\": \"key\", \"key\": \"app/config\", "
                         "\"args\": [\"/usr/local/bin/reload\"]}")
    params = dict(params)
    handler_type = params.setdefault("handler_type", "script")
    if handler_type not in HANDLER_TYPES:
        raise WatchError("Handler type '%s' not recognized" % _describe(handler_type))
    watch_type = params.get("type")
    if isinstance(watch_type, str) and watch_type.startswith("connect_"):
        raise WatchError("Watch type %s is not allowed in agent config" % watch_type)
    parsed = parse(params, exempt=("handler", "args"))
    has_handler, has_args = "handler" in parsed.exempt, "args" in parsed.exempt
    script = parsed.exempt.get("handler")
    if has_handler and not isinstance(script, str):
        raise WatchError("Watch handler must be a string")
    args = _watch_args(parsed.exempt["args"]) if has_args else None
    is_http = parsed.handler_type == "http"
    if (has_handler and has_args) or (is_http and (has_handler or has_args)):
        raise WatchError("Only one watch handler allowed")
    if not (has_handler or has_args or is_http):
        raise WatchError("Must define a watch handler")
    if not parsed.query.supported:
        raise WatchError("pyconsul does not support watch type %s; the types it watches are %s"
                         % (parsed.query.type, ", ".join(WATCH_TYPES)))
    if is_http:
        handler = parsed.http_handler
    else:
        handler = ScriptHandler(args=args) if has_args else ScriptHandler(script=script)
    return WatchSpec(parsed.query, handler)


def _watch_args(value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(arg, str) for arg in value):
        raise WatchError("Watch args must be a list of strings")
    if not value:
        raise WatchError("Watch args must name the program to run, such as [\"/usr/local/bin/reload\"]")
    return tuple(value)
