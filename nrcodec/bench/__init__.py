"""Benchmarks: they measure and report (JSON, Markdown); thresholds live in the issues, not here."""
