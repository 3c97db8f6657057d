"""Benchmarks: ``python -m benchmarks.run`` from the repository root (see run.py)."""
