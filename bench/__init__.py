"""Benchmarks: each figure is measured side by side with raw PostgreSQL doing the same work."""
