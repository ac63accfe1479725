"""Go's ``time.Time`` and ``time.Duration`` as templates see them.

confd's ``datetime`` is ``time.Now``, so ``{{datetime}}`` prints what Go's
``Time.String`` prints, monotonic reading included::

    2024-05-01 14:00:00.25 +0200 CEST m=+0.001500000

and templates call its methods: ``{{(datetime).Format "2006-01-02"}}``,
``{{(datetime).Add -3600000000000}}``, ``{{datetime.Sub $start}}``. The
wall clock, the monotonic clock and the local zone are injected (see
:class:`~pyconsul.template.funcs.World`), so renders are deterministic in
tests.

Go's rules that show in output are kept:

* ``time.Now`` values carry a monotonic reading (nanoseconds since the
  process started). ``Add`` moves it along; ``UTC``, ``Local``, ``In``,
  ``Round``, ``Truncate`` and ``AddDate`` drop it; ``Sub``, ``Equal``,
  ``Before`` and ``After`` use it when both times have one.
* A time belongs to a :class:`Location` (``UTC``, or ``Local`` with the
  injected zone), whose offset is looked up for each instant, so ``Add``
  across a daylight-saving change shows the new offset.
* ``Round`` and ``Truncate`` work on the time since Go's zero time
  (January 1, year 1, UTC), not on the wall clock.
* Results have Go's types: ``Unix`` is an ``int64``, ``Month`` a
  ``time.Month`` that prints its name, ``Sub`` a ``time.Duration`` that
  prints as ``1h2m3.5s``.
"""

import time

from pyconsul.golang import duration as go_duration
from pyconsul.golang import timefmt
from pyconsul.golang.errors import GoError
from pyconsul.template.functable import Func
from pyconsul.template.values import INT, STRING, GoStruct, GoType, Int64

NANOS = 1_000_000_000
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# Unix seconds of Go's zero Time, January 1, year 1, 00:00:00 UTC.
ZERO_UNIX = timefmt.days_from_civil(1, 1, 1) * timefmt.SECONDS_PER_DAY
# Go packs a monotonic reading beside wall seconds counted from 1885 in 33
# bits; a time outside 1885..2157 cannot hold one and loses it.
_MONO_WALL_MIN = timefmt.days_from_civil(1885, 1, 1) * timefmt.SECONDS_PER_DAY
_MONO_WALL_MAX = _MONO_WALL_MIN + (1 << 33) - 1

# Go counts monotonic readings from process start (less one nanosecond, so
# that none is ever zero); the import of this module stands in for it.
_START = time.monotonic_ns() - 1


def process_monotonic():
    """Nanoseconds since this process started, as Go's runtime reports them."""
    return time.monotonic_ns() - _START


# The Gregorian calendar repeats every 400 years, weekdays included, and so
# do the daylight-saving rules a zone keeps for the future.
_CYCLE_400_YEARS = 146097 * timefmt.SECONDS_PER_DAY
_YEAR_2000 = timefmt.days_from_civil(2000, 1, 1) * timefmt.SECONDS_PER_DAY


def local_zone(seconds):
    """(offset seconds, zone abbreviation) of this machine's zone at Unix ``seconds``.

    The C library stops at some billions of years, which a template reaches
    with AddDate; there, as Go does, a future time takes the zone's rules for
    the same point of the 400-year cycle and a past one the zone of year 1.
    """
    try:
        t = time.localtime(seconds)
    except (OverflowError, OSError, ValueError):
        if seconds > 0:
            t = time.localtime(_YEAR_2000 + (seconds - _YEAR_2000) % _CYCLE_400_YEARS)
        else:
            t = time.localtime(ZERO_UNIX)
    return t.tm_gmtoff, t.tm_zone


def _int64(n):
    """Wrap to an int64, as Go's arithmetic on Unix nanoseconds does."""
    return Int64((n - _INT64_MIN) % (1 << 64) + _INT64_MIN)


class Month(int):
    """time.Month: an int that prints as its name."""

    go_type = "time.Month"

    def go_string(self):
        return timefmt.month_name(int(self))


class Weekday(int):
    go_type = "time.Weekday"

    def go_string(self):
        return timefmt.day_name(int(self))


class Duration(int):
    """time.Duration: nanoseconds that print as ``1h2m3.5s``."""

    go_type = "time.Duration"

    def go_string(self):
        return go_duration.format_duration(int(self))


class Location(GoStruct):
    """A ``*time.Location``: a name and the zone in effect at each instant.

    ``zone`` maps Unix seconds to (offset seconds east of UTC, abbreviation).
    Locations compare by identity, as Go's pointers do.
    """

    go_type = "*time.Location"

    def __init__(self, name, zone):
        self.name = name
        self.zone = zone

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def go_string(self):
        return self.name

    def __repr__(self):
        return f"Location({self.name!r})"


UTC = Location("UTC", lambda seconds: (0, "UTC"))


class GoTime(GoStruct):
    """An instant (Unix nanoseconds), its Location and maybe a monotonic reading.

    ``local`` is the Location that ``Local()`` switches to: the zone of the
    world the time came from.
    """

    go_type = "time.Time"

    def __init__(self, unix_nanos, loc=UTC, mono=None, local=None):
        self.unix_nanos = unix_nanos
        self.loc = loc
        self.mono = mono
        self.local = local if local is not None else loc

    @classmethod
    def now(cls, clock, local, monotonic):
        """time.Now: the wall clock in ``local``, with a monotonic reading."""
        t = cls(clock(), local, None, local)
        if _MONO_WALL_MIN <= t.unix() <= _MONO_WALL_MAX:
            t.mono = monotonic()
        return t

    def _with(self, unix_nanos=None, loc=None, mono=None):
        return GoTime(
            self.unix_nanos if unix_nanos is None else unix_nanos,
            self.loc if loc is None else loc,
            mono,
            self.local,
        )

    def __eq__(self, other):
        # Go's == on Time values: the same instant, reading and Location.
        return (
            isinstance(other, GoTime)
            and (self.unix_nanos, self.mono) == (other.unix_nanos, other.mono)
            and self.loc is other.loc
        )

    def __hash__(self):
        return hash(self.unix_nanos)

    def __repr__(self):
        return f"GoTime({self.unix_nanos}, {self.loc!r}, mono={self.mono})"

    # -- the wall clock ----------------------------------------------------

    def unix(self):
        return self.unix_nanos // NANOS

    def nanosecond(self):
        return self.unix_nanos % NANOS

    def civil(self):
        seconds = self.unix()
        offset, zone = self.loc.zone(seconds)
        return timefmt.Civil.at(seconds, self.nanosecond(), offset, zone)

    def format(self, layout):
        return timefmt.format_layout(layout, self.civil())

    def go_string(self):
        text = self.format("2006-01-02 15:04:05.999999999 -0700 MST")
        if self.mono is None:
            return text
        sign = "-" if self.mono < 0 else "+"
        seconds, nanos = divmod(abs(self.mono), NANOS)
        return f"{text} m={sign}{seconds}.{nanos:09d}"

    def is_zero(self):
        return self.unix_nanos == ZERO_UNIX * NANOS

    # -- arithmetic ---------------------------------------------------------

    def add(self, d):
        t = self._with(self.unix_nanos + d)
        if self.mono is not None and _MONO_WALL_MIN <= t.unix() <= _MONO_WALL_MAX:
            reading = self.mono + d
            if _INT64_MIN <= reading <= _INT64_MAX:  # else Go degrades to wall time only
                t.mono = reading
        return t

    def sub(self, u):
        if self.mono is not None and u.mono is not None:
            return Duration(go_duration.saturate(self.mono - u.mono))
        return Duration(go_duration.saturate(self.unix_nanos - u.unix_nanos))

    def _compare(self, u):
        if self.mono is not None and u.mono is not None:
            a, b = self.mono, u.mono
        else:
            a, b = self.unix_nanos, u.unix_nanos
        return (a > b) - (a < b)

    def truncate(self, d):
        t = self._with()
        if d <= 0:
            return t
        return t.add(-self._since_zero_mod(d))

    def round(self, d):
        t = self._with()
        if d <= 0:
            return t
        r = self._since_zero_mod(d)
        if r + r < d:
            return t.add(-r)
        return t.add(d - r)  # halfway rounds up

    def _since_zero_mod(self, d):
        return (self.unix_nanos - ZERO_UNIX * NANOS) % d

    def add_date(self, years, months, days):
        """AddDate: the wall clock moved by whole calendar units, then normalised."""
        c = self.civil()
        months_from_january = c.month - 1 + months  # October + 3 is January next year
        year = c.year + years + months_from_january // 12
        month = months_from_january % 12 + 1
        local_days = timefmt.days_from_civil(year, month, 1) + c.day - 1 + days
        wall = (
            local_days * timefmt.SECONDS_PER_DAY + c.hour * 3600 + c.minute * 60 + c.second
        )
        return self._with(_from_wall(wall, self.loc) * NANOS + c.nanosecond)

    def in_location(self, loc):
        if loc is None:
            raise GoError("time: missing Location in call to Time.In")
        return self._with(loc=loc)


def _from_wall(wall, loc):
    """The Unix seconds at which ``loc``'s clocks show ``wall`` (seconds as if UTC).

    Go's Date: guess the offset in effect at ``wall`` itself, then, unless it
    is zero, take the offset in effect at the corrected instant.
    """
    offset = loc.zone(wall)[0]
    if offset != 0:
        offset = loc.zone(wall - offset)[0]
    return wall - offset


# -- signatures ------------------------------------------------------------------

TIME = GoType("time.Time", "other", lambda v: type(v) is GoTime)
# Integer literals convert to a Duration (Go's evalArg sets an int64 kind);
# values must already be Durations: an int, or an int64 from Unix, is refused.
DURATION = GoType("time.Duration", "int", lambda v: type(v) is Duration)
LOCATION = GoType(
    "*time.Location", "other", lambda v: type(v) is Location, can_be_nil=True, zero=lambda: None
)

GoTime.go_methods = {
    "String": Func(GoTime.go_string),
    "Format": Func(GoTime.format, (STRING,)),
    "Unix": Func(lambda t: Int64(t.unix())),
    "UnixMilli": Func(lambda t: _int64(t.unix_nanos // 1_000_000)),
    "UnixMicro": Func(lambda t: _int64(t.unix_nanos // 1_000)),
    "UnixNano": Func(lambda t: _int64(t.unix_nanos)),
    "Year": Func(lambda t: t.civil().year),
    "Month": Func(lambda t: Month(t.civil().month)),
    "Day": Func(lambda t: t.civil().day),
    "Hour": Func(lambda t: t.civil().hour),
    "Minute": Func(lambda t: t.civil().minute),
    "Second": Func(lambda t: t.civil().second),
    "Nanosecond": Func(GoTime.nanosecond),
    "Weekday": Func(lambda t: Weekday(t.civil().weekday)),
    "YearDay": Func(lambda t: t.civil().yday),
    "IsZero": Func(GoTime.is_zero),
    "UTC": Func(lambda t: t.in_location(UTC)),
    "Local": Func(lambda t: t.in_location(t.local)),
    "In": Func(GoTime.in_location, (LOCATION,)),
    "Location": Func(lambda t: t.loc),
    "Add": Func(GoTime.add, (DURATION,)),
    "AddDate": Func(GoTime.add_date, (INT, INT, INT)),
    "Sub": Func(GoTime.sub, (TIME,)),
    "Before": Func(lambda t, u: t._compare(u) < 0, (TIME,)),
    "After": Func(lambda t, u: t._compare(u) > 0, (TIME,)),
    "Equal": Func(lambda t, u: t._compare(u) == 0, (TIME,)),
    "Truncate": Func(GoTime.truncate, (DURATION,)),
    "Round": Func(GoTime.round, (DURATION,)),
}

Duration.go_methods = {
    "String": Func(Duration.go_string),
    "Nanoseconds": Func(lambda d: Int64(d)),
    "Microseconds": Func(lambda d: Int64(go_duration.quo_rem(d, go_duration.MICROSECOND)[0])),
    "Milliseconds": Func(lambda d: Int64(go_duration.quo_rem(d, go_duration.MILLISECOND)[0])),
    "Seconds": Func(lambda d: go_duration.in_units(d, go_duration.SECOND)),
    "Minutes": Func(lambda d: go_duration.in_units(d, go_duration.MINUTE)),
    "Hours": Func(lambda d: go_duration.in_units(d, go_duration.HOUR)),
    "Round": Func(lambda d, m: Duration(go_duration.round_duration(d, m)), (DURATION,)),
    "Truncate": Func(lambda d, m: Duration(go_duration.truncate(d, m)), (DURATION,)),
    "Abs": Func(lambda d: Duration(go_duration.abs_duration(d))),
}

Month.go_methods = {"String": Func(Month.go_string)}
Weekday.go_methods = {"String": Func(Weekday.go_string)}
Location.go_methods = {"String": Func(Location.go_string)}
