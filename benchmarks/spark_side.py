"""The Spark side of the scale benchmark: the signal job's own transforms over local Parquet.

What is timed is what `spark_jobs.candidate_signals.job.run` does between reading raw objects and committing:
read (explicit raw schema), `known_events` (knowledge-time filter + de-duplication), `build_datasets`'
candidate_signals, and `write_curated` (the executors write HS_CURATED_BUCKETS sorted Parquet files in the
contract schema; only per-file metadata reaches the driver). The raw objects come from local files and the
output goes to a local directory instead of S3 here, so the benchmark measures the computation, not
moto_server over HTTP. Reading the written files back for the equality check is not part of the timing.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hiring_signals.contract.raw_schema import raw_event_column_names, raw_event_spark_ddl
from spark_jobs.candidate_signals import job
from spark_jobs.candidate_signals import transforms as t
from spark_jobs.io.curated_writer import Destination

DEFAULT_BUCKETS = 8  # HS_CURATED_BUCKETS' default; callers pass the configured value


def read_raw(spark, files: list[str]):
    """Raw events from local Parquet files with the contract's explicit schema (no inference, no listing)."""
    return spark.read.schema(raw_event_spark_ddl()).parquet(*files).select(*raw_event_column_names())


def write_candidate_signals(spark, files: list[str], as_of_date: date, as_of_end: datetime, out_dir: Path,
                            params: t.SignalParams = t.SignalParams(), buckets: int = DEFAULT_BUCKETS) -> list[dict]:
    """candidate_signals computed and written by the executors under `out_dir`; the manifest's file entries."""
    # Rounds must not share work: a `known` frame cached by an earlier round was seen to survive its
    # unpersist() and serve the next round's identical plan from memory (5 jobs instead of 25).
    spark.catalog.clearCache()
    known = job.known_events(read_raw(spark, files), as_of_end)
    try:
        frame = job.build_datasets(known, as_of_date, as_of_end, params)["candidate_signals"]
        return job.write_curated(frame, "candidate_signals", as_of_date, Destination.local(str(out_dir)), buckets)
    finally:
        known.unpersist()


def read_written(out_dir: Path, written: list[dict], columns: list[str] | None = None) -> pa.Table:
    """The written files back as one table, in manifest order (optionally only `columns`)."""
    tables = [pq.read_table(Path(out_dir) / f["key"], columns=columns) for f in written]
    return pa.concat_tables(tables) if tables else pa.table({})


def candidate_signals_table(spark, files: list[str], as_of_date: date, as_of_end: datetime,
                            params: t.SignalParams = t.SignalParams(), buckets: int = DEFAULT_BUCKETS) -> pa.Table:
    """write_candidate_signals into a temporary directory, read back (small inputs: warm-up, checks)."""
    with tempfile.TemporaryDirectory(prefix="hs-bench-curated-") as out_dir:
        written = write_candidate_signals(spark, files, as_of_date, as_of_end, Path(out_dir), params, buckets)
        return read_written(Path(out_dir), written)
