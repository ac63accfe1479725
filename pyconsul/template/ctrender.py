"""Rendering and writing templates as consul-template does.

For ``pyconsul template -template in:out:command`` (see
:mod:`pyconsul.template.ctconfig`), the semantics are consul-template's,
not confd's:

* a template is read and parsed once, at the start; what it cannot be read
  or parsed with is an error there. It runs with consul-template's
  functions (:func:`~pyconsul.template.discovery.consul_template_funcs`),
  its errors name it ``""`` as consul-template's do, and a missing map key
  is the zero value (``missingkey=zero``);
* a render that lacks data writes nothing; one whose output equals the
  destination's contents writes nothing either and runs no command;
* otherwise the output goes to a temporary file in the destination's
  directory (created, with its parents, mode 0755, if missing), which is
  synced and renamed over the destination with the destination's mode (0644
  for a new file) and, where allowed, its owner;
* ``-dry`` prints ``> destination`` and the output to stdout instead, and
  runs no command;
* after every template of a batch has been rendered, the commands of those
  that changed run once each, in the order of the ``-template`` flags, with
  ``/bin/sh -c`` (as consul-template 0.27 and later do). An error --
  a template that fails, a destination that cannot be written, a command
  that fails -- is fatal: it ends the run, as in consul-template.

Everything here blocks; the modes run it in the sync thread.
"""

import os
import tempfile

import attr
from twisted.logger import Logger

from pyconsul.golang import strconv
from pyconsul.template.discovery import Recall, consul_template_funcs
from pyconsul.template.errors import TemplateError
from pyconsul.template.executor import Template
from pyconsul.template.funcs import World, confd_funcs
from pyconsul.template.memkv import MemKV
from pyconsul.template.resource import SubprocessRunner, SyncResult
from pyconsul.template.syncing import SyncReport
from pyconsul.template.values import NO_VALUE, to_bytes

log = Logger(namespace="pyconsul.template")

DEFAULT_PERMS = 0o644
DIRECTORY_PERMS = 0o755
COMMAND_TIMEOUT = 30.0  # seconds, consul-template's default command_timeout


class ConsulTemplateError(Exception):
    """What ends a consul-template run; ``str()`` is consul-template's text."""


def _os_error(operation, path, error):
    """Go's *PathError text: ``open in.tmpl: no such file or directory``."""
    reason = error.strerror or str(error)
    return f"{operation} {path}: {reason[:1].lower()}{reason[1:]}"


@attr.s(eq=False, frozen=True)
class ConsulTemplate:
    """One ``-template``, read and parsed. It is a resource of the watch
    mode: it declares nothing, and reads what its renders ask for."""

    spec = attr.ib()
    index = attr.ib()  # its place among the -template flags
    template = attr.ib(repr=False)

    deps = ()

    @property
    def path(self):
        return self.spec.source

    def display(self):
        return self.spec.display()


def _funcs(world, recall):
    return confd_funcs(MemKV(), world) | consul_template_funcs(recall)


def load_templates(specs, world=None):
    """ConsulTemplates for ``specs``; raises ConsulTemplateError."""
    world = world if world is not None else World()
    loaded = []
    for index, spec in enumerate(specs):
        try:
            with open(spec.source, "rb") as f:
                text = f.read().decode("utf-8", "surrogateescape")
        except OSError as e:
            raise ConsulTemplateError("failed to read template: " + _os_error("open", spec.source, e))
        try:
            template = Template("", text, _funcs(world, Recall()), missing_key="zero")
        except TemplateError as e:
            raise ConsulTemplateError(f"{spec.source}: parse: {e}")
        loaded.append(ConsulTemplate(spec, index, template))
    return loaded


class Renderer:
    """Executes templates and writes their destinations (blocking).

    ``dry_stream`` (bytes) is where ``-dry`` prints; ``fsync`` and ``chown``
    are injectable for tests.
    """

    def __init__(self, world=None, dry=False, dry_stream=None, fsync=os.fsync, chown=os.chown):
        self.world = world if world is not None else World()
        self.dry = dry
        self.dry_stream = dry_stream
        self.fsync = fsync
        self.chown = chown

    def execute(self, tmpl, brain):
        """``(output bytes, recall)``; raises ConsulTemplateError."""
        recall = Recall(brain)
        try:
            text = tmpl.template.execute(NO_VALUE, _funcs(self.world, recall))
        except TemplateError as e:
            raise ConsulTemplateError(f"{tmpl.spec.source}: execute: {e}")
        return to_bytes(text), recall

    def write(self, tmpl, contents):
        """Bring the destination up to date: whether it was (or, dry, would
        have been) written. Raises ConsulTemplateError."""
        path = tmpl.spec.destination
        try:
            with open(path, "rb") as f:
                if f.read() == contents:
                    return False
        except FileNotFoundError:
            pass
        except OSError as e:
            raise self._failed(tmpl, "failed reading file: " + _os_error("open", path, e))
        if self.dry:
            self.dry_stream.write(b"> " + to_bytes(path) + b"\n" + contents)
            self.dry_stream.flush()
            return True
        try:
            self._atomic_write(path, contents)
        except _WriteError as e:
            raise self._failed(tmpl, f"failed writing file: {e}")
        return True

    @staticmethod
    def _failed(tmpl, message):
        return ConsulTemplateError(f"error rendering {tmpl.display()}: {message}")

    def _atomic_write(self, path, contents):
        if path == "":
            raise _WriteError("missing destination")
        parent = os.path.dirname(path) or "."
        if not os.path.exists(parent):
            _step("mkdir", parent, os.makedirs, parent, DIRECTORY_PERMS)
        fd, staged = _step("open", parent, tempfile.mkstemp, dir=parent)
        try:
            with os.fdopen(fd, "wb") as f:
                _step("write", staged, f.write, contents)
                _step("sync", staged, lambda: (f.flush(), self.fsync(f.fileno())))
            try:
                current = os.stat(path)
            except FileNotFoundError:
                perms = DEFAULT_PERMS
            else:
                perms = current.st_mode & 0o7777
                try:
                    self.chown(staged, current.st_uid, current.st_gid)
                except OSError:
                    pass  # consul-template only warns when it may not keep the owner
            _step("chmod", staged, os.chmod, staged, perms)
            _step("rename", staged, os.replace, staged, path)
        finally:
            if os.path.exists(staged):
                os.remove(staged)


class _WriteError(Exception):
    pass


def _step(operation, path, function, *args, **kwargs):
    """One step of a write; an OSError becomes Go's ``op path: reason``."""
    try:
        return function(*args, **kwargs)
    except OSError as e:
        raise _WriteError(_os_error(operation, e.filename or path, e))


class ConsulTemplateRunner:
    """A batch of renders as consul-template's Runner.Run makes them.

    ``sync(jobs)`` (the modes' runner interface) renders in the thread and
    answers a SyncReport whose ``errors`` are fatal. With ``once``, a
    template is not rendered again once it has been.
    """

    def __init__(self, renderer, run_in_thread, commands=None, output=None, once=False, logger=None):
        self.renderer = renderer
        self.run_in_thread = run_in_thread
        self.commands = commands if commands is not None else SubprocessRunner(timeout=COMMAND_TIMEOUT)
        self.output = output  # bytes stream for the commands' output
        self.once = once
        self.log = logger if logger is not None else log
        self.rendered = set()  # templates that have rendered once

    def sync(self, jobs):
        return self.run_in_thread(self._run, list(jobs))

    def _run(self, jobs):
        report = SyncReport()
        changed = []
        for tmpl, entries, brain in jobs:
            if self.once and tmpl in self.rendered:
                continue
            try:
                result = self._render(tmpl, brain)
            except ConsulTemplateError as e:
                report.failed(tmpl, e)
                return report  # fatal: no further template, no command
            report.record(tmpl, result)
            if result.complete:
                self.rendered.add(tmpl)
            if result.written:
                changed.append(tmpl)
        errors = self._run_commands(changed)
        if errors:
            text = "".join(f"\t* {e}\n" for e in errors)
            count = f"{len(errors)} error{'s' if len(errors) > 1 else ''} occurred"
            report.errors.append(ConsulTemplateError(f"{count}:\n{text}\n"))
        return report

    def _render(self, tmpl, brain):
        contents, recall = self.renderer.execute(tmpl, brain)
        used = frozenset(recall.used)
        if recall.missing:
            self.log.debug("(runner) missing data for {count} dependencies", count=len(recall.missing))
            return SyncResult(tmpl, False, False, used=used, missing=frozenset(recall.missing))
        written = self.renderer.write(tmpl, contents)
        if written:
            self.log.info("(runner) rendered {display}", display=tmpl.display())
        return SyncResult(tmpl, written, written and not self.renderer.dry, used=used)

    def _run_commands(self, changed):
        errors, seen = [], set()
        for tmpl in sorted(changed, key=lambda t: t.index):
            command = tmpl.spec.command
            if not command or command in seen:
                continue  # each command once per batch, as consul-template
            seen.add(command)
            self.log.info("(runner) executing command {command} from {display}",
                          command=strconv.quote(command), display=tmpl.display())
            result = self.commands.run(command)
            if self.output is not None and result.output:
                self.output.write(result.output)
                self.output.flush()
            if result.error is not None:
                errors.append(
                    f"failed to execute command {strconv.quote(command)} from {tmpl.display()}: "
                    f"child: command exited with a non-zero exit status ({result.error}):\n\n"
                    f"    {command}\n\nThis is assumed to be a failure. Please ensure the command\n"
                    f"exits with a zero exit status."
                )
        return errors
