"""Where the policy bundle and the OPA bridge live."""
