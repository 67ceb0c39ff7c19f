"""Benchmarks (make bench): reports in bench-results/, figures next to their targets."""
