"""Incremental versus full: the nightly run from the previous day's state against a rebuild from all history.

Both sides do what the job does on a day: compute the curated candidate_signals and write them, and write the
new state (which is what makes the next day incremental), each from the executors with the job's curated writer
(spark_jobs.io.curated_writer) into a local directory. Full: `build_state` over every daily partition up to the
as-of date. Incremental: `merge_state` of the previous day's state (built beforehand, written the same way and
read back, like the job's read_state from the lake) with only the new day's partition. The two outputs must be
byte-identical (same files, same content hashes), or the timing is void and the run fails.
"""

from __future__ import annotations

import shutil
import statistics
import time
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

from benchmarks.scale_events import AS_OF_DATE
from benchmarks.spark_side import read_raw
from spark_jobs.candidate_signals import job
from spark_jobs.candidate_signals import state as signal_state
from spark_jobs.io.curated_writer import Destination
from spark_jobs.session import run_concurrently


def _end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), clock.min, tzinfo=timezone.utc)


def _write(st: signal_state.SignalState, as_of_date: date, params, out_dir: Path, buckets: int,
           phases: dict | None = None):
    """candidate_signals and every state table written under `out_dir` (what the job commits): their files.

    As the job does it: the state cached and its tables counted concurrently (spark_jobs.session.run_concurrently),
    the state tables written concurrently, then candidate_signals. `phases` (optional) receives the seconds of
    each step: "state" (built or merged, cached, counted), "state_write" and "signals" (derived from the state and
    written)."""
    began = time.perf_counter()
    st = st.cache()
    run_concurrently(lambda name: st.tables[name].count(), signal_state.TABLES)
    state_done = time.perf_counter()
    destination = Destination.local(str(out_dir))

    def write_table(name: str) -> list[dict]:
        return signal_state.write_table_files(st.tables[name], name, destination=destination,
                                              prefix=f"state/{name}", buckets=buckets)

    try:
        tables = run_concurrently(write_table, signal_state.TABLES)
        state_written = time.perf_counter()
        frame = signal_state.datasets_from_state(st, as_of_date, st.as_of_end, params)["candidate_signals"]
        signals = job.write_curated(frame, "candidate_signals", as_of_date, destination, buckets)
    finally:
        st.unpersist()
    if phases is not None:
        phases.setdefault("state", []).append(state_done - began)
        phases.setdefault("state_write", []).append(state_written - state_done)
        phases.setdefault("signals", []).append(time.perf_counter() - state_written)
    return signals, tables


def _persisted(spark, tables: dict, directory: Path, as_of_end: datetime) -> signal_state.SignalState:
    schemas = signal_state.state_schemas(spark)
    frames = {}
    for name, files in tables.items():
        paths = [str(directory / f["key"]) for f in files]
        frames[name] = (spark.read.schema(schemas[name]).parquet(*paths) if paths
                        else spark.createDataFrame([], schemas[name]))
    return signal_state.SignalState(as_of_end, frames, {"pending_rows": sum(f["rows"] for f in tables["pending"])})


def _identity(files: list[dict]) -> list[tuple]:
    return [(f["key"], f["rows"], f["sha256"]) for f in files]


def time_incremental(spark, generated: dict, sizes: list[int], params, rounds_for, out_root: Path,
                     buckets: int) -> list[str]:
    rows = ["", f"{'events':>12}  {'incremental vs full (one new day)':<37}{'rounds':>9}{'median s':>10}"
                f"{'incr/full':>11}"]
    for size in sizes:
        events = generated[size]
        days = [d for d in events.days if d <= AS_OF_DATE]  # what the job plans: batches ending by the as-of end
        as_of, previous_day = days[-1], days[-2]
        rounds = rounds_for(size)
        full_s, incremental_s = [], []
        root = out_root / f"incremental-{size}"
        previous_dir = root / "previous"
        _, previous_tables = _write(signal_state.build_state(read_raw(spark, events.files(days[:-1])),
                                                             _end(previous_day)), previous_day, params,
                                    previous_dir, buckets)
        previous = _persisted(spark, previous_tables, previous_dir, _end(previous_day))
        full_out = incremental_out = None
        full_phases: dict[str, list[float]] = {}
        incremental_phases: dict[str, list[float]] = {}
        for k in range(rounds):
            for side in ("full", "incremental"):  # every round writes into fresh directories
                shutil.rmtree(root / f"{side}-{k}", ignore_errors=True)
            spark.catalog.clearCache()  # no round reuses another's cached frames
            began = time.perf_counter()
            full_out = _write(signal_state.build_state(read_raw(spark, events.files(days)), _end(as_of)),
                              as_of, params, root / f"full-{k + 1}", buckets, full_phases)
            full_s.append(time.perf_counter() - began)
            spark.catalog.clearCache()
            began = time.perf_counter()
            merged = signal_state.merge_state(previous, read_raw(spark, events.files([as_of])), _end(as_of))
            incremental_out = _write(merged, as_of, params, root / f"incremental-{k + 1}", buckets,
                                     incremental_phases)
            incremental_s.append(time.perf_counter() - began)
        if _identity(full_out[0]) != _identity(incremental_out[0]):
            raise AssertionError(f"incremental candidate_signals differ from the full rebuild at {size:,} events")
        shutil.rmtree(root, ignore_errors=True)
        note = f"{rounds} round{'s' if rounds > 1 else ''}"
        full_m, incr_m = statistics.median(full_s), statistics.median(incremental_s)
        rows.append(f"{size:>12,}  {'full: state from all ' + str(len(days)) + ' days':<37}{note:>9}{full_m:>10.2f}")
        rows.append(f"{size:>12,}  {'incremental: previous state + 1 day':<37}{note:>9}{incr_m:>10.2f}"
                    f"{incr_m / full_m:>10.2f}x")
        for phase, label in (("state", "state step only"), ("state_write", "state tables written"),
                             ("signals", "signals derived + written")):
            f_m, i_m = statistics.median(full_phases[phase]), statistics.median(incremental_phases[phase])
            rows.append(f"{size:>12,}  {'  ' + label + f' (full {f_m:.2f} s)':<37}{note:>9}{i_m:>10.2f}"
                        f"{i_m / f_m:>10.2f}x")
    rows.append("  (both compute and write candidate_signals and the new state from the executors; "
                "candidate_signals checked byte-identical)")
    rows.append("  state step: the state built (full) or merged (incremental), cached and counted per table. "
                "state tables written: every table rewritten whole. signals: every candidate's signals derived from "
                "that state and written; time-relative signals (recency, windows, days since) change for every "
                "candidate every day, so the last two are the same work in both modes.")
    return rows
