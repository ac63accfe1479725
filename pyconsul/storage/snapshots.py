"""State machine snapshots on disk.

A snapshot file is ``MAGIC``, a length-prefixed msgpack header (index, term,
configuration), the state machine's own bytes, and a SHA-256 of everything
before it. Files are written under a temporary name, fsynced and renamed, so
a crash leaves either the old snapshot or the new one, never half of one.
"""

import hashlib
import io
import os
import struct

import msgpack
from pyconsul.logs import Logger

from pyconsul.storage.sqlite import pack_snapshot_meta, unpack_snapshot_meta

MAGIC = b"PYCSNAP1"
DIGEST_SIZE = 32
RETAIN = 2  # as Consul: the newest two snapshots are kept


class _HashingWriter:
    def __init__(self, fileobj):
        self._file = fileobj
        self.hash = hashlib.sha256()

    def write(self, data):
        self.hash.update(data)
        return self._file.write(data)


class FileSnapshotStore:
    log = Logger()

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    def _names(self):
        return sorted(n for n in os.listdir(self.directory) if n.endswith(".snap"))

    def save(self, meta, blob_writer):
        """Write a snapshot; ``blob_writer(fileobj)`` writes the state's bytes.

        Runs in a worker thread: it only touches files.
        """
        name = "snapshot-%020d-%d.snap" % (meta.index, meta.term)
        final = os.path.join(self.directory, name)
        temporary = final + ".tmp"
        with open(temporary, "wb") as f:
            writer = _HashingWriter(f)
            header = pack_snapshot_meta(meta)
            writer.write(MAGIC + struct.pack(">I", len(header)) + header)
            blob_writer(writer)
            f.write(writer.hash.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, final)
        self._sync_directory()
        for old in self._names()[:-RETAIN]:
            os.unlink(os.path.join(self.directory, old))

    def _sync_directory(self):
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def latest(self):
        """(meta, binary file object) of the newest intact snapshot, or None."""
        for name in reversed(self._names()):
            path = os.path.join(self.directory, name)
            with open(path, "rb") as f:
                data = f.read()
            body, digest = data[:-DIGEST_SIZE], data[-DIGEST_SIZE:]
            if not body.startswith(MAGIC) or hashlib.sha256(body).digest() != digest:
                self.log.error("Snapshot {path} is damaged; trying an older one", path=path)
                continue
            (length,) = struct.unpack(">I", body[len(MAGIC) : len(MAGIC) + 4])
            start = len(MAGIC) + 4
            meta = unpack_snapshot_meta(body[start : start + length])
            return meta, io.BytesIO(body[start + length :])
        return None


def pack_records(records, fileobj, chunk=1024):
    """Stream msgpack-able ``records`` into ``fileobj``."""
    packer = msgpack.Packer()
    buffer = []
    for record in records:
        buffer.append(packer.pack(record))
        if len(buffer) >= chunk:
            fileobj.write(b"".join(buffer))
            buffer = []
    if buffer:
        fileobj.write(b"".join(buffer))


def unpack_records(fileobj):
    return msgpack.Unpacker(fileobj, raw=False, max_buffer_size=64 * 1024 * 1024)
