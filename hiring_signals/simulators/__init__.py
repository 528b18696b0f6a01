"""Deterministic stand-ins for the pipeline's sources, served over real HTTP (or as real file drops).

Each simulator generates a realistic population from a seed and serves it the way the real source would,
including the faults connectors must survive (rate limits, 5xx, timeouts, malformed, late and duplicated
records). Pointing a connector at a real endpoint instead is configuration only.
"""
