"""Network coordinates (Serf's ``coordinate`` package): each member estimates
its place in a latency space from the round trip times of its probes, so
that the RTT between any two members can be estimated from their
coordinates alone.

Import from the modules: ``coordinate.Coordinate`` / ``CoordinateConfig`` /
``compute_distance`` / ``intersect``, ``client.CoordinateClient``, and
``payload`` (the coordinate an ack carries).
"""
