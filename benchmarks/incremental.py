"""Incremental versus full: the nightly run from the previous day's state against a rebuild from all history.

Both sides do what the job does on a day: compute the curated candidate_signals and collect them, and collect
the new state (which is what makes the next day incremental). Full: `build_state` over every daily partition
up to the as-of date. Incremental: `merge_state` of the previous day's state (built beforehand, written as
local Parquet and read back, like the job's read_state from the lake) with only the new day's partition.
The two outputs must be identical, or the timing is void and the run fails.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.scale_events import AS_OF_DATE
from benchmarks.spark_side import read_raw
from spark_jobs.candidate_signals import job
from spark_jobs.candidate_signals import state as signal_state


def _end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), clock.min, tzinfo=timezone.utc)


def _collect(st: signal_state.SignalState, as_of_date: date, params):
    """candidate_signals and every state table, collected (what the job commits)."""
    st = st.cache()
    try:
        frame = signal_state.datasets_from_state(st, as_of_date, st.as_of_end, params)["candidate_signals"]
        signals = job.to_table(frame, "candidate_signals")
        tables = {name: signal_state.state_table(st.tables[name], name) for name in signal_state.TABLES}
    finally:
        st.unpersist()
    return signals, tables


def _persisted(spark, tables, directory: Path, as_of_end: datetime) -> signal_state.SignalState:
    schemas = signal_state.state_schemas(spark)
    frames = {}
    for name, table in tables.items():
        path = directory / f"{name}.parquet"
        pq.write_table(table, path)
        frames[name] = spark.read.schema(schemas[name]).parquet(str(path))
    return signal_state.SignalState(as_of_end, frames, {"pending_rows": tables["pending"].num_rows})


def time_incremental(spark, generated: dict, sizes: list[int], params, rounds_for) -> list[str]:
    rows = ["", f"{'events':>12}  {'incremental vs full (one new day)':<37}{'rounds':>9}{'median s':>10}"
                f"{'incr/full':>11}"]
    for size in sizes:
        events = generated[size]
        days = [d for d in events.days if d <= AS_OF_DATE]  # what the job plans: batches ending by the as-of end
        as_of, previous_day = days[-1], days[-2]
        rounds = rounds_for(size)
        full_s, incremental_s = [], []
        with tempfile.TemporaryDirectory(prefix="hs-bench-state-") as tmp:
            _, previous_tables = _collect(signal_state.build_state(read_raw(spark, events.files(days[:-1])),
                                                                   _end(previous_day)), previous_day, params)
            previous = _persisted(spark, previous_tables, Path(tmp), _end(previous_day))
            full_out = incremental_out = None
            for _ in range(rounds):
                spark.catalog.clearCache()  # no round reuses another's cached frames
                began = time.perf_counter()
                full_out = _collect(signal_state.build_state(read_raw(spark, events.files(days)), _end(as_of)),
                                    as_of, params)
                full_s.append(time.perf_counter() - began)
                spark.catalog.clearCache()
                began = time.perf_counter()
                merged = signal_state.merge_state(previous, read_raw(spark, events.files([as_of])), _end(as_of))
                incremental_out = _collect(merged, as_of, params)
                incremental_s.append(time.perf_counter() - began)
        if not full_out[0].equals(incremental_out[0]):
            raise AssertionError(f"incremental candidate_signals differ from the full rebuild at {size:,} events")
        note = f"{rounds} round{'s' if rounds > 1 else ''}"
        full_m, incr_m = statistics.median(full_s), statistics.median(incremental_s)
        rows.append(f"{size:>12,}  {'full: state from all ' + str(len(days)) + ' days':<37}{note:>9}{full_m:>10.2f}")
        rows.append(f"{size:>12,}  {'incremental: previous state + 1 day':<37}{note:>9}{incr_m:>10.2f}"
                    f"{incr_m / full_m:>10.2f}x")
    rows.append("  (both compute and collect candidate_signals and the new state; outputs checked identical)")
    return rows

