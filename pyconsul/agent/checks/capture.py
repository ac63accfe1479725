"""Check output as Consul captures and caps it.

Script and HTTP checks write into a circular buffer (``circbuf``) of
``output_max_size`` bytes: what is kept is the *end* of the output, and a
script's output says how much was dropped. TTL updates are cut instead,
keeping the start. Output is bytes; it becomes a Go string (a ``str`` with
undecodable bytes as surrogates) only when shown.
"""


def go_string(data):
    return data.decode("utf-8", "surrogateescape")


class OutputCapture:
    """circbuf.Buffer: the last ``size`` bytes written, and how many were written."""

    def __init__(self, size):
        self.size = size
        self.total = 0
        self._kept = bytearray()

    def write(self, data):
        self.total += len(data)
        if len(data) >= self.size:
            self._kept[:] = data[len(data) - self.size:]
        else:
            self._kept += data
            overflow = len(self._kept) - self.size
            if overflow > 0:
                del self._kept[:overflow]

    def text(self):
        return go_string(bytes(self._kept))

    def script_output(self):
        """What a script check reports: the kept end, after a note of what was dropped."""
        text = self.text()
        if self.total > self.size:
            return "Captured %d of %d bytes\n...\n%s" % (self.size, self.total, text)
        return text


def cap_update(output, limit):
    """A TTL update's output, cut to ``limit`` bytes as CheckTTL.SetStatus cuts it."""
    data = output.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return output
    return "%s ... (captured %d of %d bytes)" % (go_string(data[:limit]), limit, len(data))
