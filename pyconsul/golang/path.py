"""Go's ``path`` package: slash-separated paths (KV keys, lock prefixes).

``Clean``, ``Base``, ``Dir`` and ``Join`` give confd's ``base``/``dir``
functions and its key handling; ``Match`` is the glob syntax of ``gets`` and
``getvs`` (``*`` and ``?`` never cross a ``/``, ``[^a-z]`` negates a class, and
a malformed pattern is an error even when nothing would have matched).
"""

from pyconsul.golang.errors import GoError


class BadPattern(GoError):
    def __init__(self):
        super().__init__("syntax error in pattern")


def clean(path):
    """path.Clean: the shortest equivalent path, '.' for an empty one."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(segment)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def join(*elements):
    """path.Join: join the non-empty elements with '/' and clean the result."""
    present = [e for e in elements if e]
    if not present:
        return ""
    return clean("/".join(present))


def split(path):
    i = path.rfind("/")
    return path[: i + 1], path[i + 1 :]


def base(path):
    """path.Base: the last element, '/' for the root and '.' for ''."""
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path[path.rfind("/") + 1 :]


def dir(path):
    """path.Dir: everything but the last element, cleaned."""
    return clean(split(path)[0])


# -- Match -----------------------------------------------------------------


def _scan_chunk(pattern):
    """Split off leading stars and the chunk up to the next star outside [...]."""
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif c == "[":
            in_range = True
        elif c == "]":
            in_range = False
        elif c == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _get_escaped(chunk):
    """One (possibly backslash-escaped) character of a [...] class."""
    if not chunk or chunk[0] in "-]":
        raise BadPattern()
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern()
    r, chunk = chunk[0], chunk[1:]
    if not chunk:
        raise BadPattern()
    return r, chunk


def _match_chunk(chunk, s):
    """Match ``chunk`` at the start of ``s``; returns the rest of ``s`` or None.

    Like Go since 1.16 the whole chunk is checked for syntax even after a
    mismatch, so a bad pattern always raises.
    """
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        c = chunk[0]
        if c == "[":
            r = None
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = False
            if chunk.startswith("^"):
                negated = True
                chunk = chunk[1:]
            matched = False
            n_ranges = 0
            while True:
                if chunk.startswith("]") and n_ranges > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_escaped(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_escaped(chunk[1:])
                if r is not None and lo <= r <= hi:
                    matched = True
                n_ranges += 1
            if matched == negated:
                failed = True
        elif c == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if c == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern()
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    return None if failed else s


def match(pattern, name):
    """path.Match: does ``name`` match the shell pattern? Raises BadPattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and chunk == "":
            # A trailing star matches the rest unless it contains a '/'.
            return "/" not in name
        rest = _match_chunk(chunk, name)
        if rest is not None and (rest == "" or pattern):
            name = rest
            continue
        if star:
            found = False
            for i in range(len(name)):
                if name[i] == "/":
                    break
                rest = _match_chunk(chunk, name[i + 1 :])
                if rest is not None:
                    if not pattern and rest:
                        continue
                    name = rest
                    found = True
                    break
            if found:
                continue
        # No match; still report a malformed remainder of the pattern.
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return name == ""
