"""Log lines as confd writes them.

confd's lines look like ``2013-11-03T19:04:54-08:00 host confd[21356]: INFO
Target config /tmp/myconf2.conf out of sync`` -- an RFC 3339 time, the host
name, the program and its pid, the level in capitals, the message. People
grep for these, so :class:`ConfdLogObserver` writes the renderer's
twisted.logger events the same way (with ``pyconsul`` as the program).

Levels are logrus's, as confd's ``-log-level`` takes them: ``debug``,
``info`` (the default), ``warn``/``warning``, ``error`` (or consul-template's
``err``), ``fatal``/``panic``.
Events from Twisted itself ("Starting factory ...") are shown only at
``debug`` or when they are warnings or worse.
"""

import datetime
import os
import socket
import time

from twisted.logger import LogLevel, formatEvent

_THRESHOLDS = {
    "trace": LogLevel.debug,
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "warning": LogLevel.warn,
    "error": LogLevel.error,
    "err": LogLevel.error,  # consul-template's name for it
    "fatal": LogLevel.critical,
    "panic": LogLevel.critical,
}
_ORDER = [LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical]
_NAMES = {
    LogLevel.debug: "DEBUG",
    LogLevel.info: "INFO",
    LogLevel.warn: "WARNING",
    LogLevel.error: "ERROR",
    LogLevel.critical: "FATAL",
}
OWN_NAMESPACE = "pyconsul"


def rfc3339(seconds):
    """Go's time.RFC3339 in local time: 2013-11-03T19:04:54-08:00, or ...Z in UTC."""
    moment = datetime.datetime.fromtimestamp(seconds).astimezone()
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ConfdLogObserver:
    """A twisted.logger observer writing confd-style lines to a byte stream."""

    def __init__(self, stream, level="info", tag="pyconsul", hostname=None, pid=None):
        self.stream = stream
        self.threshold = _ORDER.index(_THRESHOLDS[level.lower()])
        self.debugging = self.threshold == 0
        self.tag = tag
        self.hostname = hostname if hostname is not None else socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()

    def wants(self, event):
        level = event.get("log_level", LogLevel.info)
        rank = _ORDER.index(level)
        if rank < self.threshold:
            return False
        own = (event.get("log_namespace") or "").startswith(OWN_NAMESPACE)
        return own or self.debugging or level in (LogLevel.warn, LogLevel.error, LogLevel.critical)

    def __call__(self, event):
        if not self.wants(event):
            return
        text = formatEvent(event)
        failure = event.get("log_failure")
        if failure is not None:
            text += "\n" + failure.getTraceback().rstrip("\n")
        level = _NAMES[event.get("log_level", LogLevel.info)]
        stamp = rfc3339(event.get("log_time", time.time()))
        line = f"{stamp} {self.hostname} {self.tag}[{self.pid}]: {level} {text}\n"
        self.stream.write(line.encode("utf-8", "replace"))
        self.stream.flush()
