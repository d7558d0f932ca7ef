"""Evaluation: datasets, the harness that runs them through the real code, and run history."""
