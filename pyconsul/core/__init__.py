"""Pure, deterministic state machines: no I/O, no reactor, no wall clock."""
