"""One node's estimate of its own coordinate, learnt from round trip times.

``CoordinateClient.update(node, other, rtt)`` is Serf's ``Client.Update``:
given a peer's coordinate and a measured round trip time to it,

1. the RTT goes through a per-peer moving median of the last few samples
   (``latency_filter_size``), to ride out a slow packet;
2. Vivaldi: the error estimate moves towards how wrong the current
   distance was, and the coordinate is pushed along the line to the peer
   by a force proportional to the difference, weighted by how confident we
   are compared to the peer;
3. the adjustment term is half the mean, over the last
   ``adjustment_window_size`` observations (of any peer), of what the raw
   distance missed by;
4. gravity pulls the coordinate back towards the origin a little, harder
   the further out it is, so the whole system does not drift away;
5. a result with a NaN or an infinity is thrown away and the coordinate
   starts over at the origin (``resets`` counts that).

Bad input (a coordinate of another dimension, one with NaN or Inf, an RTT
below zero or above 10 s) is refused with ``CoordinateError`` and changes
nothing.
"""

import random
from typing import Optional

from pyconsul.core.coordinate.coordinate import (
    DEFAULT_CONFIG,
    ZERO_THRESHOLD,
    Coordinate,
    CoordinateConfig,
)
from pyconsul.golang.duration import format_duration

MAX_RTT = 10.0  # seconds


class CoordinateError(ValueError):
    """An update refused; the message is Serf's."""


def _go_duration(seconds: float) -> str:
    try:
        return format_duration(int(seconds * 1e9))
    except (OverflowError, ValueError):
        return repr(seconds)


class CoordinateClient:
    def __init__(self, config: CoordinateConfig = DEFAULT_CONFIG, rng: Optional[random.Random] = None):
        self.config = config
        self._rng = rng if rng is not None else random.Random(0)
        self._coord = Coordinate.origin(config)
        self._origin = Coordinate.origin(config)
        self._adjustment_index = 0
        self._adjustment_samples = [0.0] * config.adjustment_window_size
        self._latency_samples: dict[str, list[float]] = {}
        self.resets = 0  # Serf's ClientStats.Resets
        self.updates = 0

    @property
    def coordinate(self) -> Coordinate:
        return self._coord

    def set_coordinate(self, coordinate: Coordinate) -> None:
        """Force the coordinate to a known state (Serf's SetCoordinate)."""
        self._check(coordinate)
        self._coord = coordinate

    def forget_node(self, node: str) -> None:
        """Drop what we keep about a peer (its RTT samples)."""
        self._latency_samples.pop(node, None)

    def distance_to(self, other: Coordinate) -> float:
        return self._coord.distance_to(other)

    def update(self, node: str, other: Coordinate, rtt: float) -> Coordinate:
        """Take one observation: ``rtt`` seconds to ``node``, whose
        coordinate is ``other``. Returns the new coordinate."""
        self._check(other)
        if not 0.0 <= rtt <= MAX_RTT:  # NaN fails this too
            raise CoordinateError(
                "round trip time not in valid range, duration %s is not a positive value less than %s "
                % (_go_duration(rtt), _go_duration(MAX_RTT))
            )
        rtt = self._latency_filter(node, rtt)
        self._update_vivaldi(other, rtt)
        self._update_adjustment(other, rtt)
        self._update_gravity()
        if not self._coord.is_valid():
            self.resets += 1
            self._coord = Coordinate.origin(self.config)
        self.updates += 1
        return self._coord

    # -- the steps -----------------------------------------------------------------

    def _check(self, coordinate: Coordinate) -> None:
        if not self._coord.is_compatible_with(coordinate):
            raise CoordinateError("dimensions aren't compatible")
        if not coordinate.is_valid():
            raise CoordinateError("coordinate is invalid")

    def _latency_filter(self, node: str, rtt: float) -> float:
        samples = self._latency_samples.setdefault(node, [])
        samples.append(rtt)
        if len(samples) > self.config.latency_filter_size:
            del samples[0]
        ordered = sorted(samples)
        return ordered[len(ordered) // 2]

    def _update_vivaldi(self, other: Coordinate, rtt: float) -> None:
        config = self.config
        coord = self._coord
        distance = coord.distance_to(other)
        if rtt < ZERO_THRESHOLD:
            rtt = ZERO_THRESHOLD
        wrongness = abs(distance - rtt) / rtt

        total_error = coord.error + other.error
        if total_error < ZERO_THRESHOLD:
            total_error = ZERO_THRESHOLD
        weight = coord.error / total_error

        error = config.vivaldi_ce * weight * wrongness + coord.error * (1.0 - config.vivaldi_ce * weight)
        if error > config.vivaldi_error_max:
            error = config.vivaldi_error_max

        force = config.vivaldi_cc * weight * (rtt - distance)
        moved = Coordinate(coord.vec, error, coord.adjustment, coord.height)
        self._coord = moved.apply_force(config, force, other, self._rng)

    def _update_adjustment(self, other: Coordinate, rtt: float) -> None:
        window = self.config.adjustment_window_size
        if window == 0:
            return
        # The adjustments themselves stay out of this: the raw distance.
        self._adjustment_samples[self._adjustment_index] = rtt - self._coord.raw_distance_to(other)
        self._adjustment_index = (self._adjustment_index + 1) % window
        total = 0.0
        for sample in self._adjustment_samples:
            total += sample
        coord = self._coord
        self._coord = Coordinate(coord.vec, coord.error, total / (2.0 * window), coord.height)

    def _update_gravity(self) -> None:
        config = self.config
        distance = self._origin.distance_to(self._coord)
        ratio = distance / config.gravity_rho
        force = -1.0 * (ratio * ratio)
        self._coord = self._coord.apply_force(config, force, self._origin, self._rng)
