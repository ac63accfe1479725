"""Templates calling Go's time.Time and time.Duration methods on ``datetime``.

The clock, the monotonic clock and the local zone are fixed: the wall clock
reads 2024-05-01 12:00:00.25 UTC, the monotonic clock 1.5 ms since start,
and the local zone is a Central European one (CET, CEST from the last Sunday
of March to the last Sunday of October 2024). Expected texts are what Go
prints for ``time.Now()`` values in such a process.
"""

import itertools

import attr
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import MemKV, TemplateError, World, render
from pyconsul.template.dns import StaticResolver
from pyconsul.template.gotime import ZERO_UNIX, local_zone

MAY_DAY = 1714564800_250000000  # 2024-05-01 12:00:00.25 UTC
DST_START, DST_END = 1711846800, 1729990800  # 2024-03-31 and 2024-10-27, 01:00 UTC


def central_european(seconds):
    if DST_START <= seconds < DST_END:
        return 7200, "CEST"
    return 3600, "CET"


def world(clock=MAY_DAY, monotonic=1_500_000, zone=central_european):
    clocks = clock if callable(clock) else (lambda: clock)
    monotonics = monotonic if callable(monotonic) else (lambda: monotonic)
    return World(
        environ={},
        resolver=StaticResolver(),
        clock=clocks,
        time_zone=zone,
        monotonic=monotonics,
        file_exists=lambda path: False,
    )


@attr.s(frozen=True)
class Error:
    text = attr.ib()


WORLD = world()
NOW = "2024-05-01 14:00:00.25 +0200 CEST"
HOUR = 3_600_000_000_000

CASES = [
    # -- printing: Time.String, with the monotonic reading time.Now carries
    ("print", "{{datetime}}", NOW + " m=+0.001500000"),
    ("printf-v-s-q", '{{printf "%v|%s|%q" datetime datetime datetime}}',
     f'{NOW} m=+0.001500000|{NOW} m=+0.001500000|"{NOW} m=+0.001500000"'),
    ("string-method", "{{datetime.String}}", NOW + " m=+0.001500000"),
    ("type", '{{printf "%T %T %T" datetime datetime.Location (datetime.Sub datetime)}}',
     "time.Time *time.Location time.Duration"),
    ("print-operands", "{{$t := datetime.UTC}}{{print $t $t}}",
     "2024-05-01 12:00:00.25 +0000 UTC 2024-05-01 12:00:00.25 +0000 UTC"),
    # -- Format
    ("format-rfc3339", '{{datetime.Format "2006-01-02T15:04:05Z07:00"}} {{datetime.UTC.Format "2006-01-02T15:04:05.000Z07:00"}}',
     "2024-05-01T14:00:00+02:00 2024-05-01T12:00:00.250Z"),
    ("format-names", '{{(datetime).Format "Monday, 02-Jan-06 3:04PM MST"}}', "Wednesday, 01-May-24 2:00PM CEST"),
    ("format-no-monotonic", '{{datetime.Format "2006-01-02 15:04:05.999999999 -0700 MST"}}', NOW),
    # -- calendar fields, in the time's zone
    ("fields", "{{$t := datetime}}{{$t.Year}} {{$t.Month}} {{$t.Day}} {{$t.Hour}} {{$t.Minute}} {{$t.Second}} "
     "{{$t.Nanosecond}} {{$t.Weekday}} {{$t.YearDay}}", "2024 May 1 14 0 0 250000000 Wednesday 122"),
    ("fields-utc", "{{$t := datetime.UTC}}{{$t.Hour}} {{$t.Weekday}}", "12 Wednesday"),
    ("month-weekday-are-ints", '{{printf "%d %d %v %T" datetime.Month datetime.Weekday datetime.Month datetime.Weekday}} '
     "{{datetime.Month.String}} {{eq datetime.Month 5}} {{lt datetime.Weekday 4}}", "5 3 May time.Weekday May true true"),
    # -- Unix times are int64s
    ("unix", "{{datetime.Unix}} {{datetime.UnixMilli}} {{datetime.UnixMicro}} {{datetime.UnixNano}}",
     "1714564800 1714564800250 1714564800250000 1714564800250000000"),
    ("unix-is-int64", '{{printf "%T" datetime.Unix}} {{eq datetime.Unix 1714564800}}', "int64 true"),
    ("unix-is-not-int", "{{add datetime.Unix 1}}", Error("wrong type for value; expected int; got int64")),
    # -- Locations
    ("location", "{{datetime.Location}} {{datetime.UTC.Location}} {{datetime.Location.String}}", "Local UTC Local"),
    ("utc-local", "{{datetime.UTC}}|{{datetime.UTC.Local}}", "2024-05-01 12:00:00.25 +0000 UTC|" + NOW),
    ("in", "{{datetime.UTC.In datetime.Location}}|{{datetime.In datetime.UTC.Location}}",
     NOW + "|2024-05-01 12:00:00.25 +0000 UTC"),
    ("in-nil", "{{datetime.In nil}}", Error("error calling In: time: missing Location in call to Time.In")),
    ("in-not-a-location", "{{datetime.In 1}}", Error("can't handle 1 for arg of type *time.Location")),
    ("locations-are-shared", "{{eq datetime.Location datetime.Location}} {{eq datetime.Location datetime.UTC.Location}}",
     "true false"),
    # -- Add moves the wall clock and the monotonic reading
    ("add", "{{datetime.Add 3600000000000}}", "2024-05-01 15:00:00.25 +0200 CEST m=+3600.001500000"),
    ("add-negative", "{{datetime.Add -2000000}}", "2024-05-01 14:00:00.248 +0200 CEST m=-0.000500000"),
    ("add-after-utc-has-no-reading", "{{datetime.UTC.Add 1}}", "2024-05-01 12:00:00.250000001 +0000 UTC"),
    ("add-beyond-2157-drops-the-reading", "{{datetime.Add 9223372036854775807}}",
     "2316-08-11 12:47:17.104775807 +0100 CET"),
    ("add-result-of-sub", "{{$t := datetime}}{{$t.Add ($t.Sub ($t.Add -60000000000))}}",
     "2024-05-01 14:01:00.25 +0200 CEST m=+60.001500000"),
    ("add-date", "{{datetime.AddDate 0 1 30}}|{{datetime.AddDate -1 -5 0}}|{{datetime.UTC.AddDate 0 0 -1}}",
     "2024-07-01 14:00:00.25 +0200 CEST|2022-12-01 14:00:00.25 +0100 CET|2024-04-30 12:00:00.25 +0000 UTC"),
    ("add-date-normalises", '{{(datetime.AddDate 0 0 30).Format "Jan 2"}} {{(datetime.AddDate 0 -3 -1).Format "Jan 2 2006"}}',
     "May 31 Jan 31 2024"),
    # -- Sub gives a Duration; two readings are compared, else the wall clocks
    ("sub", "{{$t := datetime}}{{$t.Sub ($t.Add -5000000)}} {{$t.UTC.Sub ($t.Add 3723500000000)}}", "5ms -1h2m3.5s"),
    ("sub-saturates", "{{$t := datetime.UTC}}{{($t.AddDate 300 0 0).Sub $t}} {{$t.Sub ($t.AddDate 300 0 0)}}",
     "2562047h47m16.854775807s -2562047h47m16.854775808s"),
    # -- comparisons
    ("before-after-equal", "{{$t := datetime}}{{$u := $t.Add 1}}{{$t.Before $u}} {{$t.After $u}} {{$t.Equal $u}} "
     "{{$u.After $t}} {{$t.Equal $t.UTC}} {{$t.Before $t}}", "true false false true true false"),
    ("eq-is-go-equality", "{{$t := datetime}}{{eq $t $t}} {{eq $t $t.UTC}} {{eq $t.UTC $t.UTC}} {{eq $t.UTC ($t.Round 0)}}",
     "true false true false"),
    # -- Truncate and Round count from the zero time, in UTC
    ("truncate", "{{datetime.Truncate 3600000000000}}|{{datetime.Truncate 86400000000000}}",
     "2024-05-01 14:00:00 +0200 CEST|2024-05-01 02:00:00 +0200 CEST"),
    ("truncate-week-starts-monday", '{{(datetime.UTC.Truncate 604800000000000).Format "Mon 2006-01-02 15:04"}}',
     "Mon 2024-04-29 00:00"),
    ("round", "{{datetime.Round 500000000}}|{{datetime.Round 1000000000}}|{{datetime.Round 7200000000000}}",
     "2024-05-01 14:00:00.5 +0200 CEST|2024-05-01 14:00:00 +0200 CEST|2024-05-01 14:00:00 +0200 CEST"),
    ("round-zero-strips-the-reading", "{{datetime.Round 0}}|{{datetime.Truncate -1}}", NOW + "|" + NOW),
    # -- IsZero
    ("is-zero", "{{datetime.IsZero}} {{(datetime.UTC.Truncate 86400000000000).AddDate -2023 -4 0}} "
     "{{((datetime.UTC.Truncate 86400000000000).AddDate -2023 -4 0).IsZero}}",
     "false 0001-01-01 00:00:00 +0000 UTC true"),
    # -- Durations
    ("duration-prints", '{{$d := datetime.Sub (datetime.Add -3723500000000)}}{{$d}} {{printf "%v %s %d" $d $d $d}} {{$d.String}}',
     "1h2m3.5s 1h2m3.5s 1h2m3.5s 3723500000000 1h2m3.5s"),
    ("duration-units", "{{$d := datetime.Sub (datetime.Add -3723500000000)}}{{$d.Hours}} {{$d.Minutes}} {{$d.Seconds}} "
     "{{$d.Milliseconds}} {{$d.Microseconds}} {{$d.Nanoseconds}}",
     "1.0343055555555556 62.05833333333333 3723.5 3723500 3723500000 3723500000000"),
    ("duration-round-truncate-abs", "{{$d := (datetime.Add -3723500000000).Sub datetime}}{{$d}} {{$d.Round 1000000000}} "
     "{{$d.Truncate 60000000000}} {{$d.Abs}}", "-1h2m3.5s -1h2m4s -1h2m0s 1h2m3.5s"),
    ("duration-small", "{{$t := datetime}}{{$t.Sub ($t.Add -1500)}} {{$t.Sub ($t.Add -15)}} {{$t.Sub $t}}", "1.5µs 15ns 0s"),
    ("duration-compares-as-int", "{{$d := datetime.Sub (datetime.Add -5)}}{{eq $d 5}} {{lt $d 6}}", "true true"),
    # -- wrong arguments give Go's messages
    ("add-string", '{{datetime.Add "1h"}}', Error('at <"1h">: expected integer; found "1h"')),
    ("add-float", "{{datetime.Add 1.5}}", Error("expected integer; found 1.5")),
    ("add-time", "{{datetime.Add datetime}}", Error("wrong type for value; expected time.Duration; got time.Time")),
    ("add-int64", "{{datetime.Add datetime.Unix}}", Error("wrong type for value; expected time.Duration; got int64")),
    ("add-piped-int", "{{1 | datetime.Add}}", Error("wrong type for value; expected time.Duration; got int")),
    ("add-nil", "{{datetime.Add nil}}", Error("cannot assign nil to time.Duration")),
    ("add-missing-value", "{{datetime.Add .nothing}}", Error("invalid value; expected time.Duration")),
    ("add-no-args", "{{datetime.Add}}", Error("wrong number of args for Add: want 1 got 0")),
    ("sub-number", "{{datetime.Sub 5}}", Error("can't handle 5 for arg of type time.Time")),
    ("sub-nil", "{{datetime.Sub nil}}", Error("cannot assign nil to time.Time")),
    ("before-string", '{{datetime.Before "x"}}', Error("can't handle \"x\" for arg of type time.Time")),
    ("equal-duration", "{{datetime.Equal (datetime.Sub datetime)}}",
     Error("wrong type for value; expected time.Time; got time.Duration")),
    ("truncate-month", "{{datetime.Truncate datetime.Month}}", Error("wrong type for value; expected time.Duration; got time.Month")),
    ("format-number", "{{datetime.Format 1}}", Error("expected string; found 1")),
    ("format-no-layout", "{{datetime.Format}}", Error("wrong number of args for Format: want 1 got 0")),
    ("year-with-arg", "{{datetime.Year 1}}", Error("wrong number of args for Year: want 0 got 1")),
    ("add-date-two-args", "{{datetime.AddDate 1 2}}", Error("wrong number of args for AddDate: want 3 got 2")),
    ("unknown-method", "{{datetime.Yesterday}}", Error("can't evaluate field Yesterday in type time.Time")),
    ("unknown-duration-method", "{{(datetime.Sub datetime).Days}}", Error("can't evaluate field Days in type time.Duration")),
    ("duration-round-string", '{{(datetime.Sub datetime).Round "1s"}}', Error('expected integer; found "1s"')),
]


class TimeMethodTests(SynchronousTestCase):
    """One test per entry of CASES: the output, or an Error whose text the message holds."""


def _make(name, text, expected):
    def test(self):
        if isinstance(expected, Error):
            with self.assertRaises(TemplateError) as caught:
                render(text, MemKV(), name="t.tmpl", world=WORLD)
            self.assertIn(expected.text, str(caught.exception))
        else:
            self.assertEqual(render(text, MemKV(), name="t.tmpl", world=WORLD), expected)

    return test


for _name, _text, _expected in CASES:
    setattr(TimeMethodTests, "test_" + _name.replace("-", "_"), _make(_name, _text, _expected))


class ClockTests(SynchronousTestCase):
    """What the injected clocks decide."""

    def test_error_location_is_the_argument(self):
        with self.assertRaises(TemplateError) as caught:
            render('x {{datetime.Add "1h"}}', MemKV(), name="t.tmpl", world=WORLD)
        self.assertEqual(
            str(caught.exception),
            'template: t.tmpl:1:17: executing "t.tmpl" at <"1h">: expected integer; found "1h"',
        )

    def test_sub_and_comparisons_use_the_monotonic_readings(self):
        # The wall clock is set back 10s between two calls; the monotonic clock
        # goes on, and Go measures with it while both times carry a reading.
        walls = iter([MAY_DAY, MAY_DAY - 10_000_000_000])
        monos = iter([1_000_000, 3_000_000])
        w = world(clock=lambda: next(walls), monotonic=lambda: next(monos))
        text = "{{$a := datetime}}{{$b := datetime}}{{$b.Sub $a}} {{$b.UTC.Sub $a}} {{$b.After $a}} {{$b.UTC.After $a}}"
        self.assertEqual(render(text, MemKV(), world=w), "2ms -10s true false")

    def test_each_call_reads_the_clocks(self):
        ticks = itertools.count(MAY_DAY, 1_000_000_000)
        monos = itertools.count(1, 1_000_000_000)
        w = world(clock=lambda: next(ticks), monotonic=lambda: next(monos))
        out = render("{{datetime.Second}} {{datetime.Second}} {{datetime}}", MemKV(), world=w)
        self.assertEqual(out, "0 1 2024-05-01 14:00:02.25 +0200 CEST m=+2.000000001")

    def test_large_monotonic_reading(self):
        w = world(monotonic=1_234_567_890_123_456_789)
        self.assertEqual(render("{{datetime}}", MemKV(), world=w), NOW + " m=+1234567890.123456789")

    def test_a_clock_outside_1885_to_2157_has_no_reading(self):
        # Go's time.Now keeps no monotonic reading where its packed wall
        # seconds field cannot hold the date.
        w = world(clock=ZERO_UNIX * 1_000_000_000, zone=lambda seconds: (0, "UTC"))
        out = render("{{datetime}} {{datetime.IsZero}} {{datetime.Location}}", MemKV(), world=w)
        self.assertEqual(out, "0001-01-01 00:00:00 +0000 UTC true Local")

    def test_add_across_a_daylight_saving_change(self):
        w = world(clock=1729989000_000000000)  # 2024-10-27 00:30 UTC, 02:30 CEST
        out = render("{{datetime.Add 3600000000000}}", MemKV(), world=w)
        self.assertEqual(out, "2024-10-27 02:30:00 +0100 CET m=+3600.001500000")

    def test_add_date_keeps_the_wall_clock_across_a_change(self):
        # One day after 12:00 CEST on 26 October is 12:00 CET, 25 hours later.
        w = world(clock=1729936800_000000000)  # 2024-10-26 10:00 UTC
        text = "{{$t := datetime}}{{$u := $t.AddDate 0 0 1}}{{$u}} {{$u.Sub $t}}"
        self.assertEqual(render(text, MemKV(), world=w), "2024-10-27 12:00:00 +0100 CET 25h0m0s")

    def test_a_zone_without_abbreviation(self):
        w = world(zone=lambda seconds: (19800, ""))
        self.assertEqual(
            render("{{datetime.Round 0}}", MemKV(), world=w), "2024-05-01 17:30:00.25 +0530 +0530"
        )


class MachineZoneTests(SynchronousTestCase):
    """The default zone reads the machine's; these hold whatever zone that is."""

    def test_far_times_use_the_rules_of_the_same_point_in_the_400_year_cycle(self):
        cycle = 146097 * 86400
        july = 1720000000  # July 2024
        self.assertEqual(local_zone(july + 10**8 * cycle), local_zone(july))
        self.assertEqual(local_zone(-(10**17)), local_zone(ZERO_UNIX))

    def test_rendering_a_far_time_in_the_machine_zone(self):
        w = World(environ={}, clock=lambda: MAY_DAY, monotonic=lambda: 1)
        out = render('{{(datetime.AddDate 1000000000000 0 0).Format "2006"}}', MemKV(), world=w)
        self.assertEqual(out, "1000000002024")
