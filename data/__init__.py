"""Synthetic data sets for demos, tests and benchmarks (pure Python, no Django)."""
