"""Benchmarks: run with `make bench`; they print tables and are never part of the tests."""
