"""The pipeline's steps as plain functions of (settings, data interval / as-of date).

The DAGs in dags/ only wire these together; tests and the CLI call them directly. Each step is idempotent
for its key (source and interval, or as-of date) and says what it did in the dict it returns.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from hiring_signals.config import REPO_ROOT, Settings
from hiring_signals.identity import Pseudonymiser
from hiring_signals.storage import Interval, Lake, read_manifests
from hiring_signals.storage import layout

log = logging.getLogger(__name__)


class NothingToPublish(RuntimeError):
    """No as-of date is complete yet for every configured source."""


def _connector(settings: Settings, source: str):
    from hiring_signals.sources.registry import api_source

    return api_source(source).connector(settings)


def _to_envelope(settings: Settings, source: str):
    from hiring_signals.sources.registry import api_source

    return api_source(source).to_envelope(settings)


# --- ingestion ------------------------------------------------------------------------------------------

def daily_batches(start: datetime, end: datetime, until: date | None = None) -> list[Interval]:
    """Split a run's data interval into the batches it commits: one per UTC day (or the interval itself when
    it is shorter than a day), never past `until` (HS_INGEST_END_DATE)."""
    if until is not None:
        end = min(end, datetime.combine(until, time(0), tzinfo=timezone.utc))
    if end <= start:
        return []
    if end - start <= timedelta(days=1):
        return [Interval(start, end)]
    cuts = [start]
    midnight = datetime.combine(start.astimezone(timezone.utc).date() + timedelta(days=1), time(0), tzinfo=timezone.utc)
    while midnight < end:
        cuts.append(midnight)
        midnight += timedelta(days=1)
    cuts.append(end)
    return [Interval(a, b) for a, b in zip(cuts, cuts[1:])]


def extract(settings: Settings, source: str, start: datetime, end: datetime) -> dict:
    """Extract every daily batch of the run's interval to the landing zone."""
    from hiring_signals.ingest import extract_to_landing

    lake = Lake(settings.s3)
    connector = _connector(settings, source)
    batches = [extract_to_landing(lake, connector, i) for i in daily_batches(start, end, settings.ingest_end_date)]
    return {"source": source, "batches": len(batches), "records": sum(b["records"] for b in batches),
            "http": vars(connector.client.stats)}


def load(settings: Settings, source: str, start: datetime, end: datetime) -> dict:
    """Normalise, gate and commit every daily batch of the run's interval; totals reconcile per batch."""
    from hiring_signals.ingest import load_to_raw
    from hiring_signals.quality.gates import deferred_data_docs

    lake = Lake(settings.s3)
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    with deferred_data_docs():
        batches = [load_to_raw(lake, source, i, pseudonymiser, _to_envelope(settings, source))
                   for i in daily_batches(start, end, settings.ingest_end_date)]
    totals = {k: sum(b["counts"][k] for b in batches) for k in ("received", "accepted", "duplicates", "quarantined")}
    state = advance_ingest_state(lake, source)
    return {"source": source, "interval": {"start": start.isoformat(), "end": end.isoformat()},
            "batches": [b["batch_id"] for b in batches], "counts": totals,
            "late_events": sum(b["late_events"] for b in batches),
            "earliest_occurred_at": min((b["earliest_occurred_at"] for b in batches if b["earliest_occurred_at"]),
                                        default=None),
            "watermark": state["watermark"]}


def advance_ingest_state(lake: Lake, source: str, attempts: int = 10) -> dict:
    """Record the source's watermark (end of its gap-free committed history) in ops/state after a commit.

    Called only once the run's batches are committed, so the watermark never runs ahead of what readers can
    see; it is recomputed from the manifests (the truth) and written with a conditional PUT, so concurrent
    runs of different intervals cannot overwrite each other's progress with a stale value.
    """
    from hiring_signals.storage.lake import PreconditionFailed, canonical_json

    ref = layout.ingest_state_ref(lake, source)
    for _ in range(attempts):
        etag = lake.etag(ref)
        intervals = committed_intervals(lake, source)
        watermark = completeness_watermark(intervals)
        state = {"source": source, "watermark": watermark.isoformat() if watermark else None,
                 "committed_batches": len(intervals),
                 "first_interval_start": intervals[0].start.isoformat() if intervals else None,
                 "last_interval_end": max(i.end for i in intervals).isoformat() if intervals else None,
                 "gaps": [i.start.isoformat() for a, i in zip(intervals, intervals[1:]) if i.start > a.end]}
        try:
            lake.put_if(ref, canonical_json(state), etag=etag, content_type="application/json")
            return state
        except PreconditionFailed:
            continue
    raise RuntimeError(f"could not update {ref.uri}: {attempts} concurrent updates in a row")


def ingest_state(lake: Lake, source: str) -> dict | None:
    ref = layout.ingest_state_ref(lake, source)
    return lake.get_json(ref) if lake.exists(ref) else None


# --- completeness and as-of dates -----------------------------------------------------------------------

def committed_intervals(lake: Lake, source: str) -> list[Interval]:
    keys = lake.list_keys(lake.bucket_for("raw"), "raw/" + layout.raw_manifests_prefix(source))
    return sorted((Interval.parse_key(k.rsplit("/", 1)[1].removesuffix(".json")) for k in keys), key=lambda i: i.start)


def completeness_watermark(intervals: list[Interval]) -> datetime | None:
    """End of the gap-free run of committed intervals that starts at the earliest one.

    Signals for a date are published only when every interval up to it has landed, so a backfill running
    out of order (or a failed day) can never produce a snapshot that silently misses a day.
    """
    if not intervals:
        return None
    watermark = intervals[0].end
    for interval in intervals[1:]:
        if interval.start > watermark:
            break
        watermark = max(watermark, interval.end)
    return watermark


def as_of_date_for(knowledge_time: datetime) -> date:
    """The last whole UTC day known at `knowledge_time`: an as-of date D covers events ingested by the end of D."""
    midnight = knowledge_time.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - timedelta(days=1)).date()


def as_of_end(as_of_date: date) -> datetime:
    return datetime.combine(as_of_date + timedelta(days=1), time(0), tzinfo=timezone.utc)


def resolve_signals_as_of(settings: Settings) -> dict:
    """The as-of date the signal job should build now: the latest day complete for every source.

    Deliberately not capped by whichever interval triggered the run: Asset events are coalesced, and during
    an out-of-order backfill the event that completes the history may belong to an earlier interval.
    """
    lake = Lake(settings.s3)
    watermarks = {s: completeness_watermark(committed_intervals(lake, s)) for s in settings.sources}
    missing = sorted(s for s, w in watermarks.items() if w is None)
    if missing:
        raise NothingToPublish(f"no committed raw batches yet for source(s) {missing}")
    as_of = as_of_date_for(min(watermarks.values()))
    return {"as_of_date": as_of.isoformat(), "watermarks": {s: w.isoformat() for s, w in watermarks.items()}}


# --- Spark ----------------------------------------------------------------------------------------------

SPARK_JOB = REPO_ROOT / "spark_jobs" / "candidate_signals" / "job.py"


def spark_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
    return env


def build_signals(settings: Settings, as_of_date: date) -> dict:
    """Run the Spark signal job with spark-submit against HS_SPARK_MASTER (local or a cluster)."""
    from spark_jobs.session import driver_conf

    spark_submit = Path(sys.executable).parent / "spark-submit"
    # The driver's heap and result-size cap: on the command line, since the driver JVM is sized when it starts.
    sizing = [arg for key, value in driver_conf(settings).items() for arg in ("--conf", f"{key}={value}")]
    argv = [str(spark_submit), "--master", settings.spark_master, "--name", f"hs-candidate-signals-{as_of_date}",
            *sizing, str(SPARK_JOB), "--as-of-date", as_of_date.isoformat()]
    log.info("running %s", " ".join(argv))
    completed = subprocess.run(argv, env=spark_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in completed.stdout.splitlines():
        log.info("spark | %s", line)
    if completed.returncode != 0:
        tail = "\n".join(completed.stdout.splitlines()[-40:])
        raise RuntimeError(f"Spark signal job for {as_of_date} failed with exit code {completed.returncode}:\n{tail}")
    lake = Lake(settings.s3)
    return lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", as_of_date))


# --- warehouse and feed ---------------------------------------------------------------------------------

def snapshots_to_publish(settings: Settings, named: list[str]) -> list[str]:
    """The curated snapshots a publication loads, ascending: those its triggering events name, plus every complete
    snapshot (all curated datasets committed) newer than the latest published feed.

    Airflow 3.3 can leave an Asset event that arrives while a run of the DAG is queued unconsumed until another
    event comes (apache/airflow#56050): the demo's last snapshot was committed, announced, and never published.
    Reading what is committed, not only what was announced, closes that gap; loading is idempotent per as-of
    date, so a snapshot named twice is harmless."""
    from hiring_signals.contract.curated_schema import CURATED_SCHEMAS

    lake = Lake(settings.s3)
    latest = layout.feed_latest_ref(lake)
    published = lake.get_json(latest)["as_of_date"] if lake.exists(latest) else ""
    bucket = lake.bucket_for("curated")

    def as_of_dates(dataset: str) -> set[str]:
        prefix = lake.ref("curated", layout.curated_manifests_prefix(dataset)).key
        return {k[len(prefix):].removesuffix(".json") for k in lake.list_keys(bucket, prefix) if k.endswith(".json")}

    complete = set.intersection(*(as_of_dates(dataset) for dataset in CURATED_SCHEMAS))
    return sorted(set(named) | {d for d in complete if d > published})


def load_curated(settings: Settings, as_of_date: date) -> dict:
    """Load the curated snapshot and the raw batches it was built from into the warehouse (idempotent).

    The raw batches are exactly those the signal job read (the curated manifest's inputs.batches), so the
    warehouse's event-level marts are built from the same events as the snapshot; batches loaded before with
    the same content are skipped unread.
    """
    import pyarrow.parquet as pq
    import io

    from hiring_signals.contract.curated_schema import CURATED_SCHEMAS
    from hiring_signals.warehouse.loader import committed_raw_batches, load_curated_snapshot, load_raw_batches

    import pyarrow as pa

    lake = Lake(settings.s3)
    loaded = {}
    manifests = {}
    for dataset, schema in CURATED_SCHEMAS.items():
        manifest = manifests[dataset] = lake.get_json(layout.curated_manifest_ref(lake, dataset, as_of_date))
        tables = [pq.read_table(io.BytesIO(lake.get(lake.ref(f["zone"], f["key"])))) for f in manifest["files"]]
        table = pa.concat_tables(tables).cast(schema) if tables else schema.empty_table()
        loaded[dataset] = load_curated_snapshot(settings.warehouse, dataset, as_of_date, table)
    input_batches = manifests["candidate_signals"]["inputs"]["batches"]
    raw = load_raw_batches(settings.warehouse, as_of_date, committed_raw_batches(lake, input_batches))
    return {"as_of_date": as_of_date.isoformat(), "rows_loaded": loaded, "target": settings.warehouse.target,
            "raw_batches": {k: raw[k] for k in ("batches", "skipped", "rows_loaded")}}


def run_dbt_build(settings: Settings, log_dir: Path | None = None) -> dict:
    """`dbt build` (seeds, models with contracts, data tests, unit tests); raises DbtBuildFailed naming what failed."""
    from collections import Counter

    from hiring_signals.warehouse.dbt_runner import run_dbt

    result = run_dbt(["build"], settings.warehouse, log_dir=log_dir)
    log.info(result.summary())
    by_type = Counter(f"{n.resource_type}:{n.status}" for n in result.nodes)
    return {"target": settings.warehouse.target, "success": result.success, "nodes": len(result.nodes),
            "by_type_and_status": dict(sorted(by_type.items()))}


def previous_marts_validation(lake: Lake, target: str, as_of_date: date) -> dict | None:
    """The stored marts-gate result of the latest earlier as-of date on `target` that passed, if any.

    Earlier, not latest: rerunning a date must compare against the same publication as its first run did, so
    the rerun's result (and what it stores) is identical.
    """
    prefix = layout.validation_result_ref(lake, "marts", f"{target}/").key.removesuffix(".json")
    dates = sorted((k.rsplit("/", 1)[1].removesuffix(".json") for k in lake.list_keys(lake.bucket_for("ops"), prefix)),
                   reverse=True)
    for day in dates:
        if day < as_of_date.isoformat():
            stored = lake.get_json(layout.validation_result_ref(lake, "marts", f"{target}/{day}"))
            if stored["success"]:
                return stored
    return None


def gate_marts(settings: Settings, as_of_date: date, suites_dir: Path | None = None) -> dict:
    """GX suites on every published mart; the result is stored whatever the outcome, a failure raises
    MartsGateFailed (so the feed is not exported). `suites_dir` defaults to expectations/suites/."""
    from hiring_signals.quality.marts import enforce_marts, validate_marts
    from hiring_signals.quality.suites import SUITES_DIR
    from hiring_signals.storage.lake import canonical_json

    lake = Lake(settings.s3)
    target = settings.warehouse.target
    previous = previous_marts_validation(lake, target, as_of_date)
    result = validate_marts(settings.warehouse, batch=as_of_date.isoformat(), previous=previous,
                            directory=suites_dir or SUITES_DIR, home=settings.home)
    ref = layout.validation_result_ref(lake, "marts", f"{target}/{as_of_date.isoformat()}")
    lake.put(ref, canonical_json(result.as_dict()), "application/json")
    log.info(result.summary())
    enforce_marts(result)
    return {"as_of_date": as_of_date.isoformat(), "target": target, "evaluated": result.evaluated,
            "row_counts": result.row_counts, "previous": result.previous, "result": ref.uri}


def export_feed(settings: Settings, as_of_date: date) -> dict:
    from hiring_signals.feeds import export_candidate_signal_feed

    return export_candidate_signal_feed(settings, as_of_date)


def read_json_manifests(settings: Settings, zone: str, prefix: str) -> list[dict]:
    return read_manifests(Lake(settings.s3), zone, prefix)


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
