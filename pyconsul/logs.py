"""Structured logging with the agent's ``log_level``.

pyconsul's modules log through this ``Logger``; events below the configured
level are dropped before they are formatted, so debug logging costs nothing
when it is off.
"""

from twisted.logger import LogLevel, Logger as TwistedLogger

_ORDER = [LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical]
_BY_NAME = {
    "trace": LogLevel.debug,
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "error": LogLevel.error,
}
_minimum = 1  # index into _ORDER: info


def set_level(name):
    global _minimum
    _minimum = _ORDER.index(_BY_NAME[name])


def enabled(level):
    return _ORDER.index(level) >= _minimum


class Logger(TwistedLogger):
    def emit(self, level, format=None, **kwargs):
        if _ORDER.index(level) >= _minimum:
            super().emit(level, format, **kwargs)
