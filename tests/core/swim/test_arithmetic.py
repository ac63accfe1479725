"""Tables for the formulas of memberlist and Lifeguard, with the figures the
reference notes derive for the LAN defaults."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.swim.config import SwimConfig
from pyconsul.core.swim.suspicion import Suspicion
from pyconsul.core.swim.timing import (
    Awareness,
    expected_confirmations,
    push_pull_interval,
    retransmit_limit,
    suspicion_timeout,
    suspicion_timeout_after,
)


class SuspicionTimeoutTests(SynchronousTestCase):
    def test_minimum_grows_with_log10_of_the_cluster(self):
        # (mult, members, probe interval) -> seconds
        table = [
            (4, 1, 1.0, 4.0),  # log10 floored at 1
            (4, 5, 1.0, 4.0),
            (4, 10, 1.0, 4.0),
            (4, 100, 1.0, 8.0),
            (4, 1000, 1.0, 12.0),
            (4, 10000, 1.0, 16.0),
            (6, 100, 5.0, 60.0),  # WAN profile
            (3, 1000, 1.0, 9.0),  # Local profile
        ]
        for mult, size, interval, expected in table:
            with self.subTest(mult=mult, size=size):
                self.assertEqual(suspicion_timeout(mult, size, interval), expected)

    def test_reference_table_min_and_max(self):
        config = SwimConfig.lan()
        for size, minimum, maximum in [(100, 8, 48), (1000, 12, 72), (10000, 16, 96)]:
            with self.subTest(size=size):
                low = suspicion_timeout(config.suspicion_mult, size, config.probe_interval)
                self.assertEqual(low, minimum)
                self.assertEqual(low * config.suspicion_max_timeout_mult, maximum)

    def test_confirmations_pull_the_timeout_down_on_a_log_scale(self):
        # min 8 s, max 48 s, 2 confirmations wanted (LAN, 100 members)
        table = [
            (0, 48.0),
            (1, 22.762),  # 48 - ln2/ln3 * 40, kept to the millisecond
            (2, 8.0),
            (3, 8.0),  # never below the minimum
        ]
        for confirmations, expected in table:
            with self.subTest(confirmations=confirmations):
                self.assertAlmostEqual(
                    suspicion_timeout_after(confirmations, 2, 8.0, 48.0), expected, places=9
                )

    def test_no_confirmations_wanted_means_the_maximum(self):
        self.assertEqual(suspicion_timeout_after(0, 0, 4.0, 24.0), 24.0)
        self.assertEqual(suspicion_timeout_after(3, 0, 4.0, 24.0), 24.0)

    def test_expected_confirmations(self):
        # SuspicionMult - 2, unless the cluster is too small to supply them
        table = [(4, 2, 0), (4, 3, 0), (4, 4, 2), (4, 1000, 2), (6, 7, 4), (6, 5, 0), (3, 3, 1)]
        for mult, size, expected in table:
            with self.subTest(mult=mult, size=size):
                self.assertEqual(expected_confirmations(mult, size), expected)


class SuspicionTimerTests(SynchronousTestCase):
    def make(self):
        return Suspicion("accuser", wanted=2, minimum=8.0, maximum=48.0, started_at=100.0)

    def test_starts_at_the_maximum(self):
        self.assertEqual(self.make().deadline, 148.0)

    def test_each_independent_confirmation_shortens_it(self):
        suspicion = self.make()
        self.assertTrue(suspicion.confirm("second"))
        self.assertAlmostEqual(suspicion.deadline, 122.762)
        self.assertTrue(suspicion.confirm("third"))
        self.assertEqual(suspicion.deadline, 108.0)

    def test_the_first_accuser_and_repeats_do_not_count(self):
        suspicion = self.make()
        self.assertFalse(suspicion.confirm("accuser"))
        self.assertTrue(suspicion.confirm("second"))
        self.assertFalse(suspicion.confirm("second"))
        self.assertEqual(suspicion.confirmations, 1)

    def test_confirmations_beyond_those_wanted_are_not_news(self):
        suspicion = self.make()
        suspicion.confirm("b")
        suspicion.confirm("c")
        self.assertFalse(suspicion.confirm("d"))
        self.assertEqual(suspicion.deadline, 108.0)


class RetransmitAndPushPullTests(SynchronousTestCase):
    def test_retransmit_limit(self):
        table = [(4, 1, 4), (4, 9, 4), (4, 10, 8), (4, 99, 8), (4, 100, 12), (4, 1000, 16),
                 (4, 10000, 20), (2, 1000, 8)]
        for mult, size, expected in table:
            with self.subTest(mult=mult, size=size):
                self.assertEqual(retransmit_limit(mult, size), expected)

    def test_push_pull_interval_scales_past_32_members(self):
        table = [(1, 30), (32, 30), (33, 60), (64, 60), (65, 90), (100, 90), (1000, 180),
                 (10000, 300)]
        for size, expected in table:
            with self.subTest(size=size):
                self.assertEqual(push_pull_interval(30.0, size), expected)


class AwarenessTests(SynchronousTestCase):
    def test_score_stays_between_zero_and_max_minus_one(self):
        awareness = Awareness(8)
        # (delta, score after)
        table = [(-1, 0), (1, 1), (3, 4), (10, 7), (1, 7), (-2, 5), (-9, 0)]
        for delta, expected in table:
            awareness.apply_delta(delta)
            self.assertEqual(awareness.score, expected)

    def test_timeouts_scale_by_score_plus_one(self):
        awareness = Awareness(8)
        for score, expected in [(0, 1.0), (1, 2.0), (7, 8.0)]:
            awareness.score = score
            self.assertEqual(awareness.scale(1.0), expected)


class ProfileTests(SynchronousTestCase):
    def test_profiles_match_memberlist(self):
        # (profile, gossip interval, nodes, probe interval, timeout, suspicion
        #  mult, retransmit mult, push-pull, indirect checks, dead time)
        table = [
            (SwimConfig.lan(), 0.2, 3, 1.0, 0.5, 4, 4, 30.0, 3, 30.0),
            (SwimConfig.wan(), 0.5, 4, 5.0, 3.0, 6, 4, 60.0, 3, 60.0),
            (SwimConfig.local(), 0.1, 3, 1.0, 0.2, 3, 2, 15.0, 1, 15.0),
            (SwimConfig.consul_wan(), 0.5, 3, 5.0, 3.0, 6, 4, 60.0, 3, 60.0),
        ]
        for config, *expected in table:
            actual = [
                config.gossip_interval, config.gossip_nodes, config.probe_interval,
                config.probe_timeout, config.suspicion_mult, config.retransmit_mult,
                config.push_pull_interval, config.indirect_checks,
                config.gossip_to_the_dead_time,
            ]
            self.assertEqual(actual, expected)
            self.assertEqual(config.suspicion_max_timeout_mult, 6)
            self.assertEqual(config.awareness_max_multiplier, 8)
