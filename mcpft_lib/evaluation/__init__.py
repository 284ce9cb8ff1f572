"""Evaluation: eval items, generation, per-turn metrics, statistics, the scoring runner, views, and the
inference benchmarks."""
