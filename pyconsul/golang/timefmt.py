"""Go's calendar and ``Time.Format`` layouts.

Go's ``time`` package keeps its own proleptic Gregorian calendar, valid for
any year (negative ones included), and formats with layouts written as the
reference time ``Mon Jan 2 15:04:05 MST 2006``: ``2006-01-02T15:04:05Z07:00``
is RFC 3339. This module does the same arithmetic on plain integers, without
Python's ``time`` or ``datetime`` (which stop at year 1 and 9999).

Everything here is pure: a :class:`Civil` is computed from Unix seconds and a
zone offset, and :func:`format_layout` turns it and a layout into text.
"""

import attr

SECONDS_PER_DAY = 86400

MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def month_name(month):
    """Month.String: the name, or ``%!Month(13)`` outside 1..12."""
    return MONTH_NAMES[month - 1] if 1 <= month <= 12 else f"%!Month({month})"


def day_name(weekday):
    return DAY_NAMES[weekday] if 0 <= weekday <= 6 else f"%!Weekday({weekday})"


# -- the calendar --------------------------------------------------------------
# Days are counted from 1970-01-01. Both functions work in 400-year eras (a
# Gregorian era has exactly 146097 days), shifted so that a year starts on
# March 1st and the leap day is the era-year's last day; floor division keeps
# them right for dates before 1970 and before year 1.


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a date whose month is 1..12 (the day may overflow)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def civil_from_days(days):
    """(year, month, day) of a day number from :func:`days_from_civil`."""
    shifted = days + 719468
    era = shifted // 146097
    day_of_era = shifted - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    return year_of_era + era * 400 + (month <= 2), month, day


@attr.s(frozen=True, slots=True)
class Civil:
    """A moment as a wall clock in some zone shows it."""

    year = attr.ib()
    month = attr.ib()  # 1..12
    day = attr.ib()
    yday = attr.ib()  # 1..366
    weekday = attr.ib()  # 0 = Sunday
    hour = attr.ib()
    minute = attr.ib()
    second = attr.ib()
    nanosecond = attr.ib()
    offset = attr.ib()  # seconds east of UTC
    zone = attr.ib()  # abbreviation, e.g. "CEST"; "" if the zone has none

    @classmethod
    def at(cls, unix_seconds, nanosecond, offset, zone):
        local = unix_seconds + offset
        days, seconds = divmod(local, SECONDS_PER_DAY)
        year, month, day = civil_from_days(days)
        return cls(
            year=year,
            month=month,
            day=day,
            yday=days - days_from_civil(year, 1, 1) + 1,
            weekday=(days + 4) % 7,  # 1970-01-01 was a Thursday
            hour=seconds // 3600,
            minute=seconds // 60 % 60,
            second=seconds % 60,
            nanosecond=nanosecond,
            offset=offset,
            zone=zone,
        )


# -- layouts -------------------------------------------------------------------

# The layout elements starting with each character, in the order Go's
# nextStdChunk tries them; the first that matches wins.
_ELEMENTS = {
    "J": ("January", "Jan"),
    "M": ("Monday", "Mon", "MST"),
    "0": ("01", "02", "03", "04", "05", "06", "002"),
    "1": ("15", "1"),
    "2": ("2006", "2"),
    "_": ("_2006", "_2", "__2"),
    "3": ("3",),
    "4": ("4",),
    "5": ("5",),
    "P": ("PM",),
    "p": ("pm",),
    "-": ("-070000", "-07:00:00", "-0700", "-07:00", "-07"),
    "Z": ("Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"),
}


def _is_ascii_lower(text, i):
    return i < len(text) and "a" <= text[i] <= "z"


def _fraction_element(layout, i):
    """'.000', ',999' ...: a separator then one digit repeated, not followed by a digit."""
    if i + 1 < len(layout) and layout[i + 1] in "09":
        j = i + 1
        while j < len(layout) and layout[j] == layout[i + 1]:
            j += 1
        if not (j < len(layout) and "0" <= layout[j] <= "9"):
            return layout[i:j]
    return None


def next_element(layout, i):
    """The layout element at layout[i], or None where the character is literal text."""
    char = layout[i]
    if char in ".,":
        return _fraction_element(layout, i)
    for element in _ELEMENTS.get(char, ()):
        if layout.startswith(element, i):
            # "Jan" and "Mon" followed by a lower-case letter are words ("Monthly").
            if element in ("Jan", "Mon") and _is_ascii_lower(layout, i + 3):
                continue
            return element
    return None


def _pad(number, width):
    """Go's appendInt: the sign, then the digits zero-padded to width."""
    sign = "-" if number < 0 else ""
    return sign + str(abs(number)).rjust(width, "0")


def _zone_offset(offset, element):
    """-0700, -07:00, -07, -070000 and -07:00:00, and their Z forms."""
    if element[0] == "Z" and offset == 0:
        return "Z"
    minutes = int(offset / 60)  # Go's integer division rounds toward zero
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    body = element[1:]
    colon = ":" if ":" in body else ""
    text = sign + _pad(minutes // 60, 2)
    if body not in ("07",):
        text += colon + _pad(minutes % 60, 2)
    if body in ("070000", "07:00:00"):
        text += colon + _pad(abs(offset) % 60, 2)
    return text


def _fraction(element, nanosecond):
    """.000 keeps its digits; .999 drops trailing zeros, and the point with them."""
    digits = _pad(nanosecond, 9)[: len(element) - 1]
    if element[1] == "9":
        digits = digits.rstrip("0")
        if not digits:
            return ""
    return element[0] + digits


def _hour12(hour):
    return hour % 12 or 12  # noon is 12PM, midnight 12AM


_RENDER = {
    "January": lambda c: month_name(c.month),
    "Jan": lambda c: month_name(c.month)[:3],
    "Monday": lambda c: day_name(c.weekday),
    "Mon": lambda c: day_name(c.weekday)[:3],
    "MST": lambda c: c.zone or _zone_offset(c.offset, "-0700"),
    "01": lambda c: _pad(c.month, 2),
    "02": lambda c: _pad(c.day, 2),
    "03": lambda c: _pad(_hour12(c.hour), 2),
    "04": lambda c: _pad(c.minute, 2),
    "05": lambda c: _pad(c.second, 2),
    "06": lambda c: _pad(abs(c.year) % 100, 2),
    "002": lambda c: _pad(c.yday, 3),
    "__2": lambda c: str(c.yday).rjust(3),
    "15": lambda c: _pad(c.hour, 2),
    "1": lambda c: str(c.month),
    "2006": lambda c: _pad(c.year, 4),
    "_2006": lambda c: "_" + _pad(c.year, 4),  # a literal "_", then the year
    "2": lambda c: str(c.day),
    "_2": lambda c: str(c.day).rjust(2),
    "3": lambda c: str(_hour12(c.hour)),
    "4": lambda c: str(c.minute),
    "5": lambda c: str(c.second),
    "PM": lambda c: "PM" if c.hour >= 12 else "AM",
    "pm": lambda c: "pm" if c.hour >= 12 else "am",
}


def format_layout(layout, civil):
    """Time.Format: the layout with each element replaced by civil's value."""
    out = []
    i = 0
    while i < len(layout):
        element = next_element(layout, i)
        if element is None:
            out.append(layout[i])
            i += 1
            continue
        i += len(element)
        if element[0] in ".,":
            out.append(_fraction(element, civil.nanosecond))
        elif element[0] in "-Z":
            out.append(_zone_offset(civil.offset, element))
        else:
            out.append(_RENDER[element](civil))
    return "".join(out)
