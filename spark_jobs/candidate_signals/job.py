"""Spark job: raw zone -> curated candidate signals, engagements and candidates as of one date.

    spark-submit --master $HS_SPARK_MASTER spark_jobs/candidate_signals/job.py --as-of-date 2026-05-30

(with PYTHONPATH = repo root; hiring_signals.pipeline.build_signals does exactly this.)

1. Inputs, decided on the driver from the raw manifests (never by listing data files): for every source in
   HS_SOURCES, the committed batches whose interval ends by `as_of_end` = D+1 00:00 UTC. A batch ending
   later can only hold events ingested after `as_of_end`, so it is skipped without being opened.
2. Choose the computation (--mode auto | full | incremental, `choose_computation`): incremental when the
   latest committed entity state before D is compatible (state, feature, vocabulary and rubric versions) and
   every raw object it consumed is still planned; full otherwise (the reason is logged and recorded).
   full: read every planned object (HS_SPARK_S3_IMPL=arrow: spark_jobs.io.s3_arrow_source; s3a: Spark's
   reader) and build the state (spark_jobs.candidate_signals.state.build_state).
   incremental: read the previous state plus only the planned objects it has not consumed, and merge
   (state.merge_state; a de-duplication conflict falls back to full in auto mode).
   Either way the three datasets are derived from the state (state.datasets_from_state), so both modes
   commit the same bytes.
3. Gate: the GX suite 'candidate_signals' (Spark engine) on exactly the rows about to be committed (the
   persisted frame the writer then writes); its result is stored under ops/validations/candidate_signals/D.json
   whatever the outcome. A failed gate commits nothing and the job exits with status 3 and the gate summary.
4. Commit the state of D (its tables, then the state manifest listing the raw objects it consumed), then
   each dataset. Data never passes through the driver: the executors write every table as deterministic
   Parquet (spark_jobs.io.curated_writer: HS_CURATED_BUCKETS hash buckets of the dataset's key, one sorted
   file per non-empty bucket, fixed writer options, names part-<bucket>-<content hash>) straight to the
   lake and return per-file metadata; the driver then commits each manifest (storage.commit_uploaded: the
   same conditional PUT and garbage collection as every zone). The three datasets' files are uploaded
   before any of their manifests is committed (each manifest records every dataset's row count), and
   candidate_signals is committed last, so its manifest marks a complete snapshot. The manifests record the
   mode and the delta's size. Rerunning a date over the same raw input rewrites identical bytes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from hiring_signals.config import Settings, load_settings
from hiring_signals.contract.curated_schema import CURATED_SCHEMAS, FEATURE_VERSION, RUBRIC_VERSION, SIGNAL_NAMES
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION
from hiring_signals.contract.raw_schema import raw_event_spark_ddl
from hiring_signals.ingest import PARQUET_OPTIONS
from hiring_signals.pipeline import as_of_end as as_of_end_for
from hiring_signals.pipeline import committed_intervals, completeness_watermark
from hiring_signals.quality import GateFailed, enforce, validate
from hiring_signals.drops import SOURCE as DROP_SOURCE, drop_manifests
from hiring_signals.storage import Lake, canonical_json, commit_uploaded
from hiring_signals.storage import layout
from spark_jobs.candidate_signals import state as st
from spark_jobs.candidate_signals import transforms as t
from spark_jobs.io.curated_writer import Destination, write_dataset
from spark_jobs.io.s3_arrow_source import S3Object, read_parquet_arrow, read_parquet_s3a
from spark_jobs.session import run_concurrently, session_for, small_input_mode

log = logging.getLogger("hs.spark.candidate_signals")

GATE_SUITE = "candidate_signals"
EXIT_GATE_FAILED = 3
# Commit order: the signals manifest last, so its presence means the whole snapshot is there.
COMMIT_ORDER = ("candidates", "engagements", "candidate_signals")
MODES = ("auto", "full", "incremental")
EXIT_INCREMENTAL_IMPOSSIBLE = 4


@dataclass(frozen=True)
class RawInputs:
    """What the job reads: the raw objects and the batches they belong to."""

    objects: list[S3Object]  # in manifest order
    batches: list[dict]  # one entry per batch read (id, source, interval, files, rows)
    sources: dict[str, dict]  # per source: batches read and gap-free coverage up to as_of_end

    @property
    def rows(self) -> int:
        return sum(b["rows"] for b in self.batches)


def plan_raw_inputs(lake: Lake, sources: tuple[str, ...], as_of_end: datetime) -> RawInputs:
    """Raw objects of every committed batch whose interval ends by `as_of_end` (data skipping by manifest)."""
    objects: list[S3Object] = []
    batches: list[dict] = []
    per_source: dict[str, dict] = {}
    for source in sources:
        intervals = [i for i in committed_intervals(lake, source) if i.end <= as_of_end]
        for interval in intervals:
            manifest = lake.get_json(layout.raw_manifest_ref(lake, source, interval))
            files = [f for f in manifest["files"] if f["zone"] == "raw"]
            objects.extend(S3Object(f"{f['bucket']}/{f['key']}", int(f["bytes"])) for f in files)
            batches.append({"batch_id": manifest["batch_id"], "source": source, "interval": interval.as_dict(),
                            "files": len(files), "rows": sum(int(f["rows"]) for f in files)})
        watermark = completeness_watermark(intervals)
        per_source[source] = {
            "batches": len(intervals),
            "covered_until": watermark.isoformat() if watermark else None,
            "complete": watermark is not None and watermark >= as_of_end,
        }
    # Recruiter file drops: event-driven, one batch per landed file, never gating completeness. Those received
    # up to the day after as_of_end are read (a superset); known_as_of makes the exact bitemporal cut.
    drop_batches = drop_manifests(lake, until=(as_of_end + timedelta(days=1)).date())
    for manifest in drop_batches:
        files = [f for f in manifest["files"] if f["zone"] == "raw"]
        objects.extend(S3Object(f"{f['bucket']}/{f['key']}", int(f["bytes"])) for f in files)
        batches.append({"batch_id": manifest["batch_id"], "source": DROP_SOURCE, "interval": None,
                        "files": len(files), "rows": sum(int(f["rows"]) for f in files)})
    if drop_batches:
        per_source[DROP_SOURCE] = {"batches": len(drop_batches), "event_driven": True, "complete": True}
    return RawInputs(objects, batches, per_source)


def read_raw_events(spark, settings: Settings, inputs: RawInputs, objects: list[S3Object] | None = None):
    """The raw rows of `objects` (default: every planned object)."""
    objects = inputs.objects if objects is None else objects
    if settings.spark_s3_impl == "s3a":
        return read_parquet_s3a(spark, raw_event_spark_ddl(), objects)
    return read_parquet_arrow(spark, raw_event_spark_ddl(), settings.s3.arrow_fs_kwargs(), objects)


def known_events(raw_events, as_of_end: datetime):
    """The de-duplicated events known as of `as_of_end`, cached."""
    return t.dedupe_events(t.known_as_of(raw_events, as_of_end)).cache()


@dataclass(frozen=True)
class Computation:
    """How this run computes the state: from scratch, or from `previous` (a state manifest) plus `delta`."""

    mode: str  # full | incremental
    reason: str
    previous: dict | None = None
    delta: tuple[S3Object, ...] = ()

    def summary(self) -> dict:
        out = {"mode": self.mode, "reason": self.reason}
        if self.previous is not None:
            out.update({"previous_state": self.previous["as_of_date"], "delta_files": len(self.delta),
                        "delta_bytes": sum(o.size for o in self.delta)})
        return out


def choose_computation(lake: Lake, inputs: RawInputs, as_of_date: date, requested: str = "auto") -> Computation:
    """Incremental from the latest state before `as_of_date` when it can equal a rebuild, else full (and why).

    The state must have the current state, feature, vocabulary and rubric versions, and every raw object it
    consumed must still be planned (raw objects are content-addressed, so a rewritten batch shows up as a
    consumed object that disappeared). The delta is every planned object it has not consumed: the new day's
    batches, and equally a batch committed late for an earlier day or a source added to HS_SOURCES.
    """
    if requested not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {requested!r}")
    if requested == "full":
        return Computation("full", "requested")
    previous = st.previous_state_manifest(lake, as_of_date)
    if previous is None:
        return Computation("full", f"no committed state before {as_of_date.isoformat()}")
    expected = st.state_compatibility()
    differing = sorted(k for k, v in expected.items() if previous.get(k) != v)
    if differing:
        return Computation("full", f"state {previous['as_of_date']} differs in {', '.join(differing)}")
    planned = {o.path: o for o in inputs.objects}
    consumed = set(previous["consumed_objects"])
    vanished = sorted(consumed - set(planned))
    if vanished:
        return Computation("full", f"{len(vanished)} raw object(s) state {previous['as_of_date']} consumed are no "
                                   f"longer planned (raw zone rewritten or HS_SOURCES changed), e.g. {vanished[0]}")
    delta = tuple(o for o in inputs.objects if o.path not in consumed)
    return Computation("incremental", f"state {previous['as_of_date']} + {len(delta)} new raw object(s)",
                       previous, delta)


def compute_state(spark, settings: Settings, inputs: RawInputs, computation: Computation, as_of_end: datetime,
                  rebuild_on_conflict: bool = True) -> tuple[st.SignalState, Computation]:
    """The state as of `as_of_end` the way `computation` says. An incremental merge that hits a de-duplication
    conflict is redone in full when `rebuild_on_conflict` (the returned Computation says so), else raises."""
    if computation.mode == "incremental":
        previous = st.read_state(spark, settings, computation.previous)
        try:
            return st.merge_state(previous, read_raw_events(spark, settings, inputs, list(computation.delta)),
                                  as_of_end), computation
        except st.DedupeConflict as conflict:
            if not rebuild_on_conflict:
                raise
            log.warning("incremental merge impossible, rebuilding in full: %s", conflict)
            computation = Computation("full", f"de-duplication conflict: {conflict}")
    return st.build_state(read_raw_events(spark, settings, inputs), as_of_end), computation


def _incremental_impossible(reason: str) -> int:
    log.error("incremental computation impossible: %s", reason)
    print(f"incremental computation impossible: {reason}", file=sys.stderr)
    return EXIT_INCREMENTAL_IMPOSSIBLE


def event_reconciliation(inputs: RawInputs, keys) -> dict[str, dict]:
    """Per source: raw rows read, distinct events kept, redeliveries dropped. Raw batches are immutable and
    de-duplicated only within themselves, so a record a source served again in a later interval is dropped
    here, where every batch is in view; the counts say how many. `keys`: the state's key index (one row per
    distinct known event)."""
    raw_rows: dict[str, int] = {}
    for batch in inputs.batches:
        raw_rows[batch["source"]] = raw_rows.get(batch["source"], 0) + batch["rows"]
    distinct = {row["source"]: row["count"] for row in keys.groupBy("source").count().collect()}
    return {source: {"raw_rows": rows, "distinct_events": distinct.get(source, 0),
                     "redeliveries_dropped": rows - distinct.get(source, 0)}
            for source, rows in sorted(raw_rows.items())}


def signal_params(settings: Settings) -> t.SignalParams:
    return t.SignalParams(half_life_days=settings.signal_half_life_days)


def build_datasets(known, as_of_date: date, as_of_end: datetime, params: t.SignalParams = t.SignalParams()) -> dict:
    """The three curated datasets (Spark DataFrames) from de-duplicated known events."""
    state = {name: frame.cache() for name, frame in t.entity_state(known, as_of_end).items()}
    return {
        "candidate_signals": t.candidate_signals_from_state(state, as_of_date, as_of_end, params),
        "engagements": t.engagements_from_state(state, as_of_date),
        "candidates": t.candidates_from_state(state, as_of_date),
    }


def to_table(frame, dataset: str) -> pa.Table:
    """A curated dataset collected to the driver as Arrow, in contract schema and deterministic row order.

    For tests and small frames only: the job itself never collects a dataset (write_curated writes from the
    executors), because at 10^7 events candidate_signals alone is 1.4 GiB of serialized results.
    """
    schema = CURATED_SCHEMAS[dataset]
    table = frame.toArrow().select(schema.names)
    for field in schema:
        if not field.nullable and table.column(field.name).null_count:
            raise ValueError(f"{dataset}.{field.name} is declared NOT NULL but has "
                             f"{table.column(field.name).null_count} null(s)")
    table = table.cast(schema)
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in t.SORT_KEYS[dataset]])
    # combine_chunks: Parquet page layout follows the input chunking, which follows Spark's partitioning.
    return table.take(order).combine_chunks()


def lake_destination(lake: Lake, settings: Settings) -> Destination:
    """The curated zone's bucket as the executors reach it (pyarrow's S3 client, same endpoint as the reader)."""
    return Destination.s3(lake.bucket_for("curated"), settings.s3.arrow_fs_kwargs())


def write_curated(frame, dataset: str, as_of_date: date, destination: Destination, buckets: int,
                  tasks: int | None = None) -> list[dict]:
    """Upload `dataset` (a Spark DataFrame) as HS_CURATED_BUCKETS-bucketed Parquet under its curated prefix,
    from the executors; returns the manifest's file entries (nothing is committed yet). The rows are bucketed
    on the dataset's sort key (its grain: unique per row, so buckets are even)."""
    keys = t.SORT_KEYS[dataset]
    written = write_dataset(frame, destination=destination,
                            prefix=f"curated/{layout.curated_prefix(dataset, as_of_date)}",
                            schema=CURATED_SCHEMAS[dataset], dataset=dataset, sort_keys=keys, bucket_keys=keys,
                            buckets=buckets, parquet_options=PARQUET_OPTIONS, tasks=tasks)
    return manifest_files(destination, "curated", written)


def manifest_files(destination: Destination, zone: str, written: list[dict]) -> list[dict]:
    """Writer output as manifest "files" entries (the format commit_batch has always written)."""
    return [{"zone": zone, "bucket": destination.root, "key": w["key"], "rows": w["rows"], "bytes": w["bytes"],
             "sha256": w["sha256"]} for w in written]


def manifest_body(dataset: str, as_of_date: date, as_of_end: datetime, row_counts: dict[str, int],
                  inputs: RawInputs, gate: dict, events: dict | None = None,
                  params: t.SignalParams = t.SignalParams(), computation: dict | None = None) -> dict:
    """Manifest fields besides the file list; no wall-clock values, so reruns write identical bytes."""
    return {
        "zone": "curated", "kind": dataset, "dataset": dataset,
        "as_of_date": as_of_date.isoformat(), "as_of_end": as_of_end.isoformat(),
        "feature_version": FEATURE_VERSION, "vocabulary_version": VOCABULARY_VERSION,
        "rubric_version": RUBRIC_VERSION, "parameters": params.as_dict(), "signals": list(SIGNAL_NAMES),
        "rows": row_counts[dataset], "snapshot_rows": dict(sorted(row_counts.items())),
        "inputs": {"batches": [b["batch_id"] for b in inputs.batches], "files": len(inputs.objects),
                   "rows": inputs.rows, "sources": inputs.sources, "events": events or {}},
        "validation": gate, "computation": computation or {},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--as-of-date", required=True, type=date.fromisoformat,
                        help="YYYY-MM-DD: signals use events known by the end of this UTC day")
    parser.add_argument("--mode", choices=MODES, default="auto",
                        help="auto (default): incremental from the latest earlier state when it is compatible, "
                             "else full; full: rebuild from every raw batch; incremental: fail unless possible")
    return parser.parse_args(argv)


def run(spark, settings: Settings, as_of_date: date, mode: str = "auto") -> int:
    as_of_end = as_of_end_for(as_of_date)
    lake = Lake(settings.s3)
    began = time.perf_counter()
    inputs = plan_raw_inputs(lake, settings.sources, as_of_end)
    incomplete = sorted(s for s, v in inputs.sources.items() if not v["complete"])
    if incomplete:
        log.warning("raw batches do not cover every day up to %s for %s", as_of_end.isoformat(), incomplete)
    log.info("as of %s: %d batches, %d files, %d raw rows", as_of_date, len(inputs.batches), len(inputs.objects),
             inputs.rows)

    computation = choose_computation(lake, inputs, as_of_date, mode)
    if mode == "incremental" and computation.mode != "incremental":
        return _incremental_impossible(computation.reason)
    log.info("computation: %s (%s)", computation.mode, computation.reason)
    with small_input_mode(spark, inputs.rows, settings.spark_small_input_rows) as small:
        if small:
            log.info("small-input mode (%d raw rows <= HS_SPARK_SMALL_INPUT_ROWS): no code generation, no AQE",
                     inputs.rows)
        return _compute_gate_and_commit(spark, settings, lake, inputs, computation, as_of_date, as_of_end, mode,
                                        began, small)


def _compute_gate_and_commit(spark, settings: Settings, lake: Lake, inputs: RawInputs, computation,
                             as_of_date: date, as_of_end: datetime, mode: str, began: float, small: bool) -> int:
    try:
        state, computation = compute_state(spark, settings, inputs, computation, as_of_end,
                                           rebuild_on_conflict=mode != "incremental")
    except st.DedupeConflict as conflict:
        return _incremental_impossible(f"de-duplication conflict: {conflict}")
    state = state.cache()
    # Counting materialises the cached state (every later step reads it); nothing is collected.
    state_rows = run_concurrently(lambda name: state.tables[name].count(), st.TABLES)
    summary = {**computation.summary(), **{k: v for k, v in state.delta.items() if k != "mode"},
               "state_rows": state_rows}
    log.info("state as of %s: %s", as_of_date, summary)
    events = event_reconciliation(inputs, state.tables["keys"])
    log.info("events per source (raw rows = distinct events + redeliveries across batches): %s", events)
    params = signal_params(settings)
    datasets = st.datasets_from_state(state, as_of_date, as_of_end, params)
    # The gated rows are the written rows: the gate runs on this persisted frame (GX issues one Spark query per
    # metric; without it each would recompute the signals from the state) and the writer reads it again.
    gated = datasets[GATE_SUITE].select(*CURATED_SCHEMAS[GATE_SUITE].names).persist()
    datasets[GATE_SUITE] = gated
    computed = time.perf_counter()
    log.info("computed the state in %.1fs", computed - began)

    # The same suite either way. GX on Spark runs a Spark query per metric, about 10 s of fixed cost for this suite
    # even on a handful of rows; a small input's signals (a few hundred thousand rows at most) are cheaper to
    # bring to the driver once and validate with GX's pandas engine.
    gate = validate(GATE_SUITE, gated.toPandas() if small else gated, batch=f"{GATE_SUITE}/{as_of_date.isoformat()}",
                    engine="pandas" if small else "spark")
    lake.put(layout.validation_result_ref(lake, GATE_SUITE, as_of_date.isoformat()), canonical_json(gate.as_dict()),
             "application/json")
    try:
        enforce(gate)
    except GateFailed as failed:
        print(str(failed), file=sys.stderr)
        log.error("gate failed; nothing committed for %s", as_of_date)
        return EXIT_GATE_FAILED
    log.info("gate passed in %.1fs (%d expectations)", time.perf_counter() - computed, gate.evaluated)
    gate_summary = {"suite": gate.suite, "success": gate.success, "evaluated": gate.evaluated}

    destination = lake_destination(lake, settings)
    # A small input's tables fit a task per core; the files are the same (curated_writer.write_dataset).
    tasks = min(settings.curated_buckets, spark.sparkContext.defaultParallelism) if small else None
    # The state before the datasets (after the gate: a failed gate commits nothing): a crash between the two
    # leaves a state the next run merges into, never a snapshot without its state.
    st.write_state(lake, state, as_of_date, as_of_end,
                   {"consumed_objects": sorted(o.path for o in inputs.objects), "computation": summary},
                   destination=destination, buckets=settings.curated_buckets, tasks=tasks)
    # What each commit replaces is read before its files are uploaded (the commit is conditional on it).
    etags = {name: lake.etag(layout.curated_manifest_ref(lake, name, as_of_date)) for name in COMMIT_ORDER}
    files = run_concurrently(
        lambda name: write_curated(datasets[name], name, as_of_date, destination, settings.curated_buckets, tasks),
        COMMIT_ORDER)
    for name in COMMIT_ORDER:
        log.info("%s: %d file(s) written by the executors", name, len(files[name]))
    gated.unpersist()
    state.unpersist()
    row_counts = {name: sum(f["rows"] for f in files[name]) for name in COMMIT_ORDER}
    for name in COMMIT_ORDER:
        commit_uploaded(
            lake,
            manifest_ref=layout.curated_manifest_ref(lake, name, as_of_date),
            committed_etag=etags[name],
            listed=files[name],
            batch_prefixes=[("curated", layout.curated_prefix(name, as_of_date))],
            body=manifest_body(name, as_of_date, as_of_end, row_counts, inputs, gate_summary, events, params,
                               summary),
        )
    log.info("committed curated snapshot %s in %.1fs: %s", as_of_date, time.perf_counter() - began, row_counts)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)  # GX and py4j log a lot at INFO; keep theirs at WARNING
    args = parse_args(argv)
    settings = load_settings()
    spark = session_for(settings, f"hs-candidate-signals-{args.as_of_date.isoformat()}")
    try:
        return run(spark, settings, args.as_of_date, args.mode)
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
