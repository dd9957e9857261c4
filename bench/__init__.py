"""Benchmarks of Santongbu against the database floor and its peers (issue 8).

``python -m bench`` runs them all and prints one table; each ``bench/bench_*.py`` also runs on
its own. See docs/performance.md for the figures and how they were taken.
"""
