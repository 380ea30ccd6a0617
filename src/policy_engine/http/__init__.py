"""The HTTP layer: the ACGS API and OPA's REST API over the decision path."""
