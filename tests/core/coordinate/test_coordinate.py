"""Coordinates: distances, forces, validity, Consul's shapes and the ack payload.

The expected numbers are worked out by hand from Serf's formulas
(coordinate.go); the inputs are chosen so that every intermediate value is
exact in binary floating point, so the checks can be tight.
"""

import math
import random

import msgpack
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.coordinate.coordinate import (
    DEFAULT_CONFIG,
    Coordinate,
    CoordinateConfig,
    DimensionalityConflict,
    compute_distance,
    duration_seconds,
    intersect,
    unit_vector_at,
)
from pyconsul.core.coordinate.payload import PayloadError, decode_payload, encode_payload


def vec(*leading, dims=8):
    return tuple(leading) + (0.0,) * (dims - len(leading))


class DefaultsTests(SynchronousTestCase):
    def test_serf_defaults(self):
        self.assertEqual(
            (DEFAULT_CONFIG.dimensionality, DEFAULT_CONFIG.vivaldi_error_max, DEFAULT_CONFIG.vivaldi_ce,
             DEFAULT_CONFIG.vivaldi_cc, DEFAULT_CONFIG.adjustment_window_size, DEFAULT_CONFIG.height_min,
             DEFAULT_CONFIG.latency_filter_size, DEFAULT_CONFIG.gravity_rho),
            (8, 1.5, 0.25, 0.25, 20, 10.0e-6, 3, 150.0),
        )

    def test_origin(self):
        self.assertEqual(Coordinate.origin(), Coordinate(vec(), 1.5, 0.0, 10.0e-6))

    def test_bad_configurations(self):
        self.assertRaises(ValueError, CoordinateConfig, dimensionality=0)
        self.assertRaises(ValueError, CoordinateConfig, latency_filter_size=0)


class DistanceTests(SynchronousTestCase):
    # a - b = (0.375, 0.5): a 3-4-5 triangle, so |a - b| = 0.625 exactly.
    a = Coordinate(vec(0.375, 0.5), 1.0, 0.0, 0.125)
    b = Coordinate(vec(), 1.0, 0.0, 0.25)

    def test_vector_distance_plus_both_heights(self):
        # 0.625 + 0.125 + 0.25 = 1.0
        self.assertEqual(self.a.distance_to(self.b), 1.0)
        self.assertEqual(self.b.distance_to(self.a), 1.0)
        self.assertEqual(self.a.raw_distance_to(self.b), 1.0)

    def test_adjustments_are_added(self):
        a = Coordinate(self.a.vec, 1.0, 0.5, 0.125)
        b = Coordinate(self.b.vec, 1.0, -0.25, 0.25)
        # 1.0 + 0.5 - 0.25
        self.assertEqual(a.distance_to(b), 1.25)
        self.assertEqual(a.raw_distance_to(b), 1.0)

    def test_adjustments_that_would_make_it_negative_are_ignored(self):
        a = Coordinate(self.a.vec, 1.0, -0.75, 0.125)
        b = Coordinate(self.b.vec, 1.0, -0.5, 0.25)
        # 1.0 - 1.25 <= 0: the raw distance stands.
        self.assertEqual(a.distance_to(b), 1.0)
        # ... and exactly zero is no better.
        self.assertEqual(Coordinate(self.a.vec, 1.0, -1.0, 0.125).distance_to(self.b), 1.0)

    def test_truncated_to_whole_nanoseconds_like_a_go_duration(self):
        a = Coordinate(vec(), 1.0, 0.0, 1.5e-9)
        b = Coordinate(vec(), 1.0, 0.0, 1.5e-9)
        # 3 ns exactly: 3e-9 s; 0.9999 ns is nothing.
        self.assertEqual(a.distance_to(b), 3e-9)
        self.assertEqual(duration_seconds(0.9999e-9), 0.0)
        self.assertEqual(duration_seconds(2.5), 2.5)
        self.assertEqual(duration_seconds(-0.25), -0.25)

    def test_different_dimensions_cannot_be_compared(self):
        short = Coordinate((0.0, 0.0), 1.0, 0.0, 0.0)
        self.assertFalse(short.is_compatible_with(self.a))
        self.assertRaises(DimensionalityConflict, short.distance_to, self.a)
        self.assertEqual(compute_distance(short, self.a), math.inf)

    def test_compute_distance_puts_missing_coordinates_at_infinity(self):
        self.assertEqual(compute_distance(self.a, self.b), 1.0)
        self.assertEqual(compute_distance(None, self.b), math.inf)
        self.assertEqual(compute_distance(self.a, None), math.inf)


class IntersectTests(SynchronousTestCase):
    def test_default_segment(self):
        a, b = Coordinate.origin(), Coordinate(vec(1.0), 1.0, 0.0, 0.0)
        self.assertEqual(intersect({"": a, "alpha": b}, {"": b, "alpha": a}), (a, b))

    def test_a_single_segment_decides(self):
        a, b = Coordinate.origin(), Coordinate(vec(1.0), 1.0, 0.0, 0.0)
        # A client in "alpha" against a server in every segment.
        self.assertEqual(intersect({"": a, "alpha": b}, {"alpha": a}), (b, a))
        self.assertEqual(intersect({"alpha": a}, {"": b}), (None, b))
        self.assertEqual(intersect({}, {}), (None, None))


class ForceTests(SynchronousTestCase):
    def test_push_away_grows_the_height(self):
        config = CoordinateConfig(height_min=0.0)
        a = Coordinate(vec(0.5), 1.0, 0.0, 0.125)
        b = Coordinate(vec(), 1.0, 0.0, 0.25)
        pushed = a.apply_force(config, 0.25, b, random.Random(0))
        # unit (1, 0...), so vec = 0.5 + 0.25; height = (0.125 + 0.25) * 0.25 / 0.5 + 0.125
        self.assertEqual(pushed, Coordinate(vec(0.75), 1.0, 0.0, 0.3125))

    def test_pull_never_takes_the_height_below_the_minimum(self):
        config = CoordinateConfig(height_min=0.1)
        a = Coordinate(vec(0.5), 1.0, 0.0, 0.125)
        b = Coordinate(vec(), 1.0, 0.0, 0.25)
        pulled = a.apply_force(config, -0.25, b, random.Random(0))
        # 0.375 * -0.25 / 0.5 + 0.125 = -0.0625: held at 0.1
        self.assertEqual(pulled, Coordinate(vec(0.25), 1.0, 0.0, 0.1))

    def test_coincident_points_get_a_random_direction_from_the_rng(self):
        # Serf: each component rand.Float64() - 0.5, then normalized.
        draws = random.Random(42)
        expected = [draws.random() - 0.5 for _ in range(8)]
        length = math.sqrt(sum(x * x for x in expected))
        unit, distance = unit_vector_at(vec(), vec(), random.Random(42))
        self.assertEqual(distance, 0.0)
        for got, want in zip(unit, expected):
            self.assertAlmostEqual(got, want / length, delta=1e-15)
        # The same seed, the same direction; the height is left alone.
        a = Coordinate(vec(), 1.0, 0.0, 0.125)
        moved = a.apply_force(CoordinateConfig(), 0.5, a, random.Random(42))
        self.assertEqual(moved.height, 0.125)
        self.assertEqual(moved, a.apply_force(CoordinateConfig(), 0.5, a, random.Random(42)))
        self.assertNotEqual(moved, a.apply_force(CoordinateConfig(), 0.5, a, random.Random(43)))

    def test_the_first_axis_when_even_the_random_vector_is_too_short(self):
        class Halves(random.Random):
            def random(self):
                return 0.5

        self.assertEqual(unit_vector_at(vec(), vec(), Halves()), (vec(1.0), 0.0))


class ValidityTests(SynchronousTestCase):
    def test_nan_and_infinity_are_invalid(self):
        self.assertTrue(Coordinate.origin().is_valid())
        for bad in (
            Coordinate(vec(math.nan), 1.0, 0.0, 0.0),
            Coordinate(vec(0.0, math.inf), 1.0, 0.0, 0.0),
            Coordinate(vec(), math.nan, 0.0, 0.0),
            Coordinate(vec(), 1.0, -math.inf, 0.0),
            Coordinate(vec(), 1.0, 0.0, math.nan),
        ):
            self.assertFalse(bad.is_valid(), bad)


class ShapeTests(SynchronousTestCase):
    def test_consul_field_names(self):
        coordinate = Coordinate(vec(0.25), 0.5, -0.125, 0.001)
        self.assertEqual(coordinate.to_dict(), {
            "Vec": [0.25, 0, 0, 0, 0, 0, 0, 0], "Error": 0.5, "Adjustment": -0.125, "Height": 0.001})
        self.assertEqual(Coordinate.from_dict(coordinate.to_dict()), coordinate)

    def test_missing_fields_are_zero_and_integers_are_numbers(self):
        self.assertEqual(Coordinate.from_dict({"Vec": [1, 0], "Error": 2}), Coordinate((1.0, 0.0), 2.0, 0.0, 0.0))
        self.assertEqual(Coordinate.from_dict({}), Coordinate((), 0.0, 0.0, 0.0))

    def test_malformed(self):
        for bad in ([], "x", {"Vec": "abc"}, {"Vec": [True]}, {"Vec": ["1"]}, {"Error": "1"},
                    {"Height": [1]}, {"Adjustment": False}, {"Vec": [10 ** 400]}):
            self.assertRaises(ValueError, Coordinate.from_dict, bad)


class PayloadTests(SynchronousTestCase):
    def test_version_byte_then_msgpack_map(self):
        coordinate = Coordinate(vec(0.25), 0.5, -0.125, 0.001)
        payload = encode_payload(coordinate)
        self.assertEqual(payload[0], 1)  # Serf's PingVersion
        self.assertEqual(msgpack.unpackb(payload[1:]), coordinate.to_dict())
        self.assertEqual(decode_payload(payload), coordinate)

    def test_what_is_not_a_coordinate_is_refused(self):
        good = encode_payload(Coordinate.origin())
        for bad in (b"", b"\x00" + good[1:], b"\x02" + good[1:], b"\x01", b"\x01\xc1", b"\x01\x93\x01\x02\x03",
                    b"\x01" + msgpack.packb({"Vec": "no"}), good + b"\x00", b"\x01" + b"\x00" * 2000,
                    b"\x01" + msgpack.packb({1: 2})):
            self.assertRaises(PayloadError, decode_payload, bad)
