"""Benchmarks and fault drills that are too long for the test suite (see README)."""
