"""Test support shared by the suite and the benchmarks: in-memory networks, fake clocks."""
