"""The KV calls of Go's ``api`` package: what the consul CLI asks and how it
reads the answers.

* reads: 200 is an answer, 404 means "nothing there" (``None`` or an empty
  list), any other status is an ``UnexpectedStatus`` error;
* writes: only 200 is accepted, and its body says whether the write happened
  (``true``/``false``); a key starting with ``/`` is refused before any request.
"""

import base64
import json
from dataclasses import dataclass

from pyconsul.cli.http import ApiError, UnexpectedStatus

KV_PREFIX = "/v1/kv/"


@dataclass
class KVPair:
    key: str
    create_index: int = 0
    modify_index: int = 0
    lock_index: int = 0
    flags: int = 0
    value: bytes = b""
    session: str = ""
    namespace: str = ""

    @classmethod
    def from_json(cls, item):
        value = item.get("Value")
        return cls(
            key=item.get("Key") or "",
            create_index=item.get("CreateIndex") or 0,
            modify_index=item.get("ModifyIndex") or 0,
            lock_index=item.get("LockIndex") or 0,
            flags=item.get("Flags") or 0,
            value=base64.b64decode(value) if value else b"",
            session=item.get("Session") or "",
            namespace=item.get("Namespace") or "",
        )


class InvalidKey(ApiError):
    pass


class KV:
    def __init__(self, client):
        self.client = client

    # ---------------------------------------------------------------- reads

    def _read(self, key, params, stale):
        params = dict(params)
        if stale:
            params["stale"] = ""
        response = self.client.request("GET", KV_PREFIX + key, params)
        if response.status == 404:
            return None
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        try:
            return json.loads(response.body)
        except ValueError as error:
            raise ApiError("the agent's answer is not valid JSON: %s" % error) from None

    def get(self, key, stale=False):
        """The pair at key, or None."""
        items = self._read(key, {}, stale)
        return KVPair.from_json(items[0]) if items else None

    def list(self, prefix, stale=False):
        """Every pair whose key starts with prefix, in key order."""
        items = self._read(prefix, {"recurse": ""}, stale)
        return [KVPair.from_json(item) for item in items or ()]

    def keys(self, prefix, separator="", stale=False):
        """Key names under prefix, folded at the first separator after it."""
        params = {"keys": ""}
        if separator:
            params["separator"] = separator
        return list(self._read(prefix, params, stale) or ())

    # --------------------------------------------------------------- writes

    def _write(self, method, key, params, body=None):
        headers = [("Content-Type", "application/octet-stream")] if body is not None else []
        response = self.client.request(method, KV_PREFIX + key, params, body, headers)
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        return b"true" in response.body

    def put(self, pair, cas=False, acquire=False, release=False):
        """Write pair.value (and flags); True if the agent applied the write.

        With ``cas`` the write only happens if the key's ModifyIndex is
        pair.modify_index (0: only if the key does not exist).
        """
        if pair.key.startswith("/"):
            raise InvalidKey("Invalid key. Key must not begin with a '/': %s" % pair.key)
        params = {}
        if pair.flags:
            params["flags"] = str(pair.flags)
        if cas:
            params["cas"] = str(pair.modify_index)
        if acquire:
            params["acquire"] = pair.session
        if release:
            params["release"] = pair.session
        if pair.namespace:
            params["ns"] = pair.namespace
        return self._write("PUT", pair.key, params, pair.value)

    def delete(self, key, cas_index=None):
        """Delete one key (only at ModifyIndex cas_index, when given)."""
        params = {} if cas_index is None else {"cas": str(cas_index)}
        return self._write("DELETE", key, params)

    def delete_tree(self, prefix):
        """Delete every key starting with prefix."""
        return self._write("DELETE", prefix, {"recurse": ""})
