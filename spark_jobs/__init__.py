"""Spark jobs: pure DataFrame transforms plus one small spark-submit-able entry point per job.

Nothing here imports Airflow; jobs read their configuration through hiring_signals.config.load_settings().
"""
