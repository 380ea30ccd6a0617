"""Shared test support: input generators and servers."""
