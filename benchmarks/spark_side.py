"""The Spark side of the scale benchmark: the signal job's own transforms over local Parquet.

What is timed is what `spark_jobs.candidate_signals.job.run` does between reading raw objects and committing:
read (explicit raw schema), `known_events` (knowledge-time filter + de-duplication), `build_datasets`'
candidate_signals, and `to_table` (collect as Arrow, contract schema, deterministic order). The raw objects come
from local files instead of S3 here, so the benchmark measures the computation, not moto_server over HTTP.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from hiring_signals.contract.raw_schema import raw_event_column_names, raw_event_spark_ddl
from spark_jobs.candidate_signals import job
from spark_jobs.candidate_signals import transforms as t


def read_raw(spark, files: list[str]):
    """Raw events from local Parquet files with the contract's explicit schema (no inference, no listing)."""
    return spark.read.schema(raw_event_spark_ddl()).parquet(*files).select(*raw_event_column_names())


def candidate_signals_table(spark, files: list[str], as_of_date: date, as_of_end: datetime,
                            params: t.SignalParams = t.SignalParams()) -> pa.Table:
    # Rounds must not share work: a `known` frame cached by an earlier round was seen to survive its
    # unpersist() and serve the next round's identical plan from memory (5 jobs instead of 25).
    spark.catalog.clearCache()
    known = job.known_events(read_raw(spark, files), as_of_end)
    try:
        frame = job.build_datasets(known, as_of_date, as_of_end, params)["candidate_signals"]
        return job.to_table(frame, "candidate_signals")
    finally:
        known.unpersist()
