"""The reference workload of ../shared/spec/WORKLOAD.md."""
