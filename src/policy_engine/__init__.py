"""ACGS Policy Engine: real OPA in process, behind a cache whose keys follow the policy."""

__version__ = "2.0.0"
