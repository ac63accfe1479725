"""Writing answers the way Consul writes them."""

import base64

from pyconsul.golang import json as go_json

ERROR_CONTENT_TYPE = b"text/plain; charset=utf-8"


def set_common_headers(request, translate_wan_addrs=False):
    request.setHeader(b"vary", b"Accept-Encoding")
    # ACLs are not enforced yet: every request is allowed.
    request.setHeader(b"x-consul-default-acl-policy", b"allow")
    if translate_wan_addrs:
        request.setHeader(b"x-consul-translate-addresses", b"true")


def set_query_meta(request, reply):
    """The headers every read answers (py-consul insists on X-Consul-Index)."""
    request.setHeader(b"x-consul-index", b"%d" % reply["Index"])
    request.setHeader(b"x-consul-knownleader", b"true" if reply["KnownLeader"] else b"false")
    request.setHeader(b"x-consul-lastcontact", b"%d" % reply["LastContact"])
    request.setHeader(b"x-consul-query-backend", b"blocking-query")


def json_body(request, value, pretty=False):
    """Go's json.Marshal bytes (MarshalIndent with four spaces for ?pretty), as
    clients that compare bodies byte for byte expect."""
    request.setHeader(b"content-type", b"application/json")
    text = go_json.marshal_indent(value, "    ") if pretty else go_json.marshal(value)
    return text.encode("utf-8")


class RenderCache:
    """The JSON of recent answers, by the reply they rendered.

    Replies that are one object for many requests (a read shared by many
    watchers, an answer the server keeps until its views change) are
    rendered once. Entries hold their reply, so an identity is never reused
    while it is a key.
    """

    def __init__(self, size=1024):
        self.size = size
        self._entries = {}

    def body(self, kind, pretty, payload, render):
        key = (kind, pretty, id(payload))
        cached = self._entries.get(key)
        if cached is not None and cached[0] is payload:
            return cached[1]
        body = render()
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (payload, body)
        return body


def error_body(request, status, message):
    request.setResponseCode(status)
    request.setHeader(b"content-type", ERROR_CONTENT_TYPE)
    return message.encode("utf-8")


def empty_body(request, status):
    request.setResponseCode(status)
    request.defaultContentType = None
    return b""


def dir_entry_json(entry):
    """A KV entry as Consul's DirEntry: Value in base64, Session only if held."""
    out = {
        "LockIndex": entry.lock_index,
        "Key": entry.key,
        "Flags": entry.flags,
        "Value": None if entry.value is None else base64.b64encode(entry.value).decode("ascii"),
    }
    if entry.session:
        out["Session"] = entry.session
    out["CreateIndex"] = entry.create_index
    out["ModifyIndex"] = entry.modify_index
    return out
