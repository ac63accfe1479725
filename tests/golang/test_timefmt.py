"""Go's calendar and Time.Format layouts, on fixed instants and offsets."""

import datetime

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.golang import timefmt
from pyconsul.golang.timefmt import Civil, format_layout

# 2024-05-01 14:00:00.25 at +02:00 (CEST): 12:00:00.25 UTC, a Wednesday.
MAY_DAY = Civil.at(1714564800, 250_000_000, 7200, "CEST")


class CalendarTests(SynchronousTestCase):
    def test_days_round_trip_against_python(self):
        # Python's proleptic Gregorian calendar agrees for years 1..9999.
        epoch = datetime.date(1970, 1, 1).toordinal()
        for year, month, day in [(1, 1, 1), (1600, 2, 29), (1899, 12, 31), (1970, 1, 1),
                                 (2000, 2, 29), (2024, 5, 1), (2100, 3, 1), (9999, 12, 31)]:  # fmt: skip
            days = datetime.date(year, month, day).toordinal() - epoch
            self.assertEqual(timefmt.days_from_civil(year, month, day), days)
            self.assertEqual(timefmt.civil_from_days(days), (year, month, day))

    def test_years_before_one(self):
        # Go's calendar goes on before year 1: year 0 is a leap year.
        days = timefmt.days_from_civil(0, 2, 29)
        self.assertEqual(timefmt.civil_from_days(days), (0, 2, 29))
        self.assertEqual(timefmt.civil_from_days(days + 1), (0, 3, 1))
        self.assertEqual(timefmt.civil_from_days(timefmt.days_from_civil(-1, 12, 31) + 1), (0, 1, 1))

    def test_civil_fields(self):
        c = MAY_DAY
        self.assertEqual((c.year, c.month, c.day, c.yday, c.weekday), (2024, 5, 1, 122, 3))
        self.assertEqual((c.hour, c.minute, c.second, c.nanosecond), (14, 0, 0, 250_000_000))

    def test_offset_moves_the_date(self):
        c = Civil.at(1714606200, 0, 7200, "CEST")  # 23:30 UTC is 01:30 the next day
        self.assertEqual((c.month, c.day, c.hour, c.minute, c.weekday), (5, 2, 1, 30, 4))

    def test_names_out_of_range(self):
        self.assertEqual(timefmt.month_name(13), "%!Month(13)")
        self.assertEqual(timefmt.day_name(7), "%!Weekday(7)")


class LayoutTests(SynchronousTestCase):
    def test_standard_layouts(self):
        table = [
            ("2006-01-02T15:04:05Z07:00", "2024-05-01T14:00:00+02:00"),  # RFC3339
            ("2006-01-02T15:04:05.999999999Z07:00", "2024-05-01T14:00:00.25+02:00"),
            ("Mon, 02 Jan 2006 15:04:05 MST", "Wed, 01 May 2024 14:00:00 CEST"),  # RFC1123
            ("02 Jan 06 15:04 -0700", "01 May 24 14:00 +0200"),  # RFC822Z
            ("Mon Jan _2 15:04:05 2006", "Wed May  1 14:00:00 2024"),  # ANSIC
            ("Monday, 02-Jan-06 15:04:05 MST", "Wednesday, 01-May-24 14:00:00 CEST"),
            ("3:04PM", "2:00PM"),  # Kitchen
            ("Jan _2 15:04:05.000000", "May  1 14:00:00.250000"),  # StampMicro
        ]
        for layout, expected in table:
            self.assertEqual(format_layout(layout, MAY_DAY), expected, layout)

    def test_elements(self):
        table = [
            ("January Jan 1 01", "May May 5 05"),
            ("Monday Mon", "Wednesday Wed"),
            ("2 _2 02 __2 002", "1  1 01 122 122"),
            ("15 3 03 4 04 5 05 PM pm", "14 2 02 0 00 0 00 PM pm"),
            ("2006 06 _2006", "2024 24 _2024"),
            ("-07 -07:00 -0700 -070000 -07:00:00", "+02 +02:00 +0200 +020000 +02:00:00"),
            ("Z07 Z07:00 Z0700 Z070000 Z07:00:00", "+02 +02:00 +0200 +020000 +02:00:00"),
            (".0 .000 .999 ,000 ,9 .000000000000", ".2 .250 .25 ,250 ,2 .250000000"),
        ]
        for layout, expected in table:
            self.assertEqual(format_layout(layout, MAY_DAY), expected, layout)

    def test_literal_text(self):
        table = [
            ("Monthly Janitor", "Monthly Janitor"),  # a lower-case letter after Mon/Jan
            ("Mon√", "Wed√"),  # only ASCII letters make a word
            ("1.5", "5.0"),  # a fraction must not run into more digits
            ("x.09", "x.09"),
            ("T", "T"),
        ]
        for layout, expected in table:
            self.assertEqual(format_layout(layout, MAY_DAY), expected, layout)

    def test_utc_and_unnamed_zones(self):
        utc = Civil.at(1714564800, 0, 0, "UTC")
        self.assertEqual(format_layout("15:04:05Z07:00 -07:00 MST .999", utc), "12:00:00Z +00:00 UTC ")
        india = Civil.at(1714564800, 0, 19800, "")
        self.assertEqual(format_layout("15:04 MST -07", india), "17:30 +0530 +05")
        west = Civil.at(1714564800, 0, -9000, "")
        self.assertEqual(format_layout("MST Z07:00", west), "-0230 -02:30")

    def test_midnight_and_noon_on_twelve_hour_clocks(self):
        midnight = Civil.at(1714521600, 0, 0, "UTC")
        self.assertEqual(format_layout("3:04 PM 03pm", midnight), "12:00 AM 12am")

    def test_years_outside_four_digits(self):
        year_one = Civil.at(timefmt.days_from_civil(1, 1, 1) * 86400, 0, 0, "UTC")
        self.assertEqual(format_layout("2006 06 Monday", year_one), "0001 01 Monday")
        before = Civil.at(timefmt.days_from_civil(-5, 3, 1) * 86400, 0, 0, "UTC")
        self.assertEqual(format_layout("2006-01-02 06", before), "-0005-03-01 05")
        far = Civil.at(timefmt.days_from_civil(12345, 6, 7) * 86400, 0, 0, "UTC")
        self.assertEqual(format_layout("2006-01-02", far), "12345-06-07")
