"""The coordinate client: Serf's Update (latency filter, Vivaldi, adjustment,
gravity, validity), checked against numbers worked out by hand from Serf's
client.go, and a simulated network of three sites that it learns.

The hand-worked steps use a zero minimum height and axis-aligned vectors,
so every intermediate value is a binary fraction and the arithmetic exact.
"""

import itertools
import math
import random

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.coordinate.client import CoordinateClient, CoordinateError
from pyconsul.core.coordinate.coordinate import Coordinate, CoordinateConfig


def vec(*leading):
    return tuple(leading) + (0.0,) * (8 - len(leading))


NO_GRAVITY = 1e300  # (d / rho)**2 underflows to zero: gravity does nothing
# The peer of the hand-worked steps: 0.5 s along the first axis, height 0.25.
PEER = Coordinate(vec(0.5), 0.5, 0.0, 0.25)


class VivaldiTests(SynchronousTestCase):
    def test_one_vivaldi_step(self):
        config = CoordinateConfig(height_min=0.0, adjustment_window_size=0, gravity_rho=NO_GRAVITY)
        client = CoordinateClient(config, random.Random(1))
        result = client.update("peer", PEER, 1.0)
        # dist = |0 - 0.5| + 0 + 0.25 = 0.75; wrongness = |0.75 - 1| / 1 = 0.25
        # weight = 1.5 / (1.5 + 0.5) = 0.75
        # error = 0.25 * 0.75 * 0.25 + 1.5 * (1 - 0.25 * 0.75) = 0.046875 + 1.21875 = 1.265625
        # force = 0.25 * 0.75 * (1 - 0.75) = 0.046875, away from the peer: unit (-1, 0, ...)
        # vec = (-0.046875, 0, ...)
        # height = (0 + 0.25) * 0.046875 / 0.5 + 0 = 0.0234375
        self.assertEqual(result, Coordinate(vec(-0.046875), 1.265625, 0.0, 0.0234375))
        self.assertEqual(client.coordinate, result)

    def test_full_update_with_adjustment_and_gravity(self):
        config = CoordinateConfig(height_min=0.0, adjustment_window_size=16)
        client = CoordinateClient(config, random.Random(1))
        result = client.update("peer", PEER, 1.0)
        # Vivaldi as above: vec (-0.046875, ...), error 1.265625, height 0.0234375.
        # Adjustment: raw distance now |-0.046875 - 0.5| + 0.0234375 + 0.25 = 0.8203125;
        #   sample 1 - 0.8203125 = 0.1796875; adjustment = 0.1796875 / (2 * 16) = 0.005615234375
        # Gravity: distance from the origin = 0.046875 + 0 + 0.0234375 + 0.005615234375
        #   = 0.075927734375 s, which as a Duration is 75927734 ns;
        #   force = -(0.075927734 / 150)**2 = -2.5622314623887804e-07, pulling towards the origin:
        #   vec = -0.046875 + 2.5622314623887804e-07 = -0.04687474377685376
        #   height = (0.0234375 + 0) * force / 0.046875 + 0.0234375 = 0.02343737188842688
        self.assertAlmostEqual(result.vec[0], -0.04687474377685376, delta=1e-17)
        self.assertEqual(result.vec[1:], (0.0,) * 7)
        self.assertEqual(result.error, 1.265625)
        self.assertEqual(result.adjustment, 0.005615234375)
        self.assertAlmostEqual(result.height, 0.02343737188842688, delta=1e-17)

    def test_error_is_capped(self):
        # A peer claiming perfect confidence (error 0) against a terrible guess.
        config = CoordinateConfig(vivaldi_error_max=1.5)
        client = CoordinateClient(config, random.Random(1))
        client.update("peer", Coordinate(vec(0.5), 0.0, 0.0, 0.25), 0.001)
        # weight = 1.5 / 1.5 = 1; wrongness = |0.75001 - 0.001| / 0.001 ~ 749;
        # error = 0.25 * 749 + 1.5 * 0.75 > 1.5: capped.
        self.assertEqual(client.coordinate.error, 1.5)

    def test_a_zero_rtt_counts_as_a_microsecond(self):
        config = CoordinateConfig(height_min=0.0, adjustment_window_size=0, gravity_rho=NO_GRAVITY)
        client = CoordinateClient(config, random.Random(1))
        client.update("peer", Coordinate(vec(0.5), 1.5, 0.0, 0.0), 0.0)
        # rtt -> 1e-6; dist 0.5; weight 0.5; force = 0.25 * 0.5 * (1e-6 - 0.5): towards the peer.
        self.assertAlmostEqual(client.coordinate.vec[0], 0.125 * (0.5 - 1e-6), delta=1e-15)


class GravityTests(SynchronousTestCase):
    def test_pulls_towards_the_origin(self):
        # No Vivaldi move (cc 0), no adjustment: only gravity acts.
        config = CoordinateConfig(height_min=0.0, adjustment_window_size=0, vivaldi_cc=0.0)
        client = CoordinateClient(config, random.Random(1))
        client.set_coordinate(Coordinate(vec(75.0), 1.5, 0.0, 0.0))
        client.update("peer", Coordinate(vec(), 1.5, 0.0, 0.0), 0.001)
        # distance from the origin 75 s; force = -(75 / 150)**2 = -0.25
        self.assertEqual(client.coordinate.vec, vec(74.75))
        self.assertEqual(client.coordinate.height, 0.0)


class AdjustmentTests(SynchronousTestCase):
    def client(self, window):
        # Nothing moves (cc 0, no gravity), so the raw distance to PEER stays 0.75.
        config = CoordinateConfig(height_min=0.0, adjustment_window_size=window, vivaldi_cc=0.0,
                                  gravity_rho=NO_GRAVITY)
        return CoordinateClient(config, random.Random(1))

    def test_half_the_mean_of_the_window_which_wraps_around(self):
        client = self.client(4)
        adjustments = []
        # A peer name each, so the latency filter passes every sample as it is.
        for number, rtt in enumerate((1.0, 0.5, 0.75, 1.25, 2.0)):
            adjustments.append(client.update("peer-%d" % number, PEER, rtt).adjustment)
        # samples rtt - 0.75: 0.25, -0.25, 0, 0.5, then 1.25 replaces the first 0.25
        # sums: 0.25, 0, 0, 0.5, 1.5; over 2 * 4:
        self.assertEqual(adjustments, [0.03125, 0.0, 0.0, 0.0625, 0.1875])

    def test_a_window_of_zero_turns_it_off(self):
        client = self.client(0)
        self.assertEqual(client.update("peer", PEER, 2.0).adjustment, 0.0)


class LatencyFilterTests(SynchronousTestCase):
    def filtered(self, client, node, rtt):
        # With a window of one, adjustment = (filtered rtt - 0.75) / 2.
        return client.update(node, PEER, rtt).adjustment * 2 + 0.75

    def test_median_of_the_last_three_samples_per_node(self):
        config = CoordinateConfig(height_min=0.0, adjustment_window_size=1, vivaldi_cc=0.0,
                                  gravity_rho=NO_GRAVITY)
        client = CoordinateClient(config, random.Random(1))
        seen = [self.filtered(client, "a", rtt) for rtt in (0.875, 1.25, 1.0)]
        # [0.875] -> 0.875; [0.875, 1.25] -> the upper one; [0.875, 1.25, 1.0] -> 1.0
        self.assertEqual(seen, [0.875, 1.25, 1.0])
        # Another node has samples of its own.
        self.assertEqual(self.filtered(client, "b", 2.0), 2.0)
        # The oldest falls out: [1.25, 1.0, 1.5] -> 1.25
        self.assertEqual(self.filtered(client, "a", 1.5), 1.25)
        # Forgotten: the next sample is alone.
        client.forget_node("a")
        self.assertEqual(self.filtered(client, "a", 0.5), 0.5)
        client.forget_node("never-seen")


class RefusalTests(SynchronousTestCase):
    def setUp(self):
        self.client = CoordinateClient(CoordinateConfig(), random.Random(1))
        self.client.update("peer", PEER, 0.5)
        self.before = self.client.coordinate

    def assertRefused(self, message, *args):
        with self.assertRaises(CoordinateError) as raised:
            self.client.update(*args)
        self.assertEqual(str(raised.exception), message)
        self.assertEqual(self.client.coordinate, self.before)

    def test_other_dimensions(self):
        self.assertRefused("dimensions aren't compatible", "peer", Coordinate((0.0,) * 4, 1.0, 0.0, 0.0), 0.01)

    def test_nan_and_infinity(self):
        self.assertRefused("coordinate is invalid", "peer", Coordinate(vec(math.nan), 1.0, 0.0, 0.0), 0.01)
        self.assertRefused("coordinate is invalid", "peer", Coordinate(vec(), 1.0, math.inf, 0.0), 0.01)

    def test_rtt_out_of_range(self):
        self.assertRefused("round trip time not in valid range, duration -1ms is not a positive value "
                           "less than 10s ", "peer", PEER, -0.001)
        self.assertRefused("round trip time not in valid range, duration 10.5s is not a positive value "
                           "less than 10s ", "peer", PEER, 10.5)
        self.assertRefused("round trip time not in valid range, duration nan is not a positive value "
                           "less than 10s ", "peer", PEER, math.nan)

    def test_set_coordinate_checks_too(self):
        self.assertRaises(CoordinateError, self.client.set_coordinate, Coordinate(vec(math.nan), 1.0, 0.0, 0.0))
        self.assertEqual(self.client.coordinate, self.before)


class ResetTests(SynchronousTestCase):
    def test_a_result_that_is_not_finite_starts_over_at_the_origin(self):
        client = CoordinateClient(CoordinateConfig(), random.Random(1))
        client.update("peer", PEER, 0.5)
        # Finite, but its distance overflows: the update ends in NaN.
        huge = Coordinate((1e308,) * 8, 1.5, 0.0, 0.0)
        self.assertTrue(huge.is_valid())
        self.assertEqual(client.update("huge", huge, 0.5), Coordinate.origin())
        self.assertEqual(client.resets, 1)


class CoincidentTests(SynchronousTestCase):
    def test_two_nodes_at_the_origin_part_in_a_random_direction(self):
        client = CoordinateClient(CoordinateConfig(), random.Random(7))
        result = client.update("peer", Coordinate.origin(), 0.01)
        draws = random.Random(7)
        direction = [draws.random() - 0.5 for _ in range(8)]
        length = math.sqrt(sum(x * x for x in direction))
        # dist = 2 * 10e-6; weight 0.5; force = 0.25 * 0.5 * (0.01 - 2e-5) = 0.0012475 along
        # the random direction (distance 0: the height stays), then a gravity pull of ~1e-10.
        magnitude = math.sqrt(sum(x * x for x in result.vec))
        self.assertAlmostEqual(magnitude, 0.0012475, delta=1e-9)
        for got, want in zip(result.vec, direction):
            self.assertAlmostEqual(got / magnitude, want / length, delta=1e-12)
        self.assertEqual(result.height, 10e-6)
        # Deterministic for a seed.
        again = CoordinateClient(CoordinateConfig(), random.Random(7)).update("peer", Coordinate.origin(), 0.01)
        self.assertEqual(again, result)


# -- a simulated network ----------------------------------------------------------------

SITES = 3
PER_SITE = 3
INTRA = 0.001
INTER = {(0, 1): 0.020, (0, 2): 0.080, (1, 2): 0.100}


def true_rtt(i, j):
    a, b = i // PER_SITE, j // PER_SITE
    if a == b:
        return INTRA
    return INTER[(min(a, b), max(a, b))]


class ThreeSitesTests(SynchronousTestCase):
    """Sites 1 ms inside, 20/80/100 ms apart; every round each node pings a
    random other node (Serf's phantom.Simulate) with the true RTT."""

    def simulate(self, rounds, seed=3):
        nodes = SITES * PER_SITE
        rng = random.Random(seed)
        clients = [CoordinateClient(CoordinateConfig(), random.Random(seed * 1000 + i)) for i in range(nodes)]
        for _ in range(rounds):
            for i, client in enumerate(clients):
                j = rng.randrange(nodes)
                if j != i:
                    client.update("node-%d" % j, clients[j].coordinate, true_rtt(i, j))
        return clients

    def estimates(self, clients):
        return {
            (i, j): clients[i].coordinate.distance_to(clients[j].coordinate)
            for i, j in itertools.combinations(range(len(clients)), 2)
        }

    def test_converges_to_the_true_round_trip_times(self):
        clients = self.simulate(500)
        for (i, j), estimate in self.estimates(clients).items():
            truth = true_rtt(i, j)
            if truth == INTRA:
                self.assertLess(abs(estimate - truth), 0.001, (i, j, estimate))
            else:
                self.assertLess(abs(estimate - truth) / truth, 0.10, (i, j, estimate, truth))
        self.assertEqual([c.resets for c in clients], [0] * len(clients))

    def test_each_node_finds_its_own_site_nearest(self):
        clients = self.simulate(500)
        for i, client in enumerate(clients):
            others = sorted((j for j in range(len(clients)) if j != i),
                            key=lambda j: client.coordinate.distance_to(clients[j].coordinate))
            self.assertEqual({j // PER_SITE for j in others[:PER_SITE - 1]}, {i // PER_SITE})

    def test_it_starts_out_knowing_nothing(self):
        estimates = self.estimates(self.simulate(0))
        self.assertEqual(set(estimates.values()), {2 * 10e-6})

    def test_deterministic_for_a_seed(self):
        first = [c.coordinate for c in self.simulate(50)]
        self.assertEqual(first, [c.coordinate for c in self.simulate(50)])
        self.assertNotEqual(first, [c.coordinate for c in self.simulate(50, seed=4)])
