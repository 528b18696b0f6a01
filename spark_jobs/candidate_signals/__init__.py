"""Candidate signals, point-in-time correct: pure transforms (transforms.py) and the entry point (job.py)."""
