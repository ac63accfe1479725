"""Reading a request the way Consul's Go HTTP server reads it.

The path is percent-decoded (a ``%2F`` in a key is a slash), then cleaned as
Go's ServeMux cleans it: a path with ``//``, ``/./`` or ``/../`` is answered
with a redirect to its clean form. Query parameters follow Go's url.Values:
names are case-sensitive, a repeated parameter's first value counts, and
flags such as ``?recurse`` mean true whatever their value.
"""

import posixpath
from urllib.parse import quote, quote_plus

import attr

from pyconsul.golang import duration, strconv


class BadRequest(Exception):
    """Answered with 400 and the message as the body."""


def _unescape(raw, plus_is_space):
    """Percent-decode bytes strictly: a bad escape is an error, not data."""
    if plus_is_space:
        raw = raw.replace(b"+", b" ")
    if b"%" not in raw:  # the common case, without a loop over every byte
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("Invalid request: the URL is not valid UTF-8")
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x25:  # "%"
            pair = raw[i + 1 : i + 3]
            try:
                if len(pair) != 2:
                    raise ValueError
                out.append(int(pair, 16))
            except ValueError:
                raise BadRequest("Invalid URL escape %r" % raw[i : i + 3].decode("latin-1"))
            i += 3
        else:
            out.append(byte)
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Invalid request: the URL is not valid UTF-8")


def split_uri(uri):
    """(raw path, raw query) of a request URI, both bytes."""
    path, _, query = uri.partition(b"?")
    return path, query


def decode_path(raw_path):
    return _unescape(raw_path, plus_is_space=False)


def clean_path(path):
    """Go's ServeMux path cleaning: path.Clean, keeping a trailing slash."""
    if not path.startswith("/"):
        path = "/" + path
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def redirect_location(path, raw_query):
    location = quote(path, safe="/:@!$&'()*+,;=-._~")
    if raw_query:
        location += "?" + raw_query.decode("latin-1")
    return location


class QueryParams:
    """Go's url.Values, parsed from the raw query string."""

    def __init__(self, raw_query=b""):
        self._values = {}
        for part in raw_query.split(b"&"):
            if not part:
                continue
            name, _, value = part.partition(b"=")
            name = _unescape(name, plus_is_space=True)
            self._values.setdefault(name, []).append(_unescape(value, plus_is_space=True))

    def has(self, name):
        return name in self._values

    def get(self, name, default=None):
        values = self._values.get(name)
        return values[0] if values else default

    def get_all(self, name):
        """Every value of a repeated parameter (``?tag=a&tag=b``), in order."""
        return list(self._values.get(name, ()))

    def encode(self):
        """Go's Values.Encode: sorted by name, every value, query-escaped."""
        return "&".join(
            "%s=%s" % (quote_plus(name, safe=""), quote_plus(value, safe=""))
            for name in sorted(self._values)
            for value in self._values[name]
        )


@attr.s(frozen=True, slots=True)
class QueryOptions:
    """The parameters every read understands."""

    datacenter: str | None = attr.ib(default=None)
    consistency: str = attr.ib(default="default")  # default | stale | consistent
    min_index: int = attr.ib(default=0)
    wait: float | None = attr.ib(default=None)
    token: str | None = attr.ib(default=None)

    def as_rpc(self):
        return {
            "MinQueryIndex": self.min_index,
            "MaxQueryTime": self.wait,
            "AllowStale": self.consistency == "stale",
            "RequireConsistent": self.consistency == "consistent",
        }


# The Enterprise tenancy selectors, as (header, query parameter, feature).
# Consul's open-source edition refuses them on every endpoint that would
# honour them, rather than ignore them: a client that believes it wrote into
# a namespace must learn that it did not.
NAMESPACE = ("X-Consul-Namespace", "ns", "Namespaces")
PARTITION = ("X-Consul-Partition", "partition", "Partitions")


def refuse_enterprise(request, params, selectors):
    """BadRequest, with Consul's words, for the first selector the request sets."""
    for header, name, feature in selectors:
        if request.getHeader(header):
            where = 'header: "%s"' % header
        elif params.get(name):
            where = 'query parameter: "%s"' % name
        else:
            continue
        raise BadRequest("Bad request: Invalid %s - %s are a Consul Enterprise feature" % (where, feature))


def request_token(request, params):
    """X-Consul-Token, then Authorization: Bearer, then the old ?token=."""
    header = request.getHeader(b"x-consul-token")
    if header:
        return header.decode("utf-8", "replace")
    authorization = request.getHeader(b"authorization") or b""
    if authorization[:7].lower() == b"bearer ":
        return authorization[7:].strip().decode("utf-8", "replace")
    return params.get("token")


def parse_wait(params):
    """Consul's parseWait: ``(min_index, wait in seconds or None)`` from
    ``?index`` and ``?wait``; a malformed one is a BadRequest."""
    wait = None
    if params.get("wait"):
        try:
            wait = duration.parse_duration(params.get("wait")) / duration.SECOND
        except duration.DurationError:
            raise BadRequest("Invalid wait time")
    min_index = 0
    if params.get("index"):
        try:
            min_index = strconv.parse_uint(params.get("index"), base=10)
        except strconv.NumError:
            raise BadRequest("Invalid index")
    return min_index, wait


def parse_query_options(request, params):
    """The common read parameters, in the order Consul checks them."""
    min_index, wait = parse_wait(params)
    stale, consistent = params.has("stale"), params.has("consistent")
    if stale and consistent:
        raise BadRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
    return QueryOptions(
        datacenter=params.get("dc") or None,
        consistency="stale" if stale else "consistent" if consistent else "default",
        min_index=min_index,
        wait=wait,
        token=request_token(request, params),
    )
