"""The decision cache: keys that follow what the policy reads; L1 in process, L2 in Redis."""
