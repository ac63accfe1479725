"""The confd-compatible template renderer behind ``pyconsul template``.

Three layers:

* the template language: Go's ``text/template`` (:class:`Template`), with
  confd's functions (:func:`confd_funcs`) over confd's key/value view
  (:class:`MemKV`), and consul-template's discovery functions and helpers
  (:mod:`~pyconsul.template.discovery`: ``service``, ``services``,
  ``nodes``, ``node``, ``byTag``, ``in`` ...), which read what
  :mod:`~pyconsul.template.deps` names (one hashable dependency per
  distinct question) and build :mod:`~pyconsul.template.catalogvalues`'
  Go structs; :func:`render` puts the confd part together;
* confd's resources (:mod:`pyconsul.template.resource`): ``conf.d/*.toml``
  files naming a template, a destination and the keys it needs, and the logic
  that renders to a stage file, checks, replaces the destination atomically
  and reloads; and consul-template's ``-template in:out:command``
  (:mod:`~pyconsul.template.ctconfig`, :mod:`~pyconsul.template.ctrender`),
  with its own write semantics;
* running it against Consul: :mod:`~pyconsul.template.runconfig` (confd's
  options and confd.toml), :mod:`~pyconsul.template.consul` (reading KV
  prefixes and the catalog over HTTP, with the small client in
  :mod:`~pyconsul.template.httpclient`), :mod:`~pyconsul.template.watch`
  (one blocking query per dependency, with back-off),
  :mod:`~pyconsul.template.watchmode` (the watches every resource shares,
  and what each render reveals it reads),
  :mod:`~pyconsul.template.quiescence` (changes that come together become one
  render; ``-wait``), :mod:`~pyconsul.template.modes` (watch, interval, one-time),
  :mod:`~pyconsul.template.syncing` (batches for the sync thread),
  :mod:`~pyconsul.template.confdlog` (confd's log lines) and
  :mod:`~pyconsul.template.app` (the wiring; the only module that picks the
  reactor).

The first two layers are synchronous and fetch nothing from Consul: the caller
gets KV entries (``GET /v1/kv/<prefix>?recurse``) and the catalog's answers
(a brain: dependency -> answer) and hands them in; a render that asks for
something the brain lacks says so, and the caller fetches it and renders
again. Their only other outside effects (DNS for ``lookupIP``/``lookupSRV``,
the environment, the clock, check and reload commands) go through
injectable objects: :class:`World` and the runner of :class:`Processor`.
``Processor.sync`` blocks (file writes, commands), so the modes run it in a
thread, one batch at a time.
"""

from pyconsul.template.errors import (
    GoError,
    TemplateError,
    TemplateExecError,
    TemplateParseError,
)
from pyconsul.template.executor import Template
from pyconsul.template.functable import Func, FuncTable
from pyconsul.template.funcs import World, confd_funcs
from pyconsul.template.memkv import MemKV, entries_from_consul, store_from_kv
from pyconsul.template.resource import (
    CheckFailed,
    CommandResult,
    Processor,
    ReloadFailed,
    RenderError,
    ResourceConfigError,
    ResourceError,
    Settings,
    SubprocessRunner,
    SyncResult,
    TemplateResource,
    load_resource,
    load_resources,
    required_prefixes,
)
from pyconsul.template.values import NO_VALUE


def render(text, store, *, name="template", world=None, extra_funcs=None):
    """Render confd template ``text`` over ``store``; returns the output text.

    ``name`` is what error messages call the template (confd uses the file's
    base name). ``extra_funcs`` (a FuncTable) adds or overrides functions.
    Raises :class:`TemplateError`.
    """
    funcs = confd_funcs(store, world)
    if extra_funcs:
        funcs = funcs | extra_funcs
    return Template(name, text, funcs).execute(NO_VALUE)


__all__ = [
    "CheckFailed",
    "CommandResult",
    "Processor",
    "ReloadFailed",
    "RenderError",
    "ResourceConfigError",
    "ResourceError",
    "Settings",
    "SubprocessRunner",
    "SyncResult",
    "TemplateResource",
    "entries_from_consul",
    "load_resource",
    "load_resources",
    "required_prefixes",
    "Func",
    "FuncTable",
    "GoError",
    "MemKV",
    "NO_VALUE",
    "Template",
    "TemplateError",
    "TemplateExecError",
    "TemplateParseError",
    "World",
    "confd_funcs",
    "render",
    "store_from_kv",
]
