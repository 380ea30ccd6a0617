"""Batching: concurrent misses go to the engine together."""
