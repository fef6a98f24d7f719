"""Stand-ins for the servers a Lab user points it at, for tests and benchmarks on loopback only."""
