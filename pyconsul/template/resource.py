"""confd's template resources: what to render, where to, and how to apply it.

A resource is a TOML file in ``CONFDIR/conf.d``::

    [template]
    src = "nginx.tmpl"              # in CONFDIR/templates
    dest = "/etc/nginx/nginx.conf"
    keys = ["/nginx"]               # the KV paths the template reads
    prefix = "/production"          # optional; the template sees keys without it
    mode = "0644"                   # optional; else the existing file's, or 0644
    uid = 0                         # optional, as are gid and owner (a user name)
    check_cmd = "nginx -t -c {{.src}}"
    reload_cmd = "systemctl reload nginx"

Applying it (:meth:`Processor.sync`) follows confd: render to a stage file in
the destination's directory, compare it with the destination (content md5,
mode, owner), and if they differ run ``check_cmd`` on the stage file, rename it
over the destination, then run ``reload_cmd``. A failing check leaves the old
file in place. Commands go through an injected runner, so the logic is tested
without subprocesses; :class:`SubprocessRunner` is the real one.

Unlike confd, the new destination is also made durable (fsync) -- right after
the rename and before ``reload_cmd``, so that a program reading the file sees
the new contents at once and a reloaded one only ever reads what is on disk.
A power cut within the fraction of a millisecond between rename and fsync can
leave an empty destination only on a file system that does not write a
renamed file's data before the rename itself (ext4's default
``auto_da_alloc`` does); the renderer writes the file again when it starts.

For the code that fetches KV data: :attr:`TemplateResource.kv_prefixes` are the
prefixes to ``GET /v1/kv/<prefix>?recurse``; hand the entries (key -> value)
to :meth:`Processor.sync`, which says whether the file changed.

A template may also call consul-template's discovery functions (``service
"web"``, ``nodes`` ...), whose dependencies only its execution reveals: hand
``sync`` a brain (dependency -> raw answer) as well. A render that asked for
something the brain lacks writes nothing and says what was missing
(:attr:`SyncResult.missing`); fetch that and sync again.
"""

import errno
import glob
import hashlib
import os
import pwd
import signal
import stat
import subprocess
import tempfile
import tomllib

import attr
from twisted.logger import Logger

from pyconsul.golang import strconv
from pyconsul.template.deps import KVPrefix
from pyconsul.template.discovery import Recall, discovery_funcs
from pyconsul.template.errors import GoError, TemplateError
from pyconsul.template.executor import Template
from pyconsul.template.functable import FuncTable
from pyconsul.template.funcs import World, confd_funcs
from pyconsul.template.memkv import MemKV, fetch_paths, normalize_prefix, store_from_kv
from pyconsul.template.values import GoMap, NO_VALUE, to_bytes

log = Logger(namespace="pyconsul.template")

DEFAULT_MODE = 0o644


# -- errors ------------------------------------------------------------------


class ResourceError(Exception):
    """A resource could not be loaded or applied; ``str()`` is confd's message."""


class ResourceConfigError(ResourceError):
    """A conf.d TOML file is unreadable or wrong."""


class RenderError(ResourceError):
    """The template is missing or failed; ``template_error`` has the details,
    ``used`` the dependencies it asked for before it failed."""

    def __init__(self, message, template_error=None, used=frozenset()):
        super().__init__(message)
        self.template_error = template_error
        self.used = used


class CommandFailed(ResourceError):
    """check_cmd or reload_cmd failed; ``output`` is what it printed."""

    def __init__(self, message, command, output):
        super().__init__(message)
        self.command = command
        self.output = output


class CheckFailed(CommandFailed):
    """check_cmd rejected the staged file; the destination was not touched."""


class ReloadFailed(CommandFailed):
    """reload_cmd failed after the destination was replaced."""


# -- settings and resources -----------------------------------------------------


@attr.s(frozen=True, slots=True)
class Settings:
    """confd's global options (``-confdir``, ``-prefix``, ``-noop`` ...)."""

    confdir: str = attr.ib(default="/etc/confd")
    prefix: str = attr.ib(default="")  # overrides every resource's prefix if set
    noop: bool = attr.ib(default=False)
    sync_only: bool = attr.ib(default=False)  # never run check_cmd or reload_cmd
    keep_stage_file: bool = attr.ib(default=False)

    @property
    def conf_dir(self):
        return os.path.join(self.confdir, "conf.d")

    @property
    def templates_dir(self):
        return os.path.join(self.confdir, "templates")


@attr.s(frozen=True, slots=True)
class TemplateResource:
    """One parsed conf.d file."""

    path: str = attr.ib()  # the TOML file, for messages
    src: str = attr.ib()  # the template file
    dest: str = attr.ib()
    keys: tuple = attr.ib(converter=tuple, default=())
    prefix: str = attr.ib(default="/")
    mode: int = attr.ib(default=None)  # None: keep the destination's, or 0644
    uid: int = attr.ib(default=None)  # None: the effective uid
    gid: int = attr.ib(default=None)
    check_cmd: str = attr.ib(default="")
    reload_cmd: str = attr.ib(default="")

    @property
    def store_paths(self):
        """The key paths read, prefix included, with a leading slash."""
        return tuple(fetch_paths(self.prefix, self.keys))

    @property
    def kv_prefixes(self):
        """Prefixes for ``GET /v1/kv/<prefix>?recurse`` (no leading slash)."""
        return tuple(sorted({path.lstrip("/") for path in self.store_paths}))

    @property
    def deps(self):
        """What the resource reads whatever its template does: its KV prefixes."""
        return tuple(KVPrefix(prefix) for prefix in self.kv_prefixes)


def _config_error(path, message):
    return ResourceConfigError(f"Cannot process template resource {path} - {message}")


def _get(table, path, key, kind, default, kind_name):
    value = table.get(key, default)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise _config_error(path, f"template.{key} must be {kind_name}, not {value!r}")
    return value


def parse_mode(text):
    """confd's mode: strconv.ParseUint(mode, 0, 32), so "0644" is octal and
    "644" decimal; only the permission bits are applied."""
    return strconv.parse_uint(text, 0, 32) & 0o777


def load_resource(path, settings=Settings(), lookup_user=None):
    """Parse one conf.d TOML file. Raises ResourceConfigError."""
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except OSError as e:
        raise _config_error(path, e.strerror or str(e))
    except tomllib.TOMLDecodeError as e:
        raise _config_error(path, str(e))
    table = document.get("template")
    if not isinstance(table, dict):
        raise _config_error(path, "no [template] table")
    src = _get(table, path, "src", str, "", "a string")
    if src == "":
        raise _config_error(path, "empty src template")
    dest = _get(table, path, "dest", str, "", "a string")
    if dest == "":
        raise _config_error(path, "template.dest is missing")
    keys = _get(table, path, "keys", list, [], "a list of strings")
    if not all(isinstance(k, str) for k in keys):
        raise _config_error(path, "template.keys must be a list of strings")
    prefix = settings.prefix or _get(table, path, "prefix", str, "", "a string")
    mode_text = _get(table, path, "mode", str, "", 'a string such as "0644"')
    mode = None
    if mode_text:
        try:
            mode = parse_mode(mode_text)
        except GoError as e:
            raise _config_error(path, f"template.mode: {e}")
    uid = _get(table, path, "uid", int, -1, "an integer")
    gid = _get(table, path, "gid", int, -1, "an integer")
    owner = _get(table, path, "owner", str, "", "a user name")
    if owner and uid == -1:
        try:
            uid = (lookup_user or _lookup_user)(owner)
        except KeyError:
            raise _config_error(path, f"template.owner: unknown user {owner!r}")
    return TemplateResource(
        path=path,
        src=os.path.join(settings.templates_dir, src),
        dest=dest,
        keys=keys,
        prefix=normalize_prefix(prefix),
        mode=mode,
        uid=None if uid == -1 else uid,
        gid=None if gid == -1 else gid,
        check_cmd=_get(table, path, "check_cmd", str, "", "a string"),
        reload_cmd=_get(table, path, "reload_cmd", str, "", "a string"),
    )


def _lookup_user(name):
    if name.isdigit():
        return int(name)
    return pwd.getpwnam(name).pw_uid


def resource_files(settings):
    """The conf.d TOML files, searched recursively as confd does, sorted."""
    pattern = os.path.join(glob.escape(settings.conf_dir), "**", "*toml")
    return sorted(glob.glob(pattern, recursive=True))


def load_resources(settings, lookup_user=None):
    """Every resource under conf.d: ``(resources, errors)``; bad files are skipped."""
    resources, errors = [], []
    for path in resource_files(settings):
        try:
            resources.append(load_resource(path, settings, lookup_user))
        except ResourceConfigError as e:
            errors.append(e)
    return resources, errors


def required_prefixes(resources):
    """The distinct KV prefixes a set of resources reads (one watch each)."""
    return sorted({p for r in resources for p in r.kv_prefixes})


# -- commands ------------------------------------------------------------------


@attr.s(frozen=True, slots=True)
class CommandResult:
    """What a command did: ``error`` is None on success, else Go's wording
    (``exit status 1``, ``signal: killed``)."""

    output: bytes = attr.ib(default=b"")
    error: str = attr.ib(default=None)


class SubprocessRunner:
    """Runs commands with ``/bin/sh -c``, output and errors combined (blocking)."""

    def __init__(self, timeout=None):
        self.timeout = timeout

    def run(self, command):
        try:
            done = subprocess.run(
                ["/bin/sh", "-c", command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired as e:
            return CommandResult(e.output or b"", "signal: killed")
        except OSError as e:
            return CommandResult(b"", f"fork/exec /bin/sh: {e.strerror or e}")
        if done.returncode == 0:
            return CommandResult(done.stdout)
        if done.returncode < 0:
            name = signal.strsignal(-done.returncode) or f"signal {-done.returncode}"
            return CommandResult(done.stdout, "signal: " + name[0].lower() + name[1:])
        return CommandResult(done.stdout, f"exit status {done.returncode}")


# -- applying a resource ---------------------------------------------------------


@attr.s(frozen=True, slots=True)
class SyncResult:
    """The outcome of :meth:`Processor.sync`.

    ``changed``: the rendered file differed from the destination. ``written``:
    the destination was replaced (false in noop mode). ``stage_file``: the kept
    stage file, with ``keep_stage_file``, if it still exists.
    """

    @property
    def complete(self):
        return not self.missing

    resource: TemplateResource = attr.ib()
    changed: bool = attr.ib()
    written: bool = attr.ib()
    stage_file: str = attr.ib(default=None)
    # The dependencies the render asked for, and those the brain lacked (a
    # render that lacked any was not applied).
    used: frozenset = attr.ib(default=frozenset())
    missing: frozenset = attr.ib(default=frozenset())


@attr.s(frozen=True, slots=True)
class FileInfo:
    uid: int = attr.ib()
    gid: int = attr.ib()
    mode: int = attr.ib()
    md5: str = attr.ib()


def file_info(path):
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        digest = hashlib.md5()
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return FileInfo(st.st_uid, st.st_gid, st.st_mode, digest.hexdigest())


def staged_info(path, content):
    """The FileInfo of a stage file just written with ``content``."""
    st = os.stat(path)
    return FileInfo(st.st_uid, st.st_gid, st.st_mode, hashlib.md5(content).hexdigest())


def go_file_mode(st_mode):
    """Go's os.FileMode.String for a stat mode: -rw-r--r--, urwxr-xr-x ..."""
    prefix = ""
    if stat.S_ISDIR(st_mode):
        prefix += "d"
    if stat.S_ISLNK(st_mode):
        prefix += "L"
    if st_mode & stat.S_ISUID:
        prefix += "u"
    if st_mode & stat.S_ISGID:
        prefix += "g"
    if st_mode & stat.S_ISVTX:
        prefix += "t"
    perms = "".join(
        ch if st_mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx")
    )
    return (prefix or "-") + perms


class Processor:
    """Renders resources and applies them to the file system.

    ``runner`` runs check and reload commands (default: SubprocessRunner);
    ``world`` is what the template functions see (environment, DNS, clock);
    ``extra_funcs`` adds template functions (e.g. the catalog's). ``chown``,
    ``fsync`` and ``ids`` (``(euid, egid)``) are injectable for tests.
    """

    def __init__(
        self,
        settings=Settings(),
        runner=None,
        world=None,
        extra_funcs=None,
        logger=None,
        chown=os.chown,
        fsync=os.fsync,
        ids=None,
    ):
        self.settings = settings
        self.runner = runner if runner is not None else SubprocessRunner()
        self.world = world if world is not None else World()
        self.extra_funcs = extra_funcs or FuncTable()
        self.log = logger if logger is not None else log
        self.chown = chown
        self.fsync = fsync
        self.ids = ids if ids is not None else (os.geteuid(), os.getegid())
        self._templates = {}  # src path -> (file signature, Template)

    # -- rendering (no side effects) -------------------------------------------

    def _funcs(self, store, recall):
        return confd_funcs(store, self.world) | discovery_funcs(recall) | self.extra_funcs

    def _template(self, resource):
        self.log.debug("Using source template {src}", src=resource.src)
        try:
            with open(resource.src, "rb") as f:
                st = os.fstat(f.fileno())
                signature = (st.st_mtime_ns, st.st_size, st.st_ino)
                cached = self._templates.get(resource.src)
                if cached is not None and cached[0] == signature:
                    return cached[1]
                text = f.read().decode("utf-8", "surrogateescape")
        except FileNotFoundError:
            raise RenderError(f"Missing template: {resource.src}")
        except OSError as e:
            raise RenderError(f"Unable to process template {resource.src}, {e.strerror or e}")
        name = os.path.basename(resource.src)
        self.log.debug("Compiling source template {src}", src=resource.src)
        try:
            template = Template(name, text, self._funcs(MemKV(), Recall()))
        except TemplateError as e:
            raise RenderError(f"Unable to process template {resource.src}, {e}", e)
        self._templates[resource.src] = (signature, template)
        return template

    def render(self, resource, entries, brain=None):
        """The file contents (bytes) for ``resource`` over KV ``entries``.

        ``entries`` maps keys (with or without a leading slash) to values
        (bytes or str); only those under the resource's keys are used.
        """
        return self.execute(resource, entries, brain)[0]

    def execute(self, resource, entries, brain=None):
        """``(contents, recall)``: the rendered bytes, and what the template
        asked of ``brain`` (dependency -> raw answer) and found missing."""
        template = self._template(resource)
        store = store_from_kv(entries, resource.prefix, resource.keys)
        recall = Recall(brain)
        try:
            text = template.execute(NO_VALUE, self._funcs(store, recall))
        except TemplateError as e:
            raise RenderError(str(e), e, frozenset(recall.used))
        return to_bytes(text), recall

    # -- syncing ---------------------------------------------------------------------

    def _target_mode(self, resource):
        if resource.mode is not None:
            return resource.mode
        try:
            return os.stat(resource.dest).st_mode & 0o7777
        except FileNotFoundError:
            return DEFAULT_MODE
        except OSError as e:
            raise ResourceError(f"stat {resource.dest}: {e.strerror or e}")

    def _owner(self, resource):
        uid = resource.uid if resource.uid is not None else self.ids[0]
        gid = resource.gid if resource.gid is not None else self.ids[1]
        return uid, gid

    def _stage(self, resource, content, mode):
        """Write ``content`` to a new stage file next to the destination:
        its path and FileInfo."""
        directory = os.path.dirname(resource.dest) or "."
        try:
            fd, staged = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(resource.dest))
        except OSError as e:
            raise ResourceError(f"open {directory}: {e.strerror or e}")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            os.chmod(staged, mode)
        except OSError as e:
            _remove(staged)
            raise ResourceError(f"write {staged}: {e.strerror or e}")
        # Like confd, an owner we may not set is not an error (the comparison
        # below then keeps reporting the difference).
        uid, gid = self._owner(resource)
        try:
            self.chown(staged, uid, gid)
        except OSError:
            pass
        try:
            return staged, staged_info(staged, content)
        except OSError as e:
            _remove(staged)
            raise ResourceError(f"stat {staged}: {e.strerror or e}")

    def is_config_changed(self, wanted, dest):
        """Compare the stage file's FileInfo with the destination, logging
        each difference as confd."""
        try:
            current = file_info(dest)
        except FileNotFoundError:
            return True
        except OSError as e:
            self.log.error("{error}", error=str(e))
            return True
        if current.uid != wanted.uid:
            self.log.info("{dest} has UID {current} should be {wanted}", dest=dest, current=current.uid, wanted=wanted.uid)
        if current.gid != wanted.gid:
            self.log.info("{dest} has GID {current} should be {wanted}", dest=dest, current=current.gid, wanted=wanted.gid)
        if current.mode != wanted.mode:
            self.log.info(
                "{dest} has mode {current} should be {wanted}",
                dest=dest,
                current=go_file_mode(current.mode),
                wanted=go_file_mode(wanted.mode),
            )
        if current.md5 != wanted.md5:
            self.log.info("{dest} has md5sum {current} should be {wanted}", dest=dest, current=current.md5, wanted=wanted.md5)
        return current != wanted

    def _run(self, command):
        self.log.debug("Running {command}", command=command)
        result = self.runner.run(command)
        quoted = strconv.quote(result.output.decode("utf-8", "surrogateescape"))
        if result.error is not None:
            self.log.error("{output}", output=quoted, command=command)
        else:
            self.log.debug("{output}", output=quoted, command=command)
        return result

    def _check(self, resource, staged):
        """Run check_cmd with {{.src}} standing for the stage file."""
        try:
            command = Template("checkcmd", resource.check_cmd).execute(GoMap({"src": staged}))
        except TemplateError as e:
            raise CheckFailed(f"Config check failed: {e}", resource.check_cmd, b"")
        result = self._run(command)
        if result.error is not None:
            raise CheckFailed(f"Config check failed: {result.error}", command, result.output)

    def _replace(self, resource, staged, mode):
        try:
            os.replace(staged, resource.dest)
            return
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise ResourceError(f"rename {staged} {resource.dest}: {e.strerror or e}")
        # The destination is a mount point (a bind-mounted file): write in place.
        self.log.debug("Rename failed - target is likely a mount. Trying to write instead")
        try:
            with open(staged, "rb") as f:
                content = f.read()
            with open(resource.dest, "wb") as f:
                f.write(content)
            os.chmod(resource.dest, mode)
        except OSError as e:
            raise ResourceError(f"write {resource.dest}: {e.strerror or e}")
        try:
            self.chown(resource.dest, *self._owner(resource))
        except OSError:
            pass

    def _make_durable(self, resource):
        try:
            fd = os.open(resource.dest, os.O_RDONLY)
            try:
                self.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise ResourceError(f"sync {resource.dest}: {e.strerror or e}")

    def sync(self, resource, entries, brain=None):
        """Render ``resource`` over ``entries`` (and the discovery functions
        over ``brain``) and bring its destination up to date.

        Returns a :class:`SyncResult`; raises :class:`ResourceError` (the
        destination is left as it was unless the error is a ReloadFailed).
        A render that lacked data changes nothing: its result lists what.
        """
        mode = self._target_mode(resource)
        content, recall = self.execute(resource, entries, brain)
        used = frozenset(recall.used)
        if recall.missing:
            self.log.debug("Waiting for {count} dependencies of {resource}",
                           count=len(recall.missing), resource=resource.path)
            return SyncResult(resource, False, False, used=used, missing=frozenset(recall.missing))
        result = self._apply(resource, content, mode)
        return attr.evolve(result, used=used)

    def _apply(self, resource, content, mode):
        staged, wanted = self._stage(resource, content, mode)
        keep = self.settings.keep_stage_file
        if keep:
            self.log.info("Keeping staged file: {staged}", staged=staged)
        try:
            self.log.debug("Comparing candidate config to {dest}", dest=resource.dest)
            changed = self.is_config_changed(wanted, resource.dest)
            if self.settings.noop:
                self.log.warn("Noop mode enabled. {dest} will not be modified", dest=resource.dest)
                return SyncResult(resource, changed, False, staged if keep else None)
            if not changed:
                self.log.debug("Target config {dest} in sync", dest=resource.dest)
                return SyncResult(resource, False, False, staged if keep else None)
            self.log.info("Target config {dest} out of sync", dest=resource.dest)
            if not self.settings.sync_only and resource.check_cmd:
                self._check(resource, staged)
            self.log.debug("Overwriting target config {dest}", dest=resource.dest)
            self._replace(resource, staged, mode)
            self._make_durable(resource)
            if not self.settings.sync_only and resource.reload_cmd:
                result = self._run(resource.reload_cmd)
                if result.error is not None:
                    raise ReloadFailed(result.error, resource.reload_cmd, result.output)
            self.log.info("Target config {dest} has been updated", dest=resource.dest)
            return SyncResult(resource, True, True, None)
        finally:
            if not keep:
                _remove(staged)

    def sync_all(self, resources, entries):
        """confd's one pass: sync every resource, logging (not raising) errors.

        Returns ``(results, errors)``; ``-onetime`` exits 1 if errors is non-empty.
        """
        results, errors = [], []
        for resource in resources:
            try:
                results.append(self.sync(resource, entries))
            except ResourceError as e:
                self.log.error("{error}", error=str(e), resource=resource.path)
                errors.append(e)
        return results, errors


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
