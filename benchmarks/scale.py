"""`make bench-scale` (and the last table of `make bench`): the signal job at 10^6 / 10^7 events, Spark local[2]
against a DuckDB SQL reference computing the same candidate_signals (checked equal), side by side in one run.

    HS_BENCH_SCALE_SIZES=1000000,10000000 python -m benchmarks.scale

Per size: generate (or reuse) the raw events (benchmarks.scale_events), run DuckDB (threads=2) and Spark
(local[2], the job's transforms and its executor-side curated writer into a local directory) for the configured rounds, check every (candidate, signal)
equal (benchmarks.reference_signals.compare_signals: any difference fails the run with examples), print
median seconds, events/s and the Spark/DuckDB ratio. JVM start-up and a warm-up query (class loading, first
code generation) are measured and reported apart from the timed rounds. The Spark rounds are profiled from the
event log (benchmarks.spark_profile) and the largest size's last round is printed stage by stage.
The incremental path (spark_jobs.candidate_signals.state) is timed against a full rebuild when it exists.

Numbers on a shared machine move with its load: the load average is printed before and after.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

from benchmarks import reference_signals as ref
from benchmarks.scale_events import AS_OF_DATE, GENERATOR_VERSION, generate_cached
from benchmarks.spark_profile import event_log_conf, format_profile, parse_event_log
from benchmarks.spark_side import candidate_signals_table, read_written, write_candidate_signals
from hiring_signals.config import SETTINGS_DOC

# Benchmark knobs (read here: they tune a measurement, not the pipeline), with their defaults.
# Documented with every other setting in hiring_signals/config.py (`hs config` prints them).
BENCH_SETTINGS = {s.name: (s.default, s.doc) for s in SETTINGS_DOC if s.name.startswith("HS_BENCH_")}
SPARK_MASTER = "local[2]"
DUCKDB_THREADS = 2


def bench_setting(name: str, env=os.environ) -> str:
    return env.get(name, BENCH_SETTINGS[name][0])


def _positive_ints(name: str) -> list[int]:
    raw = bench_setting(name)
    try:
        values = [int(v.replace("_", "")) for v in raw.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise SystemExit(f"{name} must be positive integers separated by commas, got {raw!r}")
    return values


def spark_conf_overrides() -> dict[str, str]:
    raw = bench_setting("HS_BENCH_SPARK_CONF").strip()
    pairs = [p.split("=", 1) for p in raw.split(";") if p.strip()]
    if any(len(p) != 2 or not p[0].strip() for p in pairs):
        raise SystemExit(f"HS_BENCH_SPARK_CONF must be 'key=value;key=value', got {raw!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), clock.min, tzinfo=timezone.utc)


@dataclass
class Timing:
    size: int
    engine: str
    rounds: list[float]
    note: str = ""
    cpu: list[float] | None = None  # CPU seconds per round: DuckDB's process, Spark's tasks (event log)

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)


def _timed(fn):
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run_scale(sizes: list[int], out=sys.stdout) -> None:
    from hiring_signals.config import load_settings
    from spark_jobs.candidate_signals.job import signal_params
    from spark_jobs.session import build_session, driver_conf

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Spark's Python workers: this interpreter
    settings = load_settings()
    params = signal_params(settings)
    seed = _positive_ints("HS_BENCH_SCALE_SEED")[0]
    rounds_small, large = _positive_ints("HS_BENCH_SCALE_ROUNDS")[0], _positive_ints("HS_BENCH_SCALE_LARGE")[0]
    rounds_large = _positive_ints("HS_BENCH_SCALE_LARGE_ROUNDS")[0]
    overrides = spark_conf_overrides()
    as_of_end = end_of(AS_OF_DATE)
    print(f"\nCandidate signals at scale: Spark {SPARK_MASTER} vs DuckDB (threads={DUCKDB_THREADS}), as of "
          f"{AS_OF_DATE}; load average before {_load()}", file=out)

    generated = {}
    for size in sizes:
        cached = (settings.home / "bench").exists()
        gen_s, generated[size] = _timed(lambda: generate_cached(settings.home, size, seed))
        print(f"  events {size:,}: {len(generated[size].days)} daily Parquet partitions under {generated[size].root} "
              f"({'generated' if gen_s > 1 or not cached else 'cached'} in {gen_s:.1f}s; generator v{GENERATOR_VERSION}, "
              f"seed {seed})", file=out)

    timings: list[Timing] = []
    comparisons = {}
    profiles = {}
    with tempfile.TemporaryDirectory(prefix="hs-spark-events-") as log_dir, \
            tempfile.TemporaryDirectory(prefix="hs-bench-curated-") as out_root:
        # the job's driver sizing (HS_SPARK_DRIVER_*), with the benchmark's own heap setting on top
        memory = {**driver_conf(settings), "spark.driver.memory": bench_setting("HS_BENCH_SPARK_DRIVER_MEMORY")}
        jvm_s, spark = _timed(lambda: build_session("hs-bench-scale", SPARK_MASTER,
                                                    extra_conf={**event_log_conf(Path(log_dir)), **memory, **overrides}))
        try:
            # warm-up: class loading and code generation depend on the plan, not the data, so a few days do
            first = generated[min(sizes)]
            warm_day = first.days[min(2, len(first.days) - 1)]
            warm_s, _ = _timed(lambda: candidate_signals_table(spark, first.files(first.days[:3]), warm_day,
                                                               end_of(warm_day), params, settings.curated_buckets))
            print(f"  Spark: JVM + session start-up {jvm_s:.1f}s, warm-up query (three days of the smallest size) "
                  f"{warm_s:.1f}s, both outside the timed rounds; project session settings plus {memory | overrides}",
                  file=out)
            for size in sizes:
                events = generated[size]
                rounds = rounds_small if size < large else rounds_large
                con = ref.connect(DUCKDB_THREADS)
                duck_rounds, reference = [], None
                duck_cpu = []
                for _ in range(rounds):
                    cpu_before = time.process_time()
                    seconds, reference = _timed(lambda: ref.reference_signals(con, events.files(), as_of_end, params))
                    duck_rounds.append(seconds)
                    duck_cpu.append(time.process_time() - cpu_before)
                    print(f"  .. {size:,} events, DuckDB round {len(duck_rounds)}: {seconds:.1f}s", file=out, flush=True)
                con.close()
                spark_rounds, windows = [], []
                for k in range(rounds):
                    # each round writes into a fresh directory (the previous one removed); the last is checked below
                    out_dir = Path(out_root) / f"{size}-round{k + 1}"
                    shutil.rmtree(Path(out_root) / f"{size}-round{k}", ignore_errors=True)
                    began_ms = int(time.time() * 1000)
                    seconds, written = _timed(lambda: write_candidate_signals(
                        spark, events.files(), AS_OF_DATE, as_of_end, out_dir, params, settings.curated_buckets))
                    spark_rounds.append(seconds)
                    windows.append((began_ms, int(time.time() * 1000)))
                    print(f"  .. {size:,} events, Spark round {k + 1}: {seconds:.1f}s, {len(written)} files, "
                          f"{sum(f['rows'] for f in written):,} rows (load {_load()})", file=out, flush=True)
                profiles[size] = (windows[-1], spark_rounds[-1], windows)
                # read back outside the timing: only the compared columns (the reasons are most of the bytes)
                spark_table = read_written(out_dir, written, ref.RESULT_SCHEMA.names)
                comparisons[size] = ref.compare_signals(spark_table, reference)  # raises SignalMismatch
                del spark_table, reference
                note = f"{rounds} round{'s' if rounds > 1 else ''}"
                timings += [Timing(size, "DuckDB SQL reference", duck_rounds, note, duck_cpu),
                            Timing(size, f"Spark {SPARK_MASTER}", spark_rounds, note)]
            incremental = _incremental_rows(spark, generated, sizes, params,
                                            lambda size: rounds_small if size < large else rounds_large,
                                            Path(out_root), settings.curated_buckets)
        finally:
            spark.stop()
        app_log = next(Path(log_dir).iterdir())
        largest = max(sizes)
        profile = parse_event_log(app_log, profiles[largest][0])
        for t in timings:
            if t.cpu is None:
                t.cpu = [parse_event_log(app_log, window).cpu_s for window in profiles[t.size][2]]

    print(f"\n{'events':>12}  {'engine':<28}{'rounds':>9}{'median s':>10}{'events/s':>13}{'Spark/DuckDB':>14}"
          f"{'CPU s':>9}{'CPU ratio':>11}", file=out)
    for size in sizes:
        duck, spark_t = [t for t in timings if t.size == size]
        for t in (duck, spark_t):
            cpu = statistics.median(t.cpu)
            ratio = f"{spark_t.median / duck.median:>13.1f}x" if t is spark_t else f"{'':>14}"
            cpu_ratio = f"{cpu / statistics.median(duck.cpu):>10.1f}x" if t is spark_t else f"{'':>11}"
            print(f"{size:>12,}  {t.engine:<28}{t.note:>9}{t.median:>10.2f}{size / t.median:>13,.0f}{ratio}"
                  f"{cpu:>9.1f}{cpu_ratio}", file=out)
    print("  CPU s: DuckDB's process CPU time; Spark's summed task CPU time (event log; excludes driver planning "
          "and the manifest). On a loaded machine wall time waits for cores; CPU time does not.", file=out)
    for row in incremental:
        print(row, file=out)
    for size, c in comparisons.items():
        print(f"  equal at {size:,} events: {c.rows:,} (candidate, signal) rows for {c.candidates:,} candidates, "
              f"values and evidence counts identical (max relative difference {c.max_relative_difference:.1e})",
              file=out)
    print(f"  load average after {_load()} (2 cores)", file=out)
    if profile.stages:
        print(f"\nSpark profile, {largest:,} events, last round (event log; stages by wall time, concurrent stages "
              "overlap):", file=out)
        print(format_profile(profile, profiles[largest][1]), file=out)


def _incremental_rows(spark, generated, sizes, params, rounds_for, out_root: Path, buckets: int) -> list[str]:
    if bench_setting("HS_BENCH_SCALE_INCREMENTAL").strip().lower() in ("false", "0", "no"):
        return ["  incremental vs full: not measured in this run (HS_BENCH_SCALE_INCREMENTAL=false)"]
    try:
        from spark_jobs.candidate_signals import state  # noqa: F401
    except ImportError:
        return ["  incremental vs full: not measured; spark_jobs/candidate_signals/state.py (the incremental "
                "path) does not exist yet"]
    from benchmarks.incremental import time_incremental

    return time_incremental(spark, generated, sizes, params, rounds_for, out_root, buckets)


def main() -> None:
    run_scale(_positive_ints("HS_BENCH_SCALE_SIZES"))


if __name__ == "__main__":
    main()
