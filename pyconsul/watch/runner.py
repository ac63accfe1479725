"""A watch plan driven on Twisted, against an agent's HTTP API.

:class:`WatchRunner` keeps one request open for its plan
(:mod:`pyconsul.watch.plan`): it sends what the plan asks, gives the plan
the answer, and does what the plan says -- run the handler (and wait for
it: a handler that returns a Deferred holds the next question, as Consul's
loop waits for its handler), wait before retrying, or ask again at once.
Stopping cancels the open request and any pending retry; a handler that is
running finishes, but nothing is asked after it.

:class:`AgentHTTP` sends the plan's GETs with the template renderer's
kept-alive client (:class:`pyconsul.template.httpclient.HTTPClient`) and
words failures as Go's HTTP client does (``Get "http://...": dial tcp
...: connect: connection refused``).
"""

from twisted.internet.defer import CancelledError, maybeDeferred

from pyconsul import __version__, timers
from pyconsul.logs import Logger
from pyconsul.template.consul import BLOCKING_SLACK, Node, describe_failure
from pyconsul.template.httpclient import HTTPClient
from pyconsul.watch.plan import Fire, Plan, Retry

log = Logger(namespace="pyconsul.watch")

# The agent holds a blocking query up to its default wait (5 min) plus
# wait/16; a request gets that and some slack before it is given up.
DEFAULT_WAIT = 300.0
REQUEST_TIMEOUT = DEFAULT_WAIT + DEFAULT_WAIT / 16 + BLOCKING_SLACK


class RequestFailed(Exception):
    """A request got no usable answer; ``str()`` is the message to log."""


class AgentHTTP:
    """GETs to one agent: ``get(request)`` -> Deferred (status, X-Consul-Index
    text or None, body); fails with RequestFailed."""

    def __init__(self, reactor, host, port, http=None, timeout=REQUEST_TIMEOUT):
        self.reactor = reactor
        self.node = Node("http", host, port)
        self.http = http if http is not None else HTTPClient(reactor)
        self.timeout = timeout

    def __call__(self, request):
        url = self.node.base_url + request.target
        headers = [("User-Agent", "pyconsul/%s" % __version__), *request.headers]
        d = self.http.get(self.node, request.target, headers)
        d.addTimeout(self.timeout, self.reactor)
        d.addCallbacks(self._answer, self._failed, errbackArgs=(url,))
        return d

    @staticmethod
    def _answer(response):
        index = response.header("X-Consul-Index")
        return response.code, index.decode("latin-1") if index is not None else None, response.body

    def _failed(self, failure, url):
        if failure.check(CancelledError):
            return failure  # stopped (a timeout is a TimeoutError): nothing to say
        raise RequestFailed('Get "%s": %s' % (url, describe_failure(failure, self.node)))


class WatchRunner:
    """One watch: ``query`` (pyconsul.watch.spec.Query) read with ``get``
    (an AgentHTTP or a fake), ``handler(index, result)`` called for each
    change (it may return a Deferred), time from ``clock``."""

    def __init__(self, query, get, clock, handler, logger=None):
        self.plan = Plan(query)
        self.get = get
        self.clock = clock
        self.handler = handler
        self.log = logger if logger is not None else log
        self.running = False
        self._request = None
        self._timer = None

    @property
    def name(self):
        return self.plan.query.type

    def start(self):
        self.running = True
        self._ask()

    def stop(self):
        self.running = False
        self._timer = timers.cancel(self._timer)
        if self._request is not None:
            request, self._request = self._request, None
            request.cancel()

    def _ask(self):
        self._timer = None
        if not self.running:
            return
        d = self._request = maybeDeferred(self.get, self.plan.request())
        d.addCallbacks(self._answered, self._failed, errbackArgs=(d,))
        d.addErrback(lambda failure: self.log.failure("Watch of type {type} stopped working", failure,
                                                      type=self.name))

    def _answered(self, answer):
        self._request = None
        if self.running:
            self._act(self.plan.answered(*answer))

    def _failed(self, failure, d):
        if self._request is d:
            self._request = None
        if not self.running:
            return
        error = str(failure.value) if failure.check(RequestFailed) else failure.getErrorMessage()
        self._act(self.plan.failed(error))

    def _act(self, effect):
        if isinstance(effect, Retry):
            self.log.error("Watch errored: type={type} error={error!r} retry={retry:g}s", type=self.name,
                           error=effect.error, retry=effect.delay)
            self._timer = self.clock.callLater(effect.delay, self._ask)
        elif isinstance(effect, Fire):
            d = maybeDeferred(self.handler, effect.index, effect.result)
            d.addErrback(lambda failure: self.log.failure("Watch handler of type {type} failed", failure,
                                                          type=self.name))
            d.addCallback(lambda _: self._ask())
        else:
            self._ask()
