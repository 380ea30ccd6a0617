"""Benchmarks: every performance figure of the project comes from here."""
