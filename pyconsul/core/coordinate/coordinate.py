"""Network coordinates: a point in a Vivaldi space, and the distance between two.

A coordinate is Serf's: a Euclidean vector (8 dimensions), a height (the
node's access link, added to every distance it takes part in), an
adjustment (a correction learnt from recent observations) and an error
estimate (how far off the node thinks it is; dimensionless). Vector,
height and adjustment are in seconds.

The estimated round trip time between two nodes is the vector distance
plus both heights, plus both adjustments unless that would make it zero or
less. As in Go, where distances are ``time.Duration``, it is truncated to
whole nanoseconds.

Everything here is immutable and pure; the one random choice (a direction
to push two coordinates that sit on top of each other) takes an injected
``random.Random``.
"""

import math
import random
from typing import Optional, Sequence

import attrs

ZERO_THRESHOLD = 1.0e-6  # closer than this, two vectors are the same point
SECONDS_TO_NANOSECONDS = 1.0e9
_NANOSECONDS_PER_SECOND = 1_000_000_000
_INT64_MAX = (1 << 63) - 1


class DimensionalityConflict(ValueError):
    """Two coordinates of different dimensions (Serf panics; we raise)."""

    def __init__(self):
        super().__init__("coordinate dimensionality does not match")


@attrs.frozen
class CoordinateConfig:
    """Serf's ``coordinate.DefaultConfig()``."""

    dimensionality: int = 8
    # The error of a coordinate that has seen nothing yet, and the cap on it.
    vivaldi_error_max: float = 1.5
    # How much one observation may change the error estimate, and the position.
    vivaldi_ce: float = 0.25
    vivaldi_cc: float = 0.25
    # Observations kept for the adjustment term (0 turns it off).
    adjustment_window_size: int = 20
    # Heights never go below this (seconds).
    height_min: float = 10.0e-6
    # RTT samples kept per peer; their median is what an update uses.
    latency_filter_size: int = 3
    # How hard coordinates are pulled back towards the origin against drift.
    gravity_rho: float = 150.0

    def __attrs_post_init__(self):
        if self.dimensionality < 1:
            raise ValueError("dimensionality must be >0")
        if self.latency_filter_size < 1:
            raise ValueError("the latency filter needs at least one sample")
        if self.adjustment_window_size < 0:
            raise ValueError("the adjustment window cannot be negative")


DEFAULT_CONFIG = CoordinateConfig()


def duration_seconds(seconds: float) -> float:
    """``time.Duration(seconds * 1e9).Seconds()``: whole nanoseconds, as Go
    keeps a distance. Non-finite values pass through (the caller's validity
    check resets whatever they produce)."""
    if not math.isfinite(seconds):
        return seconds
    nanoseconds = int(seconds * SECONDS_TO_NANOSECONDS)  # truncated toward zero, as Go converts
    nanoseconds = max(-_INT64_MAX - 1, min(_INT64_MAX, nanoseconds))
    whole, rest = divmod(abs(nanoseconds), _NANOSECONDS_PER_SECOND)
    value = float(whole) + float(rest) / 1e9
    return -value if nanoseconds < 0 else value


def _magnitude(vec: Sequence[float]) -> float:
    total = 0.0
    for component in vec:
        total += component * component
    return math.sqrt(total)


def _finite(value: float) -> bool:
    return not (math.isinf(value) or math.isnan(value))


@attrs.frozen
class Coordinate:
    vec: tuple = attrs.field(converter=tuple)
    error: float = 1.5
    adjustment: float = 0.0
    height: float = 10.0e-6

    @classmethod
    def origin(cls, config: CoordinateConfig = DEFAULT_CONFIG) -> "Coordinate":
        """Where every node starts: the origin, with the largest error."""
        return cls((0.0,) * config.dimensionality, config.vivaldi_error_max, 0.0, config.height_min)

    def is_valid(self) -> bool:
        """No component is NaN or infinite."""
        return (
            all(_finite(component) for component in self.vec)
            and _finite(self.error)
            and _finite(self.adjustment)
            and _finite(self.height)
        )

    def is_compatible_with(self, other: "Coordinate") -> bool:
        return len(self.vec) == len(other.vec)

    def raw_distance_to(self, other: "Coordinate") -> float:
        """Vivaldi distance in seconds, without the adjustments."""
        difference = [mine - theirs for mine, theirs in zip(self.vec, other.vec)]
        return _magnitude(difference) + self.height + other.height

    def distance_to(self, other: "Coordinate") -> float:
        """The estimated round trip time to ``other``, in seconds (whole
        nanoseconds): the raw distance plus both adjustments, unless the
        adjustments would make it zero or negative."""
        if not self.is_compatible_with(other):
            raise DimensionalityConflict()
        distance = self.raw_distance_to(other)
        adjusted = distance + self.adjustment + other.adjustment
        if adjusted > 0.0:
            distance = adjusted
        return duration_seconds(distance)

    def apply_force(
        self, config: CoordinateConfig, force: float, other: "Coordinate", rng: random.Random
    ) -> "Coordinate":
        """This coordinate pushed by ``force`` (seconds; negative pulls)
        along the line from ``other``. The height grows or shrinks in
        proportion, never below ``height_min``."""
        if not self.is_compatible_with(other):
            raise DimensionalityConflict()
        unit, magnitude = unit_vector_at(self.vec, other.vec, rng)
        vec = tuple(mine + direction * force for mine, direction in zip(self.vec, unit))
        height = self.height
        if magnitude > ZERO_THRESHOLD:
            height = (height + other.height) * force / magnitude + height
            height = max(height, config.height_min)
        return Coordinate(vec, self.error, self.adjustment, height)

    # -- Consul's and Serf's shape ----------------------------------------------

    def to_dict(self) -> dict:
        """``coordinate.Coordinate`` as Consul's JSON and msgpack carry it."""
        return {
            "Vec": list(self.vec),
            "Error": self.error,
            "Adjustment": self.adjustment,
            "Height": self.height,
        }

    @classmethod
    def from_dict(cls, value) -> "Coordinate":
        """The inverse of ``to_dict``, for a value from the network or the
        log: a missing field is Go's zero value, and anything that is not a
        number (or a list of numbers for Vec) raises ValueError."""
        if not isinstance(value, dict):
            raise ValueError("a coordinate must be an object")
        vec = value.get("Vec")
        if vec is None:
            vec = ()
        if not isinstance(vec, (list, tuple)):
            raise ValueError("a coordinate's Vec must be a list of numbers")
        return cls(
            tuple(_number(component, "Vec") for component in vec),
            _number(value.get("Error", 0.0), "Error"),
            _number(value.get("Adjustment", 0.0), "Adjustment"),
            _number(value.get("Height", 0.0), "Height"),
        )


def _number(value, field: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a coordinate's %s must be a number" % field)
    try:
        return float(value)
    except OverflowError:
        raise ValueError("a coordinate's %s is out of range" % field) from None


def unit_vector_at(
    vec1: Sequence[float], vec2: Sequence[float], rng: random.Random
) -> tuple[tuple, float]:
    """The unit vector pointing at vec1 from vec2, and their distance.

    Two points on top of each other get a random direction (and distance
    0); should even that come out too short, the first axis."""
    difference = [a - b for a, b in zip(vec1, vec2)]
    magnitude = _magnitude(difference)
    if magnitude > ZERO_THRESHOLD:
        scale = 1.0 / magnitude
        return tuple(component * scale for component in difference), magnitude
    difference = [rng.random() - 0.5 for _ in difference]
    magnitude = _magnitude(difference)
    if magnitude > ZERO_THRESHOLD:
        scale = 1.0 / magnitude
        return tuple(component * scale for component in difference), 0.0
    axis = [0.0] * len(difference)
    axis[0] = 1.0
    return tuple(axis), 0.0


# -- Consul's lib/rtt.go ----------------------------------------------------------


def compute_distance(a: Optional[Coordinate], b: Optional[Coordinate]) -> float:
    """Seconds between two coordinates; infinity when either is missing (or
    they cannot be compared), so that such nodes sort last."""
    if a is None or b is None or not a.is_compatible_with(b):
        return math.inf
    return a.distance_to(b)


def intersect(mine: dict, theirs: dict) -> tuple[Optional[Coordinate], Optional[Coordinate]]:
    """Consul's ``CoordinateSet.Intersect``: from two segment -> coordinate
    maps, the pair to compare. The default segment, unless one side has a
    single segment (a client's), which then decides."""
    segment = ""
    if len(mine) == 1:
        segment = next(iter(mine))
    if len(theirs) == 1:
        segment = next(iter(theirs))
    return mine.get(segment), theirs.get(segment)
