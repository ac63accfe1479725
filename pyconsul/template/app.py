"""Wiring for ``pyconsul template``: the one place that picks the reactor.

:func:`run` takes a checked :class:`RunConfig`, logs confd-style to a byte
stream, loads the resources and runs the chosen mode until it is done
(``-onetime``) or told to stop (SIGINT/SIGTERM, exit status 0 as confd).
It returns the exit status.

:func:`run_consul_template` is consul-template's shape (``-template
in:out:command``): watch mode over the templates, with consul-template's
exit statuses -- 0 once every template has rendered with ``-once``, 14
(its ExitCodeRunnerError) after an error, which is fatal there, and 12
(ExitCodeInterrupt, after "Cleaning up...") on SIGINT or SIGTERM.
"""

import os
import queue
import signal
import threading

from twisted.internet.defer import Deferred
from twisted.logger import Logger, globalLogBeginner
from twisted.python.failure import Failure

from pyconsul.template.confdlog import ConfdLogObserver
from pyconsul.template.consul import ConsulKV, NodeAddressError, parse_node
from pyconsul.template.ctrender import ConsulTemplateError, ConsulTemplateRunner, Renderer, load_templates
from pyconsul.template.modes import IntervalMode, SyncRunner, WatchMode, run_once
from pyconsul.template.resource import Processor, load_resources

log = Logger(namespace="pyconsul.template")

_SIGNAL_NAMES = {signal.SIGINT: "interrupt", signal.SIGTERM: "terminated"}


def start_logging(stream, level):
    observer = ConfdLogObserver(stream, level)
    globalLogBeginner.beginLoggingTo([observer], discardBuffer=True, redirectStandardIO=False)
    return observer


def load(settings):
    """conf.d's resources, with confd's warnings for an empty or missing confdir."""
    if not os.path.isdir(settings.confdir):
        log.warn("Cannot load template resources: confdir '{confdir}' does not exist",
                 confdir=settings.confdir)
        return [], []
    resources, errors = load_resources(settings)
    if not resources and not errors:
        log.warn("Found no templates")
    return resources, errors


class SyncThread:
    """The one thread syncs run in (they run one batch at a time anyway).

    Calling it with ``(function, *args)`` queues the call and returns a
    Deferred that fires on the reactor thread with its result. Lighter on
    the way to a render than the reactor's thread pool; stopped (after the
    call at hand) when the reactor shuts down.
    """

    def __init__(self, reactor):
        self.reactor = reactor
        self._calls = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="pyconsul-template-sync", daemon=True)
        self._thread.start()

    def __call__(self, function, *args):
        d = Deferred()
        self._calls.put((d, function, args))
        return d

    def stop(self):
        self._calls.put(None)
        self._thread.join()

    def _work(self):
        while True:
            call = self._calls.get()
            if call is None:
                return
            d, function, args = call
            try:
                result = function(*args)
            except BaseException:
                self.reactor.callFromThread(d.errback, Failure())
            else:
                self.reactor.callFromThread(d.callback, result)


class TemplateApp:
    """One run: builds the parts from the config and drives the mode."""

    def __init__(self, config, reactor):
        self.config = config
        self.reactor = reactor
        self.status = 0
        self.mode = None
        self._stopping = False

    def _kv(self):
        nodes = [parse_node(n, self.config.scheme) for n in self.config.nodes]
        return ConsulKV(self.reactor, nodes, token=self.config.token)

    def _runner(self):
        thread = SyncThread(self.reactor)
        self.reactor.addSystemEventTrigger("during", "shutdown", thread.stop)
        return SyncRunner(Processor(self.config.settings), thread)

    def start(self):
        """Called once the reactor runs."""
        config = self.config
        log.info("Starting pyconsul template")
        log.info("Backend set to {backend}", backend=config.backend)
        try:
            kv = self._kv()
        except NodeAddressError as e:
            return self._exit(1, str(e))
        log.info("Consul nodes set to {nodes}", nodes=", ".join(n.authority for n in kv.nodes))
        settings = config.settings
        resources, errors = load(settings)
        if errors:
            # confd does not start with a broken resource file.
            for error in errors:
                log.error("{error}", error=str(error))
            return self._exit(1)
        runner = self._runner()
        if config.mode == "onetime":
            d = run_once(resources, kv, runner)
            d.addErrback(lambda f: (log.failure("Run", f), 1)[1])
            d.addCallback(self._exit)
            return
        if config.mode == "interval":
            self.mode = IntervalMode(lambda: load(settings), kv, runner, self.reactor, config.interval)
        else:
            if not resources:
                # As confd's watch mode: with nothing to watch, it is done.
                return self._exit(0, "Nothing to watch. Exiting...", level="info")
            self.mode = WatchMode(resources, kv, runner, self.reactor, self.reactor.callFromThread,
                                  quiescence=config.quiescence)
        self._handle_signals()
        self.mode.start()

    def _handle_signals(self):
        def on_signal(number, frame):
            self.reactor.callFromThread(self._captured, number)

        for number in _SIGNAL_NAMES:
            signal.signal(number, on_signal)

    def _captured(self, number):
        log.info("Captured {signal}. Exiting...", signal=_SIGNAL_NAMES[number])
        self._exit(0)

    def _exit(self, status, message=None, level="critical"):
        if self._stopping:
            return
        self._stopping = True
        if message:
            getattr(log, level)("{message}", message=message)
        self.status = status
        if self.mode is not None:
            self.mode.stop()
        if self.reactor.running:
            self.reactor.stop()


def run(config, stream):
    """Run ``pyconsul template`` with ``config``; returns the exit status."""
    from twisted.internet import reactor

    start_logging(stream, config.log_level)
    app = TemplateApp(config, reactor)
    reactor.callWhenRunning(app.start)
    reactor.run()
    return app.status


EXIT_INTERRUPT = 12  # consul-template's ExitCodeInterrupt
EXIT_RUNNER_ERROR = 14  # consul-template's ExitCodeRunnerError


class ConsulTemplateApp:
    """One consul-template-shaped run (a ConsulTemplateConfig)."""

    def __init__(self, config, reactor, stdout, stderr):
        self.config = config
        self.reactor = reactor
        self.stdout = stdout
        self.stderr = stderr
        self.status = 0
        self.mode = None
        self.runner = None
        self._stopping = False

    def start(self):
        config = self.config
        try:
            templates = load_templates(config.templates)
        except ConsulTemplateError as e:
            return self._exit(EXIT_RUNNER_ERROR, str(e))
        kv = ConsulKV(self.reactor, [config.node], token=config.token)
        thread = SyncThread(self.reactor)
        self.reactor.addSystemEventTrigger("during", "shutdown", thread.stop)
        self.runner = ConsulTemplateRunner(Renderer(dry=config.dry, dry_stream=self.stdout), thread,
                                           output=self.stdout, once=config.once)
        self.templates = templates
        self.mode = WatchMode(templates, kv, self.runner, self.reactor, self.reactor.callFromThread,
                              quiescence=config.quiescence, on_synced=self._synced,
                              order=lambda t: t.index)
        self._handle_signals()
        self.mode.start()
        if config.once and not templates:
            self._exit(0)

    def _synced(self, report):
        if report.errors:
            return self._exit(EXIT_RUNNER_ERROR, str(report.errors[0]).rstrip("\n"))
        if self.config.once and all(t in self.runner.rendered for t in self.templates):
            self._exit(0)

    def _handle_signals(self):
        def on_signal(number, frame):
            self.reactor.callFromThread(self._interrupted)

        for number in _SIGNAL_NAMES:
            signal.signal(number, on_signal)

    def _interrupted(self):
        self.stderr.write(b"Cleaning up...\n")
        self.stderr.flush()
        self._exit(EXIT_INTERRUPT)

    def _exit(self, status, message=None):
        if self._stopping:
            return
        self._stopping = True
        if message:
            log.error("{message}", message=message)
        self.status = status
        if self.mode is not None:
            self.mode.stop()
        if self.reactor.running:
            self.reactor.stop()


def run_consul_template(config, stdout, stderr):
    """Run ``pyconsul template -template ...``; returns the exit status."""
    from twisted.internet import reactor

    start_logging(stderr, config.log_level)
    app = ConsulTemplateApp(config, reactor, stdout, stderr)
    reactor.callWhenRunning(app.start)
    reactor.run()
    return app.status
