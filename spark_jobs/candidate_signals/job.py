"""Spark job: raw zone -> curated candidate signals, engagements and candidates as of one date.

    spark-submit --master $HS_SPARK_MASTER spark_jobs/candidate_signals/job.py --as-of-date 2026-05-30

(with PYTHONPATH = repo root; hiring_signals.pipeline.build_signals does exactly this.)

1. Inputs, decided on the driver from the raw manifests (never by listing data files): for every source in
   HS_SOURCES, the committed batches whose interval ends by `as_of_end` = D+1 00:00 UTC. A batch ending
   later can only hold events ingested after `as_of_end`, so it is skipped without being opened.
2. Read those Parquet objects (HS_SPARK_S3_IMPL=arrow: spark_jobs.io.s3_arrow_source; s3a: Spark's reader),
   keep the events known as of `as_of_end`, de-duplicate redeliveries, build the three datasets
   (spark_jobs.candidate_signals.transforms).
3. Gate: the GX suite 'candidate_signals' (Spark engine) on exactly the rows about to be committed; its
   result is stored under ops/validations/candidate_signals/D.json whatever the outcome. A failed gate
   commits nothing and the job exits with status 3 and the gate summary.
4. Commit each dataset as deterministic Parquet (sorted rows, fixed writer options, content-hashed names)
   with its manifest; candidate_signals is committed last, so its manifest marks a complete snapshot.
   Rerunning a date over the same raw input rewrites identical bytes.
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
from hiring_signals.ingest import parquet_bytes
from hiring_signals.pipeline import as_of_end as as_of_end_for
from hiring_signals.pipeline import committed_intervals, completeness_watermark
from hiring_signals.quality import GateFailed, enforce, validate
from hiring_signals.drops import SOURCE as DROP_SOURCE, drop_manifests
from hiring_signals.storage import Lake, StagedFile, canonical_json, commit_batch
from hiring_signals.storage import layout
from spark_jobs.candidate_signals import transforms as t
from spark_jobs.io.s3_arrow_source import S3Object, read_parquet_arrow, read_parquet_s3a
from spark_jobs.session import session_for

log = logging.getLogger("hs.spark.candidate_signals")

GATE_SUITE = "candidate_signals"
EXIT_GATE_FAILED = 3
ROWS_PER_CURATED_FILE = 1_000_000
# Commit order: the signals manifest last, so its presence means the whole snapshot is there.
COMMIT_ORDER = ("candidates", "engagements", "candidate_signals")


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


def read_raw_events(spark, settings: Settings, inputs: RawInputs):
    if settings.spark_s3_impl == "s3a":
        return read_parquet_s3a(spark, raw_event_spark_ddl(), inputs.objects)
    return read_parquet_arrow(spark, raw_event_spark_ddl(), settings.s3.arrow_fs_kwargs(), inputs.objects)


def known_events(raw_events, as_of_end: datetime):
    """The de-duplicated events known as of `as_of_end`, cached: every dataset is built from them."""
    return t.dedupe_events(t.known_as_of(raw_events, as_of_end)).cache()


def event_reconciliation(inputs: RawInputs, known) -> dict[str, dict]:
    """Per source: raw rows read, distinct events kept, redeliveries dropped. Raw batches are immutable and
    de-duplicated only within themselves, so a record a source served again in a later interval is dropped
    here, where every batch is in view; the counts say how many."""
    raw_rows: dict[str, int] = {}
    for batch in inputs.batches:
        raw_rows[batch["source"]] = raw_rows.get(batch["source"], 0) + batch["rows"]
    distinct = {row["source"]: row["count"] for row in known.groupBy("source").count().collect()}
    return {source: {"raw_rows": rows, "distinct_events": distinct.get(source, 0),
                     "redeliveries_dropped": rows - distinct.get(source, 0)}
            for source, rows in sorted(raw_rows.items())}


def signal_params(settings: Settings) -> t.SignalParams:
    return t.SignalParams(half_life_days=settings.signal_half_life_days)


def build_datasets(known, as_of_date: date, as_of_end: datetime, params: t.SignalParams = t.SignalParams()) -> dict:
    """The three curated datasets (Spark DataFrames) from the known events."""
    return {
        "candidate_signals": t.candidate_signals(known, as_of_date, as_of_end, params),
        "engagements": t.engagements(known, as_of_date),
        "candidates": t.candidates(known, as_of_date),
    }


def to_table(frame, dataset: str) -> pa.Table:
    """A curated dataset collected to the driver as Arrow, in contract schema and deterministic row order.

    Collecting on the driver is deliberate at this scale: curated outputs are per-candidate aggregates, and
    one driver-side writer gives sorted, content-hashed files and one atomic manifest commit through the same
    code as every other zone. It is also the limit to watch: 10^6 candidates x 30 signals, each row with its
    plain-language reason, is a few GB of Arrow on the driver; past that the write moves to a distributed
    writer with the same manifest commit.
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


def staged_files(table: pa.Table, dataset: str, as_of_date: date) -> list[StagedFile]:
    prefix = layout.curated_prefix(dataset, as_of_date)
    return [
        StagedFile("curated", prefix, "parquet", parquet_bytes(table.slice(start, ROWS_PER_CURATED_FILE)),
                   rows=min(ROWS_PER_CURATED_FILE, table.num_rows - start))
        for start in range(0, table.num_rows, ROWS_PER_CURATED_FILE)
    ]


def manifest_body(dataset: str, as_of_date: date, as_of_end: datetime, row_counts: dict[str, int],
                  inputs: RawInputs, gate: dict, events: dict | None = None,
                  params: t.SignalParams = t.SignalParams()) -> dict:
    """Manifest fields besides the file list; no wall-clock values, so reruns write identical bytes."""
    return {
        "zone": "curated", "kind": dataset, "dataset": dataset,
        "as_of_date": as_of_date.isoformat(), "as_of_end": as_of_end.isoformat(),
        "feature_version": FEATURE_VERSION, "vocabulary_version": VOCABULARY_VERSION,
        "rubric_version": RUBRIC_VERSION, "parameters": params.as_dict(), "signals": list(SIGNAL_NAMES),
        "rows": row_counts[dataset], "snapshot_rows": dict(sorted(row_counts.items())),
        "inputs": {"batches": [b["batch_id"] for b in inputs.batches], "files": len(inputs.objects),
                   "rows": inputs.rows, "sources": inputs.sources, "events": events or {}},
        "validation": gate,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--as-of-date", required=True, type=date.fromisoformat,
                        help="YYYY-MM-DD: signals use events known by the end of this UTC day")
    return parser.parse_args(argv)


def run(spark, settings: Settings, as_of_date: date) -> int:
    as_of_end = as_of_end_for(as_of_date)
    lake = Lake(settings.s3)
    began = time.perf_counter()
    inputs = plan_raw_inputs(lake, settings.sources, as_of_end)
    incomplete = sorted(s for s, v in inputs.sources.items() if not v["complete"])
    if incomplete:
        log.warning("raw batches do not cover every day up to %s for %s", as_of_end.isoformat(), incomplete)
    log.info("as of %s: %d batches, %d files, %d raw rows", as_of_date, len(inputs.batches), len(inputs.objects),
             inputs.rows)

    known = known_events(read_raw_events(spark, settings, inputs), as_of_end)
    events = event_reconciliation(inputs, known)
    log.info("events per source (raw rows = distinct events + redeliveries across batches): %s", events)
    params = signal_params(settings)
    datasets = build_datasets(known, as_of_date, as_of_end, params)
    tables = {name: to_table(datasets[name], name) for name in COMMIT_ORDER}
    known.unpersist()
    row_counts = {name: table.num_rows for name, table in tables.items()}
    computed = time.perf_counter()
    log.info("computed and collected the datasets in %.1fs: %s", computed - began, row_counts)

    # The gate sees exactly the rows that would be committed: a Spark DataFrame over the collected table
    # (GX on a small local relation costs a few seconds; on the lazily computed frame it re-runs the
    # whole plan per metric).
    gate = validate(GATE_SUITE, spark.createDataFrame(tables[GATE_SUITE]),
                    batch=f"{GATE_SUITE}/{as_of_date.isoformat()}", engine="spark")
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

    for name in COMMIT_ORDER:
        commit_batch(
            lake,
            manifest_ref=layout.curated_manifest_ref(lake, name, as_of_date),
            files=staged_files(tables[name], name, as_of_date),
            batch_prefixes=[("curated", layout.curated_prefix(name, as_of_date))],
            body=manifest_body(name, as_of_date, as_of_end, row_counts, inputs, gate_summary, events, params),
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
        return run(spark, settings, args.as_of_date)
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
