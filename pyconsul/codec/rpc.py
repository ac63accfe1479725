"""The server RPC wire: requests and replies between agents <-> bytes.

A request is ``{"Seq", "Method", "Args"}`` and a reply ``{"Seq", "Error",
"ErrorKind", "Result"}``, each one msgpack map in a length-prefixed frame
(the same framing as the Raft wire). Arguments and results are the plain
dicts the endpoints use; KV entries travel as a msgpack extension so the
receiver gets ``DirEntry`` objects back.
"""

import msgpack

from pyconsul.codec import raft as _raft
from pyconsul.state.kv import DirEntry

# The same framing and error type as the Raft wire.
LENGTH = _raft.LENGTH
FrameReader = _raft.FrameReader
CodecError = _raft.CodecError

DIR_ENTRY = 1


def _default(value):
    if isinstance(value, DirEntry):
        fields = [value.key, value.value, value.flags, value.create_index,
                  value.modify_index, value.lock_index, value.session]
        return msgpack.ExtType(DIR_ENTRY, msgpack.packb(fields, use_bin_type=True))
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError("cannot send %r over RPC" % (type(value).__name__,))


def _ext_hook(code, data):
    if code != DIR_ENTRY:
        raise CodecError("unknown RPC extension type %d" % code)
    fields = msgpack.unpackb(data, raw=False)
    if type(fields) is not list or len(fields) != 7:
        raise CodecError("malformed KV entry")
    key, value, flags, create, modify, lock, session = fields
    if type(key) is not str or not (value is None or type(value) is bytes):
        raise CodecError("malformed KV entry")
    for number in (flags, create, modify, lock):
        if type(number) is not int or number < 0:
            raise CodecError("malformed KV entry")
    return DirEntry(key, value, flags, create, modify, lock, session)


def encode(message):
    return msgpack.packb(message, default=_default, use_bin_type=True)


def frame(message):
    body = encode(message)
    return LENGTH.pack(len(body)) + body


def decode(data, required):
    """A dict with at least the ``required`` keys; CodecError otherwise."""
    try:
        message = msgpack.unpackb(data, raw=False, ext_hook=_ext_hook, strict_map_key=True)
    except CodecError:
        raise
    except Exception as e:
        raise CodecError("undecodable RPC frame: %s" % e)
    if type(message) is not dict or not all(k in message for k in required):
        raise CodecError("malformed RPC frame")
    return message


def decode_request(data):
    message = decode(data, ("Seq", "Method", "Args"))
    if type(message["Seq"]) is not int or type(message["Method"]) is not str:
        raise CodecError("malformed RPC request")
    if type(message["Args"]) is not dict:
        raise CodecError("RPC arguments must be a map")
    return message


def decode_reply(data):
    message = decode(data, ("Seq",))
    if type(message["Seq"]) is not int:
        raise CodecError("malformed RPC reply")
    return message
