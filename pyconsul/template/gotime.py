"""Go's ``time.Time`` for confd's ``datetime`` function.

``{{datetime}}`` prints like Go (``2024-05-01 12:00:00.5 +0000 UTC``) and its
methods work in templates, most usefully ``Format`` with Go's reference-time
layouts: ``{{(datetime).Format "2006-01-02T15:04:05Z07:00"}}``.

The time comes from an injected clock, so templates render deterministically
in tests. Go's monotonic clock reading (``m=+0.0001``), which ``time.Now``
values print, is not reproduced.
"""

import time

from pyconsul.template.functable import Func
from pyconsul.template.values import STRING, GoStruct

_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


class Month(int):
    """time.Month: an int that prints as its name."""

    go_type = "time.Month"

    def go_string(self):
        return _MONTHS[self - 1] if 1 <= self <= 12 else f"%!Month({int(self)})"


class Weekday(int):
    go_type = "time.Weekday"

    def go_string(self):
        return _DAYS[self] if 0 <= self <= 6 else f"%!Weekday({int(self)})"


def local_zone(seconds):
    """(offset seconds, zone abbreviation) of the local time zone at ``seconds``."""
    t = time.localtime(seconds)
    return t.tm_gmtoff, t.tm_zone


class GoTime(GoStruct):
    """An instant with a zone offset: ``seconds`` and ``nanos`` since the epoch."""

    go_type = "time.Time"
    go_fields = ()

    def __init__(self, unix_nanos, offset=0, zone="UTC"):
        self.unix_nanos = unix_nanos
        self.offset = offset
        self.zone = zone

    def __eq__(self, other):
        return isinstance(other, GoTime) and (self.unix_nanos, self.offset) == (
            other.unix_nanos,
            other.offset,
        )

    def __hash__(self):
        return hash(self.unix_nanos)

    @classmethod
    def now(cls, clock=time.time_ns, zone=local_zone):
        nanos = clock()
        offset, name = zone(nanos // 1_000_000_000)
        return cls(nanos, offset, name)

    # -- calendar fields ---------------------------------------------------

    def _fields(self):
        seconds, nanos = divmod(self.unix_nanos, 1_000_000_000)
        t = time.gmtime(seconds + self.offset)
        return t, nanos

    def go_string(self):
        return self.format("2006-01-02 15:04:05.999999999 -0700 MST")

    def format(self, layout):
        t, nanos = self._fields()
        return _format(layout, t, nanos, self.offset, self.zone)

    def year(self):
        return self._fields()[0].tm_year

    def month(self):
        return Month(self._fields()[0].tm_mon)

    def day(self):
        return self._fields()[0].tm_mday

    def hour(self):
        return self._fields()[0].tm_hour

    def minute(self):
        return self._fields()[0].tm_min

    def second(self):
        return self._fields()[0].tm_sec

    def nanosecond(self):
        return self._fields()[1]

    def weekday(self):
        return Weekday((self._fields()[0].tm_wday + 1) % 7)

    def year_day(self):
        return self._fields()[0].tm_yday

    def unix(self):
        return self.unix_nanos // 1_000_000_000

    def in_zone(self, offset, zone):
        return GoTime(self.unix_nanos, offset, zone)


GoTime.go_methods = {
    "Format": Func(GoTime.format, (STRING,)),
    "String": Func(GoTime.go_string),
    "Year": Func(GoTime.year),
    "Month": Func(GoTime.month),
    "Day": Func(GoTime.day),
    "Hour": Func(GoTime.hour),
    "Minute": Func(GoTime.minute),
    "Second": Func(GoTime.second),
    "Nanosecond": Func(GoTime.nanosecond),
    "Weekday": Func(GoTime.weekday),
    "YearDay": Func(GoTime.year_day),
    "Unix": Func(GoTime.unix),
    "UnixMilli": Func(lambda t: t.unix_nanos // 1_000_000),
    "UnixNano": Func(lambda t: t.unix_nanos),
    "UTC": Func(lambda t: t.in_zone(0, "UTC")),
    "Local": Func(lambda t: t.in_zone(*local_zone(t.unix()))),
}


# -- layouts ---------------------------------------------------------------

# The layout elements in the order Go's nextStdChunk tries them at each letter.
_CHUNKS = {
    "J": ["January", "Jan"],
    "M": ["Monday", "Mon", "MST"],
    "0": ["01", "02", "03", "04", "05", "06", "002"],
    "1": ["15", "1"],
    "2": ["2006", "2"],
    "_": ["_2006", "__2", "_2"],
    "3": ["3"],
    "4": ["4"],
    "5": ["5"],
    "P": ["PM"],
    "p": ["pm"],
    "-": ["-070000", "-07:00:00", "-0700", "-07:00", "-07"],
    "Z": ["Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"],
}


def _fraction_chunk(layout, i):
    """A '.000' or ',999' fractional-seconds element at layout[i], or None."""
    if i + 1 < len(layout) and layout[i + 1] in "09":
        digit = layout[i + 1]
        j = i + 1
        while j < len(layout) and layout[j] == digit:
            j += 1
        if not (j < len(layout) and "0" <= layout[j] <= "9"):
            return layout[i:j]
    return None


def _next_chunk(layout, i):
    """The layout element starting at i, or None for a literal character."""
    c = layout[i]
    if c in ".,":
        return _fraction_chunk(layout, i)
    for chunk in _CHUNKS.get(c, ()):
        if layout.startswith(chunk, i):
            if chunk in ("Jan", "Mon") and layout[i + 3 : i + 4].islower():
                return None  # "Month" is not a layout element
            return chunk
    return None


def _zone_text(offset, chunk):
    if chunk.startswith("Z") and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    hours, rest = divmod(offset, 3600)
    minutes, seconds = divmod(rest, 60)
    body = chunk[1:]
    if body in ("07:00:00",):
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    if body == "070000":
        return f"{sign}{hours:02d}{minutes:02d}{seconds:02d}"
    if body == "07:00":
        return f"{sign}{hours:02d}:{minutes:02d}"
    if body == "0700":
        return f"{sign}{hours:02d}{minutes:02d}"
    return f"{sign}{hours:02d}"


def _format(layout, t, nanos, offset, zone):
    out = []
    i = 0
    hour12 = t.tm_hour % 12 or 12
    weekday = (t.tm_wday + 1) % 7
    while i < len(layout):
        chunk = _next_chunk(layout, i)
        if chunk is None:
            out.append(layout[i])
            i += 1
            continue
        i += len(chunk)
        if chunk[0] in ".,":
            digits = "%09d" % nanos
            width = len(chunk) - 1
            if chunk[1] == "0":
                out.append(chunk[0] + digits[:width])
            else:
                trimmed = digits[:width].rstrip("0")
                if trimmed:
                    out.append(chunk[0] + trimmed)
            continue
        if chunk == "_2006":
            out.append("_%04d" % t.tm_year)
            continue
        out.append(
            {
                "January": lambda: _MONTHS[t.tm_mon - 1],
                "Jan": lambda: _MONTHS[t.tm_mon - 1][:3],
                "Monday": lambda: _DAYS[weekday],
                "Mon": lambda: _DAYS[weekday][:3],
                "MST": lambda: zone or _zone_text(offset, "-0700"),
                "01": lambda: "%02d" % t.tm_mon,
                "02": lambda: "%02d" % t.tm_mday,
                "03": lambda: "%02d" % hour12,
                "04": lambda: "%02d" % t.tm_min,
                "05": lambda: "%02d" % t.tm_sec,
                "06": lambda: "%02d" % (t.tm_year % 100),
                "002": lambda: "%03d" % t.tm_yday,
                "__2": lambda: "%3d" % t.tm_yday,
                "15": lambda: "%02d" % t.tm_hour,
                "1": lambda: str(t.tm_mon),
                "2006": lambda: "%04d" % t.tm_year,
                "2": lambda: str(t.tm_mday),
                "_2": lambda: "%2d" % t.tm_mday,
                "3": lambda: str(hour12),
                "4": lambda: str(t.tm_min),
                "5": lambda: str(t.tm_sec),
                "PM": lambda: "PM" if t.tm_hour >= 12 else "AM",
                "pm": lambda: "pm" if t.tm_hour >= 12 else "am",
            }.get(chunk, lambda: _zone_text(offset, chunk))()
        )
    return "".join(out)
