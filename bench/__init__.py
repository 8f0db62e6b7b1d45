"""Benchmarks: scripts that print figures (run each as `PYTHONPATH=. .venv/bin/python bench/<name>.py`)."""
